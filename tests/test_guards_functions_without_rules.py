"""Guards: NumPy functions, ufuncs and ufunc methods with no derivative rule raise a
TypeError that names them as the user wrote them; ufunc methods that have a rule
honour or refuse every keyword (tests/guard_jets.py).
"""

import numpy as np
import pytest

import dualjac as dj
from guard_jets import DTYPES, MASK, VALUES, expect_type_error

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "deferred")


# name as the message must spell it -> call on a jet x of shape (3,)
NO_RULE_FUNCTIONS = {
    "np.fft.fft": lambda x: np.fft.fft(x),
    "np.fft.rfft": lambda x: np.fft.rfft(x),
    "np.fft.ifft": lambda x: np.fft.ifft(x),
    "np.fft.fft2": lambda x: np.fft.fft2(np.outer(x, x)),
    "np.fft.ihfft": lambda x: np.fft.ihfft(x),
    "np.sort_complex": lambda x: np.sort_complex(x),
    "np.interp": lambda x: np.interp(0.5, x, x),           # dual xp: x only is supported
    "np.pad": lambda x: np.pad(x, 1, mode=lambda v, w, i, k: None),   # a callable mode
    "np.histogram": lambda x: np.histogram([0.5, 1.0], bins=x),      # dual bins
    "np.lib.stride_tricks.sliding_window_view":                      # a writeable view
        lambda x: np.lib.stride_tricks.sliding_window_view(x, 2, writeable=True),
}


@pytest.mark.parametrize("name", [name for name in NO_RULE_FUNCTIONS if "fft" in name])
def test_complex_transforms_say_their_result_is_complex(name, jet):
    message = expect_type_error(lambda: NO_RULE_FUNCTIONS[name](jet))
    assert "complex" in message and "irfft" in message, message


@pytest.mark.parametrize("name", list(NO_RULE_FUNCTIONS))
def test_function_without_rule_names_itself(name, jet):
    message = expect_type_error(lambda: NO_RULE_FUNCTIONS[name](jet))
    assert "dualjac" in message, message
    assert name in message, f"the message does not name {name}: {message}"


def test_lexsort_of_a_list_is_caught_by_the_conversion_guard(jet_pair):
    """np.lexsort's dispatcher hands a *list* of keys to NumPy as one opaque
    argument, so NumPy never asks the dual arrays (NEP 18) and converts the list
    itself: the guard that fires is the conversion one. Still a TypeError, never
    a silent result."""
    message = expect_type_error(lambda: np.lexsort([jet_pair, jet_pair]))
    assert "dualjac" in message and "np.asarray" in message, message


@pytest.mark.parametrize("call,name", [
    pytest.param(lambda x: np.fft.rfftn(x), "np.fft.rfftn", id="np.fft.rfftn"),
    pytest.param(lambda x: np.fft.ifftn(x), "np.fft.ifftn", id="np.fft.ifftn"),
    pytest.param(lambda x: np.sort_complex(x), "np.sort_complex", id="np.sort_complex"),
])
def test_unsupported_call_is_named_as_the_user_wrote_it(call, name, jet_pair):
    """The message must name the function the user called -- not a different one
    (np.fft.rfftn must not be reported as "np.rfftn"; np.emath.sqrt, which has a rule, once
    was reported as np.sqrt)."""
    jet = jet_pair
    message = expect_type_error(lambda: call(jet))
    assert "dualjac" in message, message
    assert name in message, f"the message does not name {name}: {message}"


def test_scipy_special_ufunc_is_named_by_its_module(jet_pair):
    """A scipy.special ufunc with no rule (erf, jv and others have one)."""
    jet = jet_pair
    special = pytest.importorskip("scipy.special")
    message = expect_type_error(lambda: special.kolmogorov(jet))
    assert "scipy.special.kolmogorov" in message and "np.kolmogorov" not in message, (
        f"scipy.special.kolmogorov not reported as scipy.special's: {message}")


NO_RULE_UFUNCS = {
    "np.gcd": lambda x: np.gcd(x, x),
    "np.lcm": lambda x: np.lcm(x, x),
    "np.bitwise_and": lambda x: np.bitwise_and(x, x),
    "np.sin (dtype=float16)": lambda x: np.sin(x, dtype=np.float16),
}


@pytest.mark.parametrize("name", list(NO_RULE_UFUNCS))
def test_ufunc_without_rule_names_itself(name, jet):
    message = expect_type_error(lambda: NO_RULE_UFUNCS[name](jet))
    assert "dualjac" in message, message
    assert name.split(" ")[0] in message or "float16" in message, message


NO_RULE_UFUNC_METHODS = {
    "np.add.at": lambda x: np.add.at(x, [0], 1.0),
    "np.multiply.at": lambda x: np.multiply.at(x, [0], 2.0),
    "np.multiply.outer": lambda x: np.multiply.outer(x, x),
    "np.add.outer": lambda x: np.add.outer(x, x),
    "np.add.reduceat": lambda x: np.add.reduceat(x, [0]),
    "np.maximum.reduceat": lambda x: np.maximum.reduceat(x, [0]),
    "np.equal.reduce": lambda x: np.equal.reduce(x),     # (a comparison: plain results)
    "np.sin.at": lambda x: np.sin.at(x, [0]),
}


@pytest.mark.parametrize("name", list(NO_RULE_UFUNC_METHODS))
def test_ufunc_method_without_rule_names_itself(name, jet):
    message = expect_type_error(lambda: NO_RULE_UFUNC_METHODS[name](jet))
    assert "dualjac" in message and name in message, message


# ---- ufunc methods that have a rule must honour (or refuse) every keyword

REDUCE_KEYWORDS = {
    # name: (call on x, NumPy's value on v, derivative of the value wrt v)
    "np.add.reduce(where=mask)": (
        lambda x: np.add.reduce(x, where=MASK),
        lambda v: np.add.reduce(v, where=MASK), lambda v: MASK.astype(float)),
    "np.add.reduce(initial=5)": (
        lambda x: np.add.reduce(x, initial=5.0),
        lambda v: np.add.reduce(v, initial=5.0), lambda v: np.ones(3)),
    "np.multiply.reduce(where=mask)": (
        lambda x: np.multiply.reduce(x, where=MASK),
        lambda v: np.multiply.reduce(v, where=MASK), lambda v: np.array([v[2], 0.0, v[0]])),
    "np.multiply.reduce(initial=2)": (
        lambda x: np.multiply.reduce(x, initial=2.0),
        lambda v: np.multiply.reduce(v, initial=2.0),
        lambda v: 2.0 * np.array([v[1] * v[2], v[0] * v[2], v[0] * v[1]])),
    "np.maximum.reduce(initial=0.9)": (
        lambda x: np.maximum.reduce(x, initial=0.9),
        lambda v: np.maximum.reduce(v, initial=0.9), lambda v: np.zeros(3)),
    "np.maximum.reduce(where=, initial=)": (
        lambda x: np.maximum.reduce(x, where=np.array([True, True, False]), initial=0.0),
        lambda v: np.maximum.reduce(v, where=np.array([True, True, False]), initial=0.0),
        lambda v: np.array([0.0, 1.0, 0.0])),
    "np.minimum.reduce(where=, initial=)": (
        lambda x: np.minimum.reduce(x, where=np.array([False, True, True]), initial=1.0),
        lambda v: np.minimum.reduce(v, where=np.array([False, True, True]), initial=1.0),
        lambda v: np.array([0.0, 1.0, 0.0])),
    "np.sum(where=mask)": (
        lambda x: np.sum(x, where=MASK),
        lambda v: np.sum(v, where=MASK), lambda v: MASK.astype(float)),
    "np.prod(where=mask)": (
        lambda x: np.prod(x, where=MASK),
        lambda v: np.prod(v, where=MASK), lambda v: np.array([v[2], 0.0, v[0]])),
}


@pytest.mark.parametrize("order", ["dual", "hyper"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(REDUCE_KEYWORDS))
def test_reduction_keywords_are_honoured_or_refused(name, dtype, order):
    call, value, gradient = REDUCE_KEYWORDS[name]
    v = np.asarray(VALUES, dtype)
    try:
        if order == "dual":
            y, J = dj.value_and_jacobian(call, v)
        else:
            y, J, _ = dj.value_gradient_hessian(call, v)
    except TypeError as error:  # refusing is fine, if it says so
        assert "dualjac" in str(error), error
        return
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, value(v.astype(np.float64)), rtol=rtol,
                               err_msg=f"{name}: wrong value (a keyword was ignored)")
    np.testing.assert_allclose(J, gradient(v.astype(np.float64)), rtol=rtol, atol=1e-7,
                               err_msg=f"{name}: silently wrong derivative")
