"""Linear algebra (dualjac/dispatch/linalg.py) and more NumPy functions (sort, select, interp, pad, ...)
against outside witnesses, in the style of test_numpy_functions.py.

First derivatives: ``dj.jacobian`` vs the complex-step Jacobian of the same g
evaluated by NumPy on complex128 input (det, inv, solve accept it). Where NumPy's
complex function is not the analytic continuation of the real one the witness
is another formula: log(det(a)) for slogdet's log|det|, a Cholesky written out
without conjugation for cholesky (plus central differences of NumPy's own
cholesky on a symmetrised input), central differences for np.interp.
Second derivatives: nested ``dj.jacobian`` (hyper-dual buffers) vs central
differences of the witness Jacobian; and exact identities (A inv(A) = I,
L L^T = S, det(A) det(inv(A)) = 1) whose Hessians must vanish to round-off.
"""

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pytest

import dualjac as dj
import witness
from witness import central_difference_jacobian, complex_step_jacobian

pytestmark = [
    # np.cross of 2-vectors: NumPy 2 deprecates them, and so does dualjac (same warning)
    pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning"),
    # Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
    pytest.mark.jet_kinds("default", "banded", "deferred"),
]

RNG = np.random.default_rng(5)


def randn(*shape):
    return RNG.standard_normal(shape)


def well_conditioned(*shape):
    """Random (..., n, n) matrices with a dominant diagonal."""
    return randn(*shape) + 3 * np.eye(shape[-1])


def spd(*shape):
    a = randn(*shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def cholesky_analytic(a):
    """Cholesky-Banachiewicz reading a's lower triangle, with no conjugation:
    analytic in a's entries, so complex step differentiates it (NumPy's complex
    cholesky treats its input as Hermitian, which is not)."""
    n = a.shape[-1]
    L = np.zeros_like(a)
    for j in range(n):
        L[..., j, j] = np.sqrt(a[..., j, j] - np.sum(L[..., j, :j] ** 2, -1))
        for i in range(j + 1, n):
            L[..., i, j] = (a[..., i, j] - np.sum(L[..., i, :j] * L[..., j, :j], -1)) / L[..., j, j]
    return L


# ------------------------------------------------------------------ witnesses

def witness_jacobian(case, x):
    return witness.witness_jacobian(case.ref or case.g, x, case.method, 1e-6)


def witness_hessian(case, x):
    return witness.witness_hessian(case.ref or case.g, x, case.method, 1e-6)


def assert_close(got, want, rtol, atol, what=""):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=what)


TOL = {("cs", 1): (1e-10, 1e-12), ("fd", 1): (1e-7, 1e-8),
       ("cs", 2): (1e-6, 1e-7), ("fd", 2): (1e-5, 1e-5)}


# ------------------------------------------------------------------ the cases

@dataclass
class Case:
    id: str
    g: Callable
    x: np.ndarray
    method: str = "cs"
    ref: Optional[Callable] = None


CASES = []


def add(id, g, x, method="cs", ref=None):
    CASES.append(Case(id, g, np.asarray(x, np.float64), method, ref))


A33 = well_conditioned(3, 3)
A233 = well_conditioned(2, 3, 3)
B3 = randn(3)
B32 = randn(3, 2)
B232 = randn(2, 3, 2)
NEGDET = A33[[1, 0, 2]]                 # a row swap: det < 0
assert np.linalg.det(NEGDET) < 0


def matrix_and_vector(z):
    return z[:9].reshape(3, 3), z[9:]


def matrix_and_matrix(z):
    return z[:9].reshape(3, 3), z[9:].reshape(3, 2)


# -- det, slogdet
add("det", np.linalg.det, A33)
add("det_4x4", np.linalg.det, well_conditioned(4, 4))
add("det_1x1", np.linalg.det, [[1.7]])
add("det_batched", np.linalg.det, A233)
add("det_negative", np.linalg.det, NEGDET)
add("det_singular_rank1", np.linalg.det, np.outer(B3, randn(3)))
add("det_singular_rank2", np.linalg.det, np.outer(B3, randn(3)) + np.outer(randn(3), randn(3)))
add("det_of_product", lambda a: np.linalg.det(a @ a.T + a), A33)
add("slogdet_logabs", lambda a: np.linalg.slogdet(a)[1], A33,
    ref=lambda a: np.log(np.linalg.det(a)))
add("slogdet_logabs_negative", lambda a: np.linalg.slogdet(a).logabsdet, NEGDET,
    ref=lambda a: np.log(-np.linalg.det(a)))
add("slogdet_batched", lambda a: np.linalg.slogdet(a)[1], spd(2, 3, 3),
    ref=lambda a: np.log(np.linalg.det(a)))
add("slogdet_sign_times", lambda a: np.linalg.slogdet(a)[0] * a[0, 0], NEGDET,
    ref=lambda a: -a[0, 0])

# -- inv
add("inv", np.linalg.inv, A33)
add("inv_batched", np.linalg.inv, A233)
add("inv_of_expression", lambda a: np.linalg.inv(np.sin(a) + 3 * np.eye(3)) @ a, A33)

# -- solve: dual matrix only, dual right-hand side only, both; vectors, matrices, stacks
add("solve_dual_matrix", lambda a: np.linalg.solve(a, B3), A33)
add("solve_dual_rhs", lambda b: np.linalg.solve(A33, b), B3)
add("solve_dual_both", lambda z: np.linalg.solve(*matrix_and_vector(z)),
    np.concatenate([A33.ravel(), B3]))
add("solve_matrix_rhs_dual_matrix", lambda a: np.linalg.solve(a, B32), A33)
add("solve_matrix_rhs_dual_rhs", lambda b: np.linalg.solve(A33, b), B32)
add("solve_matrix_rhs_dual_both", lambda z: np.linalg.solve(*matrix_and_matrix(z)),
    np.concatenate([A33.ravel(), B32.ravel()]))
add("solve_batched_matrix_vector_rhs", lambda a: np.linalg.solve(a, B3), A233)
add("solve_batched_matrix_dual_vector_rhs", lambda b: np.linalg.solve(A233, b), B3)
add("solve_batched_both", lambda a: np.linalg.solve(a, np.sin(a[..., :2])), A233)
add("solve_broadcast_rhs_stack", lambda b: np.linalg.solve(A33, b), B232)
add("solve_broadcast_matrix_stack", lambda a: np.linalg.solve(a, B232), A33)
add("solve_nonlinear_rhs", lambda a: np.linalg.solve(a, np.exp(a[:, 0])), A33)

# -- cholesky (LAPACK reads the lower triangle; upper=True reads the upper one)
add("cholesky", np.linalg.cholesky, spd(3, 3), ref=cholesky_analytic)
add("cholesky_nonsymmetric_input", np.linalg.cholesky, spd(3, 3) + np.triu(randn(3, 3), 1),
    ref=cholesky_analytic)
add("cholesky_upper", lambda a: np.linalg.cholesky(a, upper=True),
    spd(3, 3) + np.tril(randn(3, 3), -1),
    ref=lambda a: np.swapaxes(cholesky_analytic(np.swapaxes(a, -1, -2)), -1, -2))
add("cholesky_batched", np.linalg.cholesky, spd(2, 3, 3), ref=cholesky_analytic)
add("cholesky_4x4", np.linalg.cholesky, spd(4, 4), ref=cholesky_analytic)
add("cholesky_of_expression", lambda a: np.linalg.cholesky(a @ a.T + np.eye(3)), randn(3, 3),
    ref=lambda a: cholesky_analytic(a @ a.T + np.eye(3)))

# -- cross, diag
V23 = randn(2, 3)
add("cross", lambda z: np.cross(z[:3], z[3:]), randn(6))
add("cross_constant", lambda x: np.cross(x, B3), randn(4, 3))
add("cross_2_and_3", lambda z: np.cross(z[:2], z[2:]), randn(5))
add("cross_2_and_2", lambda z: np.cross(z[:2], z[2:]), randn(4))
add("cross_axes", lambda x: np.cross(x, V23.T, axisa=0, axisb=0, axisc=0), randn(3, 2))
add("cross_axis", lambda x: np.cross(x, x ** 2, axis=0), randn(3, 4))
add("linalg_cross", lambda x: np.linalg.cross(x, np.sin(x)), randn(2, 3))
add("diag_vector", lambda x: np.diag(x), randn(3))
add("diag_vector_k1", lambda x: np.diag(x, 1), randn(3))
add("diag_vector_k-2", lambda x: np.diag(x, k=-2), randn(3))
add("diag_matrix", lambda x: np.diag(x), randn(3, 4))
add("diag_matrix_k1", lambda x: np.diag(x, 1), randn(3, 4))
add("diag_matrix_k-1", lambda x: np.diag(x, -1), randn(3, 4))

# -- sort, median, select
X5 = RNG.permutation(np.linspace(-2, 2, 5)) + 1e-3 * RNG.random(5)
X34 = RNG.permutation(np.linspace(-2, 2, 12)).reshape(3, 4)
X6 = RNG.permutation(np.linspace(-1, 3, 6))
MASK34 = RNG.random((3, 4)) > 0.5
add("sort", lambda x: np.sort(x) * np.arange(1.0, 6.0), X5)
add("sort_axis0", lambda x: np.sort(x, axis=0), X34)
add("sort_axis_none", lambda x: np.sort(x, axis=None) ** 2, X34)
add("sort_then_diff", lambda x: np.diff(np.sort(x, kind="stable")), X34)
add("median_odd", np.median, X5)
add("median_even", lambda x: np.median(x ** 2), X6)
add("median_axis", lambda x: np.median(x, axis=1, keepdims=True), X34)
add("median_axes", lambda x: np.median(x, axis=(0, 1)), X34)
add("select", lambda x: np.select([x > 0.5, x < -0.5], [x ** 2, np.sin(x)], default=x), X34)
add("select_constant_choice", lambda x: np.select([MASK34], [x], default=7.0), X34)
add("select_dual_default", lambda x: np.select([MASK34, ~MASK34], [2.0, x * x], default=x), X34)

# -- interp (piecewise linear in x: central differences away from the knots)
XP, FP = np.array([-1.0, 0.0, 0.5, 2.0]), np.array([3.0, -1.0, 2.0, 0.5])
XI = np.array([-1.7, -0.7, -0.2, 0.3, 0.9, 1.9, 2.6])
add("interp", lambda x: np.interp(x, XP, FP), XI, "fd")
add("interp_left_right", lambda x: np.interp(x, XP, FP, left=-5.0, right=9.0) * x, XI, "fd")
add("interp_period", lambda x: np.interp(x, [0.0, 1.0, 2.5], [1.0, -1.0, 2.0], period=3.0),
    np.array([-2.1, 0.4, 1.3, 3.9, 7.2]), "fd")
add("interp_scalar", lambda x: np.interp(x[0] ** 2, XP, FP), XI[3:4], "fd")

# -- polyval
P4 = randn(4)
add("polyval_dual_x", lambda x: np.polyval(P4, x), randn(5))
add("polyval_dual_coefficients", lambda p: np.polyval(p, XI), P4)
add("polyval_dual_both", lambda z: np.polyval(z[:3], z[3:]), randn(6))
add("polyval_scalar_x", lambda p: np.polyval(p, 0.7), P4)

# -- pad
X23 = randn(2, 3)
add("pad_constant", lambda x: np.pad(x, 1), X23)
add("pad_constant_values",
    lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=(4.0, -2.0)) * x[0, 0], X23)
add("pad_edge", lambda x: np.pad(x, (2, 1), mode="edge") ** 2, X23)
add("pad_reflect_odd", lambda x: np.pad(x, 2, mode="reflect", reflect_type="odd"), X23)
add("pad_symmetric", lambda x: np.pad(x, ((0, 1), (2, 2)), mode="symmetric"), X23)
add("pad_wrap", lambda x: np.pad(x, 1, mode="wrap"), X23)
if np.lib.NumpyVersion(np.__version__) >= "2.3.0":
    add("pad_dict_widths", lambda x: np.pad(x, {-1: (0, 2)}, mode="edge"), X23)
add("pad_mean", lambda x: np.pad(x, ((0, 0), (1, 2)), mode="mean", stat_length=2), X23)

# -- split / array_split (pieces weighted so every piece is checked)
X64 = randn(6, 4)


def weighted(pieces):
    return np.concatenate([np.ravel(p) * (i + 1) for i, p in enumerate(pieces)])


add("split_sections", lambda x: weighted(np.split(x, 3)), X64)
add("split_indices_axis1", lambda x: weighted(np.split(x, [1, 3], axis=1)), X64)
add("array_split_uneven", lambda x: weighted(np.array_split(x, 4)), X64)
add("array_split_axis1", lambda x: weighted(np.array_split(x ** 2, 3, axis=-1)), X64)
add("hsplit", lambda x: weighted(np.hsplit(x, 2)), X64)
add("vsplit", lambda x: weighted(np.vsplit(x, [2])), X64)

# -- cumprod (exact zeros inside), diff
XZ = np.array([1.5, 0.0, -2.0, 0.7, 0.0, 1.1, 0.9])
add("cumprod", np.cumprod, X5)
add("cumprod_with_zeros", np.cumprod, XZ)
add("cumprod_axis1", lambda x: np.cumprod(x, axis=1), X34)
add("cumprod_axis_none", lambda x: np.cumprod(x * 0.8), X34)
add("multiply_accumulate", lambda x: np.multiply.accumulate(x, axis=1), X34)
add("cumulative_prod_initial", lambda x: np.cumulative_prod(x, axis=0, include_initial=True), X34)
add("cumulative_prod_1d", lambda x: np.cumulative_prod(x[0]), X34)
add("cumulative_sum_initial", lambda x: np.cumulative_sum(x, axis=1, include_initial=True), X34)
add("cumprod_zeros_matrix", lambda x: np.cumprod(x, 0), np.where(MASK34, X34, 0.0))
add("diff", np.diff, X5)
add("diff_n2_axis0", lambda x: np.diff(x, 2, axis=0), X34)
add("diff_prepend_append", lambda x: np.diff(x ** 2, prepend=1.0, append=x[:, :1], axis=1), X34)
add("diff_dual_prepend", lambda x: np.diff(B3, prepend=x), X5[:1])

CASE_IDS = [c.id for c in CASES]
assert len(CASE_IDS) == len(set(CASE_IDS)), "duplicate case ids"


# ------------------------------------------------------------------ witness tests

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_jacobian(case):
    value, jac = dj.value_and_jacobian(case.g, case.x)
    want_value = case.g(case.x)
    assert np.shape(value) == np.shape(want_value)
    np.testing.assert_allclose(value, want_value, rtol=1e-12, atol=1e-14)
    assert jac is not None and jac.dtype == np.float64
    assert_close(jac, witness_jacobian(case, case.x), *TOL[(case.method, 1)])


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_second_derivative(case):
    """Nested jacobian: the inner one sees HyperDualArrays."""
    hess = dj.jacobian(lambda z: dj.jacobian(case.g, z), case.x)
    want = witness_hessian(case, case.x)
    if hess is None:   # g is linear: the inner Jacobian is unconnected to x (TF's None)
        assert not np.any(np.abs(want) > 1e-6)
        return
    assert_close(hess, want, *TOL[(case.method, 2)])


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_float32(case):
    """float32 in: the value in NumPy's dtype (float32 unless a float64 constant
    promotes), the Jacobian in the source's (TF's rule)."""
    x = case.x.astype(np.float32)
    value, jac = dj.value_and_jacobian(case.g, x)
    want_dtype = np.asarray(case.g(x)).dtype
    assert value.dtype == want_dtype and jac.dtype == np.float32
    assert_close(jac, witness_jacobian(case, x.astype(np.float64)), 1e-4, 1e-4)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_second_derivative_float32(case):
    x = case.x.astype(np.float32)
    hess = dj.jacobian(lambda z: dj.jacobian(case.g, z), x)
    if hess is None:
        return
    assert hess.dtype == np.float32     # the source's dtype (TF's rule)
    assert_close(hess, witness_hessian(case, x.astype(np.float64)), 2e-3, 2e-3)


def test_cholesky_of_symmetrised_input_against_finite_differences():
    """Witnessed by NumPy's cholesky itself, on (a + a^T)/2 + n I, through central
    differences (first and second order): no formula of ours is involved."""
    n = 3
    g = lambda a: np.linalg.cholesky((a + a.T) / 2 + n * np.eye(n))   # noqa: E731
    a = randn(n, n)
    assert_close(dj.jacobian(g, a), central_difference_jacobian(g, a), 1e-7, 1e-8)
    h = 1e-4
    cols = []
    for j in range(a.size):
        e = np.zeros(a.size)
        e[j] = h
        e = e.reshape(a.shape)
        cols.append((central_difference_jacobian(g, a + e, 1e-4)
                     - central_difference_jacobian(g, a - e, 1e-4)) / (2 * h))
    want = np.stack(cols, -1).reshape((n, n) + a.shape + a.shape)
    assert_close(dj.hessian(lambda a: np.sum(g(a) * np.arange(9.0).reshape(3, 3)), a),
                 np.einsum("ij...,ij->...", want, np.arange(9.0).reshape(3, 3)), 1e-5, 1e-5)


# ------------------------------------------------------------------ analytic and exact identities

@pytest.mark.parametrize("A", [A33, NEGDET, spd(4, 4)], ids=["general", "negative_det", "spd"])
def test_hessian_of_log_determinant(A):
    """d2 log|det A| / dA_ij dA_kl = -inv(A)[j, k] inv(A)[l, i]."""
    Ai = np.linalg.inv(A)
    H = dj.hessian(lambda a: np.linalg.slogdet(a)[1], A)
    np.testing.assert_allclose(H, -np.einsum("jk,li->ijkl", Ai, Ai), rtol=1e-11, atol=1e-12)
    g = dj.gradient(lambda a: np.linalg.slogdet(a)[1], A)
    np.testing.assert_allclose(g, Ai.T, rtol=1e-12)


def test_hessian_of_log_determinant_float32():
    A = spd(3, 3)
    Ai = np.linalg.inv(A)
    H = dj.hessian(lambda a: np.linalg.slogdet(a)[1], A.astype(np.float32))
    assert H.dtype == np.float32
    np.testing.assert_allclose(H, -np.einsum("jk,li->ijkl", Ai, Ai), rtol=1e-4, atol=1e-5)


W33 = randn(3, 3)


def chol_of_gram(a):
    return np.linalg.cholesky(a @ a.T)


# Each is constant in its input, so its Hessian is zero: any error at second order shows.
IDENTITIES = {
    "A_inv_A": (lambda a: np.sum(W33 * (a @ np.linalg.inv(a))), A33),
    "A_solve_A_b": (lambda a: np.sum(B3 * (a @ np.linalg.solve(a, np.sin(a[0])) - np.sin(a[0]))),
                    A33),
    "det_times_det_inv": (lambda a: np.linalg.det(a) * np.linalg.det(np.linalg.inv(a)), A33),
    "det_is_exp_logdet": (lambda a: np.linalg.det(a) - np.exp(np.linalg.slogdet(a)[1]), spd(3, 3)),
    "L_LT_minus_A": (lambda a: np.sum(W33 * (chol_of_gram(a) @ chol_of_gram(a).T - a @ a.T)), A33),
    "L_upper_part": (lambda a: np.sum(W33 * np.triu(np.ones((3, 3)), 1) * chol_of_gram(a)), A33),
}


@pytest.mark.parametrize("name", list(IDENTITIES))
def test_exact_at_second_order(name):
    f, x = IDENTITIES[name]
    H = dj.hessian(f, x)
    assert H is None or np.max(np.abs(H)) < 1e-11, np.max(np.abs(H))


def test_slogdet_sign_is_a_jet_with_zero_derivatives():
    seen = []
    J = dj.jacobian(lambda a: seen.append(np.linalg.slogdet(a)) or seen[-1].sign, NEGDET)
    assert isinstance(seen[0].sign, dj.DualArray) and seen[0].sign.value == -1.0
    assert type(seen[0]) is type(np.linalg.slogdet(NEGDET))
    np.testing.assert_array_equal(J, np.zeros((3, 3)))


def test_det_of_singular_matrix_is_the_adjugate():
    """det's derivative at a rank n-1 matrix is adj(A)^T, which an inverse cannot give."""
    A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])   # rank 2
    adjugate = np.array([[-3.0, 6.0, -3.0], [6.0, -12.0, 6.0], [-3.0, 6.0, -3.0]])
    np.testing.assert_allclose(dj.jacobian(np.linalg.det, A), adjugate.T, atol=1e-12)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_det_and_slogdet_of_non_finite_matrices(bad):
    """NumPy's values (nan, +-inf), NaN derivatives along that matrix's entries
    only, and the other matrices of the batch untouched (LAPACK's SVD does not
    converge on a non-finite matrix)."""
    A = np.array([[bad, 1.0], [2.0, 3.0]])
    batch = np.stack([A, 2.0 * np.eye(2)])
    with np.errstate(invalid="ignore"):
        for f in (np.linalg.det, lambda a: np.linalg.slogdet(a)[1]):
            value, J = dj.value_and_jacobian(f, batch)
            np.testing.assert_array_equal(value, f(batch))
            assert np.isnan(J[0, 0]).all() and not J[0, 1].any()
            assert not J[1, 0].any()
            np.testing.assert_allclose(J[1, 1], dj.jacobian(f, batch[1:])[0, 0], rtol=1e-15)
            _, _, H = dj.value_gradient_hessian(lambda a: f(a), A)
            assert np.isnan(H).all()


def test_batched_hessian_of_det():
    A = well_conditioned(4, 2, 2)
    H = dj.batch_hessian(lambda a: np.linalg.det(a), A)
    # det of 2x2 is a d - b c: constant Hessian
    want = np.zeros((2, 2, 2, 2))
    want[0, 0, 1, 1] = want[1, 1, 0, 0] = 1
    want[0, 1, 1, 0] = want[1, 0, 0, 1] = -1
    np.testing.assert_allclose(H, np.broadcast_to(want, (4, 2, 2, 2, 2)), atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_det_of_a_stack_of_rows_as_matrices(n):
    """Per-row determinants of n x n matrices (1 to 3: the cofactor expansion; 4: the
    SVD frame): NumPy's value bit for bit, derivatives det(A) inv(A)^T (Jacobi's
    formula) and the Hessian of complex-step gradients."""
    x = np.random.default_rng(n).uniform(0.2, 1.2, (500, n * n))
    f = lambda rows: np.linalg.det(rows.reshape(-1, n, n))                  # noqa: E731
    value, _ = dj.value_and_jacobian(lambda r: f(r[:3]), x)
    assert np.array_equal(value, f(x[:3]))
    A = x.reshape(-1, n, n)
    jacobi = (np.linalg.det(A)[:, None, None] * np.swapaxes(np.linalg.inv(A), -1, -2))
    np.testing.assert_allclose(dj.batch_jacobian(f, x), jacobi.reshape(-1, n * n),
                               rtol=1e-11, atol=1e-12)
    H = dj.batch_hessian(f, x[:20])
    for row in range(0, 20, 7):
        want = witness.witness_hessian(lambda r: np.linalg.det(r.reshape(n, n)), x[row])
        np.testing.assert_allclose(H[row], want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_slogdet_of_a_stack_of_rows_as_matrices(n):
    """Per-row log |det| (1 to 3: of the cofactor expansion; 4: the SVD frame), with
    negative determinants among the rows: NumPy's sign and log |det| bit for bit (n <= 3),
    derivatives inv(A)^T (Jacobi's formula), Hessian against complex step of log(det) on
    rows of positive determinant. A singular row takes the general path (its -inf)."""
    x = np.random.default_rng(n).uniform(0.2, 1.2, (400, n * n)) + n * np.eye(n).ravel()
    x[::3, :n] *= -1.0                               # every third row: det < 0
    f = lambda rows: np.linalg.slogdet(rows.reshape(-1, n, n))[1]          # noqa: E731
    sign, logabs = np.linalg.slogdet(x.reshape(-1, n, n))
    assert (sign < 0).any() and (sign > 0).any()
    value, _ = dj.value_and_jacobian(lambda r: f(r[:3]), x)
    signs, _ = dj.value_and_jacobian(lambda r: np.linalg.slogdet(r[:3].reshape(-1, n, n))[0], x)
    np.testing.assert_array_equal(signs, sign[:3])
    if n <= 3:
        assert np.array_equal(value, logabs[:3])
    A = x.reshape(-1, n, n)
    np.testing.assert_allclose(dj.batch_jacobian(f, x),
                               np.swapaxes(np.linalg.inv(A), -1, -2).reshape(-1, n * n),
                               rtol=1e-11, atol=1e-12)
    H = dj.batch_hessian(f, x[:20])
    for row in (1, 8, 13):                           # rows not flipped: det > 0
        want = witness.witness_hessian(lambda r: np.log(np.linalg.det(r.reshape(n, n))), x[row])
        np.testing.assert_allclose(H[row], want, rtol=1e-6, atol=1e-7)
    singular = np.zeros((2, n * n))
    singular[1] = np.eye(n).ravel()
    with np.errstate(divide="ignore"):
        assert dj.value_and_jacobian(lambda r: f(r), singular)[0][0] == -np.inf


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("rhs", ["inverse", "vector", "matrix"])
def test_inv_and_solve_of_small_matrices(n, rhs):
    """inv / solve of n x n matrices (1 to 3: adjugate over det on the jets, NumPy's value
    bit for bit; 4: the iteration, whose value is LAPACK's solve with the derivative parts
    as further right-hand sides: NumPy's to rounding) with a dual right-hand side too;
    Jacobian and Hessian against complex step."""
    rng = np.random.default_rng(n)
    A = rng.uniform(0.2, 1.2, (2, n, n)) + n * np.eye(n)
    b = rng.uniform(size=(n,) if rhs == "vector" else (2, n, 2))
    z = np.concatenate([A.ravel(), b.ravel()])

    def f(z):
        a = z[:A.size].reshape(A.shape)
        if rhs == "inverse":
            return np.linalg.inv(a)
        return np.linalg.solve(a, z[A.size:].reshape(b.shape))

    value, J = dj.value_and_jacobian(f, z)
    if n <= 3:
        assert np.array_equal(value, f(z))
    np.testing.assert_allclose(value, f(z), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(J, witness.complex_step_jacobian(f, z), rtol=1e-12, atol=1e-13)
    first = lambda z: f(z).ravel()[-1]                                      # noqa: E731
    np.testing.assert_allclose(dj.hessian(first, z), witness.witness_hessian(first, z),
                               rtol=1e-6, atol=1e-7)


def test_inv_and_solve_of_singular_small_matrices_raise():
    """NumPy's LinAlgError, as on plain arrays."""
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError):
        dj.jacobian(np.linalg.inv, singular)
    with pytest.raises(np.linalg.LinAlgError):
        dj.jacobian(lambda a: np.linalg.solve(a, np.ones(2)), singular)


@pytest.mark.parametrize("f", [np.linalg.det, np.linalg.inv, np.linalg.cholesky,
                               lambda a: np.linalg.slogdet(a)[1],
                               lambda a: np.linalg.solve(a, B3)],
                         ids=["det", "inv", "cholesky", "slogdet", "solve"])
def test_values_are_numpys(f):
    """The value component is NumPy's own result on the values."""
    A = spd(2, 3, 3)
    value, _ = dj.value_and_jacobian(f, A)
    np.testing.assert_allclose(value, f(A), rtol=1e-14, atol=1e-15)


def test_mixed_levels_matrix_outer_rhs_inner():
    """A seen by the outer transform only, b by the inner one: the inner result is a
    HyperDualArray from a DualArray matrix. d2 x / dA_kl db_j = d inv(A)_ij / dA_kl."""
    Ai = np.linalg.inv(A33)
    want = -np.einsum("ik,lj->ijkl", Ai, Ai)
    H = dj.jacobian(lambda a: dj.jacobian(lambda b: np.linalg.solve(a, b), B3), A33)
    np.testing.assert_allclose(H, want, rtol=1e-12, atol=1e-14)
    H = dj.jacobian(lambda b: dj.jacobian(lambda a: np.linalg.solve(a, b), A33), B3)
    np.testing.assert_allclose(H, np.moveaxis(want, 1, -1), rtol=1e-12, atol=1e-14)
    E = np.outer(B3, B3)
    det_st = lambda s, t: np.linalg.det(A33 + s * E + t * W33)   # noqa: E731
    mixed = dj.jacobian(lambda s: dj.jacobian(lambda t: det_st(s, t), 0.0), 0.0)
    step = 1e-5
    fd = (complex_step_jacobian(lambda t: det_st(step, t), 0.0)
          - complex_step_jacobian(lambda t: det_st(-step, t), 0.0)) / (2 * step)
    np.testing.assert_allclose(mixed, fd, rtol=1e-7)


def test_cross_of_2_vectors_warns_as_numpy():
    x = dj.DualArray(np.array([1.0, 2.0]), np.eye(2))
    with pytest.warns(DeprecationWarning, match="2-dimensional vectors") as record:
        np.cross(x, x)
    assert record[0].filename == __file__   # reported at the caller's line, as NumPy's


def test_errors_are_numpys():
    singular = np.ones((3, 3))
    with pytest.raises(np.linalg.LinAlgError):
        dj.jacobian(np.linalg.inv, singular)
    with pytest.raises(np.linalg.LinAlgError):
        dj.jacobian(lambda a: np.linalg.solve(a, B3), singular)
    with pytest.raises(np.linalg.LinAlgError):
        dj.jacobian(np.linalg.cholesky, -np.eye(3))
    with pytest.raises(ValueError):
        dj.jacobian(lambda x: np.split(x, 4), randn(6))
    with pytest.raises(ValueError):
        dj.jacobian(lambda x: np.diag(x), randn(2, 2, 2))
    with pytest.raises(ValueError):
        dj.jacobian(lambda x: np.cross(x, x), randn(4))


# ------------------------------------------------------------------ refusals

def _jets(x):
    """The same values as a DualArray and as a HyperDualArray (inside dj.hessian)."""
    seen = []
    dj.hessian(lambda z: seen.append(z) or np.sum(z), x)
    return [dj.DualArray(x, np.eye(x.size).reshape(x.shape + (x.size,))), seen[0]]


def _pad_with_ones(vector, pad_width, iaxis, kwargs):
    vector[:pad_width[0]] = 1.0


REFUSED = {
    "np.interp with a dual xp": lambda x: np.interp(0.5, x, [0.0, 1.0, 2.0]),
    "np.interp with a dual fp": lambda x: np.interp(0.5, [0.0, 1.0, 2.0], x),
    "np.interp with a dual left": lambda x: np.interp(x, [0.0, 1.0], [0.0, 2.0], left=x[0]),
    "np.pad(mode=<callable>)": lambda x: np.pad(x, 1, mode=_pad_with_ones),
    "np.pad with dual constant_values": lambda x: np.pad(x, 1, constant_values=x[0]),
    "np.polyval with np.poly1d": lambda x: np.polyval(np.poly1d([1.0, 2.0]), x),
}


@pytest.mark.parametrize("kind", ["dual", "hyper"])
@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_calls_name_themselves(name, kind):
    x = _jets(np.array([0.3, 0.5, 0.7]))[kind == "hyper"]
    with pytest.raises(TypeError) as info:
        REFUSED[name](x)
    message = str(info.value)
    assert "dualjac" in message and name.split(" with")[0].split("(")[0] in message, message
    if "mode=" in name:
        assert name.split("=")[1].rstrip(")") in message, message


@pytest.mark.parametrize("kind", ["dual", "hyper"])
def test_jet_types_and_levels_are_kept(kind):
    x = _jets(np.array([0.3, 0.5, 0.7]))[kind == "hyper"]
    A = np.reshape(np.concatenate([x, x ** 2, x ** 3]), (3, 3)) + 2 * np.eye(3)
    for result in (np.linalg.det(A), np.linalg.inv(A), np.linalg.solve(A, x),
                   np.linalg.cholesky(A @ A.T), np.sort(x), np.cumprod(x), np.diff(x),
                   np.pad(x, 1), np.interp(x, [0.0, 1.0], [1.0, 3.0]), np.polyval(x, x),
                   np.median(x), np.cross(x, x ** 2), np.diag(x)):
        assert type(result) is type(x.densify() if isinstance(x, dj.BandedJet) else x)
