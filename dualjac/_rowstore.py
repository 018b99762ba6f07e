"""The dependence rows of one trace: sets of source elements, stored once, named by ids.

A trace's pattern arrays hold, per element, the *id* of a row of this store (an int64 array
of the value's shape); a row is a sorted set of source indices in [0, n). Row 0 is the empty
set (constants), rows 1..n the single sources. New rows are appended, never changed, so an
id stays valid for the whole trace and structural NumPy functions can move ids freely.

The rows live in one CSR pair (``indptr``, ``indices``) grown by doubling. Every operation
gathers the rows of many ids at once and builds the new rows with whole-array NumPy code,
so a trace costs O(entries), with no per-element Python work.
"""

import numpy as np

MAX_ENTRIES = 20_000_000


class PatternTooDense(ValueError):
    """The pattern (or the Hessian pattern) of f has too many entries to trace sparsely."""


def too_dense(n, what):
    return PatternTooDense(
        f"dualjac: the pattern of f is (nearly) dense: tracing it would hold more than "
        f"{MAX_ENTRIES:,} {what} for x of {n:,} elements. Sparsity does not pay for such an "
        f"f: use dj.jacobian / dj.hessian.")


def segment_positions(starts, lengths):
    """Concatenation of the ranges [start, start + length): where gathered rows' entries are."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)


class RowStore:
    """Dependence rows over n sources; ``rows(ids)`` reads them, the other methods make new
    ones and return their ids."""

    def __init__(self, n):
        self.n = n
        self._indptr = np.zeros(max(2 * (n + 2), 16), np.int64)
        self._indices = np.zeros(max(2 * n, 16), np.int64)
        self._indptr[1:n + 2] = np.arange(n + 1)          # row 0 empty, row 1 + j = {j}
        self._indices[:n] = np.arange(n)
        self.nrows, self.nnz = n + 1, n

    def source_ids(self):
        return np.arange(1, self.n + 1, dtype=np.int64)

    # ---------------------------------------------------------------- reading

    def rows(self, ids):
        """CSR (indptr, indices) of the rows of a flat array of ids, in that order."""
        ids = np.asarray(ids, np.int64).ravel()
        starts = self._indptr[ids]
        lengths = self._indptr[ids + 1] - starts
        indptr = np.zeros(ids.size + 1, np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return indptr, self._indices[segment_positions(starts, lengths)]

    def lengths(self, ids):
        return self._indptr[ids + 1] - self._indptr[ids]

    # ---------------------------------------------------------------- new rows

    def _append(self, counts, indices):
        """New rows: row k has ``counts[k]`` entries, the next ones of ``indices``."""
        if self.nnz + indices.size > MAX_ENTRIES + self.n:
            raise too_dense(self.n, "dependence entries")
        first, nrows = self.nrows, counts.size
        self._indptr = _grown(self._indptr, first + nrows + 1)
        self._indices = _grown(self._indices, self.nnz + indices.size)
        np.cumsum(counts, out=self._indptr[first + 1:first + nrows + 1])
        self._indptr[first + 1:first + nrows + 1] += self.nnz
        self._indices[self.nnz:self.nnz + indices.size] = indices
        self.nrows, self.nnz = first + nrows, self.nnz + indices.size
        return np.arange(first, first + nrows, dtype=np.int64)

    def union_groups(self, groups):
        """Ids of the unions of the rows of each line of an int64 (g, r) array of ids."""
        groups = np.asarray(groups, np.int64)
        g, r = groups.shape
        if r == 0:
            return np.zeros(g, np.int64)
        if r == 1:
            return groups[:, 0].copy()
        # A line with at most one distinct nonzero id is that id: no new row.
        top = groups.max(axis=1)
        low = np.where(groups == 0, np.iinfo(np.int64).max, groups).min(axis=1)
        out = top
        mixed = np.flatnonzero(low < top)
        if mixed.size:
            out[mixed] = self._new_unions(groups[mixed])
        return out

    def _new_unions(self, groups):
        g, r = groups.shape
        starts = self._indptr[groups.ravel()]
        lengths = self._indptr[groups.ravel() + 1] - starts
        per_group = lengths.reshape(g, r).sum(axis=1)
        if int(per_group.sum()) > MAX_ENTRIES:
            raise too_dense(self.n, "dependence entries")
        entries = self._indices[segment_positions(starts, lengths)]
        widths, which = np.unique(per_group, return_inverse=True)
        if widths.size > FEW_WIDTHS:
            return self._unions_by_sorting(entries, per_group)
        # Few line lengths (stencils, fixed fan-in, their boundaries): per length, the lines
        # are the rows of a matrix, sorted and deduplicated together.
        ids = np.empty(g, np.int64)
        start_of = np.cumsum(per_group) - per_group
        for k, width in enumerate(widths.tolist()):
            members = np.flatnonzero(which == k)
            at = start_of[members][:, None] + np.arange(width)
            lines = _sorted_lines(entries[at])
            keep = np.ones(lines.shape, bool)
            keep[:, 1:] = lines[:, 1:] != lines[:, :-1]
            ids[members] = self._append(keep.sum(axis=1), lines[keep])
        return ids

    def _unions_by_sorting(self, entries, per_group):
        n = max(self.n, 1)
        group = np.repeat(np.arange(per_group.size, dtype=np.int64), per_group)
        keys = np.sort(group * n + entries)
        keep = np.ones(keys.size, bool)
        keep[1:] = keys[1:] != keys[:-1]
        keys = keys[keep]
        return self._append(np.bincount(keys // n, minlength=per_group.size), keys % n)

    def union(self, parts):
        """Elementwise union of id arrays (broadcast together): an array of ids of their
        broadcast shape. Constants (id 0) and equal ids make no new rows."""
        parts = [np.asarray(p, np.int64) for p in parts]
        shape = np.broadcast_shapes(*(p.shape for p in parts))
        live = [p for p in parts if p.size and p.any()]
        if not live:
            return np.zeros(shape, np.int64)
        out = np.broadcast_to(live[0], shape).copy()
        for p in live[1:]:
            out = self._union_two(out, np.broadcast_to(p, shape))
        return out

    def _union_two(self, a, b):
        if np.array_equal(a, b):
            return a
        out = np.where(a == 0, b, a)
        mixed = np.flatnonzero((a != 0) & (b != 0) & (a != b))
        if mixed.size:
            pairs = np.stack([a.ravel()[mixed], b.ravel()[mixed]], axis=1)
            out.ravel()[mixed] = self._new_unions(pairs)
        return out

    def reduce(self, ids, axis, keepdims=False):
        """Union along axes (None: all): the ids of a reduction's result."""
        ids = np.asarray(ids, np.int64)
        axes = tuple(range(ids.ndim)) if axis is None else tuple(
            a % max(ids.ndim, 1) for a in (axis if isinstance(axis, tuple) else (axis,)))
        kept = [d for d in range(ids.ndim) if d not in axes]
        moved = np.transpose(ids, kept + list(axes))
        kept_shape = tuple(ids.shape[d] for d in kept)
        width = int(np.prod([ids.shape[d] for d in axes], dtype=np.int64))
        out = self.union_groups(moved.reshape(-1, width)).reshape(kept_shape)
        if keepdims:
            out = out.reshape(tuple(1 if d in axes else ids.shape[d] for d in range(ids.ndim)))
        return out

    def accumulate(self, ids, axis):
        """Running unions along an axis (cumsum, cumprod): element k of a line depends on
        elements 0..k of it."""
        ids = np.moveaxis(np.asarray(ids, np.int64), axis, -1)
        shape, length = ids.shape, ids.shape[-1]
        lines = ids.reshape(-1, length)
        if lines.size == 0 or not lines.any():
            return np.moveaxis(lines.reshape(shape).copy(), -1, axis)
        # Each (line, source) enters at the first position it appears, and stays to the end.
        indptr, sources = self.rows(lines)
        counts = np.diff(indptr)
        element = np.repeat(np.arange(lines.size, dtype=np.int64), counts)
        n, line_of, position = max(self.n, 1), element // length, element % length
        order = np.argsort(line_of * n + sources, kind="stable")
        key = (line_of * n + sources)[order]
        first = np.ones(key.size, bool)
        first[1:] = key[1:] != key[:-1]
        enter, line_of, sources = position[order][first], line_of[order][first], sources[order][first]
        stays = length - enter
        if int(stays.sum()) > MAX_ENTRIES:
            raise too_dense(self.n, "dependence entries")
        at = segment_positions(line_of * length + enter, stays)
        keys = np.sort(at * n + np.repeat(sources, stays))
        new = self._append(np.bincount(keys // n, minlength=lines.size), keys % n)
        return np.moveaxis(new.reshape(shape), -1, axis)


SHORT_LINE = 16     # lines this long are sorted by a network of vectorized min / max
FEW_WIDTHS = 8      # unions of lines of at most this many lengths are sorted per length


def _sorted_lines(lines):
    """Each line of a (g, L) array sorted. Short lines by an odd-even transposition network
    on whole columns (L passes of vectorized min / max), which beats sorting g tiny rows one
    by one."""
    width = lines.shape[1]
    if width > SHORT_LINE:
        return np.sort(lines, axis=1)
    columns = [np.ascontiguousarray(lines[:, k]) for k in range(width)]
    for step in range(width):
        for k in range(step % 2, width - 1, 2):
            low = np.minimum(columns[k], columns[k + 1])
            np.maximum(columns[k], columns[k + 1], out=columns[k + 1])
            columns[k] = low
    return np.stack(columns, axis=1)


def _grown(array, size):
    if size <= array.size:
        return array
    bigger = np.zeros(max(size, 2 * array.size), array.dtype)
    bigger[:array.size] = array
    return bigger


def block_products(a_ptr, a_idx, b_ptr, b_idx, n):
    """Every (i, j) with i in A_k and j in B_k, for each block k of two CSR lists of sets
    (of sources of x with n elements)."""
    sa, sb = np.diff(a_ptr), np.diff(b_ptr)
    counts = sa * sb
    if int(counts.sum()) > MAX_ENTRIES:
        raise too_dense(n, "Hessian entries")
    block = np.repeat(np.arange(sa.size), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    p, q = np.divmod(within, np.maximum(sb[block], 1))
    return a_idx[a_ptr[block] + p], b_idx[b_ptr[block] + q]
