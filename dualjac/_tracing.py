"""Running f on pattern arrays: Jacobian patterns, Hessian patterns, and sums of terms.

A pattern array's sets are Python ints with one bit per source, so an element's set costs
up to n bits. For many sources f runs once per block of ``TRACE_BLOCK`` sources (the others
are constants in that run): the sets stay small, and the patterns of the blocks are the
columns of the whole. (Hessian pairs across blocks are not seen by block runs: large
Hessian patterns come from f's terms instead, see ``term_pattern``.)
"""

import numpy as np

from . import _separable
from ._pattern import PatternArray, Recording, bit_rows, block_products, hessian_pairs, lift, source

TRACE_BLOCK = 1 << 14


def blocks(n):
    return [(lo, min(lo + TRACE_BLOCK, n)) for lo in range(0, n, TRACE_BLOCK)] or [(0, 0)]


def one_array(y):
    if isinstance(y, (tuple, list, dict)):
        raise TypeError("dualjac: f must return one array (stack several outputs into one).")
    return y


class JacobianPattern:
    """Where d f(x) / d x can be nonzero: (rows, cols) of f(x).size x x.size, in row order."""

    def __init__(self, f, x, args=()):
        rows, cols, self.out_shape, why = [], [], None, []
        for lo, hi in blocks(x.size):
            recording = Recording(hi - lo)
            y = lift(one_array(f(source(x, recording, lo, hi), *args)), recording)
            if self.out_shape is not None and y.shape != self.out_shape:
                raise ValueError("dualjac: f's output shape changed between two runs at the "
                                 "same x; f must be a function of x.")
            self.out_shape = y.shape
            r, c = bit_rows(y.deps, hi - lo)
            rows.append(r)
            cols.append(c + lo)
            why += [w for w in recording.value_dependent if w not in why]
        self.rows, self.cols = _row_order(np.concatenate(rows), np.concatenate(cols))
        self.value_dependent = tuple(why)
        self.shape = (int(np.prod(self.out_shape)), x.size)


def _row_order(rows, cols):
    order = np.lexsort((cols, rows))
    return rows[order], cols[order]


class Terms:
    """f as c_1 sum(u_1) + c_2 sum(u_2) + ... + constant, found by tracing: the pattern of
    the stacked terms (rows: the elements of u_1, then of u_2, ...), their shapes, and the
    Hessian pattern (pairs, both triangles, with the diagonal). ``separable`` is False when f
    is not such a sum (then only the Hessian pattern is known)."""

    def __init__(self, f, x, args=(), second_order=True):
        n = x.size
        self.separable, self.value_dependent = True, ()
        rows, cols, shapes, why = [], [], None, []
        runs = blocks(n)
        for lo, hi in runs:
            recording = Recording(hi - lo, second_order=second_order and len(runs) == 1)
            y = _intercepted(f, x, lo, hi, args, recording)
            if not isinstance(y, _separable.PartialSum):
                self._not_separable(f, x, args, y, recording, len(runs) == 1, second_order)
                return
            these = [a.shape for _, a in y.terms]
            if shapes is not None and these != shapes:
                raise ValueError("dualjac: f's terms changed between two runs at the same x; "
                                 "f must be a function of x.")
            shapes = these
            deps = np.concatenate([lift(a, recording).deps.ravel() for _, a in y.terms])
            r, c = bit_rows(deps, hi - lo)
            rows.append(r)
            cols.append(c + lo)
            why += [w for w in recording.value_dependent if w not in why]
        self.shapes, self.size = shapes, sum(int(np.prod(s)) for s in shapes)
        self.rows, self.cols = _row_order(np.concatenate(rows), np.concatenate(cols))
        self.value_dependent = tuple(why)
        if not second_order:
            self.hessian_rows = self.hessian_cols = None
        elif len(runs) == 1:
            self.hessian_rows, self.hessian_cols = hessian_pairs(recording)
        else:
            self.hessian_rows, self.hessian_cols = _pairs_within_rows(self.rows, self.cols, n)

    def _not_separable(self, f, x, args, y, recording, full_width, second_order):
        self.separable = False
        if not second_order:
            self.hessian_rows = self.hessian_cols = None
            return
        if not full_width:       # the Hessian pattern needs every pair: one full-width run
            recording = Recording(x.size, second_order=True)
            y = f(source(x, recording), *args)
        y = lift(one_array(y), recording)
        if y.shape != ():
            raise ValueError(f"dualjac: f must return a scalar, got shape {y.shape}; for the "
                             "Hessians of several outputs, call it once per output (or use "
                             "dj.hessian).")
        self.value_dependent = tuple(recording.value_dependent)
        self.hessian_rows, self.hessian_cols = hessian_pairs(recording)


def _intercepted(f, x, lo, hi, args, recording):
    """f on traced x, with its full sums kept apart (a PartialSum) where f allows it."""
    ours = lambda a: isinstance(a, PatternArray) and a.recording is recording  # noqa: E731
    try:
        with _separable.intercepting(ours):
            return one_array(f(source(x, recording, lo, hi), *args))
    except _separable.NotSeparable:
        return f(source(x, recording, lo, hi), *args)


def _pairs_within_rows(rows, cols, n):
    """Every pair of sources that one term element depends on, and the diagonal: a superset
    of the Hessian pattern of a sum of terms (a term's Hessian lives on its sources)."""
    indptr = np.searchsorted(rows, np.arange(rows[-1] + 2 if rows.size else 1))
    i, j = block_products(indptr, cols, indptr, cols)
    diagonal = np.arange(n)
    return np.concatenate([diagonal, i]), np.concatenate([diagonal, j])
