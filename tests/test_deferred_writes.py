"""Deferred jets: writes that must run f again on dense jets (into the source and its
views, into memory a pending node reads, out=, writes into computed jets), read-only
computed jets, constants and the caller's array mutated inside f, scalar elements
(tests/deferral.py). Writes into new arrays of f's own are recorded:
tests/test_deferred_in_place.py.
"""

import operator

import numpy as np
import pytest

import dualjac as dj
from banding import deferred_from
from deferral import (ROWS, TRANSFORMS, Probe, assert_identical, assert_matches_eager,
                      assert_write_reruns, deferred, dense, eager, pending, potential, rng_x)

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")


def write_source_item(x):
    x[0, 0] = 1.0
    return np.sin(x[:, 0]) * x[:, 1]


def write_source_after_pending(x):
    y = np.sin(x[:, 0]) * x[:, 1]       # pending: reads column 0 later
    x[:, 0] = 2.0
    return y + x[:, 0]


def out_into_computed(x):
    y = np.sin(x[:, 0])
    _ = y.value                          # y computed
    z = y * 2.0                          # pending: reads y's buffer later
    np.add(x[:, 1], 1.0, out=y)
    return z + y


def out_into_pending(x):
    y = np.sin(x[:, 0])
    z = y * x[:, 1]
    np.multiply(x[:, 1], 3.0, out=y)
    return z + y


def out_tuple_into_pending(x):
    y = np.exp(x[:, 0])
    z = np.cos(y)
    np.sin(x[:, 1], out=(y,))
    return z * y


def write_into_computed_column(x):
    z = x[:, 0] * 2.0                    # pending
    c = dense(x[:, 0])                   # the computed column (a view of the source)
    c[:] = 5.0
    return z * x[:, 0]


def inplace_into_computed_column(x):
    z = np.sin(x[:, 0])
    c = dense(x[:, 0])
    c += 1.0
    return z + x[:, 0] * x[:, 1]


def write_through_reshape(x):
    x.reshape(-1)[0] = 3.0
    return np.sin(x[:, 0]) + x[:, 2]


def write_into_block_view(x):
    v = x[:, :2]
    v[:, 0] = 3.0
    return np.sin(x[:, 0]) * x[:, 1]


def write_swallowed_by_except_exception(x):
    try:
        x[0, 0] = 1.0
    except Exception:                     # NeedsDense is a BaseException
        pass
    return np.sin(x[:, 0]) * x[:, 1]


WRITES = {f.__name__: f for f in (write_source_item, write_source_after_pending,
                                  out_into_computed,
                                  write_into_computed_column, inplace_into_computed_column,
                                  write_through_reshape,
                                  write_into_block_view, write_swallowed_by_except_exception)}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", WRITES)
def test_writes_run_f_again_on_dense_jets(name, transform):
    """A write into a deferred jet (or memory a pending node reads) inside f: the
    transform evaluates f a second time on ordinary jets, giving eager's answer."""
    assert_write_reruns(TRANSFORMS[transform], WRITES[name], rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("f", [out_into_pending, out_tuple_into_pending], ids=lambda f: f.__name__)
def test_out_into_a_pending_result_read_before_is_recorded(f, transform):
    """out= into a new array of f's own that an earlier result (held in a variable of f)
    read: that result keeps the old contents, f runs once, eager's bits."""
    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)), calls=1)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_write_into_transpose(transform):
    """x.T is a new jet (not a view of x) on both paths: writing into it changes
    nothing else, so eager's answer (f may or may not run again)."""
    def f(x):
        t = x.T
        t[0] = 1.0
        return np.sin(x[:, 0]) * t[1] + t[0]

    assert_identical(deferred(TRANSFORMS[transform], f, rng_x((ROWS, 3)), calls=None),
                     eager(TRANSFORMS[transform], f, rng_x((ROWS, 3))))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_write_into_value_view(transform):
    """.value is read-only on both paths: the same ValueError."""
    def f(x):
        y = np.sin(x[:, 0])
        y.value[:] = 0.0
        return y

    x = rng_x((ROWS, 3))
    with deferred_from(0), pytest.raises(ValueError) as eager_error:
        TRANSFORMS[transform](f, x)
    with deferred_from(1), pytest.raises(ValueError) as deferred_error:
        TRANSFORMS[transform](f, x)
    assert str(deferred_error.value) == str(eager_error.value)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_no_write_runs_f_once(transform):
    deferred(TRANSFORMS[transform], potential, rng_x((ROWS, 3)), calls=1)


def test_kept_deferred_jet_refuses_writes():
    kept = []

    def f(x):
        y = np.sin(x[:, 0]) * x[:, 1]
        kept.extend([y, x, x[:, 2]])
        return y

    x = rng_x((ROWS, 3))
    with deferred_from(1):
        dj.batch_jacobian(f, x)
    y, source, column = kept
    for jet in kept:
        assert type(jet) is dj.DeferredJet
        with pytest.raises(TypeError, match=r"compute\(\)"):
            jet[0] = 1.0
        with pytest.raises(TypeError, match=r"compute\(\)"):
            jet += 1.0
    # Still readable, with the values f computed: eager's bits (dualjac's own sin
    # may differ from NumPy's in the last place: NumPy is a 1-ulp witness).
    eager_values = []
    with deferred_from(0):
        dj.batch_jacobian(lambda z: eager_values.append((np.sin(z[:, 0]) * z[:, 1]).value)
                          or z, x)
    assert_identical(y.value, eager_values[0])
    np.testing.assert_allclose(y.value, np.sin(x[:, 0]) * x[:, 1], rtol=1e-15, atol=1e-300)
    assert_identical(source.value, x)
    assert_identical(column.value, x[:, 2])
    # out= into it is refused too, and leaves it unchanged.
    with pytest.raises((TypeError, ValueError)):
        np.add(column, 1.0, out=y)
    assert_identical(y.value, eager_values[0])
    # A copy of the computed jet is an ordinary writeable jet.
    copy = y.compute().copy()
    copy[0] = 0.0
    assert copy.value[0] == 0.0 and y.value[0] != 0.0


def test_computed_jet_is_read_only():
    kept = []

    def f(x):
        y = np.cos(x[:, 0])
        kept.append(y.compute())
        return y

    with deferred_from(1):
        dj.batch_jacobian(f, rng_x((ROWS, 3)))
    with pytest.raises(ValueError, match="read-only"):
        kept[0][0] = 1.0


def test_mutated_closed_over_constant_keeps_eager_semantics():
    def make_f(kind):
        def f(x):
            rows = x.shape[0]
            w = {"same_shape": np.ones(rows), "size1": np.ones(1), "zero_d": np.array(1.0),
                 "block": np.ones((rows, 3))}[kind]
            y = (x[:, 0] if kind != "block" else x) * w + np.sin(x[:, 1] if kind != "block" else x)
            w[...] = 5.0
            return y * 2.0
        return f

    for kind in ("same_shape", "size1", "zero_d", "block"):
        for transform in TRANSFORMS.values():
            assert_matches_eager(transform, make_f(kind), rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("use", ["columns", "whole_source", "whole_source_after_pending",
                                 "then_write_into_jet"])
def test_f_mutating_the_callers_array(transform, use):
    """f writes into the caller's x (the array passed to the transform): the
    derivative is still taken at x as it was when the transform was called,
    as on the eager path (which seeds before f runs)."""
    def make(caller):
        def f(xj):
            if use == "whole_source_after_pending":
                y = np.sin(xj) * 2.0
                caller[:] = 7.0
                return y
            caller[:] = 7.0
            if use == "columns":
                return np.sin(xj[:, 0]) * xj[:, 1]
            if use == "whole_source":
                return np.sin(xj)
            xj[0, 0] = 1.0                       # then_write_into_jet: f runs again
            return np.sin(xj[:, 0]) * xj[:, 1]
        return f

    original = rng_x((ROWS, 3))
    caller = original.copy()
    probe = Probe(make(caller))
    with deferred_from(1):
        got = TRANSFORMS[transform](probe, caller)
    assert probe.arg_types[0] is dj.DeferredJet
    eager_caller = original.copy()
    with deferred_from(0):
        want = TRANSFORMS[transform](make(eager_caller), eager_caller)
    assert_identical(got, want)


INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
           "/=": operator.itruediv, "**=": operator.ipow}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("op", INPLACE)
def test_inplace_operator_on_a_seed_view(op, transform):
    """c = x[:, 1]; c op= 2: eagerly this updates the source (c is a view of it),
    so later reads of x[:, 1] see it. Deferred, it is a write: f runs again."""
    def f(x):
        c = x[:, 1]
        INPLACE[op](c, 2.0)
        return np.sin(x[:, 0]) * x[:, 1]

    x = rng_x((ROWS, 3), lo=0.5, hi=1.5)
    assert_write_reruns(TRANSFORMS[transform], f, x)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("op", INPLACE)
def test_inplace_operator_on_an_aliased_pending_jet(op, transform):
    """y op= 2 updates y in place: another name for the same jet sees it (recorded: y is
    a new array of f's own, and nothing reads it yet)."""
    def f(x):
        y = np.exp(x[:, 0])
        alias = y
        INPLACE[op](y, 2.0)
        return alias * x[:, 1]

    x = rng_x((ROWS, 3), lo=0.5, hi=1.5)
    assert_matches_eager(TRANSFORMS[transform], f, x, calls=1)


SCALAR_ELEMENTS = {
    "product": lambda x: x[:, 0] * x[0, 1],
    "row_then_element": lambda x: x[:, 2] + x[3][1],
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", SCALAR_ELEMENTS)
def test_scalar_element_of_the_source(name, transform):
    """x[i, j] (one element: a 0-d jet) behaves as eagerly."""
    assert_matches_eager(TRANSFORMS[transform], SCALAR_ELEMENTS[name], rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_float_of_an_element_raises_as_eagerly(transform):
    """float(x[i, j]) would drop a derivative: the same TypeError on both paths."""
    f = lambda x: np.sin(x[:, 0]) * float(x[0, 1])   # noqa: E731
    x = rng_x((ROWS, 3))
    messages = []
    for threshold in (0, 1):
        with deferred_from(threshold), pytest.raises(TypeError, match="float()") as caught:
            TRANSFORMS[transform](f, x)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


IDENTITY_GATHERS = {
    "list_index": lambda out: out[:, [0, 1]],
    "take_every_lane": lambda out: np.take(out, np.arange(3), axis=2),
    "ellipsis_list": lambda out: out[..., [0, 1, 2]],
}


@pytest.mark.parametrize("gather", IDENTITY_GATHERS)
def test_an_index_of_lists_taking_every_lane_is_a_copy(gather):
    """out[:, [0, 1]] of rows (2, 3) takes every lane in order, and is still NumPy's copy:
    a write into it does not reach out, nor a write into out the copy taken before it."""
    x = np.random.default_rng(8).uniform(0.5, 1.5, (600, 2, 3))

    def write_into_copy(z):
        out = np.zeros_like(z)
        copy = IDENTITY_GATHERS[gather](out)
        copy[...] = np.sin(z)
        return out + z

    def write_after_copy(z):
        out = z * 1.0
        copy = IDENTITY_GATHERS[gather](out)
        out[...] = np.sin(z)
        return copy * out

    identity = np.broadcast_to(np.eye(6).reshape(2, 3, 2, 3), (600, 2, 3, 2, 3))
    np.testing.assert_array_equal(deferred(dj.batch_jacobian, write_into_copy, x), identity)
    want = identity * (np.sin(x) + x * np.cos(x))[:, :, :, None, None]
    np.testing.assert_allclose(deferred(dj.batch_jacobian, write_after_copy, x), want,
                               rtol=1e-15)


CREATED_LIKE = {
    "zeros_transpose_update": lambda z: _through_transpose(np.zeros(z.shape, like=z), z),
    "empty_filled": lambda z: _filled(np.empty(z.shape, like=z), z),
    "ones_scaled": lambda z: np.ones(z.shape, like=z) * z,
    "full_updated": lambda z: _added(np.full(z.shape, 2.0, like=z), z),
}


def _through_transpose(out, z):
    columns = out.T
    columns += np.sin(z.T)
    return out


def _filled(out, z):
    out[:, 0] = z[:, 1] ** 2
    out[:, 1:] = np.exp(z[:, :-1])
    return out


def _added(out, z):
    out += z * z
    return out


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", CREATED_LIKE)
def test_arrays_created_like_a_deferred_jet_take_writes(name, transform):
    """np.zeros(shape, like=x) and its kin are new arrays of f's own, as np.zeros_like(x)
    is: writes into them are recorded (float64 rows; float32 rows get NumPy's float64
    array, which the dense jets make); eager's bits either way."""
    for dtype in (np.float64, np.float32):
        assert_matches_eager(TRANSFORMS[transform], CREATED_LIKE[name], rng_x((ROWS, 4), dtype))
    x = rng_x((ROWS, 4))
    J = deferred(dj.batch_jacobian, lambda z: pending(z, CREATED_LIKE["full_updated"](z)), x)
    np.testing.assert_array_equal(J, 2 * x[:, :, None] * np.eye(4))   # d(2 + z^2) = 2 z


def test_a_mask_after_an_ellipsis_indexes_the_source():
    x = rng_x((600, 2, 3))
    mask = np.array([True, False, True])
    assert_matches_eager(dj.batch_jacobian, lambda z: np.sin(z[..., mask]), x)
    np.testing.assert_allclose(deferred(dj.batch_jacobian, lambda z: np.sin(z[..., mask]), x),
                               dj.batch_jacobian(lambda z: np.sin(z[:, :, mask]), x), rtol=0)
