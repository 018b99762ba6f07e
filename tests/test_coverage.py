"""Coverage: every public callable of NumPy (np, np.linalg, np.fft, np.emath,
np.polynomial.*, np.lib.stride_tricks), every scipy.special ufunc and a list of SciPy
functions is classified (tests/coverage_calls.py), and running each differentiable one's
sample call on dual arrays either matches the witness at first and second order or raises
a TypeError naming the function. Which ones are supported is found by running, so the test
holds while rules are added; ``python tests/coverage_calls.py`` prints the counts.
"""

import warnings

import numpy as np
import pytest

from coverage_calls import (MODULES_NOT_WALKED, NOT_DIFFERENTIABLE, SAMPLES, flat_call,
                            names_function, outcome, public_callables, resolve)
from witness import central_difference_jacobian, complex_step_jacobian

PUBLIC = public_callables()


# ---------------------------------------------------------------- classification

def test_every_public_callable_is_classified():
    """A new NumPy or SciPy callable fails here until it gets a sample call or a reason."""
    listed = set(SAMPLES) | {name for names in NOT_DIFFERENTIABLE.values() for name in names}
    missing = sorted(set(PUBLIC) - listed)
    assert not missing, ("public callables without a sample call in tests/coverage_*.py "
                         "or a not-differentiable reason: " + " ".join(missing))


def test_each_callable_is_classified_once():
    seen = {}
    for reason, names in NOT_DIFFERENTIABLE.items():
        for name in names:
            assert name not in seen, f"{name} is listed under {seen[name]!r} and {reason!r}"
            assert name not in SAMPLES, f"{name} has a sample call and is listed as {reason!r}"
            seen[name] = reason


@pytest.mark.parametrize("reason", sorted(NOT_DIFFERENTIABLE))
def test_not_differentiable_names_still_exist(reason):
    gone = []
    for name in NOT_DIFFERENTIABLE[reason]:
        try:
            assert callable(resolve(name))
        except (LookupError, AttributeError, AssertionError):
            gone.append(name)
    assert not gone, f"listed as {reason!r} but no longer a public callable: {gone}"


def test_sampled_names_exist_and_modules_not_walked_exist():
    gone = []
    for name in SAMPLES:
        try:
            resolve(name)
        except (LookupError, AttributeError):
            gone.append(name)
    assert not gone, f"sample calls of names that no longer exist: {gone}"
    for name in MODULES_NOT_WALKED:
        resolve(name)


def test_the_walk_reaches_every_namespace():
    for name in ("np.sin", "np.linalg.svd", "np.fft.fft", "np.emath.sqrt",
                 "np.polynomial.polynomial.polyder", "np.polynomial.chebyshev.chebval",
                 "scipy.special.jv", "scipy.special.erf"):
        assert name in PUBLIC, name
    assert len(PUBLIC) > 700


# ---------------------------------------------------------------- witnesses

def witness(name, x):
    """(Jacobian, Hessian, method, uncertainty of each) of f at x without dualjac: complex
    step where f accepts complex input and is analytic there (it agrees with central
    differences), else central differences; the Hessian is the central difference of that
    Jacobian. The uncertainty is the difference between two step sizes: SciPy's inverse
    distribution functions are iterated to a tolerance, and differencing amplifies it."""
    f, g = flat_call(name), flat_call(name, keep_complex=True)
    differences = central_difference_jacobian(f, x, 1e-6)
    scale = max(1.0, float(np.max(np.abs(differences), initial=0.0)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            complex_step = complex_step_jacobian(g, x)
            analytic = np.allclose(complex_step, differences, rtol=1e-5, atol=1e-6 * scale)
    except Exception:  # noqa: BLE001 - no complex input: central differences alone
        analytic = False
    if analytic:
        def jacobian(z):
            return complex_step_jacobian(g, z)
        first, first_noise, steps, method = complex_step, 0.0, (1e-5, 2e-5), "complex step"
    else:
        def jacobian(z):
            return central_difference_jacobian(f, z, 1e-5)
        first, steps, method = differences, (1e-3, 5e-4), "central differences"
        first_noise = np.abs(differences - central_difference_jacobian(f, x, 1e-4))
    second, coarser = (central_difference_jacobian(jacobian, x, step) for step in steps)
    return first, second, method, first_noise, np.abs(second - coarser)


TOLERANCES = {"complex step": (1e-7, 1e-5), "central differences": (1e-5, 1e-4)}


def assert_close(got, want, tolerance, noise, what):
    """|got - want| <= tolerance (relative to the entry and to the largest entry) plus
    ten times the witness's own uncertainty; NaN only where the witness is not finite."""
    assert np.shape(got) == np.shape(want), f"{what}: shape {np.shape(got)} != {np.shape(want)}"
    assert not np.any(np.isnan(got) & np.isfinite(want)), f"{what}: NaN where the witness is finite"
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    bound = tolerance * (np.abs(want) + scale) + 10.0 * noise
    wrong = ~(np.abs(got - want) <= bound)
    assert not np.any(wrong), (
        f"{what}: {int(np.sum(wrong))} of {np.size(want)} entries differ; largest difference "
        f"{np.max(np.abs(got - want)[wrong]):.3g}\ngot  {np.asarray(got)[wrong]}\n"
        f"want {np.asarray(want)[wrong]}")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_differentiable_function(name):
    """Supported: value, Jacobian and Hessian match the witness. Unsupported: a
    TypeError naming the function (never another exception, never a wrong number)."""
    x = SAMPLES[name].point(name)
    f = flat_call(name)
    plain = f(x)
    assert np.all(np.isfinite(plain)), f"{name}: the sample point is outside the domain"
    result = outcome(name)
    if result.kind in ("unsupported", "first order only"):
        assert names_function(result.error, name, PUBLIC), (
            f"{name} raised a TypeError that does not name it: {result.error}")
    if result.kind == "unsupported":
        return
    if result.kind == "error":
        raise AssertionError(f"{name} on dual arrays raised {type(result.error).__name__} "
                             f"instead of a result or a TypeError naming it") from result.error
    jacobian, hessian, method, first_noise, second_noise = witness(name, x)
    first, second = TOLERANCES[method]
    np.testing.assert_allclose(result.value, plain, rtol=1e-12, atol=1e-12,
                               err_msg=f"{name}: value differs from NumPy's")
    assert_close(result.jacobian, jacobian, first, first_noise, f"{name}: Jacobian vs {method}")
    if result.kind == "supported":
        assert_close(result.hessian, hessian, second, second_noise, f"{name}: Hessian vs {method}")
