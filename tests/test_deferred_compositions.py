"""Deferred jets: row functions recorded as compositions of row operations
(src_c/_deferred_compositions.pxi): np.var / np.std, np.diff, np.cross, np.take along row
axes give eager's bits; np.dot / np.tensordot with a constant and np.einsum of three
operands agree with eager's products to rounding. Each stays pending (it did not fall
back), and the per-row derivatives match complex-step differentiation (benchmarks/cases.py).
"""

import numpy as np
import pytest

import dualjac as dj
from banding import deferred_from
from deferral import (DTYPES, ROWS, TRANSFORMS, assert_matches_eager, cases, deferred, eager,
                      pending, rng_x)

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")

W = np.random.default_rng(5).standard_normal((4, 3))
V = np.array([0.5, -1.0, 2.0, 0.25])
C = np.random.default_rng(6).standard_normal((4, 4))
C = C @ C.T + 4.0 * np.eye(4)
W9 = np.random.default_rng(7).standard_normal((9, 5))
W5 = np.random.default_rng(8).standard_normal((5, 3))



# Functions of rows of 4 (x (b, 4)) or of 2 x 3 (x (b, 2, 3)): eager's bits.
EXACT = {
    "var_last": ((4,), lambda x: pending(x, np.var(np.sin(x) * x, axis=-1))),
    "var_keepdims_ddof": ((4,), lambda x: x * pending(x, np.var(x, axis=1, ddof=1, keepdims=True))),
    "var_correction": ((4,), lambda x: pending(x, np.var(np.exp(x), axis=-1, correction=1))),
    "var_two_axes": ((2, 3), lambda x: pending(x, np.var(np.cos(x), axis=(1, 2)))),
    "var_middle_axis": ((2, 3), lambda x: pending(x, np.var(x * x, axis=1))),
    "std_layer_norm": ((4,), lambda x: pending(x, (x - np.mean(x, -1, keepdims=True))
                                               / np.std(x, -1, keepdims=True))),
    "std_method_free": ((4,), lambda x: pending(x, np.std(np.tanh(x), axis=-1, ddof=1))),
    "broadcast_to_columns": ((2, 3), lambda x: pending(x, np.broadcast_to(
        np.sin(x[:, :, :1]), x.shape)) * x),
    "broadcast_to_new_axis": ((3,), lambda x: pending(x, np.broadcast_to(
        x[:, None], (len(x), 2, 3))) * np.arange(1.0, 3.0)[:, None]),
    "diff_once": ((4,), lambda x: pending(x, np.diff(np.sin(x), axis=-1))),
    "diff_twice": ((4,), lambda x: pending(x, np.diff(x * x, n=2))),
    "diff_middle_axis": ((2, 3), lambda x: pending(x, np.diff(np.exp(x), axis=1))),
    "cross_rows": ((4,), lambda x: pending(x, np.cross(x[:, :3], np.sin(x[:, 1:])))),
    "cross_constant_right": ((4,), lambda x: pending(x, np.cross(x[:, 1:] * 2.0,
                                                                 V[:3].astype(x.dtype)))),
    "cross_constant_left": ((4,), lambda x: pending(x, np.cross(V[1:].astype(x.dtype),
                                                                np.exp(x[:, :3])))),
    "cross_axis_keyword": ((2, 3), lambda x: pending(x, np.cross(x, np.sin(x), axis=-1))),
    "take_columns": ((4,), lambda x: pending(x, np.take(x, np.array([3, 0, 0]), axis=1) * 2.0)),
    "take_negative": ((2, 3), lambda x: pending(x, np.sin(np.take(x, [-1, 0], axis=2)))),
    "fancy_source_view": ((4,), lambda x: pending(x, np.cos(x[:, [2, 0]]) * x[:, [1, 1]])),
    "ellipsis_fancy_view": ((2, 3), lambda x: pending(x, np.exp(x[..., [0, 2]]))),
    # np.mean over 4 elements: its division by 4 done as a multiplication by 0.25
    "mean_power_of_two": ((4,), lambda x: pending(x, np.mean(np.sin(x), axis=-1, keepdims=True)) * x),
    "mean_two_axes_of_2x2": ((2, 3), lambda x: pending(x, np.mean(x[:, :, :2] * x[:, :, 1:], (1, 2)))),
    # functions that only move a row's elements (a pick of lanes), and np.trace
    "transpose_rows": ((2, 3), lambda x: pending(x, np.transpose(np.sin(x), (0, 2, 1)) * 2.0)),
    "swapaxes": ((2, 3), lambda x: pending(x, np.swapaxes(x * x, 1, 2))),
    "moveaxis": ((2, 3), lambda x: pending(x, np.moveaxis(np.exp(x), 1, -1))),
    "matrix_transpose": ((2, 3), lambda x: pending(x, np.matrix_transpose(np.sin(x)) + 1.0)),
    "diagonal": ((3, 3), lambda x: pending(x, np.diagonal(np.cos(x), 0, 1, 2))),
    "diagonal_offset": ((3, 3), lambda x: pending(x, np.diagonal(x * 3.0, 1, 2, 1))),
    "trace": ((3, 3), lambda x: pending(x, np.trace(np.sin(x), axis1=1, axis2=2))),
    "flip": ((4,), lambda x: pending(x, np.flip(np.sin(x), axis=1))),
    "squeeze": ((4,), lambda x: pending(x, np.squeeze(np.sin(x)[:, None, :], axis=1))),
    "roll": ((4,), lambda x: pending(x, np.roll(np.exp(x), 1, axis=1))),
    "rot90": ((2, 3), lambda x: pending(x, np.rot90(x * x, axes=(1, 2)))),
    "repeat": ((4,), lambda x: pending(x, np.repeat(np.sin(x), 2, axis=1))),
    "tile": ((4,), lambda x: pending(x, np.tile(np.cos(x), 2))),
    # row sums wider than the fixed-width loops (src_c/include/row_sums.h): 9 to 64 terms
    # with the sum in a register, more in the generic loop; the same order either way
    "sum_of_12": ((12,), lambda x: pending(x, np.sum(np.sin(x), axis=-1))),
    "mean_of_10_keepdims": ((10,), lambda x: pending(x, np.mean(x * x, -1, keepdims=True)) * x),
    # joins of rows: np.concatenate along axis 1 (1-d rows as columns for column_stack)
    "column_stack": ((4,), lambda x: pending(x, np.column_stack([np.sin(x[:, 0]), x[:, 1:3],
                                                                 x[:, 3] * x[:, 0]]))),
    "hstack": ((2, 3), lambda x: pending(x, np.hstack([np.exp(x[:, :1]), x * x]))),
    # dtype= of the jet's own dtype is no dtype at all
    "sum_own_dtype": ((4,), lambda x: pending(x, np.sum(np.sin(x), axis=-1, dtype=x.dtype))),
    "mean_own_dtype": ((2, 3), lambda x: x * pending(x, np.mean(x * x, (1, 2), x.dtype, keepdims=True))),
    "cumsum_own_dtype": ((4,), lambda x: pending(x, np.cumsum(np.exp(x), axis=1, dtype=x.dtype))),
    # ufunc methods as the reductions they are; splits of rows as slices
    "add_reduce": ((2, 3), lambda x: pending(x, np.add.reduce(np.sin(x), axis=2))),
    "multiply_reduce": ((4,), lambda x: pending(x, np.multiply.reduce(x * 2.0, axis=-1))),
    "maximum_reduce": ((4,), lambda x: pending(x, np.maximum.reduce(np.cos(x), 1, keepdims=True)) * x),
    "minimum_reduce": ((2, 3), lambda x: pending(x, np.minimum.reduce(x, axis=1))),
    "add_accumulate": ((4,), lambda x: pending(x, np.add.accumulate(np.exp(x), axis=1))),
    "split": ((4,), lambda x: pending(x, (lambda a, b: a * np.sin(b))(*np.split(x, 2, axis=1)))),
    "array_split": ((4,), lambda x: pending(x, np.array_split(np.exp(x), 3, axis=-1)[2] * x)),
    "hsplit_indices": ((2, 3), lambda x: pending(x, np.hsplit(x * x, [1])[1] + 1.0)),
    "atleast_2d": ((4,), lambda x: pending(x, np.atleast_2d(np.sin(x)) * 2.0)),
}

# Products with constants: eager hands them to BLAS / einsum's loops (rounding may differ).
# Joins of deferred jets with constants (a constant part is an input of the program whose
# derivative parts are zero, as eager code makes it a jet with zero derivatives)
EXACT.update({
    "concatenate_padding": ((3,), lambda x: pending(x, np.concatenate(
        [np.zeros((x.shape[0], 1), x.dtype), np.sin(x)], axis=1))),
    "column_stack_constant": ((3,), lambda x: pending(x, np.column_stack(
        [x[:, 0] * 2.0, np.arange(x.shape[0], dtype=x.dtype), x[:, 1]])) * x),
    "stack_constant_row": ((3,), lambda x: pending(x, np.stack(
        [x[:, 0], np.full(x.shape[0], 3.0, x.dtype), np.exp(x[:, 2])], axis=-1))),
    "hstack_constant": ((2,), lambda x: pending(x, np.hstack([x * x, np.ones((x.shape[0], 2), x.dtype)]))),
    # np.pad along row axes: constant blocks joined, or (copying modes) moved lanes
    "pad_zeros": ((3,), lambda x: pending(x, np.pad(np.sin(x), ((0, 0), (1, 2))))),
    "pad_value": ((3,), lambda x: pending(x, np.pad(x, ((0, 0), (2, 0)), constant_values=1.5)) * x[:, :1]),
    "pad_two_row_axes": ((3, 1), lambda x: pending(x, np.pad(x * 2.0, ((0, 0), (1, 0), (0, 1))))),
    "pad_edge": ((3,), lambda x: pending(x, np.pad(np.exp(x), ((0, 0), (1, 1)), mode="edge"))),
    "pad_reflect": ((3,), lambda x: pending(x, np.pad(x, ((0, 0), (2, 2)), mode="reflect")) * 2.0),
    # np.diff with prepend / append: the constants joined first (of x's dtype, so that
    # float32 rows stay float32 as NumPy keeps them)
    "diff_prepend": ((4,), lambda x: pending(x, np.diff(x * x, axis=1, prepend=x.dtype.type(0)))),
    "diff_append_array": ((4,), lambda x: pending(x, np.diff(np.sin(x), append=np.ones(
        (x.shape[0], 2), x.dtype)))),
    "diff_both_twice": ((2, 3), lambda x: pending(x, np.diff(x, n=2, axis=-1, prepend=x.dtype.type(1.5),
                                                             append=np.full((x.shape[0], 2, 1), 2.0, x.dtype)))),
    # det and inv of matrices up to 3 x 3: the cofactor expansion recorded, NumPy's values
    "det_3x3": ((3, 3), lambda x: pending(x, np.linalg.det(x))),
    "det_2x2_of_a_node": ((2, 2), lambda x: pending(x, np.linalg.det(np.sin(x))) * x[:, 0, 0]),
    "inv_2x2": ((2, 2), lambda x: pending(x, np.linalg.inv(x))),
    "inv_3x3": ((3, 3), lambda x: pending(x, np.linalg.inv(x * x + 1.0))),
    # solve with a small matrix of jets (the adjugate over det times b, NumPy's solve as the
    # value) and slogdet of one (log |det| of the expansion; the sign a constant input)
    "solve_3x3_columns": ((3, 4), lambda x: pending(x, np.linalg.solve(
        x[:, :, :3] + 3.0 * np.eye(3, dtype=x.dtype), np.sin(x[:, :, 2:])))),
    "solve_2x2_constant_rhs": ((2, 2), lambda x: pending(x, np.linalg.solve(
        np.exp(x), np.array([[1.0], [-2.0]], x.dtype)))[:, :, 0]),
    "slogdet_3x3": ((3, 3), lambda x: pending(x, np.linalg.slogdet(x * x + 3.0 * np.eye(3, dtype=x.dtype))[1])),
    "slogdet_sign_2x2": ((2, 2), lambda x: pending(x, np.linalg.slogdet(x + 2.0 * np.eye(2, dtype=x.dtype))[0])
                         * np.linalg.slogdet(x + 2.0 * np.eye(2, dtype=x.dtype))[1]),
})

PRODUCTS = {
    "dot_vector": ((4,), lambda x: pending(x, np.dot(np.sin(x), V))),
    "dot_matrix": ((4,), lambda x: pending(x, np.tanh(np.dot(x, W)))),
    "tensordot_axes_1": ((4,), lambda x: pending(x, np.tensordot(x * x, W, axes=1))),
    "tensordot_axes_lists": ((4,), lambda x: pending(x, np.tensordot(np.exp(x), W, axes=([1], [0])))),
    "einsum_quadratic_form": ((4,), lambda x: pending(x, np.einsum("bi,ij,bj->b", x, C, x))),
    "einsum_constant_first": ((4,), lambda x: pending(x, np.einsum("ij,bj,bi->b", C, np.sin(x), x))),
    "einsum_four_operands": ((4,), lambda x: pending(x, np.einsum("bi,ij,jk,bk->b", x, C, C, x))),
    "einsum_three_rows": ((4,), lambda x: pending(x, np.einsum("bi,bi,bi->b", x, np.sin(x), x))),
    "matmul_width_9": ((9,), lambda x: pending(x, np.sin(x) @ W9)),
    "inner_matrix": ((3,), lambda x: pending(x, np.inner(np.sin(x), W))),
    "inner_vector": ((4,), lambda x: pending(x, np.inner(x * x, V))),
    # einsum of one row: sums and moves; of a row and a constant vector
    "einsum_sum": ((4,), lambda x: pending(x, np.einsum("bi->b", np.sin(x)))),
    "einsum_ellipsis_sum": ((2, 3), lambda x: pending(x, np.einsum("...ij->...j", np.exp(x)))),
    "einsum_sum_and_move": ((2, 3), lambda x: pending(x, np.einsum("bij->bj", x * x) + 1.0)),
    "einsum_move": ((2, 3), lambda x: pending(x, np.einsum("bij->bji", np.sin(x)))),
    "einsum_trace": ((3, 3), lambda x: pending(x, np.einsum("bii->b", np.sin(x)))),
    "einsum_diagonal": ((3, 3), lambda x: pending(x, np.einsum("...ii->...i", x * x))),
    "einsum_two_repeats": ((2, 2, 2), lambda x: pending(x, np.einsum("biji->bj", np.exp(x)))),
    "einsum_vector": ((4,), lambda x: pending(x, np.einsum("bi,i->b", np.tanh(x), V))),
    "einsum_vector_first": ((4,), lambda x: pending(x, np.einsum("i,...i->...", V, x * x))),
    # products of two rows: broadcast products summed
    "matmul_rows": ((3, 3), lambda x: pending(x, x @ np.sin(x))),
    "matmul_ufunc_rows": ((3, 3), lambda x: pending(x, np.matmul(np.exp(x), x))),
    "einsum_matvec_rows": ((3, 3), lambda x: pending(x, np.einsum("bij,bj->bi", x, np.sin(x[:, 0])))),
    "einsum_transposed_rows": ((3, 3), lambda x: pending(x, np.einsum("bij,bkj->bik", x, np.cos(x)))),
    "einsum_outer_rows": ((4,), lambda x: pending(x, np.einsum("bi,bj->bij", x, np.sin(x)))),
    "bias_column": ((4,), lambda x: pending(x, np.tanh(np.hstack(
        [x, np.ones((x.shape[0], 1), x.dtype)]) @ W5))),
    # implicit outputs (NumPy's: the ellipsis, then the letters used once, sorted)
    "einsum_implicit_rows": ((4,), lambda x: pending(x, np.einsum("...i,...i", x, np.sin(x)))),
    "einsum_implicit_matrix": ((4,), lambda x: pending(x, np.einsum("bi,ij", np.tanh(x), W))),
    # NumPy 2's generalized ufuncs, as einsum of their specs
    **({"vecdot": ((4,), lambda x: pending(x, np.vecdot(x, np.cos(x)))),
        "matvec_rows": ((2, 2), lambda x: pending(x, np.matvec(np.exp(x), x[:, 0]))),
        "vecmat_rows": ((2, 2), lambda x: pending(x, np.vecmat(x[:, 1], np.sin(x))))}
       if hasattr(np, "matvec") else {}),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", EXACT)
def test_compositions_match_eager(name, dtype, transform):
    row, f = EXACT[name]
    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS,) + row, dtype, lo=0.2, hi=1.2))


@pytest.mark.parametrize("width", [64, 65])
def test_row_sums_of_64_and_65_terms(width):
    """The widest row sum kept in a register (64 terms) and the generic loop beyond: eager's
    bits for sums, eager's products to rounding for x @ W (batch Jacobians: the batch
    Hessian of rows of 64 has more numbers per element than deferred programs carry)."""
    x = rng_x((ROWS, width), lo=0.2, hi=1.2)
    total = assert_matches_eager(dj.batch_jacobian, lambda x: pending(x, np.sum(np.sin(x), -1)), x)
    np.testing.assert_allclose(total, np.cos(x), rtol=1e-15)             # d sum(sin x) / dx
    W = np.random.default_rng(width).standard_normal((width, 2))
    f = lambda x: pending(x, np.exp(x * 0.1) @ W)                           # noqa: E731
    got = deferred(dj.batch_jacobian, f, x)
    np.testing.assert_allclose(got, eager(dj.batch_jacobian, f, x), rtol=1e-12, atol=1e-12)
    analytic = W.T[None, :, :] * (0.1 * np.exp(0.1 * x))[:, None, :]      # W_kj 0.1 e^(0.1 x_k)
    np.testing.assert_allclose(got, analytic, rtol=1e-12, atol=1e-14)


def test_constants_in_joins_that_change_the_result_fall_back():
    """A float64 constant beside float32 rows (NumPy promotes the join) and a constant of
    another number of rows (NumPy's error) are left to the computed jets, as eagerly."""
    assert_matches_eager(dj.batch_jacobian, lambda z: np.concatenate(
        [z, np.zeros((z.shape[0], 1))], axis=1), rng_x((ROWS, 3), np.float32))
    with pytest.raises(ValueError):
        deferred(dj.batch_jacobian, lambda z: np.concatenate([z, np.zeros((3, 1))], axis=1),
                 rng_x((ROWS, 3)))


def test_larger_matrices_run_on_computed_jets():
    """det / inv / slogdet / solve of 4 x 4 rows, and det of rows holding a non-finite entry:
    the computed jets (NumPy's LU for the values, eager's rules), eager's bits."""
    x = rng_x((ROWS, 4, 4), lo=0.2, hi=1.2) + 2.0 * np.eye(4)
    for f in [np.linalg.det, lambda z: np.linalg.inv(z).sum(axis=(1, 2)),
              lambda z: np.linalg.slogdet(z)[1], lambda z: np.linalg.solve(z, z[:, :, :1])]:
        assert_matches_eager(dj.batch_jacobian, f, x)
    # a plain matrix: solve of the deferred right-hand sides on the computed jets
    assert_matches_eager(dj.batch_hessian, lambda z: np.linalg.solve(np.eye(4) * 2.0, np.sin(z)),
                         rng_x((ROWS, 4, 2), lo=0.2, hi=1.2))
    y = rng_x((ROWS, 2, 2), lo=0.2, hi=1.2)
    y[5, 0, 0] = np.inf
    with np.errstate(all="ignore"):
        assert_matches_eager(dj.batch_jacobian, np.linalg.det, y)


def test_pads_across_rows_or_of_statistics_fall_back():
    """np.pad of the rows' axis (an int width pads every axis) and the modes that compute
    (mean, linear_ramp): the computed jets, eager's bits."""
    for f in [lambda z: np.pad(z, 1)[1:-1] * 1.0,
              lambda z: np.pad(z, ((0, 0), (1, 1)), mode="mean"),
              lambda z: np.pad(z, ((0, 0), (1, 1)), mode="linear_ramp", end_values=2.0)]:
        assert_matches_eager(dj.batch_hessian, f, rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", PRODUCTS)
def test_products_match_eager_to_rounding(name, transform):
    row, f = PRODUCTS[name]
    x = rng_x((ROWS,) + row, lo=0.2, hi=1.2)
    got = deferred(TRANSFORMS[transform], f, x)
    np.testing.assert_allclose(got, eager(TRANSFORMS[transform], f, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [*EXACT, *PRODUCTS])
def test_jacobians_match_complex_step(name):
    """The outside witness: every function written for complex input (np.var / np.std /
    np.dot of complex arrays do not conjugate here: the rows are real plus i h)."""
    row, f = {**EXACT, **PRODUCTS}[name]
    x = rng_x((2000,) + row, lo=0.2, hi=1.2)
    witness = cases.complex_step_batch_jacobian(lambda z: _complex_form(name, f, z), x)
    got = deferred(dj.batch_jacobian, f, x)
    np.testing.assert_allclose(got, witness, rtol=1e-10, atol=1e-12)


def _complex_form(name, f, z):
    """f for complex rows: np.var / np.std take |z - mean|^2, which is not analytic, so
    they are spelled out as the mean of squares (what they are for real rows); np.vecdot
    / np.vecmat as the einsums they are for real rows."""
    def var(a, axis, ddof=0, keepdims=False):
        axes = axis if isinstance(axis, tuple) else (axis,)
        count = np.prod([a.shape[k] for k in axes])
        centered = a - np.sum(a, axis=axes, keepdims=True) / count
        return np.sum(centered * centered, axis=axes, keepdims=keepdims) / (count - ddof)
    if name.startswith("var") or name.startswith("std"):
        spelled = {
            "var_last": lambda x: var(np.sin(x) * x, -1),
            "var_keepdims_ddof": lambda x: x * var(x, 1, 1, True),
            "var_correction": lambda x: var(np.exp(x), -1, 1),
            "var_two_axes": lambda x: var(np.cos(x), (1, 2)),
            "var_middle_axis": lambda x: var(x * x, 1),
            "std_layer_norm": lambda x: (x - np.mean(x, -1, keepdims=True))
            / np.sqrt(var(x, -1, 0, True)),
            "std_method_free": lambda x: np.sqrt(var(np.tanh(x), -1, 1)),
        }
        return spelled[name](z)
    if name == "vecdot":            # np.vecdot and np.vecmat conjugate their vector
        return np.einsum("...i,...i->...", z, np.cos(z))
    if name == "vecmat_rows":
        return np.einsum("...i,...ij->...j", z[:, 1], np.sin(z))
    if name == "slogdet_3x3":       # log |det| of complex rows is not analytic: log det (det > 0)
        return np.log(np.linalg.det(z * z + 3.0 * np.eye(3)))
    if name == "slogdet_sign_2x2":  # the signs (here +1) times log det
        return np.log(np.linalg.det(z + 2.0 * np.eye(2)))
    return f(z)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_mean_by_a_power_of_two_at_extremes(dtype, transform):
    """Sums that are subnormal, huge, infinite or NaN, divided by 4 and by 3: eager's bits
    (a multiplication by an exact reciprocal rounds as the division does)."""
    info = np.finfo(dtype)
    x = rng_x((ROWS, 4), dtype)
    x[:, 0] = np.resize(np.array([info.smallest_subnormal * 3, info.tiny * 1.5, info.max / 2,
                                  np.inf, np.nan, -0.0, 5e-3], dtype), ROWS)
    for f in [lambda x: np.mean(x * x[:, :1], axis=-1), lambda x: np.mean(x[:, 1:] * x[:, :3], -1)]:
        assert_matches_eager(TRANSFORMS[transform], f, x)


@pytest.mark.parametrize("name", ["cross", "take", "var", "einsum3", "dot", "matmul_rows"])
def test_compositions_with_a_jet_of_an_outer_transform(name):
    """A batch transform inside dj.jacobian: f mixes the deferred rows with the outer
    transform's dual array p. The compositions leave such operands to the computed path,
    which gives what the eager path gives, and both match complex step in p."""
    x = rng_x((ROWS, 3), lo=0.2, hi=1.2)
    inner = {
        "cross": lambda z, p: np.cross(z, p * np.ones(3)),
        "take": lambda z, p: np.take(z, [0, 2], axis=1) * p[0],
        "var": lambda z, p: np.var(z * p, axis=-1),
        "einsum3": lambda z, p: np.einsum("bi,ij,bj->b", z, np.eye(3), z * p),
        "dot": lambda z, p: np.dot(z, p),
        "matmul_rows": lambda z, p: (z[:, :, None] * p) @ z[:, :, None],
    }[name]
    outer = lambda p: dj.batch_jacobian(lambda z: inner(z, p), x).sum()      # noqa: E731
    p0 = np.array([0.3, 0.7, 1.1])
    with deferred_from(1):
        got = dj.jacobian(outer, p0)
    with deferred_from(0):
        want = dj.jacobian(outer, p0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    if name == "var":       # np.var of complex rows takes |z - mean|^2: spelled out for the witness
        inner = lambda z, p: np.mean((z * p - np.mean(z * p, -1, keepdims=True)) ** 2, -1)  # noqa: E731
    plain = lambda p: cases.complex_step_batch_jacobian(lambda z: inner(z, p), x).sum()  # noqa: E731
    witness = np.array([(plain(p0 + 1e-6 * e) - plain(p0 - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
    np.testing.assert_allclose(got, witness, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("threshold", [0, 1], ids=["eager", "deferred"])
def test_products_with_mismatched_core_dimensions_raise(threshold, transform):
    """matmul and dot of axes that differ (3 against 1) raise NumPy's ValueError: the
    product rule runs on einsum, which would broadcast the length-1 axis instead."""
    x = rng_x((ROWS, 3))
    for f, message in [(lambda z: (z[:, :, None] * z[:, None, :]) @ z[:, None, :], "core dimension"),
                       (lambda z: np.matmul(np.sin(z)[:, :, None] * z[:, None, :], z[:, None, :]),
                        "core dimension"),
                       (lambda z: np.dot(z, np.ones((1, 2))), "not aligned")]:
        with pytest.raises(ValueError, match=message):
            f(x)                                         # NumPy itself
        with deferred_from(threshold), pytest.raises(ValueError, match=message):
            TRANSFORMS[transform](f, x)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_fancy_views_of_the_source_stay_seeded(transform):
    """x[:, [2, 0]] and np.take(x, i, axis=1) take every row: their seeds are the first
    row's, so the program gathers them from the source's values (the view is never
    seeded as a dense jet: it stays pending after the transform)."""
    views = []

    def f(x):
        view = x[:, [2, 0]]
        taken = np.take(x, [1, 3], axis=1)
        if isinstance(x, dj.DeferredJet):
            views.extend([view, taken])
        return np.sin(view) * taken

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 4)))
    assert [("pending" in repr(v)) for v in views] == [True, True], views


def test_row_functions_that_do_not_apply_fall_back():
    """Forms the compositions leave alone (a reduction across rows, prepend=, a float64
    constant with float32 rows, a contraction over the rows) run on the computed jets:
    eager's bits."""
    for f in [lambda x: np.var(x, axis=0)[0] * x[:, 0],
              lambda x: np.transpose(np.sin(x))[0] * x[:, 1],
              lambda x: np.flip(x, axis=0) * x,
              lambda x: np.roll(np.sin(x), 1) * x,
              lambda x: np.trace(x[:, :2] * x[:, 2:]) * x[:, 0],
              lambda x: np.diff(x, axis=-1, prepend=0.0),
              lambda x: np.std(x) * x[:, 1],
              lambda x: np.cross(x[:, :3], V[:3]),
              lambda x: np.einsum("bi,bj,b->ij", x, x, x[:, 0])[0, 0] * x[:, 2],
              # contractions over the rows' axis: np.dot / np.tensordot of a column, einsum
              lambda x: np.dot(x[:, 0], np.ones((ROWS, 2), x.dtype))[0] * x[:, 1],
              lambda x: np.tensordot(x[:, 0], np.ones((ROWS, 2), x.dtype), axes=1)[1] * x[:, 1],
              lambda x: np.einsum("bi,ij,bk->jk", x, np.eye(4, dtype=x.dtype), x)[0, 0] * x[:, 3],
              lambda x: np.take(x, [0, 1], axis=0)[0, 0] * x[:, 1],
              # across rows: rows of one number joined along axis 0, an inner product of
              # columns; a reduction's dtype= of another dtype
              lambda x: np.hstack([x[:, 0], x[:, 1]])[:ROWS] * x[:, 2],
              lambda x: np.inner(x[:, 0], x[:, 1]) * x[:, 2],
              lambda x: np.sum(x, axis=1, dtype=np.float64) * x[:, 2],
              # ufunc methods over the rows' axis (their default), splits of rows of one
              # number, einsum of one row summed over the rows or moving them
              lambda x: np.add.reduce(x)[0] * x[:, 1],
              lambda x: np.maximum.reduce(x, axis=None) * x[:, 1],
              lambda x: np.split(x[:, 0], 2)[0][:3].sum() * x[:, 1],
              lambda x: np.einsum("bi->i", x)[0] * x[:, 1],
              lambda x: np.einsum("bi->ib", x)[0] * x[:, 1]]:
        assert_matches_eager(dj.batch_jacobian, f, rng_x((ROWS, 4), np.float32))
