"""Expression-tree builders that move elements around: reshapes and other shape
operations, indexing, and joins (expression_trees.py)."""

import numpy as np
from hypothesis import strategies as st

from tree_drawing import broadcastable, integers, operand, small_shape, wrap


def factor_shape(draw, size, max_ndim=3):
    """A random shape with the given number of elements."""
    dims = []
    rest = size
    for _ in range(draw(st.integers(0, max_ndim - 1))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = draw(st.sampled_from(divisors))
        dims.append(d)
        rest //= d
    dims.append(rest)
    dims = draw(st.permutations(dims))
    if size == 1 and draw(st.booleans()):
        return ()
    return tuple(dims)


def shape_op(draw, child, xshape, depth, cfg):
    s = child.shape
    nd = len(s)
    name = draw(st.sampled_from(["reshape", "ravel", "transpose", "swapaxes", "moveaxis",
                                 "squeeze", "expand_dims", "flip", "roll", "broadcast_to",
                                 "repeat", "tile", "diagonal", "copy", "atleast", "T"]))
    neg = draw(st.booleans())

    def ax(ctx, i, n=nd):
        return i - n if neg else ctx.ax(i)

    if name == "reshape":
        new = factor_shape(draw, child.size)
        spell = draw(st.sampled_from(["np", "method", "minus"]))
        if spell == "minus" and new:
            j = draw(st.integers(0, len(new) - 1))
            new = new[:j] + (-1,) + new[j + 1:]

        def fn(ctx, a):
            if spell == "method":
                return a.reshape(ctx.head(a) + new)
            return np.reshape(a, ctx.head(a) + new)
        return wrap(f"reshape({{0}}, {new})", fn, [child])
    if name == "ravel":
        size = child.size
        spell = draw(st.sampled_from(["np.ravel({0})", "{0}.ravel()", "{0}.flatten()"]))

        def fn(ctx, a):
            if ctx.lead:
                return np.reshape(a, ctx.head(a) + (size,))
            return np.ravel(a) if spell.startswith("np") else getattr(a, spell[4:-2])()
        return wrap(spell, fn, [child])
    if name == "transpose" or name == "T":
        perm = tuple(draw(st.permutations(range(nd))))
        if name == "T":
            perm = tuple(reversed(range(nd)))
        spell = draw(st.sampled_from(["np", "method", "none"]))

        def fn(ctx, a):
            full = tuple(range(ctx.lead)) + tuple(ctx.ax(p) for p in perm)
            if ctx.lead == 0 and name == "T":
                return a.T
            if ctx.lead == 0 and spell == "none" and perm == tuple(reversed(range(nd))):
                return np.transpose(a)
            return np.transpose(a, full) if spell != "method" else a.transpose(*full)
        return wrap(f"transpose({{0}}, {perm})", fn, [child])
    if nd >= 1 and name == "swapaxes":
        i, j = draw(st.integers(0, nd - 1)), draw(st.integers(0, nd - 1))
        spell = draw(st.booleans())
        return wrap(f"np.swapaxes({{0}}, {i}, {j})",
                    lambda ctx, a: np.swapaxes(a, ax(ctx, i), ax(ctx, j)) if spell
                    else a.swapaxes(ax(ctx, i), ax(ctx, j)), [child])
    if nd >= 1 and name == "moveaxis":
        k = draw(st.integers(1, nd))
        src = tuple(draw(st.permutations(range(nd)))[:k])
        dst = tuple(draw(st.permutations(range(nd)))[:k])
        return wrap(f"np.moveaxis({{0}}, {src}, {dst})",
                    lambda ctx, a: np.moveaxis(a, [ax(ctx, i) for i in src],
                                               [ax(ctx, i) for i in dst]), [child])
    if name == "squeeze" and 1 in s:
        ones = [i for i, n in enumerate(s) if n == 1]
        which = tuple(draw(st.sets(st.sampled_from(ones), min_size=1)))
        everything = draw(st.booleans()) and len(which) == len(ones)

        def fn(ctx, a):
            if everything and ctx.lead == 0:
                return np.squeeze(a) if neg else a.squeeze()
            return np.squeeze(a, tuple(ax(ctx, i) for i in which))
        return wrap(f"np.squeeze({{0}}, {which})", fn, [child])
    if name == "expand_dims" and nd < 4:
        i = draw(st.integers(0, nd))
        return wrap(f"np.expand_dims({{0}}, {i})",
                    lambda ctx, a: np.expand_dims(a, i - nd - 1 if neg else ctx.ax(i)), [child])
    if name == "flip":
        axes = None
        if nd and draw(st.booleans()):
            axes = tuple(draw(st.sets(st.integers(0, nd - 1), min_size=1)))

        def fn(ctx, a):
            if axes is None:
                if ctx.lead == 0:
                    return np.flip(a)
                return np.flip(a, tuple(ctx.ax(i) for i in range(nd)))
            return np.flip(a, tuple(ax(ctx, i) for i in axes))
        return wrap(f"np.flip({{0}}, {axes})", fn, [child])
    if name == "roll":
        shift = draw(st.integers(-3, 3))
        i = draw(st.integers(0, nd - 1)) if nd and draw(st.booleans()) else None
        size = child.size

        def fn(ctx, a):
            if i is not None:
                return np.roll(a, shift, ax(ctx, i))
            if ctx.lead == 0:
                return np.roll(a, shift)
            flat = np.roll(np.reshape(a, ctx.head(a) + (size,)), shift, -1)
            return np.reshape(flat, ctx.head(a) + s)
        return wrap(f"np.roll({{0}}, {shift}, {i})", fn, [child])
    if name == "broadcast_to":
        target = list(s)
        for k, n in enumerate(s):
            if n == 1:
                target[k] = draw(st.integers(1, 3))
        if len(target) < 3 and draw(st.booleans()):
            target = [draw(st.integers(1, 3))] + target
        target = tuple(target)
        return wrap(f"np.broadcast_to({{0}}, {target})",
                    lambda ctx, a: np.broadcast_to(ctx.pad(a, s, len(target)),
                                                   ctx.head(a) + target), [child])
    if name == "repeat":
        if nd and draw(st.booleans()):
            i = draw(st.integers(0, nd - 1))
            reps = draw(st.integers(1, 2)) if draw(st.booleans()) else integers(draw, (s[i],), 0, 3)
            return wrap(f"np.repeat({{0}}, {reps!r}, {i})",
                        lambda ctx, a: np.repeat(a, reps, axis=ax(ctx, i)), [child])
        size = child.size
        r = draw(st.integers(1, 2))

        def fn(ctx, a):
            if ctx.lead == 0:
                return np.repeat(a, r)
            return np.repeat(np.reshape(a, ctx.head(a) + (size,)), r, axis=-1)
        return wrap(f"np.repeat({{0}}, {r})", fn, [child])
    if name == "tile":
        n = draw(st.integers(0, nd if cfg.batch_safe else nd + 1))
        reps = tuple(draw(st.integers(1, 2)) for _ in range(n))
        if len(reps) > nd and cfg.batch_safe:
            return None
        return wrap(f"np.tile({{0}}, {reps})", lambda ctx, a: np.tile(a, reps), [child],
                    batch_safe=len(reps) <= nd)
    if name == "diagonal" and nd >= 2:
        i, j = draw(st.permutations(range(nd)))[:2]
        offset = draw(st.integers(-s[i] + 1, s[j] - 1))
        return wrap(f"np.diagonal({{0}}, {offset}, {i}, {j})",
                    lambda ctx, a: np.diagonal(a, offset, ctx.ax(i), ctx.ax(j)), [child])
    if name == "copy":
        spell = draw(st.booleans())
        return wrap("np.copy({0})" if spell else "{0}.copy()",
                    lambda ctx, a: np.copy(a) if spell else a.copy(), [child])
    if name == "atleast" and not cfg.batch_safe:
        k = draw(st.integers(1, 3))
        f = getattr(np, f"atleast_{k}d")
        return wrap(f"np.atleast_{k}d({{0}})", lambda ctx, a: f(a), [child], batch_safe=False)
    return None


def basic_key(draw, shape, ints=True):
    key = []
    for n in shape:
        kind = draw(st.sampled_from(["all", "slice", "int"] if ints else ["all", "slice"]))
        if kind == "all":
            key.append(slice(None))
        elif kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        else:
            start = draw(st.integers(-n, n - 1))
            step = draw(st.sampled_from([1, 2, -1, -3]))
            key.append(slice(start, None, step))
        if draw(st.integers(0, 5)) == 0:
            key.append(None)
    if draw(st.booleans()):          # trailing full slices become an Ellipsis
        while key and key[-1] == slice(None):
            key.pop()
        key.append(Ellipsis)
    return tuple(key)


def index_op(draw, child, xshape, depth, cfg):
    s = child.shape
    nd = len(s)
    kinds = ["basic", "basic", "take_flat"]
    if nd:
        kinds += ["array", "mask", "take", "take_along", "getitem_pair"]
    if nd >= 2 and not cfg.batch_safe:
        kinds += ["separated"]
    kind = draw(st.sampled_from(kinds))
    if kind == "basic":
        key = basic_key(draw, s)
        return wrap(f"{{0}}[{key!r}]", lambda ctx, a: a[ctx.pre() + key], [child])
    if kind == "take_flat":
        idx = integers(draw, small_shape(draw), -child.size, child.size)
        size = child.size

        def fn(ctx, a):
            if ctx.lead == 0:
                return np.take(a, idx)
            return np.take(np.reshape(a, ctx.head(a) + (size,)), idx, axis=ctx.lead)
        return wrap(f"np.take({{0}}, I{idx.shape})", fn, [child])
    j = draw(st.integers(0, nd - 1))
    if kind == "array":
        idx = integers(draw, small_shape(draw, 2, 3), -s[j], s[j])
        tail = (Ellipsis,) if draw(st.booleans()) else ()
        key = (slice(None),) * j + (idx,) + tail
        return wrap(f"{{0}}[(:,)*{j} + I{idx.shape}]", lambda ctx, a: a[ctx.pre() + key], [child])
    if kind == "getitem_pair" and j + 1 < nd:
        shape = small_shape(draw, 1, 3)
        i1 = integers(draw, shape, -s[j], s[j])
        i2 = integers(draw, broadcastable(draw, shape, exact=True), -s[j + 1], s[j + 1])
        key = (slice(None),) * j + (i1, i2)
        return wrap(f"{{0}}[(:,)*{j} + (I, I)]", lambda ctx, a: a[ctx.pre() + key], [child])
    if kind == "mask":
        m = draw(st.integers(1, nd - j))
        mask = integers(draw, s[j:j + m], 0, 2).astype(bool)
        mask.flat[draw(st.integers(0, mask.size - 1))] = True
        key = (slice(None),) * j + (mask,)
        return wrap(f"{{0}}[(:,)*{j} + M{mask.shape}]", lambda ctx, a: a[ctx.pre() + key], [child])
    if kind == "take":
        idx = integers(draw, small_shape(draw, 2, 3), -s[j], s[j])
        neg = draw(st.booleans())
        return wrap(f"np.take({{0}}, I{idx.shape}, axis={j})",
                    lambda ctx, a: np.take(a, idx, axis=j - nd if neg else ctx.ax(j)), [child])
    if kind == "take_along":
        shape = s[:j] + (draw(st.integers(1, 3)),) + s[j + 1:]
        idx = integers(draw, shape, -s[j], s[j])
        return wrap(f"np.take_along_axis({{0}}, I{shape}, {j})",
                    lambda ctx, a: np.take_along_axis(
                        a, np.reshape(idx, (1,) * ctx.lead + shape), ctx.ax(j)), [child])
    if kind == "separated":
        # NumPy moves the broadcast index dimensions first when separated by a slice
        i1 = integers(draw, (2,), -s[0], s[0])
        second = draw(st.booleans())
        i2 = integers(draw, (2,), -s[-1], s[-1]) if second else draw(st.integers(-s[-1], s[-1] - 1))
        key = (i1,) + (slice(None),) * (nd - 2) + (i2,)
        if nd == 2 and second:
            key = (i1, slice(None), Ellipsis)
        return wrap(f"{{0}}[I, ..., {i2!r}]", lambda ctx, a: a[key], [child], batch_safe=False)
    return None


def rows(ctx, parts, values):
    """Constants among row-varying arrays, repeated for every row (for joins)."""
    if ctx.lead == 0:
        return list(values)
    head = next(ctx.head(v) for p, v in zip(parts, values) if p.varying)
    return [v if p.varying else np.broadcast_to(v, head + p.shape) for p, v in zip(parts, values)]


def join(draw, child, xshape, depth, cfg):
    s = child.shape
    nd = len(s)
    kinds = ["stack"] + (["concatenate"] * 2 if nd else [])
    if not cfg.batch_safe:
        kinds += ["hstack", "vstack", "column_stack", "concatenate_none"]
    kind = draw(st.sampled_from(kinds))
    neg = draw(st.booleans())
    count = draw(st.integers(2, 3))
    if kind == "concatenate":
        j = draw(st.integers(0, nd - 1))
        others = [operand(draw, xshape, depth, cfg, s[:j] + (draw(st.integers(1, 3)),) + s[j + 1:],
                          scalar=False) for _ in range(count - 1)]
        parts = [child] + others
        order = draw(st.permutations(range(count)))
        parts = [parts[k] for k in order]
        return wrap(f"np.concatenate([{', '.join('{%d}' % k for k in range(count))}], {j})",
                    lambda ctx, *v: np.concatenate(rows(ctx, parts, v),
                                                   j - nd if neg else ctx.ax(j)),
                    parts)
    if kind == "stack":
        j = draw(st.integers(0, nd))
        others = [operand(draw, xshape, depth, cfg, s, scalar=False) for _ in range(count - 1)]
        parts = [child] + others
        order = draw(st.permutations(range(count)))
        parts = [parts[k] for k in order]
        return wrap(f"np.stack([{', '.join('{%d}' % k for k in range(count))}], {j})",
                    lambda ctx, *v: np.stack(rows(ctx, parts, v), j - nd - 1 if neg else ctx.ax(j)),
                    parts)
    # whole-array joins (not row-wise)
    if kind == "concatenate_none":
        other = operand(draw, xshape, depth, cfg, small_shape(draw), scalar=False)
        return wrap("np.concatenate([{0}, {1}], axis=None)",
                    lambda ctx, a, b: np.concatenate([a, b], axis=None), [child, other],
                    batch_safe=False)
    if nd == 0:
        return None
    if kind == "hstack":
        if nd >= 2:
            shape = s[:1] + (draw(st.integers(1, 2)),) + s[2:]
        else:
            shape = (draw(st.integers(1, 3)),)
        other = operand(draw, xshape, depth, cfg, shape, scalar=False)
        return wrap("np.hstack([{0}, {1}])", lambda ctx, a, b: np.hstack([a, b]), [child, other],
                    batch_safe=False)
    if kind == "vstack":
        shape = (draw(st.integers(1, 2)),) + s[1:] if nd >= 2 else s
        other = operand(draw, xshape, depth, cfg, shape, scalar=False)
        return wrap("np.vstack([{0}, {1}])", lambda ctx, a, b: np.vstack([a, b]), [child, other],
                    batch_safe=False)
    if kind == "column_stack" and nd <= 2:
        shape = s[:1] if nd == 1 or draw(st.booleans()) else s[:1] + (draw(st.integers(1, 2)),)
        other = operand(draw, xshape, depth, cfg, shape, scalar=False)
        return wrap("np.column_stack([{0}, {1}])", lambda ctx, a, b: np.column_stack([a, b]),
                    [child, other], batch_safe=False)
    return None
