"""Binary kernels on broadcast operands against the same kernels on operands of one shape,
and reductions along a short row axis of a jet.

    PYTHONPATH=. nice python benchmarks/broadcast.py
    PYTHONPATH=. nice python benchmarks/broadcast.py --rows 100000 --repeats 50

Each broadcast case runs `multiply` (and `add`) on a dual jet (3 seeds, K = 4) and a
Hessian jet (3 variables, K = 10), both operands jets (jj) or one a plain array (jc),
with the result of the same shape as its same-shape twin, so the ratio
broadcast / same-shape is the ratio of the times per result element:

  scalar_per_row  (b, 1) op (b, 3)
  row_vector      (3,) op (b, 3)
  column_vector   (3, 1) op (3, b)
  outer           (3, 1) op (1, b)      (jc: a parameter jet (3, 1) against data (b,))
  constant_rows   jc only: a jet (b, 3) op a plain (b, 1)

The reductions: np.sum / np.mean of a (b, 3) jet along axis -1 (keepdims or not) and
along axis 0 of a (3, b) jet, beside an elementwise add of the same buffer size.
Times are medians of `repeats` calls, in microseconds, each case timed in alternation
with its twin; the ratio is the median of the paired ratios.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import dualjac as dj


def paired_us(first, second, repeats):
    """Medians (us) of two calls timed in alternation, and the median of their
    per-pair ratios: a shared machine's load changes between pairs, less within one."""
    first(), second()
    a, b = [], []
    for _ in range(repeats):
        for run, times in ((first, a), (second, b)):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    ratio = statistics.median(x / y for x, y in zip(a, b))
    return statistics.median(a) * 1e6, statistics.median(b) * 1e6, ratio


def template(kind):
    """A jet of the kind ('dual' or 'hessian', 3 seeds: dense, below the banded
    thresholds) whose level the cases share."""
    seen = []
    transform = dj.jacobian if kind == "dual" else dj.hessian
    transform(lambda z: (seen.append(z), np.sum(z * 1.0))[1], np.array([0.3, 0.5, 0.7]))
    return seen[0]


def jet_like(level, shape, rng):
    K = level.buf.shape[-1]
    return level.with_buffer(rng.uniform(0.5, 1.5, shape + (K,)))


def patterns(b):
    """{name: (broadcast operand shape, other operand shape, result shape)}."""
    return {
        "scalar_per_row": ((b, 1), (b, 3), (b, 3)),
        "row_vector": ((3,), (b, 3), (b, 3)),
        "column_vector": ((3, 1), (3, b), (3, b)),
        "outer": ((3, 1), (1, b), (3, b)),
    }


def binary_rows(level, b, repeats, rng):
    rows = []
    for op in (np.multiply, np.add):
        for name, (shape_x, shape_y, shape_out) in patterns(b).items():
            for variant in ("jj", "jc"):
                x = jet_like(level, shape_x, rng)
                y = (jet_like(level, shape_y, rng) if variant == "jj"
                     else rng.uniform(0.5, 1.5, shape_y))
                fx = jet_like(level, shape_out, rng)
                fy = (jet_like(level, shape_out, rng) if variant == "jj"
                      else rng.uniform(0.5, 1.5, shape_out))
                rows.append((op.__name__, name, variant)
                            + paired_us(lambda: op(x, y), lambda: op(fx, fy), repeats))
        x = jet_like(level, (b, 3), rng)
        c = rng.uniform(0.5, 1.5, (b, 1))
        c_full = rng.uniform(0.5, 1.5, (b, 3))
        rows.append((op.__name__, "constant_rows", "jc")
                    + paired_us(lambda: op(x, c), lambda: op(x, c_full), repeats))
    return rows


def reduction_rows(level, b, repeats, rng):
    x = jet_like(level, (b, 3), rng)
    xt = jet_like(level, (3, b), rng)
    y = jet_like(level, (b, 3), rng)
    cases = {
        "sum(x, axis=-1)": lambda: np.sum(x, axis=-1),
        "sum(x, axis=-1, keepdims)": lambda: np.sum(x, axis=-1, keepdims=True),
        "mean(x, axis=-1, keepdims)": lambda: np.mean(x, axis=-1, keepdims=True),
        "sum(xt, axis=0)": lambda: np.sum(xt, axis=0),
    }
    return [(name,) + paired_us(run, lambda: x + y, repeats) for name, run in cases.items()]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10000, help="b, the long axis (default 10000)")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1,
                    help="kernel threads (default 1: steadier ratios on a shared machine)")
    args = ap.parse_args(argv)
    dj.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    for kind in ("dual", "hessian"):
        level = template(kind)
        K = level.buf.shape[-1]
        print(f"\n{kind} jets, K = {K}, b = {args.rows}, {args.threads} thread(s): us "
              f"(medians of {args.repeats}; ratio: median of paired ratios)")
        print(f"{'op':9} {'pattern':15} {'var':4} {'broadcast':>10} {'same-shape':>11} {'ratio':>6}")
        for op, name, variant, broadcast, same, ratio in binary_rows(level, args.rows, args.repeats, rng):
            print(f"{op:9} {name:15} {variant:4} {broadcast:10.1f} {same:11.1f} {ratio:6.2f}")
        print(f"{'reduction':27} {'us':>8} {'x + y':>8} {'ratio':>6}")
        for name, t, add, ratio in reduction_rows(level, args.rows, args.repeats, rng):
            print(f"{name:27} {t:8.1f} {add:8.1f} {ratio:6.2f}")


if __name__ == "__main__":
    main()
