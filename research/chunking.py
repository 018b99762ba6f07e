"""Measure seed chunking (parallel_iterations) and batch row chunking.

    PYTHONPATH=. python research/chunking.py

1. jacobian of an elementwise + stencil function of n inputs: time and peak
   memory (tracemalloc) for chunk sizes k, to choose dualjac's default.
2. batch_jacobian of spherical -> cartesian on b rows, evaluated whole or in
   row chunks (f applied to x[i:i + c]), to see whether cache-sized row chunks pay.
"""

import time
import tracemalloc

import numpy as np

import dualjac as dj


def stencil(x):
    left = np.concatenate([np.zeros(1, like=x), x[:-1]])
    right = np.concatenate([x[1:], np.zeros(1, like=x)])
    return np.tanh(x) * (3 - 2 * x) - left - 2 * right + 1


def spherical(x):
    r, theta, phi = x[:, 0], x[:, 1], x[:, 2]
    return np.stack([r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi),
                     r * np.cos(theta)], 1)


def measure(call, repeat=3):
    """(best seconds, peak traced bytes) of call()."""
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(_timed(call) for _ in range(repeat))
    return best, peak


def _timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def seed_chunks():
    print("jacobian of a stencil, n inputs: ms / peak MB by chunk size k")
    ks = [64, 256, 1024, 4096, None]
    print(f"{'n':>6} " + " ".join(f"{'k=' + str(k) if k else 'k=n':>16}" for k in ks))
    for n in (1000, 2000, 4000, 8000):
        x = np.linspace(-1, 1, n)
        cells = []
        for k in ks:
            seconds, peak = measure(lambda: dj.jacobian(stencil, x, parallel_iterations=k or n))
            cells.append(f"{seconds * 1e3:8.1f}/{peak / 1e6:6.0f}")
        print(f"{n:>6} " + " ".join(f"{c:>16}" for c in cells))


def batch_rows(b_values=(10_000, 100_000, 1_000_000), chunks=(1024, 4096, 16384, 65536)):
    print("\nbatch_jacobian of spherical, b rows: ms whole vs row chunks of c rows")
    print(f"{'b':>9} {'whole':>9} " + " ".join(f"{'c=' + str(c):>9}" for c in chunks))
    for b in b_values:
        x = np.random.default_rng(0).uniform(0.5, 1.5, (b, 3))
        whole, _ = measure(lambda: dj.batch_jacobian(spherical, x))
        cells = []
        for c in chunks:
            def in_rows():
                out = np.empty((b, 3, 3))
                for i in range(0, b, c):
                    out[i:i + c] = dj.batch_jacobian(spherical, x[i:i + c])
                return out
            seconds, _ = measure(in_rows)
            cells.append(f"{seconds * 1e3:9.1f}")
        print(f"{b:>9} {whole * 1e3:9.1f} " + " ".join(cells))


if __name__ == "__main__":
    seed_chunks()
    batch_rows()
