"""dj.GradientTape: TensorFlow's tape, forward mode underneath.

    with dj.GradientTape() as tape:
        x = tape.watch(x)            # the seeded array to compute with
        y = f(x)
    tape.jacobian(y, x)              # x: the watched array or the original one

A tape owns one tag and a seed space. ``watch`` hands each source the next
block of seeds (prod(shape) of them, or prod(shape[1:]) per row with
``batch=True``); the derivatives are already in ``y`` when the with-block ends,
and ``jacobian`` / ``gradient`` / ``batch_jacobian`` only read them out.

NumPy arrays cannot be watched in place, so ``watch`` returns the array to use.
Nested tapes work as in TF (second order through hyper-duals); rebinding one
name at each level (``x = outer.watch(x)`` then ``x = inner.watch(x)``) is
understood: the outer tape accepts the inner-watched x as its own source.
"""

from __future__ import annotations

import contextvars
import warnings
import weakref
from typing import Any, Literal, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike

from . import _core, _sweep
from ._core import _Jet
from ._sweep import Unconnected, Zero
from ._types import Array, Leaf, Nest

_Sources = TypeVar("_Sources")

NON_PERSISTENT = ("A non-persistent GradientTape can only be used to compute one set of "
                  "gradients (or jacobians)")

# Tapes inside their with-block, innermost last (thread- and task-local).
_recording = contextvars.ContextVar("dualjac_recording_tapes", default=())
# tag -> tape, to know whether another level's tape still records.
_tapes_by_tag = weakref.WeakValueDictionary()


class _Watched:
    """A watched source: its seeds [start, stop) in the tape's seed space."""

    def __init__(self, seeded, shape, start, stop, bit, batch, differentiable):
        self.seeded = seeded
        self.shape = shape
        self.start, self.stop = start, stop
        self.bit = bit
        self.batch = batch
        self.differentiable = differentiable


class GradientTape:
    """Record derivatives of computations on watched arrays (TF's tf.GradientTape).

    persistent: allow more than one jacobian / gradient call.
    watch_accessed_variables: accepted for TF compatibility; there are no
    variables in NumPy code, so only explicitly watched arrays are sources.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self._persistent = persistent
        # The tape's seeds are read for as long as the tape exists: its tag is live
        # until then (jets kept longer are refused where they meet other jets).
        self._tag = _sweep.new_tag("dj.GradientTape")
        _core.hold_tag(self._tag)
        weakref.finalize(self, _core.release_tag, self._tag)
        self._seeds = 0           # seeds handed out so far
        self._count = 0           # sources watched so far
        self._records = {}        # id(array) -> _Watched (originals, seeded arrays, aliases)
        self._referents = []      # keeps those arrays alive, so their ids stay theirs
        self._used = False
        self._tokens = []
        _tapes_by_tag[self._tag] = self

    # -- recording
    def __enter__(self) -> GradientTape:
        self._tokens.append(_recording.set(_recording.get() + (self,)))
        return self

    def __exit__(self, *exc_info: object) -> Literal[False]:
        _recording.reset(self._tokens.pop())
        return False

    @property
    def recording(self) -> bool:
        return self in _recording.get()

    def watch(self, x: _Sources, batch: bool = False) -> _Sources:
        """Seed x (an array, or a list / tuple / dict nesting of arrays) and
        return it, seeded, in the same structure: compute with what it returns
        (typed as x: the dual arrays stand in for x's arrays in NumPy code).

        batch=True seeds prod(x.shape[1:]) directions shared by all rows, for
        an efficient ``batch_jacobian`` (cost linear in the batch size).
        """
        leaves, rebuild = _sweep.flatten(x)
        return rebuild([self._watch_leaf(leaf, batch) for leaf in leaves])

    def _watch_leaf(self, leaf, batch):
        leaf = _core.dense_leaf(leaf)    # a banded jet of an enclosing transform
        known = self._lookup(leaf)
        if known is not None:
            return known.seeded          # watching twice is a no-op, as in TF
        array = leaf if isinstance(leaf, _Jet) else _sweep.native(np.asarray(leaf))
        differentiable = _sweep.differentiable_source(array)
        shape = tuple(array.shape)
        if batch and len(shape) < 2:
            raise ValueError(f"Shape {shape} must have rank at least 2")
        size = int(np.prod(shape[1:] if batch else shape, dtype=np.int64))
        start = self._seeds
        bit = 1 << min(self._count, 63)   # connectivity bit (sources past 63 share one)
        self._count += 1
        if differentiable:
            self._seeds += size
            if isinstance(array, _Jet) and array.order == 1 and array.tag1 == self._tag:
                seeded = self._reseed(array, bit, start, size, batch)
            else:
                seeded = _sweep.seed(array, self._seeds, self._tag, bit, start, 0, size,
                                     size if batch else 0)
        else:
            seeded = array
        record = _Watched(seeded, shape, start, start + size, bit, batch, differentiable)
        self._remember(leaf, record)
        self._remember(seeded, record)
        for tape in _recording.get():   # an outer tape knows the re-watched array too
            if tape is not self and tape._lookup(leaf) is not None:
                tape._remember(seeded, tape._lookup(leaf))
        return seeded

    def _reseed(self, jet, bit, start, size, batch):
        """A value computed from this tape's sources, watched (TF allows it): its own seeds
        added after the derivatives it carries, which stay (so d target / d x still runs
        through it)."""
        own = _sweep.seed(np.array(jet.buf[..., 0]), self._seeds, self._tag, bit, start, 0,
                          size, size if batch else 0)
        buf = own.buf.copy()
        buf[..., 1:1 + jet.n1] = jet.buf[..., 1:]
        return _core.make_dual(buf, self._tag, own.deps1 | jet.deps1)

    def _remember(self, array, record):
        self._records[id(array)] = record
        self._referents.append(array)

    def _lookup(self, array):
        return self._records.get(id(array))

    def watched(self) -> list[Any]:
        """The seeded arrays, in watch order."""
        seen, out = set(), []
        for record in self._records.values():
            if id(record) not in seen:
                seen.add(id(record))
                out.append(record.seeded)
        return out

    # -- reading derivatives out
    def _begin(self, experimental_use_pfor=True):
        if not experimental_use_pfor and not self._persistent:
            raise RuntimeError("GradientTape must be created with persistent=True to compute "
                               "the jacobian with experimental_use_pfor=False.")
        if self._used and not self._persistent:
            raise RuntimeError(NON_PERSISTENT)
        self._used = True

    @overload
    def jacobian(self, target: ArrayLike, sources: Leaf, unconnected_gradients: Zero,
                 parallel_iterations: int | None = None,
                 experimental_use_pfor: bool = True) -> Array: ...
    @overload
    def jacobian(self, target: ArrayLike, sources: Leaf, unconnected_gradients: Unconnected = "none",
                 parallel_iterations: int | None = None,
                 experimental_use_pfor: bool = True) -> Array | None: ...
    @overload
    def jacobian(self, target: ArrayLike, sources: Nest, unconnected_gradients: Unconnected = "none",
                 parallel_iterations: int | None = None, experimental_use_pfor: bool = True) -> Any: ...
    def jacobian(self, target: ArrayLike, sources: Any, unconnected_gradients: Unconnected = "none",
                 parallel_iterations: int | None = None, experimental_use_pfor: bool = True) -> Any:
        """d target / d source for every source: target.shape + source.shape,
        in the structure of ``sources`` (TF's tape.jacobian).

        parallel_iterations is accepted and has no effect: the derivatives were
        computed when the tape recorded (dj.jacobian(..., parallel_iterations=k)
        re-evaluates f in chunks of k seeds instead)."""
        _sweep._count(parallel_iterations, "parallel_iterations", "GradientTape.jacobian")
        self._begin(experimental_use_pfor)
        zero = _sweep._zero_mode(unconnected_gradients)
        target = _sweep.as_target(target, "GradientTape.jacobian")
        d, deps = _sweep.derivative_at(target, self._tag)
        leaves, rebuild = _sweep.flatten(sources)
        target_shape = _shape(target)
        results = []
        for leaf in leaves:
            record = self._lookup(leaf)
            shape = target_shape + _shape(leaf)
            dtype = _sweep.derivative_dtype(_dtype(leaf), target)
            if not self._connected(record, d, deps, target, leaf):
                results.append(_sweep.unconnected(zero, shape, target))
                continue
            if record.batch:
                raise ValueError(
                    "dualjac: this source was watched with batch=True (per-row seeds), which "
                    "gives tape.batch_jacobian only; watch it with batch=False for "
                    "tape.jacobian.")
            results.append(_sweep.in_dtype(self._finish(_sweep.shaped(
                _sweep.seed_block(d, record.start, record.stop, dtype), shape)), dtype))
        return rebuild(results)

    @overload
    def gradient(self, target: ArrayLike, sources: Leaf, output_gradients: ArrayLike | None = None,
                 *, unconnected_gradients: Zero) -> Array: ...
    @overload
    def gradient(self, target: ArrayLike, sources: Leaf, output_gradients: ArrayLike | None,
                 unconnected_gradients: Zero) -> Array: ...
    @overload
    def gradient(self, target: ArrayLike, sources: Leaf, output_gradients: ArrayLike | None = None,
                 unconnected_gradients: Unconnected = "none") -> Array | None: ...
    @overload
    def gradient(self, target: ArrayLike, sources: Nest, output_gradients: ArrayLike | None = None,
                 unconnected_gradients: Unconnected = "none") -> Any: ...
    def gradient(self, target: ArrayLike, sources: Any, output_gradients: ArrayLike | None = None,
                 unconnected_gradients: Unconnected = "none") -> Any:
        """TF's tape.gradient: d sum(output_gradients * target) / d source,
        shaped like each source."""
        self._begin()
        target = _sweep.as_target(target, "GradientTape.gradient")
        if output_gradients is not None:
            if np.shape(output_gradients) != tuple(np.shape(_values(target))):
                raise ValueError(
                    "dualjac.GradientTape.gradient: output_gradients must have the target's "
                    f"shape {tuple(np.shape(_values(target)))}, got {np.shape(output_gradients)}.")
            target = target * output_gradients
        total = np.sum(target) if isinstance(target, _Jet) else np.sum(np.asarray(target))
        self._used = False   # jacobian below is the same single use
        return self.jacobian(total, sources, unconnected_gradients)

    def batch_jacobian(self, target: ArrayLike, source: ArrayLike,
                       unconnected_gradients: Unconnected = "none",
                       parallel_iterations: int | None = None,
                       experimental_use_pfor: bool = True) -> Array:
        """TF's tape.batch_jacobian: target [b, Y...], source [b, X...] ->
        [b, Y..., X...]. Per-row seeds if source was watched with batch=True;
        otherwise correct too, reading the diagonal blocks of the full Jacobian.
        Unconnected gives zeros, as in TF."""
        _sweep._count(parallel_iterations, "parallel_iterations", "GradientTape.batch_jacobian")
        self._begin(experimental_use_pfor)
        _sweep._zero_mode(unconnected_gradients)
        target = _sweep.as_target(target, "GradientTape.batch_jacobian")
        source_shape = _shape(source)
        if len(source_shape) < 2:
            raise ValueError(f"Shape {source_shape} must have rank at least 2")
        _sweep.check_batch(target, source_shape)
        batch, row_shape = source_shape[0], source_shape[1:]
        shape = _shape(target) + row_shape
        d, deps = _sweep.derivative_at(target, self._tag)
        record = self._lookup(source)
        dtype = _sweep.derivative_dtype(_dtype(source), target)
        if not self._connected(record, d, deps, target, source):
            return np.zeros(shape, _dtype(target))     # TF: unconnected zeros in the target's dtype
        block = _sweep.seed_block(d, record.start, record.stop, dtype)
        if not record.batch:
            block = _batch_diagonal(block, batch)
        return _sweep.in_dtype(self._finish(_sweep.shaped(block, shape)), dtype)

    # -- helpers
    def _connected(self, record, d, deps, target, leaf):
        if record is None or not record.differentiable or d is None or not deps & record.bit:
            if record is not None and not isinstance(target, _Jet) and leaf is not record.seeded:
                warnings.warn(
                    "dualjac: the target does not depend on any array this tape seeded. "
                    "NumPy arrays cannot be watched in place: compute with the array "
                    "tape.watch returns (`x = tape.watch(x)`).", stacklevel=4)
            return False
        return True

    def _finish(self, result):
        """A derivative that is still dual in another tape's seeds stays dual only
        while that tape records (TF records gradient computations on active tapes)."""
        if isinstance(result, _Jet) and result.order == 1:
            other = _tapes_by_tag.get(result.tag1)
            if other is not None and not other.recording:
                return np.array(result.buf[..., 0])
        return result


def _shape(x):
    return tuple(x.shape) if isinstance(x, _Jet) else np.shape(x)


def _dtype(x):
    return x.dtype if isinstance(x, _Jet) else np.asarray(x).dtype


def _batch_diagonal(block, batch):
    """[b, Y..., b * m] derivatives of full seeds -> [b, Y..., m]: row i's
    derivatives with respect to its own source row."""
    rows = np.arange(batch)
    if isinstance(block, _Jet):
        buf = block.buf
        buf = buf.reshape(buf.shape[:-2] + (batch, -1, buf.shape[-1]))
        buf = np.moveaxis(buf, -3, 1)[rows, rows]     # [b, Y..., m, K]
        return block.with_buffer(np.ascontiguousarray(buf))
    block = block.reshape(block.shape[:-1] + (batch, -1))
    return np.moveaxis(block, -2, 1)[rows, rows]


def _values(target):
    """The target's plain values (a jet's or an array's), for its shape."""
    return target.value if isinstance(target, _Jet) else target
