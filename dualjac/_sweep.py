"""What every transform shares: one forward sweep, from sources to derivatives.

Sources (a list / tuple / dict nesting of arrays, flattened into leaves that each
own a block of the flattened seed space), seeding (identity seeds; a source that
is already a jet of an enclosing transform is lifted to a hyper-dual), reading a
result at a transform's tag (derivatives, values, connectivity bits, and TF's
rules for unconnected sources and derivative dtypes), the chunked sweep and its
assembly, the block-cache helper, and the argument checks the transforms share.

It imports ``_core`` only: the transforms (``api.py``, ``_batch.py``,
``_second_order.py``, ``_settings.py``) and ``tape.py`` build on it, never the
other way round (tests/test_module_layout.py checks that).
"""

from __future__ import annotations

import enum
import math
import operator
import warnings
from typing import Literal, Union

import numpy as np

from . import _core
from ._core import STAND_IN_JETS, DualArray, HyperDualArray, _Jet


from ._policy import CHUNK_SIZE, CHUNK_THRESHOLD, LARGE_SWEEP_BYTES  # noqa: F401 (the transforms' names)


def with_block_cache(nbytes, run, *args):
    """run(*args), with the block cache installed when nbytes is large."""
    if nbytes < LARGE_SWEEP_BYTES:
        return run(*args)
    previous = _core.use_block_cache()
    try:
        return run(*args)
    finally:
        _core.restore_memory_handler(previous)


def _sweep_bytes(total_elements, seeds, components=None):
    """Bytes of one seeded buffer: elements x (1 + seeds) numbers (or components)."""
    return total_elements * (components if components is not None else 1 + seeds) * 8


def _hessian_bytes(elements, n):
    return _sweep_bytes(elements, n, 1 + n + n * (n + 1) // 2)


# The answers of the compiled ways of dj.jacobian / dj.hessian besides a result: not a
# source they take, f must run on dense jets (banded ways), or f's output in an uncommon
# form for the transform to read.
_NO_FAST_PATH, _NEEDS_DENSE, _UNFINISHED = _core.NO_FAST_PATH, _core.NEEDS_DENSE, _core.Unfinished


# ---------------------------------------------------------------- arguments the transforms share

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


def check_callable(f, who):
    if not callable(f):
        raise TypeError(f"dualjac.{who}: f must be a function of x, got {type(f).__name__} "
                        f"({f!r:.60}); pass the function itself, e.g. dj.{who}(f, x).")


def check_batch(y, source_shape, who="batch_jacobian"):
    """TF's batch checks, with a clear error where TF raises IndexError."""
    shape = tuple(y.shape) if isinstance(y, _Jet) else np.shape(y)
    if len(shape) == 0:
        raise ValueError(f"dualjac.{who}: the target is a scalar; it must have "
                         f"the batch axis first, shape ({source_shape[0]}, ...).")
    if shape[0] != source_shape[0]:
        raise ValueError(f"Need first dimension of target shape ({shape}) and source "
                         f"shape ({source_shape}) to match.")


def _check_direction_structure(x, v, who, where="", batched=False):
    """v (a direction) must nest as x does: the same dict keys (leaves are paired
    by sorted key), list and tuple lengths, and no None where x has an array.
    batched: every leaf of v holds k directions along a new first axis, the same k
    for all leaves (returned; None without batched)."""
    _check_nesting(x, v, who, where, batched)
    directions, _ = flatten(v)
    if any(np.iscomplexobj(d) for d in directions):
        raise TypeError(f"dualjac.{who}: v holds complex numbers; directions are float32 or "
                        "float64, as sources are (complex is not supported). Take the real and "
                        "imaginary parts as two directions (batched=True: "
                        "np.stack([v.real, v.imag])).")
    if not batched:
        return None
    counts = {_shape_of(d)[0] for d in directions}
    if len(counts) > 1:
        raise ValueError(f"dualjac.{who}: with batched=True every leaf of v holds the same "
                         f"number k of directions along its first axis; got k = "
                         f"{sorted(counts)}.")
    return counts.pop() if counts else 0


def _check_nesting(x, v, who, where, batched):
    if v is None:
        raise TypeError(f"dualjac.{who}: v{where} is None; pass the direction, an array "
                        f"of x{where}'s shape (the same structure as x for structured x).")
    if isinstance(x, dict):
        if not isinstance(v, dict) or set(v) != set(x):
            got = sorted(v, key=repr) if isinstance(v, dict) else type(v).__name__
            raise ValueError(f"dualjac.{who}: v{where} must be a dict with x{where}'s keys "
                             f"{sorted(x, key=repr)}, got {got}.")
        for key in x:
            _check_nesting(x[key], v[key], who, f"{where}[{key!r}]", batched)
    elif isinstance(x, (list, tuple)):
        if not isinstance(v, (list, tuple)) or len(v) != len(x):
            got = f"length {len(v)}" if isinstance(v, (list, tuple)) else type(v).__name__
            raise ValueError(f"dualjac.{who}: v{where} must be a list or tuple of "
                             f"{len(x)} directions, as x{where} is; got {got}.")
        for k, (xk, vk) in enumerate(zip(x, v)):
            _check_nesting(xk, vk, who, f"{where}[{k}]", batched)
    else:
        _check_direction_shape(x, v, who, where, batched)


def _check_direction_shape(leaf, direction, who, where="", batched=False):
    shape, got = _shape_of(leaf), _shape_of(direction)
    if not batched and got != shape:
        raise ValueError(f"dualjac.{who}: v{where} must have x{where}'s shape {shape}, "
                         f"got {got}.")
    if batched and (len(got) != len(shape) + 1 or got[1:] != shape):
        expected = "(k, " + "".join(f"{d}, " for d in shape).rstrip(", ") + ")"
        raise ValueError(f"dualjac.{who}: with batched=True, v{where} holds k directions "
                         f"along a new first axis: shape {expected.replace(', )', ',)')} "
                         f"for x{where} of shape {shape}; got {got}.")


def _shape_of(a):
    return tuple(a.shape) if isinstance(a, (_Jet, *STAND_IN_JETS)) else np.shape(a)


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


def differentiable_source(array):
    """Source(array, 0, 0).differentiable (its warning or error for other dtypes), with
    a shortcut for a float array."""
    if type(array) is np.ndarray and array.dtype.char in "fd" and array.ndim < 64:
        return True
    return Source(array, 0, 0).differentiable


def make_sources(leaves):
    sources, offset = [], 0
    for i, leaf in enumerate(leaves):
        source = Source(leaf, i, offset)
        sources.append(source)
        if source.differentiable:
            offset += source.size
    return sources, offset


def _plain_source(x, who):
    x = _core.dense_leaf(x)
    if isinstance(x, _Jet):
        _core.check_source(x, 0, who)    # a stale or foreign jet: that, not nesting
        raise NotImplementedError(
            f"dualjac: {who} inside another transform would need third derivatives; "
            "dualjac supports two levels of nesting (hyper-dual numbers). Differentiate "
            "the Hessian's entries numerically, or restructure to two levels.")
    array = native(np.asarray(x))
    if not differentiable_source(array):
        raise TypeError(f"dualjac: {who}: the source must be float32 or float64, got "
                        f"{array.dtype}")
    return array


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


def is_structure(x):
    """A list / tuple / dict nesting of sources (TF's nest, JAX's pytree), not one array."""
    return isinstance(x, (dict, list, tuple))


class Leaves:
    """The leaves of a source structure as plain float arrays, each owning the block
    [offset, offset + size) of one flattened seed space; with rows=True (batch
    transforms) every leaf has the batch axis first and its seeds are those of a row."""

    def __init__(self, x, who, rows=False):
        leaves, self.rebuild = flatten(x)
        self.arrays = [_plain_source(leaf, who) for leaf in leaves]
        if rows:
            check_rows(self.arrays, x, who)
        self.shapes, self.sizes, self.offsets = [], [], []
        self.n = self.elements = 0
        for a in self.arrays:
            shape = a.shape[1:] if rows else a.shape
            size = math.prod(shape)
            self.shapes.append(shape)
            self.sizes.append(size)
            self.offsets.append(self.n)
            self.n += size
            self.elements += a.size

    def blocks(self, d, lead):
        """Seeds of each leaf from d [..., n] as arrays lead + leaf shape, in x's structure."""
        return self.rebuild([in_dtype(np.ascontiguousarray(d[..., o:o + s]).reshape(lead + shape), a.dtype)
                             for a, o, s, shape in self._each()])

    def hessian_blocks(self, H, lead):
        """H [..., n, n] as JAX's nested structure: block [a][b] of shape lead + a's
        shape + b's shape, in the dtype NumPy promotes a's and b's dtypes to."""
        return self.rebuild([
            self.rebuild([in_dtype(np.ascontiguousarray(H[..., oa:oa + sa, ob:ob + sb])
                                   .reshape(lead + shape_a + shape_b),
                                   np.result_type(a.dtype, b.dtype))
                          for b, ob, sb, shape_b in self._each()])
            for a, oa, sa, shape_a in self._each()])

    def _each(self):
        return zip(self.arrays, self.offsets, self.sizes, self.shapes)

    def seed_hessian(self, tag1, tag2):
        """The leaves as Hessian jets sharing one seed space, in x's structure."""
        return self.rebuild([seed_hessian_leaf(a, self.n, o, s, tag1, tag2, 1 << min(i, 63))
                             for i, (a, o, s, _) in enumerate(self._each())])


def check_rows(arrays, x, who):
    """Batch transforms of a structure: every leaf of rank >= 2, one batch size."""
    paths = _leaf_paths(x)
    for array, path in zip(arrays, paths):
        if len(array.shape) < 2:
            raise ValueError(f"Shape {tuple(array.shape)} of x{path} must have rank at least 2 "
                             f"({who}: every source has the batch axis first)")
    batches = {array.shape[0] for array in arrays}
    if len(batches) > 1:
        sizes = ", ".join(f"x{path}: {array.shape[0]}" for array, path in zip(arrays, paths))
        raise ValueError(f"{who}: the sources of a structure must share the batch axis "
                         f"(their first dimension); got {sizes}.")


def _leaf_paths(x, where=""):
    """Each leaf's place in x ("['a'][0]"), in flatten's order."""
    if isinstance(x, dict):
        return [p for k in sorted(x) for p in _leaf_paths(x[k], f"{where}[{k!r}]")]
    if isinstance(x, (list, tuple)):
        return [p for i, v in enumerate(x) for p in _leaf_paths(v, f"{where}[{i}]")]
    return [where]


def seed_hessian_leaf(array, n, offset, row_size, tag1, tag2, bit):
    """A Hessian jet (both seed sets equal, the cross block stored as its upper triangle)
    for one leaf of a structure: element r of each row of row_size elements (the whole
    leaf for the full Hessian) is seeded along seed offset + r of n; H = 0."""
    components = 1 + n + n * (n + 1) // 2
    buf = np.zeros(array.shape + (components,), array.dtype)
    if array.size:
        rows = buf.reshape(-1, row_size, components)
        rows[..., 0] = array.reshape(-1, row_size)
        r = np.arange(row_size)
        rows[:, r, 1 + offset + r] = 1
    return _core.make_symmetric(buf, n, tag1, tag2, bit)


def seed_directions_leaf(array, n, offset, directions, tag1, tag2, bit):
    """A hyper-dual for one leaf of a structure: the identity along seeds [offset,
    offset + size) of n first, k given directions [size, k] second (hvp's seeds)."""
    m, k = array.size, directions.shape[1]
    components = 1 + n + k + n * k
    buf = np.zeros((m, components), array.dtype)
    buf[:, 0] = array.ravel()
    buf.reshape(-1)[1 + offset::components + 1][:m] = 1    # element i: seed offset + i
    buf[:, 1 + n:1 + n + k] = directions
    return _core.make_hyper(buf.reshape(array.shape + (components,)), n, k, tag1, tag2, bit, bit)


def hessian_parts(y, tag1, tag2, n, who):
    """(target, gradient parts Y + (n,), Hessian Y + (n, n)) of a dense target y
    of a Hessian-jet sweep tagged (tag1, tag2); zeros when y does not depend on it."""
    y = as_target(y, who)
    if isinstance(y, HyperDualArray) and (y.tag1, y.tag2) == (tag1, tag2):
        shape = tuple(y.shape)
        return (np.array(y.buf[..., 0]), np.array(y.buf[..., 1:1 + n]),
                _core.unpack_symmetric(y, shape + (n, n)))
    return unconnected_second_order(y, n, n, tag2, who)


def unconnected_second_order(y, n1, n2, tag, who):
    _core.check_target(y, tag)    # a stale, foreign or misplaced jet: its own error
    if isinstance(y, _Jet):
        raise NotImplementedError(f"dualjac.{who}: f mixed in derivatives of another transform")
    y = np.asarray(y)
    return y, np.zeros(y.shape + (n1,), y.dtype), np.zeros(y.shape + (n1, n2), y.dtype)


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
