"""Structured (sparse) derivatives: dualjac's sparse Jacobians and Hessians beside SciPy's
finite differences with a hand-written pattern and jax.jit's dense transforms, on local
(stencil) code, each case written in several spellings of the same math.

    PYTHONPATH=. python benchmarks/structured.py                 # everything (~20 min)
    PYTHONPATH=. python benchmarks/structured.py --quick         # smoke test (< 1 min)
    PYTHONPATH=. python benchmarks/structured.py --cases stencil_1d,scaling --sizes 1000
    PYTHONPATH=. /path/to/venv-with-jax/bin/python benchmarks/structured.py --json out.json

Every result is checked against a float64 reference (complex step, analytic gradients)
before it is timed; a wrong one is reported WRONG and not timed. Times are medians of
repeated loops (time.perf_counter via timeit, GC off, after a warm-up call).
A peer that does not import is "n/a", never an error.
"""
from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import statistics
import sys
import time
import timeit
from dataclasses import asdict, dataclass

import numpy as np
import scipy
from scipy.optimize._numdiff import approx_derivative, group_columns

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import structured_cases as sc  # noqa: E402
import structured_ode as ode  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")

JACOBIAN_APIS = ("f_numpy", "dj_prepared", "dj_oneshot", "dj_dense", "scipy_fd", "jax_jit")
HESSIAN_APIS = ("f_numpy", "numpy_grad", "dj_gradient", "jax_grad",
                "dj_prepared", "dj_oneshot", "dj_dense", "scipy_fd", "jax_hessian")
DUALJAC_BASELINES = ("dj_prepared", "dj_oneshot", "dj_dense")  # first one measured is "dualjac"
DENSE_LIMIT_BYTES = 64e6   # dense results beyond this are not computed (n = 10,000: 0.8 GB)
# A dense Hessian whose banded path falls back carries n^2 derivative numbers per element:
# at n = 1,000 that is 8 GB of intermediates (seconds per call), so it stops at n = 200.
DENSE_HESSIAN_LIMIT = 200
SLOW_CALL_S = 1.0          # a first call slower than this is timed once more, not looped
EXACT_TOLERANCE, FD_TOLERANCE = 1e-9, 1e-4
JACOBIAN_FAMILIES = ("stencil_1d", "stencil_2d", "brusselator")
HESSIAN_FAMILIES = ("ext_rosenbrock", "grid_energy")
# The hand-written gradient does not depend on f's spelling: measured on the first only.
SPELLING_FREE = ("numpy_grad", "scipy_fd")
ALL_CASES = JACOBIAN_FAMILIES + HESSIAN_FAMILIES + ("scaling", "ode")


@dataclass
class Timing:
    target_s: float = 0.03   # a loop of calls lasting at least this long...
    repeats: int = 5         # ...repeated, median per call


FULL, QUICK = Timing(), Timing(target_s=0.005, repeats=3)


def _loop_sizes():
    decade = 1
    while True:
        yield from (decade, 2 * decade, 5 * decade)
        decade *= 10


def time_call(call, timing):
    """Median seconds per call; loops grown 1, 2, 5, 10, ... until one lasts target_s."""
    timer = timeit.Timer(call)  # timeit turns the GC off while timing
    for number in _loop_sizes():
        if timer.timeit(number) >= timing.target_s:
            break
    return statistics.median(t / number for t in timer.repeat(timing.repeats, number))


# --------------------------------------------------------------------------- peers

class Peers:
    """dualjac (with or without the sparse API) and jax, each possibly missing."""

    def __init__(self):
        try:
            import dualjac
            self.dj = dualjac
        except ImportError:
            self.dj = None
        self.sparse = self.dj is not None and all(
            hasattr(self.dj, name) for name in ("SparseJacobian", "SparseHessian",
                                                 "sparse_jacobian", "sparse_hessian"))
        try:
            import jax
            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp
            self.jax, self.jnp = jax, jnp
        except ImportError:
            self.jax = self.jnp = None

    def versions(self):
        return {"python": platform.python_version(), "numpy": np.__version__,
                "scipy": scipy.__version__,
                "dualjac": getattr(self.dj, "__version__", "dev") if self.dj else None,
                "dualjac_sparse_api": self.sparse,
                "jax": self.jax.__version__ if self.jax else None}


def dense_refusal(rows, cols):
    gb = rows * cols * 8 / 1e9
    return f"n/a: dense would need {gb:.1f} GB" if rows * cols * 8 > DENSE_LIMIT_BYTES else None


def dense_hessian_refusal(n):
    if n > DENSE_HESSIAN_LIMIT:
        return f"n/a: a dense Hessian may carry n^2 = {n * n:,} numbers per element"
    return None


# --------------------------------------------------------------------------- one cell

@dataclass
class Cell:
    family: str
    n: int
    spelling: str
    api: str
    status: str                    # ok | WRONG | ERROR | n/a | —
    median_s: float | None = None
    first_s: float | None = None
    error: float | None = None
    note: str = ""
    prepare_s: float | None = None  # dj_prepared: building the SparseJacobian / SparseHessian
    ncolors: int | None = None


def measure(family, n, spelling, api, maker, check, tolerance, timing):
    """maker() -> zero-argument call, or a status string ("n/a: ...", "—")."""
    cell = Cell(family, n, spelling, api, "ok")
    try:
        made = maker()
        if isinstance(made, str):
            cell.status, _, cell.note = made.partition(": ")
            return cell
        call, extra = made if isinstance(made, tuple) else (made, {})
        for key, value in extra.items():
            setattr(cell, key, value)
        t0 = time.perf_counter()
        out = call()
        cell.first_s = time.perf_counter() - t0
        cell.error = check(out)
    except NotImplementedError as exc:
        cell.status, cell.note = "n/a", str(exc)[:160]
        return cell
    except Exception as exc:  # one failing cell is a table entry, never a crash
        cell.status, cell.note = "ERROR", f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        return cell
    if not cell.error <= tolerance:
        cell.status = "WRONG"
        return cell
    if cell.first_s > SLOW_CALL_S:
        t0 = time.perf_counter()
        call()
        cell.median_s = time.perf_counter() - t0
        cell.note = "; ".join(filter(None, (cell.note, "slow: one timed call")))
    else:
        cell.median_s = time_call(call, timing)
    return cell


def value_error(ref):
    scale = max(np.abs(ref).max(), np.finfo(float).tiny)
    return lambda out: float(np.abs(np.asarray(out, dtype=float).reshape(np.shape(ref)) - ref).max() / scale)


def _prepared(build, x, pattern):
    """A dj.SparseJacobian / SparseHessian built (and timed) once; notes a pattern that
    differs from the hand pattern."""
    t0 = time.perf_counter()
    prepared = build()
    extra = {"prepare_s": time.perf_counter() - t0, "ncolors": int(prepared.ncolors)}
    found = sc.sp.csr_array(prepared.sparsity, dtype=bool)
    if found.shape != pattern.shape:
        extra["note"] = f"pattern of shape {found.shape}, expected {pattern.shape}"
    elif (pattern > found).nnz:
        extra["note"] = f"pattern misses {(pattern > found).nnz} entries of the hand pattern"
    elif (found > pattern).nnz:  # e.g. x * 0.0 is structurally x: explicit zeros, more colors
        extra["note"] = f"pattern: +{(found > pattern).nnz} structural entries (explicit zeros)"
    return (lambda: prepared(x)), extra


def _jax_dense(peers, spelling, x, transform, rows):
    if peers.jax is None:
        return "n/a: jax not importable"
    if not spelling.functional:
        return "—: in-place writes (jax arrays are immutable)"
    refusal = dense_refusal(rows, x.size)
    if refusal and transform != "grad":
        return refusal
    jitted = peers.jax.jit(getattr(peers.jax, transform)(functools.partial(spelling.fn, np=peers.jnp)))
    xj = peers.jnp.asarray(x)
    return lambda: jitted(xj).block_until_ready()


def jacobian_makers(peers, spelling, x, pattern, groups):
    f, dj = spelling.fn, peers.dj
    flat, x0 = sc.flat_function(f, x.shape), x.reshape(-1)
    no_sparse = "n/a: dualjac has no sparse API" if not peers.sparse else None
    return {
        "f_numpy": lambda: (lambda: f(x)),
        "dj_prepared": lambda: no_sparse or _prepared(lambda: dj.SparseJacobian(f, x), x, pattern),
        "dj_oneshot": lambda: no_sparse or (lambda: dj.sparse_jacobian(f, x)),
        "dj_dense": lambda: dense_refusal(*pattern.shape) or (lambda: dj.jacobian(f, x)),
        "scipy_fd": lambda: lambda: approx_derivative(flat, x0, sparsity=(pattern, groups)),
        "jax_jit": lambda: _jax_dense(peers, spelling, x, "jacfwd", pattern.shape[0]),
    }


def hessian_makers(peers, spelling, x, pattern, groups, gradient):
    f, dj = spelling.fn, peers.dj
    x0 = x.reshape(-1)
    no_sparse = "n/a: dualjac has no sparse API" if not peers.sparse else None
    return {
        "f_numpy": lambda: (lambda: f(x)),
        "numpy_grad": lambda: (lambda: gradient(x0)),
        "dj_gradient": lambda: lambda: dj.gradient(f, x),
        "jax_grad": lambda: _jax_dense(peers, spelling, x, "grad", 1),
        "dj_prepared": lambda: no_sparse or _prepared(lambda: dj.SparseHessian(f, x), x, pattern),
        "dj_oneshot": lambda: no_sparse or (lambda: dj.sparse_hessian(f, x)),
        "dj_dense": lambda: dense_hessian_refusal(x.size) or (lambda: dj.hessian(f, x)),
        "scipy_fd": lambda: lambda: approx_derivative(gradient, x0, sparsity=(pattern, groups)),
        "jax_hessian": lambda: _jax_dense(peers, spelling, x, "hessian", x.size),
    }


def run_family(peers, family, n, timing, log):
    """Every spelling x API of one family at one size: a list of Cells."""
    x = family.make_x(n)
    value, ref = sc.reference(family, x)
    pattern = family.pattern(x)
    groups = group_columns(pattern)  # scipy's coloring, as a SciPy user would compute it
    exact = lambda out: sc.sparse_error(_as_numpy(out), ref)
    checks = {"f_numpy": value_error(value)}
    if family.kind == "hessian":
        grad_ref = family.gradient(x.reshape(-1))
        for api in ("numpy_grad", "dj_gradient", "jax_grad"):
            checks[api] = value_error(grad_ref)
    cells = []
    for s in family.spellings:
        skip = SPELLING_FREE if family.kind == "hessian" and s is not family.spellings[0] else ()
        makers = (jacobian_makers(peers, s, x, pattern, groups) if family.kind == "jacobian"
                  else hessian_makers(peers, s, x, pattern, groups, family.gradient))
        for api, maker in ((a, m) for a, m in makers.items() if a not in skip):
            log(f"{family.name} n={x.size} {s.name} {api}")
            tol = FD_TOLERANCE if api == "scipy_fd" else EXACT_TOLERANCE
            cells.append(measure(family.name, x.size, s.name, api, maker, checks.get(api, exact), tol, timing))
    return cells


def _as_numpy(out):
    import scipy.sparse as sp
    return out if sp.issparse(out) else np.asarray(out)


# --------------------------------------------------------------------------- scaling

def run_scaling(peers, sizes, timing, log):
    """Prepared sparse Jacobian per call / plain f(x) per call, with ncolors."""
    cells = []
    for name in ("stencil_1d", "stencil_2d"):
        family = sc.FAMILIES[name]
        for n in sizes:
            x = family.make_x(n)
            value, ref = sc.reference(family, x)
            pattern = family.pattern(x)
            for s in family.spellings:
                log(f"scaling {name} n={x.size} {s.name}")
                makers = jacobian_makers(peers, s, x, pattern, None)
                for api in ("f_numpy", "dj_prepared"):
                    check = value_error(value) if api == "f_numpy" else (lambda out: sc.sparse_error(out, ref))
                    cells.append(measure(name, x.size, s.name, api, makers[api], check, EXACT_TOLERANCE, timing))
    return cells


# --------------------------------------------------------------------------- tables

def _fmt_us(cell):
    if cell is None:
        return ""
    if cell.status != "ok":
        return cell.status
    us = cell.median_s * 1e6
    return f"{us:.1f}" if us < 100 else f"{us:,.0f}"


def _index(cells):
    return {(c.family, c.n, c.spelling, c.api): c for c in cells}


def _groups(cells):
    """(family, n) in order of first appearance, with the spellings seen."""
    order = {}
    for c in cells:
        order.setdefault((c.family, c.n), [])
        if c.spelling not in order[c.family, c.n]:
            order[c.family, c.n].append(c.spelling)
    return order


def per_call_table(cells, apis):
    """Rows: spellings; columns: per-call microseconds per API, then dualjac's preparation."""
    index, lines = _index(cells), []
    for (family, n), spellings in _groups(cells).items():
        lines.append(f"\n{family}, n = {n:,}: {sc.FAMILIES[family].description} (us per call)")
        lines.append(f"{'spelling':11s}" + "".join(f"{a:>12s}" for a in apis) + f"{'prep us':>10s}{'colors':>7s}")
        for s in spellings:
            row = [index.get((family, n, s, a)) for a in apis]
            prep = index.get((family, n, s, "dj_prepared"))
            prep_us = f"{prep.prepare_s * 1e6:,.0f}" if prep and prep.prepare_s else ""
            colors = str(prep.ncolors) if prep and prep.ncolors else ""
            lines.append(f"{s:11s}" + "".join(f"{_fmt_us(c):>12s}" for c in row) + f"{prep_us:>10s}{colors:>7s}")
    return "\n".join(lines)


def _best(index, family, n, spellings, api):
    times = [index[family, n, s, api].median_s for s in spellings
             if (family, n, s, api) in index and index[family, n, s, api].status == "ok"]
    return (min(times), max(times)) if times else (None, None)


def summary_table(cells, apis):
    """Spelling spread (slowest / fastest spelling) per API, and peers / dualjac, each
    side with its fastest spelling; "dualjac" is the first of DUALJAC_BASELINES measured."""
    index, lines = _index(cells), []
    shown = [a for a in apis if a != "f_numpy"]
    head = f"{'case':15s}{'n':>7s}" + "".join(f"{a:>12s}" for a in shown)
    lines += ["spelling spread (slowest / fastest spelling, per API)", head]
    ratios = []
    for (family, n), spellings in _groups(cells).items():
        spread = []
        for a in shown:
            lo, hi = _best(index, family, n, spellings, a)
            spread.append(f"{hi / lo:.2f}" if lo else "n/a")
        lines.append(f"{family:15s}{n:>7,}" + "".join(f"{v:>12s}" for v in spread))
        ratios.append(_ratio_row(index, family, n, spellings, apis))
    lines += ["", "ratios, each side with its fastest spelling (> 1: dualjac faster)",
              f"{'case':15s}{'n':>7s}{'dualjac is':>13s}{'us':>10s}{'scipy/dj':>10s}{'jax/dj':>9s}"]
    return "\n".join(lines + ratios)


def _ratio_row(index, family, n, spellings, apis):
    base_api, base = None, None
    for api in DUALJAC_BASELINES:
        base = _best(index, family, n, spellings, api)[0]
        if base:
            base_api = api
            break
    jax_api = "jax_jit" if "jax_jit" in apis else "jax_hessian"
    out = f"{family:15s}{n:>7,}"
    if not base:
        return out + f"{'n/a':>13s}"
    parts = []
    for peer in ("scipy_fd", jax_api):
        t = _best(index, family, n, spellings, peer)[0]
        parts.append(f"{t / base:.2f}" if t else "n/a")
    return out + f"{base_api:>13s}{base * 1e6:>10,.1f}{parts[0]:>10s}{parts[1]:>9s}"


def scaling_table(cells):
    index = _index(cells)
    lines = ["prepared sparse Jacobian per call / one plain f(x) call (colors)"]
    for (family, n), names in _groups(cells).items():
        lines.append(f"{family:11s}{n:>8,} " + " ".join(
            f"{s}={_scaling_cell(index, family, n, s)}" for s in names))
    return "\n".join(lines)


def _scaling_cell(index, family, n, spelling):
    f, d = index.get((family, n, spelling, "f_numpy")), index.get((family, n, spelling, "dj_prepared"))
    if not d or d.status != "ok" or not f or f.status != "ok":
        return d.status if d else "n/a"
    return f"{d.median_s / f.median_s:.1f}({d.ncolors})"


# --------------------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 100, 1000; few repeats; < 1 min")
    ap.add_argument("--cases", default=",".join(ALL_CASES), help=f"subset of {','.join(ALL_CASES)}")
    ap.add_argument("--sizes", help="per-call sizes (default 100,1000,10000; quick 100,1000)")
    ap.add_argument("--ode-sizes", help="unknowns for the Brusselator (default 2000,20000; quick 2000)")
    ap.add_argument("--scaling-sizes", help="default 100,1000,10000,100000; quick 100,1000")
    ap.add_argument("--jax-python", help="an interpreter with jax for the ODE's jax variant "
                                         "when this one has none")
    ap.add_argument("--json", help="write every measurement to this file")
    ap.add_argument("-v", "--verbose", action="store_true", help="one progress line per cell")
    args = ap.parse_args(argv)
    unknown = set(args.cases.split(",")) - set(ALL_CASES)
    if unknown:
        ap.error(f"unknown case(s) {', '.join(sorted(unknown))}; choose from {', '.join(ALL_CASES)}")
    return args


def _sizes(text, default):
    return [int(float(s)) for s in text.split(",")] if text else list(default)


def verify(families, n):
    """All spellings agree on f(x) (1e-12) and on the derivative (complex step)."""
    problems = []
    for name in families:
        problems += sc.check_family(sc.FAMILIES[name], n)
    return problems


def main(argv=None):
    args = parse_args(argv)
    cases = args.cases.split(",")
    timing = QUICK if args.quick else FULL
    sizes = _sizes(args.sizes, (100, 1000) if args.quick else (100, 1000, 10000))
    ode_sizes = _sizes(args.ode_sizes, (2000,) if args.quick else (2000, 20000))
    scaling_sizes = _sizes(args.scaling_sizes, (100, 1000) if args.quick else (100, 1000, 10000, 100000))
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if args.verbose else (lambda m: None)
    peers = Peers()
    _print_header(peers, timing)
    problems = verify([c for c in cases if c in sc.FAMILIES], 100)
    print("verification (spellings agree, references):", "ok" if not problems else "FAILED")
    for p in problems:
        print("  " + p)
    report = {"versions": peers.versions(), "machine": _machine(), "timing": asdict(timing),
              "verification": problems, "cells": [], "scaling": [], "ode": []}
    for kind, families, apis in (("jacobian", JACOBIAN_FAMILIES, JACOBIAN_APIS),
                                 ("hessian", HESSIAN_FAMILIES, HESSIAN_APIS)):
        cells = []
        for name in (f for f in families if f in cases):
            for n in (ode_sizes if name == "brusselator" else sizes):
                cells += run_family(peers, sc.FAMILIES[name], n, timing, log)
        if cells:
            print(f"\n== per-call {kind}s ==" + per_call_table(cells, apis))
            print("\n" + summary_table(cells, apis))
            _print_notes(cells)
            report["cells"] += [asdict(c) for c in cells]
    if "scaling" in cases:
        cells = run_scaling(peers, scaling_sizes, timing, log)
        print("\n== scaling ==\n" + scaling_table(cells))
        _print_notes(cells)
        report["scaling"] = [asdict(c) for c in cells]
    if "ode" in cases:
        report["ode"] = run_ode_family(args, ode_sizes, log)
        print("\n== Brusselator, solve_ivp(BDF) end to end ==\n" + ode.format_table(report["ode"]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1, default=str)
    return 1 if problems else 0


def run_ode_family(args, sizes, log):
    """Quick: one spelling, and no dense variants (a dense LU of 2,000 alone takes seconds)."""
    spellings = [s.name for s in sc.BRUSSELATOR.spellings]
    variants = ode.VARIANTS
    if args.quick:
        spellings, variants = spellings[:1], ("dj_sparse", "scipy_fd")
    records = []
    for unknowns in sizes:
        repeats = 1 if args.quick else 2 if unknowns > ode.DENSE_LIMIT_UNKNOWNS else 3
        records += ode.run_ode([unknowns], spellings, repeats, variants, args.jax_python, log)
    return records


def _print_notes(cells):
    """Each distinct note once, with the cells it applies to."""
    where = {}
    for c in cells:
        if c.note and c.status != "—":
            where.setdefault((c.api, c.status, c.note), []).append(f"{c.family}/{c.spelling}@{c.n}")
    if where:
        print("notes:")
    for (api, status, note), cells_at in where.items():
        at = ", ".join(cells_at[:4]) + (f" (+{len(cells_at) - 4} more)" if len(cells_at) > 4 else "")
        print(f"  {api}: {status} {note} [{at}]")


def _machine():
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "date": datetime.date.today().isoformat(),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def _print_header(peers, timing):
    v = peers.versions()
    print(" ".join(f"{k}={val}" for k, val in v.items()))
    m = _machine()
    print(f"{m['platform']}, {m['cpus']} CPUs, {m['date']}; loops >= {timing.target_s * 1e3:g} ms, "
          f"median of {timing.repeats}")
    if m["load_average"] and m["load_average"] > 0.5:
        print(f"warning: load average {m['load_average']:.2f}: another process competes for the cores")


if __name__ == "__main__":
    sys.exit(main())
