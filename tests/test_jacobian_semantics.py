"""dj.jacobian's contract, row by row of TF's jacobian rules (docs/semantics.md).

Values are checked against complex-step derivatives of the same function
(tests/witness.py); the rules on shapes, structures and None slots are TF's.
"""

import warnings

import numpy as np
import pytest

import dualjac as dj
from witness import complex_step_jacobian

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "banded")

RNG = np.random.default_rng(7)


def f_mixed(x):
    return np.sin(x) * x + x ** 2


@pytest.mark.parametrize("source_shape", [(), (1,), (3,), (2, 3), (2, 1, 3)])
@pytest.mark.parametrize("target", ["same", "sum", "outer"])
def test_shape_is_target_shape_plus_source_shape(source_shape, target):
    x = RNG.uniform(0.5, 1.5, source_shape)
    g = {"same": f_mixed,
         "sum": lambda x: np.sum(f_mixed(x)),
         "outer": lambda x: np.stack([f_mixed(x), 2 * x])}[target]
    J = dj.jacobian(g, x)
    want = complex_step_jacobian(g, x)
    assert J.shape == want.shape == np.shape(g(x)) + source_shape
    np.testing.assert_allclose(J, want, rtol=1e-12, atol=1e-12)


def test_scalar_wrt_scalar_is_0d():
    J = dj.jacobian(lambda x: np.sin(x) * x, np.float64(0.3))
    assert np.shape(J) == ()
    np.testing.assert_allclose(J, np.cos(0.3) * 0.3 + np.sin(0.3))


def test_python_float_source():
    assert dj.jacobian(lambda x: x * x, 3.0) == 6.0


def test_nested_structures_keep_their_structure():
    a, b, c = RNG.random(2), RNG.random((2, 2)), RNG.random(3)
    sources = {"a": a, "nested": (b, [c])}

    def f(s):
        return np.sum(s["a"]) * np.sum(s["nested"][0] ** 2) * s["nested"][1][0] + 0 * c[:1]

    J = dj.jacobian(f, sources)
    assert set(J) == {"a", "nested"} and isinstance(J["nested"], tuple)
    assert isinstance(J["nested"][1], list)
    flat = np.concatenate([a, b.ravel(), c])

    def f_flat(v):
        return f({"a": v[:2], "nested": (v[2:6].reshape(2, 2), [v[6:]])})

    want = complex_step_jacobian(f_flat, flat)
    np.testing.assert_allclose(J["a"], want[:, :2])
    np.testing.assert_allclose(J["nested"][0], want[:, 2:6].reshape(3, 2, 2))
    np.testing.assert_allclose(J["nested"][1][0], want[:, 6:])


def test_single_element_list_gives_list():
    x = RNG.random(3)
    J = dj.jacobian(lambda s: s[0] * 2.0, [x])
    assert isinstance(J, list) and len(J) == 1
    np.testing.assert_allclose(J[0], 2 * np.eye(3))


@pytest.mark.parametrize("spelling", ["zero", dj.UnconnectedGradients.ZERO])
def test_unconnected_zero_gives_zeros_with_target_dtype(spelling):
    x, y = np.ones(2, np.float32), np.ones(3)
    Jx, Jy = dj.jacobian(lambda s: s[0] * 2.0, [x, y], unconnected_gradients=spelling)
    assert Jy.shape == (2, 3) and Jy.dtype == np.float32 and not Jy.any()


@pytest.mark.parametrize("spelling", ["none", dj.UnconnectedGradients.NONE])
def test_unconnected_none_gives_none(spelling):
    Jx, Jy = dj.jacobian(lambda s: s[0] * 2.0, [np.ones(2), np.ones(3)],
                         unconnected_gradients=spelling)
    assert Jy is None


def test_bad_unconnected_spelling_is_tf_value_error():
    with pytest.raises(ValueError, match="Unknown value for unconnected_gradients: 'bogus'"):
        dj.jacobian(lambda x: x, np.ones(2), unconnected_gradients="bogus")


def test_connectivity_is_structural_not_numeric():
    x = RNG.random(3)
    assert not dj.jacobian(lambda x: x * 0.0, x).any()          # connected: zeros
    assert dj.jacobian(lambda x: dj.stop_gradient(x) * 3, x) is None
    assert dj.jacobian(lambda x: np.zeros_like(x), x) is None
    assert dj.jacobian(lambda x: np.ones_like(x), x) is None
    J = dj.jacobian(lambda x: dj.stop_gradient(x) * x, x)
    np.testing.assert_allclose(J, np.diag(x))                  # through the second factor only


def test_stored_values_decide_connectivity():
    x = RNG.random(3)

    def filled(x):
        out = np.zeros(2, like=x)
        out[0] = x[1] ** 2
        return out

    J = dj.jacobian(filled, x)
    np.testing.assert_allclose(J, [[0, 2 * x[1], 0], [0, 0, 0]])
    assert dj.jacobian(lambda x: np.zeros(2, like=x), x) is None


def test_integer_source_warns_and_is_unconnected():
    x = np.array([1, 2, 3], np.int32)
    with pytest.warns(UserWarning, match="must be floating"):
        assert dj.jacobian(lambda x: x * 2, x) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        J = dj.jacobian(lambda x: x * 2, x, unconnected_gradients="zero")
    assert J.shape == (3, 3) and J.dtype == np.int32 and not J.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    J = dj.jacobian(lambda x: np.exp(x) * 2.5, np.ones(3, dtype))
    assert J.dtype == dtype


def test_float32_source_with_float64_constant_promotes_like_numpy():
    # The value promotes as in NumPy; the Jacobian has the source's dtype (TF's rule).
    x = np.ones(2, np.float32)
    value, J = dj.value_and_jacobian(lambda x: x * np.ones(2), x)
    assert value.dtype == np.float64 and J.dtype == np.float32        # array: strong
    value, J = dj.value_and_jacobian(lambda x: x * 2.0, x)
    assert value.dtype == np.float32 and J.dtype == np.float32        # Python float: weak


def test_complex_and_half_sources_are_rejected_clearly():
    for x in (np.ones(2, np.complex128), np.ones(2, np.float16)):
        with pytest.raises(TypeError, match="float32 or float64"):
            dj.jacobian(lambda x: x * x, x)


def test_empty_source_and_empty_target():
    J = dj.jacobian(lambda x: np.sum(x) + np.ones(2), np.ones((0,)))
    assert J.shape == (2, 0)
    J = dj.jacobian(lambda x: x[:0], np.ones(2))
    assert J.shape == (0, 2)


def test_target_is_source_gives_identity():
    x = RNG.random((2, 3))
    np.testing.assert_array_equal(dj.jacobian(lambda x: x, x), np.eye(6).reshape(2, 3, 2, 3))


@pytest.mark.parametrize("bad", [lambda x: [x, x], lambda x: (x,), lambda x: None,
                                 lambda x: {"y": x}])
def test_target_must_be_one_array(bad):
    with pytest.raises(TypeError, match="target must be one array"):
        dj.jacobian(bad, np.ones(2))


def test_plain_ndarray_target_is_unconnected():
    assert dj.jacobian(lambda x: np.ones(3), np.ones(2)) is None


def test_value_and_jacobian_share_the_sweep():
    x = RNG.random(4)
    value, J = dj.value_and_jacobian(f_mixed, x)
    np.testing.assert_allclose(value, f_mixed(x))
    np.testing.assert_allclose(J, complex_step_jacobian(f_mixed, x))


def test_gradient_is_jacobian_of_sum():
    x = RNG.random((2, 3))
    g = dj.gradient(f_mixed, x)
    assert g.shape == x.shape
    np.testing.assert_allclose(g, complex_step_jacobian(lambda x: np.sum(f_mixed(x)), x))
    assert dj.gradient(lambda x: dj.stop_gradient(x), x) is None


def test_jvp_is_jacobian_times_vector():
    x, v = RNG.random(4), RNG.random(4)
    value, jv = dj.jvp(f_mixed, x, v)
    np.testing.assert_allclose(value, f_mixed(x))
    np.testing.assert_allclose(jv, complex_step_jacobian(f_mixed, x) @ v)


def test_jvp_with_structure():
    x, y = RNG.random(3), RNG.random(3)
    value, jv = dj.jvp(lambda s: s[0] * s[1], [x, y], [np.ones(3), np.zeros(3)])
    np.testing.assert_allclose(jv, y)


@pytest.mark.parametrize("k", [1, 2, 3, None])
def test_chunked_seeds_are_bit_identical(k):
    """parallel_iterations bounds the seeds per sweep; the result never changes."""
    W = RNG.standard_normal((5, 7))
    x, y = RNG.random(7), RNG.random((2, 2))

    def f(s):
        return np.tanh(W @ s[0]) * np.sum(s[1] ** 2) + np.concatenate([s[1].ravel(), s[0][:1]])

    full = dj.jacobian(f, [x, y])
    chunked = dj.jacobian(f, [x, y], parallel_iterations=k)
    for a, b in zip(full, chunked):
        np.testing.assert_array_equal(a, b)


def test_bad_parallel_iterations():
    with pytest.raises(ValueError, match="positive integer"):
        dj.jacobian(lambda x: x, np.ones(2), parallel_iterations=0)


def test_where_condition_is_not_a_path():
    """Only np.where's branches carry derivatives (TF's tf.where): a target that
    depends on x through the condition alone is unconnected. (Found by the fuzzer,
    whose connectivity model had it wrong.)"""
    x = RNG.random(3) - 0.5
    assert dj.jacobian(lambda x: np.where(x > 0, dj.stop_gradient(x), 1.0), x) is None
    J = dj.jacobian(lambda x: np.where(x > 0, x * 2.0, 1.0), x)
    np.testing.assert_array_equal(J, np.diag(np.where(x > 0, 2.0, 0.0)))


def test_empty_jet_with_constant_keeps_its_shape():
    """NumPy gives empty arrays zero strides; the kernel driver once took that for
    a broadcast operand and returned a 0-d result for (0, 3) + 1.0."""
    for shape in ((0, 3), (2, 0), (0,)):
        x = np.ones(shape)
        seen = []
        J = dj.jacobian(lambda z: seen.append((z + 1.0, 2.0 * z, z ** 3, np.sin(z) - z)) or z, x)
        assert J.shape == shape + shape
        for y in seen[0]:
            assert y.shape == shape and y.buf.shape == shape + (1,)
