"""Guards: storing dual values into plain ndarrays (setitem, np.copyto, ufunc ``out=``,
in-place operators) raises; the supported spelling (np.zeros_like(x) /
np.zeros(n, like=x)) gives exact derivatives; creation with a dtype jets cannot hold,
and ``out=`` a jet with plain inputs, store or refuse (tests/guard_jets.py).
"""

import operator
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dualjac as dj
from dualjac._core import _Jet
from guard_jets import DTYPES, MASK, VALUES, dense, expect_type_error

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "deferred")


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
    "x.clip(0, 1, out=plain)": lambda x: x.clip(0, 1, out=np.zeros(3)),
    "x.clip(min=0, max=1, out=x)": lambda x: x.clip(min=0, max=1, out=x),
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
        # np.*_like(x), and np.zeros(shape, like=x) of x's rows and dtype, of a deferred jet
        # is a new deferred array (writes into it are recorded: tests/test_deferred_in_place.py
        # and test_deferred_writes.py); everything else the dense kind
        deferred_like = type(jet) is dj.DeferredJet and (
            name.endswith("_like(x)") or out.dtype == jet.dtype and "like=x" in name)
        assert type(out) is (dj.DeferredJet if deferred_like else type(dense(jet))), name
        assert out.dtype == (np.float64 if "default dtype" in name else jet.dtype), name
        assert out.shape == (3,), name
        assert np.all(dense(out).buf[..., 1:] == 0), name


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
        from tests.guard_jets import make_jet
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
