"""The batch transforms: per-row Jacobians and Hessians of a function whose rows are
independent (TF's ``batch_jacobian``), with prod(row shape) seeds shared by all rows.

Also here: running a transform on blocks of rows (``rows_per_chunk`` / ``workers``,
on a shared thread pool), the deferred sweep of large sources (``src_c/_deferred.pxi``),
and ``check_independence``.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numpy.typing import ArrayLike
from typing import Any, overload

from . import _core, _dask, _policy
from ._core import DualArray, HyperDualArray, _Jet
from ._sweep import (Leaves, Source, SeedPieces, Unconnected, _count, _dtype_of, _hessian_bytes,
                     _plain_source, differentiable_source, _sweep_bytes, _zero_mode, as_target,
                     check_batch, check_callable, check_rows, chunks, derivative_at, flatten,
                     hessian_parts, in_dtype, is_structure, native, seed, seed_slice, shaped,
                     with_block_cache)
from ._types import Array, ArrayFunction, Function, Leaf, Nest


@overload
def batch_jacobian(f: ArrayFunction, x: Leaf, *, unconnected_gradients: Unconnected = "none",
                   parallel_iterations: int | None = None, check_independence: bool | int = False,
                   rows_per_chunk: int | None = None, workers: int | None = None) -> Array: ...
@overload
def batch_jacobian(f: Function, x: Nest, *, unconnected_gradients: Unconnected = "none",
                   parallel_iterations: int | None = None, check_independence: bool | int = False,
                   rows_per_chunk: int | None = None, workers: int | None = None) -> Any: ...
def batch_jacobian(f: Function, x: Any, *, unconnected_gradients: Unconnected = "none",
                   parallel_iterations: int | None = None, check_independence: bool | int = False,
                   rows_per_chunk: int | None = None, workers: int | None = None) -> Any:
    """TF's tape.batch_jacobian: x [b, X...], f(x) [b, Y...] -> [b, Y..., X...],
    out[i, y..., x...] = d f(x)[i, y...] / d x[i, x...].

    x may also be a list / tuple / dict nesting of arrays that share the batch axis
    (TF takes one source only): the result has x's structure, [b, Y..., X_leaf...] per
    leaf, from one sweep with the row seeds of all leaves; a leaf f does not depend on
    is None, or zeros with unconnected_gradients="zero" (as dj.jacobian of a structure).

    One sweep with prod(X) seeds shared by all rows (cost linear in b). Rows
    must be independent (f(x)[i] depends on x[i] only): with dependent rows the
    result is silently meaningless (in TF too). check_independence=True (or a
    number of rows) also computes the full Jacobian with respect to the first
    few rows and raises ValueError if any other row depends on them.
    Unconnected gives zeros whatever unconnected_gradients says, as in TF.

    rows_per_chunk=c evaluates f on c rows at a time, and workers=k on k threads
    at once (large kernels release the GIL): f must accept any number of rows.
    Workers pay off on large batches (docs/performance.md has measurements).

    A Dask array x gives a lazy Dask array, computed block of rows by block of rows
    (docs/dask.md).

    Sources of >= dj.set_deferred_threshold() elements reach f as a DeferredJet:
    its elementwise work runs later, in chunks (docs/structure.md, "Deferred jets"). Writes
    into f's own new arrays are recorded too; f is evaluated a second time, on ordinary
    jets, after a write that cannot be (into the source, or into an array a result held
    outside f's variables still reads).
    """
    zero = _zero_mode(unconnected_gradients)  # (and a check of its spelling)
    if _dask.is_dask_array(x):
        return _dask.batch_transform(batch_jacobian, f, x, dict(
            unconnected_gradients=unconnected_gradients, parallel_iterations=parallel_iterations,
            check_independence=check_independence, rows_per_chunk=rows_per_chunk, workers=workers))
    parallel_iterations = _count(parallel_iterations, "parallel_iterations", "batch_jacobian")
    rows_per_chunk = _count(rows_per_chunk, "rows_per_chunk", "batch_jacobian")
    check_independence = _independence_rows(check_independence)
    check_callable(f, "batch_jacobian")
    workers = _count(workers, "workers", "batch_jacobian")
    if is_structure(x):
        if check_independence:
            raise ValueError("dualjac.batch_jacobian: check_independence checks one source "
                             "array, not a structure of sources; check each leaf with its "
                             "own call (the others held fixed), or compare with dj.jacobian "
                             "on a few rows.")
        return _batch_jacobian_of_structure(f, x, zero, parallel_iterations, rows_per_chunk,
                                            workers)
    x = _core.dense_leaf(x)    # a stand-in jet of an outer transform, as the jet it stands for
    source = x if isinstance(x, _Jet) else native(np.asarray(x))
    source_shape = tuple(source.shape)
    if len(source_shape) < 2:
        raise ValueError(f"Shape {source_shape} must have rank at least 2")
    if _split_rows(source_shape[0], rows_per_chunk, workers):
        return in_row_blocks(lambda rows: batch_jacobian(f, rows, parallel_iterations=parallel_iterations),
                             source, rows_per_chunk, workers)
    m = math.prod(source_shape[1:])
    seeds = m if parallel_iterations is None else min(m, int(parallel_iterations))
    return with_block_cache(_sweep_bytes(source_shape[0] * m, seeds), _batch_sweep,
                            f, source, parallel_iterations, check_independence)


def _batch_sweep(f, source, parallel_iterations, check_independence):
    source_shape = tuple(source.shape)
    row_shape = source_shape[1:]
    m = math.prod(row_shape)
    differentiable = differentiable_source(source)
    pieces, target_shape = SeedPieces(m), None
    for lo, hi in chunks(m, parallel_iterations):
        with _core.LiveTags("dj.batch_jacobian") as tag:
            y = _core.NEEDS_DENSE
            if (lo, hi) == (0, m) and differentiable and not isinstance(source, _Jet) \
                    and _policy.defers(source.size, 1 + m):   # f's elementwise work run in chunks (_deferred.pxi)
                source = _core.own_copy(source)   # see _deferred_sweep
                result, y = _deferred_sweep(f, source, lambda rows: seed(rows, m, tag, 1, 0, 0, m, m),
                                            (tag, 0), row_shape)
                if result is not None:
                    if check_independence:
                        _check_rows_independent(f, source, result, _rows_to_check(check_independence, source_shape))
                    return in_dtype(result, source.dtype)
            if y is _core.NEEDS_DENSE:
                y = f(seed(source, hi - lo, tag, 1, 0, lo, hi, m) if differentiable else source)
            y = as_target(y, "batch_jacobian")
            check_batch(y, source_shape)
            d, deps = derivative_at(y, tag)
            if target_shape is None:       # (only the shape and dtype: no copy of the value)
                target_shape, target_dtype = _shape(y), _dtype_of(y)
            if d is not None:
                pieces.add(d, lo, hi)
    shape = target_shape + row_shape
    if not pieces:       # unconnected: TF's zeros in the target's dtype
        return np.zeros(shape, target_dtype)
    dtype = source.dtype if differentiable else target_dtype
    if isinstance(y, DualArray) and y.tag1 == tag and hi - lo == m == y.n1:
        result = _core.tangent_as(y, shape)   # one sweep: one C copy (NumPy's strided copy is 8x slower)
    else:
        result = shaped(pieces.result(), shape)
    if check_independence and differentiable:
        _check_rows_independent(f, source, result, _rows_to_check(check_independence, source_shape))
    return in_dtype(result, dtype)


def _batch_jacobian_of_structure(f, x, zero, parallel_iterations, rows_per_chunk, workers):
    """batch_jacobian of a structure of sources sharing the batch axis: every leaf's row
    owns a block of one seed space of sum(prod(X_leaf)) seeds shared by all rows."""
    leaves, rebuild = flatten(x)
    sources = [Source(leaf, i, 0) for i, leaf in enumerate(leaves)]
    check_rows([s.array for s in sources], x, "dualjac.batch_jacobian")
    if sources and _split_rows(sources[0].shape[0], rows_per_chunk, workers):
        return in_row_blocks(
            lambda rows: batch_jacobian(f, rows, unconnected_gradients="zero" if zero else "none",
                                        parallel_iterations=parallel_iterations),
            rebuild([s.array for s in sources]), rows_per_chunk, workers)
    row_sizes = [math.prod(s.shape[1:]) if s.differentiable else 0 for s in sources]
    offsets = [sum(row_sizes[:i]) for i in range(len(sources))]
    m = sum(row_sizes)
    seeds = m if parallel_iterations is None else min(m, parallel_iterations)
    return with_block_cache(_sweep_bytes(sum(s.size for s in sources), seeds),
                            _structure_batch_sweep, f, sources, rebuild, row_sizes, offsets,
                            zero, parallel_iterations)


def _structure_batch_sweep(f, sources, rebuild, row_sizes, offsets, zero, parallel_iterations):
    pieces = [SeedPieces(size) for size in row_sizes]
    for lo, hi in chunks(sum(row_sizes), parallel_iterations):
        with _core.LiveTags("dj.batch_jacobian") as tag:
            y = f(rebuild([_seed_rows(s, size, o, tag, lo, hi)
                           for s, size, o in zip(sources, row_sizes, offsets)]))
            y = as_target(y, "batch_jacobian")
            if sources:
                check_batch(y, sources[0].shape)
            d, deps = derivative_at(y, tag)
            target_shape, target_dtype = _shape(y), _dtype_of(y)
        for size, o, collected in zip(row_sizes, offsets, pieces):
            a, b = max(lo, o), min(hi, o + size)
            if d is not None and a < b:
                collected.add(seed_slice(d, a - lo, b - lo), a - o, b - o)
    results = []
    for source, collected in zip(sources, pieces):
        shape = target_shape + source.shape[1:]
        if not (source.differentiable and deps & source.bit):
            results.append(np.zeros(shape, target_dtype) if zero else None)
        elif collected:
            results.append(in_dtype(shaped(collected.result(), shape), source.array.dtype))
        else:       # rows of no elements: nothing to seed, but connected
            results.append(np.zeros(shape, source.array.dtype))
    return rebuild(results)


def _seed_rows(source, row_size, offset, tag, lo, hi):
    """A leaf's rows seeded with the part of the global row seeds [lo, hi) it owns."""
    if not source.differentiable:
        return source.array
    a, b = max(lo, offset), min(hi, offset + row_size)
    if a >= b:
        return seed(source.array, hi - lo, tag, source.bit, 0, 0, 0, row_size)
    return seed(source.array, hi - lo, tag, source.bit, a - lo, a - offset, b - offset, row_size)


def _deferred_sweep(f, array, seeder, tags, derivative_shape):
    """f on deferred jets (src_c/_deferred.pxi) for a batch transform: (result, None)
    when its derivatives were read straight out of a deferred target, else (None, y):
    f's output with its deferred jets computed, or NEEDS_DENSE when f wrote into a jet
    and must run again on ordinary jets. array is the transform's own copy of the
    source (f may write into the caller's, and the source is seeded, if at all, only
    while or after f runs); seeder(rows) seeds rows of it."""
    y = _core.run_deferred(f, array, seeder(array[:1]), lambda: seeder(array))
    if isinstance(y, _core.DeferredJet) and y.shape[:1] == array.shape[:1]:
        result = _core.deferred_derivatives(y, *tags, y.shape + derivative_shape)
        if result is not None:
            return result, None
    return None, _core.dense_target(y)


def _rows_to_check(check_independence, source_shape):
    rows = 3 if check_independence is True else check_independence
    return min(rows, source_shape[0])


def _independence_rows(check_independence):
    """check_independence: False / True (3 rows) / a positive number of rows."""
    if check_independence is None or isinstance(check_independence, bool):
        return bool(check_independence)
    return _count(check_independence, "check_independence (True, False or a number of rows)",
                  "batch_jacobian")


def _split_rows(batch, rows_per_chunk, workers):
    return (rows_per_chunk is not None and rows_per_chunk < batch) or (workers or 1) > 1


_executors = {}
_executors_lock = threading.Lock()
# Set on a thread while it runs a block of in_row_blocks: a transform nested in f
# then runs its own blocks on that thread. Waiting for the shared pool from one of
# its own threads could deadlock (every worker waiting for blocks queued behind it).
_in_row_block = threading.local()


def in_row_blocks(transform, source, rows_per_chunk, workers):
    """transform(rows) on consecutive blocks of rows, on `workers` threads, joined
    along the batch axis (valid because rows are independent). source may be a
    structure of arrays sharing the batch axis; the results then have its structure."""
    leaves, rebuild = flatten(source)
    batch, workers = leaves[0].shape[0], workers or 1
    rows = rows_per_chunk or -(-batch // workers)
    blocks = [rebuild([leaf[i:i + rows] for leaf in leaves])
              for i in range(0, batch, max(rows, 1))]
    if workers > 1 and len(blocks) > 1 and not getattr(_in_row_block, "active", False):
        results = list(_executor(workers).map(_as_row_block(transform), blocks))
    else:
        results = [transform(block) for block in blocks]
    _, rebuild_result = flatten(results[0])
    per_leaf = zip(*(flatten(result)[0] for result in results))
    return rebuild_result([_joined_rows(list(blocks_of_leaf), batch)
                           for blocks_of_leaf in per_leaf])


def _joined_rows(results, batch):
    """One result's blocks of rows joined along the batch axis (None if all are None)."""
    if all(block is None for block in results):
        return None
    if isinstance(results[0], _Jet):      # nested in another transform
        return np.concatenate(results)
    out = np.empty((batch,) + results[0].shape[1:], results[0].dtype)
    start = 0
    for block in results:
        out[start:start + block.shape[0]] = block
        start += block.shape[0]
    return out


def _executor(workers):
    """The pool of `workers` threads that in_row_blocks shares between calls."""
    with _executors_lock:
        if workers not in _executors:
            from concurrent.futures import ThreadPoolExecutor
            _executors[workers] = ThreadPoolExecutor(workers, thread_name_prefix="dualjac")
        return _executors[workers]


def _as_row_block(transform):
    def run(block):
        _in_row_block.active = True
        try:
            return transform(block)
        finally:
            _in_row_block.active = False
    return run


def _check_rows_independent(f, source, result, rows):
    """Full seeds for the first `rows` rows: every other row of f(x) must have
    zero derivative with respect to them, and the diagonal blocks must agree."""
    batch, m = source.shape[0], int(np.prod(source.shape[1:], dtype=np.int64))
    with _core.LiveTags("dj.batch_jacobian") as tag:
        y = f(seed(source, rows * m, tag, 1, 0, 0, rows * m))
        d, _ = derivative_at(y, tag)
    if d is None or isinstance(d, _Jet):
        return
    full = d.reshape(d.shape[:-1] + (rows, m))             # [b, Y..., rows, m]
    full = np.moveaxis(full, -2, 1)                         # [b, rows, Y..., m]
    for j in range(rows):
        others = np.delete(full[:, j], j, axis=0)
        if np.any(others != 0):
            i = int(np.argwhere(np.any(others.reshape(batch - 1, -1) != 0, axis=1))[0, 0])
            i += i >= j
            raise ValueError(
                f"dualjac.batch_jacobian: rows are not independent: target row {i} depends "
                f"on source row {j}, so a per-row Jacobian is meaningless. Use dj.jacobian "
                "for the full Jacobian.")
        diagonal = full[j, j].reshape(result[j].shape)
        if not np.allclose(diagonal, result[j], rtol=1e-6, atol=0):
            raise ValueError("dualjac.batch_jacobian: the per-row Jacobian disagrees with "
                             f"the full one for row {j}.")


def _shape(y):
    return tuple(np.shape(y.buf[..., 0] if isinstance(y, _Jet) else y))


@overload
def batch_hessian(f: ArrayFunction, x: Leaf, *, rows_per_chunk: int | None = None,
                  workers: int | None = None) -> Array: ...
@overload
def batch_hessian(f: Function, x: Nest, *, rows_per_chunk: int | None = None,
                  workers: int | None = None) -> Any: ...
def batch_hessian(f: Function, x: Any, *, rows_per_chunk: int | None = None,
                  workers: int | None = None) -> Any:
    """x [b, X...], f(x) [b] or [b, Y...] -> [b, Y..., X..., X...]: per-row
    Hessians with prod(X) seeds shared by all rows (cost linear in b).
    rows_per_chunk / workers, and deferred jets for large sources, as in batch_jacobian
    (f must accept any number of rows).

    x may be a list / tuple / dict nesting of arrays sharing the batch axis: the
    result is dj.hessian's structure of blocks with the batch axis first, the block
    of leaves p and q of shape [b, Y..., P..., Q...] (P, Q their row shapes)."""
    check_callable(f, "batch_hessian")
    if _dask.is_dask_array(x):
        return _dask.batch_transform(batch_hessian, f, x,
                                     dict(rows_per_chunk=rows_per_chunk, workers=workers))
    rows_per_chunk = _count(rows_per_chunk, "rows_per_chunk", "batch_hessian")
    workers = _count(workers, "workers", "batch_hessian")
    if is_structure(x):
        return _batch_hessian_of_structure(f, x, rows_per_chunk, workers)
    array = _plain_source(x, "dj.batch_hessian")
    if array.ndim < 2:
        raise ValueError(f"Shape {array.shape} must have rank at least 2")
    if _split_rows(array.shape[0], rows_per_chunk, workers):
        return in_row_blocks(lambda rows: batch_hessian(f, rows), array, rows_per_chunk, workers)
    m = math.prod(array.shape[1:])
    return with_block_cache(_hessian_bytes(array.size, m), _batch_hessian_sweep, f, array, m)


def _batch_hessian_sweep(f, array, m):
    """batch_hessian's one sweep; the result is read out inside the block-cache
    scope too, so its buffer is a reused block (a fresh one page-faults in, and the
    faults cost more than the read-out's own writes)."""
    with _core.LiveTags("dj.batch_hessian", 2) as (tag1, tag2):
        return _batch_hessian_read(f, array, m, tag1, tag2)


def _batch_hessian_read(f, array, m, tag1, tag2):
    row_shape = array.shape[1:]
    y = _core.NEEDS_DENSE
    if _policy.defers(array.size, 1 + m + m * (m + 1) // 2):   # elementwise work run in chunks (_deferred.pxi)
        array = _core.own_copy(array)     # see _deferred_sweep
        H, y = _deferred_sweep(f, array, lambda rows: _core.seed_symmetric(rows, tag1, tag2, 1, m),
                               (tag1, tag2), row_shape + row_shape)
        if H is not None:
            return in_dtype(H, array.dtype)
    if y is _core.NEEDS_DENSE:
        y = f(_core.seed_symmetric(array, tag1, tag2, 1, m))
    y = as_target(y, "batch_hessian")
    check_batch(y, array.shape, "batch_hessian")
    shape = _shape(y) + row_shape + row_shape
    if isinstance(y, HyperDualArray) and (y.tag1, y.tag2) == (tag1, tag2):
        return in_dtype(_core.unpack_symmetric(y, shape), array.dtype)
    _core.check_target(y, tag2)
    return np.zeros(shape, array.dtype)


def _batch_hessian_of_structure(f, x, rows_per_chunk, workers):
    """batch_hessian of a structure: one sweep of Hessian jets whose rows share the
    seeds of all leaves' rows (dense jets: structures are not deferred)."""
    leaves = Leaves(x, "dj.batch_hessian", rows=True)
    if leaves.arrays and _split_rows(leaves.arrays[0].shape[0], rows_per_chunk, workers):
        return in_row_blocks(lambda rows: batch_hessian(f, rows), leaves.rebuild(leaves.arrays),
                             rows_per_chunk, workers)
    return with_block_cache(_hessian_bytes(leaves.elements, leaves.n),
                            _structure_batch_hessian_sweep, f, leaves)


def _structure_batch_hessian_sweep(f, leaves):
    with _core.LiveTags("dj.batch_hessian", 2) as (tag1, tag2):
        y = as_target(f(leaves.seed_hessian(tag1, tag2)), "batch_hessian")
        if leaves.arrays:
            check_batch(y, leaves.arrays[0].shape, "batch_hessian")
        y, _, H = hessian_parts(y, tag1, tag2, leaves.n, "batch_hessian")
    return leaves.hessian_blocks(H, y.shape)
