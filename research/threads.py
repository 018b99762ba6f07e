"""Speed-up of one elementwise kernel split between threads (src_c/include/thread_pool.h).

    PYTHONPATH=. python research/threads.py [--threads 2]

For dual buffers of growing size, times np.sin(x) and x * x with 1 thread and
with --threads threads, in one process, under the block cache (as inside a
transform), and prints the speed-up. The thresholds in src_c/_core.pyx (split
above 2**15 numbers, chunks of 2**13) come from this table. Needs a quiet
machine: a busy second core shows up as a speed-up near 1 (the caller then
does the chunks itself; src_c/include/thread_pool.h).
"""
import argparse
import timeit

import numpy as np

import dualjac as dj
from dualjac import _core


def dual_rows(rows, seeds=3):
    """A (rows, seeds) DualArray with per-row seeds, as inside batch_jacobian."""
    captured = []
    x = np.random.default_rng(0).uniform(0.5, 1.5, (rows, seeds))
    dj.batch_jacobian(lambda z: captured.append(z) or z, x)
    return captured[0]


def median_time(work, number):
    runs = timeit.repeat(work, number=number, repeat=7)
    return sorted(runs)[len(runs) // 2] / number


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    previous_threads = dj.get_num_threads()
    previous_handler = _core.use_block_cache()
    print(f"{'numbers':>9} {'op':>5} {'1 thread us':>12} {f'{args.threads} threads us':>13} {'speed-up':>9}")
    try:
        for rows in (1024, 4096, 8192, 16384, 65536, 262144):
            x = dual_rows(rows)
            numbers = x.buf.size
            for name, op in (("sin", lambda: np.sin(x)), ("mul", lambda: x * x)):
                number = max(3, 2_000_000 // numbers)
                times = []
                for n in (1, args.threads):
                    dj.set_num_threads(n)
                    op()
                    times.append(median_time(op, number) * 1e6)
                print(f"{numbers:>9} {name:>5} {times[0]:>12.1f} {times[1]:>13.1f} "
                      f"{times[0] / times[1]:>9.2f}")
    finally:
        dj.set_num_threads(previous_threads)
        _core.restore_memory_handler(previous_handler)


if __name__ == "__main__":
    main()
