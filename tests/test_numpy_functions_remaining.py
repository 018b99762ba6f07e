"""NumPy's last differentiable functions on jets: np.linalg's array API names, tensorinv and
tensorsolve, set operations and unique_*, the histograms' edges and weighted counts, np.pad's
statistic and ramp modes, np.fft's real transforms and shifts, selections and joins
(compress, extract, trim_zeros, sliding_window_view, unstack, block, dstack,
broadcast_arrays), fix, real_if_close, polyval2d and polygrid2d.

Witnesses: the complex-step Jacobian of the same NumPy call on complex128 input where it is
holomorphic there, of a formula where NumPy conjugates or takes absolute values (vecdot,
norms), central differences where the function is piecewise or reads real input as a
Hermitian spectrum (histograms, pad statistics, irfft / hfft). Second order: dj.hessian of
sum(c * f(x) ** 2) against central differences of the witness Jacobian. Values are NumPy's;
the argument errors are NumPy's.
"""

import numpy as np
import pytest

import dualjac as dj
from function_cases import (case_jacobian, check_batched_rows, check_case_hessian,
                            check_numpys_error, distinct_points)

pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

RNG = np.random.default_rng(20261205)
P2 = np.polynomial.polynomial
C22 = np.array([[1.0, -2.0, 0.5], [0.3, 1.5, -1.0]])
GRID = np.array([0.62, 0.9, 1.1, 1.45])


def sq(z):
    return z[:4].reshape(2, 2) + 2.0 * np.eye(2)


# name -> (f on a source of 6 distinct elements, witness: "cs", "fd" or a holomorphic formula)
CASES = {
    "linalg_diagonal": (lambda z: np.linalg.diagonal(z.reshape(2, 3), offset=1), "cs"),
    "linalg_diagonal_stack": (lambda z: np.linalg.diagonal(z[:4].reshape(1, 2, 2)), "cs"),
    "linalg_matmul": (lambda z: np.linalg.matmul(z.reshape(2, 3), z.reshape(3, 2)), "cs"),
    "matrix_transpose": (lambda z: np.matrix_transpose(z.reshape(1, 2, 3)) * z[0], "cs"),
    "linalg_matrix_transpose": (lambda z: np.linalg.matrix_transpose(z.reshape(3, 2)), "cs"),
    "linalg_outer": (lambda z: np.linalg.outer(z[:2], z[2:] ** 2), "cs"),
    "linalg_tensordot": (lambda z: np.linalg.tensordot(z.reshape(2, 3), z.reshape(2, 3),
                                                       axes=([0], [0])), "cs"),
    "linalg_trace": (lambda z: np.linalg.trace(z[:4].reshape(2, 2) ** 2, offset=0), "cs"),
    "linalg_trace_stack": (lambda z: np.linalg.trace(z.reshape(3, 1, 2), offset=1), "cs"),
    "linalg_vecdot": (lambda z: np.linalg.vecdot(z.reshape(2, 3), z[3:]),
                      lambda z: np.sum(z.reshape(2, 3) * z[3:], axis=-1)),
    "linalg_vecdot_axis": (lambda z: np.linalg.vecdot(z.reshape(2, 3), z[:2, None], axis=0),
                           lambda z: np.sum(z.reshape(2, 3) * z[:2, None], axis=0)),
    "vector_norm": (lambda z: np.linalg.vector_norm(z), lambda z: np.sqrt(np.sum(z * z))),
    "vector_norm_axes_keepdims": (
        lambda z: np.linalg.vector_norm(z.reshape(1, 2, 3), axis=(0, 2), keepdims=True),
        lambda z: np.sqrt(np.sum(z.reshape(1, 2, 3) ** 2, axis=(0, 2), keepdims=True))),
    "vector_norm_ord3": (lambda z: np.linalg.vector_norm(z.reshape(2, 3), axis=1, ord=3),
                         lambda z: np.sum(z.reshape(2, 3) ** 3, axis=1) ** (1 / 3)),
    "vector_norm_inf": (lambda z: np.linalg.vector_norm(z, ord=np.inf), "fd"),
    "matrix_norm": (lambda z: np.linalg.matrix_norm(z.reshape(2, 1, 3)),
                    lambda z: np.sqrt(np.sum(z.reshape(2, 1, 3) ** 2, axis=(-2, -1)))),
    "matrix_norm_1_keepdims": (lambda z: np.linalg.matrix_norm(z.reshape(2, 3), ord=1,
                                                               keepdims=True), "fd"),
    "tensorinv": (lambda z: np.linalg.tensorinv(sq(z).reshape(2, 1, 2), ind=2), "cs"),
    "tensorinv_ind1": (lambda z: np.linalg.tensorinv(sq(z), ind=1), "cs"),
    "tensorsolve": (lambda z: np.linalg.tensorsolve(sq(z), z[4:]), "cs"),
    "tensorsolve_axes": (lambda z: np.linalg.tensorsolve(sq(z), z[4:6], axes=(0,)), "cs"),
    "tensorsolve_plain_a": (lambda z: np.linalg.tensorsolve(np.eye(2) * 3 + 1, z[:2] ** 2), "cs"),
    "union1d": (lambda z: np.union1d(z[:4], z[2:]), "cs"),
    "intersect1d": (lambda z: np.intersect1d(z[:4], z[2:]), "cs"),
    "intersect1d_indices": (lambda z: np.intersect1d(z[:4], z[2:], return_indices=True)[0], "cs"),
    "setdiff1d": (lambda z: np.setdiff1d(z, z[3:5]), "cs"),
    "setdiff1d_assume_unique": (lambda z: np.setdiff1d(z, z[:2], assume_unique=True), "cs"),
    "setxor1d": (lambda z: np.setxor1d(z[:4], z[2:]), "cs"),
    "unique_values": (lambda z: np.sort(np.unique_values(z.reshape(2, 3))), "cs"),
    "unique_counts": (lambda z: np.unique_counts(z).values, "cs"),
    "unique_inverse": (lambda z: np.unique_inverse(z).values, "cs"),
    "unique_all": (lambda z: np.unique_all(z).values, "cs"),
    "histogram_bin_edges": (lambda z: np.histogram_bin_edges(z, 4), "fd"),
    "histogram_bin_edges_auto": (lambda z: np.histogram_bin_edges(z, "auto"), "fd"),
    "histogram2d_edges": (lambda z: np.histogram2d(z[:3], z[3:], 2)[1], "fd"),
    "histogram2d_weights": (lambda z: np.histogram2d(GRID[:3], GRID[1:], 2, weights=z[:3] ** 2)[0],
                            "fd"),
    "histogram2d_density": (lambda z: np.histogram2d(z[:3], z[3:], [2, 3], density=True)[0], "fd"),
    "histogramdd_weights": (
        lambda z: np.histogramdd(z.reshape(3, 2), (2, 3), weights=z[:3] ** 2)[0], "fd"),
    "histogramdd_weights_density": (
        lambda z: np.histogramdd(np.stack([GRID[:3], GRID[1:]], axis=1), 2, weights=z[:3],
                                 density=True)[0], "fd"),
    "histogramdd_columns": (lambda z: np.histogramdd([z[:3], z[3:]], (3, 2))[1][1], "fd"),
    "pad_linear_ramp": (lambda z: np.pad(z.reshape(2, 3), ((1, 2), (2, 1)), "linear_ramp",
                                         end_values=(1.0, -2.0)), "cs"),
    "pad_maximum": (lambda z: np.pad(z.reshape(2, 3), ((1, 2), (2, 1)), "maximum"), "fd"),
    "pad_minimum_stat_length": (lambda z: np.pad(z, 2, "minimum", stat_length=2), "fd"),
    "pad_median": (lambda z: np.pad(z.reshape(2, 3), 1, "median", stat_length=((1, 2), (2, 3))),
                   "fd"),
    "fftshift": (lambda z: np.fft.fftshift(z.reshape(2, 3)), "cs"),
    "ifftshift_axes": (lambda z: np.fft.ifftshift(z.reshape(2, 3), axes=1), "cs"),
    "fftshift_axis": (lambda z: np.fft.fftshift(z, axes=0), "cs"),
    "irfft": (lambda z: np.fft.irfft(z ** 2), "fd"),
    "irfft_n_axis_norm": (lambda z: np.fft.irfft(z.reshape(3, 2), 5, axis=0, norm="ortho"), "fd"),
    "irfft2": (lambda z: np.fft.irfft2(z.reshape(2, 3)), "fd"),
    "irfftn_s_axes": (lambda z: np.fft.irfftn(z.reshape(2, 3), s=(3, 4), axes=(0, 1)), "fd"),
    "hfft": (lambda z: np.fft.hfft(z, 7, norm="forward"), "fd"),
    "compress": (lambda z: np.compress([True, False, True], z.reshape(2, 3), axis=1), "cs"),
    "compress_flat": (lambda z: np.compress([0, 1, 1, 0, 1], z), "cs"),
    "extract": (lambda z: np.extract(z.reshape(2, 3) > 1.0, z.reshape(2, 3) ** 2), "cs"),
    "trim_zeros": (lambda z: np.trim_zeros(np.concatenate([[0.0], z * [0, 1, 2, 0, 3, 0]])),
                   "cs"),
    "trim_zeros_f_axis": (lambda z: np.trim_zeros(np.pad(z.reshape(2, 3), 1), "f", axis=1), "cs"),
    "sliding_window_view": (lambda z: np.lib.stride_tricks.sliding_window_view(z, 3), "cs"),
    "sliding_window_view_2d": (lambda z: np.lib.stride_tricks.sliding_window_view(
        z.reshape(2, 3), (2, 2)), "cs"),
    "sliding_window_view_axis": (lambda z: np.lib.stride_tricks.sliding_window_view(
        z.reshape(2, 3), 2, axis=1), "cs"),
    "unstack": (lambda z: np.stack(np.unstack(z.reshape(2, 3), axis=1)[::-1]), "cs"),
    "block": (lambda z: np.block([[z[:4].reshape(2, 2), z[4:, None]],
                                  [np.ones((1, 2)), z[:1, None] ** 2]]), "cs"),
    "block_1d": (lambda z: np.block([z[:2], 3.0, z[4:]]), "cs"),
    "dstack": (lambda z: np.dstack([z.reshape(2, 3), z[::-1].reshape(2, 3)]), "cs"),
    "broadcast_arrays": (lambda z: np.stack(np.broadcast_arrays(z[:3], z[3:, None])), "cs"),
    "fix": (lambda z: np.fix(z * 3) * z, lambda z: np.fix(3 * np.real(z)) * z),
    "real_if_close": (lambda z: np.real_if_close(z[::-1]) * z, lambda z: z[::-1] * z),
    "polyval2d": (lambda z: P2.polyval2d(z[:3], z[3:], C22), "cs"),
    "polyval2d_dual_c": (lambda z: P2.polyval2d(z[:2], 0.5 + z[2:4], z.reshape(3, 2)), "cs"),
    "polygrid2d": (lambda z: P2.polygrid2d(z[:2], z[2:5], C22), "cs"),
}


def source():
    return distinct_points(RNG)


@pytest.mark.parametrize("name", CASES)
def test_jacobian_and_values(name):
    f, witness = CASES[name]
    x = source()
    value, J = dj.value_and_jacobian(f, x)
    tol = 1e-7 if witness == "fd" else 1e-12
    np.testing.assert_allclose(J, case_jacobian(f, witness, x), rtol=tol, atol=tol)
    np.testing.assert_allclose(value, f(x), rtol=1e-14, atol=1e-15)
    assert np.shape(value) == np.shape(f(x))


@pytest.mark.parametrize("name", CASES)
def test_hessian(name):
    f, witness = CASES[name]
    # piecewise functions: a fixed point, its kinks (bin edges, ties) farther than the
    # witness's steps
    x = np.array([1.24, 0.61, 1.58, 0.83, 1.47, 1.02]) if witness == "fd" else source()
    check_case_hessian(f, witness, x, RNG)


# ---- batched rows: dj.batch_jacobian / batch_hessian (deferred jets at that kind)

BATCHED = {
    "vector_norm": lambda z: np.linalg.vector_norm(z, axis=-1, keepdims=True) * z,
    "fftshift": lambda z: np.fft.fftshift(z, axes=-1) * z,
    "irfft": lambda z: np.fft.irfft(z ** 2, axis=-1),
    "pad_maximum": lambda z: np.pad(z, ((0, 0), (1, 1)), "maximum") ** 2,
    "sliding_window_view": lambda z: np.sum(
        np.lib.stride_tricks.sliding_window_view(z, 2, axis=-1) ** 2, axis=-1),
    "linalg_vecdot": lambda z: np.linalg.vecdot(z, z[..., ::-1])[..., None] * z,
    "dstack": lambda z: np.dstack([z, z ** 2]).reshape(z.shape[:-1] + (-1,)),
}


@pytest.mark.parametrize("name", BATCHED)
def test_batched_rows(name):
    check_batched_rows(BATCHED[name], RNG.uniform(0.6, 1.6, (5, 4)), "fd")


# ---- which occurrence a repeated value carries, the steps, read-only windows

def test_sets_carry_the_first_occurrence_of_a_repeated_value():
    x = np.array([1.0, 2.0, 1.0, 3.0, 2.0, -0.0, 0.0])
    e = np.eye(7)
    checks = {
        lambda z: np.unique_values(z): lambda u: e[[list(x).index(v) for v in u]],
        lambda z: np.unique_all(z).values: lambda u: e[[list(x).index(v) for v in u]],
        lambda z: np.union1d(z[:3], z[2:]): lambda u: e[[list(x).index(v) for v in u]],
        lambda z: np.setxor1d(z[:2], z[3:]): lambda u: e[[list(x).index(v) for v in u]],
        lambda z: np.setdiff1d(z[1:], z[5:6]): lambda u: e[[1 + list(x[1:]).index(v) for v in u]],
        lambda z: np.intersect1d(z[2:], z[:2]): lambda u: e[[2 + list(x[2:]).index(v) for v in u]],
    }
    for f, expected in checks.items():
        value, J = dj.value_and_jacobian(f, x)
        np.testing.assert_array_equal(value, f(x))
        np.testing.assert_array_equal(J, expected(f(x)))


def test_unique_functions_return_numpys_results():
    x = np.array([2.0, 1.0, 2.0, 0.5, 1.0])
    found = dj.jacobian(lambda z: np.unique_all(z).values, x)
    assert found.shape == (3, 5)
    plain = np.unique_all(x)
    result = {}

    def f(z):
        result["all"] = np.unique_all(z)
        result["inverse"] = np.unique_inverse(z)
        result["counts"] = np.unique_counts(z)
        return result["all"].values
    dj.jacobian(f, x)
    assert type(result["all"]) is type(plain)
    for field in ("indices", "inverse_indices", "counts"):
        np.testing.assert_array_equal(getattr(result["all"], field), getattr(plain, field))
    np.testing.assert_array_equal(result["inverse"].inverse_indices, plain.inverse_indices)
    np.testing.assert_array_equal(result["counts"].counts, plain.counts)


def test_fix_has_numpys_values_and_zero_derivative():
    x = np.array([-2.5, -0.4, 0.0, 0.4, 1.7, 3.0])
    value, J = dj.value_and_jacobian(np.fix, x)
    np.testing.assert_array_equal(value, np.fix(x))
    np.testing.assert_array_equal(np.signbit(value), np.signbit(np.fix(x)))
    np.testing.assert_array_equal(J, np.zeros((6, 6)))


def test_sliding_windows_are_read_only_as_numpys():
    def f(z):
        windows = np.lib.stride_tricks.sliding_window_view(z, 2)
        windows[0, 0] = 1.0
        return windows
    with pytest.raises(ValueError, match="read-only"):
        f(source())
    with pytest.raises(ValueError, match="read-only"):
        dj.jacobian(f, source())


def test_pad_empty_keeps_the_array_and_pads_constants():
    x = source()
    value, J = dj.value_and_jacobian(lambda z: np.pad(z, (1, 2), "empty")[1:-2], x)
    np.testing.assert_array_equal(value, x)
    np.testing.assert_array_equal(J, np.eye(6))
    J = dj.jacobian(lambda z: np.pad(z, (1, 2), "empty")[[0, -1]], x)
    np.testing.assert_array_equal(J, np.zeros((2, 6)))


# ---- NumPy's errors

ERRORS = {
    "matrix_transpose_1d": (lambda z: np.matrix_transpose(z), ValueError, "at least 2"),
    "linalg_outer_2d": (lambda z: np.linalg.outer(z.reshape(2, 3), z), ValueError,
                        "one-dimensional"),
    "linalg_vecdot_shapes": (lambda z: np.linalg.vecdot(z, z[:3]), ValueError, "mismatch"),
    "vector_norm_axes": (lambda z: np.linalg.vector_norm(z.reshape(2, 3), axis=(1, 1)),
                         ValueError, "repeated axis"),
    "matrix_norm_1d": (lambda z: np.linalg.matrix_norm(z), np.exceptions.AxisError, "out of bounds"),
    "tensorinv_ind": (lambda z: np.linalg.tensorinv(z.reshape(2, 3), ind=0), ValueError,
                      "Invalid ind"),
    "tensorsolve_shapes": (lambda z: np.linalg.tensorsolve(z.reshape(2, 3), z[:2]),
                           np.linalg.LinAlgError, "requirement"),
    "unstack_0d": (lambda z: np.unstack(z[0]), ValueError, "at least 1"),
    "block_depths": (lambda z: np.block([z[:2], [z[2:4]]]), ValueError, "depths are mismatched"),
    "compress_long": (lambda z: np.compress([0, 0, 0, 0, 0, 0, 1], z), IndexError, "out of bounds"),
    "trim_zeros_trim": (lambda z: np.trim_zeros(z, "x"), ValueError, "unexpected character"),
    "sliding_window_view_big": (lambda z: np.lib.stride_tricks.sliding_window_view(z, 7),
                                ValueError, "window shape cannot be larger"),
    "irfft_axis": (lambda z: np.fft.irfft(z, axis=2), IndexError, "out of range"),
    "histogramdd_bins": (lambda z: np.histogramdd(z.reshape(3, 2), 0), ValueError, "positive"),
    "histogram2d_range": (lambda z: np.histogram2d(z[:3], z[3:], range=[[1, 0], [0, 1]]),
                          ValueError, "max must be larger"),
    "pad_stat_length": (lambda z: np.pad(z, 1, "maximum", stat_length=-1), ValueError, "negative"),
    "polyval2d_shapes": (lambda z: P2.polyval2d(z[:2], z[:3], C22), ValueError, "incompatible"),
    "broadcast_arrays_shapes": (lambda z: np.broadcast_arrays(z[:2], z[:3]), ValueError,
                                "broadcast"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_numpys_errors(name):
    check_numpys_error(*ERRORS[name], source)


# ---- the sparsity tracer runs the compositions: exact patterns for moves and gathers

EXACT_PATTERNS = ("linalg_diagonal", "matrix_transpose", "linalg_outer", "union1d", "setdiff1d",
                  "fftshift", "compress", "sliding_window_view_2d", "unstack", "block", "dstack",
                  "polygrid2d", "linalg_vecdot_axis")


@pytest.mark.parametrize("name", EXACT_PATTERNS)
def test_sparsity_pattern_is_the_jacobians(name):
    f, witness = CASES[name]
    x = source()
    P = dj.jacobian_sparsity(f, x).toarray()
    J = case_jacobian(f, witness, x).reshape(P.shape)
    np.testing.assert_array_equal(P, J != 0)
