"""reduce and accumulate of binary ufuncs without a rule of their own (dualjac/dispatch/
folds.py): np.logaddexp.reduce, np.maximum.accumulate, np.hypot.reduce, ... fold the ufunc
along the axis as NumPy does. Witnesses: NumPy's values, analytic derivatives
(softmax weights, the running maximum's element, x / |x|), NumPy's errors, and eager's bits
for deferred jets (batch transforms)."""

import numpy as np
import pytest

import dualjac as dj
from deferral import DTYPES, TRANSFORMS, assert_matches_eager, pending, rng_x

pytestmark = pytest.mark.usefixtures("threshold_is_restored")

X = np.random.default_rng(3).standard_normal((3, 5))
KEEP = np.array([True, False, True, True, False])

FOLDS = {
    "logaddexp_reduce": lambda a: np.logaddexp.reduce(a, axis=1),
    "logaddexp_reduce_axis0": lambda a: np.logaddexp.reduce(a, axis=0),
    "logaddexp_reduce_every_axis_keepdims": lambda a: np.logaddexp.reduce(a, axis=(0, 1),
                                                                         keepdims=True),
    "logaddexp2_reduce_where": lambda a: np.logaddexp2.reduce(a, axis=-1, where=KEEP),
    "logaddexp_accumulate": lambda a: np.logaddexp.accumulate(a, axis=1),
    "maximum_accumulate": lambda a: np.maximum.accumulate(a, axis=1),
    "minimum_accumulate_axis0": lambda a: np.minimum.accumulate(a, axis=0),
    "hypot_reduce": lambda a: np.hypot.reduce(a, axis=1),
    "subtract_reduce": lambda a: np.subtract.reduce(a, axis=-1),
    "fmax_reduce_initial_where": lambda a: np.fmax.reduce(a, axis=1, where=KEEP, initial=-1.0),
    "arctan2_accumulate": lambda a: np.arctan2.accumulate(a, axis=1),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FOLDS)
def test_values_are_numpys(name, dtype):
    """NumPy's values, up to the rounding of a ufunc's own rule (np.logaddexp2 in float32
    may differ from NumPy's in the last bit: the rules table computes it)."""
    x = X.astype(dtype)
    value, jac = dj.value_and_jacobian(FOLDS[name], x)
    np.testing.assert_allclose(value, FOLDS[name](x), rtol=2 * np.finfo(dtype).eps, atol=0)
    assert value.dtype == dtype and jac.dtype == dtype


@pytest.mark.parametrize("name", FOLDS)
def test_jacobian_and_hessian_against_central_differences(name):
    f, h = FOLDS[name], 1e-6
    jac = dj.jacobian(f, X)
    hess = dj.hessian(lambda z: np.sum(f(z) ** 2), X)
    grad = lambda z: dj.gradient(lambda w: np.sum(f(w) ** 2), z)   # noqa: E731
    for index in np.ndindex(X.shape):
        step = np.zeros_like(X)
        step[index] = h
        np.testing.assert_allclose(jac[(...,) + index], (f(X + step) - f(X - step)) / (2 * h),
                                   atol=1e-8)
        np.testing.assert_allclose(hess[(...,) + index],
                                   (grad(X + step) - grad(X - step)) / (2 * h), atol=1e-6)


def test_analytic_derivatives():
    """d logsumexp / dx is softmax; the running maximum's derivative is its element's; d
    hypot.reduce / dx is x / |x|; subtract.reduce is x0 - x1 - x2 - ..."""
    softmax = np.exp(X - np.logaddexp.reduce(X, axis=1)[:, None])
    np.testing.assert_allclose(dj.jacobian(FOLDS["logaddexp_reduce"], X)[np.arange(3), np.arange(3)],
                               softmax, rtol=1e-14)
    jac = dj.jacobian(FOLDS["maximum_accumulate"], X)
    top = np.array([[np.argmax(row[:j + 1]) for j in range(5)] for row in X])
    want = np.zeros((3, 5, 3, 5))
    for r, j in np.ndindex(3, 5):
        want[r, j, r, top[r, j]] = 1.0
    np.testing.assert_array_equal(jac, want)
    jac = dj.jacobian(FOLDS["hypot_reduce"], X)[np.arange(3), np.arange(3)]
    np.testing.assert_allclose(jac, X / np.linalg.norm(X, axis=1, keepdims=True), rtol=1e-14)
    jac = dj.jacobian(FOLDS["subtract_reduce"], X)[np.arange(3), np.arange(3)]
    np.testing.assert_array_equal(jac, np.tile([1.0, -1, -1, -1, -1], (3, 1)))


@pytest.mark.parametrize("call, error", [
    (lambda a: np.subtract.reduce(a, axis=(0, 1)), "not reorderable"),
    (lambda a: np.maximum.accumulate(a, axis=3), "out of bounds"),
    (lambda a: np.fmax.reduce(a, axis=1, where=a > 0), "to use a where mask"),
    (lambda a: np.fmax.reduce(a[:, :0], axis=1), "zero-size array"),
])
def test_numpys_errors(call, error):
    with pytest.raises(ValueError, match=error):
        call(X)
    with pytest.raises(ValueError, match=error):
        dj.jacobian(call, X)


ROW_FOLDS = {
    "logaddexp_reduce": lambda x: pending(x, np.logaddexp.reduce(x, axis=-1)),
    "logaddexp_reduce_keepdims": lambda x: x - pending(x, np.logaddexp.reduce(
        x, axis=1, keepdims=True)),
    "maximum_accumulate": lambda x: pending(x, np.maximum.accumulate(np.sin(x), axis=1)),
    "hypot_reduce_where": lambda x: pending(x, np.hypot.reduce(x, axis=1, where=[1, 0, 1])),
    "multiply_accumulate": lambda x: pending(x, np.multiply.accumulate(x + 1.5, axis=1)),
    "cumulative_sum_initial": lambda x: pending(x, np.cumulative_sum(
        x * x, axis=1, include_initial=True)),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ROW_FOLDS)
def test_deferred_jets_record_folds_with_eagers_bits(name, dtype, transform):
    assert_matches_eager(TRANSFORMS[transform], ROW_FOLDS[name], rng_x((700, 3), dtype))


@pytest.mark.parametrize("name", FOLDS)
def test_sparsity_tracer_runs_the_folds(name):
    """The tracer runs the same fold: its pattern holds every nonzero of the Jacobian, and
    for a fold along axis 1 no row of X reaches another row's results."""
    pattern = dj.jacobian_sparsity(FOLDS[name], X).toarray()
    jac = dj.jacobian(FOLDS[name], X)
    assert pattern[jac.reshape(pattern.shape) != 0].all()
    if name == "logaddexp_reduce":
        np.testing.assert_array_equal(pattern, np.kron(np.eye(3), np.ones((1, 5))) != 0)
