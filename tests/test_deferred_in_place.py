"""Deferred jets: writes into new arrays of f's own (src_c/_deferred_writes.pxi). An
output filled in place (`out = np.empty_like(x); out[:, 0] = ...`), an update (`y += 1`),
a masked write (`y[y < 0] = 0`) or a write into a copy is recorded as a new node that the
written jet becomes; so f runs once and the result keeps eager's bits, and results
computed from the array before the write (held in f's variables) keep its old contents.
Writes that NumPy would show through a view, or into an array a pending result held
elsewhere reads, run f again on ordinary jets. Rows of 3 (x (b, 3)); witnesses: eager's bits, and the per-row Jacobians
written out.
"""

import numpy as np
import pytest

import dualjac as dj
from deferral import (DTYPES, ROWS, TRANSFORMS, assert_identical, assert_matches_eager,
                      assert_write_reruns, deferred, eager, pending, rng_x)

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")


def filled_by_columns(x):
    out = np.empty_like(x)
    out[:, 0] = x[:, 1] * x[:, 2]
    out[:, 1] = np.sin(x[:, 0])
    out[:, 2] = x[:, 0] + x[:, 2]
    return pending(x, out)


def zeros_then_slice(x):
    out = np.zeros_like(x)
    out[:, 1:] = x[:, :-1] ** 2
    return pending(x, out)


def ones_then_scaled(x):
    out = np.ones_like(x)
    out *= np.exp(x)
    out[..., 0] = 2.0
    return pending(x, out)


def full_then_masked(x):
    out = np.full_like(x, 0.5)
    out[x > 0] = -1.0
    return pending(x, out) * x


def updated(x):
    y = x * 2.0
    y += np.sin(x)
    y -= 1.0
    y *= x
    y /= 3.0
    y **= 2
    return pending(x, y)


def updated_by_itself(x):
    y = np.exp(x)
    y += y * 2.0
    return pending(x, y)


def relu_in_place(x):
    y = np.sin(x * 3.0)
    y[y < 0] = 0.0
    return pending(x, y)


def masked_by_a_function_of_it(x):
    y = x * 1.5
    y[np.abs(y) > 0.9] = 0.9
    return pending(x, y)


def mask_kept_after_the_write(x):
    y = np.cos(x)
    m = y > 0.7
    y[m] = 0.0
    return pending(x, np.where(m, y + 1.0, x))     # m: y's values before the write


def copy_then_written(x):
    y = np.sin(x)
    z = y.copy()
    z[:, 0] = 0.0
    return pending(x, y + z)                         # y unchanged


def astype_copy_then_written(x):
    y = np.sin(x)
    z = y.astype(y.dtype)
    z += 1.0
    return pending(x, y * z)


def written_whole(x):
    y = x * x
    y[...] = np.tanh(x)
    return pending(x, y)


def broadcast_within_rows(x):
    y = np.zeros_like(x)
    y[:, :2] = x[:, 2:3]
    y[:, 2] = 1.0
    return pending(x, y * x)


def listed_lanes(x):
    y = np.exp(x)
    y[:, [0, 2]] = x[:, [1, 1]]
    return pending(x, y)


def constant_rows(x):
    y = np.sin(x)
    y[:, 1] = np.linspace(0.0, 1.0, x.shape[0]).astype(x.dtype)
    y[:, 2] = [4.0]
    return pending(x, y * x)


def alias_sees_the_write(x):
    y = np.exp(x)
    alias = y
    y[:, 0] = 0.0
    y += 1.0
    return pending(x, alias * x)


def reduction_updated(x):
    s = np.sum(x * x, axis=1, keepdims=True)
    s += 1.0
    return pending(x, x / s)


def after_a_branch_on_it(x):
    y = np.sin(x)
    if np.any(y > 2.0):            # the mask's values are read: it no longer holds y
        y = y * 0.0
    y += 1.0
    return pending(x, y)


def after_a_dropped_result(x):
    y = np.sin(x)
    z = y * 2.0
    del z                          # nothing reads y any more
    y *= x
    return pending(x, y)


def out_argument(x):
    y = np.exp(x)
    np.multiply(y, x, out=y)          # y reads itself: computed before the write
    np.add(np.sin(x), 1.0, out=(y,))
    return pending(x, y * x)


# Writes through views of a new array: the array's write of the lanes the view shows.
def augmented_index(x):
    y = x * 1.0
    y[:, 0] += x[:, 1]            # y[:, 0] is a view, updated in place
    y[:, 1:] *= 2.0
    return pending(x, y)


def views_filled_in_place(x):
    out = np.zeros_like(x)
    head, tail = out[..., :1], out[..., 1:]
    head[...] = np.sin(x[..., :1])
    tail[...] = x[..., :-1] * x[..., 1:]
    return pending(x, out)


def view_updated_then_read(x):
    y = np.exp(x)
    t = y[:, 0]
    t += 1.0
    return pending(x, t * y[:, 1] + y[:, 0])    # t and y both show the update


def accumulated_in_a_function(x):
    def accumulate(buffer, value):
        buffer += value
    out = np.zeros_like(x)
    accumulate(out[:, 1:], x[:, :-1] ** 2)
    accumulate(out[:, :1], np.cos(x[:, :1]))
    return pending(x, out)


def reshape_view_filled(x):
    out = np.zeros_like(x)
    grid = out.reshape(x.shape[0], 1, 3)
    grid[:, 0, 1:] = np.tanh(x[:, :2])
    grid[:, 0, :1] = 2.0
    return pending(x, out * x)


def view_shows_the_write(x):
    y = np.sin(x)
    v = y[:, 0]                   # a view: NumPy shows it the write
    y[:, 0] = 5.0
    return pending(x, v * x[:, 1])


def signed_zeros_filled(x):
    positive, negative = np.full_like(x, 0.0), np.full_like(x, -0.0)   # -0.0 == 0.0, not alike
    return pending(x, np.copysign(x, negative) + positive)


def into_a_stack(x):
    y = np.stack([x[:, 0], x[:, 1] * 2.0], axis=1)   # a new array
    y[:, 0] = 1.0
    return pending(x, y * x[:, :2])


def out_into_views(x):
    out = np.zeros_like(x)
    np.add(np.sin(x[:, :1]), 0.0, out=out[:, :1])
    np.multiply(x[:, :-1], x[:, 1:], out=out[:, 1:])
    return pending(x, out)


def transpose_filled(x):
    out = np.zeros_like(x)
    columns = out.T               # a view: writes into it reach out
    columns[0] = np.sin(x[:, 0])
    columns[1:3] += (x[:, 1:3] * 2.0).T
    columns += 1.0
    columns[2, :] = 0.5
    return pending(x, out * x)


def view_written_from_itself(x):
    y = np.sin(x)
    v = y[:, :2]
    v[...] = v * x[:, 1:]
    return pending(x, y)


RECORDED = {f.__name__: f for f in (
    filled_by_columns, zeros_then_slice, ones_then_scaled, full_then_masked, updated,
    updated_by_itself, relu_in_place, masked_by_a_function_of_it, mask_kept_after_the_write,
    copy_then_written, astype_copy_then_written, written_whole, broadcast_within_rows,
    listed_lanes, constant_rows, alias_sees_the_write, reduction_updated,
    after_a_branch_on_it, after_a_dropped_result, out_argument, augmented_index,
    views_filled_in_place, view_updated_then_read, accumulated_in_a_function,
    reshape_view_filled, view_written_from_itself, view_shows_the_write, out_into_views,
    transpose_filled, into_a_stack, signed_zeros_filled)}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", RECORDED)
def test_writes_into_new_arrays_are_recorded(name, dtype, transform):
    x = rng_x((ROWS, 3), dtype)
    x[::13, 1] = -0.0
    assert_matches_eager(TRANSFORMS[transform], RECORDED[name], x, calls=1)


def test_recorded_writes_against_their_derivatives():
    """filled_by_columns: rows (x1 x2, sin x0, x0 + x2); relu_in_place: 3 cos(3x) where
    sin(3x) > 0, else 0, on the diagonal."""
    x = rng_x((ROWS, 3))
    J = deferred(dj.batch_jacobian, filled_by_columns, x)
    want = np.zeros((ROWS, 3, 3))
    want[:, 0, 1], want[:, 0, 2] = x[:, 2], x[:, 1]
    want[:, 1, 0] = np.cos(x[:, 0])
    want[:, 2, 0] = want[:, 2, 2] = 1.0
    np.testing.assert_allclose(J, want, rtol=1e-15, atol=0)
    J = deferred(dj.batch_jacobian, relu_in_place, x)
    slope = np.where(np.sin(3 * x) >= 0, 3 * np.cos(3 * x), 0.0)
    np.testing.assert_allclose(J, slope[:, :, None] * np.eye(3), rtol=1e-14, atol=0)


# Results computed from an array before a write into it that the written value does not
# reach: found from the variables of f (and of the functions f was called from, and of
# those it calls), they keep the old contents; f runs once.
def read_before_the_write(x):
    y = np.sin(x)
    z = y * 2.0                   # computed from y before the write
    y += 1.0
    return z * y


def copy_kept_before_the_update(x):
    y = np.exp(x)
    before = y.copy()             # a new array: keeps what y held
    y += 0.1 * np.sin(y)
    return (y - before) * 10.0


def diagnostic_before_the_update(x):
    v = x * 2.0
    energy = np.sum(v ** 2, axis=-1)
    v *= 0.5
    return energy[:, None] + v


def results_in_a_list(x):
    y = np.cos(x)
    parts = [y * 2.0, y + 1.0]
    y -= 1.0
    return parts[0] * parts[1] + y


def bumped(a):
    a += 1.0                      # the write, in a function f calls


def read_in_the_caller(x):
    y = np.sin(x)
    z = y * y
    bumped(y)
    return z + y


def view_and_result_before_the_write(x):
    y = np.sin(x)
    v = y[:, 0]                   # a view nothing reads yet: shows the write
    z = y * 3.0
    y += 1.0
    return z + v[:, None]


def view_read_before_its_write(x):
    y = np.sin(x)
    t = y[:, 0]
    z = t * 2.0                   # computed from the view before the write
    t += 1.0
    return z + y[:, 0]


def view_and_array_read_before(x):
    y = np.sin(x)
    t = y[:, 0]
    z = t * 2.0
    w = y * 3.0                   # computed from the array before the write through t
    t += 1.0
    return z[:, None] + y + w


READ_BEFORE = {f.__name__: f for f in (
    read_before_the_write, copy_kept_before_the_update, diagnostic_before_the_update,
    results_in_a_list, read_in_the_caller, view_and_result_before_the_write,
    view_read_before_its_write, view_and_array_read_before)}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", READ_BEFORE)
def test_results_read_before_a_write_keep_the_old_contents(name, dtype, transform):
    assert_matches_eager(TRANSFORMS[transform], READ_BEFORE[name], rng_x((ROWS, 3), dtype),
                         calls=1)


def test_result_read_before_a_write_against_its_derivative():
    """copy_kept_before_the_update: per element 10 (y1 - y0) with y0 = exp(x), y1 = y0 +
    0.1 sin(y0): the diagonal cos(exp(x)) exp(x)."""
    x = rng_x((ROWS, 3))
    J = deferred(dj.batch_jacobian, copy_kept_before_the_update, x, calls=1)
    want = (np.cos(np.exp(x)) * np.exp(x))[:, :, None] * np.eye(3)
    np.testing.assert_allclose(J, want, rtol=1e-12, atol=1e-15)


def test_energy_before_the_update_against_its_derivative():
    """diagnostic_before_the_update: out_i = 4 sum_j x_j^2 + x_i (the energy of v = 2x,
    then v halved): J_ij = 8 x_j + delta_ij."""
    x = rng_x((ROWS, 3))
    J = deferred(dj.batch_jacobian, diagnostic_before_the_update, x, calls=1)
    want = 8.0 * x[:, None, :] + np.eye(3)
    np.testing.assert_allclose(J, want, rtol=1e-14, atol=1e-15)


def test_view_read_before_its_write_against_its_derivative():
    """view_read_before_its_write: 2 sin(x0) + (sin(x0) + 1), so the Jacobian is 3 cos(x0)
    in column 0 and the Hessian -3 sin(x0) at (0, 0)."""
    x = rng_x((ROWS, 3))
    J = deferred(dj.batch_jacobian, view_read_before_its_write, x, calls=1)
    want = np.zeros((ROWS, 3))
    want[:, 0] = 3.0 * np.cos(x[:, 0])
    np.testing.assert_allclose(J, want, rtol=1e-14, atol=1e-15)
    H = deferred(dj.batch_hessian, view_read_before_its_write, x, calls=1)
    want = np.zeros((ROWS, 3, 3))
    want[:, 0, 0] = -3.0 * np.sin(x[:, 0])
    np.testing.assert_allclose(H, want, rtol=1e-14, atol=1e-15)


# The write would change what a pending result (or a view, or a value read out) shows
# differently from NumPy, or a result read before it is held where f's variables do not
# show it: f runs again on ordinary jets.
class Holder:
    pass


def read_before_and_held_in_an_attribute(x):
    kept = Holder()
    y = np.sin(x)
    kept.z = y * 2.0              # not a variable of f: not looked for
    y += 1.0
    return kept.z * y


def view_written_into_its_array(x):
    y = np.sin(x)
    z = y * 3.0
    y[:, 1] = y[:, 0]             # the value is a view of the array written
    return z + y


def value_read_before_the_write(x):
    y = np.exp(x)
    v = y.value                   # a view of the values, eagerly
    y += 1.0
    return y * v


def mask_held_elsewhere(x):
    y = np.sin(x)
    m = y > 0
    y += 1.0                      # m still reads y
    return np.where(m, y, x)


def view_of_a_view_kept(x):
    y = np.sin(x)
    t = y[:, :2]
    u = t[:, 0]                   # a view of a view
    z = t * 2.0
    t += 1.0
    return z.sum(axis=1)[:, None] + u[:, None] + y


RERUN = {f.__name__: f for f in (read_before_and_held_in_an_attribute,
                                 view_written_into_its_array,
                                 value_read_before_the_write, mask_held_elsewhere,
                                 view_of_a_view_kept)}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", RERUN)
def test_writes_numpy_would_show_elsewhere_rerun(name, transform):
    assert_write_reruns(TRANSFORMS[transform], RERUN[name], rng_x((ROWS, 3)))


def piecewise_by_hand(x):
    y = np.zeros_like(x)
    inside = x > 0
    y[inside] = np.sin(x[inside])             # a value of another kind: computed
    y[~inside] = x[~inside] ** 2
    return y


def row_written(x):
    y = np.cos(x)
    y[0] = 1.0                                # one row: not a row operation
    y[1, 2] = 2.0
    return y * x


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("f", [piecewise_by_hand, row_written], ids=lambda f: f.__name__)
def test_other_writes_into_own_arrays_run_once_on_their_jet(f, transform):
    """Writes dualjac cannot record into an array of f's own that nothing reads: made
    on the array's own computed jet, f runs once, eager's bits."""
    with np.errstate(invalid="ignore"):
        assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)), calls=1)


def test_unconnected_output_filled_with_constants():
    """np.zeros_like(x) written with constants only: the output does not depend on x, so
    the Jacobian is TF's zeros, as eagerly."""
    def f(x):
        y = np.zeros_like(x)
        y[:, 1] = 3.0
        return y

    J = assert_matches_eager(dj.batch_jacobian, f, rng_x((ROWS, 3)), calls=1)
    assert not J.any()


def test_writes_after_the_transform_are_refused():
    kept = []

    def f(x):
        y = np.zeros_like(x)
        y[:, 0] = x[:, 1]
        kept.append(y)
        return y

    deferred(dj.batch_jacobian, f, rng_x((ROWS, 3)))
    with pytest.raises(TypeError, match=r"compute\(\)"):
        kept[0][:, 1] = 1.0
    with pytest.raises(TypeError, match=r"compute\(\)"):
        kept[0] += 1.0


# NumPy functions that return views of y (or y itself): a write into y shows through the
# view, and a write into the view shows in y. Deferred, either write runs f again, or is
# recorded on the very same jet: eager's bits either way.
VIEWS = {
    "index": lambda y: y[:, 1:],
    "reshape": lambda y: y.reshape(y.shape[0], 3, 1),
    "expand_dims": lambda y: np.expand_dims(y, -1),
    "newaxis": lambda y: y[..., None],
    "squeeze_nothing": lambda y: np.squeeze(y),
    "swapaxes": lambda y: np.swapaxes(y.reshape(-1, 3, 1), 1, 2),
    "moveaxis": lambda y: np.moveaxis(y.reshape(-1, 3, 1), 2, 1),
    "transpose": lambda y: y.T,
    "diagonal": lambda y: np.diagonal(y.reshape(-1, 3, 1), axis1=1, axis2=2),
    "broadcast_to": lambda y: np.broadcast_to(y[:, None, :], (y.shape[0], 2, 3)),
    "ravel_rows": lambda y: y.reshape(y.shape[0], -1),
    "atleast_2d": lambda y: np.atleast_2d(y),
    "astype_no_copy": lambda y: y.astype(y.dtype, copy=False),
    "everything": lambda y: y[...],
    "real": lambda y: np.real(y),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", VIEWS)
def test_write_into_an_array_with_a_view(name, transform):
    def f(x):
        y = np.sin(x)
        v = VIEWS[name](y)
        y[:, 0] = 5.0
        y += x
        return np.sum(np.reshape(v * 1.0, (x.shape[0], -1)), axis=1) + y[:, 1]

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)), calls=None)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", [name for name in VIEWS if name not in ("diagonal", "broadcast_to")])
def test_write_through_a_view(name, transform):
    """(np.diagonal and np.broadcast_to give read-only views.)"""
    def f(x):
        y = np.sin(x)
        v = VIEWS[name](y)
        v[...] = 2.0
        return y * x

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)), calls=None)


def test_recording_leaves_no_reference_cycles():
    """Writes, views and the source's views refer to one another only one way (weak
    references back): everything a transform records is freed by reference counting, so
    a large source's copy never waits for the garbage collector."""
    import gc
    x = rng_x((ROWS, 3))
    functions = list(RECORDED.values()) + [lambda z: z[:, 0] * z[:, 0] + np.sum(z, axis=1)]
    for transform in TRANSFORMS.values():       # (first calls: caches filled)
        for f in functions:
            transform(f, x)
    gc.collect()
    gc.disable()
    try:
        for transform in TRANSFORMS.values():
            for f in functions:
                transform(f, x)
        assert gc.collect() == 0
    finally:
        gc.enable()


# Values written into a transpose t = y.T of shape (n, b): t[k] = v is y[:, k] = v broadcast
# to t[k]'s shape, transposed, whatever v's shape (NumPy's broadcasting against t, not y).
TRANSPOSE_WRITES = {
    "slice_of_transposed": lambda t, w: t.__setitem__(slice(0, 2), w.T),
    "slice_of_rows_shape": lambda t, w: t.__setitem__(slice(0, 2), w),   # (b, 2) into (2, b)
    "row": lambda t, w: t.__setitem__(0, w[:, 1]),
    "update_by_a_vector": lambda t, w: t.__iadd__(w[:, 0]),              # along t's last axis
    "update_by_transposed": lambda t, w: t.__imul__(w.T),
    "update_by_a_column": lambda t, w: t.__isub__(np.ones((2, 1))),
    "slice_of_a_plain_array": lambda t, w: t.__setitem__(slice(0, 2), np.arange(
        2 * t.shape[1], dtype=float).reshape(2, -1)),
}


@pytest.mark.parametrize("rows", [2, 1200])
@pytest.mark.parametrize("name", TRANSPOSE_WRITES)
def test_writes_into_a_transpose_broadcast_as_numpy(name, rows):
    """Eager's result (or NumPy's broadcasting error) with rows of 2 numbers: with b = 2 the
    shapes (2, b) and (b, 2) agree, so a value taken the wrong way round would broadcast."""
    def f(x):
        y = np.sin(x)
        w = np.cos(x)
        TRANSPOSE_WRITES[name](y.T, w)
        return y * x

    x = rng_x((rows, 2))
    try:
        want = eager(dj.batch_jacobian, f, x)
    except ValueError:
        with pytest.raises(ValueError):
            deferred(dj.batch_jacobian, f, x, calls=None)
        return
    assert_identical(deferred(dj.batch_jacobian, f, x, calls=None), want)
