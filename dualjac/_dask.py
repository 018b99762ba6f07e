"""Batch transforms of Dask arrays: a lazy Dask array of per-row results, block by block.

A batch transform's rows are independent, so each block of rows of the source gives its
block of the result by the in-memory transform itself: same bits, whatever the chunking.
The row axes are brought into one chunk (a row's derivatives need all of it); the batch
axis keeps the source's chunks. Nothing is computed until the result is: it can be
reduced or stored block by block, on Dask's threads, processes or a distributed cluster.

Dask is optional: this module is imported only when a transform meets a Dask array, which
it recognizes by its type's module, without importing Dask.
"""

import numpy as np


def is_dask_array(x):
    kind = type(x)
    if kind is np.ndarray:
        return False
    return kind.__module__.startswith("dask.array") and kind.__name__ == "Array"


def batch_transform(transform, f, x, options):
    """transform(f, block, **options) over the blocks of rows of the Dask array x."""
    if x.ndim < 2:
        raise ValueError(f"Shape {x.shape} must have rank at least 2")
    if any(np.isnan(n) for n in x.shape):
        raise ValueError("dualjac: the Dask array's batch has unknown chunk sizes; call "
                         "x.compute_chunk_sizes() first.")
    x = x.rechunk({axis: -1 for axis in range(1, x.ndim)})
    probe = _result_of_a_few_rows(transform, f, x, options)
    row_shape = probe.shape[1:]

    def on_block(block):
        return transform(f, block, **options)

    return x.map_blocks(on_block, dtype=probe.dtype,
                        chunks=(x.chunks[0],) + tuple((n,) for n in row_shape),
                        drop_axis=list(range(1, x.ndim)),
                        new_axis=list(range(1, 1 + len(row_shape))),
                        meta=np.empty((0,) * (1 + len(row_shape)), probe.dtype))


def _result_of_a_few_rows(transform, f, x, options):
    """The result's row shape and dtype: the transform of no rows (any f that takes any
    number of rows takes none), or, when f cannot, of the first row (computed)."""
    empty = np.zeros((0,) + tuple(x.shape[1:]), x.dtype)
    try:
        return transform(f, empty, **options)
    except Exception:   # f's own error on no rows: the first row says the same
        return transform(f, np.asarray(x[:1].compute()), **options)
