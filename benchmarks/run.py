"""dualjac vs its peers, side by side in one process (benchmarks/README.md says what runs).

    PYTHONPATH=. python benchmarks/run.py                       # the eight cases
    PYTHONPATH=. python benchmarks/run.py --quick               # CI smoke: few repeats
    PYTHONPATH=. python benchmarks/run.py --scaling --bandwidth --json out.json
    PYTHONPATH=. python benchmarks/run.py --peers dualjac,jax_jit --interleave 25

Every peer's result is checked against a float64 reference before it is timed; a wrong
result is reported as WRONG and not timed. Times are per-call medians in microseconds.
The machines are shared and noisy: read the ratio tables, not the absolute times.
"""
from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import sys
import time
import timeit
import tracemalloc
from dataclasses import asdict, dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # sibling modules
import cases as cases_mod  # noqa: E402
import peers as peers_mod  # noqa: E402

FD_TOLERANCE = 1e-4  # finite differences are approximations; their error is printed anyway


# --------------------------------------------------------------------------- timing

@dataclass
class Timing:
    repeats: int = 7          # median over this many repeats...
    target_s: float = 0.1     # ...of a loop of calls lasting at least this long
    budget_s: float = 2.0     # slow peers (TF eager ~0.1 s/call) get fewer repeats, >= 3
    min_repeats: int = 3


QUICK = Timing(repeats=3, target_s=0.01, budget_s=0.3, min_repeats=1)


def _loop_sizes():
    """1, 2, 5, 10, 20, 50, ... as timeit.Timer.autorange tries them."""
    decade = 1
    while True:
        yield from (decade, 2 * decade, 5 * decade)
        decade *= 10


def time_call(call, timing: Timing) -> tuple[float, int, int]:
    """(median seconds per call, repeats, calls per repeat), timeit.autorange-style."""
    timer = timeit.Timer(call)  # timeit disables the GC while timing, like the stdlib CLI
    for number in _loop_sizes():
        t = timer.timeit(number)
        if t >= timing.target_s:
            break
    repeats = max(timing.min_repeats, min(timing.repeats, int(timing.budget_s / t)))
    per_call = [r / number for r in timer.repeat(repeat=repeats, number=number)]
    return statistics.median(per_call), repeats, number


# --------------------------------------------------------------------------- one cell

@dataclass
class Result:
    case: str
    peer: str
    status: str                   # ok | WRONG | ERROR | n/a | —
    first_s: float | None = None  # first call: includes tracing / compiling
    median_s: float | None = None
    error: float | None = None    # max |got - ref| / max |ref|
    tolerance: float | None = None
    repeats: int | None = None
    number: int | None = None
    note: str = ""


def relative_error(got, ref) -> float:
    if got.shape != ref.shape:
        return float("inf")
    diff = np.abs(got.astype(np.float64) - ref)
    if not np.all(np.isfinite(diff)):
        return float("inf")
    return float(diff.max() / max(np.abs(ref).max(), np.finfo(np.float64).tiny)) if ref.size else 0.0


def measure(peer, case, timing: Timing, calls=None) -> Result:
    """peer on case: checked against the reference, then timed; the checked call is
    kept in calls[case, peer] when calls is given (for --interleave)."""
    res = Result(case.name, peer.name, "ok")
    try:
        call = peer.prepare(case)
        if call is None:
            res.status = "—"
            return res
        t0 = time.perf_counter()
        out = call()
        res.first_s = time.perf_counter() - t0
        got = np.asarray(peer.to_numpy(out))
        ref = case.reference
        res.tolerance = FD_TOLERANCE if peer.loose else case.tolerance
        res.error = relative_error(got, ref)
    except NotImplementedError as exc:
        res.status, res.note = "n/a", str(exc) or "NotImplementedError"
        return res
    except Exception as exc:  # a peer's failure is a table entry, never a crash
        res.status, res.note = "ERROR", f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        return res
    if np.shape(got) != ref.shape:
        res.note = f"shape {np.shape(got)}, expected {ref.shape}"
    elif peer.name == "dualjac" and got.dtype != case.x.dtype:
        res.note = f"dtype {got.dtype} for {case.x.dtype} input"  # docs/semantics.md: dtype in = out
    if not res.error <= res.tolerance:
        res.status = "WRONG"
        return res
    res.median_s, res.repeats, res.number = time_call(call, timing)
    if calls is not None:
        calls[case.name, peer.name] = call
    return res


def interleaved_ratios(calls, results, cases, baseline, peer_names, rounds, block_s=0.02):
    """{(case, peer): [peer / baseline time, one per round]}: each round times a block of
    the baseline's calls and a block of the peer's back to back (in alternating order),
    each the best of 3 loops of >= block_s, so that both see the same state of a noisy
    machine; the ratios' spread is then the measurement's own."""
    out = {}
    for case in cases:
        base = calls.get((case.name, baseline))
        for name in peer_names:
            other = calls.get((case.name, name))
            if base is None or other is None or name == baseline:
                continue
            blocks = [(fn, max(1, int(block_s / results[case.name, who].median_s)))
                      for fn, who in ((base, baseline), (other, name))]
            ratios = []
            for r in range(rounds):
                per_call = {}
                for k in ((0, 1) if r % 2 == 0 else (1, 0)):
                    fn, number = blocks[k]
                    per_call[k] = min(timeit.Timer(fn).repeat(3, number)) / number
                ratios.append(per_call[1] / per_call[0])
            out[case.name, name] = ratios
    return out


def report_interleaved(ratios, baseline, rounds):
    rows = []
    for (case, name), rs in ratios.items():
        q = statistics.quantiles(rs, n=10) if len(rs) >= 2 else [rs[0]] * 9
        rows.append([case, name, fmt_ratio(statistics.median(rs)),
                     f"{fmt_ratio(q[0])}-{fmt_ratio(q[-1])}", fmt_ratio(min(rs)), fmt_ratio(max(rs))])
    print_table(f"interleaved: peer / {baseline} per round, {rounds} rounds of back-to-back blocks "
                "(robust to a noisy machine)",
                ["case", "peer", "median", "10th-90th pct", "min", "max"], rows)


# --------------------------------------------------------------------------- formatting

def fmt_us(seconds) -> str:
    us = seconds * 1e6
    return f"{us:.1f}" if us < 100 else f"{us:,.0f}"


def fmt_ratio(r) -> str:
    return f"{r:.2f}" if r < 10 else f"{r:.1f}" if r < 100 else f"{r:,.0f}"


def cell_time(res: Result | None) -> str:
    if res is None:
        return ""
    return fmt_us(res.median_s) if res.status == "ok" else res.status


def print_table(title, header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    print(f"\n{title}")
    for k, row in enumerate([header] + rows):
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


# --------------------------------------------------------------------------- machine anchors

def python_floor(timing: Timing) -> float:
    """3 NumPy ufunc calls on a 4-element array: the floor seed_cube_2x2 is measured against."""
    a = cases_mod.SEED_X.copy()
    mul = np.multiply
    return time_call(lambda: (mul(a, a), mul(a, a), mul(a, a)), timing)[0]


class NullDuck(itertools.chain):
    """A duck array whose every operation returns a new NullDuck at once.

    f evaluated on it costs only f's own Python, NumPy's override dispatch
    (__array_ufunc__ / __array_function__) and one object per operation, with no
    derivative work at all: a floor for any library that runs the user's NumPy code
    on its own array type, as dualjac does (jax.jit runs a compiled trace instead
    and pays neither). The hooks are the class itself, so no Python code runs in
    them: itertools.chain's constructor (C) accepts any positional arguments and
    stores them without looking at them.
    """
    __slots__ = ()


for _hook in ("__array_ufunc__", "__array_function__", "__getitem__", "__neg__",
              "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__"):
    setattr(NullDuck, _hook, NullDuck)


def dispatch_floor(case, timing: Timing) -> float:
    """f on a NullDuck: NumPy's dispatch and f's Python, once (see NullDuck)."""
    f, duck = case.bind(np), NullDuck()
    return time_call(lambda: f(duck), timing)[0]


def copy_bandwidth(nbytes=256 * 2**20, repeats=7) -> float:
    """np.copyto bandwidth in GB/s, counting bytes read + bytes written, far beyond L3."""
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in before timing
    times = timeit.repeat(lambda: np.copyto(dst, src), number=1, repeat=repeats)
    return 2 * nbytes / statistics.median(times) / 1e9


def bytes_touched(case) -> int:
    """Lower bound on kernel traffic: read the input once, write the output once."""
    return case.x.nbytes + case.reference.size * case.x.itemsize


def _rss_kib(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def peak_memory(call) -> tuple[float, float | None]:
    """(tracemalloc peak, RSS high-water-mark delta) of one call, in bytes.

    tracemalloc sees NumPy's (and so dualjac's) buffers but not JAX's or torch's own
    allocators; the RSS high-water mark (reset via /proc/self/clear_refs, Linux) sees
    everything but can under-count memory the allocator reuses. Together they bracket it.
    """
    gc.collect()
    rss_peak = None
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
        before = _rss_kib("VmRSS:")
        out = call()
        rss_peak = (_rss_kib("VmHWM:") - before) * 1024.0
        del out
    except OSError:
        pass
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    out = call()
    traced_peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del out
    return float(traced_peak), rss_peak


# --------------------------------------------------------------------------- main tables

def run_cases(cases, peers, timing, log, calls=None):
    """{(case, peer): Result}, and the first-call time of plain f per case."""
    results, f_first = {}, {}
    for case in cases:
        # A first call of anything is slow (cold caches, Python's adaptive interpreter not
        # yet specialised): plain f's own first call puts the peers' first calls in scale.
        f, x = case.bind(np), case.x
        t0 = time.perf_counter()
        f(x)
        f_first[case.name] = time.perf_counter() - t0
        case.reference  # computed once per case, outside every peer's timing
        for peer in peers:
            res = measure(peer, case, timing, calls)
            results[case.name, peer.name] = res
            log(f"  {case.name:20s} {peer.name:12s} {res.status:6s} "
                + (f"{fmt_us(res.median_s)} us" if res.status == "ok" else res.note))
    return results, f_first


def f_time(case, timing) -> float:
    f, x = case.bind(np), case.x
    return time_call(lambda: f(x), timing)[0]


def report_cases(cases, peers, results, baseline, f_times, f_first, floor_s, bandwidth, duck_times):
    names = [p.name for p in peers]
    get = lambda c, p: results.get((c.name, p))

    print_table("per-call median, microseconds (f_numpy: one plain NumPy evaluation of f; "
                "f_duck: f on a duck array that does nothing, the dispatch floor)",
                ["case", "f_numpy", "f_duck"] + names,
                [[c.name, fmt_us(f_times[c.name]), fmt_us(duck_times[c.name])]
                 + [cell_time(get(c, p)) for p in names] for c in cases])

    have_base = any(get(c, baseline) and get(c, baseline).status == "ok" for c in cases)
    if have_base:
        others = [p for p in names if p != baseline]
        rows = []
        for c in cases:
            b = get(c, baseline)
            row = [c.name]
            for p in others:
                r = get(c, p)
                ok = b and b.status == "ok" and r and r.status == "ok"
                row.append(fmt_ratio(r.median_s / b.median_s) if ok else "")
            rows.append(row)
        print_table(f"ratio peer / {baseline} (> 1: {baseline} is faster)", ["case"] + others, rows)

    print_table("accuracy: max |got - ref| / max |ref| against the float64 reference",
                ["case"] + names,
                [[c.name] + [(f"{get(c, p).error:.0e}" if get(c, p).error is not None else "")
                             for p in names] for c in cases])

    first_peers = [p.name for p in peers if p.compiles or p.name == "dualjac"]
    rows = []
    for c in cases:
        row = [c.name, fmt_ratio(f_first[c.name] / f_times[c.name])]
        for p in first_peers:
            r = get(c, p)
            ok = r and r.status == "ok"
            row += [fmt_us(r.first_s) if ok else "", fmt_ratio(r.first_s / r.median_s) if ok else ""]
        rows.append(row)
    if first_peers:
        header = ["case", "f_numpy x median"] + [h for p in first_peers
                                                  for h in (f"{p} first", "x median")]
        print_table("first call, microseconds (includes tracing / compiling), and first / median "
                    "(f_numpy: plain f's own first / median, the cold-call factor)",
                    header, rows)

    notes = [f"  {r.case} / {r.peer}: {r.status}"
             + (f" (error {r.error:.1e} > tolerance {r.tolerance:.0e})" if r.status == "WRONG" else "")
             + (f" {r.note}" if r.note else "")
             for r in results.values() if r.note or r.status == "WRONG"]
    if notes:
        print("\nnotes:\n" + "\n".join(notes))

    if bandwidth:
        bound_peers = list(dict.fromkeys(("dualjac", baseline, "jax_jit")))  # ordered, unique
        rows = []
        for c in cases:
            if not c.kind.startswith("batch"):
                continue
            bound = bytes_touched(c) / (bandwidth * 1e9)
            row = [c.name, f"{bytes_touched(c) / 1e6:.1f}", fmt_us(bound)]
            for p in bound_peers:
                r = get(c, p)
                row.append(fmt_ratio(r.median_s / bound) if r and r.status == "ok" else "")
            rows.append(row)
        if rows:
            print_table(f"batch cases vs the bandwidth bound ({bandwidth:.1f} GB/s np.copyto; "
                        "bytes = input + output; target: dualjac / bound <= 2)",
                        ["case", "MB touched", "bound us"]
                        + [f"{p} / bound" for p in bound_peers],
                        rows)

    if baseline == "dualjac" and have_base:
        print_targets(cases, results, floor_s, duck_times)


def print_targets(cases, results, floor_s, duck_times):
    """dualjac's speed targets, as PASS / FAIL lines, for the cells that were measured:
    jax_jit / dualjac >= 1 (>= 2 on the small cases), tf_eager / dualjac >= 1000, and
    seed_cube_2x2 about as fast as 3 ufunc calls on its 4 elements."""
    lines = []
    for peer, need_all, need_small in (("jax_jit", 1.0, 2.0), ("tf_eager", 1000.0, 1000.0)):
        for c in cases:
            b, r = results.get((c.name, "dualjac")), results.get((c.name, peer))
            if not (b and r and b.status == "ok" and r.status == "ok"):
                continue
            need = need_small if c.small else need_all
            ratio = r.median_s / b.median_s
            lines.append(f"  {'PASS' if ratio >= need else 'FAIL'}  {peer} / dualjac on "
                         f"{c.name}: {fmt_ratio(ratio)} (target >= {need:g})")
    b = results.get(("seed_cube_2x2", "dualjac"))
    if b and b.status == "ok":
        lines.append(f"  info  seed_cube_2x2 dualjac = {fmt_ratio(b.median_s / floor_s)} x the "
                     f"floor of 3 ufunc calls on 4 elements ({fmt_us(floor_s)} us); target about 1")
    for c in cases:
        b, r = results.get((c.name, "dualjac")), results.get((c.name, "jax_jit"))
        if c.small and b and r and b.status == "ok" and r.status == "ok":
            budget = r.median_s / 2
            lines.append(f"  info  {c.name}: 2x jax_jit means <= {fmt_us(budget)} us; f on a do-nothing "
                         f"duck array alone takes {fmt_us(duck_times[c.name])} us "
                         f"({fmt_ratio(duck_times[c.name] / budget)} of it), dualjac "
                         f"{fmt_ratio(b.median_s / duck_times[c.name])} x that floor")
    print("\ntargets:\n" + "\n".join(lines))


# --------------------------------------------------------------------------- scaling

def run_scaling(peers, timing, bandwidth, log):
    """Cost vs problem size, against theory: jacobian ~ (1+n) f, batch ~ b, hessian ~ n^2 f."""
    names = [p.name for p in peers]
    out = {}
    families = (
        ("jacobian vs n: stencil sin(x)x + x[i-1] - 2x[i] + x[i+1]", cases_mod.scaling_jacobian_cases(),
         lambda c: c.x.size, "1+n", lambda c: 1 + c.x.size),
        ("hessian vs n: Rosenbrock", cases_mod.scaling_hessian_cases(),
         lambda c: c.x.size, "n^2", lambda c: c.x.size ** 2),
    )
    for title, family, size, theory_name, theory in families:
        results, _ = run_cases(family, peers, timing, log)
        rows, records = [], []
        for c in family:
            ft = f_time(c, timing)
            cells = [results[c.name, p] for p in names]
            d = results.get((c.name, "dualjac"))
            ratio = d.median_s / ft if d and d.status == "ok" else None
            rows.append([size(c), fmt_us(ft)] + [cell_time(r) for r in cells]
                        + [fmt_ratio(ratio) if ratio else "", theory(c)])
            records.append({"size": size(c), "f_s": ft, "results": [asdict(r) for r in cells]})
        print_table(f"{title} (microseconds)", ["n", "f_numpy"] + names
                    + ["dualjac / f", theory_name], rows)
        out[title] = records

    # batch_jacobian: time, time per row, and dualjac's peak memory against its output size
    family = cases_mod.scaling_batch_cases()
    results, _ = run_cases(family, peers, timing, log)
    rows, records = [], []
    for c in family:
        b = c.x.shape[0]
        ft = f_time(c, timing)
        cells = [results[c.name, p] for p in names]
        out_bytes = c.reference.size * c.x.itemsize
        row = [b, fmt_us(ft)] + [cell_time(r) for r in cells]
        rec = {"b": b, "f_s": ft, "out_bytes": out_bytes, "results": [asdict(r) for r in cells]}
        d = results.get((c.name, "dualjac"))
        if d and d.status == "ok":
            traced, rss = peak_memory(peers[names.index("dualjac")].prepare(c))
            row += [f"{d.median_s / b * 1e9:.1f}", f"{out_bytes / 1e6:.1f}",
                    f"{traced / 1e6:.1f}", "" if rss is None else f"{rss / 1e6:.1f}",
                    fmt_ratio(max(traced, rss or 0) / out_bytes)]
            rec.update(peak_traced_bytes=traced, peak_rss_bytes=rss)
        else:
            row += [""] * 5
        if bandwidth:
            bound = bytes_touched(c) / (bandwidth * 1e9)
            row += [fmt_us(bound), fmt_ratio(d.median_s / bound) if d and d.status == "ok" else ""]
            rec["bound_s"] = bound
        rows.append(row)
        records.append(rec)
    header = (["b", "f_numpy"] + names + ["dualjac ns/row", "out MB", "peak traced MB",
                                          "peak RSS MB", "peak / out"]
              + (["bound us", "dualjac / bound"] if bandwidth else []))
    print_table("batch_jacobian vs b: sph on b rows (microseconds; memory is dualjac's)",
                header, rows)
    out["batch_jacobian vs b"] = records
    return out


# --------------------------------------------------------------------------- main

def select(requested, available, what):
    if requested is None:
        return list(available)
    if requested.strip().lower() == "none":
        return []
    names = [s.strip() for s in requested.split(",") if s.strip()]
    unknown = sorted(set(names) - set(available))
    if unknown:
        sys.exit(f"unknown {what}: {', '.join(unknown)}; choose from {', '.join(available)}")
    return [a for a in available if a in names]


def plot(cases, peers, results, path):
    """Bar chart: microseconds per call (log scale), dualjac beside each peer."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib (pip install '.[bench]'): no chart written")
        return
    names = [p.name for p in peers]
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(max(8, 1.4 * len(cases)), 4.8))
    for j, name in enumerate(names):
        heights, xs = [], []
        for i, case in enumerate(cases):
            r = results.get((case.name, name))
            if r is not None and r.status == "ok":
                xs.append(i + (j - (len(names) - 1) / 2) * width)
                heights.append(r.median_s * 1e6)
        style = {"color": "black"} if name == "dualjac" else {}
        ax.bar(xs, heights, width, label=name, **style)
    ax.set_yscale("log")
    ax.set_ylabel("microseconds per call (log scale, lower is better)")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([c.name for c in cases], rotation=20, ha="right")
    ax.legend(ncol=min(len(names), 5), fontsize=8)
    ax.set_title("dualjac vs peers, median time per derivative call")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", help="comma-separated case names, or 'none' (default: all eight)")
    ap.add_argument("--peers", help=f"comma-separated, from {','.join(peers_mod.PEER_NAMES)}")
    ap.add_argument("--quick", action="store_true", help="few short repeats (CI smoke test)")
    ap.add_argument("--json", metavar="FILE", help="also write every measurement to FILE")
    ap.add_argument("--scaling", action="store_true", help="also print the scaling tables")
    ap.add_argument("--scaling-peers", default="dualjac,jax_jit",
                    help="peers in the scaling tables (default: dualjac,jax_jit)")
    ap.add_argument("--bandwidth", action="store_true",
                    help="measure np.copyto bandwidth and compare the batch cases with it")
    ap.add_argument("--baseline", default="dualjac", help="denominator of the ratio table")
    ap.add_argument("--interleave", type=int, default=0, metavar="ROUNDS",
                    help="also time the baseline and each --interleave-peers peer in ROUNDS "
                         "rounds of back-to-back blocks and print the ratios' median and spread")
    ap.add_argument("--interleave-peers", default="jax_jit",
                    help="peers of the interleaved comparison (default: jax_jit)")
    ap.add_argument("--threads", type=int,
                    help="cap torch / TF / XLA thread pools (1 = stable on a busy machine)")
    ap.add_argument("-v", "--verbose", action="store_true", help="progress lines on stderr")
    ap.add_argument("--plot", metavar="PNG", nargs="?", const="docs/speed.png",
                    help="also write a bar chart (matplotlib; default docs/speed.png)")
    args = ap.parse_args(argv)

    log = (lambda m: print(m, file=sys.stderr, flush=True)) if args.verbose else (lambda m: None)
    timing = QUICK if args.quick else Timing()
    all_cases = cases_mod.main_cases()
    chosen = select(args.cases, [c.name for c in all_cases], "cases")
    cases = [c for c in all_cases if c.name in chosen]
    peer_names = select(args.peers, peers_mod.PEER_NAMES, "peers")
    if args.threads:
        peers_mod.limit_threads(args.threads)
    peers = peers_mod.load_peers(peer_names, log=lambda m: print(m, file=sys.stderr))

    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cpus, {platform.platform()}")
    print("peers: " + ", ".join(f"{p.name} {p.version}" for p in peers))
    print(f"timing: median of up to {timing.repeats} repeats of loops >= {timing.target_s * 1e3:g} ms")
    load = os.getloadavg()[0]
    if load > 0.5:  # other processes compete for the cores: multi-threaded peers suffer most
        print(f"warning: load average {load:.1f} on {os.cpu_count()} cpus before starting; "
              "expect noise (see --threads)")

    report = {"meta": {"python": platform.python_version(), "numpy": np.__version__,
                       "platform": platform.platform(), "cpus": os.cpu_count(),
                       "date": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": sys.argv[1:],
                       "loadavg": os.getloadavg(), "threads": args.threads,
                       "peers": {p.name: p.version for p in peers}, "timing": asdict(timing)}}
    bandwidth = None
    if args.bandwidth or args.scaling:
        bandwidth = copy_bandwidth()
        print(f"np.copyto bandwidth: {bandwidth:.1f} GB/s (bytes read + written, 256 MiB arrays)")
        report["bandwidth_GBps"] = bandwidth

    if cases:
        floor_s = python_floor(timing)
        print(f"floor: 3 NumPy ufunc calls on a 4-element array = {fmt_us(floor_s)} us")
        calls = {} if args.interleave else None
        results, f_first = run_cases(cases, peers, timing, log, calls)
        f_times = {c.name: f_time(c, timing) for c in cases}
        duck_times = {c.name: dispatch_floor(c, timing) for c in cases}
        baseline = args.baseline
        if not any(r.peer == baseline and r.status == "ok" for r in results.values()):
            alt = next((p.name for p in peers if p.name != baseline and any(
                r.peer == p.name and r.status == "ok" for r in results.values())), None)
            print(f"\n(no {baseline} results: ratios are against {alt})")
            baseline = alt
        report_cases(cases, peers, results, baseline, f_times, f_first, floor_s, bandwidth, duck_times)
        report.update(floor_s=floor_s, f_numpy_s=f_times, f_numpy_first_s=f_first, f_duck_s=duck_times,
                      results=[asdict(r) for r in results.values()])
        if args.interleave:
            ratios = interleaved_ratios(calls, results, cases, baseline,
                                        args.interleave_peers.split(","), args.interleave)
            report_interleaved(ratios, baseline, args.interleave)
            report["interleaved"] = [{"case": c, "peer": p, "ratios": rs} for (c, p), rs in ratios.items()]
        if args.plot:
            plot(cases, peers, results, args.plot)

    if args.scaling:
        scaling_peers = [p for p in peers if p.name in args.scaling_peers.split(",")]
        report["scaling"] = run_scaling(scaling_peers, timing, bandwidth, log)

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1, default=float)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
