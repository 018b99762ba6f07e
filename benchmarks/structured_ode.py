"""Method of lines end to end: the 1-D Brusselator solved by solve_ivp(method="BDF") with
the Jacobian from each variant; one subprocess per (variant, size), so that every
variant's peak memory is measured from the same clean start.

    python benchmarks/structured_ode.py --unknowns 2000 --variants dj_sparse,scipy_fd

Variants (the right-hand side is the same NumPy function in all of them; only the
Jacobian differs):
  dj_sparse   jac = dj.SparseJacobian(rhs, y0), prepared once (pattern and coloring
              found by dualjac)
  scipy_fd    SciPy's own finite differences, jac_sparsity = the pattern written by hand
  dj_dense    jac = dj.jacobian(rhs, y) (dense ndarray, dense LU)
  jax_dense   jac = jax.jit(jax.jacfwd(rhs in jax.numpy)) (dense); functional spellings only

"first s" is the first solve at the size: it includes dualjac's preparation ("prep s")
and jax's compile (inside its first jac call); "wall s" is the median of the later solves,
which reuse the prepared call (with a single solve, the first).

Memory: the RSS high-water mark of the worker process during the solve, minus its RSS
just before (VmHWM reset through /proc/self/clear_refs; Linux): it sees every allocator
(NumPy, SuperLU, XLA), unlike tracemalloc.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import structured_cases as sc  # noqa: E402

VARIANTS = ("dj_sparse", "scipy_fd", "dj_dense", "jax_dense")
DENSE_VARIANTS = ("dj_dense", "jax_dense")
DENSE_LIMIT_UNKNOWNS = 2000
T_END = 1.0
WARM_UP_UNKNOWNS = 20  # a tiny solve first: lazy imports are not part of the timing
RTOL, ATOL = 1e-6, 1e-8


# --------------------------------------------------------------------------- worker side

def _status_kib(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def _reset_high_water():
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class TimedJacobian:
    """Wraps a jac callable to count the time spent inside it."""

    def __init__(self, jac):
        self.jac, self.seconds = jac, 0.0

    def __call__(self, t, y):
        t0 = time.perf_counter()
        out = self.jac(t, y)
        self.seconds += time.perf_counter() - t0
        return out


_PREPARED = {}  # (variant, spelling, size) -> jac: prepared / compiled once per process
_PREPARE_S = {}  # ... and the seconds that took (jax compiles later, in its first call)


def _jacobian_option(variant, spelling, y0):
    """(solve_ivp keyword arguments, TimedJacobian or None) for one variant. The first
    solve of a size pays dualjac's preparation or jax's compile; later ones reuse it."""
    if variant == "scipy_fd":
        return {"jac_sparsity": sc.brusselator_pattern(y0.size)}, None
    key = (variant, spelling.name, y0.size)
    if key not in _PREPARED:
        t0 = time.perf_counter()
        _PREPARED[key] = _make_jacobian(variant, spelling, y0)
        _PREPARE_S[key] = time.perf_counter() - t0
    timed = TimedJacobian(_PREPARED[key])
    return {"jac": timed}, timed


def _make_jacobian(variant, spelling, y0):
    if variant == "dj_sparse":
        import dualjac as dj
        prepared = dj.SparseJacobian(spelling.fn, y0)
        return lambda t, y: prepared(y)
    if variant == "dj_dense":
        import dualjac as dj
        return lambda t, y: dj.jacobian(spelling.fn, y)
    if variant == "jax_dense":
        import jax
        import jax.numpy as jnp
        jitted = jax.jit(jax.jacfwd(functools.partial(spelling.fn, np=jnp)))
        return lambda t, y: np.asarray(jitted(y))
    raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")


def solve_once(variant, spelling, unknowns):
    from scipy.integrate import solve_ivp
    y0 = sc.brusselator_y0(unknowns)
    rss_before = _status_kib("VmRSS:")
    clean_peak = _reset_high_water()
    t0 = time.perf_counter()
    options, timed = _jacobian_option(variant, spelling, y0)
    sol = solve_ivp(lambda t, y: spelling.fn(y), (0.0, T_END), y0, method="BDF",
                    rtol=RTOL, atol=ATOL, **options)
    wall = time.perf_counter() - t0
    peak = (_status_kib("VmHWM:") - rss_before) / 1024.0 if clean_peak else None
    return {"wall_s": wall, "jac_s": timed.seconds if timed else None, "njev": int(sol.njev),
            "nfev": int(sol.nfev), "nlu": int(sol.nlu), "status": int(sol.status),
            "peak_mb": peak, "y_end": sol.y[:, -1].tolist() if unknowns <= 4000 else None,
            "y_end_norm": float(np.linalg.norm(sol.y[:, -1]))}


def worker(variant, unknowns, spelling_names, repeats):
    """One record per spelling: medians of `repeats` solves, after a tiny warm-up solve
    (a jax variant still compiles for the real size in its first solve, reported apart)."""
    spellings = [s for s in sc.BRUSSELATOR.spellings if s.name in spelling_names]
    if variant == "jax_dense":
        import jax
        jax.config.update("jax_enable_x64", True)
        spellings = [s for s in spellings if s.functional]
    records = []
    for s in spellings:
        solve_once(variant, s, WARM_UP_UNKNOWNS)  # lazy imports and first-call set-up
        runs = [solve_once(variant, s, unknowns) for _ in range(repeats)]
        later = runs[1:] or runs  # solves that reuse the prepared Jacobian
        record = dict(runs[-1], spelling=s.name, variant=variant, unknowns=unknowns,
                      prepare_s=_PREPARE_S.get((variant, s.name, unknowns)),
                      first_wall_s=runs[0]["wall_s"], wall_s=statistics.median(r["wall_s"] for r in later),
                      peak_mb=max((r["peak_mb"] or 0.0) for r in runs) if runs[0]["peak_mb"] is not None else None)
        records.append(record)
    return records


# --------------------------------------------------------------------------- parent side

def run_variant(variant, unknowns, spelling_names, repeats, python):
    """Records from one worker subprocess, or one record with status text."""
    if variant in DENSE_VARIANTS and unknowns > DENSE_LIMIT_UNKNOWNS:
        gb = unknowns * unknowns * 8 / 1e9
        return [{"variant": variant, "unknowns": unknowns, "note": f"n/a: dense would need {gb:.1f} GB"}]
    if python is None:
        return [{"variant": variant, "unknowns": unknowns, "note": "n/a: jax not importable"}]
    if variant == "dj_sparse" and not sparse_api_available():
        return [{"variant": variant, "unknowns": unknowns, "note": "n/a: dualjac has no SparseJacobian"}]
    cmd = [python, os.path.abspath(__file__), "--worker", "--variants", variant, "--unknowns",
           str(unknowns), "--spellings", ",".join(spelling_names), "--repeats", str(repeats)]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:160]
        return [{"variant": variant, "unknowns": unknowns, "note": f"ERROR: {last}"}]
    return json.loads(done.stdout.strip().splitlines()[-1])


def sparse_api_available():
    try:
        import dualjac
    except ImportError:
        return False
    return hasattr(dualjac, "SparseJacobian")


def jax_python(explicit=None):
    """The interpreter that runs the jax variant: this one if jax imports, else `explicit`."""
    try:
        import jax  # noqa: F401
        return sys.executable
    except ImportError:
        return explicit


def run_ode(sizes, spelling_names, repeats, variants=VARIANTS, jax_executable=None, log=None):
    records = []
    for unknowns in sizes:
        for variant in variants:
            python = jax_python(jax_executable) if variant == "jax_dense" else sys.executable
            if log:
                log(f"ode {variant} {unknowns}")
            records += run_variant(variant, unknowns, spelling_names, repeats, python)
    _add_agreement(records)
    return records


def _add_agreement(records):
    """Final states against scipy_fd's (same spelling, same size): the solves must agree
    to about the tolerances, whatever the Jacobian (it only steers Newton)."""
    base = {(r["unknowns"], r.get("spelling")): r for r in records if r["variant"] == "scipy_fd" and "wall_s" in r}
    for r in records:
        ref = base.get((r["unknowns"], r.get("spelling")))
        if ref is None or "wall_s" not in r:
            continue
        if r.get("y_end") and ref.get("y_end"):
            a, b = np.array(r["y_end"]), np.array(ref["y_end"])
            r["vs_scipy"] = float(np.abs(a - b).max() / np.abs(b).max())
        else:
            r["vs_scipy"] = abs(r["y_end_norm"] - ref["y_end_norm"]) / ref["y_end_norm"]


def format_table(records):
    head = (f"{'unknowns':>8s} {'variant':10s} {'spelling':10s} {'wall s':>8s} {'first s':>8s} "
            f"{'prep s':>7s} {'jac ms':>8s} {'njev':>4s} {'nfev':>5s} {'nlu':>4s} {'peak MB':>8s} {'vs scipy':>8s}")
    lines = [head]
    for r in records:
        if "wall_s" not in r:
            lines.append(f"{r['unknowns']:8d} {r['variant']:10s} {'':10s} {r['note']}")
            continue
        prep = f"{r['prepare_s']:7.3f}" if r.get("prepare_s") is not None else f"{'':7s}"
        jac = f"{r['jac_s'] * 1e3:8.1f}" if r["jac_s"] is not None else f"{'in fd':>8s}"
        peak = f"{r['peak_mb']:8.1f}" if r["peak_mb"] is not None else f"{'n/a':>8s}"
        agree = f"{r['vs_scipy']:8.1e}" if "vs_scipy" in r else f"{'':8s}"
        lines.append(f"{r['unknowns']:8d} {r['variant']:10s} {r['spelling']:10s} {r['wall_s']:8.3f} "
                     f"{r['first_wall_s']:8.3f} {prep} {jac} {r['njev']:4d} {r['nfev']:5d} {r['nlu']:4d} "
                     f"{peak} {agree}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--unknowns", default="2000", help="comma-separated sizes (2N unknowns)")
    ap.add_argument("--spellings", default=",".join(s.name for s in sc.BRUSSELATOR.spellings))
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--jax-python", default=None, help="interpreter with jax, when this one lacks it")
    args = ap.parse_args(argv)
    names = args.spellings.split(",")
    if args.worker:
        print(json.dumps(worker(args.variants, int(args.unknowns), names, args.repeats)))
        return
    sizes = [int(s) for s in args.unknowns.split(",")]
    print(format_table(run_ode(sizes, names, args.repeats, args.variants.split(","), args.jax_python)))


if __name__ == "__main__":
    main()
