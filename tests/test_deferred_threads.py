"""Deferred jets and threads: pool threads and concurrent Python threads give eager's
bits; a write in one thread while another transform finishes (tests/deferral.py).
"""

import sys
import threading

import numpy as np
import pytest

import dualjac as dj
from banding import deferred_from
from deferral import ROWS, TRANSFORMS, assert_identical, deferred, eager, potential, rng_x

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_pool_threads_give_identical_results(transform):
    x = rng_x((50_000, 3))
    old = dj.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            dj.set_num_threads(n)
            assert dj._core.get_num_threads() == n
            results.append(deferred(TRANSFORMS[transform], potential, x))
    finally:
        dj.set_num_threads(old)
    assert dj.get_num_threads() == old
    assert_identical(results[0], results[1])
    assert_identical(results[0], eager(TRANSFORMS[transform], potential, x))


def test_concurrent_python_threads():
    """Deferred transforms in several Python threads at once: each equals its serial result."""
    from concurrent.futures import ThreadPoolExecutor

    inputs = [rng_x((20_000, 3), seed=s) for s in range(4)]
    with deferred_from(1):
        serial = [dj.batch_hessian(potential, x) for x in inputs]
        barrier = threading.Barrier(4)

        def work(i):
            barrier.wait()
            return [dj.batch_hessian(potential, inputs[i]) for _ in range(5)]

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)
        try:
            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(work, range(4)))
        finally:
            sys.setswitchinterval(interval)
    for i in range(4):
        for r in results[i]:
            assert_identical(r, serial[i])


def test_write_in_one_thread_while_another_transform_finishes():
    """Thread A's deferred transform starts, then B's; A's finishes while B's f is
    still running; then B's f writes into its deferred jet. B's transform must
    still fall back to dense jets (the write belongs to a transform that is running)."""
    a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()
    x = rng_x((ROWS, 3))
    outcome = {}

    def f_a(xj):
        a_inside.set()
        assert b_inside.wait(10)
        return np.sin(xj[:, 0])

    def f_b(xj):
        b_inside.set()
        if not a_done.is_set():
            assert a_done.wait(10)
        xj[0, 0] = 1.0                 # a write: dense fallback
        return np.sin(xj[:, 0]) * xj[:, 1]

    def thread_a():
        try:
            outcome["a"] = dj.batch_jacobian(f_a, x)
        except BaseException as e:     # noqa: BLE001 - reported below
            outcome["a"] = e
        finally:
            a_done.set()

    def thread_b():
        assert a_inside.wait(10)
        try:
            outcome["b"] = dj.batch_jacobian(f_b, x)
        except BaseException as e:     # noqa: BLE001
            outcome["b"] = e
            b_inside.set()

    with deferred_from(1):
        threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert isinstance(outcome.get("a"), np.ndarray), outcome.get("a")
    assert isinstance(outcome.get("b"), np.ndarray), repr(outcome.get("b"))
    assert_identical(outcome["b"], eager(dj.batch_jacobian, f_b_eager, x))


def f_b_eager(xj):
    xj[0, 0] = 1.0
    return np.sin(xj[:, 0]) * xj[:, 1]
