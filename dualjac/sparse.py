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

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import _core, _sweep, coloring
from ._core import DualArray
from ._layout import (FORMATS, Layout, SeededBuffers, check_format,  # noqa: F401
                      pattern_matrix, probe_direction, same_args, same_structure, source_array)
from ._tracing import JacobianPattern, Terms  # noqa: F401 (JacobianPattern: _structured)
from ._rowstore import PatternTooDense  # noqa: F401 (public: dj.PatternTooDense)
from ._types import Array, ArrayFunction, Format, Sparse

def jacobian_sparsity(f: ArrayFunction, x: ArrayLike) -> Sparse:
    """The structural sparsity pattern of d f(x) / d x: a ``scipy.sparse.csr_array`` of bools,
    shape (f(x).size, x.size) (both flattened in C order). Usable as SciPy's ``jac_sparsity``.
    Structural: ``x * 0.0`` depends on x; ``np.where(c, a, b)`` on a and b. When f's Python
    control flow depends on values, the pattern is the one at this x."""
    _sweep.check_callable(f, "jacobian_sparsity")
    x = source_array(x, "jacobian_sparsity")
    pattern = JacobianPattern(f, x)
    return pattern_matrix(pattern.rows, pattern.cols, pattern.shape)


def hessian_sparsity(f: ArrayFunction, x: ArrayLike) -> Sparse:
    """The structural sparsity pattern of the Hessian of a scalar f at x: a symmetric
    ``scipy.sparse.csr_array`` of bools, shape (x.size, x.size), the diagonal included."""
    _sweep.check_callable(f, "hessian_sparsity")
    x = source_array(x, "hessian_sparsity")
    terms = Terms(f, x)
    return pattern_matrix(terms.hessian_rows, terms.hessian_cols, (x.size, x.size))


# ---------------------------------------------------------------- compressed sweeps

def compressed_sweep(f, x, buffers, args, who):
    """f once on duals seeded from ``buffers`` (SeededBuffers: x.size x c seeds): (f's value,
    the output's buffer as an m x (1 + c) block: the value, then the derivative along each
    seed). Large sweeps run with the block cache (see _sweep.with_block_cache): their temporaries
    would otherwise be mapped and page-faulted anew at every operation."""
    nbytes = x.size * buffers.lanes * x.dtype.itemsize
    return _sweep.with_block_cache(nbytes, _compressed_sweep, f, x, buffers, args, who)


def _compressed_sweep(f, x, buffers, args, who):
    c = buffers.lanes - 1
    buf = buffers.take(x)
    with _core.LiveTags("dj.jacobian") as tag:   # the maker named in messages about escaped jets
        y = _sweep.as_target(f(_core.make_dual(buf, tag, 1), *args), who)
        d, _ = _sweep.derivative_at(y, tag)
        value = np.asarray(_sweep.value_at(y, tag))
    if isinstance(value, DualArray) or d is not None and not isinstance(d, np.ndarray):
        raise NotImplementedError(f"dualjac.{who}: f mixed in derivatives of another transform.")
    if d is None:
        block = np.zeros((value.size, 1 + c), x.dtype)
        block[:, 0] = value.ravel()
    else:
        block = np.ascontiguousarray(y.buf).reshape(value.size, 1 + c)
    buffers.give_back(buf, value, block)
    return value, block


class SparseJacobian:
    """d f(x, *args) / d x as a sparse matrix, prepared once for many calls.

    The pattern is found and colored at construction; each call is one evaluation of f on
    dual arrays with ``ncolors`` seeds, decompressed into ``format`` ("csr", "csc", "coo":
    scipy.sparse arrays of shape (f(x).size, x.size), the pattern's entries all stored, explicit
    zeros included, so every call has the same structure; or "dense": f(x).shape + x.shape).
    """

    def __init__(self, f: Callable[..., Any], x: ArrayLike, *, format: Format = "csr",
                 args: Sequence[Any] = (), _pattern: JacobianPattern | None = None) -> None:
        _sweep.check_callable(f, "SparseJacobian")
        check_format(format, "SparseJacobian")
        self.f, self.format = f, format
        self._prepare(source_array(x, "SparseJacobian"), tuple(args), _pattern)

    def _prepare(self, x, args, pattern=None):
        pattern = pattern or JacobianPattern(self.f, x, args)
        rows, cols = pattern.rows, pattern.cols
        self.sparsity = pattern_matrix(rows, cols, pattern.shape)
        self.colors = coloring.column_coloring(self.sparsity)
        self.ncolors = int(self.colors.max()) + 1 if self.colors.size else 0
        self.value_dependent = pattern.value_dependent
        self.in_shape, self.in_dtype, self.out_shape = x.shape, x.dtype, pattern.out_shape
        self.args = args
        self._seeds = {}
        # The (row, color) slots of the compressed block no entry of the pattern uses, as
        # flat indices into the block.
        # (The block is f's output buffer: the value, a column per color, the probe.)
        allowed = np.zeros((pattern.shape[0], self.ncolors + 2), bool)
        allowed[rows, 1 + self.colors[cols]] = True
        allowed[:, [0, -1]] = True
        self._outside = np.flatnonzero(~allowed)
        self._layout = Layout(self.sparsity, self.colors, self.format, self.ncolors + 2, 1)
        self._probe = probe_direction(x.size)
        self._probe_weights = self._probe[self._layout.cols]

    def _seeds_for(self, dtype):
        """One seed per color, then the probe direction (see ``_probe_agrees``)."""
        if dtype not in self._seeds:
            colors = coloring.seed_matrix(self.colors, dtype)
            seeds = np.column_stack([colors, self._probe.astype(dtype)])
            self._seeds[dtype] = SeededBuffers(self.in_shape, seeds)
        return self._seeds[dtype]

    def __call__(self, x: ArrayLike, *args: Any) -> Sparse:
        return self.value_and_jacobian(x, *args)[1]

    def value_and_jacobian(self, x: ArrayLike, *args: Any) -> tuple[Array, Sparse]:
        x = source_array(x, "SparseJacobian")
        if (x.shape != self.in_shape or x.dtype != self.in_dtype or self.value_dependent
                or not same_args(args, self.args)):
            self._prepare_if_changed(x, args)
        for attempt in range(2):
            value, block = compressed_sweep(self.f, x, self._seeds_for(x.dtype), args,
                                            "SparseJacobian")
            if value.shape == self.out_shape and not self._outside_pattern(block):
                data = self._layout.data(block)
                # A disagreeing probe is a changed structure, or rounding: a new trace tells.
                if self._probe_agrees(data, block[:, -1]) or not self._prepare_if_changed(
                        x, args):
                    return value, self._decompress(data, value.shape, x)
            else:
                self._prepare(x, args)      # f's structure changed: find the pattern again
        raise RuntimeError("dualjac.SparseJacobian: f's derivatives do not match the pattern "
                           "found by tracing it at the same x; f may depend on state that "
                           "changes between calls. Use dj.jacobian for such an f.")

    def _prepare_if_changed(self, x, args):
        """Trace f again; whether its pattern (or output shape) differs from the old one."""
        old = (self.sparsity, self.out_shape)
        self._prepare(x, args)
        return not (old[1] == self.out_shape and same_structure(old[0], self.sparsity))

    def _outside_pattern(self, compressed):
        return bool(np.any(np.take(compressed.ravel(), self._outside) != 0))

    def _probe_agrees(self, data, probe):
        """Whether J v, from the decompressed entries, is the derivative along v that f
        computed. Columns of one color share a seed, so a dependence f gained through state
        the trace cannot see (a closure, a global) may land on an allowed (row, color) and
        be decompressed into the wrong column; along a direction with distinct weights it
        cannot go unnoticed."""
        terms = data * self._probe_weights
        rows, m = self._layout.rows, probe.size
        got = np.bincount(rows, weights=terms, minlength=m)
        scale = np.bincount(rows, weights=np.abs(terms), minlength=m) + np.abs(probe)
        tolerance = 64 * np.finfo(probe.dtype).eps * scale
        return not np.any(np.abs(got - probe) > tolerance)    # NaN, inf: not a disagreement

    def _decompress(self, data, out_shape, x):
        J = self._layout.matrix_from_data(data)
        return J.reshape(out_shape + x.shape) if self.format == "dense" else J


def sparse_jacobian(f: ArrayFunction, x: ArrayLike, format: Format = "csr") -> Sparse:
    """d f(x) / d x with its sparsity found and exploited: one trace, a coloring and one
    evaluation of f on duals with one seed per color. ``format``: "csr" / "csc" / "coo"
    (scipy.sparse arrays, shape (f(x).size, x.size)) or "dense" (f(x).shape + x.shape).
    For many calls with one f, prepare a ``SparseJacobian`` once."""
    check_format(format, "sparse_jacobian")
    return SparseJacobian(f, x, format=format)(x)


from ._sparse_hessian import SparseGradient, SparseHessian  # noqa: E402,F401 (public here)


def sparse_hessian(f: ArrayFunction, x: ArrayLike, format: Format = "csr") -> Sparse:
    """The Hessian of a scalar f at x with its sparsity found and exploited (see
    ``SparseHessian``). ``format``: "csr" / "csc" / "coo" (scipy.sparse arrays, shape
    (x.size, x.size)) or "dense" (x.shape + x.shape)."""
    check_format(format, "sparse_hessian")
    return SparseHessian(f, x, format=format)(x)
