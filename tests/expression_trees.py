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

The parts: tree_nodes.py (nodes, evaluation), tree_operations.py (elementwise
operations and witness forms), tree_drawing.py (drawing operands and nodes), and
one module per family of builders: tree_reductions.py, tree_shapes.py,
tree_linalg.py, tree_where_and_writes.py. This module puts them together.
"""

import math

import numpy as np
from hypothesis import strategies as st

from tree_drawing import Cfg, Drawer, binary, constant, node, unary
from tree_linalg import linalg
from tree_nodes import Ctx
from tree_operations import BINARY, UNARY
from tree_reductions import reduce
from tree_shapes import index_op, join, shape_op
from tree_where_and_writes import misc

# What the fuzzer (tests/test_fuzz.py) uses.
__all__ = ["BINARY", "UNARY", "constant", "function", "shapes", "trees"]

# dualjac bugs found by this fuzzer (tests/test_fuzz.py pins each one with an
# xfail test): the generator steers around them so that fuzzing goes on finding
# others. Search for the key to see where.
KNOWN_BUGS = {}   # operations the generator must avoid: none at present

# node() draws a builder by kind from this table (through Cfg): the order matters, since
# Hypothesis draws the kind by its position.
BUILDERS = {
    "unary": unary, "binary": binary, "reduce": reduce, "shape": shape_op,
    "index": index_op, "join": join, "linalg": linalg, "misc": misc,
}


# ---------------------------------------------------------------- strategies

@st.composite
def trees(draw, xshape, depth=4, batch_safe=False, smooth=False, max_ops=16):
    """A random composition of x with row shape xshape: at most `depth` deep and
    `max_ops` operations."""
    return node(Drawer(draw, max_ops), tuple(xshape), depth, Cfg(batch_safe, smooth, BUILDERS),
                top=True)


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
