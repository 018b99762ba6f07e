"""Guards: the transforms' own checks of their targets, sources and arguments
(tests/guard_jets.py).
"""

import warnings

import numpy as np
import pytest

import dualjac as dj
from dualjac import DualArray
from guard_jets import expect_type_error, leaves_of

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "deferred")


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
    for g, w in zip(leaves_of(got), leaves_of(want)):
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


@pytest.mark.parametrize("call", [
    lambda f, x, v: dj.jvp(f, x, v),
    lambda f, x, v: dj.hvp(lambda z: np.sum(f(z)), x, v),
    lambda f, x, v: dj.jvp(f, x, np.stack([v, v]), batched=True),
], ids=["jvp", "hvp", "jvp_batched"])
def test_complex_directions_are_refused(call):
    """A complex direction would be cut to its real part (NumPy's cast): refused, as
    complex sources are, with the fix."""
    with pytest.raises(TypeError, match="complex"):
        call(lambda z: z ** 2, np.array([1.0, 2.0]), np.array([1 + 1j, 0.0]))
