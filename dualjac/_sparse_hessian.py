"""Hessians (and gradients) of scalar f that end in a sum of local terms.

f(x) = c_1 sum(u_1(x)) + ... + constant, each element of the terms depending on a few
sources: the terms' columns are colored (``dualjac/coloring.py``) so that within one element
a color stands for one source; f then runs once on hyper-dual arrays with one seed per
color on each level, and every element's c x c second derivatives are added up into the
Hessian's pattern (``_TermsPlan``). ``dualjac/_separable.py`` keeps the sums apart while f runs.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import _core, _second_order, _separable, _sweep, coloring
from ._core import DualArray, HyperDualArray
from ._layout import (Layout, SeededBuffers, check_format, pattern_matrix, probe_direction,
                      same_args, same_structure, source_array)
from ._tracing import Terms
from ._types import Array, Format, Sparse


class SparseHessian:
    """The Hessian of a scalar f(x, *args) as a sparse matrix, prepared once for many calls.

    When f ends in a sum of local terms (``c * np.sum(u) + ...``, also ``mean``, ``dot`` and
    ``@`` of vectors), each call is one evaluation of f on hyper-dual arrays with ``ncolors``
    seeds per level, whose per-element second derivatives are added up into the pattern: O(n)
    for n sources when each term depends on a few of them. Otherwise the Hessian comes from
    ``dj.hessian`` (dense or banded jets) and is stored in the pattern. ``format``: "csr",
    "csc", "coo" (symmetric scipy.sparse arrays, both triangles stored) or "dense".
    """

    def __init__(self, f: Callable[..., Any], x: ArrayLike, *, format: Format = "csr",
                 args: Sequence[Any] = ()) -> None:
        _sweep.check_callable(f, "SparseHessian")
        check_format(format, "SparseHessian")
        self.f, self.format = f, format
        self._prepare(source_array(x, "SparseHessian"), tuple(args))

    def _prepare(self, x, args):
        terms = Terms(self.f, x, args)
        self.sparsity = pattern_matrix(terms.hessian_rows, terms.hessian_cols, (x.size, x.size))
        self.value_dependent = terms.value_dependent
        self.in_shape, self.in_dtype, self.args = x.shape, x.dtype, args
        self._layout = Layout(self.sparsity, np.zeros(x.size, np.int64), self.format)
        self.plan = _TermsPlan(terms, x.size, self._layout) if terms.separable else None
        self.ncolors = self.plan.ncolors if self.plan else x.size
        self._probe = probe_direction(x.size)
        if self.plan is not None:
            self._probe_of_color = self.plan.probe_weights(self._probe)

    def _prepare_if_changed(self, x, args):
        """Trace f again; whether its Hessian pattern or its terms differ from the old ones."""
        old_sparsity, old_plan = self.sparsity, self.plan
        self._prepare(x, args)
        if (old_plan is None) != (self.plan is None) or not same_structure(old_sparsity,
                                                                          self.sparsity):
            return True
        return old_plan is not None and not old_plan.same_terms(self.plan)

    def __call__(self, x: ArrayLike, *args: Any) -> Sparse:
        return self.value_gradient_hessian(x, *args)[2]

    def value_gradient_hessian(self, x: ArrayLike, *args: Any) -> tuple[Array, Array, Sparse]:
        """(f(x), its gradient shaped like x, its Hessian) from one sweep."""
        x = source_array(x, "SparseHessian")
        if (x.shape != self.in_shape or x.dtype != self.in_dtype or self.value_dependent
                or not same_args(args, self.args)):
            self._prepare(x, args)
        for attempt in range(2):
            if self.plan is None:
                return self._through_dense(x, args)
            parts = self._separable_sweep(x, args)
            if parts is None:
                self._prepare(x, args)
                continue
            result, agrees = parts
            # A disagreeing probe is a changed structure, or rounding: a new trace tells.
            if agrees or not self._prepare_if_changed(x, args):
                return result
        raise RuntimeError("dualjac.SparseHessian: f's terms do not match the ones found by "
                           "tracing it at the same x; f may depend on state that changes "
                           "between calls. Use dj.hessian for such an f.")

    def _separable_sweep(self, x, args):
        c = self.plan.ncolors
        K = 1 + (c + 1) + c + (c + 1) * c
        return _sweep.with_block_cache(x.size * K * x.dtype.itemsize, self._swept, x, args)

    def _swept(self, x, args):
        """One hyper-dual sweep: the colors on both levels, the probe on the first only."""
        seeds = coloring.seed_matrix(self.plan.colors, x.dtype)
        c = seeds.shape[1]
        with_probe = np.column_stack([seeds, self._probe.astype(x.dtype)])
        with _core.LiveTags("dj.hessian", 2) as (tag1, tag2):
            seeded = _sweep._seed_hyper(x, with_probe, seeds, tag1, tag2)
            ours = lambda a: isinstance(a, HyperDualArray) and (a.tag1, a.tag2) == (tag1, tag2)
            try:
                with _separable.intercepting(ours):
                    y = self.f(seeded, *args)
            except _separable.NotSeparable:
                return None
            if not isinstance(y, _separable.PartialSum) or not all(ours(a) for _, a in y.terms):
                return None
            shapes = [a.shape for _, a in y.terms]
            if shapes != self.plan.shapes:
                return None
            value = y.constant + sum(c_ * float(np.sum(a.buf[..., 0])) for c_, a in y.terms)
            # explicit sizes: -1 is ambiguous for empty terms
            d1 = np.concatenate([a.buf[..., 1:2 + c].reshape(a.size, c + 1) * k
                                 for k, a in y.terms])
            d12 = np.concatenate([np.asarray(a.d12).reshape(a.size, c + 1, c) * k
                                  for k, a in y.terms])
        assembled = self.plan.assemble(d1[:, :c], d12[:, :c, :], x)
        if assembled is None:
            return None
        gradient, data = assembled
        return (np.asarray(value, x.dtype)[()], gradient.reshape(x.shape),
                self._matrix(data, x)), self._probe_agrees(d1, d12)

    def _probe_agrees(self, d1, d12):
        """Whether, per term element, the colors' first derivatives and their second
        derivatives against each color, weighted by the probe's weight of the source each
        color stands for, add up to what f computed along the probe (see
        SparseJacobian._probe_agrees): a dependence the trace did not see breaks it."""
        w = self._probe_of_color
        return (_agrees(d1[:, :-1] * w, d1[:, -1])
                and _agrees(d12[:, :-1, :] * w[:, :, None], d12[:, -1, :]))

    def _matrix(self, data, x):
        H = self._layout.matrix_from_data(data)
        return H.reshape(x.shape + x.shape) if self.format == "dense" else H

    def _through_dense(self, x, args):
        """The Hessian's entries in the pattern from dj.hessian's; an entry outside it is a
        structure f changed through state the trace could not see (a closure, a global):
        f is traced again, and an entry still outside is an error, never dropped."""
        f = (lambda z: self.f(z, *args)) if args else self.f
        value, gradient, H = _second_order.value_gradient_hessian(f, x)
        H = H.reshape(x.size, x.size)
        for attempt in range(2):
            data = H[self._layout.rows, self._layout.cols]
            if np.count_nonzero(data) == np.count_nonzero(H):
                return value, gradient, self._matrix(data, x)
            self._prepare(x, args)
        raise RuntimeError("dualjac.SparseHessian: f's Hessian has entries outside the pattern "
                           "found by tracing it at the same x; f may depend on state that "
                           "changes between calls. Use dj.hessian for such an f.")


class SparseGradient:
    """The gradient of a scalar f that ends in a sum of local terms, prepared once: each call
    is one dual sweep with a seed per color of the terms (O(n) for local terms), plus a probe
    seed checked per term element, so that a change of f's structure the trace cannot see
    (a closure, a global) is found and f traced again. ``separable`` is False (and calls
    return None) when f is not such a sum."""

    def __init__(self, f, x):
        self.f = f
        self._prepare(x)

    def _prepare(self, x):
        terms = Terms(self.f, x, second_order=False)
        self.separable, self.value_dependent = terms.separable, terms.value_dependent
        self.in_shape, self.in_dtype = x.shape, x.dtype
        if not self.separable:
            return
        self.plan = _TermsPlan(terms, x.size, None)
        probe = probe_direction(x.size)
        self._buffers = SeededBuffers(x.shape, np.column_stack([
            coloring.seed_matrix(self.plan.colors, x.dtype), probe.astype(x.dtype)]))
        # Along the probe, element k's derivative is sum_a d_k[a] probe[source of color a].
        self._probe_of_color = np.ascontiguousarray(self.plan.probe_weights(probe), np.float64)

    def __call__(self, x):
        """(f(x), gradient), or None when f is not a sum of local terms."""
        if x.shape != self.in_shape or x.dtype != self.in_dtype or self.value_dependent:
            self._prepare(x)
        for attempt in range(2):
            if not self.separable:
                return None
            found = self._sweep(x)
            if found is not None:
                return found
            self._prepare(x)
        raise RuntimeError("dualjac: f's terms do not match the ones found by tracing it at "
                           "the same x; f may depend on state that changes between calls.")

    def _sweep(self, x):
        nbytes = x.size * (2 + self.plan.ncolors) * x.dtype.itemsize
        return _sweep.with_block_cache(nbytes, self._swept, x)

    def _swept(self, x):
        c = self._buffers.lanes - 1
        buf = self._buffers.take(x)
        with _core.LiveTags("dj.gradient") as tag:
            ours = lambda a: isinstance(a, DualArray) and a.tag1 == tag  # noqa: E731
            try:
                with _separable.intercepting(ours):
                    y = self.f(_core.make_dual(buf, tag, 1))
            except _separable.NotSeparable:
                return None
            if (not isinstance(y, _separable.PartialSum) or not all(ours(a) for _, a in y.terms)
                    or [a.shape for _, a in y.terms] != self.plan.shapes):
                return None
            value = y.constant + sum(k * float(np.sum(a.buf[..., 0])) for k, a in y.terms)
            gradient = self._gradient_of(y.terms, c, x)
        self._buffers.give_back(buf)
        if gradient is None:
            return None
        return np.asarray(value, x.dtype)[()], gradient.astype(x.dtype).reshape(x.shape)

    def _gradient_of(self, terms, c, x):
        """The terms' colored derivatives added up per source, or None when an element's probe
        lane disagrees with them (f's structure changed since it was traced)."""
        gradient = np.zeros(x.size)
        tolerance = 64 * np.finfo(x.dtype).eps
        excess, largest, first = -np.inf, 0.0, 0
        for k, a in terms:
            lanes = a.buf.reshape(a.size, 1 + c)
            found = _core.add_term_gradient(lanes, float(k), self.plan.source_of,
                                            self._probe_of_color, first, gradient, tolerance)
            excess, largest = max(excess, found[0]), max(largest, found[1])
            first += a.size
        return None if excess > tolerance * largest else gradient


def _agrees(parts, probed):
    """Whether each element's parts add up to what f computed along the probe, up to
    rounding relative to the element's own terms and to the largest of all (an element whose
    derivatives cancel to rounding noise is judged against the result's scale); NaN and inf
    are not disagreements."""
    magnitude = _row_sums(np.abs(parts)) + np.abs(probed)
    largest = np.max(magnitude, initial=0.0, where=np.isfinite(magnitude))
    tolerance = 64 * np.finfo(probed.dtype).eps * (magnitude + largest)
    return not np.any(np.abs(_row_sums(parts) - probed) > tolerance)


def _row_sums(a):
    """a.sum(axis=1) for an (m, c) array with few columns, as c vector additions: NumPy's
    reduction over a short inner axis is several times slower."""
    if a.shape[1] == 0:
        return np.zeros(a.shape[:1] + a.shape[2:], a.dtype)
    total = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        total += a[:, j]
    return total


class _TermsPlan:
    """Where each term element's compressed derivatives go: with the terms' columns colored,
    an element's seed of color a stands for the one source of that color it depends on."""

    def __init__(self, terms, n, layout):
        self.shapes = terms.shapes
        rows, cols = terms.rows, terms.cols
        pattern = pattern_matrix(rows, cols, (terms.size, n))
        self.colors = coloring.column_coloring(pattern)
        self.ncolors = c = int(self.colors.max()) + 1 if self.colors.size else 1
        source_of = np.full((terms.size, c), -1, np.int64)
        source_of[rows, self.colors[cols]] = cols
        self.n, self.pattern = n, pattern
        has = source_of >= 0
        self.gradient_from, self.gradient_to = np.flatnonzero(has), source_of[has]
        self.source_of = source_of
        if layout is not None:
            self._hessian_plan(has, source_of, layout)

    def _hessian_plan(self, has, source_of, layout):
        pair = has[:, :, None] & has[:, None, :]
        i = np.broadcast_to(source_of[:, :, None], pair.shape)[pair]
        j = np.broadcast_to(source_of[:, None, :], pair.shape)[pair]
        position = layout.position(i, j)
        inside = position >= 0
        flat = np.flatnonzero(pair)
        self.hessian_from, self.hessian_to = flat[inside], position[inside]
        self.outside = flat[~inside]       # pairs f's elements cannot make: exact zeros
        self.nnz = layout.nnz

    def probe_weights(self, probe):
        """Per term element and color, the probe's weight of the source that color stands
        for there (0 where none)."""
        return np.where(self.source_of >= 0, probe[np.maximum(self.source_of, 0)], 0.0)

    def same_terms(self, other):
        return self.shapes == other.shapes and same_structure(self.pattern, other.pattern)

    def assemble(self, d1, d12, x):
        d12 = d12.ravel()
        if self.outside.size and np.any(d12[self.outside] != 0):
            return None
        gradient = np.bincount(self.gradient_to, weights=d1.ravel()[self.gradient_from],
                               minlength=self.n).astype(x.dtype, copy=False)
        data = np.bincount(self.hessian_to, weights=d12[self.hessian_from],
                           minlength=self.nnz).astype(x.dtype, copy=False)
        return gradient, data
