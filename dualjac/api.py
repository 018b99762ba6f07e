"""The transforms: jacobian, batch_jacobian, hessian, gradient, jvp, hvp, ...

Every transform is one forward sweep (or one per seed chunk): draw a fresh
tag, seed the sources (identity along the flattened source index, seeds last,
as JAX's jacfwd does), call f once, and read the derivative off the result's
buffer at this transform's tag. Shapes and unconnected-gradient semantics are
TensorFlow's ``GradientTape.jacobian`` / ``batch_jacobian`` (docs/semantics.md).

Nesting: if a source is already a dual array (we are inside another transform),
it is lifted to a hyper-dual whose second seed set is ours, and what we return
is still a dual array in the outer transform's seeds.

This module holds the first-order transforms of whole sources (jacobian,
value_and_jacobian, gradient, jvp) and stop_gradient; the others live by kind and
are re-exported here, so ``dualjac.api`` names every public transform:
``_batch.py`` (batch_jacobian, batch_hessian), ``_second_order.py`` (hessian,
value_gradient_hessian, hvp), ``_settings.py`` (threads, release_memory). What they
share (sources, seeding, reading results, the sweep) is ``_sweep.py``.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from . import _core, _policy, _separable, _structured
from ._policy import ONE_DENSE_SWEEP
from ._batch import batch_hessian, batch_jacobian
from ._core import BandedJet, DualArray, _Jet
from ._second_order import hessian, hvp, value_gradient_hessian
from ._settings import default_num_threads, get_num_threads, release_memory, set_num_threads
from ._sweep import (CHUNK_SIZE, CHUNK_THRESHOLD, _NEEDS_DENSE, _NO_FAST_PATH,
                     _NONE, _UNFINISHED, SeedPieces,
                     Source, Unconnected, UnconnectedGradients, Zero, _check_direction_structure,
                     _count, _dtype_of, _sweep_bytes, _zero_mode, as_target, assemble,
                     check_callable, derivative_at, flatten, in_dtype, lift_inner, native,
                     sweep, value_at, with_block_cache)
from ._types import Array, ArrayFunction, Function, Leaf, Nest

# The public transforms and settings, wherever they live; and the aliases the transforms'
# signatures use (a type checker then accepts them imported from here).
__all__ = [
    "Unconnected", "UnconnectedGradients", "Zero", "batch_hessian", "batch_jacobian", "default_num_threads",
    "get_num_threads", "gradient", "hessian", "hvp", "jacobian", "jvp", "release_memory",
    "set_num_threads", "stop_gradient", "value_and_jacobian", "value_gradient_hessian",
]


def stop_gradient(x: ArrayLike) -> Array:
    """The values of x as a plain array: nothing is differentiated through it."""
    if isinstance(x, _core._JetProtocol):      # every jet kind, the sparsity tracer's too
        return np.array(x.value)
    return np.asarray(x)


# ---------------------------------------------------------------- public transforms

@overload
def jacobian(f: ArrayFunction, x: Leaf, *, unconnected_gradients: Zero,
             parallel_iterations: int | None = None) -> Array: ...
@overload
def jacobian(f: ArrayFunction, x: Leaf, *, unconnected_gradients: Unconnected = "none",
             parallel_iterations: int | None = None) -> Array | None: ...
@overload
def jacobian(f: Function, x: Nest, *, unconnected_gradients: Unconnected = "none",
             parallel_iterations: int | None = None) -> Any: ...
def jacobian(f: Function, x: Any, *, unconnected_gradients: Unconnected = "none",
             parallel_iterations: int | None = None) -> Any:
    """d f(x) / d x, shape f(x).shape + leaf.shape for every leaf of x (TF's
    tape.jacobian): x may be an array or a list / tuple / dict nesting of arrays,
    and the result has the same structure, None where f(x) does not depend on a
    leaf (zeros with unconnected_gradients="zero")."""
    if not callable(f):
        check_callable(f, "jacobian")
    # (the common spelling by identity: this is the whole overhead of a small Jacobian)
    zero = False if unconnected_gradients is _NONE else _zero_mode(unconnected_gradients)
    if parallel_iterations is not None:
        parallel_iterations = _count(parallel_iterations, "parallel_iterations", "jacobian")
    else:
        # The compiled ways, as dualjac/_policy.py says: banded, then one small dense sweep.
        kind = type(x)
        if kind is np.ndarray:
            n = x.size
            if n >= _policy.BANDED_MIN_JACOBIAN > 0:
                found = _core.jacobian_banded(f, x, _policy.banded_block_cache(x))
                if found is _NEEDS_DENSE and n <= ONE_DENSE_SWEEP:
                    found = _core.jacobian_dense(f, x)
            else:
                found = _core.jacobian_dense(f, x) if n <= ONE_DENSE_SWEEP else _NO_FAST_PATH
        else:
            found = (_core.jacobian_dense(f, x) if kind is DualArray
                     and x.size <= ONE_DENSE_SWEEP else _NO_FAST_PATH)
        if found is not _NO_FAST_PATH and found is not _NEEDS_DENSE:
            return found if type(found) is not _UNFINISHED else _finished(found, x, zero)
        if (type(x) is np.ndarray and x.dtype.char in "fd" and x.dtype.isnative
                and x.size <= CHUNK_THRESHOLD):
            return with_block_cache(_sweep_bytes(x.size, x.size), _jacobian_of_one_array,
                                    f, x, zero)
        structured = _structured.value_and_jacobian(f, x)
        if structured is not None:
            return structured[1]
    return _swept(f, x, zero, parallel_iterations)[1]


def _finished(found, x, zero):
    """The compiled ways' uncommon answer: f's output (unconnected, plain, other levels) with its
    tag still live, read here the general way."""
    with found:
        return _finish_one_source(found.output, found.tags[0], x, zero)


def _jacobian_of_one_array(f, x, zero):
    """One float array, one sweep, one copy out, under the block cache (the
    largest sources of the unchunked case; the compiled dense sweep takes the others)."""
    with _core.LiveTags("dj.jacobian") as tag:
        y = f(_core.seed_dual(x, x.size, tag, 1))
        if type(y) is DualArray and y.tag1 == tag and y.deps1:
            return in_dtype(_core.tangent_as(y, y.shape + x.shape), x.dtype)
        return _finish_one_source(y, tag, x, zero)


def _finish_one_source(y, tag, x, zero):
    """The general reading of one source's derivative (unconnected, odd levels)."""
    y = as_target(y, "jacobian")
    d, deps = derivative_at(y, tag)
    source = Source(x, 0, 0)
    target = value_at(y, tag)
    pieces = SeedPieces(source.size)
    if d is not None:
        pieces.add(d, 0, source.size)
    return assemble([source], target, [pieces], deps, zero)[0]


@overload
def value_and_jacobian(f: ArrayFunction, x: Leaf, *, unconnected_gradients: Zero,
                       parallel_iterations: int | None = None) -> tuple[Array, Array]: ...
@overload
def value_and_jacobian(f: ArrayFunction, x: Leaf, *, unconnected_gradients: Unconnected = "none",
                       parallel_iterations: int | None = None) -> tuple[Array, Array | None]: ...
@overload
def value_and_jacobian(f: Function, x: Nest, *, unconnected_gradients: Unconnected = "none",
                       parallel_iterations: int | None = None) -> tuple[Array, Any]: ...
def value_and_jacobian(f: Function, x: Any, *, unconnected_gradients: Unconnected = "none",
                       parallel_iterations: int | None = None) -> tuple[Array, Any]:
    """(f(x), jacobian(f, x)) from the same sweep."""
    check_callable(f, "value_and_jacobian")
    parallel_iterations = _count(parallel_iterations, "parallel_iterations", "value_and_jacobian")
    zero = _zero_mode(unconnected_gradients)
    if (parallel_iterations is None and type(x) is np.ndarray and x.dtype.char in "fd"
            and x.dtype.isnative):
        found = _value_and_jacobian_of_one_array(f, x, unconnected_gradients)
        if found is not None:
            return found
    return _swept(f, x, zero, parallel_iterations)


def _swept(f, x, zero, parallel_iterations):
    """(f(x), Jacobians) from dense seeds, in chunks for large sources."""
    sources, rebuild, target, pieces, deps = with_block_cache(
        _structure_bytes(x, parallel_iterations), sweep, f, x, parallel_iterations, "jacobian")
    return target, rebuild(assemble(sources, target, pieces, deps, zero))


def _value_and_jacobian_of_one_array(f, x, unconnected_gradients):
    """dj.jacobian's ways (compiled, banded, structured) with f's value read off the
    output of its last run; None when that output is not a first-order jet of that run."""
    recorded = _recording(f)
    try:
        J = jacobian(recorded, x, unconnected_gradients=unconnected_gradients)
        z, y = recorded.runs.last
    finally:
        recorded.runs.last = None       # keep no jet alive past the call
    if isinstance(y, (np.ndarray, np.generic, float, int)):
        return np.asarray(y), J          # f(x) does not depend on x
    jets = [a for _, a in y.terms] if isinstance(y, _separable.PartialSum) else [y]
    seeded = getattr(z, "local", z)
    if all(isinstance(j, (DualArray, BandedJet)) and _same_run(getattr(j, "local", j), seeded)
           for j in jets):
        return np.array(y.value), J
    return None


class _Recording:
    """f, keeping its last (input, output) per thread; one object per f (so that what the
    transforms prepare for it is found again at the next call), holding f weakly."""

    def __init__(self, f):
        self.f = weakref.ref(f)
        self.runs = threading.local()

    def __call__(self, z):
        y = self.f()(z)
        self.runs.last = (z, y)
        return y


_RECORDINGS = weakref.WeakKeyDictionary()


def _recording(f):
    try:
        recorded = _RECORDINGS.get(f)
        if recorded is None:
            recorded = _RECORDINGS[f] = _Recording(f)
        return recorded
    except TypeError:            # f cannot be weakly referenced
        recorded = _Recording.__new__(_Recording)
        recorded.f, recorded.runs = (lambda: f), threading.local()
        return recorded


def _same_run(jet, seeded):
    return isinstance(seeded, DualArray) and jet.order == 1 and jet.tag1 == seeded.tag1


def _structure_bytes(x, parallel_iterations):
    """Bytes of the seeded sources of one sweep (one chunk of seeds)."""
    leaves, _ = flatten(x)
    total = sum(np.size(leaf.buf[..., 0] if isinstance(leaf, _Jet) else leaf) for leaf in leaves)
    seeds = total if parallel_iterations is None else min(total, int(parallel_iterations))
    if parallel_iterations is None and total > CHUNK_THRESHOLD:
        seeds = CHUNK_SIZE
    return _sweep_bytes(total, seeds)


@overload
def gradient(f: ArrayFunction, x: Leaf, *, unconnected_gradients: Zero,
             parallel_iterations: int | None = None) -> Array: ...
@overload
def gradient(f: ArrayFunction, x: Leaf, *, unconnected_gradients: Unconnected = "none",
             parallel_iterations: int | None = None) -> Array | None: ...
@overload
def gradient(f: Function, x: Nest, *, unconnected_gradients: Unconnected = "none",
             parallel_iterations: int | None = None) -> Any: ...
def gradient(f: Function, x: Any, *, unconnected_gradients: Unconnected = "none",
             parallel_iterations: int | None = None) -> Any:
    """TF's tape.gradient: d sum(f(x)) / dx, shaped like x (per leaf)."""
    check_callable(f, "gradient")
    parallel_iterations = _count(parallel_iterations, "parallel_iterations", "gradient")
    zero = _zero_mode(unconnected_gradients)
    if parallel_iterations is None and type(x) is np.ndarray:
        # One array: the Jacobian of the sum, with its banded and structured ways.
        summed = _sum_of(f)
        if _structured.known(summed, "jacobian", x) is not None:
            found = _structured.value_and_jacobian(summed, x)
            if found is not None:
                return found[1]
        return jacobian(summed, x, unconnected_gradients=unconnected_gradients)
    sources, rebuild, target, pieces, deps = with_block_cache(
        _structure_bytes(x, parallel_iterations), sweep,
        f, x, parallel_iterations, "gradient", _sum_target)
    return rebuild(assemble(sources, target, pieces, deps, zero))


class _SumOf:
    """z -> sum(f(z)), one object per f (so that what the transforms prepare for it is
    found again at the next call), holding f weakly (so that it does not keep f alive)."""

    def __init__(self, f):
        self.f = weakref.ref(f)

    def __call__(self, z):
        return _sum_target(_one_target(self.f()(z), "gradient"))


_SUMS = weakref.WeakKeyDictionary()


def _sum_of(f):
    try:
        summed = _SUMS.get(f)
        if summed is None:
            summed = _SUMS[f] = _SumOf(f)
        return summed
    except TypeError:            # f cannot be weakly referenced
        return lambda z: _sum_target(_one_target(f(z), "gradient"))


def _one_target(y, who):
    """y, if it is one array (of any kind); as_target's error otherwise."""
    if y is None or isinstance(y, (tuple, list, dict, str)):
        as_target(y, who)
    return y


def _sum_target(y):
    # Jets and tracers sum themselves (a tracer refuses np.asarray); a sum kept apart
    # (dualjac/_separable.py) is one already.
    if isinstance(y, _separable.PartialSum):
        return y
    return np.sum(y) if hasattr(y, "__array_function__") else np.sum(np.asarray(y))


def jvp(f: Function, x: Leaf | Nest, v: ArrayLike | Nest, *,
        batched: bool = False) -> tuple[Array, Array]:
    """(f(x), J v): one sweep with the seed direction v (same structure as x).

    batched=True: v holds k directions along a new first axis (every leaf of shape
    (k,) + its x leaf's shape, like torch's is_grads_batched or jax.vmap over
    tangents), and J v has that axis first, shape (k,) + f(x).shape: one sweep with
    k seeds, not k sweeps. The tangent has the output's dtype; zeros where f(x) does
    not depend on x."""
    check_callable(f, "jvp")
    if not isinstance(batched, bool):
        raise TypeError(f"dualjac.jvp: batched must be True or False, got {batched!r}")
    if not isinstance(x, (dict, list, tuple)) and isinstance(v, (list, tuple)):
        v = np.asarray(v)     # one array's direction, spelled as a list of numbers
    k = _check_direction_structure(x, v, "jvp", batched=batched)
    leaves, rebuild = flatten(x)
    directions, _ = flatten(v)
    with _core.LiveTags("dj.jvp") as tag:
        seeded = [_seed_direction(leaf, direction, tag, 1 << min(i, 63), batched)
                  for i, (leaf, direction) in enumerate(zip(leaves, directions))]
        y = as_target(f(rebuild(seeded)), "jvp")
        d, _ = derivative_at(y, tag)
        value = value_at(y, tag)
    if d is None:
        shape = np.shape(value.buf[..., 0] if isinstance(value, _Jet) else value)
        return value, np.zeros(((k,) if batched else ()) + shape, _dtype_of(value))
    if batched:
        return value, np.moveaxis(d, -1, 0)
    return value, (d[..., 0] if not isinstance(d, _Jet) else d.with_buffer(d.buf[..., 0, :]))


def _seed_direction(leaf, direction, tag, bit, batched):
    """A leaf seeded along its direction (or its k directions, batched)."""
    leaf = _core.dense_leaf(leaf)   # a stand-in jet of an outer transform, as the jet it stands for
    array = leaf if isinstance(leaf, _Jet) else native(np.asarray(leaf))
    Source(array, 0, 0)  # dtype checks
    _core.check_source(array, tag)
    value = np.array(array.buf[..., 0]) if isinstance(array, _Jet) else array
    direction = np.asarray(direction, dtype=value.dtype)
    tangents = np.moveaxis(direction, 0, -1) if batched else direction[..., None]
    buf = np.concatenate([value[..., None], tangents], -1)
    ours = _core.make_dual(np.ascontiguousarray(buf), tag, bit)
    return lift_inner(array, ours) if isinstance(array, _Jet) else ours
