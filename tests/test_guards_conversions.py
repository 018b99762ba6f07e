"""Guards: conversions of jets to plain Python / NumPy values (np.asarray, float(),
.item(), math.*, indexing) raise a TypeError naming the fix, also inside every
transform; x.value is the deliberate escape (tests/guard_jets.py).
"""

import math
import operator

import numpy as np
import pytest

import dualjac as dj
from guard_jets import VALUES, assert_guard_message, expect_type_error

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "deferred")


CONVERSIONS = {
    "np.asarray(x)": lambda x: np.asarray(x),
    "np.array(x)": lambda x: np.array(x),
    "np.asarray(x, dtype=float)": lambda x: np.asarray(x, dtype=float),
    "np.asanyarray(x)": lambda x: np.asanyarray(x),
    "np.ascontiguousarray(x)": lambda x: np.ascontiguousarray(x),
    "np.asfortranarray(x)": lambda x: np.asfortranarray(x),
    "np.asarray_chkfinite(x)": lambda x: np.asarray_chkfinite(x),
    "np.require(x)": lambda x: np.require(x),
    "np.asarray(x, like=ndarray)": lambda x: np.asarray(x, like=np.empty(0)),
    "np.array([x0, x1])": lambda x: np.array([x[0], x[1]]),
    "np.asarray([x0, x1])": lambda x: np.asarray([x[0], x[1]]),
    "np.array([x0, 1.0])": lambda x: np.array([x[0], 1.0]),
    "np.array([x, x])": lambda x: np.array([x, x]),
    "np.array(list(x))": lambda x: np.array(list(x)),
    "np.array([x0, x1], dtype=object)": lambda x: np.array([x[0], x[1]], dtype=object),
    "np.fromiter(x, float)": lambda x: np.fromiter(x, float),
    "np.float64(x0)": lambda x: np.float64(x[0]),
    "np.float32(x0)": lambda x: np.float32(x[0]),
    "float(x0)": lambda x: float(x[0]),
    "int(x0)": lambda x: int(x[0]),
    "complex(x0)": lambda x: complex(x[0]),
    "x.item()": lambda x: x.item(),
    "x0.item()": lambda x: x[0].item(),
    "x.tolist()": lambda x: x.tolist(),
    "math.sin(x0)": lambda x: math.sin(x[0]),
    "math.exp(x0)": lambda x: math.exp(x[0]),
    "math.floor(x0)": lambda x: math.floor(x[0]),
    "math.fsum(x)": lambda x: math.fsum(x),
    "operator.index(x0)": lambda x: operator.index(x[0]),
    "range(x0)": lambda x: range(x[0]),
    "plain[x0]": lambda x: np.arange(3.0)[x[0]],
    "plain[x0, ]": lambda x: np.arange(3.0)[(x[0],)],
    "list[x0]": lambda x: [1.0, 2.0, 3.0][x[0]],
    "dual[x0]": lambda x: x[x[0]],
}


@pytest.mark.parametrize("name", list(CONVERSIONS))
def test_conversion_raises(name, jet):
    message = expect_type_error(lambda: CONVERSIONS[name](jet))
    assert_guard_message(message)


@pytest.mark.parametrize("name", ["np.array([x0, x1])", "np.asarray([x0, x1])", "np.array([x, x])"])
def test_building_arrays_from_duals_suggests_stack(name, jet):
    message = expect_type_error(lambda: CONVERSIONS[name](jet))
    assert "np.stack" in message, message


def test_value_is_the_deliberate_escape(jet):
    """x.value is the documented way to drop derivatives: plain, read-only, exact."""
    value = jet.value
    assert type(value) is np.ndarray and value.dtype == jet.dtype
    np.testing.assert_array_equal(value, np.asarray(VALUES, jet.dtype))
    with pytest.raises(ValueError):
        value[0] = 1.0
    assert float(jet.value[0]) == pytest.approx(VALUES[0], rel=1e-6)


TRANSFORMS_ON_VECTOR = {
    "jacobian": lambda f, x: dj.jacobian(f, x),
    "gradient": lambda f, x: dj.gradient(f, x),
    "jvp": lambda f, x: dj.jvp(f, x, np.ones_like(x)),
    "hessian": lambda f, x: dj.hessian(f, x),
    "hvp": lambda f, x: dj.hvp(f, x, np.ones_like(x)),
    "nested-jacobian": lambda f, x: dj.jacobian(lambda z: dj.jacobian(f, z), x),
}


@pytest.mark.parametrize("transform", list(TRANSFORMS_ON_VECTOR))
@pytest.mark.parametrize("conversion", ["np.asarray(x)", "float(x0)", "math.sin(x0)", "x.tolist()"])
def test_conversion_inside_a_transform_propagates(transform, conversion):
    """The transforms neither swallow the guard's error nor fall back to zeros."""
    convert = CONVERSIONS[conversion]

    def f(x):
        convert(x)
        return np.sum(x * x)

    x0 = np.asarray(VALUES)
    message = expect_type_error(lambda: TRANSFORMS_ON_VECTOR[transform](f, x0))
    assert_guard_message(message)
