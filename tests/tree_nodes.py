"""Expression trees: the nodes and how one is evaluated (expression_trees.py)."""

import math

import numpy as np


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
