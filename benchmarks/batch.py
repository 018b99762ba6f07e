"""The batch family: per-row Jacobians and Hessians of row-independent code, each case in
several spellings of the same math, beside jax.jit(vmap(jacfwd)) / jax.jit(vmap(hessian)).

    PYTHONPATH=. python benchmarks/batch.py                       # b = 1e4 and 1e6
    PYTHONPATH=. python benchmarks/batch.py --sizes 10000 --cases force --threads 1
    PYTHONPATH=. /path/to/venv-with-jax/bin/python benchmarks/batch.py

Spellings (the same function of each row):
  stack     components by hand, np.stack at the end
  keepdims  per-row reductions with keepdims=True
  newaxis   per-row reductions, then [..., None]
  matmul    a constant matrix per row (x @ M, np.einsum)
  transpose components as the rows of x.T (a, b, c = x.T; np.stack([...]).T; sums over axis 0)
  in_place  an output filled column by column (out = np.empty_like(x); out[:, i] = ...), sums
            updated with += (JAX: .at[:, i].set, its spelling of the same)

Every result is checked against an analytic per-row Jacobian / Hessian before it is timed.
Also printed: the memory-bandwidth bound (bytes of source and result over np.copyto's
bandwidth in the same run), dualjac's peak memory over the result's size (NumPy's
allocations, traced by tracemalloc on one call) and the slowest / fastest spelling. Times
are medians.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc

import numpy as np

import dualjac as dj

os.environ.setdefault("JAX_PLATFORMS", "cpu")
M = np.eye(3)        # the "constant matrix" of the matmul spellings (a metric)


# ---------------------------------------------------------------- force: (b, 3) -> (b, 3)

def force_stack(x, xp):
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    e = xp.exp(-(a * a + b * b + c * c))
    return xp.stack([a * e, b * e, c * e], axis=-1)


def force_keepdims(x, xp):
    return x * xp.exp(-xp.sum(x ** 2, axis=-1, keepdims=True))


def force_newaxis(x, xp):
    return x * xp.exp(-xp.sum(x * x, axis=-1))[..., None]


def force_matmul(x, xp):
    return x * xp.exp(-xp.einsum("bi,bi->b", x, x @ M))[:, None]


def force_transpose(x, xp):
    a, b, c = x.T
    e = xp.exp(-(a * a + b * b + c * c))
    return xp.stack([a * e, b * e, c * e]).T


def force_in_place(x, xp):
    e = xp.exp(-xp.sum(x * x, axis=-1))
    out = xp.empty_like(x)
    for i in range(3):
        out = set_column(out, i, x[:, i] * e, xp)
    return out


def set_column(out, i, value, xp):
    """out[:, i] = value, in place for NumPy (jax arrays are immutable: .at[].set)."""
    if xp is np:
        out[:, i] = value
        return out
    return out.at[:, i].set(value)


def force_jacobian(x):
    e = np.exp(-np.sum(x ** 2, axis=-1))[:, None, None]
    return e * (np.eye(3) - 2 * x[:, :, None] * x[:, None, :])


# ---------------------------------------------------------------- energy: (b, 3) -> (b,)

def energy_stack(x, xp):
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    r2 = a * a + b * b + c * c
    return xp.exp(-r2) + 0.5 * r2


def energy_keepdims(x, xp):
    r2 = xp.sum(x ** 2, axis=-1, keepdims=True)
    return xp.sum(xp.exp(-r2) + 0.5 * r2, axis=-1)


def energy_newaxis(x, xp):
    r2 = xp.sum(x * x, axis=-1)[..., None]
    return (xp.exp(-r2) + 0.5 * r2)[..., 0]


def energy_matmul(x, xp):
    r2 = xp.einsum("bi,bi->b", x, x @ M)
    return xp.exp(-r2) + 0.5 * r2


def energy_transpose(x, xp):
    r2 = xp.sum(x.T ** 2, axis=0)
    return xp.exp(-r2) + 0.5 * r2


def energy_in_place(x, xp):
    r2 = x[:, 0] * x[:, 0]
    r2 += x[:, 1] * x[:, 1]
    r2 += x[:, 2] * x[:, 2]
    e = xp.exp(-r2)
    e += 0.5 * r2
    return e


def energy_hessian(x):
    r2 = np.sum(x ** 2, axis=-1)[:, None, None]
    e = np.exp(-r2)
    return (1 - 2 * e) * np.eye(3) + 4 * e * x[:, :, None] * x[:, None, :]


SPELLINGS = ("stack", "keepdims", "newaxis", "matmul", "transpose", "in_place")
CASES = {
    "force": ("jacobian", {s: globals()[f"force_{s}"] for s in SPELLINGS}, force_jacobian),
    "energy": ("hessian", {s: globals()[f"energy_{s}"] for s in SPELLINGS}, energy_hessian),
}


def median_time(call, target=0.2, repeats=5):
    call()
    n, elapsed = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(n):
            call()
        elapsed = time.perf_counter() - start
        if elapsed > target / repeats or n > 1e6:
            break
        n *= 4
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            call()
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times)


def dualjac_call(kind, f, x):
    transform = dj.batch_jacobian if kind == "jacobian" else dj.batch_hessian
    return lambda: transform(lambda z: f(z, np), x)


def jax_call(kind, f, x):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    row = (lambda r: f(r[None], jnp)[0])
    derivative = jax.jacfwd(row) if kind == "jacobian" else jax.hessian(row)
    compiled = jax.jit(jax.vmap(derivative))
    xj = jnp.asarray(x)
    return lambda: compiled(xj).block_until_ready()


def peak_over_result(call):
    """Peak bytes NumPy allocated during one call, over the bytes of its result."""
    tracemalloc.start()
    result = call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / max(result.nbytes, 1)


def copy_bandwidth(nbytes):
    """Bytes per second of np.copyto over a buffer of this size (read + write counted)."""
    src = np.ones(max(nbytes // 8, 1))
    dst = np.empty_like(src)
    seconds = median_time(lambda: np.copyto(dst, src), target=0.1)
    return 2 * src.nbytes / seconds


def run(cases, sizes):
    print(f"{'case':8} {'b':>9} {'spelling':9} {'dualjac us':>11} {'jax us':>10} "
          f"{'jax/dj':>7} {'dj/bound':>9} {'peak/out':>9}")
    for name in cases:
        kind, spellings, reference = CASES[name]
        for b in sizes:
            x = np.random.default_rng(0).uniform(-1, 1, (b, 3))
            expected = reference(x)
            bound = (x.nbytes + expected.nbytes) / copy_bandwidth(x.nbytes + expected.nbytes)
            mine = {}
            for spelling, f in spellings.items():
                call = dualjac_call(kind, f, x)
                if not np.allclose(call(), expected, rtol=1e-12, atol=1e-12):
                    print(f"{name:8} {b:>9} {spelling:9} WRONG")
                    continue
                mine[spelling] = median_time(call)
                peer = jax_call(kind, f, x)
                theirs = median_time(peer) if peer is not None else float("nan")
                print(f"{name:8} {b:>9} {spelling:9} {mine[spelling] * 1e6:11.0f} "
                      f"{theirs * 1e6:10.0f} {theirs / mine[spelling]:7.2f} "
                      f"{mine[spelling] / bound:9.1f} {peak_over_result(call):9.2f}", flush=True)
            if mine:
                print(f"{name:8} {b:>9} slowest / fastest spelling: "
                      f"{max(mine.values()) / min(mine.values()):.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--threads", type=int, help="dualjac's threads (default: its own choice)")
    args = parser.parse_args()
    if args.threads:
        dj.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.1f}; dualjac threads {dj.get_num_threads()}; "
          f"{time.strftime('%Y-%m-%d')}")
    run(args.cases.split(","), [int(float(s)) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()
