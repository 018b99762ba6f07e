"""Thread safety: the transforms called from 8 threads at once give exactly the
results computed serially.

Every test runs its work in 8 threads (ThreadPoolExecutor), all released together
by a barrier, many iterations each, on distinct inputs per thread, with the
interpreter's switch interval shortened so that threads interleave inside the
transforms; every result must equal the serial one bit for bit
(np.testing.assert_array_equal, dtypes too). Covered: dj.jacobian (one sweep,
chunks, structures), dj.hessian and nested jacobians (hyper-duals), dj.gradient /
jvp / hvp, dj.batch_jacobian and dj.batch_hessian on batches large enough that
their kernels release the GIL (more than 2**15 numbers per kernel), and nested
GradientTapes, whose recording stack is a context variable: each thread (and each
asyncio task) must see its own tapes only.
"""

import asyncio
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import dualjac as dj

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "deferred")

THREADS = 8
NOGIL_THRESHOLD = 1 << 15      # src_c/_core.pyx: kernels over more numbers release the GIL

W = np.random.default_rng(7).standard_normal((6, 3))


def run_in_threads(work, inputs, iterations):
    """work(inputs[i]) `iterations` times in thread i, all threads at once."""
    barrier = threading.Barrier(THREADS)

    def worker(i):
        barrier.wait()
        return [work(inputs[i]) for _ in range(iterations)]

    return run_on_threads(worker)


def run_on_threads(worker):
    """worker(i) for i in range(THREADS), all at once, with a short switch interval
    so the threads interleave as often as possible."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(worker, range(THREADS)))
    finally:
        sys.setswitchinterval(interval)


def assert_identical(actual, expected, where=""):
    if isinstance(expected, (tuple, list)):
        assert type(actual) is type(expected) and len(actual) == len(expected), where
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_identical(a, e, f"{where}[{k}]")
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for k in expected:
            assert_identical(actual[k], expected[k], f"{where}[{k!r}]")
    elif expected is None:
        assert actual is None, where
    elif isinstance(expected, dj.DualArray):   # still dual in an enclosing tape's seeds
        assert type(actual) is type(expected), where
        np.testing.assert_array_equal(actual.buf, expected.buf, err_msg=where)
        assert actual.buf.dtype == expected.buf.dtype, where
    else:
        assert type(actual) is type(expected), where
        np.testing.assert_array_equal(actual, expected, err_msg=where)
        assert np.asarray(actual).dtype == np.asarray(expected).dtype, where


def check_against_serial(work, inputs, iterations):
    serial = [work(x) for x in inputs]
    for i, results in enumerate(run_in_threads(work, inputs, iterations)):
        for n, result in enumerate(results):
            assert_identical(result, serial[i], f"thread {i}, iteration {n}")


def distinct_inputs(shape, dtype=np.float64):
    return [np.random.default_rng(100 + i).uniform(-1, 1, shape).astype(dtype)
            for i in range(THREADS)]


def f(x):
    """A bit of everything: kernels, a matmul, einsum, reductions, joins, kinks."""
    y = np.sin(x) * x + np.exp(-x * x)
    z = y @ W[: x.shape[-1]] if x.ndim else y
    z = np.concatenate([z, np.max(y, axis=-1, keepdims=True)], -1) if x.ndim else z
    return np.tanh(z) + np.einsum("...i,...i->...", z, z)[..., None] * 0.1 + np.abs(z)


def g(x):
    return np.sum(np.cos(x) * x ** 3) + np.sum(x) ** 2


def test_jacobian_in_threads():
    def work(x):
        return (dj.jacobian(f, x), dj.value_and_jacobian(f, x)[1],
                dj.jacobian(f, x, parallel_iterations=5),
                dj.jacobian(lambda s: s["a"] * s["b"][0], {"a": x, "b": [x[::-1]]}))
    check_against_serial(work, distinct_inputs((3, 4)), 100)
    check_against_serial(work, distinct_inputs((3, 4), np.float32), 40)


def test_hessian_and_other_transforms_in_threads():
    v = np.linspace(-1, 1, 5)

    def work(x):
        return (dj.hessian(g, x), dj.hessian(f, x), dj.jacobian(lambda z: dj.jacobian(f, z), x),
                dj.gradient(f, x), dj.jvp(f, x, v)[1], dj.hvp(g, x, v),
                dj.value_gradient_hessian(g, x)[2])
    check_against_serial(work, distinct_inputs(5), 60)


def spherical(x):
    r, theta, phi = x[:, 0], x[:, 1], x[:, 2]
    return np.stack([r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi),
                     r * np.cos(theta)], 1)


def test_batch_transforms_on_kernels_that_release_the_gil():
    rows, hyper_rows = 10_000, 3_000
    # the elementwise kernels of one sweep run on rows x (1 + 3 seeds) numbers (duals)
    # and rows x (1 + 3 + 3 + 9) (hyper-duals): past the GIL-release threshold
    assert rows * 4 > NOGIL_THRESHOLD and hyper_rows * 16 > NOGIL_THRESHOLD
    inputs = [np.random.default_rng(200 + i).uniform(0.5, 1.5, (rows, 3)) for i in range(THREADS)]

    def work(x):
        return (dj.batch_jacobian(spherical, x),
                dj.batch_hessian(lambda z: np.sum(spherical(z) ** 2, axis=1), x[:hyper_rows]))
    check_against_serial(work, inputs, 12)


def nested_tapes(x):
    """TF's Example 2 shape of code, plus a tape-computed Hessian, in one thread."""
    with dj.GradientTape(persistent=True) as outer:
        xs = outer.watch(x)
        with dj.GradientTape() as inner:
            xi = inner.watch(xs)
            y = xi * xi * xi + np.sin(xi)
        first = inner.jacobian(y, xi)
        with dj.GradientTape() as sibling:       # a second inner tape, recorded after the first
            xt = sibling.watch(xs)
            s = np.sum(np.exp(xt) * xt)
        grad = sibling.gradient(s, xt)
    assert outer.recording is False and inner.recording is False
    return (outer.jacobian(first, xs), outer.batch_jacobian(first, xs), outer.jacobian(grad, xs),
            first, grad)


def test_nested_gradient_tapes_in_threads():
    check_against_serial(nested_tapes, distinct_inputs((2, 2)), 150)


def test_each_thread_sees_only_its_own_recording_tapes():
    """All 8 threads hold a tape open at once: a tape in one thread must not
    count as an enclosing (outer) tape in another (results stay plain arrays,
    and watching never registers with another thread's tape)."""
    barrier = threading.Barrier(THREADS)
    inputs = distinct_inputs(3)
    expected = [dj.jacobian(lambda z: np.sin(z) * z, x) for x in inputs]

    def worker(i):
        x = inputs[i]
        with dj.GradientTape() as mine:
            barrier.wait()                 # every thread's tape is recording now
            for _ in range(50):
                with dj.GradientTape() as tape:
                    xs = tape.watch(x)
                    y = np.sin(xs) * xs
                J = tape.jacobian(y, xs)
                assert type(J) is np.ndarray          # not a dual in someone's seeds
                np.testing.assert_array_equal(J, expected[i])
            assert mine._records == {}     # nobody else's watch landed here
            barrier.wait()
        return True

    assert all(run_on_threads(worker))


def test_async_tasks_have_their_own_tape_stacks():
    inputs = distinct_inputs((2, 2))[:4]
    serial = [nested_tapes(x) for x in inputs]

    async def task(x):
        results = []
        for _ in range(20):
            with dj.GradientTape(persistent=True) as outer:
                xs = outer.watch(x)
                await asyncio.sleep(0)              # other tasks run inside this block
                with dj.GradientTape() as inner:
                    xi = inner.watch(xs)
                    await asyncio.sleep(0)
                    y = xi * xi * xi + np.sin(xi)
                first = inner.jacobian(y, xi)
                await asyncio.sleep(0)
            results.append((outer.jacobian(first, xs), first))
        return results

    async def main():
        return await asyncio.gather(*(task(x) for x in inputs))

    for results, expected in zip(asyncio.run(main()), serial):
        for second, first in results:
            assert_identical(second, expected[0])
            assert_identical(first, expected[3])


# ------------------------------------------------------- threads inside one kernel
# A kernel over more than 2**15 numbers is split between dj.get_num_threads()
# threads (src_c/include/thread_pool.h). The split must not change a single bit, and the
# pool must survive Python threads that compete for it and a fork.

def with_threads(n, work):
    previous = dj.get_num_threads()
    dj.set_num_threads(n)
    try:
        return work()
    finally:
        dj.set_num_threads(previous)


def large_kernels(x):
    """Every kernel family on a buffer large enough to be split: unary and binary
    (jet-jet, jet-constant, constant-jet, strided columns), duals, hyper-duals and
    the symmetric Hessian layout."""
    def f(z):
        a, b = z[:, 0], z[:, 1]
        return np.stack([np.sin(a) * np.exp(b), a / (1.0 + b * b), 2.0 ** a - b,
                         np.tanh(z[:, 2]) + np.arctan2(a, 1.5)], axis=-1)
    first = dj.batch_jacobian(f, x)
    hyper = dj.batch_jacobian(lambda z: dj.batch_jacobian(f, z), x[:4000])
    sym = dj.batch_hessian(lambda z: np.sum(f(z), axis=-1), x)
    return first, hyper, sym


def test_kernel_threads_give_bit_identical_results():
    for dtype in (np.float64, np.float32):
        x = np.random.default_rng(3).uniform(0.2, 1.5, (30000, 3)).astype(dtype)
        serial = with_threads(1, lambda: large_kernels(x))
        for n in (2, 3, 5):
            for got, want in zip(with_threads(n, lambda: large_kernels(x)), serial):
                assert_identical(got, want, f"{n} threads, {dtype.__name__}")


def expected_seed_buffer(v, K, first, lo, hi, period):
    """What a seeded source holds, built with NumPy: v in component 0, a 1 at
    1 + first + r - lo for seed index r in [lo, hi), zeros elsewhere."""
    flat = v.reshape(-1)
    buf = np.zeros((flat.size, K), v.dtype)
    buf[:, 0] = flat
    r = np.arange(flat.size) % period if period else np.arange(flat.size)
    seeded = (r >= lo) & (r < hi)
    buf[np.flatnonzero(seeded), 1 + first + r[seeded] - lo] = 1
    return buf.reshape(v.shape + (K,))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
def test_large_seeds_are_filled_by_threads_exactly(dtype):
    """Large seeded sources are zeroed and filled by the pool's threads in ranges
    of elements that cut rows anywhere: the buffer must be the NumPy-built one,
    for batch seeds (period = row size), seed chunks [lo, hi) and Hessian seeds."""
    core = dj._core
    rows = np.random.default_rng(5).uniform(-1, 1, (20011, 3)).astype(dtype)
    flat = rows[:6007, 0].copy()
    cases = [(rows, 3, 0, 0, 3, 3), (flat[:301], 301, 0, 0, 301, 0), (flat, 70, 5, 100, 160, 0)]
    for threads in (1, 2, 3):
        for v, n, first, lo, hi, period in cases:
            got = with_threads(threads, lambda: core.seed_dual(v, n, 1, 1, first, lo, hi, period))
            assert got.buf.size > NOGIL_THRESHOLD
            np.testing.assert_array_equal(got.buf, expected_seed_buffer(v, 1 + n, first, lo, hi, period))
        sym = with_threads(threads, lambda: core.seed_symmetric(rows, 1, 2, 1, 3))
        np.testing.assert_array_equal(sym.buf, expected_seed_buffer(rows, 10, 0, 0, 3, 3))


def test_kernel_threads_with_competing_python_threads():
    """batch_jacobian(workers=2) and 8 Python threads all issue large kernels at
    once: one of them gets the pool at a time, the others run serially."""
    x = np.random.default_rng(4).uniform(0.2, 1.5, (40000, 3))
    expected = with_threads(1, lambda: dj.batch_jacobian(spherical, x))
    results = with_threads(2, lambda: run_in_threads(
        lambda z: dj.batch_jacobian(spherical, z, workers=2), [x] * THREADS, 3))
    for per_thread in results:
        for got in per_thread:
            assert_identical(got, expected)


def test_kernel_threads_after_fork():
    """A forked child has no worker threads: the pool starts afresh there."""
    import multiprocessing
    if "fork" not in multiprocessing.get_all_start_methods():
        return
    x = np.random.default_rng(5).uniform(0.2, 1.5, (40000, 3))
    expected = with_threads(2, lambda: dj.batch_jacobian(spherical, x))   # pool running
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply(child_batch_jacobian, (x,))
    assert_identical(got, expected)


def child_batch_jacobian(x):
    dj.set_num_threads(2)
    return dj.batch_jacobian(spherical, x)


def test_set_num_threads_checks_its_argument():
    with pytest.raises(ValueError, match="set_num_threads: n .* must be a positive integer"):
        dj.set_num_threads(0)
    with pytest.raises(TypeError):
        dj.set_num_threads(1.5)


def test_thread_count_comes_from_the_environment():
    """DUALJAC_NUM_THREADS sets the default at import; a bad value names the variable."""
    import os
    import subprocess
    code = "import dualjac as dj; print(dj.get_num_threads())"
    env = dict(os.environ, DUALJAC_NUM_THREADS="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "3", out.stderr
    env["DUALJAC_NUM_THREADS"] = "many"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "DUALJAC_NUM_THREADS" in out.stderr
