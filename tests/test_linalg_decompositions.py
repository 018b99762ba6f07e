"""Matrix decompositions on jets (dualjac/dispatch/decompositions.py) against outside witnesses.

NumPy's complex decompositions conjugate, so complex step does not apply; the witnesses are
central differences of NumPy's own results (signs of vectors aligned to a fixed row, so the
differenced function is smooth) at first and second order, and identities that hold without
any formula of ours: reconstructions (U diag(s) Vt, Q R, V diag(l) V^T give back A: Jacobian
the identity map, Hessian zero), orthogonality (Q^T Q has Hessian zero), invariants (sum of
eigenvalues = trace, product = det, sum of s^2 = Frobenius^2, d nuclear norm = U V^T).
"""

import numpy as np
import pytest

import dualjac as dj
from witness import central_difference_jacobian

pytestmark = pytest.mark.jet_kinds("default", "banded")

RNG = np.random.default_rng(19)
TALL = RNG.standard_normal((4, 3))
SQUARE = RNG.standard_normal((3, 3)) + np.diag([3.0, 0.0, -3.0])    # real, distinct eigenvalues
SYM = TALL[:3] + TALL[:3].T
B4 = RNG.standard_normal(4)
B42 = RNG.standard_normal((4, 2))


def aligned(V):
    """Columns with a positive first row: NumPy's sign choice, made smooth for differencing."""
    return V * np.sign(V[..., :1, :])


def by_value(w, V):
    order = np.argsort(w)
    return w[order], V[:, order]


def fd_hessian(g, x):
    """Central differences of the central-difference gradient of sum(sin(g))."""
    scalar = lambda z: np.sum(np.sin(g(z)))
    return central_difference_jacobian(lambda z: central_difference_jacobian(scalar, z, 1e-5),
                                       x, 1e-4)


CASES = {
    "eigh_values": (lambda a: np.linalg.eigh(a)[0], SYM),
    "eigh_vectors": (lambda a: aligned(np.linalg.eigh(a).eigenvectors), SYM),
    "eigh_upper": (lambda a: np.linalg.eigh(a, UPLO="U")[0], TALL[:3]),
    "eigvalsh": (np.linalg.eigvalsh, TALL[:3]),
    "eig_values": (lambda a: np.sort(np.linalg.eig(a)[0]), SQUARE),
    "eig_vectors": (lambda a: aligned(by_value(*np.linalg.eig(a))[1]), SQUARE),
    "eigvals": (lambda a: np.sort(np.linalg.eigvals(a)), SQUARE),
    "svd_values": (lambda a: np.linalg.svd(a)[1], TALL),
    "svd_u_thin": (lambda a: aligned(np.linalg.svd(a, full_matrices=False)[0]), TALL),
    "svd_vt": (lambda a: aligned(np.linalg.svd(a)[2].T), TALL),
    "svd_wide_u": (lambda a: aligned(np.linalg.svd(a)[0]), TALL.T),
    "svd_wide_vt_thin": (lambda a: aligned(np.linalg.svd(a, full_matrices=False)[2].T), TALL.T),
    "svd_u_full": (lambda a: np.linalg.svd(a)[0][:, 3:] * np.sign(np.linalg.svd(a)[0][0, 3]), TALL),
    "svdvals": (np.linalg.svdvals, TALL.T),
    "svd_no_uv": (lambda a: np.linalg.svd(a, compute_uv=False), SQUARE),
    "qr_q": (lambda a: np.linalg.qr(a)[0], TALL),
    "qr_r": (lambda a: np.linalg.qr(a).R, TALL),
    "qr_complete_q": (lambda a: np.linalg.qr(a, "complete")[0], TALL),
    "qr_wide_r": (lambda a: np.linalg.qr(a, "r"), TALL.T),
    "pinv_tall": (np.linalg.pinv, TALL),
    "pinv_wide": (np.linalg.pinv, TALL.T),
    "pinv_hermitian": (lambda a: np.linalg.pinv(a, hermitian=True), SYM),
    "lstsq_x": (lambda a: np.linalg.lstsq(a, B4)[0], TALL),
    "lstsq_residuals": (lambda a: np.linalg.lstsq(a, B42)[1], TALL),
    "lstsq_dual_rhs": (lambda b: np.linalg.lstsq(TALL, b)[0], B42),
    "lstsq_underdetermined": (lambda a: np.linalg.lstsq(a, B4[:3])[0], TALL.T),
    "norm_2": (lambda a: np.linalg.norm(a, 2), TALL),
    "norm_minus_2": (lambda a: np.linalg.norm(a, -2, axis=(1, 0)), TALL),
    "norm_nuc": (lambda a: np.linalg.norm(a, "nuc"), TALL),
    "cond": (np.linalg.cond, SQUARE),
    "cond_fro": (lambda a: np.linalg.cond(a, "fro"), SQUARE),
    "matrix_power_3": (lambda a: np.linalg.matrix_power(a, 3), SQUARE),
    "matrix_power_minus_2": (lambda a: np.linalg.matrix_power(a, -2), SQUARE),
    "multi_dot": (lambda a: np.linalg.multi_dot([a[0], a, a.T, a[:, 1]]), SQUARE),
}


@pytest.mark.parametrize("name", list(CASES))
def test_first_and_second_order_against_differences_of_numpy(name):
    g, x = CASES[name]
    value, J = dj.value_and_jacobian(g, x)
    np.testing.assert_allclose(value, g(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J, central_difference_jacobian(g, x), atol=2e-8 * max(1, np.abs(J).max()))
    H = dj.hessian(lambda z: np.sum(np.sin(g(z))), x)
    np.testing.assert_allclose(H, fd_hessian(g, x), atol=2e-5 * max(1, np.abs(H).max()))


# ---------------------------------------------------------------- identities

IDENTITIES = {
    "svd": (lambda a: (lambda u, s, vt: (u * s[..., None, :]) @ vt)(*np.linalg.svd(a, full_matrices=False)), TALL),
    "svd_wide": (lambda a: (lambda u, s, vt: (u * s[..., None, :]) @ vt)(*np.linalg.svd(a, full_matrices=False)), TALL.T),
    "qr": (lambda a: np.matmul(*np.linalg.qr(a)), TALL),
    "qr_complete": (lambda a: np.matmul(*np.linalg.qr(a, "complete")), TALL),
    "eigh": (lambda a: (lambda l, v: (v * l[..., None, :]) @ v.T)(*np.linalg.eigh(a + a.T)) - a.T, SYM),
    "eig": (lambda a: (lambda w, v: (v * w[..., None, :]) @ np.linalg.inv(v))(*np.linalg.eig(a)), SQUARE),
    "pinv_pinv": (lambda a: np.linalg.pinv(np.linalg.pinv(a)), TALL),
}


@pytest.mark.parametrize("name", list(IDENTITIES))
def test_reconstruction_is_the_identity_map(name):
    g, x = IDENTITIES[name]
    J = dj.jacobian(g, x)
    np.testing.assert_allclose(J, np.eye(x.size).reshape(x.shape + x.shape), atol=1e-12)
    H = dj.hessian(lambda z: np.sum(g(z) * np.arange(1.0, 1 + z.size).reshape(z.shape)), x)
    np.testing.assert_allclose(H, 0, atol=1e-11)


@pytest.mark.parametrize("factor", [
    lambda a: np.linalg.qr(a)[0], lambda a: np.linalg.qr(a, "complete")[0],
    lambda a: np.linalg.svd(a)[0], lambda a: np.linalg.svd(a)[2],
    lambda a: np.linalg.eigh(a @ a.T)[1]], ids=["qr", "qr_complete", "svd_u_full", "svd_vt", "eigh"])
def test_orthogonal_factors_stay_orthogonal_to_second_order(factor):
    k = factor(TALL).shape[-1]
    weights = RNG.standard_normal((k, k))
    gram = lambda a: np.sum((np.swapaxes(factor(a), -1, -2) @ factor(a)) * weights)
    np.testing.assert_allclose(dj.jacobian(gram, TALL), 0, atol=1e-12)
    np.testing.assert_allclose(dj.hessian(gram, TALL), 0, atol=1e-11)


def test_spectral_invariants():
    x = SQUARE
    J = dj.jacobian(lambda a: np.sum(np.linalg.eigvals(a)), x)
    np.testing.assert_allclose(J, np.eye(3), atol=1e-12)                 # d trace
    H = dj.hessian(lambda a: np.prod(np.linalg.eigvals(a)) - np.linalg.det(a), x)
    np.testing.assert_allclose(H, 0, atol=1e-10)                          # product = det
    H = dj.hessian(lambda a: np.sum(np.linalg.svdvals(a) ** 2) - np.sum(a * a), TALL)
    np.testing.assert_allclose(H, 0, atol=1e-11)                          # Frobenius^2
    u, s, vt = np.linalg.svd(TALL, full_matrices=False)
    np.testing.assert_allclose(dj.jacobian(lambda a: np.linalg.norm(a, "nuc"), TALL), u @ vt,
                               atol=1e-12)


def test_batched_stacks_match_each_matrix():
    stack = RNG.standard_normal((2, 4, 3))
    fns = [lambda a: np.linalg.svd(a)[1], lambda a: aligned(np.linalg.qr(a)[0]),
           lambda a: np.linalg.eigvalsh(np.swapaxes(a, -1, -2) @ a),
           lambda a: np.linalg.pinv(a), lambda a: np.linalg.norm(a, 2, axis=(-2, -1))]
    for g in fns:
        J = dj.jacobian(g, stack)
        for k in range(2):
            Jk = dj.jacobian(g, stack[k])
            np.testing.assert_allclose(J[k][..., k, :, :], Jk, atol=1e-12)
            np.testing.assert_allclose(J[k][..., 1 - k, :, :], 0, atol=0)


def test_float32_keeps_its_dtype():
    x = TALL.astype(np.float32)
    for g in (lambda a: np.linalg.svd(a)[1], lambda a: np.linalg.qr(a)[1],
              lambda a: np.linalg.eigh(a.T @ a)[0], np.linalg.pinv):
        J = dj.jacobian(g, x)
        assert J.dtype == np.float32
        np.testing.assert_allclose(J, dj.jacobian(g, TALL), rtol=1e-3, atol=1e-3)


def test_matrix_rank_is_numpy_count():
    assert dj.jacobian(lambda a: a * np.linalg.matrix_rank(a), TALL)[0, 0, 0, 0] == 3


# ---------------------------------------------------------------- where there is no derivative

def test_repeated_eigenvalues_that_do_not_split_keep_their_derivative():
    g = lambda z: np.linalg.eigvalsh(np.eye(3) * z[0] + np.diag([1.0, 1.0, 2.0]) * z[1])
    np.testing.assert_allclose(dj.jacobian(g, np.ones(2)), [[1, 1], [1, 1], [1, 2]], atol=1e-12)
    np.testing.assert_allclose(dj.hessian(lambda z: np.sum(g(z) ** 2), np.ones(2)),
                               [[6, 8], [8, 12]], atol=1e-11)


def test_nuclear_norm_is_smooth_at_repeated_singular_values():
    Q = np.linalg.qr(RNG.standard_normal((3, 3)))[0] * 2
    g = lambda a: np.linalg.norm(a, "nuc")
    np.testing.assert_allclose(dj.jacobian(g, Q), Q / 2, atol=1e-12)          # U V^T
    witness = central_difference_jacobian(lambda z: central_difference_jacobian(g, z, 1e-5), Q, 1e-4)
    np.testing.assert_allclose(dj.hessian(g, Q), witness, atol=1e-5)


@pytest.mark.parametrize("call, match", [
    (lambda z: np.linalg.eigvalsh(np.diag(z)), "eigvalsh: eigenvalues .* splits"),
    (lambda z: np.linalg.eigh(np.diag(z))[0], "eigh: eigenvalues .* not unique"),
    (lambda z: np.linalg.svd(np.diag(z))[1], "svd: singular values .* not unique"),
    (lambda z: np.linalg.svdvals(np.diag(z)), "svdvals: singular values .* splits"),
    (lambda z: np.linalg.norm(np.diag(z), 2), "norm.*singular values .* splits"),
    (lambda z: np.linalg.eig(np.diag(z))[1], "eig: eigenvalues .* not unique"),
    (lambda z: np.linalg.qr(np.outer(z, z)), "qr: .* dependent"),
    (lambda z: np.linalg.pinv(np.outer(z, z)), "pinv: .* rank deficient"),
    (lambda z: np.linalg.lstsq(np.outer(z, z), z)[0], "lstsq: .* rank deficient"),
    (lambda z: np.linalg.eigvals(np.array([[0, 1], [-1, 0]]) * z[0]), "complex eigenvalues"),
    (lambda z: np.linalg.svd(np.outer(z, z)[:, :2], full_matrices=False)[0], "zero singular value"),
])
def test_no_derivative_raises_a_value_error_naming_the_function(call, match):
    with pytest.raises(ValueError, match=match):
        dj.jacobian(call, np.array([2.0, 2.0, 1.0]))


def test_unsupported_arguments_raise():
    with pytest.raises(TypeError, match="mode='raw'"):
        dj.jacobian(lambda a: np.linalg.qr(a, "raw")[0], TALL)
    with pytest.raises(TypeError, match="hermitian=True"):
        dj.jacobian(lambda a: np.linalg.svd(a, hermitian=True)[1], SYM)
    with pytest.raises(TypeError, match="integer"):
        dj.jacobian(lambda a: np.linalg.matrix_power(a, 1.5), SQUARE)
