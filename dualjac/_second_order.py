"""Second-order transforms of whole sources on hyper-dual numbers: hessian,
value_gradient_hessian and hvp, and the sweeps they share (a Hessian jet, dense or
banded; a hyper-dual with given seed directions). batch_hessian is in ``_batch.py``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _core, _policy, _structured
from ._core import BandedJet, HyperDualArray, _Jet
from ._sweep import (LARGE_SWEEP_BYTES, _NEEDS_DENSE, _NO_FAST_PATH, _UNFINISHED,
                     _check_direction_structure, _hessian_bytes,
                     _plain_source, _seed_hyper, as_target, check_callable, in_dtype,
                     with_block_cache)
from ._types import Array, ArrayFunction


def _second_order_sweep(f, x, directions1, directions2, who):
    """Evaluate f once on hyper-duals; return (target, d1, d12) with d1 of shape
    Y + (n1,) and d12 of shape Y + (n1, n2), zeros if f(x) does not depend on x."""
    with _core.LiveTags("dj." + who, 2) as (tag1, tag2):
        y = as_target(f(_seed_hyper(x, directions1, directions2, tag1, tag2)), who)
        n1, n2 = directions1.shape[1], directions2.shape[1]
        if isinstance(y, HyperDualArray) and (y.tag1, y.tag2) == (tag1, tag2):
            return np.array(y.buf[..., 0]), np.array(y.buf[..., 1:1 + n1]), np.array(y.d12)
        return _unconnected_second_order(y, n1, n2, tag2, who)


def _unconnected_second_order(y, n1, n2, tag, who):
    _core.check_target(y, tag)    # a stale, foreign or misplaced jet: its own error
    if isinstance(y, _Jet):
        raise NotImplementedError(f"dualjac.{who}: f mixed in derivatives of another transform")
    y = np.asarray(y)
    return y, np.zeros(y.shape + (n1,), y.dtype), np.zeros(y.shape + (n1, n2), y.dtype)


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
        return _hessian_parts(y, tag1, tag2, period if period else array.size, who)


def _hessian_parts(y, tag1, tag2, n, who):
    """(target, gradient parts Y + (n,), Hessian Y + (n, n)) of a dense target y
    of the sweep tagged (tag1, tag2); zeros when y does not depend on it."""
    y = as_target(y, who)
    if isinstance(y, HyperDualArray) and (y.tag1, y.tag2) == (tag1, tag2):
        shape = tuple(y.shape)
        return (np.array(y.buf[..., 0]), np.array(y.buf[..., 1:1 + n]),
                _core.unpack_symmetric(y, shape + (n, n)))
    return _unconnected_second_order(y, n, n, tag2, who)


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
        return _hessian_parts(y, tag1, tag2, n, who)


def hessian(f: ArrayFunction, x: ArrayLike) -> Array:
    """Second derivatives in one hyper-dual sweep: f(x).shape + x.shape + x.shape
    (any output shape, like jax.hessian). Zeros where f(x) does not depend on x."""
    check_callable(f, "hessian")
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
    y, _, H = _hessian_parts(y, tag1, tag2, array.size, "hessian")
    return H.reshape(y.shape + array.shape + array.shape)


def value_gradient_hessian(f: ArrayFunction, x: ArrayLike) -> tuple[Array, Array, Array]:
    """(f(x), gradient, Hessian) of a scalar f from one sweep (ForwardDiff's DiffResults)."""
    check_callable(f, "value_gradient_hessian")
    array = _plain_source(x, "dj.value_gradient_hessian")
    y, d1, d12 = with_block_cache(_hessian_bytes(array.size, array.size), _hessian_sweep,
                                  f, array, 0, "value_gradient_hessian")
    if y.shape != ():
        raise ValueError(f"dualjac.value_gradient_hessian: f must return a scalar, got shape "
                         f"{y.shape}; use dj.hessian for array outputs.")
    return (y, in_dtype(d1.reshape(array.shape), array.dtype),
            in_dtype(d12.reshape(array.shape + array.shape), array.dtype))


def hvp(f: ArrayFunction, x: ArrayLike, v: ArrayLike) -> Array:
    """Hessian-vector product H v of a scalar f: one sweep with n + 1 seeds."""
    check_callable(f, "hvp")
    array = _plain_source(x, "dj.hvp")
    _check_direction_structure(array, v, "hvp")
    direction = np.asarray(v, dtype=array.dtype).reshape(-1, 1)
    identity = np.eye(array.size, dtype=array.dtype)
    y, _, d12 = _second_order_sweep(f, array, identity, direction, "hvp")
    if y.shape != ():
        raise ValueError(f"dualjac.hvp: f must return a scalar, got shape {y.shape}")
    return in_dtype(d12[..., 0].reshape(array.shape), array.dtype)
