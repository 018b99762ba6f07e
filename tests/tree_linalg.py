"""Expression-tree builders for products: einsum, matmul, dot, inner, tensordot,
vecdot, matvec / vecmat, outer, vdot, with constant and dual operands
(expression_trees.py)."""

import numpy as np
from hypothesis import strategies as st

from tree_drawing import adapt, broadcastable, constant, node, operand, small_shape, wrap
from tree_nodes import Const
from tree_shapes import factor_shape


LETTERS = "abcdefgh"


def einsum_op(draw, child, xshape, depth, cfg):
    """np.einsum with the child (and maybe another dual operand) under '...',
    constants without it; repeated letters (diagonals) included."""
    s = child.shape
    nd = len(s)
    letters = list(LETTERS[:nd])
    sizes = dict(zip(letters, s))
    for i in range(nd):                  # a repeated letter: a diagonal of equal axes
        for j in range(i):
            if s[i] == s[j] and draw(st.integers(0, 3)) == 0:
                letters[i] = letters[j]
    spec_a = "".join(letters)
    pool = sorted(set(letters))
    new = [c for c in LETTERS[nd:nd + 2]]
    for c in new:
        sizes[c] = draw(st.integers(1, 3))
    operands, specs = [child], [spec_a]
    for _ in range(draw(st.integers(1, 2))):
        spec = "".join(draw(st.lists(st.sampled_from(pool + new), max_size=3, unique=True)))
        shape = tuple(sizes[c] for c in spec)
        if draw(st.booleans()):
            operands.append(Const(constant(draw, shape)))
        else:
            operands.append(adapt(draw, node(draw, xshape, depth - 1, cfg), shape))
        specs.append(spec)
    used = sorted(set("".join(specs)))
    out = "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))])
    # without '...' (plain subscripts) only when nothing else is row-varying
    dots = cfg.batch_safe or any(op.varying for op in operands[1:]) or draw(st.booleans())
    full = [("..." if op.varying and dots else "") + sp for op, sp in zip(operands, specs)]
    subscripts = ",".join(full) + "->" + ("..." if dots else "") + out
    return wrap(f"np.einsum('{subscripts}', ...)",
                lambda ctx, *v: np.einsum(subscripts, *v), operands,
                batch_safe=dots)


def linalg(draw, child, xshape, depth, cfg):
    s = child.shape
    nd = len(s)
    kinds = ["einsum", "einsum"]
    if nd >= 1:
        kinds += ["matmul_const", "dot_const", "inner_const", "tensordot_const", "vecdot",
                  "matvec", "vecmat"]
    if nd >= 2:
        kinds += ["const_matmul", "matmul_dual"]
    if not cfg.batch_safe:
        kinds += ["outer", "vdot", "dot_dual", "tensordot_dual", "const_dot"]
    kind = draw(st.sampled_from(kinds))
    k = draw(st.integers(1, 3))
    if kind == "einsum":
        return einsum_op(draw, child, xshape, depth, cfg)
    if kind == "matmul_const":
        C = Const(constant(draw, (s[-1], k) if draw(st.booleans()) else (s[-1],)))
        spell = draw(st.booleans())
        return wrap("{0} @ {1}" if spell else "np.matmul({0}, {1})",
                    lambda ctx, a, c: a @ c if spell else np.matmul(a, c), [child, C])
    if kind == "const_matmul":
        C = Const(constant(draw, (k, s[-2]) if draw(st.booleans()) else (s[-2],)))
        return wrap("{1} @ {0}", lambda ctx, a, c: c @ a, [child, C])
    if kind == "matmul_dual":
        shape = (s[-1], k)
        if nd > 2 and draw(st.booleans()):
            shape = s[:-2] + shape
        other = adapt(draw, node(draw, xshape, depth - 1, cfg), shape)
        r = max(nd, len(shape))
        return wrap("{0} @ {1}", lambda ctx, a, b: ctx.pad(a, s, r) @ ctx.pad(b, shape, r),
                    [child, other])
    if kind == "dot_const":
        vector = draw(st.booleans())
        C = Const(constant(draw, (s[-1],) if vector else (s[-1], k)))
        return wrap("np.dot({0}, {1})", lambda ctx, a, c: np.dot(a, c), [child, C])
    if kind == "inner_const":
        C = Const(constant(draw, (k, s[-1]) if draw(st.booleans()) else (s[-1],)))
        return wrap("np.inner({0}, {1})", lambda ctx, a, c: np.inner(a, c), [child, C])
    if kind == "tensordot_const":
        m = draw(st.integers(1, nd))
        axes_a = tuple(draw(st.permutations(range(nd)))[:m])
        extra = (k,) if draw(st.booleans()) else ()
        C = Const(constant(draw, tuple(s[i] for i in axes_a) + extra))
        return wrap(f"np.tensordot({{0}}, {{1}}, ({axes_a}, {tuple(range(m))}))",
                    lambda ctx, a, c: np.tensordot(a, c, ([ctx.ax(i) for i in axes_a],
                                                          list(range(m)))), [child, C])
    if kind in ("vecdot", "vecmat"):
        if kind == "vecdot":
            other = operand(draw, xshape, depth, cfg, broadcastable(draw, s[:-1], True) + s[-1:],
                            scalar=False)
        else:
            other = Const(constant(draw, (s[-1], k)))
        so = other.shape
        r = max(nd, len(so)) if kind == "vecdot" else nd   # vecmat's matrix is no batch operand

        def operands(ctx, a, b):
            return ctx.pad(a, s, r), (ctx.pad(b, so, r) if other.varying else b)
        f = np.vecdot if kind == "vecdot" else np.vecmat
        if kind == "vecdot":
            w = lambda a, b: np.einsum("...i,...i->...", a, b)   # noqa: E731 (no conjugation)
        else:
            w = lambda a, b: np.einsum("...i,ij->...j", a, b)    # noqa: E731
        return wrap(f"np.{kind}({{0}}, {{1}})", lambda ctx, a, b: f(*operands(ctx, a, b)),
                    [child, other], lambda ctx, a, b: w(*operands(ctx, a, b)))
    if kind == "matvec":
        C = Const(constant(draw, (k, s[-1])))
        return wrap("np.matvec({1}, {0})", lambda ctx, a, c: np.matvec(c, a), [child, C])
    # whole-array products (not row-wise)
    if kind == "outer":
        other = operand(draw, xshape, depth, cfg, small_shape(draw, 2, 3), scalar=False)
        return wrap("np.outer({0}, {1})", lambda ctx, a, b: np.outer(a, b), [child, other],
                    batch_safe=False)
    if kind == "vdot":
        other = operand(draw, xshape, depth, cfg, factor_shape(draw, child.size), scalar=False)
        return wrap("np.vdot({0}, {1})", lambda ctx, a, b: np.vdot(a, b), [child, other],
                    lambda ctx, a, b: np.sum(np.ravel(a) * np.ravel(b)), batch_safe=False)
    if kind == "dot_dual":
        if nd == 0:
            shape = small_shape(draw)
        else:
            vector = nd == 1 or draw(st.booleans())
            shape = (s[-1],) if vector else (s[-1], k)
        other = operand(draw, xshape, depth, cfg, shape, scalar=False)
        return wrap("np.dot({0}, {1})", lambda ctx, a, b: np.dot(a, b), [child, other],
                    batch_safe=False)
    if kind == "tensordot_dual" and nd >= 1:
        other = operand(draw, xshape, depth, cfg, (s[-1], k), scalar=False)
        return wrap("np.tensordot({0}, {1}, 1)", lambda ctx, a, b: np.tensordot(a, b, 1),
                    [child, other], batch_safe=False)
    if kind == "const_dot" and nd >= 1:
        C = Const(constant(draw, (k, s[0]) if nd >= 1 else (k,)))
        return wrap("np.dot({1}, {0})" if nd == 1 else "np.tensordot({1}, {0}, 1)",
                    lambda ctx, a, c: np.dot(c, a) if nd == 1 else np.tensordot(c, a, 1),
                    [child, C], batch_safe=False)
    return None
