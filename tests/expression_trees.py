"""Random NumPy compositions for differential fuzzing (tests/test_fuzz.py).

A tree is a small program over one input x. It is evaluated three ways:

* on dual / hyper-dual arrays (what dualjac differentiates);
* on plain float arrays (NumPy's own values, and its dtypes);
* on complex128 arrays (the complex-step witness, tests/witness.py).

Non-analytic operations (abs, maximum, clip, max, floor, remainder, norms,
var, vdot ...) carry a *witness form*: the same function written so that a
complex step follows the branch the real computation takes (branches are chosen
on real parts, nothing is conjugated): abs(a) -> a * sign(Re a),
maximum(a, b) -> where(Re a >= Re b, a, b) (ties to the first argument, as
dualjac does), var(a) -> mean((a - mean(a)) ** 2) ... Functions with restricted
domains are wrapped in smooth maps that keep them inside it for every real
input (log(1 + a * a), arcsin(0.9 * tanh(a)), a / (1 + b * b) ...).

Row-wise trees: a tree is built for a *row shape* S and evaluated on inputs of
shape L + S for any number of leading axes (``Ctx.lead``): every operation
addresses the trailing axes only (axes are stored relative to S; keys get
leading full slices; operands of different ranks are padded with unit axes
after L). Operations whose meaning depends on the whole array (ravel-based
ones, hstack, atleast_2d, dot with a stacked left operand ...) are marked
``batch_safe=False`` and left out of trees built with ``batch_safe=True``, for
which f(xb)[i] == f(xb[i]): what batch_jacobian / batch_hessian must match.
``smooth=True`` leaves out everything with kinks or jumps (for Hessians
checked by finite differences).
"""

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

import dualjac as dj

MAX_SIZE = 48          # no intermediate array has more elements than this

# dualjac bugs found by this fuzzer (tests/test_fuzz.py pins each one with an
# xfail test): the generator steers around them so that fuzzing goes on finding
# others. Search for the key to see where.
KNOWN_BUGS = {}   # operations the generator must avoid: none at present


# ---------------------------------------------------------------- evaluation

class Ctx:
    """How to evaluate a tree.

    lead: number of leading (batch) axes in front of the row shape.
    witness: complex-step evaluation (witness forms of non-analytic operations).
    dtype: the run's float dtype; constants are rounded to it (and used as
    float64 in the witness, so the witness differentiates the same function).
    """

    def __init__(self, lead=0, witness=False, dtype=np.float64, constants=None):
        self.lead, self.witness, self.dtype = lead, witness, np.dtype(dtype)
        self.constants = np.dtype(constants or dtype)   # float64 constants in float32 code: mixed

    def c(self, value):
        value = np.asarray(value)
        if value.dtype.kind != "f":
            return value
        value = value.astype(self.constants)
        return value.astype(np.float64) if self.witness else value

    def ax(self, i):
        return self.lead + i

    def head(self, v):
        return tuple(v.shape)[:self.lead]

    def pad(self, v, shape, ndim):
        """v (row shape `shape`) with unit axes after the leading ones, up to ndim
        row axes: operands of different ranks then broadcast row by row."""
        if self.lead == 0 or len(shape) >= ndim:
            return v
        return np.reshape(v, self.head(v) + (1,) * (ndim - len(shape)) + tuple(shape))

    def pre(self):
        return (slice(None),) * self.lead


class Node:
    """One operation: fn(ctx, *children values); wfn is its witness form."""

    varying = True     # has x's leading axes (False for constants)

    def __init__(self, text, fn, children, wfn=None, smooth=True, batch_safe=True,
                 stop=False, paths=None):
        self.text, self.fn, self.wfn, self.children = text, fn, wfn, tuple(children)
        self.smooth = smooth and all(c.smooth for c in self.children)
        self.batch_safe = batch_safe and all(c.batch_safe for c in self.children)
        # Connectivity is structural (TF): connected iff a differentiable path leads
        # here. `paths` lists the children that are such paths (np.where's
        # condition is not one); by default all are.
        through = self.children if paths is None else [self.children[i] for i in paths]
        self.connected = not stop and any(c.connected for c in through)
        self.varying = any(c.varying for c in self.children)
        # shapes from a plain evaluation on ones (no operation's shape depends on values)
        dummy = [np.ones(c.shape) if c.varying else c(Ctx(), None) for c in self.children]
        self.shape = tuple(np.shape(fn(Ctx(), *dummy)))
        self.size = math.prod(self.shape)

    def __call__(self, ctx, x):
        args = [c(ctx, x) for c in self.children]
        fn = self.wfn if ctx.witness and self.wfn is not None else self.fn
        return fn(ctx, *args)

    def __repr__(self):
        return self.text.format(*map(repr, self.children))

    def count(self):
        return 1 + sum(c.count() for c in self.children)


class Leaf(Node):
    def __init__(self, shape):
        self.text, self.children = "x", ()
        self.smooth = self.batch_safe = self.connected = self.varying = True
        self.shape, self.size = tuple(shape), math.prod(shape)

    def __call__(self, ctx, x):
        return x


class Const(Node):
    def __init__(self, value, text=None):
        self.value = value
        self.text = text or (f"C{np.shape(value)}" if np.ndim(value) else repr(value))
        self.children = ()
        self.smooth = self.batch_safe = True
        self.connected = self.varying = False
        self.shape, self.size = tuple(np.shape(value)), int(np.size(value))

    def __call__(self, ctx, x):
        if isinstance(self.value, np.ndarray):
            return ctx.c(self.value)
        return ctx.c(np.asarray(self.value))[()]   # a NumPy scalar of the run's dtype


# ---------------------------------------------------------------- witness forms

def absw(a):
    return a * np.sign(np.real(a))


def wmax(a, b):
    return np.where(np.real(a) >= np.real(b), a, b)


def wmin(a, b):
    return np.where(np.real(a) <= np.real(b), a, b)


def wpick(a, axis, keepdims, arg):
    """max / min reductions: the element np.argmax / np.argmin of the real parts picks."""
    a = np.asarray(a)
    nd = a.ndim
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(i % nd for i in ((axis,) if isinstance(axis, int) else axis))
    kept = [i for i in range(nd) if i not in axes]
    t = np.transpose(a, kept + list(axes)).reshape([a.shape[i] for i in kept] + [-1])
    r = np.take_along_axis(t, arg(np.real(t), axis=-1)[..., None], axis=-1)[..., 0]
    if keepdims:
        r = r.reshape([1 if i in axes else n for i, n in enumerate(a.shape)])
    return r


def wvar(a, axis, keepdims, ddof):
    a = np.asarray(a)
    m = np.mean(a, axis=axis, keepdims=True)
    count = a.size // m.size
    return np.sum((a - m) ** 2, axis=axis, keepdims=keepdims) / (count - ddof)


def wnorm(a, ord, axis, keepdims):
    a = np.asarray(a)
    if axis is None:
        if ord is None:
            r = np.sqrt(np.sum(a * a))
            return r.reshape((1,) * a.ndim) if keepdims else r
        axis = tuple(range(a.ndim))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    axis = tuple(i % a.ndim for i in axis)
    if len(axis) == 1:
        ax = axis[0]
        if ord in (None, 2):
            return np.sqrt(np.sum(a * a, axis=ax, keepdims=keepdims))
        if ord == 1:
            return np.sum(absw(a), axis=ax, keepdims=keepdims)
        if ord in (np.inf, -np.inf):
            return wpick(absw(a), ax, keepdims, np.argmax if ord > 0 else np.argmin)
        return np.sum(absw(a) ** ord, axis=ax, keepdims=keepdims) ** (1.0 / ord)
    rows, cols = axis
    if ord in (None, "fro"):
        r = np.sqrt(np.sum(a * a, axis=axis, keepdims=True))
    else:
        summed, picked = (rows, cols) if abs(ord) == 1 else (cols, rows)
        s = np.sum(absw(a), axis=summed, keepdims=True)
        r = wpick(s, picked, True, np.argmax if ord > 0 else np.argmin)
    return r if keepdims else np.squeeze(r, axis)


# ---------------------------------------------------------------- the operations

@dataclass(frozen=True)
class Op:
    text: str
    fn: object            # plain / dual function of the operand values
    wfn: object = None    # witness form (None: fn itself is analytic)
    smooth: bool = True


U = Op
UNARY = [
    U("np.sin({})", lambda a: np.sin(a)),
    U("np.cos({})", lambda a: np.cos(a)),
    U("np.tan(0.9 * np.tanh({}))", lambda a: np.tan(0.9 * np.tanh(a))),
    U("np.arcsin(0.9 * np.tanh({}))", lambda a: np.arcsin(0.9 * np.tanh(a))),
    U("np.arccos(0.9 * np.sin({}))", lambda a: np.arccos(0.9 * np.sin(a))),
    U("np.arctan({})", lambda a: np.arctan(a)),
    U("np.sinh(np.tanh({}))", lambda a: np.sinh(np.tanh(a))),
    U("np.cosh(np.sin({}))", lambda a: np.cosh(np.sin(a))),
    U("np.tanh({})", lambda a: np.tanh(a)),
    U("np.arcsinh({})", lambda a: np.arcsinh(a)),
    U("np.arccosh(1.1 + {0} * {0})", lambda a: np.arccosh(1.1 + a * a)),
    U("np.arctanh(0.9 * np.tanh({}))", lambda a: np.arctanh(0.9 * np.tanh(a))),
    U("np.exp(np.sin({}))", lambda a: np.exp(np.sin(a))),
    U("np.exp(-{0} * {0})", lambda a: np.exp(-a * a)),
    U("np.exp2(np.tanh({}))", lambda a: np.exp2(np.tanh(a))),
    U("np.expm1(np.tanh({}))", lambda a: np.expm1(np.tanh(a))),
    U("np.log(1 + {0} * {0})", lambda a: np.log(1 + a * a)),
    U("np.log2(2 + np.sin({}))", lambda a: np.log2(2 + np.sin(a))),
    U("np.log10(1.5 + np.cos({}))", lambda a: np.log10(1.5 + np.cos(a))),
    U("np.log1p(0.9 * np.tanh({}))", lambda a: np.log1p(0.9 * np.tanh(a))),
    U("np.sqrt(1 + {0} * {0})", lambda a: np.sqrt(1 + a * a)),
    U("np.sqrt(2 + np.sin({}))", lambda a: np.sqrt(2 + np.sin(a))),
    U("np.cbrt(1 + {0} * {0})", lambda a: np.cbrt(1 + a * a), lambda a: (1 + a * a) ** (1 / 3)),
    U("np.reciprocal(1 + {0} * {0})", lambda a: np.reciprocal(1 + a * a)),
    U("1 / (1.5 + np.cos({}))", lambda a: 1 / (1.5 + np.cos(a))),
    U("np.square({})", lambda a: np.square(a)),
    U("{} ** 2", lambda a: a ** 2),
    U("{} ** 3", lambda a: a ** 3),
    U("np.power(1 + {0} * {0}, 0.5)", lambda a: np.power(1 + a * a, 0.5)),
    U("(2 + np.sin({})) ** -1.5", lambda a: (2 + np.sin(a)) ** -1.5),
    U("2.0 ** np.sin({})", lambda a: 2.0 ** np.sin(a)),
    U("-{}", lambda a: -a),
    U("+{}", lambda a: +a),
    U("np.negative({})", lambda a: np.negative(a)),
    U("np.positive({})", lambda a: np.positive(a)),
    U("np.deg2rad({})", lambda a: np.deg2rad(a), lambda a: a * (np.pi / 180)),
    U("np.rad2deg({})", lambda a: np.rad2deg(a), lambda a: a * (180 / np.pi)),
    U("{} * 0.5 - 1.0", lambda a: a * 0.5 - 1.0),
    U("3.0 - {}", lambda a: 3.0 - a),
    U("abs({})", lambda a: abs(a), absw, False),
    U("np.abs({})", lambda a: np.abs(a), absw, False),
    U("np.absolute({})", lambda a: np.absolute(a), absw, False),
    U("np.fabs({})", lambda a: np.fabs(a), absw, False),
    U("np.sign({})", lambda a: np.sign(a), lambda a: np.sign(np.real(a)), False),
    U("np.floor({})", lambda a: np.floor(a), lambda a: np.floor(np.real(a)), False),
    U("np.ceil({})", lambda a: np.ceil(a), lambda a: np.ceil(np.real(a)), False),
    U("np.rint({})", lambda a: np.rint(a), lambda a: np.rint(np.real(a)), False),
    U("np.trunc({})", lambda a: np.trunc(a), lambda a: np.trunc(np.real(a)), False),
    U("np.clip({}, -0.5, 0.7)", lambda a: np.clip(a, -0.5, 0.7),
      lambda a: wmin(wmax(a, -0.5), 0.7), False),
    U("{}.clip(-0.3, None)", lambda a: a.clip(-0.3, None), lambda a: wmax(a, -0.3), False),
    U("np.maximum({}, 0.2)", lambda a: np.maximum(a, 0.2), lambda a: wmax(a, 0.2), False),
    # exact zeros (and ties among them): prod's zero-safety, abs / max / x ** 2 at 0
    U("(np.maximum({}, 0.3) - 0.3)", lambda a: np.maximum(a, 0.3) - 0.3,
      lambda a: wmax(a, 0.3) - 0.3, False),
]


def _logaddexp_witness(a, b):
    return np.where(np.real(a) >= np.real(b), a + np.log1p(np.exp(b - a)),
                    b + np.log1p(np.exp(a - b)))


B = Op
BINARY = [
    B("{0} + {1}", lambda a, b: a + b),
    B("np.add({0}, {1})", lambda a, b: np.add(a, b)),
    B("{0} - {1}", lambda a, b: a - b),
    B("np.subtract({0}, {1})", lambda a, b: np.subtract(a, b)),
    B("{0} * {1}", lambda a, b: a * b),
    B("np.multiply({0}, {1})", lambda a, b: np.multiply(a, b)),
    B("{0} / (1 + {1} * {1})", lambda a, b: a / (1 + b * b)),
    B("np.divide({0}, 2 + np.sin({1}))", lambda a, b: np.divide(a, 2 + np.sin(b))),
    B("np.power(1 + {0} * {0}, np.tanh({1}))", lambda a, b: np.power(1 + a * a, np.tanh(b))),
    B("(1.5 + np.sin({0})) ** np.sin({1})", lambda a, b: (1.5 + np.sin(a)) ** np.sin(b)),
    B("np.arctan2({0}, 1 + {1} * {1})", lambda a, b: np.arctan2(a, 1 + b * b),
      lambda a, b: np.arctan(a / (1 + b * b))),
    B("np.arctan2(1 + {0} * {0}, {1})", lambda a, b: np.arctan2(1 + a * a, b),
      lambda a, b: np.pi / 2 - np.arctan(b / (1 + a * a))),
    B("np.hypot({0}, 1 + {1} * {1})", lambda a, b: np.hypot(a, 1 + b * b),
      lambda a, b: np.sqrt(a * a + (1 + b * b) ** 2)),
    B("np.logaddexp({0}, {1})", lambda a, b: np.logaddexp(a, b), _logaddexp_witness),
    B("np.maximum({0}, {1})", lambda a, b: np.maximum(a, b), wmax, False),
    B("np.minimum({0}, {1})", lambda a, b: np.minimum(a, b), wmin, False),
    B("np.fmax({0}, {1})", lambda a, b: np.fmax(a, b), wmax, False),
    B("np.fmin({0}, {1})", lambda a, b: np.fmin(a, b), wmin, False),
    B("{0} // (1.5 + np.sin({1}))", lambda a, b: a // (1.5 + np.sin(b)),
      lambda a, b: np.floor(np.real(a / (1.5 + np.sin(b)))), False),
    B("np.floor_divide({0}, 2 + np.cos({1}))", lambda a, b: np.floor_divide(a, 2 + np.cos(b)),
      lambda a, b: np.floor(np.real(a / (2 + np.cos(b)))), False),
    B("{0} % (1.5 + np.sin({1}))", lambda a, b: a % (1.5 + np.sin(b)),
      lambda a, b: a - np.floor(np.real(a / (1.5 + np.sin(b)))) * (1.5 + np.sin(b)), False),
    B("np.fmod({0}, 2 + np.cos({1}))", lambda a, b: np.fmod(a, 2 + np.cos(b)),
      lambda a, b: a - np.trunc(np.real(a / (2 + np.cos(b)))) * (2 + np.cos(b)), False),
]


def _iop(t, b, sym):
    if sym == "+":
        t += b
    elif sym == "-":
        t -= b
    elif sym == "*":
        t *= b
    else:
        t /= 1 + b * b
    return t


INPLACE = [B(f"t {s}= {{1}}" if s != "/" else "t /= 1 + {1} * {1}",
             (lambda s: lambda t, b: _iop(t, b, s))(s)) for s in "+-*/"]


# ---------------------------------------------------------------- drawing helpers

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


# ---------------------------------------------------------------- builders

def node(draw, xshape, depth, cfg, top=False):
    """A random composition of x (row shape xshape), at most `depth` deep
    (never just x at the top)."""
    if (depth <= 0 or getattr(draw, "budget", 1) <= 0
            or (not top and draw(st.sampled_from([True] + [False] * 4)))):
        return Leaf(xshape)
    if isinstance(draw, Drawer):
        draw.budget -= 1
    kind = draw(st.sampled_from(list(BUILDERS)))
    child = node(draw, xshape, depth - 1, cfg)
    made = BUILDERS[kind](draw, child, xshape, depth, cfg)
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


BUILDERS = {
    "unary": unary, "binary": binary, "reduce": reduce, "shape": shape_op,
    "index": index_op, "join": join, "linalg": linalg, "misc": misc,
}


# ---------------------------------------------------------------- strategies

@st.composite
def trees(draw, xshape, depth=4, batch_safe=False, smooth=False, max_ops=16):
    """A random composition of x with row shape xshape: at most `depth` deep and
    `max_ops` operations."""
    return node(Drawer(draw, max_ops), tuple(xshape), depth, Cfg(batch_safe, smooth), top=True)


@st.composite
def shapes(draw, max_ndim=3, max_size=12, min_ndim=0):
    """Input shapes, 0-d included (uniform draws: Hypothesis' lists favour short ones)."""
    ndim = draw(st.sampled_from(range(min_ndim, max_ndim + 1)))
    shape = []
    for _ in range(ndim):
        rest = max_size // math.prod(shape)
        shape.append(draw(st.sampled_from(range(1, min(4, rest) + 1))))
    return tuple(shape)


def function(tree, row_ndim, dtype=np.float64, witness=False, constants=None):
    """The tree as f(x) for x of shape L + row shape (any L)."""
    def f(x):
        return tree(Ctx(x.ndim - row_ndim, witness, dtype, constants), x)
    return f
