"""dj.batch_jacobian: per-row seeds, TF's errors, chunking, memory linear in b."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualjac as dj

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "deferred")

# Row-wise building blocks: each maps [b, m] -> [b, m'] without mixing rows.
W = np.random.default_rng(3).standard_normal((4, 4))
ROW_OPS = {
    "sin": lambda x: np.sin(x),
    "square": lambda x: x * x,
    "gauss": lambda x: np.exp(-x * x),
    "tanh": lambda x: np.tanh(x),
    "row_sum_scale": lambda x: x * np.sum(x, axis=1, keepdims=True),
    "mix_columns": lambda x: x @ W[:x.shape[1], :x.shape[1]],
    "row_norm": lambda x: x / np.sqrt(1 + np.sum(x * x, axis=1, keepdims=True)),
    "first_column": lambda x: x * x[:, :1],
}


def compose(names):
    def f(x):
        for name in names:
            x = ROW_OPS[name](x)
        return x
    return f


row_functions = st.lists(st.sampled_from(sorted(ROW_OPS)), min_size=1, max_size=4)
batches = st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**31 - 1)).map(
    lambda t: np.random.default_rng(t[2]).uniform(-1, 1, (t[0], t[1])))


@settings(max_examples=60, deadline=None)
@given(names=row_functions, x=batches)
def test_batch_jacobian_is_the_block_diagonal_of_jacobian(names, x):
    f = compose(names)
    B = dj.batch_jacobian(f, x)
    J = dj.jacobian(f, x)                       # [b, m, b, m]
    b = x.shape[0]
    # matrix products may sum in another order on each path: rounding on the matrix's scale
    scale = max(1.0, float(np.abs(J).max(initial=0.0)))
    for i in range(b):
        np.testing.assert_allclose(B[i], J[i, :, i, :], rtol=1e-13, atol=1e-13 * scale)
        for j in range(b):
            if j != i:
                assert not J[i, :, j, :].any()  # the generated f really is row-wise


@settings(max_examples=30, deadline=None)
@given(names=row_functions, x=batches, k=st.integers(1, 4))
def test_chunk_size_never_changes_a_result(names, x, k):
    f = compose(names)
    # Matrix products go to BLAS (eager) or add in index order (deferred): chunks of seeds
    # agree to rounding there (README), bit for bit everywhere else.
    same = (np.testing.assert_array_equal if "mix_columns" not in names else
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15))
    same(dj.batch_jacobian(f, x, parallel_iterations=k), dj.batch_jacobian(f, x))
    same(dj.jacobian(f, x, parallel_iterations=k), dj.jacobian(f, x))


def test_unconnected_gives_zeros_in_both_modes():
    x = np.ones((3, 2))
    for mode in ("none", "zero"):
        B = dj.batch_jacobian(lambda x: dj.stop_gradient(x) * 2.0, x, unconnected_gradients=mode)
        assert B.shape == (3, 2, 2) and not B.any()


def test_tf_errors_and_the_scalar_target():
    with pytest.raises(ValueError, match=r"Need first dimension of target shape \(\(4, 2\)\)"):
        dj.batch_jacobian(lambda x: np.concatenate([x, x[:1]]), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"Shape \(3,\) must have rank at least 2"):
        dj.batch_jacobian(lambda x: x, np.ones(3))
    with pytest.raises(ValueError, match="scalar"):
        dj.batch_jacobian(lambda x: np.sum(x), np.ones((3, 2)))


def test_dependent_rows_are_caught_on_request():
    x = np.random.default_rng(0).random((4, 2))
    reversed_rows = lambda x: x[::-1] * 2.0   # noqa: E731
    dj.batch_jacobian(reversed_rows, x)       # silently meaningless, as in TF...
    with pytest.raises(ValueError, match="rows are not independent"):
        dj.batch_jacobian(reversed_rows, x, check_independence=True)
    dj.batch_jacobian(compose(["sin"]), x, check_independence=True)   # ...fine when independent


def spherical(x):
    r, theta, phi = x[:, 0], x[:, 1], x[:, 2]
    return np.stack([r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi),
                     r * np.cos(theta)], 1)


def test_memory_is_linear_in_the_batch():
    """100,000 rows of R^3 -> R^3: peak memory a small multiple of the output
    (b * 3 * 3 numbers), never b * b."""
    x = np.random.default_rng(1).uniform(0.5, 1.5, (100_000, 3))
    output_bytes = x.shape[0] * 3 * 3 * 8
    tracemalloc.start()
    B = dj.batch_jacobian(spherical, x)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert B.shape == (100_000, 3, 3)
    assert peak < 12 * output_bytes, f"peak {peak / 1e6:.0f} MB for a {output_bytes / 1e6:.0f} MB output"
    r, t, p = x[7]
    np.testing.assert_allclose(B[7, 2], [np.cos(t), -r * np.sin(t), 0], atol=1e-14)


@pytest.mark.parametrize("options", [{"workers": 2}, {"rows_per_chunk": 7},
                                     {"rows_per_chunk": 40, "workers": 2}])
def test_row_blocks_and_workers_change_nothing(options):
    """Rows evaluated in blocks, on two threads: bit-identical to one sweep."""
    x = np.random.default_rng(5).uniform(0.5, 1.5, (101, 3))
    np.testing.assert_array_equal(dj.batch_jacobian(spherical, x, **options),
                                  dj.batch_jacobian(spherical, x))
    potential = lambda x: np.sin(x[:, 0]) * np.exp(x[:, 1]) + x[:, 0] * x[:, 2] ** 2  # noqa: E731
    np.testing.assert_array_equal(dj.batch_hessian(potential, x, **options),
                                  dj.batch_hessian(potential, x))
