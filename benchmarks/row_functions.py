"""Per-row functions as users write them, through dj.batch_jacobian / dj.batch_hessian,
beside jax.jit(vmap(jacfwd / hessian)) of the same row function.

    PYTHONPATH=. python benchmarks/row_functions.py                      # b = 1e4, both transforms
    PYTHONPATH=. python benchmarks/row_functions.py --rows 100000 --transforms jacobian
    PYTHONPATH=. /path/to/venv-with-jax/bin/python benchmarks/row_functions.py

Each function takes rows of 9 numbers (x of shape (b, 9)) and is written once for NumPy and
jax.numpy. For the batch Hessian the function's outputs are summed per row. Printed per
function: dualjac's time (median, us), jax.jit's over dualjac's, whether f's result was a
deferred jet (every operation recorded: "deferred") or an ordinary one (something fell back
to computed jets: "dense"), and "ok" when both libraries' derivatives agree (rtol 1e-9).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import dualjac as dj
from batch import jax_call, median_time     # benchmarks/batch.py (this script's folder)

os.environ.setdefault("JAX_PLATFORMS", "cpu")
W = np.random.default_rng(1).normal(size=(9, 6)) / 3
V = np.linspace(-1.0, 1.0, 9)
C = np.random.default_rng(3).normal(size=(9, 9))
C = C @ C.T + 9.0 * np.eye(9)


def functions(xp):
    """name -> (family, f(x) for x of shape (b, 9))."""
    def rows3(x):
        return x.reshape(-1, 3, 3)
    return {
        "softmax": ("reductions", lambda x: xp.exp(x - xp.max(x, -1, keepdims=True))
                    / xp.sum(xp.exp(x - xp.max(x, -1, keepdims=True)), -1, keepdims=True)),
        "logsumexp": ("reductions", lambda x: xp.log(xp.sum(xp.exp(x), axis=-1))),
        "layer_norm": ("reductions", lambda x: (x - xp.mean(x, -1, keepdims=True))
                       / xp.std(x, -1, keepdims=True)),
        "variance": ("reductions", lambda x: xp.var(xp.sin(x), axis=-1)),
        "normalize": ("reductions", lambda x: x / xp.linalg.norm(x, axis=-1, keepdims=True)),
        "cumsum": ("reductions", lambda x: xp.cumsum(xp.sin(x), axis=-1)),
        "diff": ("reductions", lambda x: xp.diff(x * x, axis=-1)),
        "dot_vector": ("constants", lambda x: xp.dot(xp.tanh(x), V)),
        "mlp": ("constants", lambda x: xp.tanh(x @ W) @ W.T),
        "tensordot": ("constants", lambda x: xp.tensordot(xp.sin(x), W, axes=1)),
        "quadratic_form": ("constants", lambda x: xp.einsum("bi,ij,bj->b", x, C, x)),
        "matrix_rows_matmul": ("two rows", lambda x: (rows3(x) @ rows3(xp.sin(x))).reshape(-1, 9)),
        "matvec_rows": ("two rows", lambda x: xp.einsum("bij,bj->bi", rows3(x), xp.cos(x[:, :3]))),
        "outer_rows": ("two rows", lambda x: (x[:, :3, None] * x[:, None, 3:6]).reshape(-1, 9)),
        "transpose": ("moves", lambda x: xp.swapaxes(rows3(xp.exp(x)), 1, 2).reshape(-1, 9)),
        "trace": ("moves", lambda x: xp.trace(rows3(xp.sin(x)), axis1=1, axis2=2)),
        "take": ("moves", lambda x: xp.take(x, xp.asarray([8, 0, 4]), axis=1) ** 2),
        "cross": ("physics", lambda x: xp.cross(x[:, :3], xp.sin(x[:, 3:6]))),
        "kepler": ("physics", lambda x: -x[:, :3] / xp.sum(x[:, :3] ** 2, -1, keepdims=True) ** 1.5),
        "lotka_volterra": ("physics", lambda x: xp.stack([x[:, 0] * (1.5 - x[:, 1]),
                                                        x[:, 1] * (x[:, 0] - 3.0)], axis=-1)),
        "minimum_image": ("pieces", lambda x: xp.sum((lambda d: d - 2.0 * xp.round(d / 2.0))(
            x[:, :3] - 3.0 * x[:, 3:6]) ** 2, axis=-1)),
        "wrap_angle": ("pieces", lambda x: xp.cos(xp.mod(x * 3.0, 2.0 * np.pi)) * x),
        "copysign": ("pieces", lambda x: xp.copysign(x * x, xp.sin(x * 5.0))),
        "sort": ("picks", lambda x: xp.sort(xp.sin(x), axis=-1) * xp.arange(1.0, 10.0)),
        "percentile": ("picks", lambda x: xp.percentile(x * x, 75.0, axis=-1)),
        "matmul_transposed": ("transposes", lambda x: (W.T @ xp.sin(x).T).T),
        "unpacked_columns": ("transposes", lambda x: (lambda a, b, *rest: xp.stack(
            [a * (1.5 - b), b * (a - 3.0)]).T)(*x.T)),
        "det_3x3": ("linear algebra", lambda x: xp.linalg.det(rows3(x))),
        "inv_2x2": ("linear algebra", lambda x: xp.linalg.inv(x[:, :4].reshape(-1, 2, 2)).reshape(-1, 4)),
        "solve_3x3": ("linear algebra", lambda x: xp.linalg.solve(
            rows3(x) + 3.0 * xp.eye(3), xp.cos(x[:, :3, None]))[:, :, 0]),
        "slogdet_3x3": ("linear algebra", lambda x: xp.linalg.slogdet(rows3(x * x) + 3.0 * xp.eye(3))[1]),
    }


# jax.jit(vmap(hessian)) of the 2 x 2 inverse and of the 3 x 3 solve did not return within
# 6 minutes here (jax 0.10.2, CPU): their Hessians run without the peer.
NO_PEER_HESSIAN = {"inv_2x2", "solve_3x3"}


def per_row_sum(f):
    """f with its outputs summed per row (a scalar per row, for batch Hessians)."""
    def g(x):
        y = f(x)
        return y if y.ndim == 1 else y.reshape(y.shape[0], -1).sum(axis=-1)
    return g


def run(rows, kinds):
    x = np.random.default_rng(0).uniform(0.2, 1.2, (rows, 9))
    mine = functions(np)
    try:
        import jax.numpy as jnp
        theirs = functions(jnp)
    except ImportError:
        theirs = {}
    print(f"{'transform':9} {'family':15} {'function':19} {'dualjac us':>11} {'jax/dj':>7}  path")
    for kind in kinds:
        transform = dj.batch_jacobian if kind == "jacobian" else dj.batch_hessian
        for name, (family, f) in mine.items():
            f = per_row_sum(f) if kind == "hessian" else f
            seen = []

            def probe(z, f=f):
                y = f(z)
                seen.append("deferred" if isinstance(y, dj.DeferredJet) else "dense")
                return y

            result = transform(probe, x)
            elapsed = median_time(lambda: transform(f, x), target=0.05)
            ratio, agree = float("nan"), ""
            if name in theirs and not (kind == "hessian" and name in NO_PEER_HESSIAN):
                g = per_row_sum(theirs[name][1]) if kind == "hessian" else theirs[name][1]
                peer = jax_call(kind, lambda rows, xp, g=g: g(rows), x)
                agree = "ok" if np.allclose(result, np.asarray(peer()), rtol=1e-9, atol=1e-9) \
                    else "DIFFERENT"
                ratio = median_time(peer, target=0.05) / elapsed
            print(f"{kind:9} {family:15} {name:19} {elapsed * 1e6:11.0f} {ratio:7.2f}  "
                  f"{seen[0]} {agree}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--transforms", default="jacobian,hessian")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; dualjac threads {dj.get_num_threads()}; "
          f"{time.strftime('%Y-%m-%d')}; b = {args.rows}")
    run(args.rows, args.transforms.split(","))


if __name__ == "__main__":
    main()
