/*
 * vecmath.h: branch-free double-precision sin/cos, exp, log (and expm1,
 * log1p, tanh) that GCC 12 auto-vectorizes at -O3 without -ffast-math: no
 * libm calls, no tables, no branches, no double->int conversions.  For the
 * per-element kernels of dualjac (value and derivative of each element).
 *
 * Usage: compute every element with the fast function, counting in the same
 * (vectorized) loop the elements outside the fast range, and recompute only
 * those with libm:
 *     for (i = 0; i < n; i++) {
 *         s[i] = dj_vsincos(x[i], &c[i]);
 *         bad += !dj_vsincos_ok(x[i]);        (free: vectorizes with the rest)
 *     }
 *     if (bad) for (i = 0; i < n; i++)
 *         if (!dj_vsincos_ok(x[i])) sincos(x[i], &s[i], &c[i]);
 * (An unconditional scalar fix-up pass costs 0.25-0.5 ns/element, half the
 * price of the fast loop.)  Outside its fast range a function returns
 * garbage, harmlessly: no UB, no traps; FP status flags may be raised.
 *
 * Compile with -O3 (GCC 12's -O2 cost model does not vectorize these loops;
 * -O2 -fvect-cost-model=dynamic does) and -ffp-contract=off: then results are
 * bit-identical on SSE2, AVX2 and AVX-512 builds, and with per-function
 * target("...") attributes (tested).  With contraction (GCC's default in GNU
 * C mode, if FMA is enabled) results differ in the last bit between ISAs but
 * stay as accurate (tested); every exact step below is written so that
 * fusing a*b+c cannot break it.  Never -ffast-math: it would "simplify" the
 * error-free transformations (2Sum) away.
 *
 * Why this shape:
 *   - integers (quadrant k, exponent e) are read from / written into the bits
 *     of doubles (memcpy casts, free), never converted with (int)x: 64-bit
 *     float<->int conversion has no SSE2/AVX2 instruction, and is UB out of
 *     range.  k itself comes from the 1.5*2^52 rounding trick;
 *   - no ternaries on computed doubles: GCC turns them into a branch around
 *     the computation, which only AVX-512 masking can if-convert (FP ops may
 *     trap, -ftrapping-math).  Selects are integer masks and bit blends;
 *   - the _ok predicates are integer arithmetic on the bits, so a loop over
 *     them vectorizes on SSE2 too;
 *   - accuracy: each reduction is done in double-double (exact pieces plus a
 *     tail), and the large terms of the result are summed by Fast2Sum/2Sum,
 *     so that the only sizeable rounding is the final one: 0.54-0.77 ulp.
 *
 * Measured max errors (test_accuracy.py, vs mpmath at 200 bits, ~1-2.3 M
 * points each incl. the hard cases listed; glibc on the same points):
 *   sin 0.77 ulp (glibc 0.51), cos 0.77 (0.56), exp 0.57 (0.51),
 *   log 0.64 (0.52), expm1 0.59 (0.86), log1p 0.65 (0.80), tanh 0.54 (2.1).
 *
 * dj_vsincos(x, &c)  sin x, and cos x into *c.  Fast range |x| < 1e6.
 *   x = k pi/2 + r.  pi/2 is split in three parts of <= 32 bits (k * part is
 *   exact for |k| < 2^20) plus a tail; x - k p1 is exact (Sterbenz) and the
 *   next two subtractions are Fast2Sums, exact because either the first
 *   operand is larger or the result is small enough to be exact anyway.  So
 *   r + y is known to ~2^-100 absolute, enough for the doubles nearest to a
 *   multiple of pi/2 (|r| ~ 2^-60 there; all of them below 1e6 are tested:
 *   0.500 ulp).  sin(r + y), cos(r + y): the fdlibm __kernel_sin /
 *   __kernel_cos polynomials with their tail terms (a scalar reference
 *   implementation with the same polynomials but no tail y measures 1.9
 *   ulp).  k mod 4, from the low bits of the rounded double, swaps and signs
 *   the pair with integer masks.
 *   The 0.77 ulp comes from rounding r^2 and r^3 inside the kernels near
 *   |r| = pi/4; an exact r^2 would lower it only to 0.69-0.72 and cost
 *   noticeably more time, so r^2 is rounded.
 *
 * dj_vexp(x)  Fast range -708 < x < 709 (result normal).
 *   x = k ln2 + r + c, |r| <= ln2/2, x - k ln2_hi exact (42-bit ln2_hi);
 *   exp(r + c) = (1 + r) + (r^2/2 + r^3 Q(r) + c (1 + r)), 1 + r split exactly
 *   into hi + lo, Q a degree-9 minimax fit (gen_coeffs.py; 2^-60 relative).
 *   2^k goes into the exponent field from the bits of the rounded double.
 *
 * dj_vexpm1(x)  Fast range -708 < x < 709.
 *   Same reduction; 2^k - 1, 2^k r and 2^k r^2/2 (r^2/2 from exact 26-bit
 *   halves of r) summed exactly, the rest in the tail.  Relative accuracy
 *   holds down to tiny x; expm1(-0) = -0.
 *
 * dj_vlog(x)  Fast range DBL_MIN <= x <= DBL_MAX (positive normal finite).
 *   x = 2^e m, m in [sqrt(1/2), sqrt(2)), by integer arithmetic on the bits
 *   (e becomes a double by the 2^52 trick).  f = m - 1 is exact;
 *   log1p(f) = f - f^2/2 + s (f^2/2 + R), s = f / (2 + f), R = s^2 G(s^2),
 *   G a degree-6 minimax fit (gen_coeffs.py) -- fdlibm's identity, which
 *   keeps the division's rounding out of the big terms.  f^2/2 = hh + hl
 *   with hh exact, and e ln2_hi + f - hh summed by Fast2Sums.  One division
 *   per element.
 *
 * dj_vlog1p(x)  Fast range -1 < x <= DBL_MAX.
 *   u + c = 1 + x exactly (2Sum), log(u) as in dj_vlog, plus
 *   log(1 + c/u) = c - [q (u - 1) + q^2/2], q = c/u, with c added exactly
 *   (it matters when |x| < 2^-50).  Two divisions per element.
 *
 * dj_vtanh(x)  Fast range: all x but NaN (|x| is clamped to 20; +-inf -> +-1).
 *   tanh|x| = t/(t + 2), t = expm1(2|x|) as hi + lo; the quotient q = t * (1/d)
 *   is corrected once by the exact remainder t - q d (26-bit halves), so it is
 *   rounded only once.  Relative accuracy holds down to tiny x; tanh(-0) = -0.
 */
#ifndef DJ_VECMATH_H
#define DJ_VECMATH_H

#include <stdint.h>
#include <string.h>

static inline uint64_t dj_v_bits(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
static inline double dj_v_dbl(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

/* Fast2Sum (Dekker): s + *err == a + b exactly if |a| >= |b| (or if a + b
   happens to be exact).  Each use below says why the condition holds. */
static inline double dj_v_fast_two_sum(double a, double b, double *err) {
    double s = a + b;
    *err = (a - s) + b;
    return s;
}

/* Upper 26 significant bits of x (low 27 mantissa bits cleared), so that
   products of such halves are exact.  A mask rather than Veltkamp's
   C*x - (C*x - x): cheaper, and immune to FMA contraction, which breaks
   Veltkamp's split. */
static inline double dj_v_hi26(double x) { return dj_v_dbl(dj_v_bits(x) & 0xfffffffff8000000ULL); }

/* The dj_v*_ok predicates work on the bits, not with double comparisons:
   then a loop computing them vectorizes on SSE2 too (GCC does not vectorize
   bool-from-double-compare loops there).  1 if |x| < lim_pos (x >= +0) or
   |x| < lim_neg (x <= -0), limits given as bits (as integers, |x| orders
   like the doubles; NaN is above +inf). */
static inline int dj_v_in_range(double x, uint64_t lim_pos, uint64_t lim_neg) {
    uint64_t b = dj_v_bits(x), neg = 0 - (b >> 63);
    uint64_t lim = (lim_pos & ~neg) | (lim_neg & neg);
    return (int)(((b & 0x7fffffffffffffffULL) - lim) >> 63);
}

/* 1.5 * 2^52: adding it rounds to an integer k, which then sits in the low
   mantissa bits (two's complement, since 2^51 is a multiple of any 2^j used). */
#define DJ_V_MAGIC 6755399441055744.0

/* ------------------------------------------------------------------ sincos */

static inline int dj_vsincos_ok(double x) {                  /* |x| < 1e6 */
    return dj_v_in_range(x, 0x412e848000000000ULL, 0x412e848000000000ULL);
}

static inline double dj_vsincos(double x, double *c) {
    const double two_over_pi = 6.36619772367581382433e-01;
    const double p1 = 1.57079632673412561417e+00;   /* pi/2 in three parts of */
    const double p2 = 6.07710050630396597660e-11;   /* <= 32 bits, so k * p_i */
    const double p3 = 2.02226624871116645580e-21;   /* is exact for |k| < 2^20 */
    const double p3t = 8.47842766036889956997e-32;  /* pi/2 - p1 - p2 - p3 */
    const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                 S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                 S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
    const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                 C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                 C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;

    double kd = x * two_over_pi + DJ_V_MAGIC;
    uint64_t q = dj_v_bits(kd);          /* low 2 bits: k mod 4 */
    double k = kd - DJ_V_MAGIC;

    /* a = x - k p1 is exact (Sterbenz).  a - k p2 and then - k p3 are done as
       Fast2Sums (sum + exact error): either the first operand is the larger,
       or both are multiples of 2^-66 (2^-96) and the difference is < 2^-13
       (2^-48), hence exact anyway.  So all rounding sits in the tiny tail. */
    double a = x - k * p1, b = k * p2;
    double h1 = a - b, l1 = (a - h1) - b;
    double h2 = h1 - k * p3, l2 = (h1 - h2) - k * p3;
    /* r + y = h2 + l1 + l2 - k p3t.  Written as h2 - t, not h2 + (-t), so that
       x = -0.0 gives r = -0.0 - (+0.0) = -0.0 (sin(-0) = -0). */
    double t = (k * p3t - l1) - l2;
    double r = h2 - t;                   /* |h2| >> |t|: Fast2Sum */
    double y = (h2 - r) - t;

    double z = r * r, v = z * r;
    double ps = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
    /* sin(r + y) = r + r^3 (S1 + ...) + y (1 - r^2/2): the small parts first. */
    double sn = r - ((z * (0.5 * y - v * ps) - y) - v * S1);
    double pc = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
    /* cos(r + y) = 1 - r^2/2 + r^4 (C1 + ...) - r y; w + ((1 - w) - hz) recovers
       the bits that 1 - hz lost. */
    double hz = 0.5 * z, w = 1.0 - hz;
    double cs = w + (((1.0 - w) - hz) + (z * pc - r * y));

    /* quadrant: odd k swaps sin and cos; k = 2,3 negates sin; k = 1,2 cos */
    uint64_t swap = 0 - (q & 1);
    uint64_t bs = dj_v_bits(sn), bc = dj_v_bits(cs);
    uint64_t rs = (bs & ~swap) | (bc & swap);
    uint64_t rc = (bc & ~swap) | (bs & swap);
    rs ^= (q & 2) << 62;
    rc ^= ((q + 1) & 2) << 62;
    *c = dj_v_dbl(rc);
    return dj_v_dbl(rs);
}

/* --------------------------------------------------------- exp, expm1 */

/* x = k ln2 + r + c; returns r, with *p = exp(r + c) - 1 - r - r^2/2
   (|p| < 0.008) and *kb holding k in its low bits. */
static inline double dj_v_exp_core(double x, double *p, uint64_t *kb) {
    const double inv_ln2 = 1.4426950408889634;
    const double ln2_hi = 6.931471805598903e-01;    /* 42 bits: k ln2_hi exact */
    const double ln2_lo = 5.497923018708371e-14;
    const double E0 = 0.16666666666666669, E1 = 0.04166666666666667,
                 E2 = 0.008333333333330065, E3 = 0.0013888888888880949,
                 E4 = 0.00019841269863041697, E5 = 2.480158733393564e-05,
                 E6 = 2.7557268478775624e-06, E7 = 2.7557264334380615e-07,
                 E8 = 2.510037647168201e-08, E9 = 2.0918130522344797e-09;

    double kd = x * inv_ln2 + DJ_V_MAGIC;
    double k = kd - DJ_V_MAGIC;
    *kb = dj_v_bits(kd);
    /* r + c = x - k ln2 to ~2^-100: x - k ln2_hi is exact (Sterbenz); the
       Fast2Sum is exact when |rh| >= k ln2_lo, and otherwise off by at most
       ~2^-86, far below what exp(r) ~ 1 can see. */
    double rh = x - k * ln2_hi, rl = k * ln2_lo;
    double r = rh - rl, c = (rh - r) - rl;
    double z = r * r;
    double qr = E0 + r * (E1 + r * (E2 + r * (E3 + r * (E4 + r * (E5 + r * (E6 + r * (E7 + r * (E8 + r * E9))))))));
    /* exp(r + c) - 1 - r - r^2/2 = r^3 Q(r) + c (1 + r) */
    *p = (c + c * r) + z * (r * qr);
    return r;
}

/* 2^k from the magic-rounded double: kb = bits(MAGIC) + k and the low 12 bits
   of bits(MAGIC) are zero, so (kb + 1023) << 52 is k + 1023 in the exponent
   field.  Valid for -1022 <= k <= 1023. */
static inline double dj_v_pow2(uint64_t kb) { return dj_v_dbl((kb + 1023) << 52); }

static inline int dj_vexp_ok(double x) {                     /* -708 < x < 709 */
    return dj_v_in_range(x, 0x4086280000000000ULL, 0x4086200000000000ULL);
}

static inline double dj_vexp(double x) {
    double p;
    uint64_t kb;
    double r = dj_v_exp_core(x, &p, &kb);
    double hi = 1.0 + r, lo = (1.0 - hi) + r;        /* exact: 1 + r = hi + lo */
    return (hi + (lo + (0.5 * (r * r) + p))) * dj_v_pow2(kb);
}

/* expm1 = 2^k (1 + r + r^2/2 + p) - 1 = (2^k - 1) + 2^k r + 2^k r^2/2 + 2^k p,
   the first three summed exactly, so that the only large rounding is the last
   one (r^2/2 has to be exact here, unlike in exp: the result can be 0.3 where
   exp's is >= 0.7).  Returns hi with the tail in *lo. */
static inline double dj_v_expm1_dd(double x, double *lo) {
    double p;
    uint64_t kb;
    double r = dj_v_exp_core(x, &p, &kb);
    double a = dj_v_pow2(kb);
    /* 2Sum: a - 1 is inexact for k < -53 or k > 53 */
    double s1 = a - 1.0, ap = s1 + 1.0, bp = s1 - ap;
    double e1 = (a - ap) + (-1.0 - bp);
    double e2, s2 = dj_v_fast_two_sum(s1, a * r, &e2);   /* |a r| <= |a - 1| or k = 0 */
    /* r^2/2 = hh + hl, hh exact (26-bit halves of r) */
    double rh = dj_v_hi26(r), rl = r - rh;
    double hh = 0.5 * (rh * rh), hl = 0.5 * (rl * (r + rh));
    double e3, s3 = dj_v_fast_two_sum(s2, a * hh, &e3);  /* |a hh| < |s2| */
    double t = (e1 + (e2 + e3)) + a * (hl + p);
    double hi = s3 + t;
    *lo = (s3 - hi) + t;                                  /* |t| < |s3| */
    return hi;
}

static inline int dj_vexpm1_ok(double x) { return dj_vexp_ok(x); }   /* -708 < x < 709 */

static inline double dj_vexpm1(double x) {
    double lo, hi = dj_v_expm1_dd(x, &lo);
    /* expm1 x has the sign of x: OR-ing it in only changes expm1(-0) = +0 to
       -0.  (A ternary here would be turned into a branch around the whole
       computation, which GCC then cannot if-convert without AVX-512 masks.) */
    return dj_v_dbl(dj_v_bits(hi) | (dj_v_bits(x) & 0x8000000000000000ULL));
}

/* -------------------------------------------------------------------- tanh */

static inline int dj_vtanh_ok(double x) {                    /* all but NaN */
    return dj_v_in_range(x, 0x7ff0000000000001ULL, 0x7ff0000000000001ULL);
}

/* tanh |x| = t / (t + 2), t = expm1(2|x|) as hi + lo; the quotient is
   corrected once by its remainder, so it is only rounded once (the plain
   quotient would be off by up to ~1.5 ulp).  |x| is clamped to 20, where
   tanh = 1 - 8e-18 rounds to 1. */
static inline double dj_vtanh(double x) {
    uint64_t sign = dj_v_bits(x) & 0x8000000000000000ULL;
    /* ax = min(|x|, 20), as a blend on the bits with the mask from an integer
       subtraction (as integers, |x| orders like the doubles).  A ternary,
       even a comparison, here lets GCC fold the whole function for the
       constant 20 and leaves a branch that only AVX-512 masks if-convert. */
    uint64_t ab = dj_v_bits(x) ^ sign, lim = 0x4034000000000000ULL;   /* 20.0 */
    uint64_t big = 0 - ((lim - ab) >> 63);                             /* |x| > 20 */
    double ax = dj_v_dbl((ab & ~big) | (lim & big));
    double tl, th = dj_v_expm1_dd(2.0 * ax, &tl);
    /* d + dl = th + tl + 2 (2Sum) */
    double d = th + 2.0, ap = d - 2.0, bp = d - ap;
    double dl = ((th - ap) + (2.0 - bp)) + tl;
    double inv = 1.0 / d;
    double q = th * inv;
    /* Remainder th + tl - q (d + dl), from 26-bit halves of q and d: the
       products are exact (bar the tiny ql dlo) and th - qh dh is exact
       (Sterbenz), so it is right to ~2^-26 relative, plenty for a correction
       of < 1 ulp -- and FMA contraction cannot change it. */
    double qh = dj_v_hi26(q), ql = q - qh;
    double dh = dj_v_hi26(d), dlo = d - dh;
    double rem = (((th - qh * dh) - qh * dlo) - ql * dh) - ql * dlo;
    double res = (rem + (tl - q * dl)) * inv;
    return dj_v_dbl(dj_v_bits(q + res) | sign);
}

/* ------------------------------------------------------------- log, log1p */

/* log x = hi + lo for positive normal x; hi + lo is not rounded yet. */
static inline double dj_v_log_core(double x, double *lo) {
    const double ln2_hi = 6.931471805598903e-01;    /* 42 bits: e ln2_hi exact */
    const double ln2_lo = 5.497923018708371e-14;
    const double L0 = 0.666666666666667, L1 = 0.39999999999898506,
                 L2 = 0.28571428626371265, L3 = 0.22222211077398155,
                 L4 = 0.18182892887244095, L5 = 0.15331607963775237,
                 L6 = 0.14617736822223448;

    /* Shift so that m = sqrt(1/2) lands on an exponent boundary: the exponent
       field of u is then that of x rounded to the nearest binade by m. */
    uint64_t ix = dj_v_bits(x);
    uint64_t u = ix + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL);
    uint64_t eb = u >> 52;                                    /* e + 1023 */
    double m = dj_v_dbl(ix - (u & 0xfff0000000000000ULL) + 0x3ff0000000000000ULL);
    double e = dj_v_dbl(0x4330000000000000ULL | eb) - (4503599627370496.0 + 1023.0);

    double f = m - 1.0;                                       /* exact */
    double s = f / (2.0 + f);
    double z = s * s;
    double R = z * (L0 + z * (L1 + z * (L2 + z * (L3 + z * (L4 + z * (L5 + z * L6))))));
    /* f^2/2 = hh + hl to ~2^-80 relative, hh exact (26-bit halves of f). */
    double fh = dj_v_hi26(f), fl = f - fh;
    double hh = 0.5 * (fh * fh), hl = 0.5 * (fl * (f + fh));
    double hfsq = hh + hl;
    /* log x = e ln2_hi + f - hh + [s (hfsq + R) - hl + e ln2_lo] */
    double a1, a2;
    double b1 = dj_v_fast_two_sum(e * ln2_hi, f, &a1);   /* |e ln2| >= 0.69 > |f|, or e = 0 */
    double b2 = dj_v_fast_two_sum(b1, -hh, &a2);          /* |b1| >= 0.27 or = |f|, > hh */
    *lo = (a1 + a2) + ((s * (hfsq + R) - hl) + e * ln2_lo);
    return b2;
}

static inline int dj_vlog_ok(double x) {      /* DBL_MIN <= x <= DBL_MAX */
    uint64_t t = dj_v_bits(x) - 0x0010000000000000ULL;  /* < 2^63 if x >= +DBL_MIN */
    return (int)(((t - (0x7ff0000000000000ULL - 0x0010000000000000ULL)) & ~t) >> 63);
}

static inline double dj_vlog(double x) {
    double lo, hi = dj_v_log_core(x, &lo);
    return hi + lo;
}

static inline int dj_vlog1p_ok(double x) {                   /* -1 < x <= DBL_MAX */
    return dj_v_in_range(x, 0x7ff0000000000000ULL, 0x3ff0000000000000ULL);
}

/* log1p x = log(u) + log(1 + c/u), u + c = 1 + x exactly (2Sum), |c/u| <=
   2^-53.  Costs a second division. */
static inline double dj_vlog1p(double x) {
    double u = 1.0 + x, ap = u - x, bp = u - ap;
    double c = (1.0 - ap) + (x - bp);
    double lo, hi = dj_v_log_core(u, &lo);
    /* log(1 + c/u) = c/u - (c/u)^2/2 = c - [q (u - 1) + q^2/2], q = c/u.
       For |x| < ~2^-50, c is as large as log(u) and even the rounding of c/u
       would show, so c is added exactly (2Sum) and only the bracket, tiny,
       goes to the tail. */
    double q = c / u;
    double s = hi + c, sa = s - c, sb = s - sa;
    double res = s + ((((hi - sa) + (c - sb)) + lo) - (q * (u - 1.0) + 0.5 * (q * q)));
    /* log1p x has the sign of x: this only fixes log1p(-0) (see dj_vexpm1) */
    return dj_v_dbl(dj_v_bits(res) | (dj_v_bits(x) & 0x8000000000000000ULL));
}

#endif
