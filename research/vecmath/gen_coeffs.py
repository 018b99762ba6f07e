"""Minimax coefficients for vecmath.h (exp, log, expm1 cores), by a plain
Remez exchange in mpmath, then rounded to double and re-checked.

    python3 gen_coeffs.py

Prints the double coefficients (repr, round-trips exactly) and the error of
the *rounded* polynomial on a dense grid, in the unit that matters for each
use (see comments).  The header's constants were pasted from this output.
"""
import mpmath as mp

mp.mp.prec = 160


def remez(F, W, lo, hi, n, iters=30, grid=6000):
    """Coefficients c[0..n] minimising max |W(t) (F(t) - sum c_j t^j)| on [lo, hi]."""
    lo, hi = mp.mpf(lo), mp.mpf(hi)
    ts = [lo + (hi - lo) * (1 - mp.cos(mp.pi * i / (grid - 1))) / 2 for i in range(grid)]
    Fs = [F(t) for t in ts]
    Ws = [W(t) for t in ts]
    # initial reference: Chebyshev extrema
    ref = [lo + (hi - lo) * (1 - mp.cos(mp.pi * i / (n + 1))) / 2 for i in range(n + 2)]
    c = None
    for it in range(iters):
        A = mp.matrix(n + 2, n + 2)
        b = mp.matrix(n + 2, 1)
        for i, t in enumerate(ref):
            for j in range(n + 1):
                A[i, j] = t ** j
            A[i, n + 1] = (-1) ** i / W(t)
            b[i] = F(t)
        sol = mp.lu_solve(A, b)
        c = [sol[j] for j in range(n + 1)]
        E = sol[n + 1]
        err = [Ws[i] * (Fs[i] - mp.polyval(c[::-1], ts[i])) for i in range(grid)]
        # pick alternating extrema: split the grid into runs of constant sign
        ext = []
        i = 0
        while i < grid:
            j = i
            best = i
            while j < grid and mp.sign(err[j]) == mp.sign(err[i]):
                if abs(err[j]) > abs(err[best]):
                    best = j
                j += 1
            ext.append(best)
            i = j
        # keep n+2 of them, dropping the smallest at the ends
        while len(ext) > n + 2:
            if abs(err[ext[0]]) < abs(err[ext[-1]]):
                ext.pop(0)
            else:
                ext.pop()
        if len(ext) < n + 2:
            break
        mx = max(abs(e) for e in err)
        ref = [ts[k] for k in ext]
        if mx <= abs(E) * (1 + mp.mpf(10) ** -6):
            break
    return c, abs(E)


def show(name, c):
    out = [float(x) for x in c]
    for j, x in enumerate(out):
        print(f"    {name}{j} = {x!r},")
    return out


def check(F, W, lo, hi, cd, grid=20000):
    lo, hi = mp.mpf(lo), mp.mpf(hi)
    mx = 0
    for i in range(grid):
        t = lo + (hi - lo) * i / (grid - 1)
        p = mp.polyval([mp.mpf(x) for x in cd[::-1]], t)
        mx = max(mx, abs(W(t) * (F(t) - p)))
    return mx


if __name__ == "__main__":
    # exp: exp(r) = 1 + r + r^2/2 + r^3 Q(r), |r| <= ln2/2 (+ rounding slack).
    # Error that matters: r^3 (Q - Qhat) relative to exp(r) >= 0.7.
    a = mp.log(2) / 2 * (1 + mp.mpf(2) ** -40)

    def Fexp(r):
        if abs(r) < mp.mpf(10) ** -20:
            return mp.mpf(1) / 6 + r / 24
        return (mp.exp(r) - 1 - r - r * r / 2) / r ** 3

    def Wexp(r):
        return abs(r) ** 3 / mp.exp(r) if r != 0 else mp.mpf(10) ** -60

    for n in (7, 8, 9):
        c, E = remez(Fexp, lambda r: 1, -a, a, n)
        cd = [float(x) for x in c]
        e = check(Fexp, Wexp, -a, a, cd)
        print(f"exp Q degree {n}: rel err of exp(r) from poly {float(e):.3e} = 2^{float(mp.log(e, 2)):.1f}")
    c, E = remez(Fexp, lambda r: 1, -a, a, 9)
    print("exp Q (degree 9):")
    show("E", c)

    # log: log1p(f) = 2 atanh(s), s = f/(2+f), |s| <= 0.171573 (f in [sqrt(1/2)-1, sqrt(2)-1]).
    # fdlibm form log1p(f) = f - hfsq + s (hfsq + R), R = 2 atanh(s)/s - 2 = z G(z), z = s^2.
    # Error that matters: s z (G - Ghat), absolute, vs results >= ~0.3 for large f.
    smax = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1) * (1 + mp.mpf(2) ** -40)
    zmax = smax ** 2

    def Flog(z):
        if z < mp.mpf(10) ** -30:
            return mp.mpf(2) / 3 + 2 * z / 5
        s = mp.sqrt(z)
        return (2 * mp.atanh(s) / s - 2) / z

    def Wlog(z):
        return mp.sqrt(z) * z

    for n in (5, 6, 7):
        c, E = remez(Flog, lambda z: 1, 0, zmax, n)
        cd = [float(x) for x in c]
        e = check(Flog, Wlog, 0, zmax, cd)
        print(f"log G degree {n}: abs err of log1p from poly {float(e):.3e} = 2^{float(mp.log(e, 2)):.1f}")
    c, E = remez(Flog, lambda z: 1, 0, zmax, 6)
    print("log G (degree 6):")
    show("L", c)
