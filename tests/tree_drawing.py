"""Drawing expression trees (expression_trees.py): Hypothesis draws, operands, and
node(), which picks a builder and falls back to a unary operation; unary and binary
operations."""

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from tree_nodes import Const, Leaf, Node
from tree_operations import BINARY, UNARY

MAX_SIZE = 48          # no intermediate array has more elements than this


class Drawer:
    """Hypothesis' draw, plus one random generator for all of a tree's constants
    (one seed drawn per tree: big trees stay within Hypothesis' data budget)."""

    def __init__(self, draw, budget):
        self.draw = draw
        self.rng = np.random.default_rng([0, draw(st.integers(0, 2**32 - 1))])
        self.budget = budget     # operations left to place (binary trees grow fast)

    def __call__(self, strategy):
        return self.draw(strategy)


def _rng(draw):
    if isinstance(draw, Drawer):
        return draw.rng
    # another stream than any tree's (Hypothesis favours seed 0: x must not equal a constant)
    return np.random.default_rng([1, draw(st.integers(0, 2**32 - 1))])


def constant(draw, shape, lo=-1.5, hi=1.5):
    return _rng(draw).uniform(lo, hi, shape)


def integers(draw, shape, lo, hi):
    """Integer constants in [lo, hi)."""
    return _rng(draw).integers(lo, hi, shape)


def pick(draw, items, cfg=None):
    items = [i for i in items if cfg is None or cfg.allows(i)]
    return draw(st.sampled_from(items))


def small_shape(draw, max_ndim=2, max_dim=3):
    return tuple(draw(st.lists(st.integers(1, max_dim), max_size=max_ndim)))


def broadcastable(draw, shape, exact=False):
    """A shape that broadcasts with `shape` (to `shape` itself when exact)."""
    out = []
    for n in shape:
        if n == 1 and not exact:
            out.append(draw(st.sampled_from([1, 2, 3])))
        else:
            out.append(draw(st.sampled_from([n, 1])))
    drop = draw(st.integers(0, len(out)))
    out = out[drop:]
    if not exact and drop == 0 and len(out) < 3 and draw(st.booleans()):
        out = [draw(st.integers(1, 2))] + out
    return tuple(out)


@dataclass
class Cfg:
    batch_safe: bool = False
    smooth: bool = False
    # The builders node() draws from, by kind (expression_trees.BUILDERS). Handed in,
    # not imported: the builders call node() themselves.
    builders: dict = field(default_factory=dict)

    def allows(self, op):
        return op.smooth or not self.smooth


def wrap(text, fn, children, wfn=None, smooth=True, batch_safe=True, stop=False, paths=None):
    """A Node: text formats the children's code; fn(ctx, *values); wfn its witness form."""
    return Node(text, fn, children, wfn, smooth, batch_safe, stop, paths)


def operand(draw, xshape, depth, cfg, shape, scalar=True):
    """A second operand of the given row shape: a constant array, a NumPy scalar
    (Python float literals appear in the operations themselves), or another
    composition of x brought to that shape."""
    kinds = ["const", "dual", "dual"] + (["scalar"] if scalar and shape == () else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "const":
        return Const(constant(draw, shape))
    if kind == "scalar":
        return Const(draw(st.sampled_from([0.5, -1.25, 2.0, 0.0, 3.0])))
    return adapt(draw, node(draw, xshape, depth - 1, cfg), shape)


def adapt(draw, sub, shape):
    """sub's elements, picked (with repeats) into the given row shape: ravel
    per row, then take / fancy-index with random flat indices."""
    if sub.shape == tuple(shape):
        return sub
    idx = integers(draw, shape, -sub.size, sub.size)
    how = draw(st.sampled_from(["take", "index"]))
    size = sub.size

    def fn(ctx, v):
        flat = np.reshape(v, ctx.head(v) + (size,))
        if how == "take":
            return np.take(flat, idx, axis=ctx.ax(0))
        return flat[ctx.pre() + (idx,)]
    return wrap(f"{how}(ravel({{0}}), idx{tuple(shape)})", fn, [sub])


def node(draw, xshape, depth, cfg, top=False):
    """A random composition of x (row shape xshape), at most `depth` deep
    (never just x at the top)."""
    if (depth <= 0 or getattr(draw, "budget", 1) <= 0
            or (not top and draw(st.sampled_from([True] + [False] * 4)))):
        return Leaf(xshape)
    if isinstance(draw, Drawer):
        draw.budget -= 1
    kind = draw(st.sampled_from(list(cfg.builders)))
    child = node(draw, xshape, depth - 1, cfg)
    made = cfg.builders[kind](draw, child, xshape, depth, cfg)
    if made is None or made.size == 0 or made.size > MAX_SIZE:
        made = unary(draw, child, xshape, depth, cfg)
    return made


def unary(draw, child, xshape, depth, cfg):
    op = pick(draw, UNARY, cfg)
    return wrap(op.text, lambda ctx, a: op.fn(a), [child],
                (lambda ctx, a: op.wfn(a)) if op.wfn else None, op.smooth)


def binary(draw, child, xshape, depth, cfg):
    op = pick(draw, BINARY, cfg)
    other = operand(draw, xshape, depth, cfg, broadcastable(draw, child.shape))
    a, b = (child, other) if draw(st.booleans()) else (other, child)
    nd = len(np.broadcast_shapes(a.shape, b.shape))
    sa, sb, va, vb = a.shape, b.shape, a.varying, b.varying

    def operands(ctx, u, v):
        return (ctx.pad(u, sa, nd) if va else u), (ctx.pad(v, sb, nd) if vb else v)

    return wrap(op.text, lambda ctx, u, v: op.fn(*operands(ctx, u, v)), [a, b],
                (lambda ctx, u, v: op.wfn(*operands(ctx, u, v))) if op.wfn else None,
                op.smooth)
