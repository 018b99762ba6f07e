"""np.emath on dual arrays (dualjac/dispatch/scimath.py): inside the real domain, the real
function's values and derivatives; outside it, a ValueError. Witness: complex step through
np.emath itself (it accepts complex input), first and second order."""

import numpy as np
import pytest

import dualjac as dj
from witness import complex_step_jacobian, witness_hessian

pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

X = np.array([0.15, 0.4, 0.85])

CALLS = {
    "sqrt": lambda x: np.emath.sqrt(x),
    "log": lambda x: np.emath.log(x),
    "log2": lambda x: np.emath.log2(x),
    "log10": lambda x: np.emath.log10(x),
    "logn": lambda x: np.emath.logn(x[0] + 2.0, x),
    "power": lambda x: np.emath.power(x, x[::-1] + 0.5),
    "arccos": lambda x: np.emath.arccos(x),
    "arcsin": lambda x: np.emath.arcsin(x),
    "arctanh": lambda x: np.emath.arctanh(x),
}


@pytest.mark.parametrize("name", CALLS)
def test_values_and_derivatives_inside_the_real_domain(name):
    f = CALLS[name]
    J = dj.jacobian(f, X)
    np.testing.assert_allclose(J, complex_step_jacobian(f, X), rtol=1e-13, atol=1e-14)
    H = dj.hessian(lambda x: np.sum(f(x) ** 2), X)
    np.testing.assert_allclose(H, witness_hessian(lambda x: np.sum(f(x) ** 2), X),
                               rtol=1e-6, atol=1e-6)
    y = f(dj.DualArray(X, np.ones((3, 1))))
    np.testing.assert_allclose(y.value, f(X), rtol=4e-16)      # NumPy's values, to rounding


@pytest.mark.parametrize("name,point", [("sqrt", -0.5), ("log", -1.0), ("arcsin", 1.5),
                                        ("arctanh", -2.0), ("power", -0.5)])
def test_complex_results_are_refused(name, point):
    with pytest.raises(ValueError, match=f"np.emath.{name} .* is complex"):
        dj.jacobian(CALLS[name], np.array([0.5, point, 0.25]))
