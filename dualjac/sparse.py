"""Sparse Jacobians and Hessians: structure found from f, exploited by coloring.

1. Pattern: f runs once on a tracer (``dualjac/_pattern.py``) that carries, per element, the
   set of source elements it depends on: ``jacobian_sparsity`` / ``hessian_sparsity``.
2. Coloring: columns that share no row get one color (``dualjac/coloring.py``).
3. Compressed sweep: f runs once on ordinary dual arrays with one seed per color, so one
   evaluation gives J S (m x c numbers instead of m x n), decompressed into ``scipy.sparse``.

``SparseJacobian`` / ``SparseHessian`` do steps 1-2 once and step 3 per call (the idea of
DifferentiationInterface.jl's preparation). A call is never silently wrong: a new shape, or a
trace that looked at values (its pattern is then the one at that x), is traced again; and a
compressed result with a derivative where the pattern has none means f's structure changed,
so the pattern is found again.
"""

import numpy as np

from . import _core, _separable, api, coloring
from ._core import DualArray, HyperDualArray
from ._pattern import PatternArray, Recording, bit_rows, hessian_pairs, lift, no_deps, source

FORMATS = ("csr", "csc", "coo", "dense")


def _sparse():
    import scipy.sparse
    return scipy.sparse


def _check_format(format, who):
    if format not in FORMATS:
        raise ValueError(f"dualjac.{who}: format must be one of {FORMATS}, got {format!r}.")


def _source_array(x, who):
    if isinstance(x, (dict, list, tuple)):
        raise TypeError(f"dualjac.{who}: x must be one float array; for several arrays, "
                        "concatenate them into one vector (np.concatenate([a.ravel(), b.ravel()])) "
                        "and split it inside f.")
    return api._plain_source(x, f"dj.{who}")


def trace(f, x, args=(), second_order=False):
    """Run f once on a traced x: (recording, traced output)."""
    recording = Recording(x.size, second_order)
    y = f(source(x, recording), *args)
    if isinstance(y, (tuple, list, dict)):
        raise TypeError("dualjac: f must return one array (stack several outputs into one).")
    return recording, lift(y, recording)


def _pattern_matrix(rows, cols, shape):
    sparse = _sparse()
    data = np.ones(rows.size, dtype=bool)
    matrix = sparse.csr_array((data, (rows, cols)), shape=shape)
    matrix.sum_duplicates()
    return matrix


def jacobian_sparsity(f, x):
    """The structural sparsity pattern of d f(x) / d x: a ``scipy.sparse.csr_array`` of bools,
    shape (f(x).size, x.size) (both flattened in C order). Usable as SciPy's ``jac_sparsity``.
    Structural: ``x * 0.0`` depends on x; ``np.where(c, a, b)`` on a and b. When f's Python
    control flow depends on values, the pattern is the one at this x."""
    api.check_callable(f, "jacobian_sparsity")
    x = _source_array(x, "jacobian_sparsity")
    _, y = trace(f, x)
    return _pattern_matrix(*bit_rows(y.deps, x.size), (y.size, x.size))


def hessian_sparsity(f, x):
    """The structural sparsity pattern of the Hessian of a scalar f at x: a symmetric
    ``scipy.sparse.csr_array`` of bools, shape (x.size, x.size), the diagonal included."""
    api.check_callable(f, "hessian_sparsity")
    x = _source_array(x, "hessian_sparsity")
    recording, y = trace(f, x, second_order=True)
    _require_scalar(y.shape, "hessian_sparsity")
    return _pattern_matrix(*hessian_pairs(recording), (x.size, x.size))


def _require_scalar(shape, who):
    if shape != ():
        raise ValueError(f"dualjac.{who}: f must return a scalar, got shape {shape}; for the "
                         "Hessians of several outputs, call it once per output (or use dj.hessian).")


# ---------------------------------------------------------------- compressed sweeps

def compressed_sweep(f, x, seeds, args, who):
    """f once on duals seeded with the columns of ``seeds`` (x.size x c):
    (f's value, its derivative along the seeds, shape f(x).shape + (c,))."""
    c = seeds.shape[1]
    with _core.LiveTags("dj.jacobian") as tag:   # the maker named in messages about escaped jets
        buf = np.empty(x.shape + (1 + c,), x.dtype)
        buf[..., 0] = x
        buf[..., 1:] = seeds.reshape(x.shape + (c,))
        y = api.as_target(f(_core.make_dual(buf, tag, 1), *args), who)
        d, _ = api.derivative_at(y, tag)
        value = np.asarray(api.value_at(y, tag))
    if isinstance(value, DualArray) or d is not None and not isinstance(d, np.ndarray):
        raise NotImplementedError(f"dualjac.{who}: f mixed in derivatives of another transform.")
    if d is None:
        d = np.zeros(value.shape + (c,), x.dtype)
    return value, d


def _same_args(a, b):
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


class SparseJacobian:
    """d f(x, *args) / d x as a sparse matrix, prepared once for many calls.

    The pattern is found and colored at construction; each call is one evaluation of f on
    dual arrays with ``ncolors`` seeds, decompressed into ``format`` ("csr", "csc", "coo":
    scipy.sparse arrays of shape (f(x).size, x.size), the pattern's entries all stored, explicit
    zeros included, so every call has the same structure; or "dense": f(x).shape + x.shape).
    """

    def __init__(self, f, x, *, format="csr", args=()):
        api.check_callable(f, "SparseJacobian")
        _check_format(format, "SparseJacobian")
        self.f, self.format = f, format
        self._prepare(_source_array(x, "SparseJacobian"), tuple(args))

    def _prepare(self, x, args):
        recording, y = trace(self.f, x, args)
        rows, cols = bit_rows(y.deps, x.size)
        self.sparsity = _pattern_matrix(rows, cols, (y.size, x.size))
        self.colors = coloring.column_coloring(self.sparsity)
        self.ncolors = int(self.colors.max()) + 1 if self.colors.size else 0
        self.value_dependent = tuple(recording.value_dependent)
        self.in_shape, self.in_dtype, self.out_shape = x.shape, x.dtype, y.shape
        self.args = args
        self._seeds = {}
        self._allowed = np.zeros((y.size, max(self.ncolors, 1)), bool)
        self._allowed[rows, self.colors[cols]] = True
        self._layout = _Layout(self.sparsity, self.colors, self.format)

    def _seeds_for(self, dtype):
        if dtype not in self._seeds:
            self._seeds[dtype] = coloring.seed_matrix(self.colors, dtype)
        return self._seeds[dtype]

    def __call__(self, x, *args):
        return self.value_and_jacobian(x, *args)[1]

    def value_and_jacobian(self, x, *args):
        x = _source_array(x, "SparseJacobian")
        if (x.shape != self.in_shape or x.dtype != self.in_dtype or self.value_dependent
                or not _same_args(args, self.args)):
            self._prepare_if_changed(x, args)
        for attempt in range(2):
            value, d = compressed_sweep(self.f, x, self._seeds_for(x.dtype), args, "SparseJacobian")
            compressed = d.reshape(value.size, -1)
            if value.shape == self.out_shape and not self._outside_pattern(compressed):
                return value, self._decompress(compressed, value.shape, x)
            self._prepare(x, args)      # f's structure changed: find the pattern again
        raise RuntimeError("dualjac.SparseJacobian: f's derivatives do not match the pattern "
                           "found by tracing it at the same x; f may depend on state that "
                           "changes between calls. Use dj.jacobian for such an f.")

    def _prepare_if_changed(self, x, args):
        old = (self.sparsity, self.out_shape)
        self._prepare(x, args)
        if old[1] == self.out_shape and _same_structure(old[0], self.sparsity):
            return

    def _outside_pattern(self, compressed):
        return bool(np.any(compressed[~self._allowed[:, :compressed.shape[1]]] != 0))

    def _decompress(self, compressed, out_shape, x):
        J = self._layout.matrix(compressed)
        return J.reshape(out_shape + x.shape) if self.format == "dense" else J


class _Layout:
    """Where each stored entry of the result comes from in the compressed m x c block:
    decompression is then one gather (J[i, j] = B[i, colors[j]]), computed once per pattern."""

    def __init__(self, pattern, colors, format):
        self.format, self.shape = format, pattern.shape
        ordered = pattern.tocsc() if format == "csc" else pattern.tocsr()
        ordered.sort_indices()
        ncolors = int(colors.max()) + 1 if colors.size else 1
        if format == "csc":
            rows = ordered.indices
            cols = np.repeat(np.arange(self.shape[1]), np.diff(ordered.indptr))
        else:
            rows = np.repeat(np.arange(self.shape[0]), np.diff(ordered.indptr))
            cols = ordered.indices
        self.rows, self.cols = rows, cols
        self.indices, self.indptr = ordered.indices.copy(), ordered.indptr.copy()
        self.gather = rows * ncolors + colors[cols]

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

    def matrix(self, compressed):
        return self.matrix_from_data(compressed.ravel()[self.gather])

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


def _same_structure(a, b):
    return (a.shape == b.shape and a.nnz == b.nnz and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices))


def sparse_jacobian(f, x, format="csr"):
    """d f(x) / d x with its sparsity found and exploited: one trace, a coloring and one
    evaluation of f on duals with one seed per color. ``format``: "csr" / "csc" / "coo"
    (scipy.sparse arrays, shape (f(x).size, x.size)) or "dense" (f(x).shape + x.shape).
    For many calls with one f, prepare a ``SparseJacobian`` once."""
    _check_format(format, "sparse_jacobian")
    return SparseJacobian(f, x, format=format)(x)


# ---------------------------------------------------------------- Hessians

def trace_separable(f, x, args):
    """Trace f for its Hessian pattern, and for the sums of local terms it ends in:
    (recording, list of (coefficient, term pattern array), constant) or terms None when f's
    result is not such a sum."""
    recording = Recording(x.size, second_order=True)
    traced = source(x, recording)
    try:
        with _separable.intercepting(lambda a: isinstance(a, PatternArray)
                                     and a.recording is recording):
            y = f(traced, *args)
    except _separable.NotSeparable:
        recording = Recording(x.size, second_order=True)
        y = f(source(x, recording), *args)
    if isinstance(y, _separable.PartialSum):
        return recording, [(c, lift(a, recording)) for c, a in y.terms], y.constant
    y = lift(y, recording)
    _require_scalar(y.shape, "SparseHessian")
    return recording, None, None


class SparseHessian:
    """The Hessian of a scalar f(x, *args) as a sparse matrix, prepared once for many calls.

    When f ends in a sum of local terms (``c * np.sum(u) + ...``, also ``mean``, ``dot`` and
    ``@`` of vectors), each call is one evaluation of f on hyper-dual arrays with ``ncolors``
    seeds per level, whose per-element second derivatives are added up into the pattern: O(n)
    for n sources when each term depends on a few of them. Otherwise the Hessian comes from
    ``dj.hessian`` (dense or banded jets) and is stored in the pattern. ``format``: "csr",
    "csc", "coo" (symmetric scipy.sparse arrays, both triangles stored) or "dense".
    """

    def __init__(self, f, x, *, format="csr", args=()):
        api.check_callable(f, "SparseHessian")
        _check_format(format, "SparseHessian")
        self.f, self.format = f, format
        self._prepare(_source_array(x, "SparseHessian"), tuple(args))

    def _prepare(self, x, args):
        recording, terms, _ = trace_separable(self.f, x, args)
        self.sparsity = _pattern_matrix(*hessian_pairs(recording), (x.size, x.size))
        self.value_dependent = tuple(recording.value_dependent)
        self.in_shape, self.in_dtype, self.args = x.shape, x.dtype, args
        self._layout = _Layout(self.sparsity, np.zeros(x.size, np.int64), self.format)
        self.plan = None if terms is None else _TermsPlan(terms, self.sparsity, self._layout)
        self.ncolors = self.plan.ncolors if self.plan else x.size

    def __call__(self, x, *args):
        return self.value_gradient_hessian(x, *args)[2]

    def value_gradient_hessian(self, x, *args):
        """(f(x), its gradient shaped like x, its Hessian) from one sweep."""
        x = _source_array(x, "SparseHessian")
        if (x.shape != self.in_shape or x.dtype != self.in_dtype or self.value_dependent
                or not _same_args(args, self.args)):
            self._prepare(x, args)
        for attempt in range(2):
            if self.plan is None:
                return self._through_dense(x, args)
            parts = self._separable_sweep(x, args)
            if parts is not None:
                return parts
            self._prepare(x, args)
        raise RuntimeError("dualjac.SparseHessian: f's terms do not match the ones found by "
                           "tracing it at the same x; f may depend on state that changes "
                           "between calls. Use dj.hessian for such an f.")

    def _separable_sweep(self, x, args):
        seeds = coloring.seed_matrix(self.plan.colors, x.dtype)
        c = seeds.shape[1]
        with _core.LiveTags("dj.hessian", 2) as (tag1, tag2):
            seeded = api._seed_hyper(x, seeds, seeds, tag1, tag2)
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
            d1 = np.concatenate([a.buf[..., 1:1 + c].reshape(-1, c) * k for k, a in y.terms])
            d12 = np.concatenate([np.asarray(a.d12).reshape(-1, c, c) * k for k, a in y.terms])
        assembled = self.plan.assemble(d1, d12, x)
        if assembled is None:
            return None
        gradient, data = assembled
        return (np.asarray(value, x.dtype)[()], gradient.reshape(x.shape),
                self._matrix(data, x))

    def _matrix(self, data, x):
        H = self._layout.matrix_from_data(data)
        return H.reshape(x.shape + x.shape) if self.format == "dense" else H

    def _through_dense(self, x, args):
        f = (lambda z: self.f(z, *args)) if args else self.f
        value, gradient, H = api.value_gradient_hessian(f, x)
        data = H.reshape(x.size, x.size)[self._layout.rows, self._layout.cols]
        return value, gradient, self._matrix(data, x)


class _TermsPlan:
    """Where each term element's compressed derivatives go: with the terms' columns colored,
    an element's seed of color a stands for the one source of that color it depends on."""

    def __init__(self, terms, sparsity, layout):
        n = sparsity.shape[0]
        self.shapes = [a.shape for _, a in terms]
        deps = np.concatenate([a.deps.ravel() for _, a in terms]) if terms else no_deps(0)
        rows, cols = bit_rows(deps, n)
        pattern = _pattern_matrix(rows, cols, (deps.size, n))
        self.colors = coloring.column_coloring(pattern)
        self.ncolors = c = int(self.colors.max()) + 1 if self.colors.size else 1
        source_of = np.full((deps.size, c), -1, np.int64)
        source_of[rows, self.colors[cols]] = cols
        self.n = n
        has = source_of >= 0
        self.gradient_from, self.gradient_to = np.flatnonzero(has), source_of[has]
        pair = has[:, :, None] & has[:, None, :]
        i = np.broadcast_to(source_of[:, :, None], pair.shape)[pair]
        j = np.broadcast_to(source_of[:, None, :], pair.shape)[pair]
        position = layout.position(i, j)
        inside = position >= 0
        flat = np.flatnonzero(pair)
        self.hessian_from, self.hessian_to = flat[inside], position[inside]
        self.outside = flat[~inside]       # pairs f's elements cannot make: exact zeros
        self.nnz = layout.nnz

    def assemble(self, d1, d12, x):
        d12 = d12.ravel()
        if self.outside.size and np.any(d12[self.outside] != 0):
            return None
        gradient = np.bincount(self.gradient_to, weights=d1.ravel()[self.gradient_from],
                               minlength=self.n).astype(x.dtype, copy=False)
        data = np.bincount(self.hessian_to, weights=d12[self.hessian_from],
                           minlength=self.nnz).astype(x.dtype, copy=False)
        return gradient, data


def sparse_hessian(f, x, format="csr"):
    """The Hessian of a scalar f at x with its sparsity found and exploited (see
    ``SparseHessian``). ``format``: "csr" / "csc" / "coo" (scipy.sparse arrays, shape
    (x.size, x.size)) or "dense" (x.shape + x.shape)."""
    _check_format(format, "sparse_hessian")
    return SparseHessian(f, x, format=format)(x)
