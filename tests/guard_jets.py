"""Jets of every kind for the guard tests (tests/test_guards_*.py), and the checks
of their error messages.

The guards' promise: dualjac never returns a silently wrong (derivative-free) result.
Anything a user can write that would drop derivatives must raise a clear TypeError
that names the function and the fix. The guard tests run on a DualArray (built with
``dj.DualArray(value, tangent)`` or seen inside ``dj.jacobian``), on a HyperDualArray
(seen inside ``dj.hessian`` or a nested ``dj.jacobian``), on banded and on deferred
jets, in float32 and float64 where the dtype matters. A test that fails there is a
hole in the promise; keep it failing until the library is fixed.
"""

import numpy as np
import pytest

import dualjac as dj
from dualjac import DualArray, HyperDualArray

VALUES = (0.3, 0.5, 0.7)
DTYPES = [np.float64, np.float32]
MASK = np.array([True, False, True])

# Words that show an error message points at a fix.
FIX_HINTS = ("x.value", "np.stack", "like=", "np.zeros_like", "np.zeros(")


def capture(run):
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
        jet = capture(lambda f: dj.jacobian(f, x0))
    elif kind == "hyper-hessian":
        jet = capture(lambda f: dj.hessian(f, x0))
    elif kind == "hyper-nested":
        jet = capture(lambda f: dj.jacobian(lambda z: dj.jacobian(f, z), x0))
    elif kind.startswith("banded-"):
        from banding import banded_from   # (tests/; a subprocess test imports this module)
        transform = dj.jacobian if kind == "banded-jacobian" else dj.hessian
        with banded_from(1):
            jet = capture(lambda f: transform(f, x0))
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


def leaves_of(result):
    """The items of a result, nested tuples and lists flattened."""
    if isinstance(result, (tuple, list)):
        for item in result:
            yield from leaves_of(item)
    else:
        yield result
