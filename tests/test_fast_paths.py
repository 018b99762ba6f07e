"""The small-array fast paths give exactly what the general paths give.

Each fast path (the jacobian entry in C, the ufunc and join entries of the jet
types, indexing) is compared bit for bit, with shapes and dtypes, against the
general code it short-cuts, and on the cases it must refuse (wrong types,
levels, keyword arguments, errors).
"""
import numpy as np
import pytest

import dualjac as dj
from dualjac import _core, api

from banding import banded_from

DTYPES = (np.float32, np.float64)


@pytest.fixture(autouse=True)
def dense_only():
    """The dense paths against each other: banded jets (tests/test_banded.py) give
    the same numbers but may differ in the sign of a zero."""
    with banded_from(0):
        yield


def same(a, b):
    """Bit-identical results, structure, shapes and dtypes included (None too)."""
    if a is None or b is None:
        assert a is None and b is None
        return
    if isinstance(a, dj.DualArray) or isinstance(a, dj.HyperDualArray):
        assert type(a) is type(b)
        assert a.level() == b.level()
        assert (a.deps1, a.deps2) == (b.deps1, b.deps2)
        a, b = a.buf, b.buf
    assert type(a) is type(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    assert np.array_equal(a, b, equal_nan=True)
    assert np.array_equal(np.signbit(a), np.signbit(b))


def outcome(call):
    """The result, or the exception's type and message."""
    try:
        return call()
    except Exception as e:  # noqa: BLE001 - compared, not swallowed
        return (type(e), str(e))


def same_outcome(fast, slow):
    a, b = outcome(fast), outcome(slow)
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b
    else:
        same(a, b)


def general_jacobian(f, x, **kw):
    """The general sweep (value_and_jacobian's), which jacobian's fast path skips."""
    return dj.value_and_jacobian(f, x, **kw)[1]


TARGETS = {
    "cube": lambda x: x * x * x,
    "sph-like": lambda x: np.stack([np.sin(x) * x, np.cos(x) + 1.0]),
    "sum": lambda x: np.sum(np.exp(x)),
    "scalar index": lambda x: x[(0,) * x.ndim] * 2.0,
    "constant": lambda x: np.ones(3),
    "python float": lambda x: 1.5,
    "stop_gradient": lambda x: dj.stop_gradient(x) * 2.0,
    "ones_like": lambda x: np.ones_like(x),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (3,), (2, 2), (2, 1, 3), (0,), (2, 0)])
@pytest.mark.parametrize("name", sorted(TARGETS))
@pytest.mark.parametrize("mode", ["none", "zero", dj.UnconnectedGradients.ZERO])
def test_jacobian_fast_path_matches_general_path(dtype, shape, name, mode):
    f = TARGETS[name]
    x = np.linspace(0.3, 1.7, int(np.prod(shape))).astype(dtype).reshape(shape)
    # (an empty x has no element to index: both paths must raise the same error)
    same_outcome(lambda: dj.jacobian(f, x, unconnected_gradients=mode),
                 lambda: general_jacobian(f, x, unconnected_gradients=mode))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["cube", "sph-like", "sum", "constant", "stop_gradient"])
def test_nested_fast_path_matches_general_path(dtype, name):
    f = TARGETS[name]
    x = np.array([[0.4, 1.1], [0.7, 1.9]], dtype)
    for mode in ("none", "zero"):
        same_outcome(
            lambda: dj.jacobian(lambda z: dj.jacobian(f, z, unconnected_gradients=mode), x,
                                unconnected_gradients=mode),
            lambda: general_jacobian(
                lambda z: general_jacobian(f, z, unconnected_gradients=mode),
                x, unconnected_gradients=mode))


def test_nested_inner_result_of_outer_level_only():
    """f returns a jet of the outer transform only: the inner derivative is None / zeros."""
    x = np.array([0.5, 1.5])
    for mode in ("none", "zero"):
        same_outcome(
            lambda: dj.jacobian(
                lambda z: dj.jacobian(lambda w: z * 2.0, z, unconnected_gradients=mode),
                x, unconnected_gradients=mode),
            lambda: general_jacobian(
                lambda z: general_jacobian(lambda w: z * 2.0, z, unconnected_gradients=mode),
                x, unconnected_gradients=mode))


@pytest.mark.parametrize("size", [126, 127, 128, 129, 200])
def test_sizes_around_the_fast_path_limits(size):
    """127 seeds: in C; 128: the block cache (general); 129 and more: chunks."""
    x = np.linspace(0.1, 2.0, size)
    same(dj.jacobian(TARGETS["sph-like"], x), general_jacobian(TARGETS["sph-like"], x))


def test_non_contiguous_and_byteswapped_sources():
    base = np.linspace(0.1, 2.0, 12).reshape(3, 4)
    for x in (base[:, ::2], base.T, base.astype(">f8"), base.astype(">f4")[::2]):
        same(dj.jacobian(TARGETS["cube"], x), general_jacobian(TARGETS["cube"], x))


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")   # np.matrix
def test_sources_the_fast_path_refuses():
    f = TARGETS["cube"]
    sentinel = _core.NO_FAST_PATH
    calls = []

    def spy(z):
        calls.append(z)
        return f(z)
    for x in ([1.0, 2.0], 1.5, np.arange(3), np.ones(3, np.float16), np.ones(3, np.longdouble),
              np.matrix([[1.0, 2.0]]), {"a": np.ones(2)}):
        for compiled in (_core.jacobian_dense, _core.hessian_dense,
                         lambda f, x: _core.jacobian_banded(f, x, False),
                         lambda f, x: _core.hessian_banded(f, x, False)):
            assert compiled(spy, x) is sentinel
    assert not calls   # refused before f is called


def test_the_transforms_choose_the_compiled_way_by_the_policy_thresholds():
    """dualjac/_policy.py decides (the compiled core takes no size decision): banded from
    the banded threshold, one dense sweep below it."""
    f, kinds = TARGETS["cube"], []

    def spy(z):
        kinds.append(type(z))
        return f(z)
    for threshold, n, kind in ((64, 8, dj.DualArray), (64, 64, dj.BandedJet),
                               (0, 64, dj.DualArray), (65, 64, dj.DualArray)):
        with banded_from(threshold):
            kinds.clear()
            J = dj.jacobian(spy, np.linspace(0.5, 1.5, n))
        assert kinds == [kind]
        same(J, general_jacobian(f, np.linspace(0.5, 1.5, n)))


def test_fast_path_is_taken_for_small_float_arrays():
    for dtype in DTYPES:
        x = np.ones((2, 3), dtype)
        J = _core.jacobian_dense(TARGETS["cube"], x)
        assert J is not _core.NO_FAST_PATH and J.shape == (2, 3, 2, 3) and J.dtype == dtype
        inner = []
        dj.jacobian(lambda z: inner.append(
            _core.jacobian_dense(TARGETS["cube"], z)) or z, x)
        assert isinstance(inner[0], dj.DualArray) and inner[0].shape == (2, 3, 2, 3)


def test_uncommon_results_come_back_unfinished_with_their_tags_live():
    """The compiled sweeps never call back into the transforms: an uncommon output
    (here unconnected) comes back with its tags live until the transform has read it."""
    x = np.ones(3)
    for found in (_core.jacobian_dense(lambda z: np.zeros(2), x),
                  _core.jacobian_banded(lambda z: np.zeros(2), x, False),
                  _core.hessian_dense(lambda z: np.float64(1.0), x),
                  _core.hessian_banded(lambda z: np.float64(1.0), x, False)):
        assert type(found) is _core.Unfinished and found.tags
        tags = found.tags
        assert all(_core.is_live(tag) for tag in tags)
        with found:
            pass
        assert found.tags == () and not any(_core.is_live(tag) for tag in tags)
    assert dj.jacobian(lambda z: np.zeros(2), x) is None
    same(dj.jacobian(lambda z: np.zeros(2), x, unconnected_gradients="zero"), np.zeros((2, 3)))
    same(dj.hessian(lambda z: np.float64(1.0), x), np.zeros((3, 3)))


def test_an_unfinished_result_dropped_unread_releases_its_tags():
    found = _core.jacobian_dense(lambda z: np.zeros(2), np.ones(3))
    tags = found.tags
    del found
    assert not any(_core.is_live(tag) for tag in tags)


def test_jacobian_presents_its_python_signature():
    import inspect
    assert dj.jacobian is api.jacobian
    assert dj.jacobian.__name__ == "jacobian" and dj.jacobian.__module__ == "dualjac.api"
    assert dj.jacobian.__doc__.startswith("d f(x) / d x")
    assert str(inspect.signature(dj.jacobian)) == (
        "(f: 'Function', x: 'Any', *, unconnected_gradients: 'Unconnected' = 'none', "
        "parallel_iterations: 'int | None' = None) -> 'Any'")


@pytest.mark.parametrize("mode", ["none", "zero", "".join(["no", "ne"]), "".join(["ze", "ro"]),
                                  dj.UnconnectedGradients.NONE, dj.UnconnectedGradients.ZERO])
def test_fast_path_spellings_and_arguments(mode):
    x = np.linspace(0.5, 1.5, 4).reshape(2, 2)
    for f in (TARGETS["cube"], TARGETS["constant"], TARGETS["stop_gradient"]):
        want = general_jacobian(f, x, unconnected_gradients=mode)
        same(dj.jacobian(f, x, unconnected_gradients=mode), want)
        same(dj.jacobian(f, x=x, unconnected_gradients=mode), want)
        same(dj.jacobian(f=f, x=x, unconnected_gradients=mode, parallel_iterations=3), want)
    with pytest.raises(TypeError):
        dj.jacobian(TARGETS["cube"], x, mode)          # keyword-only, as before
    with pytest.raises(TypeError):
        dj.jacobian(TARGETS["cube"])
    with pytest.raises(TypeError):
        dj.jacobian(TARGETS["cube"], x, unconnected=mode)


def test_errors_are_unchanged():
    x = np.ones(3)
    called = []
    with pytest.raises(ValueError, match="Unknown value for unconnected_gradients"):
        dj.jacobian(lambda z: called.append(z), x, unconnected_gradients="None")
    assert not called
    with pytest.raises(TypeError, match="target must be one array"):
        dj.jacobian(lambda z: [z, z], x)
    with pytest.raises(TypeError, match="object array"):
        dj.jacobian(lambda z: np.array([1, None]), x)
    with pytest.raises(ZeroDivisionError):
        dj.jacobian(lambda z: 1 / 0, x)
    with pytest.raises(TypeError, match="complex"):
        dj.jacobian(lambda z: z, np.ones(2, complex))


# ---------------------------------------------------------------- joins (np.stack / np.concatenate)

from dualjac.dispatch import registry, structural  # noqa: E402


def jets_for(kind, dtype, shape, count=3):
    """count jets of one level: dual, hyper-dual (two tags) or Hessian (symmetric)."""
    rng = np.random.default_rng(sum(shape) + count)
    out = []
    for i in range(count):
        v = rng.standard_normal(shape).astype(dtype)
        if kind == "dual":
            j = _core.seed_dual(v, max(v.size, 1) + 1, 11, 1 << i)
        elif kind == "hyper":
            outer = _core.seed_dual(v, max(v.size, 1), 11, 1 << i)
            j = _core.seed_inner(outer, 12, 2 << i)
        else:
            j = _core.seed_symmetric(v, 11, 12, 1 << i)
        out.append(j)
    return out


@pytest.mark.parametrize("kind", ["dual", "hyper", "symmetric"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 2), (0, 2)])
@pytest.mark.parametrize("container", [list, tuple])
def test_join_fast_path_matches_general_join(kind, dtype, shape, container):
    jets = container(jets_for(kind, dtype, shape))
    nd = len(shape)
    for axis in range(-nd - 2, nd + 2):
        same_outcome(lambda: np.stack(jets, axis=axis),
                          lambda: structural.stack(jets, axis=axis))
        same_outcome(lambda: np.stack(jets, axis),
                          lambda: structural.stack(jets, axis))
        same_outcome(lambda: np.concatenate(jets, axis=axis),
                          lambda: structural.concatenate(jets, axis=axis))
        same_outcome(lambda: np.concatenate(jets, axis),
                          lambda: structural.concatenate(jets, axis))
    same_outcome(lambda: np.stack(jets), lambda: structural.stack(jets))
    same_outcome(lambda: np.concatenate(jets), lambda: structural.concatenate(jets))


def test_join_of_views_and_single_items():
    base = jets_for("dual", np.float64, (4, 6), 1)[0]
    views = [base[::2], base[1::2], base[:, ::3][:2, :2].T[:2], base[..., 0:2][:2]]
    for arrays in ([views[0], views[1]], [views[2], views[3]], [base[0]], [base.T, base.T]):
        for axis in (0, -1, 1):
            same_outcome(lambda: np.stack(arrays, axis=axis),
                              lambda: structural.stack(arrays, axis=axis))
            same_outcome(lambda: np.concatenate(arrays, axis=axis),
                              lambda: structural.concatenate(arrays, axis=axis))


def test_join_calls_the_fast_path_refuses():
    """Mixed levels, dtypes, plain arrays, other keywords: the general join, same results
    and errors as when it is called directly."""
    d64 = jets_for("dual", np.float64, (2,))
    d32 = jets_for("dual", np.float32, (2,))
    hyp = jets_for("hyper", np.float64, (2,))
    other_tag = [_core.seed_dual(np.ones(2), 3, 99, 1)]
    wider = [_core.seed_dual(np.ones(2), 5, 11, 1)]
    plain = [np.ones(2), [1.0, 2.0], 3.0]
    cases = [
        ([d64[0], d32[0]], {}), ([d64[0], hyp[0]], {}), (d64 + other_tag, {}),
        (d64 + wider, {}), ([d64[0], plain[0]], {}), ([plain[0], d64[0]], {}),
        ([d64[0], plain[1]], {}), (d64, {"axis": np.int64(0)}), (d64, {"axis": True}),
        (d64, {"axis": None}), (d64, {"axis": 0, "dtype": np.float32}),
        (d64, {"dtype": np.float64}), (d64, {"axis": 2**70}), (d64, {"axis": -2**70}),
        (d64, {"out": None}), (d64, {"casting": "same_kind"}), (d64, {"axis": 0.0}),
        ([d64[0], jets_for("dual", np.float64, (3,), 1)[0]], {}),
        ([d64[0], jets_for("dual", np.float64, (2, 1), 1)[0]], {}),
        ([jets_for("dual", np.float64, (), 1)[0]] * 2, {}),
    ]
    for arrays, kw in cases:
        for func, general in ((np.stack, structural.stack), (np.concatenate, structural.concatenate)):
            same_outcome(lambda: func(arrays, **kw), lambda: general(arrays, **kw))


def test_join_result_is_a_new_contiguous_buffer():
    jets = jets_for("dual", np.float64, (2, 2))
    for result in (np.stack(jets, axis=1), np.concatenate(jets, axis=-1)):
        assert result.buf.flags.c_contiguous and result.buf.flags.owndata
        assert not any(np.shares_memory(result.buf, j.buf) for j in jets)
        assert result.deps1 == 0b111


# ---------------------------------------------------------------- the ufunc entry

def general_ufunc(ufunc, *inputs, **kwargs):
    """The Python dispatch layer's answer for the same call."""
    return registry.array_ufunc(ufunc, "__call__", inputs, dict(kwargs))


@pytest.mark.parametrize("kind", ["dual", "hyper", "symmetric"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_ufunc_entry_matches_general_dispatch(kind, dtype, shape):
    a, b = jets_for(kind, dtype, shape, 2)
    c = np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape).astype(dtype)
    row = np.full(shape[-1:], 0.75, np.float64)   # broadcasting, and promotion for float32
    calls = [(np.sin, (a,)), (np.exp, (a,)), (np.sqrt, (np.abs(a),)), (np.negative, (a,)),
             (np.multiply, (a, b)), (np.multiply, (a, c)), (np.multiply, (c, a)),
             (np.divide, (a, row)), (np.power, (np.abs(a), 2.0)), (np.arctan2, (a, b)),
             (np.add, (a, 1.0)), (np.maximum, (2.0, a)), (np.hypot, (a, b[..., None, :] if
                                                                   a.ndim else b))]
    for ufunc, inputs in calls:
        same_outcome(lambda: ufunc(*inputs), lambda: general_ufunc(ufunc, *inputs))
        same_outcome(lambda: type(a).__array_ufunc__(a, ufunc, "__call__", *inputs),
                     lambda: general_ufunc(ufunc, *inputs))
        same_outcome(lambda: a.__array_ufunc__(ufunc, "__call__", *inputs),
                     lambda: general_ufunc(ufunc, *inputs))


def test_ufunc_entry_passes_everything_else_to_the_dispatch_layer(monkeypatch):
    x = jets_for("dual", np.float64, (3,), 1)[0]
    seen = []
    general = _core._Hooks.array_ufunc

    def spy(ufunc, method, inputs, kwargs):
        seen.append((ufunc, method, inputs, dict(kwargs)))
        return general(ufunc, method, inputs, kwargs)
    monkeypatch.setattr(_core._Hooks, "array_ufunc", spy)
    np.sin(x)
    np.multiply(x, 2.0)
    np.ones(3) * x
    assert not seen                       # table rows: straight to the kernels
    np.sin(x, out=np.zeros_like(x))
    np.floor_divide(x, 2.0)
    np.less(x, 1.0)
    np.add.reduce(x)
    np.matmul(x, x)
    assert [(u, m) for u, m, _, _ in seen] == [(np.sin, "__call__"), (np.floor_divide, "__call__"),
                                              (np.less, "__call__"), (np.add, "reduce"),
                                              (np.matmul, "__call__")]
    assert seen[0][3] == {"out": (seen[0][3]["out"][0],)}
    with pytest.raises(TypeError, match="np.gcd has no derivative rule"):
        np.gcd(x, 2)
    with pytest.raises(TypeError, match="np.sin has no derivative rule|keyword arguments"):
        np.sin(x, order="K", subok=False)


def test_ufunc_entry_is_a_method_for_python_code():
    x = jets_for("dual", np.float64, (3,), 1)[0]
    entry = type(x).__array_ufunc__
    assert entry is _core._Jet.__array_ufunc__
    bound = x.__array_ufunc__
    assert bound.__self__ is x and bound.__name__ == "__array_ufunc__"
    with pytest.raises(TypeError):
        entry(x)
    # a plain input given by hand is not sent to a kernel: the general layer computes values
    plain = entry(x, np.sin, "__call__", np.ones(2))
    assert type(plain) is np.ndarray and np.array_equal(plain, np.sin(np.ones(2)))


# ---------------------------------------------------------------- indexing

def general_getitem(x, key):
    """NumPy's indexing of the buffer with the component axis kept (the general path)."""
    full = key + (slice(None),) if type(key) is tuple else (key, slice(None))
    return x.with_buffer(x.buf[full])


def same_view(a, b, source):
    same(a, b)
    assert np.shares_memory(a.buf, source.buf) == np.shares_memory(b.buf, source.buf)
    if not np.shares_memory(b.buf, source.buf):
        return                                   # advanced indexing: a copy
    for p, q in ((a.buf, b.buf), (a.buf.base, b.buf.base)):
        if p is None or q is None:
            assert p is q
            continue
        assert p.__array_interface__["data"] == q.__array_interface__["data"]
        assert p.strides == q.strides and p.flags.writeable == q.flags.writeable
        assert p.flags.c_contiguous == q.flags.c_contiguous
        assert p.flags.f_contiguous == q.flags.f_contiguous


S = slice
KEYS = [0, 1, -1, 2, -3, 5, -7, 2**70, S(None), S(1, None), S(None, -1), S(None, 1),
        S(None, None, -1), S(None, None, 2), S(3, 1), S(5, 9), S(-100, 100), S(1, 2, 0),
        (), (0,), (..., 0), (..., -1), (0, ...), (..., S(1, 3)), (S(None), 1), (1, 0),
        (1, ..., 0), (..., ...), (...,), ..., (0, 0, 0), (0, 0, 0, 0), (..., 0, 0, 0, 0),
        (S(None), S(None), S(None)), (-1, S(None, None, -2)),
        True, np.int64(1), None, (None, 0), [0, 1], np.array([0]), (0, [1]), 1.0, "a"]


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4)])
@pytest.mark.parametrize("kind", ["dual", "hyper", "readonly", "view"])
def test_indexing_fast_path_matches_numpy_indexing(shape, kind):
    x = jets_for("hyper" if kind == "hyper" else "dual", np.float64, shape, 1)[0]
    if kind == "readonly":
        buf = x.buf.copy()
        buf.flags.writeable = False
        x = x.with_buffer(buf)
    elif kind == "view" and x.ndim:
        x = x.with_buffer(x.buf[::-1])         # a view with a negative stride
    for key in KEYS:
        a, b = outcome(lambda: x[key]), outcome(lambda: general_getitem(x, key))
        if isinstance(a, tuple) or isinstance(b, tuple):
            # An error is NumPy's for a plain array of x's shape (the buffer's would
            # count the component axis), the buffer's where a plain array takes the key.
            plain = outcome(lambda: np.zeros(x.shape)[key])
            assert a == (plain if isinstance(plain, tuple) else b), key
        else:
            same_view(a, b, x)


def test_indexing_views_alias_the_source():
    x = jets_for("dual", np.float64, (2, 3), 1)[0]
    v = x[..., 1]
    v.buf[...] = 7.0
    assert np.all(x.buf[:, 1] == 7.0)
    with pytest.raises(TypeError, match="indexing with a dual array"):
        x[x]
    with pytest.raises(TypeError, match="indexing with a dual array"):
        x[0, x]


def test_reused_jet_objects_start_clean():
    """Jet objects come from a free list: a reused one carries nothing of its past
    (type, level, tags, connectivity), including after an in-place level upgrade."""
    for _ in range(3):
        dropped = jets_for("hyper", np.float64, (2,), 40) + jets_for("dual", np.float32, (3,), 40)
        del dropped
        fresh = dj.DualArray(np.ones(2), np.eye(2))
        assert type(fresh) is dj.DualArray and fresh.order == 1 and fresh.n2 == 0
        assert fresh.tag2 == 0 and fresh.deps1 == 1 and fresh.deps2 == 0
        blank = dj.DualArray.__new__(dj.DualArray)
        assert blank.buf is None and blank.deps1 == 0 and blank.tag1 == 0
        x = np.array([1.0, 2.0])
        upgraded = dj.jacobian(lambda p: dj.jacobian(
            lambda z: _upgrade_store(z, p), x), np.array(3.0))
        assert upgraded.shape == (2, 2) and np.array_equal(upgraded, np.eye(2))


def _upgrade_store(z, p):
    out = np.zeros_like(z)
    out[0] = p * z[0]          # a hyper-dual stored into a dual: upgraded in place
    out[1] = p * z[1]
    return out


# ---------------------------------------------------------------- the entry's C call slot

def test_ufunc_entry_call_slot_matches_its_general_wrapper():
    """The entry's tp_call (C) takes plain calls of table ufuncs itself and gives the
    rest to Cython's __call__ wrapper, still reachable as _UfuncEntry.__call__: both
    answer every call the same, results and errors."""
    entry = _core._Jet.__array_ufunc__
    general = type(entry).__call__
    a, b = jets_for("dual", np.float64, (3,), 2)
    h = jets_for("hyper", np.float32, (2,), 1)[0]

    class Method(str):
        pass

    calls = [
        ((a, np.sin, "__call__", a), {}), ((a, np.exp, "__call__", h), {}),
        ((a, np.multiply, "__call__", a, b), {}), ((a, np.multiply, "__call__", a, 2.0), {}),
        ((a, np.multiply, "__call__", 2, a), {}), ((a, np.arctan2, "__call__", a, h), {}),
        ((a, np.matmul, "__call__", np.eye(3), a), {}), ((a, np.matmul, "__call__", a, a), {}),
        ((a, np.sin, Method("__call__"), a), {}), ((a, np.sin, "__call__", np.ones(2)), {}),
        ((a, np.sin, "__call__", a), {"out": (np.zeros_like(a),)}),
        ((a, np.sin, "__call__", a), {"dtype": np.float64}),
        ((a, np.add, "reduce", a), {}), ((a, np.add, "__call__", a), {}),
        ((a, np.sin, "__call__", a, a), {}), ((a, np.floor_divide, "__call__", a, 2.0), {}),
        ((a, np.gcd, "__call__", a, 2), {}), ((a, np.sin, b"__call__", a), {}),
        ((a, np.sin, "__call_", a), {}), ((a, np.sin, "__call__"), {}), ((a, np.sin), {}),
        ((), {}), ((a, np.sin, "__call__", a, a, a), {}), ((a, "sin", "__call__", a), {}),
    ]
    for args, kw in calls:
        same_outcome(lambda: entry(*args, **kw), lambda: general(entry, *args, **kw))
    with pytest.raises(TypeError):
        entry(a, np.sin, "__call__", a, **{"bogus": 1})


# ---------------------------------------------------------------- Python scalar operands

def _as_zero_d(c, dtype):
    """The 0-d array binary_jc's general path makes of a Python scalar."""
    cv = np.empty((), dtype)
    cv[()] = c
    return cv


SCALARS = [0.0, -0.0, 1.5, 0.1, -2.75, 1e300, -1e300, 3.4028235e38, 3.4028236e38, 1e-50,
           5e-324, float("inf"), float("-inf"), float("nan"), True, False, 0, 1, -7,
           2**24, 2**24 + 1, -(2**24) - 1, 2**53, 2**53 + 1, -(2**53) - 1, 2**62 + 1,
           2**63, -(2**63), 10**400, -(10**400)]


@pytest.mark.parametrize("kind", ["dual", "hyper", "symmetric"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_python_scalar_operands_match_the_zero_d_array_path(kind, dtype, shape):
    """a (op) c for a Python float / int / bool converts c in C (when the conversion is
    exact, or one rounding for float32): bit for bit what the 0-d array of the jet's
    dtype gives, and the same errors and warnings where it declines."""
    import warnings
    a = jets_for(kind, dtype, shape, 1)[0]
    views = [a, a[::-1] if shape else a, a.T]
    ops = [np.add, np.subtract, np.multiply, np.divide, np.power, np.arctan2, np.maximum,
           np.hypot]
    for x in views:
        for c in SCALARS:
            for op in ops:
                for swapped in (False, True):
                    def fast():
                        with warnings.catch_warnings(record=True) as w:
                            warnings.simplefilter("always")
                            r = op(c, x) if swapped else op(x, c)
                        return r, [str(m.message) for m in w]

                    def general():
                        with warnings.catch_warnings(record=True) as w:
                            warnings.simplefilter("always")
                            cv = _as_zero_d(c, dtype)
                            r = op(cv, x) if swapped else op(x, cv)
                        return r, [str(m.message) for m in w]
                    fa, ga = outcome(fast), outcome(general)
                    if isinstance(fa, tuple) and len(fa) == 2 and isinstance(fa[1], list):
                        assert isinstance(ga[1], list), (c, op, ga)
                        same(fa[0], ga[0])
                        assert fa[1] == ga[1]
                    else:
                        assert fa == ga, (c, op, swapped)
    # the operators take the same path as the ufuncs
    for c in (2.0, 3, True, 0.1):
        same(a * c, np.multiply(a, _as_zero_d(c, dtype)))
        same(c - a, np.subtract(_as_zero_d(c, dtype), a))
        same(a / c, np.divide(a, _as_zero_d(c, dtype)))


# ---------------------------------------------------------------- reused buffers

def test_reused_buffers_give_the_same_results():
    """Small jet buffers are reused (src_c/include/array_cache.h): every result is the same with
    the cache on and off, and a reused buffer is never one still in use."""
    x = np.array([1.2, 0.7, 0.4])
    xx = np.array([[1.0, 2.0], [3.0, 4.0]])

    def sph(v):
        r, theta, phi = v[..., 0], v[..., 1], v[..., 2]
        s = r * np.sin(theta)
        return np.stack([s * np.cos(phi), s * np.sin(phi), r * np.cos(theta)], axis=-1)

    calls = [lambda: dj.jacobian(sph, x), lambda: dj.jacobian(lambda v: v * v * v, xx),
             lambda: dj.jacobian(lambda v: dj.jacobian(lambda w: w * w * w, v), xx),
             lambda: dj.hessian(lambda v: np.sum(np.sin(v) * v), x),
             lambda: dj.jacobian(lambda v: np.concatenate([v * 2.0, 1.0 - v]), x)]
    try:
        _core.array_cache(False)
        expected = [call() for call in calls]
        assert _core.array_cache() == 0
        _core.array_cache(True)
        for _ in range(3):
            for call, e in zip(calls, expected):
                same(call(), e)
        assert _core.array_cache() > 0
    finally:
        _core.array_cache(True)
    # results kept alive are not reused: later operations do not change them
    t = _core.seed_dual(x, 3, 11, 1)
    kept = [np.sin(t) * 2.0 for _ in range(40)]
    copies = [k.buf.copy() for k in kept]
    for _ in range(40):
        np.cos(t) * 3.0
    for k, c in zip(kept, copies):
        assert np.array_equal(k.buf, c)


def test_buffers_seen_elsewhere_are_not_reused():
    """A buffer with another reference, a weak reference, a base, other flags, strides or
    dtype instance, or above the size limit, is released, never reused."""
    import weakref
    t = _core.seed_dual(np.array([1.0, 2.0]), 2, 11, 1)
    _core.array_cache(False)
    _core.array_cache(True)
    try:
        y = np.sin(t)
        held = y.buf
        del y
        assert _core.array_cache() == 0          # still referenced
        y = np.sin(t)
        ref = weakref.ref(y.buf)
        del y
        assert _core.array_cache() == 0 and ref() is None
        y = np.sin(t)
        y.buf.flags.writeable = False
        del y
        assert _core.array_cache() == 0
        big = _core.seed_dual(np.ones(200), 2, 11, 1, 0, 0, 2)
        y = np.sin(big)                           # 200 x 3 doubles: above the limit
        del y
        assert _core.array_cache() == 0
        view = _core.make_dual(np.ones((4, 3))[::2], 11, 1)
        del view
        assert _core.array_cache() == 0
        y = np.sin(t)
        del y
        assert _core.array_cache() == 1
        assert held.flags.writeable
    finally:
        _core.array_cache(True)


def test_join_axis_keyword_spellings():
    """The join's one keyword found by identity with the interned "axis", or by value."""
    jets = jets_for("dual", np.float64, (2, 3))
    built = "".join(["ax", "is"])
    assert built == "axis"

    class Key(str):
        pass

    for kw in ({"axis": 1}, {built: 1}, {Key("axis"): 1}, {built: -1}, {"axes": 1},
               {built: 1, "dtype": None}):
        for func, general in ((np.stack, structural.stack), (np.concatenate, structural.concatenate)):
            same_outcome(lambda: func(jets, **kw), lambda: general(jets, **kw))
            same_outcome(lambda: _core._Jet.__array_function__(jets[0], func, (), (jets,), kw),
                         lambda: general(jets, **kw))
