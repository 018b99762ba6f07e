"""Statistics (dualjac/dispatch/statistics.py): quantile / percentile with every NumPy method,
the nan-functions, histogram, bincount, unique. Witnesses: NumPy's own values (bit for bit
for the quantiles), complex step where NumPy takes complex input, central differences
elsewhere (inputs away from ties and bin edges), Hessians as central differences of the
witness Jacobian; batch transforms against the per-row witness."""
import warnings

import numpy as np
import pytest
from numpy.lib._function_base_impl import _QuantileMethods

import dualjac as dj
from witness import witness_hessian, witness_jacobian

pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

RNG = np.random.default_rng(20261205)
X = RNG.permutation(np.linspace(0.2, 2.0, 12)).reshape(3, 4)   # distinct, no ties
X_NAN = X.copy()
X_NAN[0, 1] = X_NAN[2, 3] = np.nan

# name -> (f, witness method): "cs" complex step, "fd" central differences
CALLS = {
    "quantile_axis": (lambda z: np.quantile(z, [0.3, 0.85], axis=1), "fd"),
    "quantile_all": (lambda z: np.quantile(z, 0.42), "fd"),
    "percentile_keepdims": (lambda z: np.percentile(z, 37.0, axis=0, keepdims=True), "fd"),
    "median_unbiased": (lambda z: np.quantile(z, 0.6, axis=1, method="median_unbiased"), "fd"),
    "nanquantile": (lambda z: np.nanquantile(z, [0.25, 0.5], axis=1), "fd"),
    "nanpercentile": (lambda z: np.nanpercentile(z, 80, axis=(0, 1), method="hazen"), "fd"),
    "nanmedian_axis": (lambda z: np.nanmedian(z, axis=1), "fd"),
    "nanmedian_all": (lambda z: np.nanmedian(z ** 2), "fd"),
    "nansum": (lambda z: np.nansum(z * z, axis=1), "cs"),
    "nanprod": (lambda z: np.nanprod(z, axis=0, keepdims=True), "cs"),
    "nanmean": (lambda z: np.nanmean(np.sin(z), axis=1), "cs"),
    "nancumsum": (lambda z: np.nancumsum(z, axis=1) ** 2, "cs"),
    "nancumprod": (lambda z: np.nancumprod(z), "cs"),
    "nanvar": (lambda z: np.nanvar(z, axis=1, ddof=1), "fd"),
    "nanstd": (lambda z: np.nanstd(z, axis=0), "fd"),
    "nanmax": (lambda z: np.nanmax(z * z, axis=1), "fd"),
    "nanmin": (lambda z: np.nanmin(z), "fd"),
    "nanargmax": (lambda z: z.ravel()[np.nanargmax(z)] * z, "fd"),
    "nanargmin": (lambda z: np.take_along_axis(z, np.nanargmin(z, axis=1)[:, None], 1), "fd"),
}


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("x", [X, X_NAN], ids=["finite", "with_nan"])
def test_value_and_jacobian(name, x):
    f, method = CALLS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, J = dj.value_and_jacobian(f, x)
        expected = f(x)
        W = witness_jacobian(f, x, method)
    np.testing.assert_array_equal(value, expected) if name.startswith(
        ("quantile", "percentile", "nanquantile", "nanpercentile", "median")) else \
        np.testing.assert_allclose(value, expected, rtol=1e-14)
    finite = np.isfinite(W)          # NaN outputs: central differences are NaN there
    assert finite.any() or np.isnan(expected).all()    # np.quantile: NaN lanes are NaN
    np.testing.assert_allclose(J[finite], W[finite], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", CALLS)
def test_hessian(name):
    f, method = CALLS[name]
    g = lambda z: np.sum(np.sin(f(z)))
    x = X[1:, :3]                      # 6 variables: a short witness
    H = dj.hessian(g, x)
    np.testing.assert_allclose(H, witness_hessian(g, x, method), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", list(_QuantileMethods))
def test_every_quantile_method_has_numpys_values_and_interpolated_derivatives(method):
    """A quantile is a fixed interpolation between two order statistics: its derivative
    is the weights of those two (read off NumPy on sorted unit-step data)."""
    x = RNG.permutation(np.linspace(0.0, 1.0, 9))
    q = np.array([0.0, 0.13, 0.5, 0.77, 1.0])
    for quantile in (np.quantile, np.nanquantile):
        value, J = dj.value_and_jacobian(lambda z: quantile(z, q, method=method), x)
        np.testing.assert_array_equal(value, quantile(x, q, method=method))
        np.testing.assert_allclose(J, witness_jacobian(
            lambda z: quantile(z, q, method=method), x, "fd", 1e-7), atol=1e-6)


def test_batch_jacobian_and_hessian_of_row_quantiles():
    x = RNG.permutation(np.linspace(0.3, 1.7, 40)).reshape(8, 5)
    f = lambda z: np.nanquantile(z, 0.3, axis=1) * np.nanmean(z, axis=1)
    J = dj.batch_jacobian(lambda z: f(z)[:, None], x)
    H = dj.batch_hessian(f, x)
    for row in range(8):
        g = lambda r: f(r[None])[0]
        np.testing.assert_allclose(J[row, 0], witness_jacobian(g, x[row], "fd"), atol=1e-7)
        np.testing.assert_allclose(H[row], witness_hessian(g, x[row], "fd"), atol=1e-5)


def test_all_nan_lanes_warn_and_give_nan_as_numpy():
    x = np.array([[np.nan, np.nan], [1.0, 2.0]])
    for f in (lambda z: np.nanmedian(z, axis=1), lambda z: np.nanquantile(z, 0.5, axis=1),
              lambda z: np.nanmax(z, axis=1), lambda z: np.nanmean(z, axis=1)):
        with pytest.warns(RuntimeWarning):
            value, J = dj.value_and_jacobian(f, x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            np.testing.assert_array_equal(value, f(x))
            W = witness_jacobian(f, x, "fd")
        np.testing.assert_allclose(J[1, 1], W[1, 1], atol=1e-8)     # the finite lane
    with pytest.raises(ValueError, match="All-NaN slice"):
        dj.jacobian(lambda z: z[np.nanargmax(z, axis=1)], x)


def test_float32_results_keep_numpys_dtype():
    x = X.astype(np.float32)
    for f in (lambda z: np.quantile(z, 0.3), np.nanmean, np.nanvar, np.nanmedian):
        assert dj.value_and_jacobian(f, x)[0].dtype == np.asarray(f(x)).dtype


@pytest.mark.parametrize("call, error, message", [
    (lambda z: np.quantile(z, 1.5), ValueError, "range"),
    (lambda z: np.quantile(z, 0.5, method="nope"), ValueError, "method"),
    (lambda z: np.quantile(z, z[0, 0] / 10), TypeError, "dual q"),
    (lambda z: np.quantile(z, 0.5, out=np.zeros(())), TypeError, "out="),
    (lambda z: np.quantile(z, 0.5, method="inverted_cdf", weights=np.ones_like(z)),
     TypeError, "weights"),
])
def test_quantile_errors_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        dj.jacobian(call, X)


# ---------------------------------------------------------------- counting

def test_bincount_and_histogram_with_dual_weights_are_sums_per_bin():
    x = RNG.uniform(0.5, 1.5, 6)
    bins = np.array([0, 2, 2, 1, 0, 4])
    J = dj.jacobian(lambda w: np.bincount(bins, weights=w * w, minlength=6), x)
    np.testing.assert_allclose(J, witness_jacobian(
        lambda w: np.bincount(bins, weights=w * w, minlength=6), x, "fd"), rtol=1e-8)
    data = np.array([0.1, 0.5, 0.9, 0.2, 0.95, 0.6])
    f = lambda w: np.histogram(data, 3, weights=w ** 3)[0]
    np.testing.assert_allclose(dj.jacobian(f, x), witness_jacobian(f, x, "fd"), rtol=1e-8)
    np.testing.assert_allclose(dj.hessian(lambda w: np.sum(f(w) ** 2), x),
                               witness_hessian(lambda w: np.sum(f(w) ** 2), x, "fd"), rtol=1e-5, atol=1e-4)


def test_histogram_edges_and_density_move_with_the_data():
    """Edges at min + (max - min) k / bins: linear in the min and max elements."""
    x = RNG.permutation([0.1, 0.35, 0.8, 1.05, 1.5, 1.62, 1.9])   # off every bin edge
    counts, J_edges = dj.value_and_jacobian(lambda z: np.histogram(z, 4)[1], x)
    np.testing.assert_array_equal(counts, np.histogram(x, 4)[1])
    np.testing.assert_allclose(J_edges, witness_jacobian(lambda z: np.histogram(z, 4)[1], x, "fd"),
                               atol=1e-8)
    dens = lambda z: np.histogram(z, 3, density=True)[0]
    np.testing.assert_allclose(dj.jacobian(dens, x), witness_jacobian(dens, x, "fd"), atol=1e-6)
    seen = []
    dj.jacobian(lambda z: seen.append(np.histogram(z, 3)[0]) or z, x)
    assert type(seen[0]) is np.ndarray                       # counts: plain, NumPy's
    np.testing.assert_array_equal(seen[0], np.histogram(x, 3)[0])


def test_unique_values_carry_their_first_occurrences_derivatives():
    x = RNG.uniform(0.5, 1.5, 4)
    f = lambda z: np.unique(np.concatenate([z, z[:2], z ** 2]))
    value, J = dj.value_and_jacobian(f, x)
    np.testing.assert_array_equal(value, f(x))
    np.testing.assert_allclose(J, witness_jacobian(f, x, "fd"), atol=1e-8)
    g = lambda z: np.unique(np.concatenate([z, z[:2]]), return_index=True, return_counts=True)
    seen = []
    dj.jacobian(lambda z: seen.append(g(z)) or z, x)
    for got, expected in zip(seen[0][1:], g(x)[1:]):
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, expected)


def test_bincount_of_a_dual_x_is_refused():
    with pytest.raises(TypeError, match="np.bincount"):
        dj.jacobian(lambda z: np.bincount(z), np.ones(3))
