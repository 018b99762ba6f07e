"""Running f on pattern arrays: Jacobian patterns, Hessian patterns, and sums of terms.

f runs once on x as a source; a pattern array's rows live in the trace's row store
(``dualjac/_rowstore.py``), so a trace costs O(entries of the patterns it builds). A (nearly)
dense pattern raises ``PatternTooDense`` instead of filling the memory.
"""

import numpy as np

from . import _separable
from ._pattern import PatternArray, Recording, hessian_pairs, lift, rows_of, source


def one_array(y):
    if isinstance(y, (tuple, list, dict)):
        raise TypeError("dualjac: f must return one array (stack several outputs into one).")
    return y


class JacobianPattern:
    """Where d f(x) / d x can be nonzero: (rows, cols) of f(x).size x x.size, in row order."""

    def __init__(self, f, x, args=()):
        recording = Recording(x.size)
        y = lift(one_array(f(source(x, recording), *args)), recording)
        self.out_shape = y.shape
        self.rows, self.cols = rows_of(y.deps, recording)
        self.value_dependent = tuple(recording.value_dependent)
        self.shape = (int(np.prod(self.out_shape)), x.size)


class Terms:
    """f as c_1 sum(u_1) + c_2 sum(u_2) + ... + constant, found by tracing: the pattern of
    the stacked terms (rows: the elements of u_1, then of u_2, ...), their shapes, and the
    Hessian pattern (pairs, both triangles, with the diagonal). ``separable`` is False when f
    is not such a sum (then only the Hessian pattern is known)."""

    def __init__(self, f, x, args=(), second_order=True):
        y, recording = _intercepted(f, x, args, second_order)
        self.value_dependent = tuple(recording.value_dependent)
        if not isinstance(y, _separable.PartialSum):
            self._not_separable(y, recording, second_order)
            return
        self.separable = True
        self.shapes = [a.shape for _, a in y.terms]
        self.size = sum(int(np.prod(s)) for s in self.shapes)
        deps = [lift(a, recording).deps.ravel() for _, a in y.terms]
        self.rows, self.cols = rows_of(np.concatenate(deps or [np.zeros(0, np.int64)]),
                                       recording)
        self.hessian_rows, self.hessian_cols = (hessian_pairs(recording) if second_order
                                                else (None, None))

    def _not_separable(self, y, recording, second_order):
        self.separable = False
        self.hessian_rows = self.hessian_cols = None
        if not second_order:
            return
        y = lift(one_array(y), recording)
        if y.shape != ():
            raise ValueError(f"dualjac: f must return a scalar, got shape {y.shape}; for the "
                             "Hessians of several outputs, call it once per output (or use "
                             "dj.hessian).")
        self.hessian_rows, self.hessian_cols = hessian_pairs(recording)


def _intercepted(f, x, args, second_order):
    """(f on traced x, its recording), with its full sums kept apart (a PartialSum) where f
    allows it."""
    recording = Recording(x.size, second_order=second_order)
    ours = lambda a: isinstance(a, PatternArray) and a.recording is recording  # noqa: E731
    try:
        with _separable.intercepting(ours):
            return one_array(f(source(x, recording), *args)), recording
    except _separable.NotSeparable:
        recording = Recording(x.size, second_order=second_order)
        return f(source(x, recording), *args), recording
