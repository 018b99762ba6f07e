"""Interleaved (A) vs separate (B) dual-array layout: timings.

    python research/layout/build.py      # once
    python research/layout/measure.py    # 3 fresh-process runs per allocator mode
                                           # -> results_<mode>.json, results_table.md

Allocator modes (glibc env vars for the child processes; only the large cases
are sensitive to them, so warm/cold run the large cases only):
  default : plain glibc (dynamic mmap threshold -> state-dependent page faults)
  warm    : MALLOC_MMAP_THRESHOLD_=32MB, MALLOC_TRIM_THRESHOLD_=4GB: freed memory is
            always reused from the heap, no page faults (best case)
  cold    : MALLOC_MMAP_THRESHOLD_=128KB: every large array is a fresh mmap, so every
            op pays first-touch page faults (worst case)

Each run alternates A and B within every repeat (A,B then B,A ...) so machine
drift hits both equally; per run we keep the median over repeats, and across
runs we report the median of run medians plus the min..max spread of run medians.
"""
import functools, json, os, resource, statistics, subprocess, sys, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _layout_kernels as K                                     # noqa: E402

P = functools.partial
REPEATS, TARGET = 25, 0.01        # repeats per run, ~seconds per repeat

# name, element shape S, seeds n, dtype, large (bandwidth-bound)?
CASES = [("S=(2,2) n=4 f32 [seed]", (2, 2), 4, np.float32, False),
         ("S=(3,) n=3 f64", (3,), 3, np.float64, False),
         ("S=(100,) n=100 f64", (100,), 100, np.float64, False),
         ("S=(1e5,3) n=3 f64", (100_000, 3), 3, np.float64, True),
         ("S=(1e6,) n=1 f64", (1_000_000,), 1, np.float64, True)]


def calibrate(f):
    """Loop count so one repeat takes ~TARGET s."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        if time.perf_counter() - t0 >= TARGET or n >= 1 << 22:
            return n
        n *= 2


def one(f, n):
    t0 = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t0) / n


def bench(fa, fb):
    """Median seconds/call of A and B, interleaved; also p10/p90 within the run."""
    na, nb = calibrate(fa), calibrate(fb)
    ta, tb = [], []
    for r in range(REPEATS):
        if r % 2:
            tb.append(one(fb, nb)); ta.append(one(fa, na))
        else:
            ta.append(one(fa, na)); tb.append(one(fb, nb))
    q = lambda xs: [statistics.median(xs), *np.percentile(xs, [10, 90])]
    return q(ta) + [faults(fa, na)], q(tb) + [faults(fb, nb)]


def faults(f, n):
    """Minor page faults per call (first-touch of freshly mmapped output memory)."""
    n = min(n, 50)
    r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        f()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0) / n


def make(S, n, dt, seed):
    rng = np.random.default_rng(seed)
    v, t = rng.random(S).astype(dt), rng.random(S + (n,)).astype(dt)
    buf = np.empty(S + (1 + n,), dt)            # A: value then its n partials
    buf[..., 0], buf[..., 1:] = v, t
    return K.DualA(buf), K.DualB(v, t)


def run_once(large_only=False):
    out = {"cases": {}}
    # reference floors (4-element float64)
    x4 = np.ones(4)
    out["ref"] = {k: bench(f, f)[0][0] for k, f in
                  [("np.empty(4)", P(np.empty, 4)), ("np.multiply(a,a) 4 el", P(np.multiply, x4, x4)),
                   ("harness: partial(id) call", P(id, None))]}
    # copy bandwidth: 100 MB float64 copyto, bytes = read + write
    src = np.ones(100_000_000 // 8); dst = np.zeros_like(src)
    out["copy_GBps"] = 2 * src.nbytes / bench(P(np.copyto, dst, src), P(np.copyto, dst, src))[0][0] / 1e9
    del src, dst

    for name, S, n, dt, large in CASES:
        if large_only and not large:
            continue
        a1, b1 = make(S, n, dt, 1)
        a2, b2 = make(S, n, dt, 2)
        oa, ob = make(S, n, dt, 3)               # preallocated outputs (kernel-only timing)
        nb = a1.buf.nbytes                       # bytes of one dual array (same in A and B)
        perm = tuple(range(len(S)))[::-1]        # transpose of S, trailing partial axis kept
        ops = {
            # op: (A callable, B callable, nominal bytes touched)
            "mul": (P(K.mul_a, a1, a2), P(K.mul_b, b1, b2), 3 * nb),
            "mul (prealloc out, kernel only)": (P(K.mul_a, a1, a2, oa), P(K.mul_b, b1, b2, ob), 3 * nb),
            "sin": (P(K.sin_a, a1), P(K.sin_b, b1), 2 * nb),
            "x*x*x (2 muls)": (P(K.cube_a, a1), P(K.cube_b, b1), 5 * nb),
            # Jacobian (prod(S), n): A must copy the strided partials, B is a view
            "jacobian": (lambda: np.ascontiguousarray(a1.buf[..., 1:]).reshape(-1, n),
                         lambda: b1.t.reshape(-1, n), None),
            # fallback NumPy ops on the whole dual array, re-wrapped
            "transpose (view)": (lambda: K.DualA(a1.buf.transpose(perm + (len(S),))),
                                 lambda: K.DualB(b1.v.transpose(perm), b1.t.transpose(perm + (len(S),))), None),
            "concatenate 2 arrays": (lambda: K.DualA(np.concatenate((a1.buf, a2.buf))),
                                     lambda: K.DualB(np.concatenate((b1.v, b2.v)),
                                                     np.concatenate((b1.t, b2.t))), 2 * 2 * nb),
        }
        res = {}
        for op, (fa, fb, nbytes) in ops.items():
            (ta, *sa, fla), (tb, *sb, flb) = bench(fa, fb)
            res[op] = {"A": ta, "B": tb, "A_p10_p90": sa, "B_p10_p90": sb, "faults": (fla, flb),
                       "bytes": nbytes if large else None}
        out["cases"][name] = res
    return out


def fmt_t(s):
    return f"{s*1e9:.0f} ns" if s < 1e-6 else f"{s*1e6:.2f} µs" if s < 1e-3 else f"{s*1e3:.2f} ms"


MODES = {"default": {},
         "warm": {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "4294967296"},
         "cold": {"MALLOC_MMAP_THRESHOLD_": "131072"}}


def report(runs, mode):
    med = statistics.median
    lines = [f"### allocator mode: {mode}", "",
             f"{len(runs)} fresh processes x {REPEATS} interleaved repeats; time = median of per-run "
             "medians [min..max of per-run medians]; GB/s = nominal bytes (inputs read + outputs "
             "written) / median time; pf = minor page faults per call (A/B)", ""]
    if "copy_GBps" in runs[0]:
        cb = [r["copy_GBps"] for r in runs]
        lines.append(f"- np.copyto 100 MB float64: **{med(cb):.1f} GB/s** (read+write) "
                     f"[{min(cb):.1f}..{max(cb):.1f}]")
        for k in runs[0]["ref"]:
            xs = [r["ref"][k] for r in runs]
            lines.append(f"- {k}: {fmt_t(med(xs))} [{fmt_t(min(xs))}..{fmt_t(max(xs))}]")
    lines += ["", "| case | op | A interleaved | B separate | B/A | GB/s A / B | pf A / B |",
              "|---|---|---|---|---|---|---|"]
    for case in runs[0]["cases"]:
        for op in runs[0]["cases"][case]:
            rs = [r["cases"][case][op] for r in runs]
            A = [x["A"] for x in rs]; B = [x["B"] for x in rs]; R = [b / a for a, b in zip(A, B)]
            nb = rs[0]["bytes"]
            gbs = f"{nb/med(A)/1e9:.1f} / {nb/med(B)/1e9:.1f}" if nb else ""
            pf = [med(x["faults"][k] for x in rs) for k in (0, 1)]
            lines.append(f"| {case} | {op} | {fmt_t(med(A))} [{fmt_t(min(A))}..{fmt_t(max(A))}] "
                         f"| {fmt_t(med(B))} [{fmt_t(min(B))}..{fmt_t(max(B))}] "
                         f"| **{med(R):.2f}** [{min(R):.2f}..{max(R):.2f}] | {gbs} "
                         f"| {pf[0]:.0f} / {pf[1]:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if "--once" in sys.argv:                      # child: one run, JSON to stdout
        print(json.dumps(run_once(large_only="--large-only" in sys.argv)))
        sys.exit()
    nruns = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    modes = sys.argv[sys.argv.index("--modes") + 1].split(",") if "--modes" in sys.argv else list(MODES)
    tables = []
    for mode in modes:
        runs = []
        for i in range(nruns):
            print(f"[{mode}] run {i+1}/{nruns} ...", file=sys.stderr, flush=True)
            cmd = [sys.executable, __file__, "--once"] + (["--large-only"] if mode != "default" else [])
            env = {**os.environ, **MODES[mode]}
            runs.append(json.loads(subprocess.check_output(cmd, env=env)))
        json.dump(runs, open(os.path.join(HERE, f"results_{mode}.json"), "w"), indent=1)
        tables.append(report(runs, mode))
    open(os.path.join(HERE, "results_table.md"), "w").write("\n".join(tables))
    print("\n".join(tables))
