"""Sparsity patterns found by running f once on a tracer.

A ``PatternArray`` holds the values of an array (so that f's own NumPy code, its shapes and
its branches run as usual) and, per element, the set of source elements it depends on: the
id of a row of the trace's row store (``dualjac/_rowstore.py``), in an int64 array of the
value's shape (0: the empty set of constants). NumPy applies to that id array exactly what it
applies to the values: structural functions (reshape, slicing, concatenate, pad, roll, ...)
move the ids, and views stay views, so writes into views of an output array reach the array,
as for dual arrays. Elementwise functions take the union of their operands' rows, reductions
the union along their axes; both append the new rows to the store, vectorized, so a trace
costs O(entries of the pattern). The idea is SparseConnectivityTracer.jl's.

The pattern is structural, the *global* one: ``x * 0.0`` depends on x, ``np.where(c, a, b)``
on both a and b, ``max`` on every element it chooses from. It holds for every x as long as
f's Python control flow takes the same path; a trace records when f looked at values in a way
that can change the path (comparisons, ``bool()``, ``argmax``, ...), and prepared transforms
then trace again at every new x (see ``Recording.value_dependent``).

Second order (Hessian patterns, scalar f): a nonlinear operation records which pairs of
sources interact in it (``Recording.clique``: all pairs of one row; ``Recording.cross``: pairs
across two rows, both kept as row ids), from the rules table's second partials that are not identically ``"0"``. Their union
is the Hessian's pattern; an interaction in a value f computes but never uses adds entries that
come out as exact zeros.

Every NumPy function with a derivative rule for dual arrays has a pattern rule: the exact ones
below, and for the rest the conservative one (every output element depends on every input
element, all pairs interact), which is never wrong, only less sparse.
"""

import numpy as np

from . import _core
from .dispatch.jets import is_jet
from ._rowstore import PatternTooDense, RowStore, block_products  # noqa: F401 (PatternTooDense: public)


class Recording:
    """One run of f on pattern arrays: its row store, and what it learned besides its
    output's pattern."""

    def __init__(self, n, second_order=False):
        self.n = n
        self.store = RowStore(n)
        self.second_order = second_order
        self._cliques = []         # arrays of row ids S: S x S is in the Hessian pattern
        self._crosses = []         # pairs of arrays of row ids (A, B): A x B and B x A are
        self.value_dependent = []  # why the pattern may differ at another x

    def looked_at_values(self, why):
        if why not in self.value_dependent:
            self.value_dependent.append(why)

    def clique(self, deps):
        """All pairs of sources within each row interact. Single sources only give the
        diagonal, which the Hessian pattern always holds."""
        if self.second_order:
            ids = np.unique(deps)
            self._cliques.append(ids[ids > self.n])

    def cross(self, a, b):
        if self.second_order:
            a, b = (np.ravel(d) for d in np.broadcast_arrays(a, b))
            both = (a != 0) & (b != 0)
            self._crosses.append(np.stack([a[both], b[both]]))

    def union(self, parts):
        return self.store.union(parts)

    def reduce(self, deps, axis, keepdims=False):
        return self.store.reduce(deps, axis, keepdims)


def no_deps(shape):
    return np.zeros(shape, dtype=np.int64)


class PatternArray(_core._JetProtocol):
    """An array of values and, per element, the id of the row of sources it depends on.

    It speaks the jet protocol (``src_c/_protocol.pxi``): guards, comparisons, operators and
    NumPy-style methods are the jets' own; what it supplies is how it computes (through
    NumPy's functions, which ``__array_ufunc__`` / ``__array_function__`` turn into pattern
    rules) and that looking at its values marks the trace as value-dependent."""

    __array_priority__ = 100

    def __init__(self, value, deps, recording):
        self.value = value
        self.deps = deps
        self.recording = recording

    # -- array attributes
    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)
    dtype = property(lambda self: self.value.dtype)
    # the order of derivatives it stands for (a rule's number of fixed-point steps)
    degree = property(lambda self: 2 if self.recording.second_order else 1)

    def __repr__(self):
        return f"PatternArray({self.value!r})"

    # -- what the jet protocol asks of a kind
    def _binary(self, op, a, b):
        return _core.BINARY_OPERATORS[op](a, b)

    def _unary(self, op):
        return _core.UNARY_OPERATORS[op](self)

    def _values(self, use):
        self.recording.looked_at_values(f"{use} of values")
        return self.value

    def _dense(self):
        raise TypeError("dualjac: a traced array cannot be pickled: it lives only while f is "
                        "traced.")

    def _update(self, op, other, spelling):
        return self._in_place(_core.BINARY_OPERATORS[op](self, other))

    def _loss(self, what):
        return TypeError(f"dualjac: {what} of a traced array would drop its dependence on x; "
                         "keep the computation in NumPy arrays.")

    def _in_place(self, result):
        result = lift(result, self.recording)
        if result.shape != self.shape:
            raise ValueError(f"dualjac: an in-place update of an array of shape {self.shape} "
                             f"with a result of shape {result.shape} (NumPy raises here too).")
        self.value[...] = result.value
        self.deps[...] = result.deps
        return self

    # -- indexing: views of both parts stay views (NumPy's semantics); an element is a
    # copy, as NumPy's scalar is (0-d arrays of its own, so that `out[0] += v` updates it
    # before the store back)
    def __getitem__(self, key):
        value, deps = self.value[key], self.deps[key]
        if not isinstance(value, np.ndarray):
            value, deps = np.array(value), np.array(deps)
        return PatternArray(value, deps, self.recording)

    def __setitem__(self, key, item):
        item = lift(item, self.recording)
        self.value[key] = item.value
        self.deps[key] = item.deps

    def __array__(self, dtype=None, copy=None):
        opaque = _core.opaque_for_sparse_matmul(self)     # L @ x with L scipy.sparse
        if opaque is not None:
            return opaque
        raise TypeError("dualjac: np.asarray / np.array on a traced array (or storing it into "
                        "a plain ndarray) would drop its dependence on x. Create arrays that "
                        "hold results with np.zeros_like(x) or np.zeros(shape, like=x).")

    # -- NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from ._pattern_rules import apply_ufunc
        return apply_ufunc(self.recording, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from ._pattern_rules import apply_function
        return apply_function(self.recording, func, args, kwargs)

    # -- methods of its own kind
    def with_values(self, values):
        """Other values under the same dependence (a rule that puts SciPy's values under
        its derivatives: dualjac/dispatch/jets.py's with_values)."""
        values = np.array(np.broadcast_to(values, self.shape), dtype=self.dtype)
        return PatternArray(values, self.deps, self.recording)

    def copy(self, order="C"):
        return PatternArray(self.value.copy(), self.deps.copy(), self.recording)

    def sort(self, axis=-1, kind=None, order=None):
        self[...] = np.sort(self, axis=axis)


def lift(x, trace):
    """x as a pattern array: constants depend on nothing."""
    if isinstance(x, PatternArray):
        return x
    if is_jet(x):
        raise TypeError("dualjac: a dual array of another transform met the sparsity tracer; "
                        "sparsity detection cannot run inside (or around) other transforms.")
    value = np.asarray(x)
    if value.dtype == object:
        raise TypeError("dualjac: f built an object array (holding traced arrays?); build "
                        "results with np.stack or np.zeros(n, like=x) and item assignment.")
    return PatternArray(value, no_deps(value.shape), trace)


def value_of(x):
    return x.value if isinstance(x, PatternArray) else x


def deps_of(x):
    return x.deps if isinstance(x, PatternArray) else no_deps(np.shape(x))


def source(x, recording):
    """x as a traced source: element j (C order) depends on itself, source j."""
    deps = recording.store.source_ids().reshape(x.shape)
    return PatternArray(np.array(x, copy=True), deps, recording)


# ---------------------------------------------------------------- reading patterns

def rows_of(deps, recording):
    """(row, column) indices of a pattern: element k of ``deps`` (flattened) depends on
    source j. In row order, columns sorted within a row."""
    indptr, cols = recording.store.rows(np.ravel(deps))
    return np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr)), cols


def _unique_ids(parts, width):
    if not parts:
        return np.zeros((width, 0) if width > 1 else 0, np.int64)
    ids = np.concatenate(parts, axis=-1)
    return np.unique(ids, axis=-1 if width > 1 else None)


def hessian_pairs(recording):
    """(rows, cols) of the Hessian pattern a second-order recording holds (both triangles,
    with the diagonal)."""
    n, store = recording.n, recording.store
    cliques = _unique_ids(recording._cliques, 1)
    ptr, idx = store.rows(cliques)
    ci, cj = block_products(ptr, idx, ptr, idx, n)
    a, b = _unique_ids(recording._crosses, 2)
    a_ptr, a_idx = store.rows(a)
    b_ptr, b_idx = store.rows(b)
    xi, xj = block_products(a_ptr, a_idx, b_ptr, b_idx, n)
    diagonal = np.arange(n)
    return (np.concatenate([diagonal, ci, xi, xj]), np.concatenate([diagonal, cj, xj, xi]))
