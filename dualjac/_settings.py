"""Process-wide settings: the threads of large elementwise kernels, and the
memory the block cache keeps between large sweeps."""

import os

from . import _core
from ._sweep import _count


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
