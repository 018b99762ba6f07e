"""More NumPy functions on jets (dualjac/dispatch/: compositions, grids, calculus, signal,
rearranging, statistics; einsum's sublist form; the conjugate and logaddexp2 rows).

Witnesses: the complex-step Jacobian of the same NumPy call on complex128 input, or of a
holomorphic formula where NumPy conjugates (correlate, cov, corrcoef); central differences
where the function is piecewise (partition, ptp, nan_to_num); analytic values for steps and
for sinc at 0. Second order: dj.hessian of sum(c * f(x) ** 2) against central differences of
the witness Jacobian. Values are NumPy's own (bit for bit where the arithmetic is NumPy's);
the argument errors are NumPy's.
"""

import warnings

import numpy as np
import pytest

import dualjac as dj
from function_cases import (case_jacobian, check_batched_rows, check_case_hessian,
                            check_numpys_error, distinct_points)
from witness import central_difference_jacobian, complex_step_jacobian

pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

RNG = np.random.default_rng(20261205)
COORDS = np.array([0.0, 0.1, 0.35, 0.6, 1.0, 1.5])
MASK = np.array([True, False, True, True, False, False])


def conj_free_correlate(a, v, mode):
    """sum_n a[n + k] v[n]: np.correlate without its conjugation (holomorphic)."""
    return np.correlate(a, np.conj(v), mode)


def covariance(X, ddof=1):
    Xc = X - X.mean(axis=1, keepdims=True)
    return Xc @ Xc.T / (X.shape[1] - ddof)


def correlation(X):
    c = covariance(X)
    d = np.sqrt(np.diagonal(c))
    return c / d[:, None] / d[None, :]


# name -> (f on a source of 6 elements, witness: "cs", "fd" or a holomorphic formula, exact)
# `exact`: dualjac's values are NumPy's to the bit (False: the same sum in another order, or
# powers whose banded kernels may round differently in the last bit).
CASES = {
    "kron": (lambda z: np.kron(z[:2], z.reshape(2, 3)), "cs", True),
    "kron_3d": (lambda z: np.kron(z.reshape(1, 2, 3), z[:2].reshape(2, 1)), "cs", True),
    "linspace": (lambda z: np.linspace(z[0], z[1], 5), "cs", True),
    "linspace_arrays_axis": (lambda z: np.linspace(z[:2], z[2:4], 4, endpoint=False, axis=1),
                             "cs", True),
    "linspace_plain_stop": (lambda z: np.linspace(z[0], 3.0, 3), "cs", True),
    "linspace_retstep": (lambda z: np.linspace(z[0], z[5], 7, retstep=True)[1], "cs", True),
    "linspace_one": (lambda z: np.linspace(z[0], z[1], 1), "cs", True),
    "logspace": (lambda z: np.logspace(z[0], z[1], 4, base=2.0), "cs", False),
    "geomspace": (lambda z: np.geomspace(z[0], z[1] + 2, 5),
                  lambda z: np.exp(np.linspace(np.log(z[0]), np.log(z[1] + 2), 5)), False),
    "geomspace_negative": (lambda z: np.geomspace(-z[0], -z[1], 3, endpoint=False),
                           lambda z: -np.exp(np.linspace(np.log(z[0]), np.log(z[1]), 3,
                                                         endpoint=False)), False),
    "gradient": (lambda z: np.gradient(z), "cs", True),
    "gradient_step_edge2": (lambda z: np.gradient(z, 0.3, edge_order=2), "cs", True),
    "gradient_coordinates": (lambda z: np.gradient(z, COORDS), "cs", True),
    "gradient_coordinates_edge2": (lambda z: np.gradient(z, COORDS, edge_order=2), "cs", True),
    "gradient_2d": (lambda z: np.stack(np.gradient(z.reshape(2, 3), 0.5, [0., 1., 3.])),
                    "cs", True),
    "gradient_axis": (lambda z: np.gradient(z.reshape(2, 3), axis=-1, edge_order=2), "cs", True),
    "gradient_dual_coordinates": (lambda z: np.gradient(np.sin(COORDS), np.cumsum(z)),
                                  lambda z: np.gradient(np.sin(COORDS) + 0j, np.cumsum(z)),
                                  False),
    "trapezoid": (lambda z: np.trapezoid(z), "cs", True),
    "trapezoid_dx_axis": (lambda z: np.trapezoid(z.reshape(2, 3), dx=0.2, axis=0), "cs", True),
    "trapezoid_dual_x": (lambda z: np.trapezoid(z ** 2, np.cumsum(z)), "cs", True),
    "trapezoid_x_2d": (lambda z: np.trapezoid(z.reshape(2, 3), z.reshape(2, 3) ** 2), "cs", True),
    "partition": (lambda z: np.partition(z, 2), "fd", True),
    "partition_axis_none": (lambda z: np.partition(z.reshape(2, 3), (1, 4), axis=None), "fd", True),
    "insert": (lambda z: np.insert(z, [1, 3], z[:2] ** 2), "cs", True),
    "insert_axis": (lambda z: np.insert(z.reshape(2, 3), 1, 5.0, axis=1), "cs", True),
    "insert_into_plain": (lambda z: np.insert(np.ones((2, 2)), 1, z[:2], axis=0),
                          lambda z: np.insert(np.ones((2, 2), complex), 1, z[:2], axis=0), True),
    "delete": (lambda z: np.delete(z, [0, 2]), "cs", True),
    "delete_axis": (lambda z: np.delete(z.reshape(2, 3), 1, axis=1), "cs", True),
    "resize": (lambda z: np.resize(z, (3, 5)), "cs", True),
    "einsum_sublist": (lambda z: np.einsum(z.reshape(2, 3), [0, 1], z.reshape(3, 2), [1, 2],
                                           [0, 2]), "cs", False),
    "einsum_sublist_implicit": (lambda z: np.einsum(z.reshape(2, 3), [Ellipsis, 1], z[:3], [1]),
                                "cs", False),
    "convolve": (lambda z: np.convolve(z, z[:3] ** 2), "cs", False),
    "convolve_same": (lambda z: np.convolve(z[:2], z, "same"), "cs", False),
    "convolve_valid": (lambda z: np.convolve(z[:4], np.cos(z[4:]), "valid"), "cs", False),
    "convolve_plain_kernel": (lambda z: np.convolve([1.0, -2.0, 1.0], z, "same"), "cs", False),
    "correlate": (lambda z: np.correlate(z, z[:2]),
                  lambda z: conj_free_correlate(z, z[:2], "valid"), False),
    "correlate_full": (lambda z: np.correlate(z[:2], z, "full"),
                       lambda z: conj_free_correlate(z[:2], z, "full"), False),
    "correlate_same": (lambda z: np.correlate(z[:4], z[1:], "same"),
                       lambda z: conj_free_correlate(z[:4], z[1:], "same"), False),
    "sinc": (lambda z: np.sinc(z), "cs", True),
    "sinc_near_zero": (lambda z: np.sinc(z * 1e-3), "cs", True),
    "real": (lambda z: np.real(z) * z, lambda z: z * z, True),
    "conj": (lambda z: np.conj(z) * np.conjugate(z[::-1]), lambda z: z * z[::-1], True),
    "vander": (lambda z: np.vander(z[:3]), "cs", True),
    "vander_increasing_N": (lambda z: np.vander(z[:2], 4, increasing=True), "cs", True),
    "meshgrid": (lambda z: np.stack(np.meshgrid(z[:2], z[2:5])), "cs", True),
    "meshgrid_ij_sparse": (lambda z: np.meshgrid(z[:2], z[2:5], indexing="ij", sparse=True)[1],
                           "cs", True),
    "choose": (lambda z: np.choose([0, 1, 0], [z[:3], z[3:]]), "cs", True),
    "choose_broadcast": (lambda z: np.choose([[0, 1, 2], [2, 1, 0]], [z[:3], z[3], 1.0]),
                         "cs", True),
    "piecewise": (lambda z: np.piecewise(z, [MASK], [lambda t: t ** 2, lambda t: 2 * t]),
                  "cs", True),
    "piecewise_constant": (lambda z: np.piecewise(z, [MASK, ~MASK], [np.sin, 0.5]), "cs", True),
    "apply_along_axis": (lambda z: np.apply_along_axis(lambda r: r * r.sum(), 1, z.reshape(2, 3)),
                         "cs", True),
    "apply_along_axis_scalar": (lambda z: np.apply_along_axis(np.prod, 0, z.reshape(2, 3)),
                                "cs", True),
    "apply_over_axes": (lambda z: np.apply_over_axes(np.sum, z.reshape(1, 2, 3), [0, 2]),
                        "cs", True),
    "ptp": (lambda z: np.ptp(z), "fd", True),
    "ptp_axis": (lambda z: np.ptp(z.reshape(2, 3), axis=1, keepdims=True), "fd", True),
    "average": (lambda z: np.average(z), "cs", True),
    "average_dual_weights": (lambda z: np.average(z, weights=z ** 2), "cs", True),
    "average_axis_weights": (lambda z: np.average(z.reshape(2, 3), axis=1, weights=z[:3]),
                             "cs", True),
    "average_returned": (lambda z: np.average(z.reshape(2, 3), 0, [1.0, 3.0], True)[0],
                         "cs", True),
    "cov": (lambda z: np.cov(z.reshape(2, 3)), lambda z: covariance(z.reshape(2, 3)), False),
    "cov_rowvar_y": (lambda z: np.cov(z[:3], z[3:] ** 2, rowvar=False),
                     lambda z: covariance(np.stack([z[:3], z[3:] ** 2])), False),
    "corrcoef": (lambda z: np.corrcoef(z.reshape(3, 2), rowvar=False),
                 lambda z: correlation(z.reshape(3, 2).T), False),
}


def source():
    return distinct_points(RNG)


@pytest.mark.parametrize("name", CASES)
def test_jacobian_and_values(name):
    f, witness, exact = CASES[name]
    x = source()
    value, J = dj.value_and_jacobian(f, x)
    tol = 1e-7 if witness == "fd" else 1e-13
    np.testing.assert_allclose(J, case_jacobian(f, witness, x), rtol=tol, atol=tol)
    if exact:
        np.testing.assert_array_equal(value, f(x))
    else:
        np.testing.assert_allclose(value, f(x), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", CASES)
def test_hessian(name):
    f, witness, _ = CASES[name]
    check_case_hessian(f, witness, source(), RNG)


# ---- batched rows: dj.batch_jacobian / batch_hessian (deferred jets at that kind)

BATCHED = {
    "gradient": lambda z: np.gradient(z, axis=-1),
    "gradient_coordinates": lambda z: np.gradient(z, COORDS[:4], axis=-1, edge_order=2),
    "trapezoid": lambda z: np.trapezoid(z ** 2, dx=0.5),
    "sinc_round": lambda z: np.sinc(z) * np.round(z, 1),
    "linspace": lambda z: np.linspace(z[..., 0], z[..., 1], 3, axis=-1),
    "apply_along_axis": lambda z: np.apply_along_axis(lambda r: r[:2] * r.sum(), -1, z),
    "ptp": lambda z: np.ptp(z, axis=-1) * z[..., 0],
    "average": lambda z: np.average(z, axis=-1, weights=z),
    "kron_rows": lambda z: np.reshape(z[..., :, None] * z[..., None, :2], z.shape[:-1] + (8,)),
}


@pytest.mark.parametrize("name", BATCHED)
def test_batched_rows(name):
    check_batched_rows(BATCHED[name], RNG.uniform(0.6, 1.6, (5, 4)), "cs")


# ---- steps, identities and the exact values at special points

@pytest.mark.parametrize("decimals", [0, 1, 2, -1])
@pytest.mark.parametrize("spelling", ["round", "around", "method"])
def test_round_has_numpys_values_and_zero_derivative(spelling, decimals):
    call = {"round": lambda z: np.round(z, decimals), "around": lambda z: np.around(z, decimals),
            "method": lambda z: z.round(decimals)}[spelling]
    x = RNG.uniform(-30, 30, 7)
    value, J = dj.value_and_jacobian(call, x)
    np.testing.assert_array_equal(value, np.round(x, decimals))
    np.testing.assert_array_equal(J, np.zeros((7, 7)))
    np.testing.assert_array_equal(dj.hessian(lambda z: np.sum(call(z) * z ** 2), x),
                                  np.diag(2 * np.round(x, decimals)))


def test_imag_and_angle_of_real_arrays_are_steps():
    x = np.array([1.5, -2.0, 0.0, -1e-300, 3.0])
    value, J = dj.value_and_jacobian(lambda z: np.angle(z, deg=True) + np.imag(z), x)
    np.testing.assert_array_equal(value, np.angle(x, deg=True))
    np.testing.assert_array_equal(J, np.zeros((5, 5)))


def test_sinc_at_zero_has_exact_derivatives():
    x = np.array([0.0, 0.0])
    value, J = dj.value_and_jacobian(lambda z: np.sinc(z), x)
    np.testing.assert_array_equal(value, [1.0, 1.0])
    np.testing.assert_array_equal(J, np.zeros((2, 2)))
    H = dj.hessian(lambda z: np.sinc(z[0]) + 0.0 * z[1], x)
    np.testing.assert_allclose(H, [[-np.pi ** 2 / 3, 0.0], [0.0, 0.0]], rtol=1e-15, atol=0)


def test_nan_to_num_replaced_elements_are_constants():
    x = np.array([0.5, 2.0, 1.0, 3.0])
    f = lambda z: np.nan_to_num(np.log(z - 1.0), neginf=-7.0)   # NaN, finite, -inf, finite
    with np.errstate(all="ignore"):
        value, J = dj.value_and_jacobian(f, x)
        np.testing.assert_array_equal(value, f(x))
    np.testing.assert_array_equal(J, np.diag([0.0, 1.0, 0.0, 0.5]))


def test_logaddexp2_against_its_formula():
    x = RNG.uniform(-3, 3, 6)
    f = lambda z: np.logaddexp2(z[:3], z[3:])
    value, J = dj.value_and_jacobian(f, x)
    np.testing.assert_array_equal(value, f(x))
    np.testing.assert_allclose(J, complex_step_jacobian(
        lambda z: np.log2(2 ** z[:3] + 2 ** z[3:]), x), rtol=1e-13, atol=1e-15)


def test_gradient_of_equal_dual_spacings_keeps_every_coordinate():
    """NumPy reduces equal plain spacings to one step; dual ones carry their own derivatives."""
    f = np.sin(np.arange(5.0))
    x = np.arange(5.0)
    g = lambda z: np.gradient(f + 0 * z, z)
    np.testing.assert_allclose(dj.jacobian(g, x), complex_step_jacobian(g, x), rtol=1e-13,
                               atol=1e-14)


def test_cov_with_weights_matches_numpy():
    x = source()
    fw, aw = np.array([1, 2, 1]), np.array([0.5, 1.0, 2.0])
    f = lambda z: np.cov(z.reshape(2, 3), fweights=fw, aweights=aw)
    value, J = dj.value_and_jacobian(f, x)
    np.testing.assert_allclose(value, f(x), rtol=1e-14)
    np.testing.assert_allclose(J, central_difference_jacobian(f, x), rtol=1e-7, atol=1e-8)


# ---- NumPy's errors

ERRORS = {
    "linspace_negative": (lambda z: np.linspace(z[0], z[1], -1), ValueError, "non-negative"),
    "geomspace_zero": (lambda z: np.geomspace(z[0] * 0, z[1]), ValueError, "zero"),
    "gradient_small": (lambda z: np.gradient(z[:2], edge_order=2), ValueError, "too small"),
    "gradient_spacings": (lambda z: np.gradient(z, COORDS[:3]), ValueError, "match"),
    "gradient_arguments": (lambda z: np.gradient(z, 1.0, 2.0), TypeError, "invalid number"),
    "convolve_empty": (lambda z: np.convolve(z[:0], z), ValueError, "empty"),
    "convolve_mode": (lambda z: np.convolve(z, z, "middle"), ValueError, "mode"),
    "vander_2d": (lambda z: np.vander(z.reshape(2, 3)), ValueError, "one-dimensional"),
    "meshgrid_indexing": (lambda z: np.meshgrid(z, indexing="yx"), ValueError, "indexing"),
    "choose_range": (lambda z: np.choose([0, 2, 0], [z[:3], z[3:]]), ValueError, "invalid entry"),
    "piecewise_count": (lambda z: np.piecewise(z, [MASK], [np.sin, np.cos, np.tan]), ValueError,
                        "functions are expected"),
    "insert_bounds": (lambda z: np.insert(z, 9, 1.0), IndexError, "out of bounds"),
    "delete_bounds": (lambda z: np.delete(z, 9), IndexError, "out of bounds"),
    "resize_negative": (lambda z: np.resize(z, -2), ValueError, "non-negative"),
    "partition_kth": (lambda z: np.partition(z, 7), ValueError, "out of bounds"),
    "average_zero_weights": (lambda z: np.average(z, weights=z - z), ZeroDivisionError, "zero"),
    "average_shapes": (lambda z: np.average(z.reshape(2, 3), weights=z[:3]), TypeError, "Axis"),
    "cov_3d": (lambda z: np.cov(z.reshape(1, 2, 3)), ValueError, "more than 2"),
    "apply_along_axis_empty": (lambda z: np.apply_along_axis(np.sum, 1, z.reshape(6, 1)[:0]),
                               ValueError, "iteration dimensions"),
    "einsum_sublist_range": (lambda z: np.einsum(z, [60]), ValueError, "range"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_numpys_errors(name):
    check_numpys_error(*ERRORS[name], source)


def test_choose_refuses_dual_indices():
    with pytest.raises(TypeError, match="np.choose takes integer choice indices"):
        dj.jacobian(lambda z: np.choose(z, [z, z]), source())


@pytest.mark.filterwarnings("ignore:divide by zero")     # NumPy's 1 / 0, as NumPy
def test_cov_warns_as_numpy_when_degrees_of_freedom_run_out():
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        J = dj.jacobian(lambda z: np.cov(z[:1]), source())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(np.cov(source()[:1]))
    assert J.shape == (6,)


# ---- the sparsity tracer runs the same compositions: exact patterns for moves and stencils

EXACT_PATTERNS = ("kron", "gradient", "gradient_coordinates_edge2", "gradient_2d", "trapezoid",
                  "insert", "delete_axis", "resize", "convolve", "convolve_valid",
                  "correlate_full", "choose_broadcast", "vander", "meshgrid", "sinc", "real",
                  "partition", "apply_along_axis")


@pytest.mark.parametrize("name", EXACT_PATTERNS)
def test_sparsity_pattern_is_the_jacobians(name):
    f, witness, _ = CASES[name]
    x = source()
    P = dj.jacobian_sparsity(f, x).toarray()
    J = case_jacobian(f, witness, x).reshape(P.shape)
    np.testing.assert_array_equal(P, J != 0)
