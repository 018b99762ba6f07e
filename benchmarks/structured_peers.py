"""Sparse Jacobians of two stencil models, dualjac side by side with SciPy, sparsejac and CasADi.

Models (n unknowns, written once with an array module `xp`, so the same code runs under
NumPy, dualjac and jax.numpy):

- `brusselator`: the 1-D Brusselator right-hand side by the method of lines, 2 species on
  N grid points, n = 2N (`np.pad` for the boundary values, `np.concatenate` for the result);
- `bratu_2d`: the 2-D 5-point reaction-diffusion residual `-lap(u) - lam exp(u)` on a k x k
  grid with zero boundary values, n = k^2.

Columns (microseconds per call; the Jacobian is 2-D (n, n) in every column):

| column | what runs |
|---|---|
| `f numpy` | one plain NumPy f(x): the unit of approx_derivative's cost |
| `dj prepared` | `dj.SparseJacobian(f, x)` prepared once; the call only |
| `dj one-shot` | `dj.sparse_jacobian(f, x)`: tracing, coloring and the sweep |
| `scipy 2-point` | `approx_derivative(f, x, method="2-point", sparsity=(P, group_columns(P)))` |
| `sparsejac` | `jax.jit(sparsejac.jacfwd(f, sparsity=P as BCOO))`, float64; result a BCOO |
| `+ to scipy` | the same, then its data and indices turned into a `scipy.sparse.csr_array` |
| `casadi` | `ca.Function` of `ca.jacobian(expr, x)` on SX symbols (CasADi's virtual machine, no C code generation); result a sparse DM |
| `+ to scipy` | the same, then `DM.sparse()` (a `scipy.sparse.csc_matrix`) |

P is the pattern written by hand; it is checked against `dj.jacobian_sparsity` and every
peer's Jacobian against dualjac's (max abs difference, printed) before anything is timed.
Compile times (jit, CasADi's symbolic Jacobian) are printed, not included in the per-call
times. Peers that cannot be imported are left out ("-").

Run with a Python that has jax, sparsejac and casadi, and dualjac's in-place build:

    PYTHONPATH=. nice python benchmarks/structured_peers.py            # n = 2,000 and 20,000
    PYTHONPATH=. nice python benchmarks/structured_peers.py --quick    # n = 2,000, ~15 s
    PYTHONPATH=. nice python benchmarks/structured_peers.py --json peers.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import timeit

import numpy as np
import scipy.sparse as sp
from scipy.optimize._numdiff import approx_derivative, group_columns

# Keep JAX on the CPU without accelerator probing; float64 like the other columns.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dualjac as dj

BRUSSELATOR_ARGS = dict(a=1.0, b=3.0, alpha=0.02)
BRATU_LAMBDA = 1.0


# --------------------------------------------------------------------------- models

def brusselator(y, xp=np, a=1.0, b=3.0, alpha=0.02):
    """1-D Brusselator, y = [u, v] on N interior points, boundary values u = 1, v = 3."""
    n = y.shape[0] // 2
    u, v = y[:n], y[n:]
    c = alpha * (n + 1) ** 2
    u_ends = xp.pad(u, 1, constant_values=1.0)
    v_ends = xp.pad(v, 1, constant_values=3.0)
    du = a + u * u * v - (b + 1) * u + c * (u_ends[:-2] - 2 * u + u_ends[2:])
    dv = b * u - u * u * v + c * (v_ends[:-2] - 2 * v + v_ends[2:])
    return xp.concatenate([du, dv])


def bratu_2d(x, xp=np, lam=1.0):
    """Residual of -lap(u) = lam exp(u) on a k x k grid (5-point stencil, u = 0 outside)."""
    k = int(round(x.shape[0] ** 0.5))
    u = x.reshape(k, k)
    h2 = (k + 1) ** 2                       # 1 / h^2 on the unit square
    w = xp.pad(u, 1)
    laplacian = (w[:-2, 1:-1] + w[2:, 1:-1] + w[1:-1, :-2] + w[1:-1, 2:] - 4 * u) * h2
    return (-laplacian - lam * xp.exp(u)).reshape(-1)


def brusselator_casadi(ca, y, a=1.0, b=3.0, alpha=0.02):
    """The same Brusselator on a CasADi column vector."""
    n = y.shape[0] // 2
    u, v = y[:n], y[n:]
    c = alpha * (n + 1) ** 2
    u_ends = ca.vertcat(1.0, u, 1.0)
    v_ends = ca.vertcat(3.0, v, 3.0)
    du = a + u * u * v - (b + 1) * u + c * (u_ends[:-2] - 2 * u + u_ends[2:])
    dv = b * u - u * u * v + c * (v_ends[:-2] - 2 * v + v_ends[2:])
    return ca.vertcat(du, dv)


def bratu_2d_casadi(ca, x, lam=1.0):
    """The same residual on a CasADi column vector (CasADi reshapes column-major, so the
    transposes give NumPy's C-order flattening)."""
    k = int(round(x.shape[0] ** 0.5))
    u = ca.reshape(x, k, k).T
    h2 = (k + 1) ** 2
    column = ca.SX.zeros(k, 1)
    row = ca.SX.zeros(1, k + 2)
    w = ca.vertcat(row, ca.horzcat(column, u, column), row)
    laplacian = (w[:-2, 1:-1] + w[2:, 1:-1] + w[1:-1, :-2] + w[1:-1, 2:] - 4 * u) * h2
    return ca.reshape((-laplacian - lam * ca.exp(u)).T, k * k, 1)


def tridiagonal_pattern(n):
    return sp.diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1], dtype=bool)


def brusselator_pattern(n):
    """du_i needs u_{i-1}, u_i, u_{i+1}, v_i; dv_i needs u_i, v_{i-1}, v_i, v_{i+1}."""
    half = n // 2
    stencil, eye = tridiagonal_pattern(half), sp.eye(half, dtype=bool)
    return sp.csr_array(sp.bmat([[stencil, eye], [eye, stencil]]), dtype=bool)


def bratu_pattern(n):
    """Five points: the element and its four grid neighbours."""
    k = int(round(n ** 0.5))
    stencil, eye = tridiagonal_pattern(k), sp.eye(k, dtype=bool)
    return sp.csr_array(sp.kron(eye, stencil) + sp.kron(stencil, eye), dtype=bool)


def brusselator_start(n):
    grid = np.arange(1, n // 2 + 1) / (n // 2 + 1)
    return np.concatenate([1 + np.sin(2 * np.pi * grid), np.full(n // 2, 3.0)])


def bratu_start(n):
    k = int(round(n ** 0.5))
    grid = np.arange(1, k + 1) / (k + 1)
    return (np.sin(np.pi * grid)[:, None] * np.sin(np.pi * grid)[None, :]).reshape(-1)


MODELS = {
    # name: (model, CasADi model, hand pattern, start point, size for a requested n)
    "brusselator_1d": (brusselator, brusselator_casadi, brusselator_pattern, brusselator_start,
                       lambda n: 2 * (n // 2)),
    "bratu_2d": (bratu_2d, bratu_2d_casadi, bratu_pattern, bratu_start,
                 lambda n: int(round(n ** 0.5)) ** 2),
}


# --------------------------------------------------------------------------- peers

def load_jax():
    try:
        import jax
        import sparsejac
        from jax.experimental import sparse as jsparse
    except ImportError as error:
        print(f"sparsejac column left out: {error}", file=sys.stderr)
        return None
    jax.config.update("jax_enable_x64", True)
    return jax, sparsejac, jsparse


def load_casadi():
    try:
        import casadi
    except ImportError as error:
        print(f"casadi column left out: {error}", file=sys.stderr)
        return None
    return casadi


def bcoo_to_csr(J, shape):
    indices = np.asarray(J.indices)
    return sp.csr_array((np.asarray(J.data), (indices[:, 0], indices[:, 1])), shape=shape)


def prepare_sparsejac(jax_modules, model, pattern, x):
    """The jitted sparse Jacobian, its compile + first call time, and a to-scipy variant."""
    jax, sparsejac, jsparse = jax_modules
    import jax.numpy as jnp
    sparsity = jsparse.BCOO.from_scipy_sparse(sp.coo_matrix(pattern))
    jacobian = jax.jit(sparsejac.jacfwd(lambda z: model(z, jnp), sparsity=sparsity))
    x_device = jax.device_put(x)
    started = time.perf_counter()
    jacobian(x_device).data.block_until_ready()
    compile_s = time.perf_counter() - started

    def call():
        J = jacobian(x_device)
        J.data.block_until_ready()
        return J

    return call, (lambda: bcoo_to_csr(call(), pattern.shape)), compile_s


def prepare_casadi(ca, model_casadi, x):
    started = time.perf_counter()
    symbols = ca.SX.sym("x", x.size)
    expression = model_casadi(ca, symbols)
    jacobian = ca.Function("jacobian", [symbols], [ca.jacobian(expression, symbols)])
    build_s = time.perf_counter() - started
    call = lambda: jacobian(x)
    return call, (lambda: call().sparse()), build_s


# --------------------------------------------------------------------------- timing

def per_call_seconds(call, budget_s=0.4, rounds=5):
    """Best of `rounds` blocks of calls, each block at least budget_s / rounds long."""
    call()
    timer = timeit.Timer(call)
    number, elapsed = 1, timer.timeit(1)
    while elapsed * number < budget_s / rounds and number < 100_000:
        number *= 2
    return min(timer.repeat(rounds, number)) / number


def as_dense(J):
    if hasattr(J, "todense"):
        return np.asarray(J.todense())
    return np.asarray(J)


def max_abs_diff(J, reference):
    return float(np.max(np.abs(as_dense(J) - reference)))


def check_pattern(f, x, pattern, name):
    traced = dj.jacobian_sparsity(f, x)
    if (traced != pattern).nnz:
        raise AssertionError(f"{name}: the hand pattern differs from dj.jacobian_sparsity "
                             f"({(traced != pattern).nnz} entries)")


def measure_model(name, n_requested, jax_modules, casadi_module, budget_s):
    model, model_casadi, pattern_of, start_of, size_of = MODELS[name]
    n = size_of(n_requested)
    x, pattern = start_of(n), pattern_of(n)
    f = lambda z: model(z, np)
    check_pattern(f, x, pattern, name)
    prepared = dj.SparseJacobian(f, x)
    reference = as_dense(prepared(x))
    groups = group_columns(pattern)
    calls = {
        "f numpy": lambda: f(x),
        "dj prepared": lambda: prepared(x),
        "dj one-shot": lambda: dj.sparse_jacobian(f, x),
        "scipy 2-point": lambda: approx_derivative(f, x, method="2-point",
                                                   sparsity=(pattern, groups)),
    }
    row = dict(model=name, n=n, nnz=int(pattern.nnz), dj_colors=int(prepared.ncolors),
               scipy_groups=int(groups.max() + 1), errors={}, setup_s={})
    if jax_modules is not None:
        call, to_scipy, row["setup_s"]["sparsejac jit"] = prepare_sparsejac(
            jax_modules, model, pattern, x)
        calls["sparsejac"], calls["sparsejac + to scipy"] = call, to_scipy
    if casadi_module is not None:
        call, to_scipy, row["setup_s"]["casadi build"] = prepare_casadi(
            casadi_module, model_casadi, x)
        calls["casadi"], calls["casadi + to scipy"] = call, to_scipy
    for column, call in calls.items():
        if column != "f numpy":
            row["errors"][column] = max_abs_diff(call(), reference)
    row["us"] = {column: 1e6 * per_call_seconds(call, budget_s) for column, call in calls.items()}
    row["jacobian_scale"] = float(np.max(np.abs(reference)))
    return row


# --------------------------------------------------------------------------- report

TIME_COLUMNS = ["f numpy", "dj prepared", "dj one-shot", "scipy 2-point", "sparsejac",
                "sparsejac + to scipy", "casadi", "casadi + to scipy"]
RATIO_COLUMNS = ["scipy 2-point", "sparsejac", "sparsejac + to scipy", "casadi",
                 "casadi + to scipy", "dj one-shot"]


def fmt(value, digits=0):
    return "-" if value is None else f"{value:,.{digits}f}"


def markdown_table(header, lines):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def print_report(rows):
    print(markdown_table(["model", "n", "nnz", "colors dj / scipy"] + TIME_COLUMNS, [
        [r["model"], f"{r['n']:,}", f"{r['nnz']:,}", f"{r['dj_colors']} / {r['scipy_groups']}"]
        + [fmt(r["us"].get(c)) for c in TIME_COLUMNS] for r in rows]))
    print("\nper-call time in evaluations of f (f numpy = 1), and / dualjac prepared\n")
    print(markdown_table(["model", "n", "dj prepared in f", "scipy 2-point in f"]
                         + [f"{c} / dj" for c in RATIO_COLUMNS], [
        [r["model"], f"{r['n']:,}", fmt(r["us"]["dj prepared"] / r["us"]["f numpy"], 1),
         fmt(r["us"]["scipy 2-point"] / r["us"]["f numpy"], 1)]
        + [fmt(r["us"][c] / r["us"]["dj prepared"], 2) if c in r["us"] else "-"
           for c in RATIO_COLUMNS] for r in rows]))
    print("\nmax abs difference from dualjac's Jacobian (max |J| in brackets); setup seconds\n")
    for r in rows:
        errors = ", ".join(f"{c} {e:.1e}" for c, e in r["errors"].items())
        setup = ", ".join(f"{c} {s:.2f}" for c, s in r["setup_s"].items())
        print(f"- {r['model']} n={r['n']:,} [{r['jacobian_scale']:.1e}]: {errors}; {setup}")


def versions():
    found = {"python": platform.python_version(), "numpy": np.__version__}
    for module in ("scipy", "jax", "sparsejac", "casadi"):
        try:
            found[module] = getattr(__import__(module), "__version__", "?")
        except ImportError:
            pass
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="n = 2,000 only, short timing")
    parser.add_argument("--sizes", default=None, help="comma-separated n (default 2000,20000)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--no-jax", action="store_true")
    parser.add_argument("--no-casadi", action="store_true")
    parser.add_argument("--json", default=None, help="write the measurements to this file")
    options = parser.parse_args(argv)
    sizes = [int(s) for s in (options.sizes or ("2000" if options.quick else "2000,20000"))
             .split(",")]
    budget_s = 0.15 if options.quick else 0.5
    jax_modules = None if options.no_jax else load_jax()
    casadi_module = None if options.no_casadi else load_casadi()
    rows = []
    for name in options.models.split(","):
        for n in sizes:
            rows.append(measure_model(name, n, jax_modules, casadi_module, budget_s))
            print(f"measured {name} n={rows[-1]['n']}", file=sys.stderr)
    print(f"\nus per call, best of 5; {platform.machine()}, {os.cpu_count()} cores; "
          + ", ".join(f"{k} {v}" for k, v in versions().items()) + "\n")
    print_report(rows)
    if options.json:
        with open(options.json, "w") as out:
            json.dump(dict(versions=versions(), rows=rows), out, indent=1)


if __name__ == "__main__":
    main()
