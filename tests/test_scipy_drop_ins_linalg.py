"""dualjac.scipy.linalg: SciPy's values on plain input, exact first and second derivatives
on jets.

Witnesses: complex step through SciPy itself where SciPy's function is analytic on complex
input (expm, the LU family, triangular, general and banded solves, inv, det); central
differences of SciPy's results otherwise (Cholesky is A = L L^H on complex input); and the
defining identities to second order (L L^T = A, P L U = A, sqrtm(A)^2 = A,
d/dt expm(tA) = A expm(tA)).
"""

import numpy as np
import pytest
import scipy.linalg as sl

import dualjac as dj
from dualjac.scipy import linalg
from witness import central_difference_jacobian, complex_step_jacobian, witness_hessian, witness_jacobian

pytestmark = pytest.mark.jet_kinds("default", "banded")

RNG = np.random.default_rng(19)
A = RNG.normal(size=(3, 3))
WELL = A + 4 * np.eye(3)                  # well conditioned, no pivoting surprises
SPD = A @ A.T + np.eye(3)                 # symmetric positive definite
B = RNG.normal(size=3)
B2 = RNG.normal(size=(3, 2))


def weights(shape):
    """Distinct weights, so a Hessian of the weighted sum sees every output element."""
    return np.arange(1.0, np.prod(shape, dtype=int) + 1).reshape(shape) / 7.0


def check_first_and_second(ours, scipys, x, method, rtol1=1e-9, rtol2=1e-6):
    """dj.jacobian(ours) against the witness Jacobian of SciPy's function, and dj.hessian of
    a weighted sum against central differences of that witness Jacobian."""
    expected = scipys(x)
    J = dj.jacobian(ours, x)
    np.testing.assert_allclose(J, witness_jacobian(scipys, x, method), rtol=rtol1, atol=rtol1)
    w = weights(np.shape(expected))
    H = dj.hessian(lambda z: np.sum(ours(z) * w), x)
    H_witness = witness_hessian(lambda z: np.sum(scipys(z) * w), x, method)
    np.testing.assert_allclose(H, H_witness, rtol=rtol2, atol=rtol2 * np.max(np.abs(H_witness)))


# ---------------------------------------------------------------- plain input is SciPy

PLAIN_CALLS = [
    ("expm", (A,), {}), ("sqrtm", (SPD,), {}), ("inv", (WELL,), {}), ("det", (WELL,), {}),
    ("solve_triangular", (WELL, B), {"lower": True, "trans": 1}),
    ("lu", (WELL,), {"permute_l": True}), ("lu_factor", (A,), {}),
    ("cholesky", (SPD,), {"lower": True}), ("cho_factor", (SPD,), {}),
    ("solve", (SPD, B2), {"assume_a": "pos"}),
    ("solve_banded", ((1, 1), RNG.normal(size=(3, 4)) + [[0], [5], [0]], RNG.normal(size=4)), {}),
]


@pytest.mark.parametrize("name, args, kwargs", PLAIN_CALLS, ids=[c[0] for c in PLAIN_CALLS])
def test_plain_input_gives_scipys_result(name, args, kwargs):
    ours, theirs = getattr(linalg, name)(*args, **kwargs), getattr(sl, name)(*args, **kwargs)
    for got, want in zip(ours if isinstance(ours, tuple) else (ours,),
                         theirs if isinstance(theirs, tuple) else (theirs,)):
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- expm

@pytest.mark.parametrize("scale", [0.01, 1.0, 6.0], ids=["pade3", "pade9", "squared"])
def test_expm_against_complex_step(scale):
    check_first_and_second(linalg.expm, sl.expm, scale * A, "cs", rtol1=1e-11, rtol2=1e-6)


def test_expm_along_a_line_is_a_times_expm():
    """d/dt expm(tA) = A expm(tA), d^2/dt^2 = A^2 expm(tA), exactly."""
    t = np.array(0.7)
    E = sl.expm(0.7 * A)
    np.testing.assert_allclose(dj.jacobian(lambda s: linalg.expm(s * A), t), A @ E, rtol=1e-12)
    H = dj.hessian(lambda s: np.sum(linalg.expm(s * A) * weights(A.shape)), t)
    np.testing.assert_allclose(H, np.sum(A @ A @ E * weights(A.shape)), rtol=1e-11)


def test_expm_of_a_stack_matches_each_matrix():
    stack = np.stack([0.5 * A, 2.0 * A.T])
    J = dj.jacobian(linalg.expm, stack)
    W = complex_step_jacobian(sl.expm, stack)
    np.testing.assert_allclose(J, W, rtol=1e-11, atol=1e-11)
    np.testing.assert_array_equal(linalg.expm(dj.DualArray(stack, np.ones(stack.shape + (1,)))).value,
                                  sl.expm(stack))


# ---------------------------------------------------------------- triangular and LU

TRIANGULAR_FLAGS = [{}, {"trans": "T", "lower": True}, {"unit_diagonal": True},
                    {"lower": True, "unit_diagonal": True, "trans": 2}]


@pytest.mark.parametrize("flags", TRIANGULAR_FLAGS, ids=str)
def test_solve_triangular_in_the_matrix(flags):
    method = "fd" if flags.get("trans") == 2 else "cs"     # 2 conjugates: not analytic
    check_first_and_second(lambda a: linalg.solve_triangular(a, B2, **flags),
                           lambda a: sl.solve_triangular(a, B2, **flags), WELL, method,
                           rtol1=1e-8, rtol2=1e-5)


@pytest.mark.parametrize("flags", TRIANGULAR_FLAGS[:3], ids=str)
def test_solve_triangular_in_the_right_hand_side_and_both(flags):
    check_first_and_second(lambda b: linalg.solve_triangular(WELL, b, **flags),
                           lambda b: sl.solve_triangular(WELL, b, **flags), B, "cs")
    packed = np.concatenate([WELL.ravel(), B])
    check_first_and_second(lambda z: linalg.solve_triangular(z[:9].reshape(3, 3), z[9:], **flags),
                           lambda z: sl.solve_triangular(z[:9].reshape(3, 3), z[9:], **flags),
                           packed, "cs")


@pytest.mark.parametrize("part", ["l", "u", "permuted_l", "lu_factor"])
def test_lu_factors_against_complex_step(part):
    pick = {"l": lambda lu, a: lu(a)[1], "u": lambda lu, a: lu(a)[2],
            "permuted_l": lambda lu, a: lu(a, permute_l=True)[0]}
    if part == "lu_factor":
        ours, theirs = (lambda a: linalg.lu_factor(a)[0]), (lambda a: sl.lu_factor(a)[0])
    else:
        ours, theirs = (lambda a: pick[part](linalg.lu, a)), (lambda a: pick[part](sl.lu, a))
    check_first_and_second(ours, theirs, A, "cs")


def test_lu_reassembles_the_matrix_to_second_order():
    """P L U = A: the derivatives of P L U are those of A (Jacobian I, Hessian 0), L stays
    unit lower triangular and U upper triangular in every derivative component."""
    def reassembled(a):
        P, L, U = linalg.lu(a)
        return P @ L @ U
    np.testing.assert_allclose(dj.jacobian(reassembled, A), np.eye(9).reshape(3, 3, 3, 3), atol=1e-13)
    np.testing.assert_allclose(dj.hessian(lambda a: np.sum(reassembled(a) * weights((3, 3))), A), 0, atol=1e-12)
    J_L, J_U = dj.jacobian(lambda a: linalg.lu(a)[1], A), dj.jacobian(lambda a: linalg.lu(a)[2], A)
    assert np.all(J_L[np.triu_indices(3)] == 0) and np.all(J_U[np.tril_indices(3, -1)] == 0)
    p, l, u = linalg.lu(dj.DualArray(A, np.ones(A.shape + (1,))), p_indices=True)
    np.testing.assert_array_equal(p, sl.lu(A, p_indices=True)[0])
    np.testing.assert_allclose((l[p] @ u).value, A, atol=1e-14)


@pytest.mark.parametrize("trans", [0, 1])
def test_lu_solve_in_the_matrix_and_the_right_hand_side(trans):
    check_first_and_second(lambda a: linalg.lu_solve(linalg.lu_factor(a), B2, trans=trans),
                           lambda a: sl.lu_solve(sl.lu_factor(a), B2, trans=trans), A, "cs")
    lu_piv = sl.lu_factor(A)
    check_first_and_second(lambda b: linalg.lu_solve(lu_piv, b, trans=trans),
                           lambda b: sl.lu_solve(lu_piv, b, trans=trans), B, "cs")


# ---------------------------------------------------------------- Cholesky

@pytest.mark.parametrize("lower", [False, True])
def test_cholesky_reads_one_triangle_and_reassembles(lower):
    """Central differences of SciPy's factor (which reads one triangle: a perturbation of the
    other does nothing); L L^T = A to second order on symmetric perturbations."""
    check_first_and_second(lambda a: linalg.cholesky(a, lower=lower),
                           lambda a: sl.cholesky(a, lower=lower), SPD, "fd", rtol1=1e-8, rtol2=1e-5)
    factor = (lambda s: linalg.cholesky(s + s.T, lower=lower))
    product = (lambda s: factor(s) @ factor(s).T) if lower else (lambda s: factor(s).T @ factor(s))
    half = SPD / 2
    np.testing.assert_allclose(dj.jacobian(product, half), dj.jacobian(lambda s: s + s.T, half), atol=1e-12)
    np.testing.assert_allclose(dj.hessian(lambda s: np.sum(product(s) * weights((3, 3))), half), 0, atol=1e-11)


@pytest.mark.parametrize("lower", [False, True])
def test_cho_factor_and_cho_solve(lower):
    check_first_and_second(lambda a: linalg.cho_factor(a, lower=lower)[0],
                           lambda a: sl.cho_factor(a, lower=lower)[0], SPD, "fd", rtol1=1e-8, rtol2=1e-5)
    assert linalg.cho_factor(dj.DualArray(SPD, np.ones((3, 3, 1))), lower=lower)[1] is lower
    # the solution solves the system, to second order, whatever perturbs A and b
    packed = np.concatenate([SPD.ravel(), B])

    def residual(z):
        a = z[:9].reshape(3, 3)
        a = (a + a.T) / 2                        # both triangles carry the same entries
        return a @ linalg.cho_solve(linalg.cho_factor(a, lower=lower), z[9:]) - z[9:]
    np.testing.assert_allclose(dj.jacobian(residual, packed), 0, atol=1e-12)
    np.testing.assert_allclose(dj.hessian(lambda z: np.sum(residual(z) * weights(3)), packed), 0, atol=1e-11)


# ---------------------------------------------------------------- general and banded solves

@pytest.mark.parametrize("assume_a", [None, "sym", "pos", "diagonal", "tridiagonal", "lower triangular"])
def test_solve_reads_what_the_assumed_structure_reads(assume_a):
    """Complex step where SciPy's solver is analytic; the symmetric ones are A = L L^H or
    Bunch-Kaufman on complex input, so central differences there."""
    matrix = SPD if assume_a in ("sym", "pos") else WELL
    method = "fd" if assume_a in ("sym", "pos") else "cs"
    check_first_and_second(lambda a: linalg.solve(a, B, assume_a=assume_a, lower=True),
                           lambda a: sl.solve(a, B, assume_a=assume_a, lower=True), matrix, method,
                           rtol1=1e-8, rtol2=1e-5)


def test_solve_transposed_and_with_a_dual_right_hand_side():
    check_first_and_second(lambda a: linalg.solve(a, B2, transposed=True),   # no complex a^T solve
                           lambda a: sl.solve(a, B2, transposed=True), WELL, "fd", rtol1=1e-8, rtol2=1e-5)
    check_first_and_second(lambda b: linalg.solve(WELL, b), lambda b: sl.solve(WELL, b), B2, "cs")


def test_inv_and_det_delegate_to_the_numpy_rules():
    check_first_and_second(linalg.inv, sl.inv, WELL, "cs")
    check_first_and_second(linalg.det, sl.det, A, "cs")


@pytest.mark.parametrize("l_and_u", [(1, 1), (2, 0), (0, 2)])
def test_solve_banded(l_and_u):
    l, u = l_and_u
    ab = RNG.normal(size=(l + u + 1, 5))
    ab[u] += 6.0                                  # a strong main diagonal
    b = RNG.normal(size=(5, 2))
    check_first_and_second(lambda m: linalg.solve_banded(l_and_u, m, b),
                           lambda m: sl.solve_banded(l_and_u, m, b), ab, "cs")
    check_first_and_second(lambda v: linalg.solve_banded(l_and_u, ab, v),
                           lambda v: sl.solve_banded(l_and_u, ab, v), b[:, 0], "cs")


# ---------------------------------------------------------------- sqrtm

@pytest.mark.parametrize("matrix", [SPD, A @ A + 2 * np.eye(3)], ids=["spd", "nonsymmetric"])
def test_sqrtm_squares_to_the_matrix_to_second_order(matrix):
    square = (lambda a: linalg.sqrtm(a) @ linalg.sqrtm(a))
    np.testing.assert_allclose(dj.jacobian(square, matrix), np.eye(9).reshape(3, 3, 3, 3), atol=1e-12)
    np.testing.assert_allclose(dj.hessian(lambda a: np.sum(square(a) * weights((3, 3))), matrix), 0, atol=1e-10)
    np.testing.assert_allclose(dj.jacobian(linalg.sqrtm, matrix),
                               central_difference_jacobian(sl.sqrtm, matrix), rtol=1e-7, atol=1e-8)


def test_sqrtm_of_a_scalar_multiple_of_the_identity():
    """sqrtm(t I) = sqrt(t) I: first and second derivatives 1 / (2 sqrt t), -1 / (4 t^1.5)."""
    t = np.array(2.5)
    J = dj.jacobian(lambda s: linalg.sqrtm(s * np.eye(2)), t)
    np.testing.assert_allclose(J, np.eye(2) / (2 * np.sqrt(2.5)), rtol=1e-13)
    H = dj.hessian(lambda s: linalg.sqrtm(s * np.eye(2))[0, 0], t)
    np.testing.assert_allclose(H, -0.25 * 2.5 ** -1.5, rtol=1e-12)


# ---------------------------------------------------------------- errors

def dual(value):
    return dj.DualArray(value, np.ones(np.shape(value) + (1,)))


def test_arguments_without_a_rule_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="square root of this matrix is complex"):
        linalg.sqrtm(dual(-np.eye(2)))
    with pytest.raises(TypeError, match="no options on jets"):
        linalg.sqrtm(dual(SPD), blocksize=2)
    with pytest.raises(ValueError, match="square and 2-D"):
        linalg.lu(dual(np.ones((2, 3))))
    with pytest.raises(ValueError, match="trans must be"):
        linalg.solve_triangular(dual(WELL), B, trans="X")
    with pytest.raises(ValueError, match="assume_a='banana'"):
        linalg.solve(dual(WELL), B, assume_a="banana")
    with pytest.raises(ValueError, match="square matrix"):
        linalg.expm(dual(np.ones((2, 3))))
