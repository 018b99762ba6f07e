"""The transforms: jacobian, batch_jacobian, hessian, gradient, jvp, hvp, ...

Every transform is one forward sweep (or one per seed chunk): draw a fresh
tag, seed the sources (identity along the flattened source index, seeds last,
as JAX's jacfwd does), call f once, and read the derivative off the result's
buffer at this transform's tag. Shapes and unconnected-gradient semantics are
TensorFlow's ``GradientTape.jacobian`` / ``batch_jacobian`` (docs/semantics.md).

Nesting: if a source is already a dual array (we are inside another transform),
it is lifted to a hyper-dual whose second seed set is ours, and what we return
is still a dual array in the outer transform's seeds.
"""

from __future__ import annotations

import enum
import math
import operator
import os
import threading
import warnings
import weakref
from typing import Any, Literal, Union, overload

import numpy as np
from numpy.typing import ArrayLike

from . import _core, _separable, _structured
from ._core import BandedJet, DeferredJet, DualArray, HyperDualArray, _Jet
from ._types import Array, ArrayFunction, Function, Leaf, Nest

# Seed chunking (parallel_iterations=None): more seeds than CHUNK_THRESHOLD are
# swept CHUNK_SIZE at a time. Measured (research/chunking.py, docs/performance.md): above
# ~128 seeds, chunks of 64 are several times faster (intermediates stay small:
# in cache, and below the sizes glibc returns to the OS and page-faults back on
# every call) and peak memory drops from ~6x to ~1x the Jacobian's size.
CHUNK_THRESHOLD = 128
CHUNK_SIZE = 64


# Sweeps whose seeded source buffer reaches this many bytes run with dualjac's
# block-reusing memory handler (src_c/block_cache.h): their per-operation buffers
# are then large enough for glibc to map and unmap them, page-faulting on every
# operation. Smaller sweeps keep NumPy's handler (switching costs ~0.2 us).
LARGE_SWEEP_BYTES = 128 * 1024


def with_block_cache(nbytes, run, *args):
    """run(*args), with the block cache installed when nbytes is large."""
    if nbytes < LARGE_SWEEP_BYTES:
        return run(*args)
    previous = _core.use_block_cache()
    try:
        return run(*args)
    finally:
        _core.restore_memory_handler(previous)


def release_memory() -> int:
    """Give the blocks dualjac keeps for reuse between large sweeps (at most 128 MB)
    back to the system; returns the number of bytes released."""
    return _core.block_cache_clear()


def set_num_threads(n: int) -> None:
    """Use up to n threads inside one large elementwise kernel (1 = serial).

    The default is the number of CPUs this process may run on (at most 8), or
    the environment variable DUALJAC_NUM_THREADS. Only kernels over more than
    2**15 numbers are split, each element is computed by the same code whatever
    the split, so results are bit-identical for every n."""
    n = _count(n, "n (a number of threads)", "set_num_threads")
    if n is None:
        raise TypeError("dualjac.set_num_threads: n must be a positive integer, got None")
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads a large elementwise kernel may use."""
    return _core.get_num_threads()


def default_num_threads() -> int:
    """DUALJAC_NUM_THREADS if set, else the CPUs this process may use (at most 8)."""
    wanted = os.environ.get("DUALJAC_NUM_THREADS")
    if wanted:
        try:
            return max(1, int(wanted))
        except ValueError:
            raise ValueError(f"DUALJAC_NUM_THREADS must be a positive integer, got {wanted!r}")
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:          # not Linux
        available = os.cpu_count() or 1
    return min(available, 8)


def _sweep_bytes(total_elements, seeds, components=None):
    """Bytes of one seeded buffer: elements x (1 + seeds) numbers (or components)."""
    return total_elements * (components if components is not None else 1 + seeds) * 8


class UnconnectedGradients(enum.Enum):
    """What a jacobian is for a source the target does not depend on (TF's enum)."""
    NONE = "none"
    ZERO = "zero"


_ZERO = UnconnectedGradients.ZERO   # an enum member lookup costs ~0.2 us

# unconnected_gradients: TF's spellings. With "zero" a transform never returns None.
Unconnected = Union[Literal["none", "zero"], UnconnectedGradients]
Zero = Literal["zero", UnconnectedGradients.ZERO]


_NONE = "none"


def _zero_mode(unconnected_gradients):
    if isinstance(unconnected_gradients, str) and unconnected_gradients in ("none", "zero"):
        return unconnected_gradients == "zero"
    if isinstance(unconnected_gradients, UnconnectedGradients):
        return unconnected_gradients is _ZERO
    raise ValueError(f"Unknown value for unconnected_gradients: {unconnected_gradients!r} "
                     "(TF's message); use 'none', 'zero' or dj.UnconnectedGradients.NONE / .ZERO.")


def _count(value, name, who):
    """A count argument (parallel_iterations, rows_per_chunk, workers): a positive
    integer, or None for the default; anything else is an error naming it."""
    if value is None:
        return None
    problem = f"dualjac.{who}: {name} must be a positive integer or None, got {value!r}"
    if isinstance(value, bool):          # an int to Python, but never a count
        raise TypeError(problem)
    try:
        count = operator.index(value)
    except TypeError:
        raise TypeError(f"{problem} ({type(value).__name__})") from None
    if count < 1:
        raise ValueError(problem)
    return count


def stop_gradient(x: ArrayLike) -> Array:
    """The values of x as a plain array: nothing is differentiated through it."""
    if isinstance(x, (_Jet, BandedJet, DeferredJet)):
        return np.array(x.value)
    return np.asarray(x)


# ---------------------------------------------------------------- source structures

def flatten(x):
    """Leaves of a list / tuple / dict nesting (TF's nest), and a function that
    rebuilds the same structure from new leaves."""
    if isinstance(x, dict):
        keys = sorted(x)
        parts = [flatten(x[k]) for k in keys]
        return _join(parts, lambda built: {k: v for k, v in zip(keys, built)})
    if isinstance(x, (list, tuple)):
        parts = [flatten(v) for v in x]
        kind = type(x)
        if hasattr(x, "_fields"):  # namedtuple
            return _join(parts, lambda built: kind(*built))
        return _join(parts, lambda built: kind(built))
    return [x], lambda leaves: leaves[0]


def _join(parts, make):
    leaves, counts = [], []
    for part_leaves, _ in parts:
        leaves.extend(part_leaves)
        counts.append(len(part_leaves))

    def rebuild(new_leaves):
        built, start = [], 0
        for (_, part_rebuild), count in zip(parts, counts):
            built.append(part_rebuild(new_leaves[start:start + count]))
            start += count
        return make(built)
    return leaves, rebuild


def native(array):
    """The array in native byte order (the kernels read native numbers only)."""
    if array.dtype.isnative:
        return array
    return array.astype(array.dtype.newbyteorder("="))


class Source:
    """One leaf of the source structure and its place in the seed space."""

    __slots__ = ("array", "shape", "size", "bit", "offset", "differentiable")

    def __init__(self, leaf, index, offset):
        leaf = _core.dense_leaf(leaf)
        self.array = leaf if isinstance(leaf, _Jet) else native(np.asarray(leaf))
        if self.array.ndim >= 64:    # its jet buffer would need a 65th axis
            raise _core.too_many_dimensions(self.array.ndim)
        self.shape = tuple(self.array.shape)
        self.size = math.prod(self.shape)
        self.bit = 1 << min(index, 63)   # connectivity bit (sources past 63 share one)
        self.offset = offset
        dtype = self.array.dtype
        self.differentiable = dtype.char in "fd"   # float32, float64
        if self.differentiable:
            return
        if dtype.kind in "biu":
            warnings.warn(f"The dtype of the watched source must be floating (e.g. float32), "
                          f"got {dtype}", stacklevel=4)
        elif not self.differentiable:
            raise TypeError(f"dualjac: sources must be float32 or float64 arrays, got {dtype} "
                            f"(from {type(leaf).__name__}) "
                            "(complex and half precision are not supported).")


def make_sources(leaves):
    sources, offset = [], 0
    for i, leaf in enumerate(leaves):
        source = Source(leaf, i, offset)
        sources.append(source)
        if source.differentiable:
            offset += source.size
    return sources, offset


# ---------------------------------------------------------------- seeding

def seed(array, n, tag, bit, first=0, lo=0, hi=-1, period=0):
    """array with identity seeds (see _core.seed_dual); a dual array (we are
    nested in another transform) becomes a hyper-dual with our seeds second."""
    if not isinstance(array, _Jet):
        return _core.seed_dual(array, n, tag, bit, first, lo, hi, period)
    _core.check_source(array, tag)     # a jet of a live outer transform, or refused
    if isinstance(array, HyperDualArray):
        raise NotImplementedError(
            "dualjac: a transform nested two deep inside other transforms would need "
            "third derivatives; dualjac supports two levels (hyper-dual numbers).")
    ours = _core.seed_dual(np.array(array.buf[..., 0]), n, tag, bit, first, lo, hi, period)
    return lift_inner(array, ours)


def lift_inner(outer, inner):
    """Hyper-dual from a dual of the outer level and one of the inner level."""
    n1, n2 = outer.n1, inner.n1
    buf = np.zeros(outer.shape + (1 + n1 + n2 + n1 * n2,), outer.dtype)
    buf[..., :1 + n1] = outer.buf
    buf[..., 1 + n1:1 + n1 + n2] = inner.buf[..., 1:]
    return _core.make_hyper(buf, n1, n2, outer.tag1, inner.tag1, outer.deps1, inner.deps1)


def seed_chunk(source, tag, lo, hi):
    """The source seeded with the part of global seeds [lo, hi) it owns."""
    if not source.differentiable:
        return source.array
    a = max(lo, source.offset)
    b = min(hi, source.offset + source.size)
    if a >= b:
        return seed(source.array, hi - lo, tag, source.bit, 0, 0, 0)
    return seed(source.array, hi - lo, tag, source.bit, a - lo, a - source.offset, b - source.offset)


# ---------------------------------------------------------------- reading the result

def as_target(y, who):
    y = _core.dense_leaf(y)    # a banded jet of an outer transform, as the jet it stands for
    if isinstance(y, np.ndarray) and y.dtype == object:
        raise TypeError(f"dualjac.{who}: f returned an object array (holding dual arrays?); "
                        "its derivatives cannot be read. Build the result with np.stack or "
                        "np.zeros(n, like=x) and item assignment.")
    if isinstance(y, (_Jet, np.ndarray, np.generic, float, int)):
        return y
    raise TypeError(f"dualjac.{who}: the target must be one array (f must return a single "
                    f"DualArray or ndarray), got {type(y).__name__}. Differentiate each "
                    "output separately, or stack them into one array.")


def derivative_at(y, tag):
    """(derivatives along our seeds, connectivity bits) of target y.

    The derivatives have element shape y.shape + (n,): a plain array, or a
    DualArray in the other level's seeds when y is a hyper-dual. (None, 0)
    when y does not depend on this transform's seeds at all. A jet y that no
    transform may read (stale, foreign, or built with the constructor inside
    this transform) is refused here, not read as unconnected.
    """
    _core.check_target(y, tag)
    if isinstance(y, DualArray):
        if y.tag1 == tag:
            return y.buf[..., 1:], y.deps1
    elif isinstance(y, HyperDualArray):
        n1, n2 = y.n1, y.n2
        if y.tag2 == tag:      # we are the inner level: d/d(inner) is a dual in the outer seeds
            buf = np.empty(y.shape + (n2, 1 + n1), y.dtype)
            buf[..., 0] = y.buf[..., 1 + n1:1 + n1 + n2]
            buf[..., 1:] = np.swapaxes(y.d12, -1, -2)
            return _core.make_dual(buf, y.tag1, y.deps1), y.deps2
        if y.tag1 == tag:      # we are the outer level while the inner one is live (tapes)
            buf = np.empty(y.shape + (n1, 1 + n2), y.dtype)
            buf[..., 0] = y.buf[..., 1:1 + n1]
            buf[..., 1:] = y.d12
            return _core.make_dual(buf, y.tag2, y.deps2), y.deps1
    return None, 0


def value_at(y, tag):
    """y without this transform's seeds (plain, or a dual of the other level)."""
    if isinstance(y, DualArray):
        return np.array(y.buf[..., 0]) if y.tag1 == tag else y
    if isinstance(y, HyperDualArray) and tag in (y.tag1, y.tag2):
        n1, n2 = y.n1, y.n2
        if y.tag2 == tag:
            return _core.make_dual(np.ascontiguousarray(y.buf[..., :1 + n1]), y.tag1, y.deps1)
        buf = np.concatenate([y.buf[..., :1], y.buf[..., 1 + n1:1 + n1 + n2]], -1)
        return _core.make_dual(buf, y.tag2, y.deps2)
    return y


new_tag = _core.new_tag


def seed_slice(d, a, b):
    """Seeds [a, b) of a derivative d (plain array or dual array)."""
    if isinstance(d, _Jet):
        return d.with_buffer(d.buf[..., a:b, :])
    return d[..., a:b]


def seed_block(d, start, stop, dtype):
    """Seeds [start, stop) of d, which may hold fewer seeds than stop: a jet
    computed before a source was watched has no (zero) derivatives for it."""
    n = d.shape[-1]
    if stop <= n:
        return seed_slice(d, start, stop)
    shape = tuple(d.shape[:-1]) + (stop - start,)
    if isinstance(d, _Jet):
        return d.with_buffer(np.zeros(shape + (d.ncomponents,), d.buf.dtype))
    return np.zeros(shape, dtype)


class SeedPieces:
    """A source's derivatives, gathered chunk by chunk along the seed axis.

    Plain derivatives are written into one preallocated array (no list of
    pieces and final concatenate: peak memory stays near the Jacobian's size).
    """

    def __init__(self, n):
        self.n = n
        self.array = None      # plain derivatives, target shape + (n,)
        self.jets = []         # dual derivatives (nested transforms), concatenated at the end

    def add(self, piece, start, stop):
        if isinstance(piece, _Jet):
            self.jets.append(piece)
            return
        if self.array is None:
            if start == 0 and stop == self.n:
                self.array = piece
                return
            self.array = np.empty(piece.shape[:-1] + (self.n,), piece.dtype)
        self.array[..., start:stop] = piece

    def __bool__(self):
        return self.array is not None or bool(self.jets)

    def result(self):
        if self.array is not None:
            return self.array
        if len(self.jets) == 1:
            return self.jets[0]
        return self.jets[0].with_buffer(np.concatenate([p.buf for p in self.jets], axis=-2))


def shaped(d, shape):
    """Derivative with its seed axis unflattened into the source shape."""
    if isinstance(d, _Jet):
        return d.with_buffer(np.ascontiguousarray(d.buf).reshape(shape + (d.ncomponents,)))
    return np.ascontiguousarray(d).reshape(shape)


def unconnected(zero, shape, y):
    """TF's unconnected_gradients="zero": zeros in the target's dtype (docs/semantics.md)."""
    if not zero:
        return None
    return np.zeros(shape, dtype=_dtype_of(y))


def derivative_dtype(source_dtype, y):
    """TF's rule: a derivative has its source's dtype, whatever dtype f computes
    or returns in (the gradient of a cast is cast back). y's dtype for a source
    that is not float32 / float64 (or not known)."""
    if source_dtype is not None and np.dtype(source_dtype).char in "fd":
        return np.dtype(source_dtype)
    return _dtype_of(y)


def in_dtype(d, dtype):
    """A plain derivative array in dtype (jets of a nested transform stay as they are)."""
    if isinstance(d, np.ndarray) and d.dtype != dtype:
        return d.astype(dtype)
    return d


def _dtype_of(y):
    return y.dtype if isinstance(y, _Jet) else np.asarray(y).dtype


# ---------------------------------------------------------------- the sweep

def chunks(n, parallel_iterations):
    if parallel_iterations is None:
        if n <= CHUNK_THRESHOLD:
            return ((0, n),)
        size = CHUNK_SIZE
    else:
        size = parallel_iterations      # a positive int: every transform checks it (_count)
    return [(lo, min(lo + size, n)) for lo in range(0, max(n, 1), size)] if n else [(0, 0)]


def sweep(f, x, parallel_iterations, who, post=None):
    """Evaluate f once per seed chunk; return (sources, rebuild, target, per-source
    derivative pieces, connectivity bits)."""
    leaves, rebuild = flatten(x)
    sources, n = make_sources(leaves)
    pieces = [SeedPieces(s.size) for s in sources]
    target, deps = None, 0
    for lo, hi in chunks(n, parallel_iterations):
        with _core.LiveTags("dj." + who) as tag:
            y = as_target(f(rebuild([seed_chunk(s, tag, lo, hi) for s in sources])), who)
            if post is not None:
                y = post(y)
            d, deps = derivative_at(y, tag)
            if target is None:
                target = value_at(y, tag)
        for source, collected in zip(sources, pieces):
            a, b = max(lo, source.offset), min(hi, source.offset + source.size)
            if d is not None and source.differentiable and a < b:
                collected.add(seed_slice(d, a - lo, b - lo), a - source.offset, b - source.offset)
    return sources, rebuild, target, pieces, deps


def assemble(sources, target, pieces, deps, zero):
    results = []
    shape = np.shape(target.buf[..., 0] if isinstance(target, _Jet) else target)
    for source, collected in zip(sources, pieces):
        out_shape = shape + source.shape
        dtype = derivative_dtype(source.array.dtype, target)
        if source.differentiable and deps & source.bit:
            if collected:
                results.append(in_dtype(shaped(collected.result(), out_shape), dtype))
            else:  # an empty source: nothing to seed, but connected
                results.append(np.zeros(out_shape, dtype))
        else:
            results.append(unconnected(zero, out_shape, target))
    return results


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
        found = _core.jacobian_one(f, x)     # banded, or one small dense sweep: in C
        if found is not _NO_FAST_PATH:
            return _finished(found, x, zero)
        if (type(x) is np.ndarray and x.dtype.char in "fd" and x.dtype.isnative
                and x.size <= CHUNK_THRESHOLD):
            return with_block_cache(_sweep_bytes(x.size, x.size), _jacobian_of_one_array,
                                    f, x, zero)
        structured = _structured.value_and_jacobian(f, x)
        if structured is not None:
            return structured[1]
    return _swept(f, x, zero, parallel_iterations)[1]


_NO_FAST_PATH, _UNFINISHED = _core.NO_FAST_PATH, _core.Unfinished
# _core.jacobian_one takes sources whose one sweep needs no block cache.
_core.set_fast_path_limits(CHUNK_THRESHOLD, LARGE_SWEEP_BYTES)


def _finished(found, x, zero):
    """jacobian_one's answer: the Jacobian, or f's output in an uncommon form (unconnected,
    plain, other levels) with its tag still live, read here the general way."""
    if type(found) is not _UNFINISHED:
        return found
    with found:
        return _finish_one_source(found.output, found.tags[0], x, zero)


def _jacobian_of_one_array(f, x, zero):
    """One float array, one sweep, one copy out, under the block cache (the
    largest sources of the unchunked case; _core.jacobian_one takes the others)."""
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


def batch_jacobian(f: ArrayFunction, x: ArrayLike, *, unconnected_gradients: Unconnected = "none",
                   parallel_iterations: int | None = None, check_independence: bool | int = False,
                   rows_per_chunk: int | None = None, workers: int | None = None) -> Array:
    """TF's tape.batch_jacobian: x [b, X...], f(x) [b, Y...] -> [b, Y..., X...],
    out[i, y..., x...] = d f(x)[i, y...] / d x[i, x...].

    One sweep with prod(X) seeds shared by all rows (cost linear in b). Rows
    must be independent (f(x)[i] depends on x[i] only): with dependent rows the
    result is silently meaningless (in TF too). check_independence=True (or a
    number of rows) also computes the full Jacobian with respect to the first
    few rows and raises ValueError if any other row depends on them.
    Unconnected gives zeros whatever unconnected_gradients says, as in TF.

    rows_per_chunk=c evaluates f on c rows at a time, and workers=k on k threads
    at once (large kernels release the GIL): f must accept any number of rows.
    Measured (docs/performance.md): two workers 1.4x faster at 10^5 rows, 2.1x at 10^6.

    Sources of >= dj.set_deferred_threshold() elements reach f as a DeferredJet:
    its elementwise work runs later, in chunks (docs/structure.md, "Deferred jets"); f is
    evaluated a second time, on ordinary jets, if it writes into a jet.
    """
    _zero_mode(unconnected_gradients)  # validate the spelling
    parallel_iterations = _count(parallel_iterations, "parallel_iterations", "batch_jacobian")
    rows_per_chunk = _count(rows_per_chunk, "rows_per_chunk", "batch_jacobian")
    check_independence = _independence_rows(check_independence)
    check_callable(f, "batch_jacobian")
    workers = _count(workers, "workers", "batch_jacobian")
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
    differentiable = Source(source, 0, 0).differentiable
    pieces, target_shape = SeedPieces(m), None
    for lo, hi in chunks(m, parallel_iterations):
        with _core.LiveTags("dj.batch_jacobian") as tag:
            y = _core.NEEDS_DENSE
            if (lo, hi) == (0, m) and differentiable and not isinstance(source, _Jet) \
                    and _core.defers(source.size, 1 + m):   # f's elementwise work run in chunks (_deferred.pxi)
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


def check_callable(f, who):
    if not callable(f):
        raise TypeError(f"dualjac.{who}: f must be a function of x, got {type(f).__name__} "
                        f"({f!r:.60}); pass the function itself, e.g. dj.{who}(f, x).")


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
    along the batch axis (valid because rows are independent)."""
    batch, workers = source.shape[0], workers or 1
    rows = rows_per_chunk or -(-batch // workers)
    blocks = [source[i:i + rows] for i in range(0, batch, max(rows, 1))]
    if workers > 1 and len(blocks) > 1 and not getattr(_in_row_block, "active", False):
        results = list(_executor(workers).map(_as_row_block(transform), blocks))
    else:
        results = [transform(block) for block in blocks]
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


def check_batch(y, source_shape):
    """TF's batch checks, with a clear error where TF raises IndexError."""
    shape = tuple(y.shape) if isinstance(y, _Jet) else np.shape(y)
    if len(shape) == 0:
        raise ValueError("dualjac.batch_jacobian: the target is a scalar; it must have "
                         f"the batch axis first, shape ({source_shape[0]}, ...).")
    if shape[0] != source_shape[0]:
        raise ValueError(f"Need first dimension of target shape ({shape}) and source "
                         f"shape ({source_shape}) to match.")


def jvp(f: Function, x: Leaf | Nest, v: ArrayLike | Nest) -> tuple[Array, Array]:
    """(f(x), J v): one sweep with the single seed direction v (same structure as x)."""
    check_callable(f, "jvp")
    if not isinstance(x, (dict, list, tuple)) and isinstance(v, (list, tuple)):
        v = np.asarray(v)     # one array's direction, spelled as a list of numbers
    _check_direction_structure(x, v, "jvp")
    leaves, rebuild = flatten(x)
    directions, _ = flatten(v)
    if len(directions) != len(leaves):
        raise ValueError("dualjac.jvp: v must have the same structure as x")
    with _core.LiveTags("dj.jvp") as tag:
        seeded = [_seed_direction(leaf, direction, tag, 1 << min(i, 63))
                  for i, (leaf, direction) in enumerate(zip(leaves, directions))]
        y = as_target(f(rebuild(seeded)), "jvp")
        d, _ = derivative_at(y, tag)
        value = value_at(y, tag)
    if d is None:
        return value, np.zeros(np.shape(value.buf[..., 0] if isinstance(value, _Jet) else value),
                               _dtype_of(value))
    return value, (d[..., 0] if not isinstance(d, _Jet) else d.with_buffer(d.buf[..., 0, :]))


def _check_direction_structure(x, v, who, where=""):
    """v (a direction) must nest as x does: the same dict keys (leaves are paired
    by sorted key), list and tuple lengths, and no None where x has an array."""
    if v is None:
        raise TypeError(f"dualjac.{who}: v{where} is None; pass the direction, an array "
                        f"of x{where}'s shape (the same structure as x for structured x).")
    if isinstance(x, dict):
        if not isinstance(v, dict) or set(v) != set(x):
            got = sorted(v, key=repr) if isinstance(v, dict) else type(v).__name__
            raise ValueError(f"dualjac.{who}: v{where} must be a dict with x{where}'s keys "
                             f"{sorted(x, key=repr)}, got {got}.")
        for key in x:
            _check_direction_structure(x[key], v[key], who, f"{where}[{key!r}]")
    elif isinstance(x, (list, tuple)):
        if not isinstance(v, (list, tuple)) or len(v) != len(x):
            got = f"length {len(v)}" if isinstance(v, (list, tuple)) else type(v).__name__
            raise ValueError(f"dualjac.{who}: v{where} must be a list or tuple of "
                             f"{len(x)} directions, as x{where} is; got {got}.")
        for k, (xk, vk) in enumerate(zip(x, v)):
            _check_direction_structure(xk, vk, who, f"{where}[{k}]")
    else:
        _check_direction_shape(x, v, who, where)


def _check_direction_shape(leaf, direction, who, where=""):
    shape, got = _shape_of(leaf), _shape_of(direction)
    if got != shape:
        raise ValueError(f"dualjac.{who}: v{where} must have x{where}'s shape {shape}, "
                         f"got {got}.")


def _shape_of(a):
    return tuple(a.shape) if isinstance(a, (_Jet, BandedJet, DeferredJet)) else np.shape(a)


def _seed_direction(leaf, direction, tag, bit):
    leaf = _core.dense_leaf(leaf)   # a stand-in jet of an outer transform, as the jet it stands for
    array = leaf if isinstance(leaf, _Jet) else native(np.asarray(leaf))
    Source(array, 0, 0)  # dtype checks
    _core.check_source(array, tag)
    value = np.array(array.buf[..., 0]) if isinstance(array, _Jet) else array
    direction = np.broadcast_to(np.asarray(direction, dtype=value.dtype), value.shape)
    ours = _core.make_dual(np.ascontiguousarray(np.stack([value, direction], -1)), tag, bit)
    return lift_inner(array, ours) if isinstance(array, _Jet) else ours


# ---------------------------------------------------------------- second order (hyper-duals)

def _seed_hyper(source, directions1, directions2, tag1, tag2):
    """A hyper-dual source: d1 and d2 given per element as [m, n1] / [m, n2]
    matrices (identity rows for Hessians, a vector for hvp), d12 = 0."""
    array = _plain_source(source, "second-order transforms")
    m = array.size
    n1, n2 = directions1.shape[1], directions2.shape[1]
    buf = np.zeros((m, 1 + n1 + n2 + n1 * n2), array.dtype)
    buf[:, 0] = array.ravel()
    buf[:, 1:1 + n1] = directions1
    buf[:, 1 + n1:1 + n1 + n2] = directions2
    buf = buf.reshape(array.shape + (buf.shape[-1],))
    return _core.make_hyper(buf, n1, n2, tag1, tag2, 1, 1)


def _plain_source(x, who):
    x = _core.dense_leaf(x)
    if isinstance(x, _Jet):
        _core.check_source(x, 0, who)    # a stale or foreign jet: that, not nesting
        raise NotImplementedError(
            f"dualjac: {who} inside another transform would need third derivatives; "
            "dualjac supports two levels of nesting (hyper-dual numbers). Differentiate "
            "the Hessian's entries numerically, or restructure to two levels.")
    array = native(np.asarray(x))
    if not Source(array, 0, 0).differentiable:
        raise TypeError(f"dualjac: {who} need a float32 or float64 source, got {array.dtype}")
    return array


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


def _hessian_bytes(elements, n):
    return _sweep_bytes(elements, n, 1 + n + n * (n + 1) // 2)


def _hessian_sweep(f, array, period, who):
    """One sweep on a Hessian jet (both seed sets the identity, stored once, the
    cross block as its upper triangle: _core.seed_symmetric): (target, gradient
    parts Y + (n,), Hessian Y + (n, n)). period > 0: per-row seeds (batches)."""
    if period == 0 and 0 < _core.get_banded_threshold()[1] <= array.size:
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
    H = _core.hessian_one(f, x)     # one float array, banded or small dense: in C
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


def _finish_hessian(y, tag1, tag2, array):
    """hessian_one's reading of an uncommon result (unconnected, plain, odd levels)."""
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


def batch_hessian(f: ArrayFunction, x: ArrayLike, *, rows_per_chunk: int | None = None,
                  workers: int | None = None) -> Array:
    """x [b, X...], f(x) [b] or [b, Y...] -> [b, Y..., X..., X...]: per-row
    Hessians with prod(X) seeds shared by all rows (cost linear in b).
    rows_per_chunk / workers, and deferred jets for large sources, as in batch_jacobian
    (f must accept any number of rows)."""
    check_callable(f, "batch_hessian")
    rows_per_chunk = _count(rows_per_chunk, "rows_per_chunk", "batch_hessian")
    workers = _count(workers, "workers", "batch_hessian")
    array = _plain_source(x, "dj.batch_hessian")
    if array.ndim < 2:
        raise ValueError(f"Shape {array.shape} must have rank at least 2")
    if _split_rows(array.shape[0], rows_per_chunk, workers):
        return in_row_blocks(lambda rows: batch_hessian(f, rows), array, rows_per_chunk, workers)
    m = math.prod(array.shape[1:])
    return with_block_cache(_hessian_bytes(array.size, m), _batch_hessian_sweep, f, array, m)


def _batch_hessian_sweep(f, array, m):
    """batch_hessian's one sweep; the result is read out inside the block-cache
    scope too, so its buffer is a reused block (a fresh one page-faults in:
    1e4 rows of 3 variables, 31 -> ~10 us)."""
    with _core.LiveTags("dj.batch_hessian", 2) as (tag1, tag2):
        return _batch_hessian_read(f, array, m, tag1, tag2)


def _batch_hessian_read(f, array, m, tag1, tag2):
    row_shape = array.shape[1:]
    y = _core.NEEDS_DENSE
    if _core.defers(array.size, 1 + m + m * (m + 1) // 2):   # elementwise work run in chunks (_deferred.pxi)
        array = _core.own_copy(array)     # see _deferred_sweep
        H, y = _deferred_sweep(f, array, lambda rows: _core.seed_symmetric(rows, tag1, tag2, 1, m),
                               (tag1, tag2), row_shape + row_shape)
        if H is not None:
            return in_dtype(H, array.dtype)
    if y is _core.NEEDS_DENSE:
        y = f(_core.seed_symmetric(array, tag1, tag2, 1, m))
    y = as_target(y, "batch_hessian")
    check_batch(y, array.shape)
    shape = _shape(y) + row_shape + row_shape
    if isinstance(y, HyperDualArray) and (y.tag1, y.tag2) == (tag1, tag2):
        return in_dtype(_core.unpack_symmetric(y, shape), array.dtype)
    _core.check_target(y, tag2)
    return np.zeros(shape, array.dtype)
