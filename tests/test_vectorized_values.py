"""The vectorized value passes of the rules table's `block` rows (src_c/include/blocks.h).

Those rows (sin, cos, exp, expm1, log, log1p, tanh) do not evaluate their C expression per element:
their kernels gather up to 256 arguments, compute the value (and the other
function the derivative needs: cos for sin) with the branch-free functions of
src_c/include/vecmath.h in a loop the compiler vectorizes, compiled for three ISAs, and
recompute arguments outside the fast range with libm. Witnesses:

* values: NumPy's ufunc in float64 (rounded to float32 for float32 rows, which
  compute in double and round once), to within 1 ulp, on points chosen to hit every path:
  signed zeros, subnormals, near multiples of pi/2, the fast-range edges,
  overflow / underflow of exp, log of zero, negatives, infinities and NaN, with
  fast-path and fix-up arguments mixed in the same block;
* derivatives: the row's ``reference_derivative`` evaluated by NumPy (cos x for
  sin, exp x for exp, 1/x for log, 1/cosh^2 x for tanh), to within 4 ulp plus 4 eps
  absolute (rules such as tanh' = 1 - f^2 cancel where f is near 1);
* every ISA variant this CPU runs gives the same bits (dj._core.select_isa).
"""

import numpy as np
import pytest

import dualjac as dj
from dualjac import _core, rules
from witness import evaluate_witness

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "deferred")

BLOCK_ROWS = [row for row in rules.UNARY if row.block]
BLOCK = 256


def derivative(row, x):
    """The row's reference derivative, evaluated by NumPy (the witness for the tangent)."""
    return evaluate_witness(row.reference_derivative, x=x)


def special_points(dtype):
    """Arguments that exercise the fast path, its edges and every fix-up."""
    info = np.finfo(dtype)
    k = np.arange(-40, 41, dtype=np.float64)
    near_half_pi = np.concatenate([k * np.pi / 2, np.nextafter(k * np.pi / 2, np.inf),
                                   np.nextafter(k * np.pi / 2, -np.inf),
                                   np.array([1e5, 12345.678, 99999.5]) * np.pi / 2])
    edges = [0.0, -0.0, info.tiny, -info.tiny, info.smallest_subnormal, 1e-300, -1e-300,
             1e-8, 0.5, 1.0, 2.0, 1e6, -1e6, np.nextafter(1e6, 0), 1e6 + 1, 1e7, -3e8,
             1e22, 1e300, -1e300, info.max, -info.max,
             -708.0, -708.5, -745.0, -746.0, 708.9, 709.0, 709.7, 710.0, -1e5, 1e5,
             np.inf, -np.inf, np.nan]
    x = np.concatenate([near_half_pi, np.array(edges)])
    with np.errstate(over="ignore"):
        return x.astype(dtype)


def random_points(dtype, n=3000):
    rng = np.random.default_rng(11)
    magnitudes = 10.0 ** rng.uniform(-12, 8, n)
    return (magnitudes * rng.choice([-1.0, 1.0], n)).astype(dtype)


def value_and_tangent(row, x):
    """The kernel's value and first tangent at x (one seed per element)."""
    ufunc = getattr(np, row.name)
    with np.errstate(all="ignore"):
        value, jacobian = dj.value_and_jacobian(ufunc, x)
    return value, np.diagonal(jacobian) if x.ndim == 1 else jacobian


def assert_within_one_ulp(got, want, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, what
    same_nan = np.isnan(got) & np.isnan(want)
    exact = (got == want) | same_nan
    close = np.abs(got - want) <= np.spacing(np.abs(want).astype(want.dtype))
    bad = ~(exact | close)
    assert not bad.any(), f"{what}: at x-index {np.flatnonzero(bad)[:5]}: got {got[bad][:5]}, want {want[bad][:5]}"
    # signs of zeros, too (sin(-0) = -0)
    zeros = want == 0
    assert np.array_equal(np.signbit(got[zeros]), np.signbit(want[zeros])), what


def assert_derivative_close(got, want, what):
    eps = np.finfo(want.dtype).eps
    tolerance = 4 * np.spacing(np.abs(want)) + 4 * eps
    bad = ~(np.abs(got - want) <= tolerance)
    assert not bad.any(), f"{what}: got {got[bad][:5]}, want {want[bad][:5]}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", BLOCK_ROWS, ids=lambda row: row.name)
def test_values_and_derivatives_against_numpy(row, dtype):
    ufunc = getattr(np, row.name)
    for x in (special_points(dtype), random_points(dtype)):
        x = np.random.default_rng(2).permutation(x)     # mix fast and fix-up arguments
        chunk = x[:200]                                 # one-seed-per-element jacobian: keep it small
        value, tangent = value_and_tangent(row, chunk)
        with np.errstate(all="ignore"):
            want = ufunc(chunk.astype(np.float64)).astype(dtype)
            assert_within_one_ulp(value, want, f"{row.name} value")
            want = derivative(row, chunk.astype(np.float64)).astype(dtype)
            finite = np.isfinite(want) & (np.abs(want) < np.finfo(dtype).max / 4)
            assert_derivative_close(tangent[finite], want[finite], f"{row.name} derivative")


def batch_components(row, x):
    """Value, first and second derivative of every element, through the
    hyper-dual (symmetric) kernels: batch_hessian of a one-column function."""
    ufunc = getattr(np, row.name)
    with np.errstate(all="ignore"):
        H = dj.batch_hessian(lambda z: ufunc(z[:, 0]), x[:, None])
        J = dj.batch_jacobian(lambda z: ufunc(z[:, 0]), x[:, None])
        y = dj.jacobian(lambda z: ufunc(z) * 1.0, x[:5])
    return H, J, y


@pytest.mark.parametrize("row", BLOCK_ROWS, ids=lambda row: row.name)
def test_every_isa_gives_the_same_bits(row):
    best = _core.select_isa(2)
    try:
        for dtype in (np.float32, np.float64):
            x = np.concatenate([special_points(dtype), random_points(dtype, 5 * BLOCK + 7)])
            results = []
            for isa in range(best + 1):
                assert _core.select_isa(isa) == isa
                results.append(batch_components(row, x))
            for other in results[1:]:
                for got, want in zip(other, results[0]):
                    np.testing.assert_array_equal(got, want)
    finally:
        _core.select_isa(2)


@pytest.mark.parametrize("row", BLOCK_ROWS, ids=lambda row: row.name)
def test_strided_and_partial_blocks(row):
    """Columns of a batch (strided element reads), lengths around the block size."""
    ufunc = getattr(np, row.name)
    for rows_ in (1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5):
        x = np.random.default_rng(rows_).uniform(0.1, 3.0, (rows_, 3))
        J = dj.batch_jacobian(lambda z: ufunc(z[:, 1]) * z[:, 0], x)
        want = np.zeros((rows_, 3))
        want[:, 0] = ufunc(x[:, 1])
        want[:, 1] = derivative(row, x[:, 1]) * x[:, 0]
        np.testing.assert_allclose(J, want, rtol=1e-14, atol=1e-15)
