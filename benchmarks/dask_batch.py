"""A batch Jacobian of 10^8 rows on a Dask LocalCluster, consumed block by block.

    python benchmarks/dask_batch.py [--rows 1e8] [--chunk 1e6] [--workers 2]

The source is generated in the workers chunk by chunk; each block's per-row Jacobians
(rows x 3 x 3) are reduced to the mean of their determinants, so the result (7.2 GB at
10^8 rows) is never held whole. Printed: wall time, per-row throughput next to the same
pipeline in memory in this process (one chunk, repeated), and each worker's peak memory.
Needs `pip install 'dualjac[dask]'`.
"""

import argparse
import resource
import time

import numpy as np

import dualjac as dj


def force(x):
    """A per-row force field: rows of 3 coordinates -> rows of 3 forces."""
    return x * np.exp(-np.sum(x ** 2, axis=-1, keepdims=True))


def mean_det_in_memory(rows, seed):
    x = np.random.default_rng(seed).uniform(-1, 1, (rows, 3))
    return np.linalg.det(dj.batch_jacobian(force, x)).sum()


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e8)
    parser.add_argument("--chunk", type=float, default=1e6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows, chunk = int(args.rows), int(args.chunk)

    import dask.array as da
    from dask.distributed import Client, LocalCluster

    dj.set_num_threads(1)
    mean_det_in_memory(chunk, 0)                        # warm
    start = time.perf_counter()
    repeats = 5
    for seed in range(repeats):
        mean_det_in_memory(chunk, seed)
    in_memory = (time.perf_counter() - start) / (repeats * chunk)

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(dj.set_num_threads, 1)               # one thread per worker process
        x = da.random.default_rng(0).uniform(-1, 1, (rows, 3), chunks=(chunk, 3))
        J = dj.batch_jacobian(force, x)
        dets = J.map_blocks(np.linalg.det, drop_axis=[1, 2], dtype=J.dtype)
        start = time.perf_counter()
        mean_det = float(dets.mean().compute())
        wall = time.perf_counter() - start
        peaks = client.run(peak_rss_mb)

    per_row = wall / rows
    print(f"{rows:.3g} rows in chunks of {chunk:.3g}, {args.workers} worker processes: "
          f"{wall:.1f} s, mean det {mean_det:.6f}")
    print(f"per row: cluster {per_row * 1e9:.1f} ns (x {args.workers} workers = "
          f"{per_row * args.workers * 1e9:.1f} ns of a worker), in memory on one thread "
          f"{in_memory * 1e9:.1f} ns; ratio per worker {per_row * args.workers / in_memory:.2f}")
    print("peak memory per worker (MB): " + ", ".join(f"{v:.0f}" for v in peaks.values())
          + f"; one chunk's result {chunk * 9 * 8 / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
