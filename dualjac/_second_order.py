"""Second-order transforms of whole sources on hyper-dual numbers: hessian,
value_gradient_hessian and hvp, and the sweeps they share (a Hessian jet, dense or
banded; a hyper-dual with given seed directions). batch_hessian is in ``_batch.py``."""

from __future__ import annotations

from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from . import _core, _policy, _structured
from ._core import BandedJet, HyperDualArray, _Jet
from ._sweep import (LARGE_SWEEP_BYTES, _NEEDS_DENSE, _NO_FAST_PATH, _UNFINISHED, Leaves,
                     _check_direction_structure, _hessian_bytes, _plain_source, _sweep_bytes,
                     as_target, check_callable, flatten, hessian_parts, in_dtype, is_structure,
                     seed_directions_leaf, unconnected_second_order, with_block_cache)
from ._types import Array, ArrayFunction, Function, Leaf, Nest


def _hessian_sweep(f, array, period, who):
    """One sweep on a Hessian jet (both seed sets the identity, stored once, the
    cross block as its upper triangle: _core.seed_symmetric): (target, gradient
    parts Y + (n,), Hessian Y + (n, n)). period > 0: per-row seeds (batches)."""
    if period == 0 and 0 < _policy.BANDED_MIN_HESSIAN <= array.size:
        parts = _banded_hessian_sweep(f, array, who)
        if parts is not None:
            return parts
    with _core.LiveTags("dj." + who, 2) as (tag1, tag2):
        y = f(_core.seed_symmetric(array, tag1, tag2, 1, period))
        return hessian_parts(y, tag1, tag2, period if period else array.size, who)


def _banded_hessian_sweep(f, array, who):
    """_hessian_sweep on a banded source (src_c/_banded.pxi): each element carries
    only the seeds it can depend on. None when f must run on dense jets."""
    with _core.LiveTags("dj." + who, 2) as (tag1, tag2):
        y = _core.run_banded(f, _core.seed_banded(array, tag1, tag2))
        if y is _core.NEEDS_DENSE:
            return None
        n = array.size
        if isinstance(y, BandedJet) and (y.local.tag1, y.local.tag2) == (tag1, tag2):
            shape = tuple(y.shape)
            grad, H = _core.banded_hessian(y, shape + (n, n))
            return np.array(y.local.buf[..., 0]), grad, H
        return hessian_parts(y, tag1, tag2, n, who)


@overload
def hessian(f: ArrayFunction, x: Leaf) -> Array: ...
@overload
def hessian(f: Function, x: Nest) -> Any: ...
def hessian(f: Function, x: Any) -> Any:
    """Second derivatives in one hyper-dual sweep: f(x).shape + x.shape + x.shape
    (any output shape, like jax.hessian). Zeros where f(x) does not depend on x.

    x may be a list / tuple / dict nesting of arrays (a list is a structure, as in
    dj.jacobian and JAX; pass np.array(...) for one array): the result is JAX's
    structure of blocks, for x = {"a": A, "b": B} the dict {"a": {"a": H_aa, "b": H_ab},
    "b": {"a": H_ba, "b": H_bb}}, the block of leaves p and q of shape
    f(x).shape + p.shape + q.shape, from one sweep over all leaves' seeds."""
    check_callable(f, "hessian")
    if is_structure(x):
        y, _, H, leaves = _structure_hessian(f, x, "hessian")
        return leaves.hessian_blocks(H, y.shape)
    if _structured.known(f, "hessian", x) is not None:
        H = _structured.hessian(f, x)
        if H is not None:
            return H.reshape(np.shape(x) + np.shape(x))
    H = _compiled_hessian(f, x)
    if type(H) is _UNFINISHED:
        with H:
            return in_dtype(_finish_hessian(H.output, *H.tags, x), x.dtype)
    if H is not _NO_FAST_PATH:
        return H
    array = _plain_source(x, "dj.hessian")
    H = _structured.hessian(f, array)
    if H is not None:
        return H
    y, _, H = with_block_cache(_hessian_bytes(array.size, array.size), _hessian_sweep,
                               f, array, 0, "hessian")
    return in_dtype(H.reshape(y.shape + array.shape + array.shape), array.dtype)


def _compiled_hessian(f, x):
    """The compiled ways, as dualjac/_policy.py says: banded seeds, then one dense sweep of
    Hessian seeds when it needs no block cache. The Hessian, an Unfinished output, or
    NO_FAST_PATH for the general way."""
    if type(x) is not np.ndarray:
        return _NO_FAST_PATH
    n = x.size
    H = _NO_FAST_PATH
    if 0 < _policy.BANDED_MIN_HESSIAN <= n:
        H = _core.hessian_banded(f, x, _policy.banded_block_cache(x))
    if (H is _NO_FAST_PATH or H is _NEEDS_DENSE) and _hessian_bytes(n, n) < LARGE_SWEEP_BYTES:
        H = _core.hessian_dense(f, x)
    return _NO_FAST_PATH if H is _NEEDS_DENSE else H


def _finish_hessian(y, tag1, tag2, array):
    """The reading of a compiled way's uncommon result (unconnected, plain, odd levels)."""
    y, _, H = hessian_parts(y, tag1, tag2, array.size, "hessian")
    return H.reshape(y.shape + array.shape + array.shape)


def _structure_hessian(f, x, who):
    """One sweep of Hessian jets over all leaves of a structure: (target, gradient
    parts Y + (n,), Hessian Y + (n, n), the leaves)."""
    leaves = Leaves(x, "dj." + who)
    parts = with_block_cache(_hessian_bytes(leaves.elements, leaves.n), _structure_sweep,
                             f, leaves, who)
    return parts + (leaves,)


def _structure_sweep(f, leaves, who):
    with _core.LiveTags("dj." + who, 2) as (tag1, tag2):
        return hessian_parts(f(leaves.seed_hessian(tag1, tag2)), tag1, tag2, leaves.n, who)


@overload
def value_gradient_hessian(f: ArrayFunction, x: Leaf) -> tuple[Array, Array, Array]: ...
@overload
def value_gradient_hessian(f: Function, x: Nest) -> tuple[Array, Any, Any]: ...
def value_gradient_hessian(f: Function, x: Any) -> tuple[Array, Any, Any]:
    """(f(x), gradient, Hessian) of a scalar f from one sweep (ForwardDiff's DiffResults).
    For a structure x: the gradient has x's structure, the Hessian dj.hessian's."""
    check_callable(f, "value_gradient_hessian")
    if is_structure(x):
        y, d1, d12, leaves = _structure_hessian(f, x, "value_gradient_hessian")
        _check_scalar(y, "value_gradient_hessian")
        return y, leaves.blocks(d1, ()), leaves.hessian_blocks(d12, ())
    array = _plain_source(x, "dj.value_gradient_hessian")
    y, d1, d12 = with_block_cache(_hessian_bytes(array.size, array.size), _hessian_sweep,
                                  f, array, 0, "value_gradient_hessian")
    _check_scalar(y, "value_gradient_hessian")
    return (y, in_dtype(d1.reshape(array.shape), array.dtype),
            in_dtype(d12.reshape(array.shape + array.shape), array.dtype))


def _check_scalar(y, who):
    if y.shape != ():
        raise ValueError(f"dualjac.{who}: f must return a scalar, got shape {y.shape}; "
                         "use dj.hessian for array outputs.")


@overload
def hvp(f: ArrayFunction, x: Leaf, v: ArrayLike, *, batched: bool = False) -> Array: ...
@overload
def hvp(f: Function, x: Nest, v: Nest, *, batched: bool = False) -> Any: ...
def hvp(f: Function, x: Any, v: Any, *, batched: bool = False) -> Any:
    """Hessian-vector product H v of a scalar f: one sweep, n seeds first and v second.

    x may be a structure (as in dj.hessian); v then has x's structure, and so has H v.
    batched=True: v holds k directions along a new first axis (every leaf of shape
    (k,) + its x leaf's shape), and H v has that axis too; still one sweep, with
    n + k seeds (n * k second-order parts), never k sweeps."""
    check_callable(f, "hvp")
    if not isinstance(batched, bool):
        raise TypeError(f"dualjac.hvp: batched must be True or False, got {batched!r}")
    leaves = Leaves(x, "dj.hvp")
    if not is_structure(x) and isinstance(v, (list, tuple)):
        v = np.asarray(v)     # one array's direction(s), spelled as a list of numbers
    k = _check_direction_structure(x if is_structure(x) else leaves.arrays[0], v, "hvp",
                                   batched=batched)
    directions, _ = flatten(v)
    columns = [_as_columns(d, a, batched) for d, a in zip(directions, leaves.arrays)]
    k = 1 if k is None else k
    components = 1 + leaves.n + k + leaves.n * k
    y, d12 = with_block_cache(_sweep_bytes(leaves.elements, k, components), _directions_sweep,
                              f, leaves, columns, k)
    _check_scalar(y, "hvp")
    products = [in_dtype(d12[o:o + s].T.reshape(((k,) if batched else ()) + shape), a.dtype)
                for a, o, s, shape in zip(leaves.arrays, leaves.offsets, leaves.sizes, leaves.shapes)]
    return leaves.rebuild(products)


def _as_columns(direction, array, batched):
    """A leaf's direction(s) as a [size, k] matrix in the leaf's dtype."""
    d = np.asarray(direction, dtype=array.dtype)
    return d.reshape(len(d), array.size).T if batched else d.reshape(-1, 1)


def _directions_sweep(f, leaves, columns, k):
    """f on hyper-duals: the identity first (n seeds), the given k directions second;
    (target, its second-order parts Y + (n, k))."""
    with _core.LiveTags("dj.hvp", 2) as (tag1, tag2):
        seeded = [seed_directions_leaf(a, leaves.n, o, c, tag1, tag2, 1 << min(i, 63))
                  for i, (a, o, c) in enumerate(zip(leaves.arrays, leaves.offsets, columns))]
        y = as_target(f(leaves.rebuild(seeded)), "hvp")
        if isinstance(y, HyperDualArray) and (y.tag1, y.tag2) == (tag1, tag2):
            return np.array(y.buf[..., 0]), np.array(y.d12)
        y, _, d12 = unconnected_second_order(y, leaves.n, k, tag2, "hvp")
        return y, d12
