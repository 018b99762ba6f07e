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
allocations, traced by tracemalloc on one call) and the slowest / fastest spelling.

The calls of one case and size (every spelling, dualjac's and jax's, and the copy) are timed
in rounds, a block of each per round: ratios are taken round by round, so that a noisy
machine's drift, which moves every call of a round alike, leaves them. Times are medians over
the rounds; ratios are printed as median (min-max) over the rounds.
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


def calls_per_block(call, seconds):
    """How many calls of `call` take at least `seconds` (a power of 4)."""
    call()
    n = 1
    while block_time(call, n) * n < seconds and n < 1e6:
        n *= 4
    return n


def block_time(call, n):
    """Seconds per call over n calls back to back."""
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n


def interleaved(calls, rounds, seconds=0.04):
    """Seconds per call of each of `calls`, one list per call with one time per round: each
    round times a block of every call back to back (in an order that rotates by round), the
    best of 3, so that all see the same state of a noisy machine and their ratios, taken
    round by round, keep only the measurement's own spread."""
    sizes = [calls_per_block(call, seconds / 3) for call in calls]
    times = [[] for _ in calls]
    for r in range(rounds):
        for k in range(len(calls)):
            i = (k + r) % len(calls)
            times[i].append(min(block_time(calls[i], sizes[i]) for _ in range(3)))
    return times


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


def copy_call(nbytes):
    """np.copyto of a buffer of nbytes: half its time is the copy-bandwidth bound of
    moving nbytes once (read and write counted)."""
    src = np.ones(max(nbytes // 8, 1))
    dst = np.empty_like(src)
    return lambda: np.copyto(dst, src)


def spread(values):
    """'median (min-max)' of a list of numbers."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def run(cases, sizes, rounds):
    print(f"{'case':8} {'b':>9} {'spelling':9} {'dualjac us':>11} {'jax us':>10} "
          f"{'jax/dj':>18} {'dj/bound':>18} {'peak/out':>9}")
    for name in cases:
        kind, spellings, reference = CASES[name]
        for b in sizes:
            x = np.random.default_rng(0).uniform(-1, 1, (b, 3))
            expected = reference(x)
            mine, theirs = {}, {}
            for spelling, f in spellings.items():
                call = dualjac_call(kind, f, x)
                if not np.allclose(call(), expected, rtol=1e-12, atol=1e-12):
                    print(f"{name:8} {b:>9} {spelling:9} WRONG")
                    continue
                mine[spelling] = call
                theirs[spelling] = jax_call(kind, f, x)
            peers = [s for s in mine if theirs[s] is not None]
            calls = ([mine[s] for s in mine] + [theirs[s] for s in peers]
                     + [copy_call(x.nbytes + expected.nbytes)])
            times = interleaved(calls, rounds)
            dj_times = dict(zip(mine, times))
            jax_times = dict(zip(peers, times[len(mine):]))
            bound = [t / 2 for t in times[-1]]
            for spelling, call in mine.items():
                ours = dj_times[spelling]
                peer = jax_times.get(spelling)
                ratio = spread([p / o for p, o in zip(peer, ours)]) if peer else "nan"
                jax_us = f"{statistics.median(peer) * 1e6:10.0f}" if peer else f"{'nan':>10}"
                print(f"{name:8} {b:>9} {spelling:9} {statistics.median(ours) * 1e6:11.0f} "
                      f"{jax_us} {ratio:>18} {spread([o / c for o, c in zip(ours, bound)]):>18} "
                      f"{peak_over_result(call):9.2f}", flush=True)
            if mine:
                per_round = [max(r) / min(r) for r in zip(*dj_times.values())]
                print(f"{name:8} {b:>9} slowest / fastest spelling: {spread(per_round)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--threads", type=int, help="dualjac's threads (default: its own choice)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of interleaved timing (each call timed once per round)")
    args = parser.parse_args()
    if args.threads:
        dj.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.1f}; dualjac threads {dj.get_num_threads()}; "
          f"{time.strftime('%Y-%m-%d')}")
    run(args.cases.split(","), [int(float(s)) for s in args.sizes.split(",")], args.rounds)


if __name__ == "__main__":
    main()
