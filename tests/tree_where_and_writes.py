"""Expression-tree builders for np.where, clip with array bounds, stop_gradient, and
writes: in-place operators, item assignment, ones_like then a write (expression_trees.py)."""

import numpy as np
from hypothesis import strategies as st

import dualjac as dj
from tree_drawing import adapt, broadcastable, constant, integers, node, operand, pick, wrap
from tree_operations import INPLACE, wmax, wmin
from tree_shapes import basic_key


def misc(draw, child, xshape, depth, cfg):
    s = child.shape
    kinds = ["where_const", "setitem", "inplace", "ones_like"]
    if not cfg.smooth:
        kinds += ["where_value", "clip_arrays", "stop_gradient"]
    kind = draw(st.sampled_from(kinds))
    if kind == "where_const":
        mask = integers(draw, broadcastable(draw, s, exact=True), 0, 2).astype(bool)
        other = operand(draw, xshape, depth, cfg, broadcastable(draw, s))
        nd = len(np.broadcast_shapes(s, mask.shape, other.shape))
        so, vo = other.shape, other.varying
        return wrap(f"np.where(M{mask.shape}, {{0}}, {{1}})",
                    lambda ctx, a, b: np.where(mask, ctx.pad(a, s, nd),
                                               ctx.pad(b, so, nd) if vo else b), [child, other])
    if kind == "where_value":
        cond = adapt(draw, node(draw, xshape, depth - 1, cfg), broadcastable(draw, s, exact=True))
        other = operand(draw, xshape, depth, cfg, broadcastable(draw, s, exact=True))
        sc, so, vo = cond.shape, other.shape, other.varying
        nd = len(s)
        threshold = draw(st.sampled_from([0.0, 0.3, -0.5]))

        def fn(ctx, c, a, b, real=lambda v: v):
            return np.where(real(ctx.pad(c, sc, nd)) > threshold, a,
                            ctx.pad(b, so, nd) if vo else b)
        return wrap(f"np.where({{0}} > {threshold}, {{1}}, {{2}})", fn, [cond, child, other],
                    lambda ctx, c, a, b: fn(ctx, c, a, b, np.real), smooth=False, paths=(1, 2))
    if kind == "clip_arrays":
        lo = constant(draw, broadcastable(draw, s, exact=True), -1.0, 0.0)
        hi = lo + constant(draw, lo.shape, 0.1, 1.5)

        def fn(ctx, a):
            return np.clip(a, ctx.c(lo), ctx.c(hi))

        def wfn(ctx, a):
            return wmin(wmax(a, ctx.c(lo)), ctx.c(hi))
        return wrap("np.clip({0}, LO, HI)", fn, [child], wfn, smooth=False)
    if kind == "stop_gradient":
        # back on a jet (zero derivatives, unconnected): later operations then run
        # the same kernels as for connected values. On a plain array NumPy's own
        # cos & co. would run, whose last bit can differ from the kernels': a tie
        # maximum(cos(x), cos(stop_gradient(x))) would then split differently in
        # the witness.
        return wrap("(zeros_like({0}) + dj.stop_gradient({0}))",
                    lambda ctx, a: np.zeros_like(a) + dj.stop_gradient(a), [child],
                    lambda ctx, a: np.zeros_like(a) + np.real(a), stop=True)
    if kind == "inplace":
        op = pick(draw, INPLACE)
        other = operand(draw, xshape, depth, cfg, broadcastable(draw, s, exact=True))
        so, vo, nd = other.shape, other.varying, len(s)

        def fn(ctx, a, b):
            t = np.array(a) if isinstance(a, np.generic) else a.copy()  # 0-d: an array, as a jet is
            return op.fn(t, ctx.pad(b, so, nd) if vo else b)

        def wfn(ctx, a, b):   # a may be real where b is complex (a = sign(x) ...)
            t = np.array(a, dtype=np.result_type(a, b))
            return op.fn(t, ctx.pad(b, so, nd) if vo else b)
        return wrap(f"(t = {{0}}.copy(); {op.text})", fn, [child, other], wfn)
    if kind == "setitem":
        k1 = basic_key(draw, s, ints=draw(st.booleans()))
        k2 = basic_key(draw, s, ints=False)
        spell = draw(st.booleans())

        def fn(ctx, a):
            if spell:
                z = np.zeros_like(a)
            else:
                # (a NumPy scalar cannot be like=)
                like = np.asarray(a) if isinstance(a, np.generic) else a
                z = np.zeros(a.shape, dtype=a.dtype, like=like)
            z[ctx.pre() + k1] = np.sin(a[ctx.pre() + k1])
            z[ctx.pre() + k2] += 2.0 * a[ctx.pre() + k2]
            return z
        return wrap(f"(z = zeros_like({{0}}); z[{k1!r}] = sin(..); z[{k2!r}] += 2 * ..)", fn,
                    [child])
    if kind == "ones_like":
        key = basic_key(draw, s, ints=False)

        def fn(ctx, a):
            z = np.ones_like(a)
            z[ctx.pre() + key] *= a[ctx.pre() + key]
            return z
        return wrap(f"(z = ones_like({{0}}); z[{key!r}] *= ..)", fn, [child])
    return None
