"""The array API namespace of jets (dualjac/array_api.py), SciPy on jets with
SCIPY_ARRAY_API=1, and the conversion guard's message when SciPy or np.vectorize converts
a jet without the user writing it.

SciPy reads SCIPY_ARRAY_API once, when it is imported, and this process has imported it
already: SciPy with the array API runs in one subprocess (tests/scipy_array_api_checks.py,
which checks each function's first and second derivatives against central differences)
whose report the tests read. The namespace and the guard messages are tested here.
"""

import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats

import dualjac as dj
from dualjac import array_api
from witness import witness_hessian, witness_jacobian

import scipy_array_api_checks as checks

# The namespace tests run at every jet kind; SciPy's subprocess checks the kinds itself.
every_kind = pytest.mark.jet_kinds("default", "banded", "deferred")

TESTS = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- SciPy, SCIPY_ARRAY_API=1

@functools.lru_cache(1)
def scipy_report():
    environment = dict(os.environ, SCIPY_ARRAY_API="1",
                       PYTHONPATH=os.pathsep.join([os.path.dirname(TESTS), TESTS]))
    done = subprocess.run([sys.executable, os.path.join(TESTS, "scipy_array_api_checks.py")],
                          capture_output=True, text=True, timeout=120, env=environment)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", [*checks.SUPPORTED, *checks.KINDS])
def test_scipy_function_runs_on_jets_with_exact_derivatives(name):
    assert scipy_report()[name] == "ok"


@pytest.mark.parametrize("name", list(checks.UNSUPPORTED))
def test_scipy_function_without_array_api_code_raises_a_type_error(name):
    outcome = scipy_report()[name]
    assert outcome.startswith("TypeError: "), outcome     # never a wrong derivative
    if "Multiple namespaces" not in outcome:
        # the guard names what the user called (scipy.stats.norm.pdf, not _continuous_distns)
        public = name.split("(")[0]
        assert f"dualjac: scipy.{public} converted a dual array" in outcome


def test_scipy_docs_table_lists_every_checked_function():
    table = open(os.path.join(os.path.dirname(TESTS), "docs", "scipy.md")).read()
    for name in [*checks.SUPPORTED, *checks.UNSUPPORTED]:
        function = name.split("(")[0].split(",")[0].rsplit(".", 1)[-1]
        assert function in table, name


def test_import_dualjac_imports_neither_scipy_nor_array_api_compat():
    code = ("import sys, dualjac, numpy as np; x = dualjac.DualArray(np.ones(2), np.eye(2)); "
            "x.__array_namespace__(); "
            "print([m for m in sys.modules if m.startswith(('scipy', 'array_api_compat'))])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=os.path.dirname(TESTS)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ---------------------------------------------------------------- the namespace on every kind

X = np.array([0.3, -1.2, 2.0, 0.7])


def through_namespace(x):
    """A function written against the standard only: it asks x for its namespace."""
    xp = x.__array_namespace__()
    y = xp.asarray(x)
    moved = xp.concat([y[..., 1:], y[..., :1]], axis=-1)
    return (xp.sum(xp.exp(y) * moved, axis=-1) + xp.linalg.vector_norm(y, axis=-1)
            + xp.vecdot(y, moved, axis=-1) + xp.std(y, axis=-1, correction=1)
            + xp.pow(xp.linalg.matrix_norm(xp.reshape(y, y.shape[:-1] + (2, 2))), 2)
            # a tuple axis is one vector of its elements, never a matrix norm
            + xp.linalg.vector_norm(xp.reshape(y, y.shape[:-1] + (2, 2)), axis=(-2, -1)))


def through_numpy(x):
    """The same function in NumPy, analytic (complex step runs it)."""
    centered = x - np.mean(x, axis=-1, keepdims=True)
    moved = np.concatenate([x[..., 1:], x[..., :1]], axis=-1)
    y2 = x.reshape(x.shape[:-1] + (2, 2))
    return (np.sum(np.exp(x) * moved, axis=-1) + np.sqrt(np.sum(x * x, axis=-1))
            + np.sum(x * moved, axis=-1) + np.sqrt(np.sum(centered * centered, axis=-1) / 3)
            + np.sum(y2 * y2, axis=(-2, -1)) + np.sqrt(np.sum(y2 * y2, axis=(-2, -1))))


@every_kind
def test_namespace_functions_first_and_second_order():
    assert np.allclose(through_namespace(X), through_numpy(X), rtol=1e-14)
    assert np.allclose(dj.jacobian(through_namespace, X), witness_jacobian(through_numpy, X))
    assert np.allclose(dj.hessian(through_namespace, X), witness_hessian(through_numpy, X))


@every_kind
def test_namespace_functions_on_batched_rows():
    rows = np.stack([X, X[::-1] * 0.5, X + 1.0])
    J = dj.batch_jacobian(through_namespace, rows)
    H = dj.batch_hessian(through_namespace, rows)
    for i, row in enumerate(rows):
        assert np.allclose(J[i], witness_jacobian(through_numpy, row))
        assert np.allclose(H[i], witness_hessian(through_numpy, row))


def test_every_jet_kind_answers_with_the_namespace():
    seen = {}

    def record(x):
        namespace = x.__array_namespace__(api_version="2024.12")
        seen[type(x).__name__] = (namespace, x.device, x.to_device("cpu") is x)
        return x * x

    dj.jacobian(record, np.ones(70))                   # BandedJet (64 elements or more)
    dj.hessian(lambda x: np.sum(record(x)), np.ones(3))
    dj.jacobian(record, np.ones(3))
    dj.batch_jacobian(record, np.ones((600, 2)))       # DeferredJet (1024 elements or more)
    dj.jacobian_sparsity(record, np.ones(3))           # the tracer's PatternArray
    assert set(seen) >= {"BandedJet", "HyperDualArray", "DualArray", "DeferredJet",
                         "PatternArray"}
    assert all(entry == (array_api, "cpu", True) for entry in seen.values())


@every_kind
def test_asarray_keeps_jets_and_stacks_lists_of_them():
    def f(x):
        xp = x.__array_namespace__()
        assert xp.asarray(x) is x
        return xp.asarray([x[0] * x[1], xp.sin(x[2]), x[3]]) + xp.asarray(x[:3], copy=True)
    J = dj.jacobian(f, X)
    expected = witness_jacobian(
        lambda x: np.stack([x[0] * x[1], np.sin(x[2]), x[3]]) + x[:3], X)
    assert np.allclose(J, expected)


@every_kind
def test_sort_descending_and_unstack_carry_derivatives():
    def f(x):
        xp = x.__array_namespace__()
        first, *_ = xp.unstack(xp.reshape(x, (2, 2)))
        return xp.concat([xp.sort(x, descending=True), first * 2.0])
    J = dj.jacobian(f, X)
    expected = witness_jacobian(lambda x: np.concatenate([-np.sort(-x), x[:2] * 2.0]), X)
    assert np.allclose(J, expected)


@every_kind
def test_dtype_functions_read_the_value_dtype():
    x32 = X.astype(np.float32)

    def f(x):
        xp = x.__array_namespace__()
        assert xp.isdtype(x.dtype, "real floating") and not xp.isdtype(x.dtype, "integral")
        assert xp.result_type(x, 2.0) == x.dtype
        assert xp.finfo(x).eps == np.finfo(x.dtype).eps
        assert xp.__array_namespace_info__().default_dtypes()["real floating"] == np.float64
        return xp.astype(x, xp.float64) * 3.0
    J = dj.jacobian(f, x32)
    assert J.dtype == np.float32 and np.allclose(J, 3.0 * np.eye(4))


def test_namespace_refusals_name_the_problem():
    x = dj.DualArray(X, np.eye(4))
    with pytest.raises(ValueError, match="api_version"):
        x.__array_namespace__(api_version="1999.01")
    with pytest.raises(ValueError, match="to_device"):
        x.to_device("cuda")
    with pytest.raises(ValueError, match="device="):
        array_api.zeros(3, device="cuda")


# ---------------------------------------------------------------- guard messages

def guard_message(f, x=X):
    with pytest.raises(TypeError) as info:
        dj.jacobian(f, x)
    return str(info.value)


@pytest.mark.parametrize("name, call", [
    ("scipy.special.logsumexp", lambda x: scipy.special.logsumexp(x)),
    ("scipy.optimize.rosen", lambda x: scipy.optimize.rosen(x)),
    ("scipy.stats.norm.pdf", lambda x: scipy.stats.norm.pdf(x)),
    ("scipy.stats.Normal.pdf", lambda x: scipy.stats.Normal().pdf(x)),
    ("scipy.stats.zscore", lambda x: scipy.stats.zscore(x)),
])
def test_scipy_conversion_names_the_public_function_and_the_fixes(name, call):
    message = guard_message(call)
    assert message.startswith(f"dualjac: {name} converted a dual array to a plain ndarray")
    assert "SCIPY_ARRAY_API=1 before SciPy is first imported" in message
    assert "x.value" in message


def test_scipy_conversion_names_a_drop_in_when_there_is_one(monkeypatch):
    import types
    drop_ins = types.ModuleType("dualjac.scipy.special")
    drop_ins.logsumexp = lambda x: x
    monkeypatch.setitem(sys.modules, "dualjac.scipy", types.ModuleType("dualjac.scipy"))
    monkeypatch.setitem(sys.modules, "dualjac.scipy.special", drop_ins)
    assert "use dualjac.scipy.special.logsumexp, a drop-in" in guard_message(
        lambda x: scipy.special.logsumexp(x))
    assert "drop-in" not in guard_message(lambda x: scipy.stats.zscore(x))


def test_np_vectorize_conversion_says_its_loop_cannot_carry_duals():
    message = guard_message(lambda x: np.vectorize(lambda t: t * t)(x))
    assert message.startswith("dualjac: np.vectorize converted a dual array")
    assert "Python loop over elements cannot carry dual numbers" in message
    assert "Apply the function directly to the arrays" in message


def test_conversion_in_user_code_called_by_scipy_keeps_the_plain_message():
    # SciPy calls the objective back; the np.asarray in it is the user's own
    def objective(x):
        return float(np.sum(np.asarray(x) ** 2))
    message = guard_message(lambda x: scipy.optimize.minimize_scalar(
        lambda t: objective(x * t), bounds=(0, 1), method="bounded").fun)
    assert "scipy." not in message.split("would silently drop")[0]
    assert "np.asarray / np.array on a dual array" in message
