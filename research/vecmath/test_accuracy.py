"""Accuracy and ISA-independence of vecmath.h.

    make && python3 test_accuracy.py [--quick]

* Calls the array loops of loops.h through ctypes in every build
  (libvm_{sse2,avx2,avx512,t512,t2,scalar}.so): the results must be
  bit-identical on every test point, in range or not (vector body, vector
  epilogue and scalar tail all included, since n is not a multiple of 8).
* Max error in ulps against mpmath (200 bits) on the fast range, for
  vecmath.h, and on the same points for glibc (REPORT.md also has a scalar
  reference implementation's figures);
  also for a build with -ffp-contract=fast -mfma (libvm_fma.so: what a TU
  without -ffp-contract=off gets), which must stay < 1 ulp too.
* Special values: signed zeros, tiny and subnormal inputs, range edges, and
  the dj_v*_ok predicates.
Exit status 1 on any failure.
"""
import ctypes
import math
import os
import sys
import time
from multiprocessing import Pool

import mpmath as mp
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDS = ["sse2", "avx2", "avx512", "t512", "t2", "scalar"]
UNARY = ["exp", "log", "expm1", "log1p", "tanh"]
QUICK = "--quick" in sys.argv   # optional last argument: one family (sincos, exp, ...)
FAIL = []

dp = ctypes.POINTER(ctypes.c_double)


def load(build):
    lib = ctypes.CDLL(os.path.join(HERE, f"libvm_{build}.so"))
    for n in ("vm_sincos", "libm_sincos"):
        getattr(lib, n).argtypes = [dp, dp, dp, ctypes.c_long]
    for f in UNARY:
        for n in (f"vm_{f}", f"libm_{f}"):
            getattr(lib, n).argtypes = [dp, dp, ctypes.c_long]
    for n in [f"vm_{f}_bad" for f in ["sincos"] + UNARY]:
        getattr(lib, n).argtypes = [dp, ctypes.c_long]
        getattr(lib, n).restype = ctypes.c_long
    return lib


def ptr(a):
    return a.ctypes.data_as(dp)


def call(lib, name, x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = len(x)
    if name.endswith("sincos"):
        s, c = np.empty(n), np.empty(n)
        getattr(lib, name)(ptr(x), ptr(s), ptr(c), n)
        return {"sin": s, "cos": c}
    y = np.empty(n)
    getattr(lib, name)(ptr(x), ptr(y), n)
    return {name.split("_", 1)[1]: y}


def ok(lib, fn, x):
    """Per-element predicate, via the counting loop on 1-element arrays."""
    bad = getattr(lib, f"vm_{fn}_bad")
    return np.array([bad(ptr(np.array([v])), 1) == 0 for v in x])


# ------------------------------------------------------------- test points
rng = np.random.default_rng(20240607)
NR = 50_000 if QUICK else 500_000


def nearest(v):
    return float(v)


def ulp_steps(x, js):
    out = []
    for j in js:
        y = x.copy()
        for _ in range(abs(j)):
            y = np.nextafter(y, np.inf if j > 0 else -np.inf)
        out.append(y)
    return np.concatenate(out)


def points_sincos():
    mp.mp.prec = 200
    sets = {}
    sign = rng.choice([-1.0, 1.0], NR)
    mag = 2.0 ** rng.uniform(-1074, math.log2(1e6), NR)
    sets["random |x| log-uniform in [2^-1074, 1e6)"] = sign * mag
    sets["random uniform [-10, 10]"] = rng.uniform(-10, 10, NR)
    kmax = 20_000 if QUICK else int(1e6 / (math.pi / 2))
    ks = np.arange(1, kmax + 1)
    near = np.array([nearest(mp.mpf(int(k)) * mp.pi / 2) for k in ks])
    near = near[np.abs(near) < 1e6]
    sets["nearest double to k pi/2, all k < 1e6/(pi/2)"] = near * rng.choice([-1.0, 1.0], len(near))
    k2 = ks[: (10_000 if QUICK else 100_000)]
    base = near[: len(k2)]
    sets["k pi/2 +- 1..3 ulps, k <= 1e5"] = ulp_steps(base, [-3, -2, -1, 1, 2, 3]) * rng.choice([-1.0, 1.0], 6 * len(base))
    # reduced argument at the +-pi/4 seam (k changes), and the largest inputs
    seam = np.array([nearest((mp.mpf(int(k)) + mp.mpf(1) / 2) * mp.pi / 2) for k in range(0, 2000)])
    edge = np.array([1e6, 999999.9999999999, 2.0 ** 19, 3e5 * math.pi])
    sets["(k+1/2) pi/2 +- 3 ulps; near 1e6"] = np.concatenate([
        ulp_steps(seam, [-3, -2, -1, 0, 1, 2, 3]), -ulp_steps(seam, [-1, 0, 1]),
        ulp_steps(np.nextafter(edge, 0), [-2, -1, 0]), -np.nextafter(edge, 0)])
    tiny = [0.0, -0.0, 5e-324, -5e-324, 1e-310, -1e-310, 2.2250738585072014e-308,
            -2.2250738585072014e-308, 1e-300, -1e-300, 2.0 ** -27, -(2.0 ** -27),
            np.nextafter(2.0 ** -27, 0), np.nextafter(2.0 ** -27, 1), 1e-8, -1e-8, 1e-5, 0.1]
    sets["signed zeros, tiny, subnormal"] = np.array(tiny)
    return sets


def points_exp():
    sets = {}
    sets["random uniform (-708, 709)"] = rng.uniform(-708, 709, NR)
    sign = rng.choice([-1.0, 1.0], NR)
    sets["random |x| log-uniform in [2^-1074, 708)"] = sign * 2.0 ** rng.uniform(-1074, math.log2(708), NR)
    mp.mp.prec = 200
    ln2 = mp.log(2)
    seam = np.array([nearest((mp.mpf(k) + mp.mpf(1) / 2) * ln2) for k in range(-1021, 1023)])
    seam = seam[(seam > -708) & (seam < 709)]
    mult = np.array([nearest(mp.mpf(k) * ln2) for k in range(-1021, 1023) if k])
    mult = mult[(mult > -708) & (mult < 709)]
    sets["(k+1/2) ln2 +- 3 ulps (r = +-ln2/2), k ln2 +- 2 ulps"] = np.concatenate([
        ulp_steps(seam, [-3, -2, -1, 0, 1, 2, 3]), ulp_steps(mult, [-2, -1, 0, 1, 2])])
    sets["edges, zeros, tiny"] = np.array([
        np.nextafter(-708.0, 0), -707.5, np.nextafter(709.0, 0), 708.5, 0.0, -0.0,
        5e-324, -5e-324, 1e-300, -1e-300, 1e-17, -1e-17, 2.0 ** -53, -(2.0 ** -54), 1.0, -1.0])
    return sets


def points_log():
    sets = {}
    lo = np.float64(2.2250738585072014e-308).view(np.uint64)
    hi = np.float64(1.7976931348623157e308).view(np.uint64)
    sets["random bit patterns, positive normal"] = (
        rng.integers(int(lo), int(hi), NR, dtype=np.uint64, endpoint=True).view(np.float64))
    sets["random uniform [0.5, 2]"] = rng.uniform(0.5, 2, NR // 2)
    d = rng.uniform(-1, 1, NR // 2) * 10.0 ** rng.uniform(-16, -1, NR // 2)
    sets["1 + d, |d| log-uniform in [1e-16, 0.1]"] = 1.0 + d
    m = np.float64(np.uint64(0x3fe6a09e667f3bcd).view(np.float64))
    es = np.arange(-1021, 1025)
    with np.errstate(over="ignore"):
        seam = m * 2.0 ** es.astype(np.float64)
    seam = seam[(seam >= 2.2250738585072014e-308) & np.isfinite(seam)]
    p2 = 2.0 ** np.arange(-1022, 1024).astype(np.float64)
    sets["sqrt(1/2) 2^e +- 3 ulps (m seam), 2^e +- 2 ulps"] = np.concatenate([
        ulp_steps(seam, [-3, -2, -1, 0, 1, 2, 3]), ulp_steps(p2[1:-1], [-2, -1, 0, 1, 2]), p2])
    sets["edges"] = np.array([
        2.2250738585072014e-308, 1.7976931348623157e308, 1.0, np.nextafter(1.0, 0),
        np.nextafter(1.0, 2), 2.0, 0.5, math.e, 10.0])
    return sets


def points_expm1():
    sets = {}
    sets["random uniform (-708, 709)"] = rng.uniform(-708, 709, NR)
    sign = rng.choice([-1.0, 1.0], NR)
    sets["random |x| log-uniform in [2^-1074, 708)"] = sign * 2.0 ** rng.uniform(-1074, math.log2(708), NR)
    sets["random uniform [-2, 2]"] = rng.uniform(-2, 2, NR // 2)
    mp.mp.prec = 200
    ln2 = mp.log(2)
    seam = np.array([nearest((mp.mpf(k) + mp.mpf(1) / 2) * ln2) for k in range(-1021, 1023)])
    seam = seam[(seam > -708) & (seam < 709)]
    sets["(k+1/2) ln2 +- 3 ulps (r = +-ln2/2)"] = ulp_steps(seam, [-3, -2, -1, 0, 1, 2, 3])
    sets["edges, zeros, tiny"] = np.array([
        np.nextafter(-708.0, 0), np.nextafter(709.0, 0), -37.5, -36.0, 0.0, -0.0, 5e-324, -5e-324,
        1e-300, -1e-300, 1e-17, -1e-17, 2.0 ** -53, -(2.0 ** -54), 1.0, -1.0])
    return sets


def points_log1p():
    sets = {}
    u = rng.uniform(-1, 1, NR)
    sets["random uniform (-1, 1)"] = u[u > -1]
    lo, hi = 1, np.float64(1.7976931348623157e308).view(np.uint64)
    sets["random bit patterns, positive (incl. subnormal)"] = (
        rng.integers(lo, int(hi), NR, dtype=np.uint64, endpoint=True).view(np.float64))
    neg = -(10.0 ** rng.uniform(-320, 0, NR // 2))
    sets["random x in (-1, 0), |x| log-uniform"] = neg[neg > -1]
    m = float(np.uint64(0x3fe6a09e667f3bcd).view(np.float64))
    seam = np.array([m * 2.0 ** e - 1 for e in range(-1, 60)])
    near_m1 = np.array([-1 + 2.0 ** -j for j in range(1, 54)])
    sets["1+x at the m seam +- 3 ulps; -1 + 2^-j"] = np.concatenate([
        ulp_steps(seam, [-3, -2, -1, 0, 1, 2, 3]), near_m1])
    sets["zeros, tiny, edges"] = np.array([
        0.0, -0.0, 5e-324, -5e-324, 1e-310, -1e-310, 1e-300, -1e-300, 2.0 ** -53, -(2.0 ** -53),
        np.nextafter(-1.0, 0), 1.7976931348623157e308, 1.0, -0.5, 1e-8, -1e-8])
    return sets


def points_tanh():
    sets = {}
    sets["random uniform [-20, 20]"] = rng.uniform(-20, 20, NR)
    sign = rng.choice([-1.0, 1.0], NR)
    sets["random |x| log-uniform in [2^-1074, 1e300]"] = sign * 2.0 ** rng.uniform(-1074, math.log2(1e300), NR)
    sets["random uniform [-1, 1]"] = rng.uniform(-1, 1, NR // 2)
    sets["zeros, tiny, the clamp at 20, inf"] = np.concatenate([
        ulp_steps(np.array([20.0, -20.0, 19.0]), [-2, -1, 0, 1, 2]),
        np.array([0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 2.0 ** -27, 1e-8, 0.55, -0.55,
                  1.7976931348623157e308, np.inf, -np.inf])])
    return sets


OUT_OF_RANGE = {
    "sincos": [1e6, -1e6, 1e7, 1e300, -1e300, np.inf, -np.inf, np.nan],
    "exp": [-708.0, 709.0, 709.7, 710.0, -745.0, -746.0, -1e300, 1e300, np.inf, -np.inf, np.nan],
    "log": [0.0, -0.0, -1.0, 5e-324, 1e-310, np.inf, -np.inf, np.nan],
    "expm1": [-708.0, 709.0, 709.7, 710.0, -745.0, -1e300, 1e300, np.inf, -np.inf, np.nan],
    "log1p": [-1.0, -1.5, -1e300, np.inf, -np.inf, np.nan],
    "tanh": [np.nan, -np.nan],
}

# ---------------------------------------------------------- ulp errors


def ref_value(fn, x):
    x = mp.mpf(float(x))
    return {"sin": mp.sin, "cos": mp.cos, "exp": mp.exp, "log": mp.log,
            "expm1": mp.expm1, "log1p": mp.log1p, "tanh": mp.tanh}[fn](x)


def ulp_err(y, ref):
    if ref == 0:
        return 0.0 if y == 0 else math.inf
    _, e = mp.frexp(ref)
    e = max(int(e), -1021)
    return float(abs(mp.mpf(float(y)) - ref) / mp.mpf(2) ** (e - 53))


def worker(args):
    fn, xs, cands = args
    mp.mp.prec = 200
    n = len(xs)
    res = {}
    errs = {c: np.empty(n) for c in cands}
    for i in range(n):
        ref = ref_value(fn, xs[i])
        for c, ys in cands.items():
            errs[c][i] = ulp_err(ys[i], ref)
    for c, e in errs.items():
        j = int(np.argmax(e))
        res[c] = (float(e[j]), float(xs[j]), int((e > 0.5).sum()))
    return res


def max_ulp(pool, fn, xs, cands, chunks=16):
    idx = np.array_split(np.arange(len(xs)), chunks)
    jobs = [(fn, xs[i], {c: y[i] for c, y in cands.items()}) for i in idx if len(i)]
    out = {}
    for r in pool.map(worker, jobs):
        for c, (e, x, nbad) in r.items():
            if c not in out:
                out[c] = [e, x, nbad]
            else:
                if e > out[c][0]:
                    out[c][0], out[c][1] = e, x
                out[c][2] += nbad
    return out


# ------------------------------------------------------------------- main


def check(cond, msg):
    if not cond:
        FAIL.append(msg)
        print("FAIL:", msg)


def main():
    libs = {b: load(b) for b in BUILDS}
    fma = load("fma")   # -ffp-contract=fast -mfma: accuracy only
    ref = libs["sse2"]
    t0 = time.time()
    gens = {"sincos": points_sincos, "exp": points_exp, "log": points_log,
            "expm1": points_expm1, "log1p": points_log1p, "tanh": points_tanh}
    if len(sys.argv) > 1 and sys.argv[-1] in gens:
        gens = {sys.argv[-1]: gens[sys.argv[-1]]}
    summary = []
    with Pool(os.cpu_count()) as pool:
        for fam, gen in gens.items():
            sets = gen()
            allx = np.concatenate(list(sets.values()) + [np.array(OUT_OF_RANGE[fam])])
            # 1. ISA independence, including out-of-range garbage
            base = call(ref, f"vm_{fam}", allx)
            nfail = len(FAIL)
            for b in BUILDS[1:]:
                other = call(libs[b], f"vm_{fam}", allx)
                for k in base:
                    same = np.array_equal(base[k].view(np.uint64), other[k].view(np.uint64))
                    check(same, f"{fam}/{k}: build {b} differs from sse2 "
                          f"({int((base[k].view(np.uint64) != other[k].view(np.uint64)).sum())} points)")
            print(f"[{fam}] bit-identical across {', '.join(BUILDS)} on {len(allx)} points: "
                  f"{'yes' if len(FAIL) == nfail else 'NO'}")
            # 2. predicate
            bad_in = getattr(ref, f"vm_{fam}_bad")
            for name, xs in sets.items():
                nb = bad_in(ptr(np.ascontiguousarray(xs)), len(xs))
                check(nb == 0, f"{fam}: {nb} test points of '{name}' rejected by dj_v{fam}_ok")
            o = ok(ref, fam, OUT_OF_RANGE[fam])
            check(not o.any(), f"{fam}: dj_v{fam}_ok accepts {np.array(OUT_OF_RANGE[fam])[o]}")
            # 3. errors
            for name, xs in sets.items():
                mine = call(ref, f"vm_{fam}", xs)
                glibc = call(ref, f"libm_{fam}", xs)
                for k in mine:
                    cands = {"vecmath": mine[k], "glibc": glibc[k],
                         "vecmath+fma": call(fma, f"vm_{fam}", xs)[k]}
                    r = max_ulp(pool, k, xs, cands)
                    line = f"  {k:4s} {name:52s} n={len(xs):8d}  " + "  ".join(
                        f"{c}: {e:.3f} ulp ({nb} > 0.5) at {x!r}" for c, (e, x, nb) in r.items())
                    print(line, flush=True)
                    summary.append((k, name, len(xs), r))
                    for c in ("vecmath", "vecmath+fma"):
                        check(r[c][0] < 1.0, f"{k}: {c} {r[c][0]:.3f} ulp on '{name}'")
    # 4. exact special values (sign of zero etc.)
    x = np.array([0.0, -0.0, 1e-300, -1e-300, 5e-324, -5e-324])
    sc = call(ref, "vm_sincos", x)
    check(np.array_equal(sc["sin"].view(np.uint64), x.view(np.uint64)), f"sin of zeros/tiny: {sc['sin']}")
    check((sc["cos"] == 1.0).all(), f"cos of zeros/tiny: {sc['cos']}")
    e = call(ref, "vm_exp", x)["exp"]
    check((e == 1.0).all(), f"exp of zeros/tiny: {e}")
    for f in ("expm1", "log1p", "tanh"):
        y = call(ref, f"vm_{f}", x)[f]
        check(np.array_equal(y.view(np.uint64), x.view(np.uint64)), f"{f} of zeros/tiny: {y}")
    t = call(ref, "vm_tanh", np.array([np.inf, -np.inf, 1e300, -20.0]))["tanh"]
    check(list(t) == [1.0, -1.0, 1.0, -1.0], f"tanh at inf/large: {t}")
    lg = call(ref, "vm_log", np.array([1.0]))["log"]
    check(lg[0] == 0.0 and not math.copysign(1, lg[0]) < 0, f"log(1) = {lg[0]!r}")

    print("\nmax ulp per function (all sets):")
    for k in ("sin", "cos", "exp", "log", "expm1", "log1p", "tanh"):
        rows = [r for r in summary if r[0] == k]
        if not rows:
            continue
        for c in rows[0][3]:
            m = max(rows, key=lambda r: r[3][c][0])
            nb = sum(r[3][c][2] for r in rows)
            n = sum(r[2] for r in rows)
            print(f"  {k:4s} {c:11s} max {m[3][c][0]:.4f} ulp at x={m[3][c][1]!r}  "
                  f"not correctly rounded: {nb}/{n}")
    print(f"\n{time.time() - t0:.0f} s; {'FAILED: ' + str(len(FAIL)) if FAIL else 'all checks passed'}")
    sys.exit(1 if FAIL else 0)


if __name__ == "__main__":
    main()
