"""Which way a transform takes: every size threshold, in one place.

The compiled core (``dualjac._core``) runs the way it is asked to; the transforms choose,
from these numbers:

- ``dj.jacobian`` / ``dj.hessian`` of one float array: banded jets from ``BANDED_MIN_*``
  elements (no preparation; they give up when f writes into them, or would densify past
  ``DENSIFY_LIMIT`` bytes); then one compiled dense sweep when every seed fits in a small
  buffer (``CHUNK_THRESHOLD`` seeds, ``LARGE_SWEEP_BYTES``); then structure found by tracing
  (``STRUCTURED_MIN*`` elements, colors at most ``PAYS`` of the seeds: ``_structured.py``);
  then dense seeds, ``CHUNK_SIZE`` at a time.
- batch transforms defer f's elementwise work (``src_c/_deferred.pxi``) from
  ``DEFERRED_MIN_ELEMENTS`` elements.
- sweeps whose seeded buffer reaches ``LARGE_SWEEP_BYTES`` run under the block cache.

``dj.set_banded_threshold`` and ``dj.set_deferred_threshold`` change two of them (the tests
use that to run every case on every jet kind).
"""

from . import _core

# Seed chunking (parallel_iterations=None): more seeds than CHUNK_THRESHOLD are
# swept CHUNK_SIZE at a time. Measured (research/chunking.py, docs/performance.md): above
# ~128 seeds, chunks of 64 are several times faster (intermediates stay small:
# in cache, and below the sizes glibc returns to the OS and page-faults back on
# every call) and peak memory drops from ~6x to ~1x the Jacobian's size.
CHUNK_THRESHOLD = 128
CHUNK_SIZE = 64

# Sweeps whose seeded source buffer reaches this many bytes run with dualjac's
# block-reusing memory handler (src_c/include/block_cache.h): their per-operation buffers
# are then large enough for glibc to map and unmap them, page-faulting on every
# operation. Smaller sweeps keep NumPy's handler (switching costs ~0.2 us).
LARGE_SWEEP_BYTES = 128 * 1024

# The most sources dj.jacobian seeds all at once in one compiled sweep: at most CHUNK_THRESHOLD
# seeds, and a seeded buffer (n x (1 + n) numbers) below LARGE_SWEEP_BYTES.
ONE_DENSE_SWEEP = max(n for n in range(CHUNK_THRESHOLD + 1) if n * (1 + n) * 8 < LARGE_SWEEP_BYTES)

# Sources with at least this many elements are seeded banded (0: never). A dense jet
# carries every seed (a Hessian jet every pair of them too), a banded one only the few
# near each element plus a map of where they start: the thresholds are where the two
# break even, for a 3-point stencil's Jacobian and Rosenbrock's Hessian (whose dense
# jets grow with n^2, so it breaks even at fewer elements). Code that densifies at once
# (W @ x) pays about 0.5 us for having been banded.
BANDED_MIN_JACOBIAN = 64
BANDED_MIN_HESSIAN = 12
DENSIFY_LIMIT = 512 << 10       # bytes of a dense jet a banded sweep may still turn into

# Batch sources with at least this many elements (rows x row size) are deferred (0: never).
DEFERRED_MIN_ELEMENTS = 1024

STRUCTURED_MIN = 129            # sources this large (in elements) look for structure:
STRUCTURED_MIN_HESSIAN = 48     # (a dense Hessian sweep costs n^3, a Jacobian's n^2)
PAYS = 0.5                      # colors / seeds below which a colored sweep is taken

_core.set_densify_limit(DENSIFY_LIMIT)


def set_banded_threshold(jacobian: int | None = None, hessian: int | None = None) -> None:
    """dj.jacobian / dj.hessian seed sources of >= this many elements as banded
    jets (0: never); None leaves a threshold as it is."""
    global BANDED_MIN_JACOBIAN, BANDED_MIN_HESSIAN
    for n in (jacobian, hessian):
        if n is not None and (type(n) is not int or n < 0):
            raise ValueError("a banded threshold is a number of elements >= 0")
    if jacobian is not None:
        BANDED_MIN_JACOBIAN = jacobian
    if hessian is not None:
        BANDED_MIN_HESSIAN = hessian


def get_banded_threshold() -> tuple[int, int]:
    """(jacobian, hessian): the smallest sources seeded banded (0: never)."""
    return BANDED_MIN_JACOBIAN, BANDED_MIN_HESSIAN


def set_deferred_threshold(elements: int | None = None) -> int:
    """Batch transforms defer f's elementwise work for sources of >= this many
    elements (0: never); returns the threshold now in use."""
    global DEFERRED_MIN_ELEMENTS
    if elements is not None:
        if type(elements) is not int or elements < 0:
            raise ValueError("the deferred threshold is a number of elements >= 0")
        DEFERRED_MIN_ELEMENTS = elements
    return DEFERRED_MIN_ELEMENTS


def defers(elements, K):
    """Does a batch transform over a source of this many elements, each carrying K
    numbers (value and derivatives), defer f's elementwise work?"""
    return 0 < DEFERRED_MIN_ELEMENTS <= elements and _core.deferrable(K)


def banded_block_cache(x):
    """Whether a banded sweep of x runs under the block cache: a banded element carries a
    few numbers, a few times the source's bytes per operation."""
    return x.nbytes * 4 >= LARGE_SWEEP_BYTES
