"""Guards: dualjac never returns a silently wrong (derivative-free) result.

Anything a user can write that would drop derivatives must raise a clear
TypeError that names the function and the fix. Every test here runs on a
DualArray (built with ``dj.DualArray(value, tangent)`` or seen inside
``dj.jacobian``) and on a HyperDualArray (seen inside ``dj.hessian`` or a nested
``dj.jacobian``), in float32 and float64 where the dtype matters:

1. conversions to plain Python / NumPy values (np.asarray, float(), .item(), math.*, indexing);
2. storing dual values into plain ndarrays (setitem, np.copyto, ufunc ``out=``, in-place
   operators) -- and the supported spelling (np.zeros_like(x) / np.zeros(n, like=x));
3. NumPy functions, ufuncs and ufunc methods with no derivative rule;
4. a sweep over NumPy's public API (np, np.linalg, np.fft): every function either raises,
   returns dual arrays whose values agree with NumPy, or returns something derivative-free
   by nature (bool / int / shapes); a plain *float* result is a silent loss;
5. the transforms' own input / target checks.

A test that fails here is a hole in the promise; keep it failing until the library is fixed.
"""

import math
import operator
import os
import subprocess
import sys
import textwrap
import types
import warnings

import numpy as np
import pytest

import dualjac as dj
from dualjac import DualArray, HyperDualArray
from dualjac._core import _Jet

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "deferred")

VALUES = (0.3, 0.5, 0.7)
DTYPES = [np.float64, np.float32]
MASK = np.array([True, False, True])

# Words that show an error message points at a fix.
FIX_HINTS = ("x.value", "np.stack", "like=", "np.zeros_like", "np.zeros(")


# ---------------------------------------------------------------- making jets

def _capture(run):
    """The array f sees when ``run(f)`` calls it (f returns a harmless scalar)."""
    seen = []

    def f(z):
        seen.append(z)
        return np.sum(z * z)

    run(f)
    return seen[0]


def make_jet(kind, dtype=np.float64, values=VALUES):
    """A jet of the given kind holding ``values``.

    dual          DualArray(value, identity tangent)
    dual-jacobian the source as f sees it inside dj.jacobian
    hyper-hessian the source as f sees it inside dj.hessian
    hyper-nested  the source as the inner f sees it in dj.jacobian(lambda z: dj.jacobian(f, z), x)
    banded-jacobian / banded-hessian  the same, with banded seeding (a BandedJet)
    deferred-jacobian / deferred-hessian  row 0 of a one-row source as f sees it inside
                  dj.batch_jacobian / dj.batch_hessian with deferred jets (a DeferredJet)
    """
    x0 = np.asarray(values, dtype=dtype)
    if kind == "dual":
        jet = DualArray(x0, np.eye(x0.size, dtype=dtype).reshape(x0.shape + (x0.size,)))
    elif kind == "dual-jacobian":
        jet = _capture(lambda f: dj.jacobian(f, x0))
    elif kind == "hyper-hessian":
        jet = _capture(lambda f: dj.hessian(f, x0))
    elif kind == "hyper-nested":
        jet = _capture(lambda f: dj.jacobian(lambda z: dj.jacobian(f, z), x0))
    elif kind.startswith("banded-"):
        from banding import banded_from   # (tests/; a subprocess test imports this module)
        transform = dj.jacobian if kind == "banded-jacobian" else dj.hessian
        with banded_from(1):
            jet = _capture(lambda f: transform(f, x0))
    elif kind.startswith("deferred-"):
        from banding import deferred_from
        transform = dj.batch_jacobian if kind == "deferred-jacobian" else dj.batch_hessian
        seen = []
        with deferred_from(1):
            transform(lambda z: (seen.append(z[0]), z[:, 0] * 1.0)[1], x0[None, :])
        jet = seen[0]
    else:
        raise AssertionError(kind)
    expected = (dj.BandedJet if kind.startswith("banded") else
                dj.DeferredJet if kind.startswith("deferred") else
                DualArray if kind.startswith("dual") else HyperDualArray)
    assert isinstance(jet, expected), (kind, type(jet))
    assert jet.dtype == dtype
    return jet


def dense(jet):
    """The dense jet type's instance a jet stands for (a BandedJet densifies, a
    DeferredJet computes)."""
    if isinstance(jet, dj.BandedJet):
        return jet.densify()
    return jet.compute() if isinstance(jet, dj.DeferredJet) else jet


KINDS = ["dual", "dual-jacobian", "hyper-hessian", "hyper-nested", "banded-jacobian",
         "banded-hessian", "deferred-jacobian", "deferred-hessian"]


@pytest.fixture(params=[(k, d) for k in KINDS for d in DTYPES],
                ids=[f"{k}-{np.dtype(d).name}" for k in KINDS for d in DTYPES])
def jet(request):
    kind, dtype = request.param
    return make_jet(kind, dtype)


@pytest.fixture(params=[("dual", np.float64), ("hyper-hessian", np.float32)],
                ids=["dual-float64", "hyper-hessian-float32"])
def jet_pair(request):
    """One DualArray and one HyperDualArray, for checks whose outcome does not depend on
    how the jet was made (keeps one hole from failing eight times)."""
    return make_jet(*request.param)


def expect_type_error(call, loss="derivatives silently dropped"):
    """call() must raise TypeError (not ValueError, not nothing): its message."""
    try:
        result = call()
    except TypeError as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - we report what was raised instead
        pytest.fail(f"raised {type(error).__name__} instead of TypeError: {error}")
    pytest.fail(f"no error: returned {type(result).__name__} {result!r:.200}: {loss}")


def assert_guard_message(message, *must_contain):
    assert "dualjac" in message, message
    assert any(hint in message for hint in FIX_HINTS), f"no fix suggested in: {message}"
    for text in must_contain:
        assert text in message, f"{text!r} not in: {message}"


# ================================================================ 1. conversions

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


# ================================================================ 2. storing into plain arrays

def _inplace(op, start=0.0):
    def store(x):
        plain = np.full(3, start) if start else np.zeros(3)
        return op(plain, x)
    return store


STORES = {
    "plain[0] = x0": lambda x: np.zeros(3).__setitem__(0, x[0]),
    "plain32[0] = x0": lambda x: np.zeros(3, np.float32).__setitem__(0, x[0]),
    "plain_int[0] = x0": lambda x: np.zeros(3, np.int64).__setitem__(0, x[0]),
    "plain[:2] = x[:2]": lambda x: np.zeros(3).__setitem__(slice(0, 2), x[:2]),
    "plain[[0, 1]] = x[:2]": lambda x: np.zeros(3).__setitem__([0, 1], x[:2]),
    "plain[mask] = x[mask]": lambda x: np.zeros(3).__setitem__(MASK, x[MASK]),
    "plain[...] = x": lambda x: np.zeros(3).__setitem__(Ellipsis, x),
    "plain[:] = x": lambda x: np.zeros(3).__setitem__(slice(None), x),
    "plain2d[0] = x": lambda x: np.zeros((2, 3)).__setitem__(0, x),
    "plain[:2] = [x0, x1]": lambda x: np.zeros(3).__setitem__(slice(0, 2), [x[0], x[1]]),
    "plain.fill(x0)": lambda x: np.zeros(3).fill(x[0]),
    "plain.put(0, x0)": lambda x: np.zeros(3).put(0, x[0]),
    "np.copyto(plain, x)": lambda x: np.copyto(np.zeros(3), x),
    "np.copyto(plain, x0)": lambda x: np.copyto(np.zeros(3), x[0]),
    "np.place(plain, mask, x)": lambda x: np.place(np.zeros(3), MASK, x),
    "np.put(plain, [0, 1], x[:2])": lambda x: np.put(np.zeros(3), [0, 1], x[:2]),
    "np.putmask(plain, mask, x)": lambda x: np.putmask(np.zeros(3), MASK, x),
    "np.put_along_axis(plain, ...)": lambda x: np.put_along_axis(np.zeros(3), np.array([0]), x[:1], 0),
    "np.fill_diagonal(plain2d, x)": lambda x: np.fill_diagonal(np.zeros((3, 3)), x),
    "np.add.at(plain, [0], x0)": lambda x: np.add.at(np.zeros(3), [0], x[0]),
    # ufuncs with out= a plain array
    "np.multiply(x, 2, out=plain)": lambda x: np.multiply(x, 2, out=np.zeros(3)),
    "np.sin(x, out=plain)": lambda x: np.sin(x, out=np.zeros(3)),
    "np.add(plain, x, out=plain)": _inplace(lambda p, x: np.add(p, x, out=p)),
    "np.add(plain, x, out=(plain,))": _inplace(lambda p, x: np.add(p, x, out=(p,))),
    "np.exp(x, out=plain, where=mask)": lambda x: np.exp(x, out=np.zeros(3), where=MASK),
    "np.maximum(x, 0.4, out=plain)": lambda x: np.maximum(x, 0.4, out=np.zeros(3)),
    "np.floor_divide(x, 0.2, out=plain)": lambda x: np.floor_divide(x, 0.2, out=np.zeros(3)),
    "np.remainder(x, 0.2, out=plain)": lambda x: np.remainder(x, 0.2, out=np.zeros(3)),
    "np.negative(x, out=plain)": lambda x: np.negative(x, out=np.zeros(3)),
    "np.matmul(M, x, out=plain)": lambda x: np.matmul(np.eye(3), x, out=np.zeros(3)),
    "np.vecdot(x, x, out=plain)": lambda x: np.vecdot(x, x, out=np.zeros(())),
    "np.multiply(x, 2, out=plain_int)": lambda x: np.multiply(x, 2, out=np.zeros(3, np.int64)),
    # in-place operators on a plain left operand
    "plain += x": _inplace(operator.iadd),
    "plain -= x0": _inplace(lambda p, x: operator.isub(p, x[0])),
    "plain *= x": _inplace(operator.imul, 1.0),
    "plain /= x": _inplace(operator.itruediv, 1.0),
    "plain **= x": _inplace(operator.ipow, 1.0),
    "plain[0] += x0": lambda x: np.zeros(3).__setitem__(0, np.zeros(3)[0] + x[0]),
    # functions with out= a plain array
    "np.sum(x, out=plain)": lambda x: np.sum(x, out=np.zeros(())),
    "np.mean(x, out=plain)": lambda x: np.mean(x, out=np.zeros(())),
    "np.prod(x, out=plain)": lambda x: np.prod(x, out=np.zeros(())),
    "np.max(x, out=plain)": lambda x: np.max(x, out=np.zeros(())),
    "np.var(x, out=plain)": lambda x: np.var(x, out=np.zeros(())),
    "np.cumsum(x, out=plain)": lambda x: np.cumsum(x, out=np.zeros(3)),
    "np.clip(x, 0, 1, out=plain)": lambda x: np.clip(x, 0, 1, out=np.zeros(3)),
    "np.take(x, [0], out=plain)": lambda x: np.take(x, [0], out=np.zeros(1)),
    "np.dot(x, x, out=plain)": lambda x: np.dot(x, x, out=np.zeros(())),
    "np.outer(x, x, out=plain)": lambda x: np.outer(x, x, out=np.zeros((3, 3))),
    "np.einsum('i->i', x, out=plain)": lambda x: np.einsum("i->i", x, out=np.zeros(3)),
    "np.concatenate([x], out=plain)": lambda x: np.concatenate([x], out=np.zeros(3)),
    "np.add.reduce(x, out=plain)": lambda x: np.add.reduce(x, out=np.zeros(())),
    "np.add.accumulate(x, out=plain)": lambda x: np.add.accumulate(x, out=np.zeros(3)),
}


@pytest.mark.parametrize("name", list(STORES))
def test_store_into_plain_array_raises(name, jet):
    message = expect_type_error(lambda: STORES[name](jet))
    assert "dualjac" in message, message
    assert "drop" in message or "not supported" in message or "no derivative rule" in message, message


@pytest.mark.parametrize("name", ["plain[0] = x0", "plain[:2] = x[:2]", "np.copyto(plain, x)",
                                  "np.multiply(x, 2, out=plain)", "plain += x"])
def test_store_inside_a_transform_propagates(name):
    store = STORES[name]

    def f(x):
        store(x)
        return x * x

    x0 = np.asarray(VALUES)
    for transform in (dj.jacobian, dj.hessian):
        expect_type_error(lambda: transform(f, x0))


def test_ufunc_out_message_names_the_ufunc_and_fix(jet):
    message = expect_type_error(lambda: np.multiply(jet, 2, out=np.zeros(3)))
    assert "np.multiply" in message and "np.zeros_like" in message, message


# ---- the supported spelling

def _filled(out, x):
    out[0] = x[0] ** 2
    out[1] = x[1] * x[2]
    out[2] = np.sin(x[2])
    return out


def _expected_jacobian(v):
    return np.array([[2 * v[0], 0, 0], [0, v[2], v[1]], [0, 0, np.cos(v[2])]])


def _expected_hessian_of_sum(v):
    return np.array([[2.0, 0, 0], [0, 0, 1.0], [0, 1.0, -np.sin(v[2])]])


CREATORS = {
    "np.zeros_like(x)": lambda x: np.zeros_like(x),
    "np.empty_like(x)": lambda x: np.empty_like(x),
    "np.ones_like(x)": lambda x: np.ones_like(x),
    "np.zeros(3, like=x)": lambda x: np.zeros(3, dtype=x.dtype, like=x),
    "np.empty(3, like=x)": lambda x: np.empty(3, dtype=x.dtype, like=x),
    "np.ones(3, like=x)": lambda x: np.ones(3, dtype=x.dtype, like=x),
    "np.full(3, 2.0, like=x)": lambda x: np.full(3, 2.0, dtype=x.dtype, like=x),
    # without dtype=: NumPy's default float64, whatever x's dtype (as np.zeros(3, like=a) does)
    "np.zeros(3, like=x) [default dtype]": lambda x: np.zeros(3, like=x),
    "np.ones((3,), like=x) [default dtype]": lambda x: np.ones((3,), like=x),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("creator", list(CREATORS))
def test_created_like_then_assigned_has_exact_jacobian(creator, dtype):
    v = np.asarray(VALUES, dtype)
    J = dj.jacobian(lambda x: _filled(CREATORS[creator](x), x), v)
    assert J.dtype == dtype     # the source's dtype (TF's rule), whatever f computes in
    np.testing.assert_allclose(J, _expected_jacobian(v.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("creator", list(CREATORS))
def test_created_like_then_assigned_has_exact_hessian(creator, dtype):
    v = np.asarray(VALUES, dtype)
    f = lambda x: np.sum(_filled(CREATORS[creator](x), x))  # noqa: E731
    H = dj.hessian(f, v)
    np.testing.assert_allclose(H, _expected_hessian_of_sum(v.astype(np.float64)), rtol=1e-5)
    H_nested = dj.jacobian(lambda z: dj.jacobian(f, z), v)
    np.testing.assert_allclose(H_nested, _expected_hessian_of_sum(v.astype(np.float64)), rtol=1e-5)


def test_created_like_keeps_level_dtype_and_is_unconnected(jet):
    for name, create in CREATORS.items():
        out = create(jet)
        assert type(out) is type(dense(jet)), name
        assert out.dtype == (np.float64 if "default dtype" in name else jet.dtype), name
        assert out.shape == (3,), name
        assert np.all(out.buf[..., 1:] == 0), name


@pytest.mark.parametrize("data", [
    pytest.param(lambda: np.array([1.0, 2.0]), id="ndarray"),
    pytest.param(lambda: [1.0, 2.0], id="list"),
    pytest.param(lambda: (1.0, 2.0), id="tuple"),
    pytest.param(lambda: 1.5, id="scalar"),
])
@pytest.mark.parametrize("creator", ["asarray", "array"])
def test_asarray_like_lifts_plain_data(creator, data, jet_pair):
    """np.asarray(data, like=x) is NEP 35's way to make a constant at x's level.
    It must work for any array-like NumPy itself accepts (lists and tuples too)."""
    jet = jet_pair
    plain = np.asarray(data())
    result = getattr(np, creator)(data(), like=jet)
    assert type(result) is type(jet)
    assert result.shape == plain.shape
    np.testing.assert_array_equal(result.value, plain.astype(result.dtype))
    assert np.all(result.buf[..., 1:] == 0)


# ---- creation with a dtype dual arrays cannot hold

ODD_DTYPES = [np.float16, np.longdouble, np.dtype(">f8"), np.dtype("<f4").newbyteorder()]
ODD_CREATORS = {
    "np.zeros_like(x, dtype=)": lambda x, dt: np.zeros_like(x, dtype=dt),
    "np.ones_like(x, dtype=)": lambda x, dt: np.ones_like(x, dtype=dt),
    "np.full_like(x, 1, dtype=)": lambda x, dt: np.full_like(x, 1.0, dtype=dt),
    "np.zeros(3, dtype=, like=x)": lambda x, dt: np.zeros(3, dtype=dt, like=x),
    "np.full(3, 1, dtype=, like=x)": lambda x, dt: np.full(3, 1.0, dtype=dt, like=x),
    "np.asarray(plain, dtype=, like=x)": lambda x, dt: np.asarray(np.ones(3), dtype=dt, like=x),
    "np.asarray(plain_of_dtype, like=x)": lambda x, dt: np.asarray(np.ones(3, dtype=dt), like=x),
}


@pytest.mark.parametrize("dtype", ODD_DTYPES, ids=lambda d: np.dtype(d).str)
@pytest.mark.parametrize("creator", list(ODD_CREATORS))
def test_creation_with_a_dtype_duals_cannot_hold(creator, dtype, jet_pair):
    """The C kernels know native float32 / float64 only: a jet of another dtype
    (half, extended, byte-swapped) must be refused -- or created as float32 / float64 --
    never handed to the kernels to be read as the wrong type."""
    jet = jet_pair
    try:
        z = ODD_CREATORS[creator](jet, dtype)
    except TypeError as error:
        assert "dualjac" in str(error), error
        return
    if not isinstance(z, _Jet):
        return  # a plain array: nothing dual to get wrong
    assert z.dtype in (np.dtype(np.float32), np.dtype(np.float64)), (
        f"{creator} made a {type(z).__name__} of dtype {z.dtype!r}")
    z[0] = jet[0]
    y = np.sin(z) + z * 2.0
    np.testing.assert_allclose(y.value[0], np.sin(VALUES[0]) + 2 * VALUES[0], rtol=1e-5)


# ---- out= a dual array, with plain (derivative-free) inputs

def test_ufunc_with_dual_out_and_rule_free_path_stores(jet_pair):
    """floor_divide on plain inputs into a dual `out`: stored with zero derivatives."""
    jet = jet_pair
    out = np.zeros_like(jet)
    result = np.floor_divide(np.array([1.0, 2.0, 3.0]), 2.0, out=out)
    assert result is out
    np.testing.assert_array_equal(out.value, [0.0, 1.0, 1.0])
    assert np.all(out.buf[..., 1:] == 0)


def _stored_or_clear_error(call, expected_values, ufunc_name):
    """Either the plain result is stored into the dual out (zero derivatives), or a
    TypeError that names dualjac and the ufunc. Anything else is a hole."""
    try:
        out = call()
    except TypeError as error:
        assert "dualjac" in str(error) and ufunc_name in str(error), \
            f"unclear TypeError: {error}"
        return
    except BaseException as error:  # noqa: BLE001 - RecursionError etc. are the holes
        pytest.fail(f"raised {type(error).__name__}: {str(error)[:200]}")
    assert isinstance(out, _Jet)
    np.testing.assert_allclose(out.value, expected_values, rtol=1e-6)
    assert np.all(out.buf[..., 1:] == 0)


def test_unary_table_ufunc_on_plain_input_with_dual_out(jet_pair):
    jet = jet_pair
    plain = np.array([0.1, 0.2, 0.3])
    _stored_or_clear_error(lambda: np.sin(plain, out=np.zeros_like(jet)), np.sin(plain), "np.sin")


@pytest.mark.parametrize("call,expected,name", [
    pytest.param(lambda x: np.less(x, 0.4, out=np.zeros_like(x)), [1.0, 0.0, 0.0], "np.less",
                 id="np.less(x, 0.4, out=dual)"),
    pytest.param(lambda x: np.isnan(np.ones(3), out=np.zeros_like(x)), [0.0, 0.0, 0.0], "np.isnan",
                 id="np.isnan(plain, out=dual)"),
    pytest.param(lambda x: np.greater(np.ones(3), 0.5, out=np.zeros_like(x)), [1.0, 1.0, 1.0],
                 "np.greater", id="np.greater(plain, 0.5, out=dual)"),
])
def test_comparison_ufunc_with_dual_out(call, expected, name, jet_pair):
    jet = jet_pair
    _stored_or_clear_error(lambda: call(jet), expected, name)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("kind", ["dual", "hyper-hessian"])
@pytest.mark.parametrize("call", [
    "np.add(np.ones(3), np.ones(3), out=out)",
    "np.multiply(np.ones(3), 2.0, out=out)",
    "np.maximum(np.ones(3), 0.5, out=out)",
])
def test_binary_table_ufunc_on_plain_inputs_with_dual_out_does_not_crash(call, kind):
    """Run in a subprocess: a crash of the interpreter must fail this test, not the run."""
    code = textwrap.dedent(f"""
        import numpy as np, dualjac as dj
        from tests.test_guards import make_jet
        out = np.zeros_like(make_jet({kind!r}))
        try:
            result = {call}
        except TypeError as error:
            assert "dualjac" in str(error), error
            print("CLEAR-ERROR")
        else:
            ref = {call.replace("out=out", "")}
            assert result is out and np.allclose(out.value, ref), (result, ref)
            assert np.all(out.buf[..., 1:] == 0)
            print("STORED")
    """)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (
        f"{call} with out=np.zeros_like(x) ended the interpreter with return code "
        f"{proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr[-2000:]}")
    assert proc.stdout.strip() in ("STORED", "CLEAR-ERROR")


# ================================================================ 3. functions with no rule

# name as the message must spell it -> call on a jet x of shape (3,)
NO_RULE_FUNCTIONS = {
    "np.fft.fft": lambda x: np.fft.fft(x),
    "np.fft.rfft": lambda x: np.fft.rfft(x),
    "np.fft.ifft": lambda x: np.fft.ifft(x),
    "np.linalg.svd": lambda x: np.linalg.svd(np.outer(x, x)),
    "np.linalg.eig": lambda x: np.linalg.eig(np.outer(x, x)),
    "np.linalg.eigh": lambda x: np.linalg.eigh(np.outer(x, x)),
    "np.linalg.qr": lambda x: np.linalg.qr(np.outer(x, x)),
    "np.histogram": lambda x: np.histogram(x),
    "np.unique": lambda x: np.unique(x),
    "np.convolve": lambda x: np.convolve(x, x),
    "np.correlate": lambda x: np.correlate(x, x),
    "np.gradient": lambda x: np.gradient(x),
    "np.interp": lambda x: np.interp(0.5, x, x),           # dual xp: x only is supported
    "np.polyfit": lambda x: np.polyfit(np.arange(3.0), x, 1),
    "np.percentile": lambda x: np.percentile(x, 50),
    "np.quantile": lambda x: np.quantile(x, 0.5),
    "np.pad": lambda x: np.pad(x, 1, mode="linear_ramp"),  # constant / copying modes work
    "np.cov": lambda x: np.cov(x),
    "np.corrcoef": lambda x: np.corrcoef(x),
    "np.kron": lambda x: np.kron(x, x),
    "np.average": lambda x: np.average(x, weights=x),
    "np.trapezoid": lambda x: np.trapezoid(x),
    "np.nansum": lambda x: np.nansum(x),
    "np.nanmean": lambda x: np.nanmean(x),
    "np.ptp": lambda x: np.ptp(x),
    "np.round": lambda x: np.round(x),
    "np.append": lambda x: np.append(x, x),
    "np.insert": lambda x: np.insert(x, 0, 1.0),
    "np.delete": lambda x: np.delete(x, 0),
    "np.tril": lambda x: np.tril(np.outer(x, x)),
    "np.meshgrid": lambda x: np.meshgrid(x, x),
    "np.linspace": lambda x: np.linspace(x[0], 1.0, 3),
    "np.partition": lambda x: np.partition(x, 1),
    "np.sinc": lambda x: np.sinc(x),
    "np.i0": lambda x: np.i0(x),
    "np.nan_to_num": lambda x: np.nan_to_num(x),
    "np.real": lambda x: np.real(x),
    "np.choose": lambda x: np.choose([0, 1, 0], [x, x]),
    "np.piecewise": lambda x: np.piecewise(x, [MASK], [lambda t: t, lambda t: 2 * t]),
    "np.apply_along_axis": lambda x: np.apply_along_axis(np.sum, 0, x),
    "np.linalg.multi_dot": lambda x: np.linalg.multi_dot([np.outer(x, x), x]),
    "np.linalg.matrix_power": lambda x: np.linalg.matrix_power(np.outer(x, x), 2),
}


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
    pytest.param(lambda x: np.emath.sqrt(x), "np.emath.sqrt", id="np.emath.sqrt"),
    pytest.param(lambda x: np.emath.log(x), "np.emath.log", id="np.emath.log"),
    pytest.param(lambda x: np.lib.stride_tricks.sliding_window_view(x, 2),
                 "sliding_window_view", id="sliding_window_view"),
])
def test_unsupported_call_is_named_as_the_user_wrote_it(call, name, jet_pair):
    """The message must name the function the user called -- not a different one
    (np.emath.sqrt must not be reported as "np.sqrt has no derivative rule": np.sqrt has one)."""
    jet = jet_pair
    message = expect_type_error(lambda: call(jet))
    assert "dualjac" in message, message
    assert name in message, f"the message does not name {name}: {message}"


def test_scipy_special_ufunc_is_named_by_its_module(jet_pair):
    """A scipy.special ufunc with no rules-table row (erf and others have one)."""
    jet = jet_pair
    special = pytest.importorskip("scipy.special")
    message = expect_type_error(lambda: special.j0(jet))
    assert "scipy.special.j0" in message and "np.j0" not in message, (
        f"scipy.special.j0 not reported as scipy.special's: {message}")


NO_RULE_UFUNCS = {
    "np.spacing": lambda x: np.spacing(x),
    "np.nextafter": lambda x: np.nextafter(x, 1.0),
    "np.ldexp": lambda x: np.ldexp(x, 2),
    "np.frexp": lambda x: np.frexp(x),
    "np.heaviside": lambda x: np.heaviside(x, 0.5),
    "np.gcd": lambda x: np.gcd(x, x),
    "np.modf": lambda x: np.modf(x),
    "np.copysign": lambda x: np.copysign(x, -1.0),
    "np.float_power": lambda x: np.float_power(x, 2.0),
    "np.logaddexp2": lambda x: np.logaddexp2(x, x),
    "np.divmod": lambda x: np.divmod(x, 0.2),
    "np.bitwise_and": lambda x: np.bitwise_and(x, x),
    "np.conjugate": lambda x: np.conjugate(x),
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
    "np.subtract.reduce": lambda x: np.subtract.reduce(x),
    "np.maximum.accumulate": lambda x: np.maximum.accumulate(x),
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


# ================================================================ 4. sweep of NumPy's public API

# Never called: they print, block, do file I/O, run NumPy's own tests, or change global state.
SWEEP_DENYLIST = {
    "np.info", "np.show_config", "np.show_runtime", "np.test",             # print / run tests
    "np.load", "np.save", "np.savez", "np.savez_compressed", "np.savetxt",  # file I/O
    "np.loadtxt", "np.genfromtxt", "np.fromfile", "np.fromregex", "np.memmap",
    "np.set_printoptions", "np.printoptions", "np.setbufsize", "np.seterr",  # global state
    "np.seterrcall", "np.errstate",
    "np.add_docstring", "np.add_newdoc", "np.add_newdoc_ufunc",             # mutate docstrings
}

# Functions whose float result legitimately carries no derivative although a dual
# array went in (each with the reason). Empty so far: every derivative-free NumPy
# function dualjac accepts returns bool / int / shape / dtype values.
SILENT_FLOAT_ALLOWED = {
}

# Supported functions whose values cannot be compared with NumPy's (uninitialised memory).
NO_VALUE_COMPARISON = {"np.empty_like", "np.empty"}


def _public_functions():
    found = {}
    for module, prefix in ((np, "np."), (np.linalg, "np.linalg."), (np.fft, "np.fft.")):
        for attr in sorted(dir(module)):
            if attr.startswith("_"):
                continue
            name = prefix + attr
            if name in SWEEP_DENYLIST or attr == "test":  # np.linalg.test runs NumPy's tests
                continue
            obj = getattr(module, attr)
            if isinstance(obj, (type, types.ModuleType)) or not callable(obj):
                continue  # classes, dtypes, scalar types, constants, submodules
            found[name] = obj
    return found


PUBLIC_FUNCTIONS = _public_functions()

# Arguments for functions a single array cannot exercise (they need more arguments or a
# matrix). Built from (a, A): the (3,) and (3, 3) inputs, jets or their plain values, so the
# same recipe computes NumPy's reference. Anything not listed is called as f(a) (f(a, a) for
# binary ufuncs).
ROWS = [[True, False, True]]
RECIPES = {
    "np.allclose": lambda a, A: ((a, a), {}),
    "np.append": lambda a, A: ((a, a), {}),
    "np.apply_along_axis": lambda a, A: ((np.sum, 0, A), {}),
    "np.apply_over_axes": lambda a, A: ((np.sum, A, [0]), {}),
    "np.argpartition": lambda a, A: ((a, 1), {}),
    "np.array_equal": lambda a, A: ((a, a), {}),
    "np.array_equiv": lambda a, A: ((a, a), {}),
    "np.array_split": lambda a, A: ((a, 3), {}),
    "np.astype": lambda a, A: ((a, np.float32), {}),
    "np.broadcast_to": lambda a, A: ((a, (2, 3)), {}),
    "np.choose": lambda a, A: (([0, 1, 0], [a, a]), {}),
    "np.clip": lambda a, A: ((a, 0.4, 0.6), {}),
    "np.compress": lambda a, A: ((ROWS[0], a), {}),
    "np.concat": lambda a, A: (([a, a],), {}),
    "np.concatenate": lambda a, A: (([a, a],), {}),
    "np.convolve": lambda a, A: ((a, a), {}),
    "np.copyto": lambda a, A: ((np.zeros(3), a), {}),
    "np.correlate": lambda a, A: ((a, a), {}),
    "np.cross": lambda a, A: ((a, a), {}),
    "np.delete": lambda a, A: ((a, 0), {}),
    "np.diagonal": lambda a, A: ((A,), {}),
    "np.digitize": lambda a, A: ((a, [0.4, 0.6]), {}),
    "np.dot": lambda a, A: ((A, a), {}),
    "np.dsplit": lambda a, A: ((A[None], 3), {}),
    "np.einsum": lambda a, A: (("ij,j->i", A, a), {}),
    "np.empty": lambda a, A: (((3,),), {"like": a}),
    "np.expand_dims": lambda a, A: ((a, 0), {}),
    "np.extract": lambda a, A: ((ROWS[0], a), {}),
    "np.fill_diagonal": lambda a, A: ((np.zeros((3, 3)), a), {}),
    "np.fromiter": lambda a, A: ((a, float), {}),
    "np.full": lambda a, A: (((3,), 0.5), {"like": a}),
    "np.full_like": lambda a, A: ((a, 0.5), {}),
    "np.geomspace": lambda a, A: ((a, 1.0, 3), {}),
    "np.histogram2d": lambda a, A: ((a, a), {}),
    "np.hsplit": lambda a, A: ((a, 3), {}),
    "np.inner": lambda a, A: ((A, a), {}),
    "np.insert": lambda a, A: ((a, 0, 0.5), {}),
    "np.interp": lambda a, A: ((a, [0.0, 1.0], [0.0, 2.0]), {}),
    "np.intersect1d": lambda a, A: ((a, a), {}),
    "np.isclose": lambda a, A: ((a, a), {}),
    "np.isin": lambda a, A: ((a, a), {}),
    "np.kaiser": lambda a, A: ((3, a[0]), {}),
    "np.kron": lambda a, A: ((a, a), {}),
    "np.linspace": lambda a, A: ((a, 1.0, 3), {}),
    "np.logspace": lambda a, A: ((a, 1.0, 3), {}),
    "np.matmul": lambda a, A: ((A, a), {}),
    "np.matvec": lambda a, A: ((A, a), {}),
    "np.may_share_memory": lambda a, A: ((a, a), {}),
    "np.moveaxis": lambda a, A: ((A, 0, 1), {}),
    "np.nanpercentile": lambda a, A: ((a, 50), {}),
    "np.nanquantile": lambda a, A: ((a, 0.5), {}),
    "np.ones": lambda a, A: (((3,),), {"like": a}),
    "np.outer": lambda a, A: ((a, a), {}),
    "np.pad": lambda a, A: ((a, 1), {}),
    "np.partition": lambda a, A: ((a, 1), {}),
    "np.percentile": lambda a, A: ((a, 50), {}),
    "np.piecewise": lambda a, A: ((a, ROWS, [lambda t: 2 * t, lambda t: t]), {}),
    "np.place": lambda a, A: ((np.zeros(3), ROWS[0], a), {}),
    "np.polyadd": lambda a, A: ((a, a), {}),
    "np.polydiv": lambda a, A: ((a, a), {}),
    "np.polyfit": lambda a, A: ((a, a, 1), {}),
    "np.polymul": lambda a, A: ((a, a), {}),
    "np.polysub": lambda a, A: ((a, a), {}),
    "np.polyval": lambda a, A: ((a, 0.5), {}),
    "np.put": lambda a, A: ((np.zeros(3), [0], a[:1]), {}),
    "np.put_along_axis": lambda a, A: ((np.zeros(3), np.array([0]), a[:1], 0), {}),
    "np.putmask": lambda a, A: ((np.zeros(3), ROWS[0], a), {}),
    "np.quantile": lambda a, A: ((a, 0.5), {}),
    "np.repeat": lambda a, A: ((a, 2), {}),
    "np.reshape": lambda a, A: ((a, (3, 1)), {}),
    "np.resize": lambda a, A: ((a, 6), {}),
    "np.roll": lambda a, A: ((a, 1), {}),
    "np.rollaxis": lambda a, A: ((A, 1), {}),
    "np.searchsorted": lambda a, A: ((a, 0.5), {}),
    "np.select": lambda a, A: ((ROWS, [a]), {}),
    "np.setdiff1d": lambda a, A: ((a, a[:1]), {}),
    "np.setxor1d": lambda a, A: ((a, a[:1]), {}),
    "np.shares_memory": lambda a, A: ((a, a), {}),
    "np.split": lambda a, A: ((a, 3), {}),
    "np.swapaxes": lambda a, A: ((A, 0, 1), {}),
    "np.take": lambda a, A: ((a, [2, 0]), {}),
    "np.take_along_axis": lambda a, A: ((a, np.array([2, 0]), 0), {}),
    "np.tensordot": lambda a, A: ((A, a, 1), {}),
    "np.tile": lambda a, A: ((a, 2), {}),
    "np.trace": lambda a, A: ((A,), {}),
    "np.union1d": lambda a, A: ((a, a), {}),
    "np.vdot": lambda a, A: ((a, a), {}),
    "np.vecdot": lambda a, A: ((A, a), {}),
    "np.vecmat": lambda a, A: ((a, A), {}),
    "np.vsplit": lambda a, A: ((A, 3), {}),
    "np.where": lambda a, A: ((ROWS[0], a, 0.5), {}),
    "np.zeros": lambda a, A: (((3,),), {"like": a}),
    "np.linalg.cross": lambda a, A: ((a, a), {}),
    "np.linalg.lstsq": lambda a, A: ((A, a), {}),
    "np.linalg.matmul": lambda a, A: ((A, a), {}),
    "np.linalg.matrix_power": lambda a, A: ((A, 2), {}),
    "np.linalg.norm": lambda a, A: ((A,), {}),
    "np.linalg.outer": lambda a, A: ((a, a), {}),
    "np.linalg.solve": lambda a, A: ((A, a), {}),
    "np.linalg.tensordot": lambda a, A: ((A, a), {"axes": 1}),
    "np.linalg.tensorsolve": lambda a, A: ((A, a), {}),
    "np.linalg.vecdot": lambda a, A: ((a, a), {}),
    "np.fft.fftfreq": lambda a, A: ((3, a[0]), {}),
    "np.fft.rfftfreq": lambda a, A: ((3, a[0]), {}),
}
# matrix functions of np.linalg get the matrix
for _name in PUBLIC_FUNCTIONS:
    if _name.startswith("np.linalg.") and _name not in RECIPES:
        RECIPES[_name] = lambda a, A: ((A,), {})

SWEEP_A = np.array(VALUES)
SWEEP_M = 0.2 + 0.6 * np.array([[1.0, 0.2, 0.3], [0.25, 0.9, 0.35], [0.4, 0.3, 0.8]]) / 1.1


def sweep_inputs(kind):
    """(a, A) as jets of one level: a (3,) and a (3, 3) taken from one seeded vector,
    so functions of both combine them. Values in (0.2, 0.8)."""
    flat = np.concatenate([SWEEP_A, SWEEP_M.ravel()])
    dtype = np.float32 if kind.endswith("float32") else np.float64
    flat = flat.astype(dtype)
    if kind.startswith("dual"):
        z = DualArray(flat, np.eye(flat.size, dtype=dtype))
    else:
        z = _capture(lambda f: dj.hessian(f, flat))
    return z[:3], np.reshape(z[3:], (3, 3))


def _plain_like(item):
    return np.array(item.value) if isinstance(item, _Jet) else item


def sweep_call(name, a, A):
    func = PUBLIC_FUNCTIONS[name]
    if name in RECIPES:
        return RECIPES[name](a, A)
    if isinstance(func, np.ufunc):
        return (a,) * func.nin, {}
    return (a,), {}


def _leaves(result):
    if isinstance(result, (tuple, list)):
        for item in result:
            yield from _leaves(item)
    else:
        yield result


def _is_plain_float(leaf):
    if isinstance(leaf, _Jet):
        return False
    if isinstance(leaf, (float, complex, np.floating, np.complexfloating)):
        return True
    return isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fcO"


def classify(name, kind):
    """('raised', type, message) | ('dual', result, reference-or-None) |
    ('plain', result) | ('SILENT LOSS', result)."""
    a, A = sweep_inputs(kind)
    args, kwargs = sweep_call(name, a, A)
    func = PUBLIC_FUNCTIONS[name]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = func(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - any exception is a guard
        return ("raised", type(error).__name__, str(error))
    leaves = list(_leaves(result))
    if any(isinstance(leaf, _Jet) for leaf in leaves):
        if any(_is_plain_float(leaf) for leaf in leaves):
            return ("SILENT LOSS", result)   # some outputs lost their derivatives
        reference = None
        if name not in NO_VALUE_COMPARISON:
            plain_args, plain_kwargs = sweep_call(name, np.array(a.value), np.array(A.value))
            plain_kwargs = {k: v for k, v in plain_kwargs.items() if k != "like"}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    reference = func(*plain_args, **plain_kwargs)
            except Exception:  # noqa: BLE001 - NumPy refuses these arguments: nothing to compare
                reference = None
        return ("dual", result, reference)
    if any(_is_plain_float(leaf) for leaf in leaves):
        return ("SILENT LOSS", result)
    return ("plain", result)


SWEEP_KINDS = ["dual-float64", "dual-float32", "hyper-float64"]


@pytest.mark.parametrize("kind", SWEEP_KINDS)
@pytest.mark.parametrize("name", sorted(PUBLIC_FUNCTIONS))
def test_numpy_api_sweep(name, kind):
    outcome = classify(name, kind)
    if outcome[0] == "raised":
        return  # (a) refused: fine, whatever the exception
    if outcome[0] == "plain":
        return  # (c) bool / int / shape / index results carry no derivative by nature
    if outcome[0] == "SILENT LOSS":  # (d)
        assert name in SILENT_FLOAT_ALLOWED, (
            f"{name} on a {kind} returned a plain float result: derivatives silently "
            f"dropped: {outcome[1]!r:.300}")
        return
    _, result, reference = outcome  # (b) supported: values must be NumPy's
    if reference is None:
        return
    got, want = list(_leaves(result)), list(_leaves(reference))
    assert len(got) == len(want), (name, result, reference)
    rtol = 1e-5 if kind.endswith("float32") else 1e-10
    for g, w in zip(got, want):
        g_value = g.value if isinstance(g, _Jet) else np.asarray(g)
        assert g_value.shape == np.shape(w), f"{name}: shape {g_value.shape} != NumPy's {np.shape(w)}"
        assert g_value.dtype == np.asarray(w).dtype, f"{name}: dtype {g_value.dtype} != NumPy's"
        np.testing.assert_allclose(g_value, np.asarray(w, dtype=np.float64), rtol=rtol,
                                   atol=1e-6, err_msg=f"{name}: value differs from NumPy's")


def test_numpy_api_sweep_summary(capsys):
    """One table of every outcome; fails listing all silent losses at once."""
    losses, counts = [], {}
    for kind in SWEEP_KINDS:
        for name in sorted(PUBLIC_FUNCTIONS):
            outcome = classify(name, kind)
            counts[outcome[0]] = counts.get(outcome[0], 0) + 1
            if outcome[0] == "SILENT LOSS" and name not in SILENT_FLOAT_ALLOWED:
                losses.append(f"{kind}: {name} -> {outcome[1]!r:.120}")
    print(f"sweep of {len(PUBLIC_FUNCTIONS)} functions x {len(SWEEP_KINDS)} input kinds: {counts}")
    assert counts.get("dual", 0) > 50  # the sweep reaches the supported functions
    assert not losses, "silent derivative losses:\n" + "\n".join(losses)


def test_sweep_sees_all_of_numpy():
    """Guard the sweep itself: it must cover the main namespaces, ufuncs included."""
    assert len(PUBLIC_FUNCTIONS) > 350
    for name in ("np.sin", "np.sort", "np.linalg.svd", "np.fft.fft", "np.add", "np.where"):
        assert name in PUBLIC_FUNCTIONS, name
    assert not any(n in PUBLIC_FUNCTIONS for n in ("np.ndarray", "np.float64", "np.linalg"))


# ================================================================ 5. the transforms' own checks

def _tape(method, batch=False):
    def run(f, x):
        with dj.GradientTape() as tape:
            z = tape.watch(x)
            y = f(z)
        return getattr(tape, method)(y, z)
    return run


TRANSFORMS = {
    "jacobian": (lambda f, x: dj.jacobian(f, x), False),
    "value_and_jacobian": (lambda f, x: dj.value_and_jacobian(f, x), False),
    "gradient": (lambda f, x: dj.gradient(f, x), False),
    "batch_jacobian": (lambda f, x: dj.batch_jacobian(f, x), True),
    "jvp": (lambda f, x: dj.jvp(f, x, np.ones_like(x)), False),
    "hessian": (lambda f, x: dj.hessian(f, x), False),
    "hvp": (lambda f, x: dj.hvp(f, x, np.ones_like(x)), False),
    "value_gradient_hessian": (lambda f, x: dj.value_gradient_hessian(f, x), False),
    "batch_hessian": (lambda f, x: dj.batch_hessian(f, x), True),
    "GradientTape.jacobian": (_tape("jacobian"), False),
    "GradientTape.gradient": (_tape("gradient"), False),
    "GradientTape.batch_jacobian": (_tape("batch_jacobian"), True),
}

BAD_TARGETS = {
    "tuple": lambda z: (z, z),
    "list": lambda z: [z, z],
    "dict": lambda z: {"y": z},
    "None": lambda z: None,
    "str": lambda z: "y",
    "list of floats": lambda z: [1.0, 2.0],
}


def _source(batch, dtype=np.float64):
    return np.array([[0.3, 0.5], [0.2, 0.4]] if batch else [0.3, 0.5], dtype=dtype)


@pytest.mark.parametrize("target", list(BAD_TARGETS))
@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_target_must_be_one_array(transform, target):
    run, batch = TRANSFORMS[transform]
    message = expect_type_error(lambda: run(BAD_TARGETS[target], _source(batch)))
    assert "target must be one array" in message, message


def _object_array_of_duals(z):
    """A 'container' of dual arrays: an object ndarray filled element by element."""
    out = np.empty(z.shape, dtype=object)
    flat = np.reshape(z, (-1,))
    for i in range(out.size):
        out.flat[i] = flat[i] * flat[i]
    return out


@pytest.mark.parametrize("transform", ["jacobian", "value_and_jacobian", "jvp", "hessian",
                                       "batch_jacobian", "batch_hessian", "GradientTape.jacobian"])
def test_object_array_of_duals_as_target_is_not_unconnected(transform):
    """An object ndarray holding dual arrays depends on x: the transform must refuse it
    (TypeError) or differentiate it -- never report None / zeros."""
    run, batch = TRANSFORMS[transform]
    x = _source(batch)
    try:
        result = run(_object_array_of_duals, x)
    except TypeError as error:
        assert "dualjac" in str(error), error
        return
    derivative = result[1] if isinstance(result, tuple) else result
    assert derivative is not None, f"dj.{transform} reported an x-dependent target as unconnected"
    expected = {"jacobian": np.diag(2 * x), "value_and_jacobian": np.diag(2 * x),
                "jvp": 2 * x, "hessian": np.einsum("ij,jk->ijk", 2 * np.eye(2), np.eye(2)),
                "GradientTape.jacobian": np.diag(2 * x)}.get(transform)
    assert np.asarray(derivative).dtype != object, f"dj.{transform} returned {derivative!r}"
    if expected is not None:
        np.testing.assert_allclose(np.asarray(derivative, float), expected)
    else:
        assert np.any(np.asarray(derivative, float) != 0), derivative


@pytest.mark.parametrize("value", ["None", "ZERO", "zeros", "", None, 0, True, 1.0])
@pytest.mark.parametrize("transform", ["jacobian", "value_and_jacobian", "gradient", "batch_jacobian",
                                       "tape.jacobian", "tape.gradient", "tape.batch_jacobian"])
def test_unknown_unconnected_gradients_is_a_value_error(transform, value):
    x = np.ones((2, 2))
    f = lambda z: z * 2.0  # noqa: E731
    if transform.startswith("tape."):
        def call():
            with dj.GradientTape() as tape:
                z = tape.watch(x)
                y = f(z)
            return getattr(tape, transform[5:])(y, z, unconnected_gradients=value)
    else:
        def call():
            return getattr(dj, transform)(f, x, unconnected_gradients=value)
    with pytest.raises(ValueError, match="unconnected_gradients"):
        call()


@pytest.mark.parametrize("value", ["none", "zero", dj.UnconnectedGradients.NONE,
                                   dj.UnconnectedGradients.ZERO])
def test_known_unconnected_gradients_values_are_accepted(value):
    J = dj.jacobian(lambda z: z * 2.0, np.ones(2), unconnected_gradients=value)
    np.testing.assert_array_equal(J, 2 * np.eye(2))


BAD_SOURCE_DTYPES = [np.complex128, np.complex64, np.float16, np.longdouble, object]


@pytest.mark.parametrize("dtype", BAD_SOURCE_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("transform", [t for t in TRANSFORMS if not t.startswith("GradientTape")]
                         + ["tape.watch", "tape.watch(batch=True)", "jacobian(dict source)"])
def test_non_float_sources_are_refused(transform, dtype):
    def f(z):
        return np.sum(z * z)

    if transform == "tape.watch":
        call = lambda: dj.GradientTape().watch(_source(False, dtype))  # noqa: E731
    elif transform == "tape.watch(batch=True)":
        call = lambda: dj.GradientTape().watch(_source(True, dtype), batch=True)  # noqa: E731
    elif transform == "jacobian(dict source)":
        call = lambda: dj.jacobian(lambda s: s["a"] * s["b"],  # noqa: E731
                                   {"a": np.array([0.3, 0.5]), "b": _source(False, dtype)})
    else:
        run, batch = TRANSFORMS[transform]
        target = (lambda z: z * z) if batch else f
        call = lambda: run(target, _source(batch, dtype))  # noqa: E731
    message = expect_type_error(call)
    assert "dualjac" in message and "float32 or float64" in message, message


@pytest.mark.parametrize("dtype", [">f8", ">f4"])
@pytest.mark.parametrize("transform", ["jacobian", "gradient", "jvp", "hessian", "hvp",
                                       "value_gradient_hessian", "batch_jacobian", "batch_hessian"])
def test_byte_swapped_sources_are_converted_or_refused(transform, dtype):
    """A big-endian float array is a float64 / float32 array to NumPy. Its derivatives
    must be right (or the source refused) -- never computed from misread bytes."""
    run, batch = TRANSFORMS[transform]
    native = _source(batch, np.dtype(dtype).newbyteorder("="))
    swapped = native.astype(dtype)
    f = (lambda z: z * z * z) if batch or transform in ("jacobian", "jvp", "hessian") \
        else (lambda z: np.sum(z * z * z))
    try:
        got = run(f, swapped)
    except TypeError as error:
        assert "dualjac" in str(error), error
        return
    want = run(f, native)
    for g, w in zip(_leaves(got), _leaves(want)):
        np.testing.assert_allclose(np.asarray(g, float), np.asarray(w, float), rtol=1e-6,
                                   err_msg=f"dj.{transform} on a {dtype} source")


@pytest.mark.parametrize("value,tangent", [
    pytest.param(np.array([0.3 + 0.1j, 0.5]), np.eye(2), id="complex value"),
    pytest.param(np.array([0.3, 0.5]), np.eye(2) * (1 + 1j), id="complex tangent"),
])
def test_dual_array_constructor_refuses_complex(value, tangent):
    """DualArray(value, tangent) is a source too: complex parts must not be cast away."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ComplexWarning alone is not a refusal
        message = expect_type_error(lambda: DualArray(value, tangent),
                                    "the imaginary part was silently cast away")
    assert "dualjac" in message or "complex" in message, message
