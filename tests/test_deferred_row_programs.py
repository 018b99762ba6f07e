"""Deferred jets: row operations recorded in the program (src_c/_deferred_rows.pxi).
Reductions along row axes, broadcasting and new axes within a row, indexing of computed
nodes, np.stack / np.concatenate along row axes give eager's bits (threshold 0; x @ W and
np.einsum with a constant matrix agree with eager's BLAS products to rounding) and the analytic per-row derivatives; the node they return is pending (they
did not fall back); a write into one makes the transform run f again (tests/deferral.py).
"""

import threading

import numpy as np
import pytest

import dualjac as dj
from deferral import (DTYPES, ROWS, TRANSFORMS, assert_identical, assert_matches_eager,
                      check_calls, deferred, deferred_run, eager, pending, rng_x)

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")

W34 = np.random.default_rng(11).standard_normal((3, 4))
W43 = W34.T.copy()



ROW_PROGRAMS = {
    "sum_last": lambda x: pending(x, np.sum(np.sin(x) * 2.0, axis=1)),
    "sum_keepdims_broadcast": lambda x: x * np.exp(-pending(x, np.sum(x ** 2, -1, keepdims=True))),
    "sum_newaxis": lambda x: x * pending(x, np.exp(-np.sum(x * x, axis=-1))[..., None]),
    "sum_method": lambda x: pending(x, (np.sin(x) * x).sum(axis=-1)),
    "sum_two_axes": lambda x: pending(x, np.sum(np.sin(x).reshape(x.shape[0], 3, 1) * x[:, None, :2],
                                             axis=(1, 2))),
    "mean": lambda x: pending(x, np.mean(np.cos(x), axis=1, keepdims=True)) * x,
    "mean_method": lambda x: pending(x, np.tanh(x).mean(-1)),
    "prod": lambda x: pending(x, np.prod(np.sin(x) + 1.5, axis=-1)),
    "prod_four": lambda x: pending(x, np.prod(np.concatenate([x, np.sin(x[:, :1])], 1), axis=1)),
    "max": lambda x: pending(x, np.max(np.sin(3 * x), axis=1)),
    "min_keepdims": lambda x: pending(x, np.min(x * x, axis=-1, keepdims=True)) * x,
    "amax_method": lambda x: pending(x, (x * 2.0).max(axis=1)),
    "norm": lambda x: pending(x, np.linalg.norm(x + 0.5, axis=-1)),
    "norm_1_keepdims": lambda x: x / pending(x, np.linalg.norm(x, 1, axis=1, keepdims=True)),
    "norm_inf": lambda x: pending(x, np.linalg.norm(np.sin(x), np.inf, axis=1)),
    "norm_3": lambda x: pending(x, np.linalg.norm(x + 2.0, 3, axis=1)),
    "cumsum": lambda x: pending(x, np.cumsum(np.cos(x), axis=1)),
    "cumsum_method": lambda x: pending(x, np.sin(x).cumsum(-1)) * x,
    "expand_dims": lambda x: x * pending(x, np.expand_dims(np.sin(x[:, 0]), -1)),
    "reshape_row": lambda x: pending(x, np.sin(x).reshape(x.shape[0], 3, 1)) * x[:, None, :],
    "broadcast_two_nodes": lambda x: np.sin(x) * np.cos(x[:, :1]),
    "row_constant": lambda x: np.sin(x) * np.array([1.0, 2.0, 3.0]),
    "rows_by_1_constant": lambda x: np.sin(x) * np.linspace(1.0, 2.0, x.shape[0])[:, None],
    "index_computed_node": lambda x: (lambda y: pending(x, y[:, 0]) * y[:, 2])(np.sin(x) + 1.0),
    "index_slice_and_list": lambda x: (lambda y: pending(x, y[:, 1:]) * y[:, [2, 0]])(np.exp(x)),
    "stack_last": lambda x: pending(x, np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2]], axis=1)),
    "stack_then_reduce": lambda x: pending(x, np.sum(np.stack([np.sin(x[:, 0]), x[:, 1]], 1), 1)),
    "stack_middle": lambda x: pending(x, np.stack([np.sin(x), np.cos(x)], axis=1)) * 2.0,
    "concatenate": lambda x: pending(x, np.concatenate([np.sin(x[:, :1]), x[:, 1:] * 2.0], 1)),
}

# Products (with a constant matrix, or of two rows): eager code hands them to BLAS or to
# einsum's loops, which may fuse multiply-adds or sum each derivative part on its own (it
# depends on the CPU); the program adds in index order, so the two agree to rounding, as
# results of different seed chunks do.
MATRIX_PRODUCTS = {
    "matmul": lambda x: pending(x, np.tanh(x) @ W34.astype(x.dtype)),
    "matmul_function": lambda x: pending(x, np.matmul(np.sin(x), W34.astype(x.dtype))),
    "matmul_vector": lambda x: pending(x, np.sin(x) @ W34[:, 0].astype(x.dtype)),
    "einsum_constant": lambda x: pending(x, np.einsum("bi,ij->bj", np.sin(x), W34.astype(x.dtype))),
    "einsum_two_rows": lambda x: pending(x, np.einsum("bi,bi->b", x, np.tanh(x))),
    "left_matmul_column": lambda x: pending(x, W43.astype(x.dtype) @ np.sin(x)[..., None])[..., 0],
    "left_matmul_rows_of_matrices": lambda x: pending(
        x, np.matmul(W43[:2].astype(x.dtype), np.sin(x).reshape(-1, 3, 1) * x[:, None, :2])),
    "einsum_constant_first": lambda x: pending(x, np.einsum("ij,bj->bi", W43.astype(x.dtype),
                                                            np.sin(x))),
    "einsum_transposed_constant": lambda x: pending(x, np.einsum("bj,ij->bi", np.sin(x),
                                                                 W43.astype(x.dtype))),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ROW_PROGRAMS)
def test_row_program_matches_eager(name, dtype, transform):
    assert_matches_eager(TRANSFORMS[transform], ROW_PROGRAMS[name], rng_x((ROWS, 3), dtype))


# Matrix norms over two row axes of x (b, 3, 3): reductions.norm's compositions, recorded.
MATRIX_NORMS = {
    "fro": lambda x: pending(x, np.linalg.norm(x, axis=(1, 2))),
    "fro_keepdims": lambda x: x / pending(x, np.linalg.norm(x, "fro", axis=(-2, -1),
                                                             keepdims=True)),
    "one": lambda x: pending(x, np.linalg.norm(np.sin(x), 1, axis=(1, 2))),
    "minus_inf": lambda x: pending(x, np.linalg.norm(x + 0.5, -np.inf, axis=(2, 1))),
    "matrix_norm": lambda x: pending(x, np.linalg.matrix_norm(x * x)),
    "matrix_norm_inf_keepdims": lambda x: pending(x, np.linalg.matrix_norm(
        x, ord=np.inf, keepdims=True)) * x,
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", MATRIX_NORMS)
def test_matrix_norm_matches_eager(name, dtype, transform):
    x = rng_x((ROWS // 3, 3, 3), dtype)
    x[::7, 0, :] = x[::7, 1, :]          # ties between rows or columns of a matrix
    assert_matches_eager(TRANSFORMS[transform], MATRIX_NORMS[name], x)


def test_matrix_norms_analytic():
    """d |X|_F / dX = X / |X|_F; the 1-norm's derivative is sign(X) on the largest column's
    entries."""
    x = rng_x((ROWS // 3, 3, 3), lo=0.2, hi=1.0) * np.array([1.0, -1.0, 1.0])
    J = deferred(dj.batch_jacobian, MATRIX_NORMS["fro"], x)
    np.testing.assert_allclose(J, x / np.linalg.norm(x, axis=(1, 2))[:, None, None], rtol=1e-14)
    f = lambda z: pending(z, np.linalg.norm(z, 1, axis=(1, 2)))   # noqa: E731
    J = deferred(dj.batch_jacobian, f, x)
    column = np.argmax(np.abs(x).sum(axis=1), axis=1)
    want = np.zeros_like(x)
    want[np.arange(len(x)), :, column] = np.sign(x[np.arange(len(x)), :, column])
    np.testing.assert_array_equal(J, want)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", MATRIX_PRODUCTS)
def test_matrix_product_matches_eager_to_rounding(name, dtype, transform):
    f, x = MATRIX_PRODUCTS[name], rng_x((ROWS, 3), dtype)
    got, probe = deferred_run(TRANSFORMS[transform], f, x, 1)
    check_calls(probe, 1)
    tolerance = 8 * np.finfo(dtype).eps
    np.testing.assert_allclose(got, eager(TRANSFORMS[transform], f, x), rtol=tolerance,
                               atol=tolerance)


def force(x):
    return x * np.exp(-np.sum(x ** 2, axis=-1, keepdims=True))


def force_jacobian(x):
    e = np.exp(-np.sum(x ** 2, axis=-1))[:, None, None]
    return e * (np.eye(3) - 2 * x[:, :, None] * x[:, None, :])


def energy(x):
    r2 = np.einsum("bi,bi->b", x, x @ np.eye(3))
    return np.exp(-r2) + 0.5 * r2


def energy_hessian(x):
    r2 = np.sum(x ** 2, axis=-1)[:, None, None]
    e = np.exp(-r2)
    return (1 - 2 * e) * np.eye(3) + 4 * e * x[:, :, None] * x[:, None, :]


def test_force_jacobian_analytic():
    x = rng_x((ROWS, 3))
    np.testing.assert_allclose(dj.batch_jacobian(force, x), force_jacobian(x), rtol=1e-13,
                               atol=1e-15)


def test_energy_hessian_analytic():
    x = rng_x((ROWS, 3))
    np.testing.assert_allclose(dj.batch_hessian(energy, x), energy_hessian(x), rtol=1e-13,
                               atol=1e-15)


def test_max_picks_the_first_of_ties_and_nan():
    """np.max's derivative is the chosen element's: the first of ties, a NaN wins."""
    x = rng_x((ROWS, 3))
    x[::7, 1] = x[::7, 0]                         # ties
    x[::11, 2] = np.nan
    f = lambda z: pending(z, np.max(z * 1.0, axis=1))
    got = assert_matches_eager(dj.batch_jacobian, f, x)
    argmax = np.argmax(x, axis=1)
    np.testing.assert_array_equal(got, np.eye(3)[argmax])


def test_prod_and_mean_analytic():
    x = rng_x((ROWS, 3), lo=0.5, hi=1.5)
    J = dj.batch_jacobian(lambda z: np.prod(z, axis=1) + np.mean(z, axis=1), x)
    np.testing.assert_allclose(J, np.prod(x, 1)[:, None] / x + 1.0 / 3, rtol=1e-14)
    H = dj.batch_hessian(lambda z: np.prod(z, axis=1), x)
    want = np.prod(x, 1)[:, None, None] / (x[:, :, None] * x[:, None, :]) * (1 - np.eye(3))
    np.testing.assert_allclose(H, want, rtol=1e-14)


def test_norm_and_cumsum_analytic():
    x = rng_x((ROWS, 3), lo=0.5, hi=1.5)
    J = dj.batch_jacobian(lambda z: np.linalg.norm(z, axis=1), x)
    np.testing.assert_allclose(J, x / np.linalg.norm(x, axis=1)[:, None], rtol=1e-14)
    J = dj.batch_jacobian(lambda z: np.cumsum(z, axis=1), x)
    np.testing.assert_array_equal(J, np.broadcast_to(np.tril(np.ones((3, 3))), J.shape))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_write_of_a_row_into_a_reduction(transform):
    """y[0] = 1 picks a row: made on y's own computed jet (y is f's new array, which
    nothing reads yet), once, with eager's bits."""
    def f(x):
        y = np.sum(np.sin(x), axis=1, keepdims=True)
        y[0] = 1.0
        return x * y
    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)), calls=1)


def test_row_programs_in_threads():
    """Transforms with row programs in several Python threads: each equals eager."""
    inputs = [rng_x((20_000, 3), seed=s) for s in range(4)]
    results = [None] * 4

    def work(k):
        results[k] = dj.batch_jacobian(force, inputs[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        assert_identical(results[k], eager(dj.batch_jacobian, force, inputs[k]))


FALLS_BACK = {
    "sum_everything": lambda x: np.sum(np.sin(x)) + x[:, 0],
    "stack_axis_0": lambda x: np.stack([np.sin(x[:, 0]), x[:, 1]]).T,
    "matmul_float32_matrix": lambda x: np.sin(x) @ W34.astype(np.float32),
    "index_rows": lambda x: np.sin(x)[::2].sum() + x[:, 0],
}


@pytest.mark.parametrize("name", FALLS_BACK)
def test_non_row_operations_fall_back(name):
    assert_matches_eager(dj.batch_jacobian, FALLS_BACK[name], rng_x((ROWS, 3)))


@pytest.mark.parametrize("w_shape", [(3,), (3, 3)])
def test_matrix_written_after_the_product_is_recorded(w_shape):
    """The product keeps the matrix's values at the time of x @ W (analytic: W's rows)."""
    W = rng_x(w_shape, seed=3)
    W_at_product = W.copy()

    def f(x):
        y = pending(x, np.sin(x)) @ W
        W[...] = 0.0                    # the product must not see this
        return y

    x = rng_x((ROWS, 3))
    J = dj.batch_jacobian(f, x)
    W[...] = W_at_product
    want = np.cos(x)[:, None, :] * W_at_product.T.reshape(-1, 3)[None]
    np.testing.assert_allclose(J, want.reshape(J.shape), rtol=1e-14)


def test_recorded_tables_follow_the_shapes():
    """The same row operations on rows of other shapes (the lane tables are kept per
    shape): each against its analytic Jacobian."""
    for width in (2, 3, 5, 3, 2):
        x = rng_x((ROWS, width), seed=width)
        J = dj.batch_jacobian(lambda z: np.sum(np.sin(z), axis=-1)[..., None] * z, x)
        s = np.sum(np.sin(x), axis=-1)
        want = np.cos(x)[:, None, :] * x[:, :, None] + s[:, None, None] * np.eye(width)
        np.testing.assert_allclose(J, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("spelling", ["matmul_column", "einsum_constant_first"])
def test_per_row_matrix_times_row_analytic(spelling):
    """W @ x per row (a constant on the left): the Jacobian W diag(cos x), the Hessian of
    sum(W @ sin x) diag(-sin(x) * column sums of W)."""
    def f(x):
        if spelling == "matmul_column":
            return pending(x, W43 @ np.sin(x)[..., None])[..., 0]
        return pending(x, np.einsum("ij,bj->bi", W43, np.sin(x)))
    x = rng_x((ROWS, 3))
    np.testing.assert_allclose(dj.batch_jacobian(f, x), W43[None] * np.cos(x)[:, None, :],
                               rtol=1e-13, atol=1e-15)
    H = dj.batch_hessian(lambda z: np.sum(f(z), axis=-1), x)
    want = np.eye(3) * (-np.sin(x) * W43.sum(0))[:, None, :]
    np.testing.assert_allclose(H, want, rtol=1e-13, atol=1e-15)
