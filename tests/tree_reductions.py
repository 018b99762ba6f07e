"""Expression-tree builders for reductions (sum, mean, prod, var, std, max / min,
cumsum, norms, trace) with random axes and keepdims (expression_trees.py)."""

import math

import numpy as np
from hypothesis import strategies as st

from tree_drawing import broadcastable, constant, integers, wrap
from tree_operations import wnorm, wpick, wvar


def reduce(draw, child, xshape, depth, cfg):
    nd = len(child.shape)
    names = ["sum", "sum_method", "sum_where", "mean", "mean_method", "prod", "var", "std",
             "cumsum", "norm", "trace"]
    if not cfg.smooth:
        names += ["max", "min", "max_method", "min_method"]
    name = draw(st.sampled_from(names))
    keepdims = draw(st.booleans())
    if nd == 0:
        form, axes = "all", ()
    else:
        form = draw(st.sampled_from(["all", "int", "tuple"]))
        if form == "int":
            axes = (draw(st.integers(0, nd - 1)),)
        elif form == "tuple":
            axes = tuple(draw(st.permutations(range(nd)))[:draw(st.integers(1, nd))])
        else:
            axes = tuple(range(nd))
    neg = draw(st.booleans())
    reduced = math.prod(child.shape[i] for i in axes)

    def axis(ctx):
        if form == "all" and ctx.lead == 0 and not neg:
            return None
        if form == "int":
            return axes[0] - nd if neg else ctx.ax(axes[0])
        return tuple(i - nd if neg else ctx.ax(i) for i in axes)

    text = f"{{0}}, axis={axes if form != 'all' else None}, keepdims={keepdims}"
    if name in ("sum", "mean", "prod"):
        f = {"sum": np.sum, "mean": np.mean, "prod": np.prod}[name]
        return wrap(f"np.{name}({text})", lambda ctx, a: f(a, axis=axis(ctx), keepdims=keepdims),
                    [child])
    if name in ("sum_method", "mean_method"):
        m = name[:-7]
        return wrap(f"{{0}}.{m}({text[4:]})",
                    lambda ctx, a: getattr(a, m)(axis=axis(ctx), keepdims=keepdims), [child])
    if name == "sum_where":
        mask = integers(draw, broadcastable(draw, child.shape, exact=True), 0, 2).astype(bool)
        sm = mask.shape
        return wrap(f"np.sum({text}, where=M{sm})",
                    lambda ctx, a: np.sum(
                        a, axis=axis(ctx), keepdims=keepdims,
                        where=np.reshape(mask, (1,) * (ctx.lead + nd - len(sm)) + sm)),
                    [child])
    if name in ("max", "min", "max_method", "min_method"):
        which = name[:3]
        arg = np.argmax if which == "max" else np.argmin
        spell = draw(st.sampled_from(["np.", "np.a"])) if name in ("max", "min") else "."
        if spell == ".":
            fn = lambda ctx, a: getattr(a, which)(axis=axis(ctx), keepdims=keepdims)   # noqa: E731
        else:
            f = getattr(np, ("a" if spell == "np.a" else "") + which)
            fn = lambda ctx, a: f(a, axis=axis(ctx), keepdims=keepdims)   # noqa: E731
        return wrap(f"{spell}{which}({text})", fn, [child],
                    lambda ctx, a: wpick(a, axis(ctx), keepdims, arg), smooth=False)
    if name in ("var", "std"):
        ddof = draw(st.integers(0, 1)) if reduced >= 2 else 0
        if name == "std" and reduced < 2:
            name = "var"
        shift = constant(draw, child.shape)
        sshape = child.shape
        f = np.var if name == "var" else np.std

        def fn(ctx, a):
            return f(a + ctx.c(shift), axis=axis(ctx), keepdims=keepdims, ddof=ddof)

        def wfn(ctx, a):
            v = wvar(a + ctx.c(shift), axis(ctx), keepdims, ddof)
            return v if name == "var" else np.sqrt(v)
        return wrap(f"np.{name}({{0}} + C{sshape}, {text[4:]}, ddof={ddof})", fn, [child], wfn)
    if name == "cumsum":
        if form == "int":
            return wrap(f"np.cumsum({{0}}, axis={axes[0]})",
                        lambda ctx, a: np.cumsum(a, axis=axis(ctx)), [child])
        size = child.size

        def fn(ctx, a):
            if ctx.lead == 0:
                return np.cumsum(a) if neg else a.cumsum()
            return np.cumsum(np.reshape(a, ctx.head(a) + (size,)), axis=-1)
        return wrap("np.cumsum({0})", fn, [child])
    if name == "norm":
        return norm(draw, child, nd, form, axes, neg, keepdims, cfg)
    if name == "trace" and nd >= 2:
        i, j = draw(st.permutations(range(nd)))[:2]
        offset = draw(st.integers(-child.shape[i] + 1, child.shape[j] - 1))
        return wrap(f"np.trace({{0}}, {offset}, {i}, {j})",
                    lambda ctx, a: np.trace(a, offset, ctx.ax(i), ctx.ax(j)), [child])
    return None


def norm(draw, child, nd, form, axes, neg, keepdims, cfg):
    shift = constant(draw, child.shape)   # no zero vectors (the 2-norm's kink)
    size = child.size
    vector_ords = [None, 2, 3] if cfg.smooth else [None, 2, 3, 1, np.inf, -np.inf]
    matrix_ords = [None, "fro"] if cfg.smooth else [None, "fro", 1, -1, np.inf, -np.inf]
    if form == "all" and (nd > 2 or nd == 0):
        ord_ = None
    elif form == "all":
        ord_ = draw(st.sampled_from(vector_ords if nd == 1 else matrix_ords))
    elif len(axes) == 1:
        ord_ = draw(st.sampled_from(vector_ords))
    elif len(axes) == 2:
        ord_ = draw(st.sampled_from(matrix_ords))
    else:
        return None
    smooth = ord_ in (None, 2, 3, "fro")

    def axis(ctx):
        if form == "all":
            return None
        if form == "int":
            return axes[0] - nd if neg else ctx.ax(axes[0])
        return tuple(i - nd if neg else ctx.ax(i) for i in axes)

    def call(norm_fn):
        def fn(ctx, a):
            a = a + ctx.c(shift)
            if form == "all" and ctx.lead:
                if nd in (1, 2):    # the whole row: a vector or a matrix norm
                    return norm_fn(a, ord_, tuple(range(ctx.lead, ctx.lead + nd)), keepdims)
                flat = np.reshape(a, ctx.head(a) + (size,))
                r = norm_fn(flat, None, -1, False)
                return np.reshape(r, ctx.head(a) + (1,) * nd) if keepdims else r
            return norm_fn(a, ord_, axis(ctx), keepdims)
        return fn
    return wrap(f"np.linalg.norm({{0}} + C, ord={ord_}, axis={axes if form != 'all' else None}, "
                f"keepdims={keepdims})",
                call(lambda a, o, ax, k: np.linalg.norm(a, ord=o, axis=ax, keepdims=k)), [child],
                call(wnorm), smooth=smooth)
