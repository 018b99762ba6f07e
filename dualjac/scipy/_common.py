"""What every drop-in shares: telling jets from plain input, and linear maps on jets.

A drop-in calls SciPy itself when no argument is a jet. On jets it runs its rule with
jet operations (NumPy calls on jets dispatch into dualjac). A rule that reads ``.buf``
(linalg, signal) first makes every banded or deferred jet the dense jet it stands for
(``dense``); one written with NumPy calls only (special, stats, integrate, optimize)
keeps a deferred jet (``recordable``), so that each call in it is recorded, or falls back
on its own, and a batch transform's program goes on past the drop-in.
"""

import functools

import numpy as np

from .._core import BandedJet, DeferredJet, DeferredTranspose, _Jet, _JetProtocol
from ..dispatch.jets import on_buffer, value_of, with_values

__all__ = ["any_jet", "dense", "recordable", "degree_of", "split", "value_of",
           "on_components", "with_scipy_values", "refuse_jets", "traced_as_a_whole"]


def any_jet(*arguments):
    return any(isinstance(a, _JetProtocol) for a in arguments)


def dense(x):
    """A DualArray / HyperDualArray for any jet kind; anything else as it is."""
    if isinstance(x, BandedJet):
        return x.densify()
    if isinstance(x, (DeferredJet, DeferredTranspose)):
        return x.compute()
    return x


def recordable(x):
    """dense(x) for a banded jet; a deferred jet (or its transpose) kept, for a rule
    written with NumPy calls only (its values are read with value_of)."""
    return x.densify() if isinstance(x, BandedJet) else x


def degree_of(*arguments):
    """The highest order of derivatives carried (0 for plain input): the number of
    fixed-point steps that make a nilpotent iteration exact."""
    return max((a.degree for a in arguments if isinstance(a, _JetProtocol)), default=0)


def traced_as_a_whole(scipy_function):
    """Decorator of a drop-in whose rule reads jets' buffers, which the sparsity tracer's
    arrays do not have: given them, SciPy's function runs on their values and every output
    depends on every traced input (the tracer's conservative rule: a superset)."""
    def decorate(drop_in):
        @functools.wraps(drop_in)
        def call(*args, **kwargs):
            from .._pattern_rules import conservative, traced_leaves
            leaves = traced_leaves((args, kwargs))
            if leaves:
                return conservative(leaves[0].recording, scipy_function, args, kwargs)
            return drop_in(*args, **kwargs)
        return call
    return decorate


def split(a):
    """(A0, dA): the plain value and the derivative part (a jet of value 0, or 0.0)."""
    if not isinstance(a, _Jet):
        return np.asarray(a), 0.0
    A0 = value_of(a)
    return A0, a - A0


def on_components(linear_map, r, axis=0):
    """linear_map applied to every component of the jet r at once (to r itself if plain).

    linear_map takes a plain array whose axes are r's axes up to and including ``axis``,
    with all the later axes and the components flattened into one trailing axis (an
    (n, m) matrix for axis=0), and returns one with the same trailing axis."""
    if not isinstance(r, _Jet):
        return linear_map(np.asarray(r))
    buf = r.buf
    lead = buf.shape[:axis + 1]
    out = linear_map(buf.reshape(lead + (-1,)))
    return on_buffer(r, out.reshape(out.shape[:-1] + buf.shape[axis + 1:]))


def with_scipy_values(result, values):
    """result's derivatives under SciPy's own values (so values match SciPy's exactly)."""
    if not isinstance(result, _JetProtocol):       # (every kind: the tracer's arrays too)
        return values
    return with_values(result, np.broadcast_to(values, result.shape))


def refuse_jets(name, fix):
    """The TypeError for arguments the drop-in has no derivative rule for."""
    return TypeError(f"dualjac.scipy: {name} {fix}")
