"""Pattern rules: how each NumPy function moves the dependence sets of a PatternArray.

Elementwise rules come from the rules table: an operand whose partial is written ``"0"``
contributes nothing (``floor``, ``sign``); a second partial that is not ``"0"`` makes its
operands' sources interact (``multiply``: x with y only; ``exp``: all pairs of x's sources).
Structural functions run on the dependence ids as on the values. Functions without an exact
rule here but with a derivative rule for dual arrays get the conservative rule.
"""

import numpy as np

from . import _separable, rules
from .dispatch import jets, registry
from ._pattern import PatternArray, deps_of, lift, no_deps, value_of

ROWS = rules.by_name()


def wrap(value, deps, recording):
    return PatternArray(np.asarray(value), deps, recording)


def _filled(deps, shape):
    """Ids broadcast to a result's shape, as an array of its own (writable, no view)."""
    return deps if deps.shape == tuple(shape) else np.broadcast_to(deps, shape).copy()


# ---------------------------------------------------------------- ufuncs

def _partials(ufunc):
    """(first partials, second partials) of a ufunc as 'is it identically zero' flags."""
    if ufunc in registry.TABLE_UFUNCS:
        row = ROWS[registry.TABLE_UFUNCS[ufunc]]
        if ufunc.nin == 1:
            return (row.df != "0",), {(0, 0): row.d2f != "0"}
        return ((row.dfx != "0", row.dfy != "0"),
                {(0, 0): row.d2fxx != "0", (0, 1): row.d2fxy != "0", (1, 1): row.d2fyy != "0"})
    if ufunc in registry.EVALUATED_UFUNCS:    # rules.Evaluated: the partials it lists
        row = registry.EVALUATED_UFUNCS[ufunc]
        position = {arg: i for i, arg in enumerate(row.args)}
        return (tuple(arg in row.differentiable for arg in row.args),
                {(position[i], position[j]): True for i, j, _ in row.second})
    if ufunc in (np.remainder, np.fmod):      # x - q y with q a step: linear in both
        return (True, True), {}
    if ufunc is np.floor_divide:              # a step: zero derivative
        return (False, False), {}
    if ufunc in registry.UFUNC_PATTERNS:      # declared by the ufunc's rule
        return registry.UFUNC_PATTERNS[ufunc]
    return None


def apply_ufunc(recording, ufunc, method, inputs, kwargs):
    if registry.PENDING_MODULES and ufunc not in registry.TABLE_UFUNCS:
        registry.register_pending_modules()
    if method != "__call__":
        return _ufunc_method(recording, ufunc, method, inputs, kwargs)
    out = kwargs.pop("out", None)
    out = out[0] if isinstance(out, tuple) and len(out) == 1 else out
    values = [value_of(x) for x in inputs]
    if ufunc in registry.VALUE_UFUNCS:
        recording.looked_at_values(f"{registry.ufunc_name(ufunc)} of values")
        return _store(out, ufunc(*values, **kwargs))
    if ufunc in registry.COMPOSITE_UFUNCS and not kwargs:    # NumPy calls only
        return _store(out, registry.EXTRA_UFUNCS[ufunc](*inputs))
    if ufunc is np.matmul or ufunc in registry.EXTRA_UFUNCS and ufunc.signature:
        return _store(out, apply_function(recording, _GUFUNC_AS_FUNCTION.get(ufunc, ufunc),
                                          inputs, kwargs))
    partials = _partials(ufunc)
    if partials is None and ufunc in registry.EXTRA_UFUNCS:   # a rule, but no pattern rule
        return _store(out, conservative(recording, ufunc, inputs, kwargs))
    if partials is None:
        raise registry.no_rule_error(registry.ufunc_name(ufunc), "ufunc")
    if kwargs.get("where", True) is not True:
        return _store(out, conservative(recording, ufunc, inputs, kwargs))
    with np.errstate(all="ignore"):
        value = ufunc(*values, **{k: v for k, v in kwargs.items() if k in ("dtype",)})
    first, second = partials
    deps = [deps_of(x) for x in inputs]
    result = _filled(recording.union([d for d, flag in zip(deps, first) if flag]),
                     np.shape(value))
    for (i, j), nonzero in second.items():
        if nonzero and i == j:
            recording.clique(deps[i])
        elif nonzero:
            recording.cross(deps[i], deps[j])
    return _store(out, wrap(value, result, recording))


_GUFUNC_AS_FUNCTION = {np.matmul: np.matmul}


def _store(out, result):
    if out is None:
        return result
    if not isinstance(out, PatternArray):
        if isinstance(result, PatternArray):
            raise TypeError("dualjac: a ufunc with out= a plain ndarray would drop the "
                            "result's dependence on x; create the output with np.zeros_like(x).")
        out[...] = result
        return out
    out[...] = result
    return out


def _ufunc_method(recording, ufunc, method, inputs, kwargs):
    function = {(np.add, "reduce"): np.sum, (np.multiply, "reduce"): np.prod,
                (np.maximum, "reduce"): np.max, (np.minimum, "reduce"): np.min,
                (np.add, "accumulate"): np.cumsum,
                (np.multiply, "accumulate"): np.cumprod}.get((ufunc, method))
    if function is None:
        fold = registry.fold_rule(ufunc, method)    # np.logaddexp.reduce: NumPy calls, traced
        if fold is None:
            raise registry.no_rule_error(f"{registry.ufunc_name(ufunc)}.{method}",
                                         "ufunc method")
        return fold(*inputs, **kwargs)
    kwargs.setdefault("axis", 0)
    return apply_function(recording, function, inputs, kwargs)


# ---------------------------------------------------------------- functions

RULES = {}


def rule(*functions):
    def register(impl):
        for f in functions:
            RULES[f] = impl
        return impl
    return register


def apply_function(recording, func, args, kwargs):
    impl = RULES.get(func)
    if impl is not None:
        return impl(recording, *args, **kwargs)
    if func in registry.COMPOSITES:     # NumPy calls only: they run on traced arrays as they are
        return registry.HANDLED[func](*args, **kwargs)
    if func in VALUE_FUNCTIONS:
        return _on_values(recording, func, args, kwargs)
    if func in registry.HANDLED:
        return conservative(recording, func, args, kwargs)
    raise registry.no_rule_error(registry.func_name(func))


def _map(tree, leaf):
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):   # slogdet's, eigh's results
        return type(tree)(*(_map(t, leaf) for t in tree))
    if isinstance(tree, (list, tuple)):
        return type(tree)(_map(t, leaf) for t in tree)
    if isinstance(tree, dict):
        return {k: _map(v, leaf) for k, v in tree.items()}
    return leaf(tree)


def traced_leaves(tree):
    out = []
    _map(tree, lambda x: out.append(x) if isinstance(x, PatternArray) else None)
    return out


def conservative(recording, func, args, kwargs):
    """Every output element depends on every input element, and all pairs interact."""
    with np.errstate(all="ignore"):
        value = func(*_map(args, value_of), **_map(kwargs, value_of))
    leaves = [leaf.deps.ravel() for leaf in traced_leaves((args, kwargs))]
    union = recording.reduce(np.concatenate(leaves or [no_deps(0)]), None)
    recording.clique(union)

    def as_traced(v):
        v = np.asarray(v)
        if v.dtype.kind != "f":
            return v
        return wrap(v, np.full(v.shape, union, np.int64), recording)
    return _map(value, as_traced) if isinstance(value, (list, tuple)) else as_traced(value)


VALUE_DEPENDENT = {np.argmax, np.argmin, np.argsort, np.argpartition, np.nonzero,
                   np.flatnonzero, np.count_nonzero, np.isclose, np.allclose, np.array_equal,
                   np.any, np.all, np.searchsorted, np.digitize, np.lexsort, np.isneginf,
                   np.isposinf}
VALUE_FUNCTIONS = VALUE_DEPENDENT | {np.shape, np.ndim, np.size, np.iscomplexobj,
                                     np.isrealobj, np.result_type, np.isscalar, np.isreal,
                                     np.iscomplex}


def _on_values(recording, func, args, kwargs):
    if func in VALUE_DEPENDENT:
        recording.looked_at_values(f"{registry.func_name(func)} of values")
    return func(*_map(args, value_of), **_map(kwargs, value_of))


# Structural functions: the same function on the values and on the dependence ids.
# The first argument (or, for joins, every array of the first argument) is data; the
# other arguments (shapes, axes, indices) are passed to both calls unchanged.

def _structural_first(func):
    def impl(recording, a, *args, **kwargs):
        a = lift(a, recording)
        return _wrap_like(func(a.value, *args, **kwargs), func(a.deps, *args, **kwargs),
                          recording)
    return impl


def _wrap_like(value, deps, recording):
    if isinstance(value, (list, tuple)):
        return type(value)(wrap(v, d, recording) for v, d in zip(value, deps))
    return wrap(value, deps, recording)


for _f in (np.reshape, np.ravel, np.transpose, np.swapaxes, np.moveaxis, np.squeeze,
           np.expand_dims, np.broadcast_to, np.copy, np.flip, np.roll, np.take, np.repeat,
           np.tile, np.diagonal, np.diag, np.split, np.array_split, np.hsplit, np.vsplit,
           np.dsplit, np.lib.stride_tricks.sliding_window_view) + (
              (np.permute_dims,) if hasattr(np, "permute_dims") else ()):
    RULES[_f] = _structural_first(_f)


@rule(np.take_along_axis)
def _take_along_axis(recording, arr, indices, axis):
    arr = lift(arr, recording)
    return wrap(np.take_along_axis(arr.value, indices, axis),
                np.take_along_axis(arr.deps, indices, axis), recording)


def _structural_join(func):
    def impl(recording, arrays, *args, **kwargs):
        kwargs.pop("dtype", None)
        kwargs.pop("casting", None)
        lifted = [lift(a, recording) for a in arrays]
        return wrap(func([a.value for a in lifted], *args, **kwargs),
                    func([a.deps for a in lifted], *args, **kwargs), recording)
    return impl


for _f in (np.concatenate, np.stack, np.hstack, np.vstack, np.column_stack):
    RULES[_f] = _structural_join(_f)


def _atleast(func):
    def impl(recording, *arrays):
        out = [_structural_first(func)(recording, a) for a in arrays]
        return out[0] if len(out) == 1 else tuple(out)
    return impl


for _n in (1, 2, 3):
    _f = getattr(np, f"atleast_{_n}d")
    RULES[_f] = _atleast(_f)


@rule(np.pad)
def _pad(recording, array, pad_width, mode="constant", **kwargs):
    if mode not in ("constant", "edge", "reflect", "symmetric", "wrap", "empty") or any(
            isinstance(v, PatternArray) for v in kwargs.values()):
        return conservative(recording, np.pad, (array, pad_width, mode), kwargs)
    array = lift(array, recording)
    index_kwargs = {k: v for k, v in kwargs.items() if k == "reflect_type"}
    if mode in ("constant", "empty"):
        mode, index_kwargs = "constant", {"constant_values": -1}
    # Pad the element indices (-1: a new constant element) and gather the ids.
    index = np.pad(np.arange(array.size).reshape(array.shape), pad_width, mode, **index_kwargs)
    gathered = np.append(array.deps.ravel(), no_deps(1))[index]
    return wrap(np.pad(array.value, pad_width, mode if kwargs or mode != "constant" else
                       "constant", **kwargs), gathered, recording)


@rule(np.where)
def _where(recording, condition, x=None, y=None):
    if x is None and y is None:
        recording.looked_at_values("np.where(condition) of values")
        return np.where(value_of(condition))
    # The global pattern: either branch, whatever the condition says at this x.
    value = np.where(value_of(condition), value_of(x), value_of(y))
    return wrap(value, _filled(recording.union([deps_of(x), deps_of(y)]), value.shape),
                recording)


@rule(np.select)
def _select(recording, condlist, choicelist, default=0):
    value = np.select([value_of(c) for c in condlist], [value_of(c) for c in choicelist],
                      value_of(default))
    deps = recording.union([deps_of(c) for c in choicelist] + [deps_of(default)])
    return wrap(value, _filled(deps, value.shape), recording)


@rule(np.clip)
def _clip(recording, a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):
    low = a_min if min is None else min
    high = a_max if max is None else max
    value = np.clip(value_of(a), value_of(low), value_of(high))
    deps = recording.union([deps_of(a)] + [deps_of(b) for b in (low, high) if b is not None])
    return _store(out, wrap(value, _filled(deps, value.shape), recording))


def _created_like(fill):
    def impl(recording, a, dtype=None, order="K", subok=True, shape=None, **kwargs):
        value = np.full(value_of(a).shape if shape is None else shape, fill,
                        dtype=dtype or value_of(a).dtype)
        return _created(recording, value)
    return impl


RULES[np.zeros_like] = RULES[np.empty_like] = _created_like(0.0)
RULES[np.ones_like] = _created_like(1.0)


@rule(np.full_like)
def _full_like(recording, a, fill_value, dtype=None, order="K", subok=True, shape=None, **kw):
    fill = lift(fill_value, recording)
    value = np.full(value_of(a).shape if shape is None else shape, fill.value,
                    dtype=dtype or value_of(a).dtype)
    return wrap(value, np.broadcast_to(fill.deps, value.shape).copy(), recording)


def _created(recording, value):
    if value.dtype.kind != "f":
        return value
    return wrap(value, no_deps(value.shape), recording)


@rule(np.zeros, np.empty)
def _zeros(recording, shape, dtype=None, order="C", *, like=None, device=None):
    return _created(recording, np.zeros(shape, dtype=dtype or float))


@rule(np.ones)
def _ones(recording, shape, dtype=None, order="C", *, like=None, device=None):
    return _created(recording, np.ones(shape, dtype=dtype or float))


@rule(np.full)
def _full(recording, shape, fill_value, dtype=None, order="C", *, like=None, device=None):
    fill = lift(fill_value, recording)
    value = np.full(shape, fill.value, dtype=dtype or float)
    return wrap(value, np.broadcast_to(fill.deps, value.shape).copy(), recording)


@rule(np.asarray, np.asanyarray, np.array, np.ascontiguousarray)
def _asarray(recording, a, dtype=None, *args, like=None, copy=None, **kwargs):
    if isinstance(a, PatternArray):
        out = a.copy() if copy or (copy is None and False) else a
    elif isinstance(a, (list, tuple)) and any(traced_leaves(a)):
        out = np.stack([_asarray(recording, x) for x in a])
    else:
        value = np.array(a, dtype=dtype, copy=True)
        return _created(recording, value) if value.dtype.kind == "f" else value
    if dtype is not None and np.dtype(dtype).kind != "f":
        return np.asarray(out.value, dtype=dtype)
    return out


@rule(np.astype)
def _astype(recording, x, dtype, copy=True, **kwargs):
    x = lift(x, recording)
    if np.dtype(dtype).kind != "f":
        return x.value.astype(dtype)
    if not copy and np.dtype(dtype) == x.dtype:
        return x                # NumPy's x itself: writes through it reach x
    return wrap(x.value.astype(dtype), x.deps.copy(), recording)


# ---------------------------------------------------------------- reductions and products

def _reduction(func, nonlinear):
    def impl(recording, a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if kwargs.get("where", True) is not True or "initial" in kwargs and isinstance(
                kwargs["initial"], PatternArray):
            return conservative(recording, func, (a, axis), dict(kwargs, keepdims=keepdims))
        a = lift(a, recording)
        if _separable.ACTIVE[0] and func in SUMS and not kwargs:
            scale = 1.0 if func is np.sum else 1.0 / max(a.size, 1)
            partial = _separable.full_sum(a, a.ndim, axis, keepdims, scale)
            if partial is not None:
                return partial
        kw = {k: v for k, v in kwargs.items() if k in ("initial", "ddof")}
        with np.errstate(all="ignore"):
            value = func(a.value, axis=axis, keepdims=keepdims, **kw)
        deps = recording.reduce(a.deps, _axes(axis, a.ndim), keepdims)
        if nonlinear:
            recording.clique(deps)
        return _store(out, wrap(value, deps, recording))
    return impl


SUMS = (np.sum, np.mean)


def _axes(axis, ndim):
    return None if axis is None else tuple(jets.normalize_axes(axis, ndim))


for _f, _nonlinear in ((np.sum, False), (np.mean, False), (np.max, False), (np.amax, False),
                       (np.min, False), (np.amin, False), (np.median, False), (np.prod, True),
                       (np.var, True), (np.std, True)):
    RULES[_f] = _reduction(_f, _nonlinear)


def _scan(func, nonlinear):
    def impl(recording, a, axis=None, dtype=None, out=None, **kwargs):
        a = lift(a, recording)
        value = func(a.value, axis=axis)
        deps = a.deps.ravel() if axis is None else a.deps
        deps = recording.store.accumulate(deps, 0 if axis is None else axis)
        if nonlinear:
            recording.clique(deps)
        return _store(out, wrap(value, deps, recording))
    return impl


for _f, _nonlinear in ((np.cumsum, False), (np.cumprod, True),
                       (getattr(np, "cumulative_sum", None), False),
                       (getattr(np, "cumulative_prod", None), True)):
    if _f is not None and _f in registry.HANDLED:
        RULES[_f] = _scan(_f, _nonlinear)


@rule(np.sort)
def _sort(recording, a, axis=-1, kind=None, order=None, **kwargs):
    """Global pattern: an element of the sorted axis may be any of its elements."""
    a = lift(a, recording)
    value = np.sort(a.value, axis=axis)
    deps = a.deps.ravel() if axis is None else a.deps
    deps = recording.reduce(deps, -1 if axis is None else axis, True)
    return wrap(value, _filled(deps, value.shape), recording)


@rule(np.trace)
def _trace(recording, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return np.sum(np.diagonal(a, offset, axis1, axis2), axis=-1)


@rule(np.diff)
def _diff(recording, a, n=1, axis=-1, prepend=None, append=None):
    if prepend is not None or append is not None:
        ends = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
        return conservative(recording, np.diff, (a, n, axis), ends)
    a = lift(a, recording)
    for _ in range(n):
        a = np.take(a, range(1, a.shape[axis]), axis) - np.take(a, range(a.shape[axis] - 1), axis)
    return a


@rule(np.linalg.norm)
def _norm(recording, x, ord=None, axis=None, keepdims=False):
    x = lift(x, recording)
    if ord not in (None, 2, "fro", 1, np.inf) or (isinstance(axis, tuple) and ord not in (None, "fro")):
        return conservative(recording, np.linalg.norm, (x,), dict(ord=ord, axis=axis,
                                                                  keepdims=keepdims))
    value = np.linalg.norm(x.value, ord=ord, axis=axis, keepdims=keepdims)
    deps = recording.reduce(x.deps, _axes(axis, x.ndim), keepdims)
    recording.clique(deps)
    return wrap(value, _filled(deps, np.shape(value)), recording)


@rule(np.matmul)
def _matmul(recording, a, b, out=None, **kwargs):
    if jets.is_scipy_sparse(a) or jets.is_scipy_sparse(b):
        return _store(out, _sparse_constant_matmul(recording, a, b))
    a, b = lift(a, recording), lift(b, recording)
    if _separable.ACTIVE[0] and out is None:
        partial = _separable.vector_product(a, b, np.multiply)
        if partial is not None:
            return partial
    value = np.matmul(a.value, b.value)
    # The union over k of (a_ik | b_kj) is (union_k a_ik) | (union_k b_kj).
    da = recording.reduce(a.deps, -1)                       # (..., i) or ()
    db = recording.reduce(b.deps, -2 if b.ndim > 1 else -1)  # (..., j) or ()
    if a.ndim > 1 and b.ndim > 1:
        da, db = da[..., :, None], db[..., None, :]
    deps = _filled(recording.union([da, db]), np.shape(value))
    if (a.deps.size and b.deps.size and _traced(a) and _traced(b)):
        recording.cross(np.broadcast_to(da, np.shape(value)), np.broadcast_to(db, np.shape(value)))
    return _store(out, wrap(value, deps, recording))


def _sparse_constant_matmul(recording, a, b):
    """L @ x or x @ L with L a constant scipy.sparse matrix: an output element depends on the
    elements of x that L's stored entries (explicit zeros too: structure) combine."""
    if jets.is_scipy_sparse(b):             # x @ L = (L^T @ x^T)^T
        x = lift(a, recording)
        out = _sparse_constant_matmul(recording, b.T, x.T if x.ndim == 2 else x)
        return out.T if x.ndim == 2 else out
    L, x = a.tocsr(), lift(b, recording)
    if x.ndim not in (1, 2) or x.shape[0] != L.shape[1]:
        raise ValueError(f"matmul: L has shape {L.shape}, x has shape {x.shape}")
    value = np.asarray(L @ x.value)
    lengths = np.diff(L.indptr)
    width = int(lengths.max()) if lengths.size else 0
    deps = x.deps.reshape(x.shape[0], -1)                   # (n, p)
    groups = np.zeros((L.shape[0], width, deps.shape[1]), np.int64)
    row = np.repeat(np.arange(L.shape[0]), lengths)
    slot = np.arange(L.indices.size) - np.repeat(L.indptr[:-1], lengths)
    groups[row, slot] = deps[L.indices]
    ids = recording.store.union_groups(np.moveaxis(groups, 1, 2).reshape(-1, width))
    return wrap(value, ids.reshape(value.shape), recording)


def _traced(x):
    return bool(np.any(x.deps))


@rule(np.dot)
def _dot(recording, a, b, out=None):
    if np.ndim(value_of(a)) == 0 or np.ndim(value_of(b)) == 0:
        return _store(out, np.multiply(a, b))
    if np.ndim(value_of(a)) <= 2 and np.ndim(value_of(b)) <= 2:
        return _matmul(recording, a, b, out)
    return conservative(recording, np.dot, (a, b), {})


@rule(np.inner)
def _inner(recording, a, b):
    if np.ndim(value_of(a)) <= 1 and np.ndim(value_of(b)) <= 1:
        return _dot(recording, a, b)
    return conservative(recording, np.inner, (a, b), {})


@rule(np.vdot)
def _vdot(recording, a, b):
    return _dot(recording, np.ravel(lift(a, recording)), np.ravel(lift(b, recording)))


def _einsum_view(recording, subscripts, x):
    """np.einsum of one operand that sums over nothing ("ii->i") is NumPy's view of it, of
    the values and of the ids alike: writes through it reach x. None when NumPy copies."""
    x = lift(x, recording)
    value = np.einsum(subscripts, x.value)
    if value.base is None:
        return None
    return wrap(value, np.einsum(subscripts, x.deps), recording)


@rule(np.outer)
def _outer(recording, a, b, out=None):
    a, b = np.ravel(lift(a, recording)), np.ravel(lift(b, recording))
    return _store(out, a[:, None] * b[None, :])


@rule(np.einsum)
def _einsum(recording, subscripts, *operands, out=None, **kwargs):
    if len(operands) == 1 and out is None and not kwargs:
        view = _einsum_view(recording, subscripts, operands[0])
        if view is not None:
            return view
    if not isinstance(subscripts, str) or "->" not in subscripts or "." in subscripts:
        return conservative(recording, np.einsum, (subscripts,) + operands, kwargs)
    inputs, output = subscripts.replace(" ", "").split("->")
    specs = inputs.split(",")
    if any(len(set(s)) != len(s) for s in specs) or len(specs) != len(operands):
        return conservative(recording, np.einsum, (subscripts,) + operands, kwargs)
    lifted = [lift(x, recording) for x in operands]
    value = np.einsum(subscripts, *[x.value for x in lifted])
    parts = []
    for spec, x in zip(specs, lifted):
        summed = tuple(i for i, c in enumerate(spec) if c not in output)
        deps = recording.reduce(x.deps, summed) if summed else x.deps
        kept = [c for c in spec if c in output]
        order = sorted(range(len(kept)), key=lambda i: output.index(kept[i]))
        deps = np.transpose(deps, order) if deps.ndim else deps
        shape = [1] * len(output)
        for c, size in zip(sorted(kept, key=output.index), deps.shape):
            shape[output.index(c)] = size
        parts.append(deps.reshape(shape))
    deps = _filled(recording.union(parts), np.shape(value))
    traced = [p for p, x in zip(parts, lifted) if _traced(x)]
    if len(traced) > 1:
        recording.clique(deps)
    return _store(out, wrap(value, deps, recording))
