"""Deferred jets: long chains (around the pending-node limit), diamonds and nodes shared
between targets give eager's bits (tests/deferral.py).
"""

import numpy as np
import pytest

import dualjac as dj

from deferral import DTYPES, MAX_PENDING, ROWS, TRANSFORMS, assert_matches_eager, rng_x

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_long_chain(transform, dtype):
    """200 steps of three ops each: far past the pending-node limit, so the
    graph is computed part way and the computed part read as an input."""
    def f(x):
        y = x[:, 0]
        for _ in range(200):
            y = np.sin(y) * 0.9 + x[:, 1] * 0.01
        return y * x[:, 2]

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3), dtype))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("length", [MAX_PENDING - 1, MAX_PENDING, MAX_PENDING + 1])
def test_chain_around_the_pending_limit(transform, length):
    def f(x):
        y = x[:, 0]
        for k in range(length):
            y = np.tanh(y) if k % 2 else y * x[:, 1]
        return y

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 2)))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_diamond(transform, dtype):
    def f(x):
        s = np.sin(x[:, 0] * x[:, 1])
        return s * s + s

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 2), dtype))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_repeated_diamonds(transform):
    """y = tanh(y*y + y) forty times: each step shares its operand twice (the
    pending count doubles); and the same operand on both sides everywhere."""
    def f(x):
        y = x[:, 0]
        for _ in range(40):
            y = np.tanh(y * y + y)
        return y + y * x[:, 1] - (x[:, 1] - x[:, 1])

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 2)))


def test_shared_nodes_count_once_toward_the_limit():
    """Eighteen diamonds (54 distinct nodes, 2^18 paths): the whole graph stays pending, and
    the solve of 3 x 3 rows by cofactors (about 90 nodes sharing the matrix entries) too."""
    seen = {}

    def diamonds(x):
        y = x[:, 0]
        for _ in range(18):
            y = np.tanh(y * y + y)
        seen.setdefault("diamonds", dj._core.deferred_graph_size(y))   # (deferred: first)
        return y * x[:, 1]

    def solve(x):
        y = np.linalg.solve(x[:, :, :3] + 3.0 * np.eye(3), x[:, :, 3:])
        seen.setdefault("solve", dj._core.deferred_graph_size(y))
        return y

    assert_matches_eager(dj.batch_jacobian, diamonds, rng_x((ROWS, 2)))
    assert_matches_eager(dj.batch_jacobian, solve, rng_x((ROWS, 3, 4), lo=0.2, hi=1.2))
    assert seen["diamonds"] == 3 * 18
    assert 64 < seen["solve"] <= MAX_PENDING


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_wide_sum_of_many_terms(transform):
    """Python's sum (0 + jet, then jet + jet) of 100 terms over the three columns."""
    def f(x):
        return sum(np.sin(x[:, k % 3] * (k + 1) * 0.01) for k in range(100))

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_shared_node_used_by_two_targets_and_computed_in_between(transform):
    """A node read by a later node after it was computed (its .value read)."""
    def f(x):
        s = np.exp(x[:, 0]) * x[:, 1]
        t = np.sin(s)
        _ = s.value
        return t + s * x[:, 2]

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)))
