"""Sparse results: where each stored entry comes from, and checks shared by the prepared
transforms (``dualjac/sparse.py``, ``dualjac/_sparse_hessian.py``)."""

import numpy as np

from . import _sweep


FORMATS = ("csr", "csc", "coo", "dense")


def check_format(format, who):
    if format not in FORMATS:
        raise ValueError(f"dualjac.{who}: format must be one of {FORMATS}, got {format!r}.")


def source_array(x, who):
    if isinstance(x, (dict, list, tuple)):
        raise TypeError(f"dualjac.{who}: x must be one float array; for several arrays, "
                        "concatenate them into one vector (np.concatenate([a.ravel(), b.ravel()])) "
                        "and split it inside f.")
    return _sweep._plain_source(x, f"dj.{who}")


def same_args(a, b):
    if len(a) != len(b):
        return False
    for u, v in zip(a, b):
        if u is v:
            continue
        if isinstance(u, np.ndarray) or isinstance(v, np.ndarray):
            if not (np.shape(u) == np.shape(v) and np.array_equal(u, v)):
                return False
        elif type(u) is not type(v) or u != v:
            return False
    return True


class SeededBuffers:
    """The dual buffers of a prepared sweep: lane 0 the source, then the seeds. Made once from
    a template and reused: a fresh buffer of this size is mapped and page-faulted anew at every
    call, and writing seeds into a 1 + c lane layout is a strided copy; copying the template
    is one contiguous pass. Every call copies the whole template, so an f that scales its
    input in place cannot change the next call's seeds. Taking and giving back are single
    list operations, so concurrent calls of one prepared object each get their own buffer."""

    def __init__(self, shape, seeds):
        c = seeds.shape[1]
        self._template = np.zeros(tuple(shape) + (1 + c,), seeds.dtype)
        self._template[..., 1:] = seeds.reshape(tuple(shape) + (c,))
        self._free = []
        self.lanes = 1 + c

    def take(self, x):
        try:
            buf = self._free.pop()
        except IndexError:
            buf = np.empty_like(self._template)
        np.copyto(buf, self._template)
        buf[..., 0] = x
        return buf

    def give_back(self, buf, *results):
        """Keep buf for the next call unless one of the results still uses its memory."""
        if not self._free and not any(isinstance(r, np.ndarray) and np.may_share_memory(buf, r)
                                      for r in results):
            self._free.append(buf)


def _sparse():
    import scipy.sparse
    return scipy.sparse


def pattern_matrix(rows, cols, shape):
    sparse = _sparse()
    data = np.ones(rows.size, dtype=bool)
    matrix = sparse.csr_array((data, (rows, cols)), shape=shape)
    matrix.sum_duplicates()
    return matrix


def probe_direction(n):
    """Fixed pseudo-random weights in [1, 2): no two columns alike, none near zero."""
    return np.random.default_rng(n).uniform(1.0, 2.0, n)


class Layout:
    """Where each stored entry of the result comes from in the compressed m x c block:
    decompression is then one gather (J[i, j] = B[i, colors[j]]), computed once per pattern."""

    def __init__(self, pattern, colors, format, stride=None, offset=0):
        self.format, self.shape = format, pattern.shape
        ordered = pattern.tocsc() if format == "csc" else pattern.tocsr()
        ordered.sort_indices()
        # stride: the compressed block's row length; offset: its first color's column
        ncolors = stride or (int(colors.max()) + 1 if colors.size else 1)
        if format == "csc":
            rows = ordered.indices
            cols = np.repeat(np.arange(self.shape[1]), np.diff(ordered.indptr))
        else:
            rows = np.repeat(np.arange(self.shape[0]), np.diff(ordered.indptr))
            cols = ordered.indices
        self.rows, self.cols = rows, cols
        self.indices, self.indptr = ordered.indices.copy(), ordered.indptr.copy()
        self.gather = rows * ncolors + offset + colors[cols]

    @property
    def nnz(self):
        return self.rows.size

    def position(self, i, j):
        """Where entry (i, j) is stored (-1: not in the pattern)."""
        keys = self.rows * self.shape[1] + self.cols          # sorted: the format's order
        order = np.argsort(keys, kind="stable")
        wanted = i * self.shape[1] + j
        at = np.minimum(np.searchsorted(keys[order], wanted), keys.size - 1)
        found = keys.size > 0
        return np.where(found & (keys[order][at] == wanted), order[at], -1) if found else (
            np.full(np.shape(i), -1, np.int64))

    def data(self, compressed):
        return np.take(compressed.ravel(), self.gather)

    def matrix_from_data(self, data):
        sparse = _sparse()
        if self.format == "csr":
            return sparse.csr_array((data, self.indices, self.indptr), shape=self.shape)
        if self.format == "csc":
            return sparse.csc_array((data, self.indices, self.indptr), shape=self.shape)
        if self.format == "coo":
            return sparse.coo_array((data, (self.rows, self.cols)), shape=self.shape)
        dense = np.zeros(self.shape, data.dtype)
        dense[self.rows, self.cols] = data
        return dense


def same_structure(a, b):
    return (a.shape == b.shape and a.nnz == b.nnz and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices))
