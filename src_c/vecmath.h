/*
 * vecmath.h: branch-free double-precision sin/cos, exp and log that GCC can
 * auto-vectorize (no libm calls, no tables, no branches, no double->int
 * conversions), for the per-element kernels of dualjac.
 *
 * Why this shape: a kernel loop such as
 *     for (i = 0; i < n; i++) s[i] = dj_vsincos(x[i], &c[i]);
 * only vectorizes if every operation has a SIMD form on plain SSE2/AVX2, so
 *   - integers (quadrant, exponent) are read from / written into the bits of
 *     doubles (memcpy casts compile to nothing), never converted with (int)x,
 *     which has no AVX2 instruction for 64-bit lanes and is UB out of range;
 *   - every element takes the same path; each function is only *valid* on a
 *     "fast range" tested by its dj_v*_ok(x) predicate.  Outside it the result
 *     is garbage but harmless (no UB, no traps; FP flags may be raised): the
 *     caller recomputes those elements with libm;
 *   - results do not depend on the ISA if the file is compiled with
 *     -ffp-contract=off (GCC otherwise fuses a*b+c into FMAs when FMA is
 *     enabled, which changes the last bit).  Never use -ffast-math: the
 *     error-free transformations below (2Sum) would be "simplified" away.
 *
 * Accuracy: every function returns within ~0.5x ulp of the exact result
 * (measured against mpmath, test_accuracy.py; numbers in REPORT.md), the same
 * class as glibc.  The trick each time is the same: the reduction is done in
 * double-double (exact pieces + a tail), and the big term of the result
 * (r, 1 + r, e*ln2 + f) is added last, so the only sizeable rounding is the
 * final one.
 *
 * dj_vsincos(x, &c)  sin x, cos x.  Fast range |x| < 1e6 (dj_vsincos_ok).
 *   x = k pi/2 + r, k = round(x 2/pi) by the 1.5*2^52 trick; pi/2 in three
 *   parts of <= 32 bits (k * part exact for |k| < 2^20) plus a tail, combined
 *   with 2Sum so r = rh + rl is known to ~2^-100 absolute, enough even for the
 *   x nearest a multiple of pi/2 (|r| ~ 2^-60 there).  sin/cos of rh + rl by
 *   the fdlibm __kernel_sin/__kernel_cos polynomials (with their tail terms);
 *   k mod 4 (from the low bits of the rounded double) swaps and signs them
 *   with integer masks.  Signed zero: sin(-0) = -0 (tail kept at -0).
 *   Max error: sin 0.52 ulp, cos 0.52 ulp (see REPORT.md for the exact numbers).
 *
 * dj_vexp(x)  Fast range -708 < x < 709 (result normal; dj_vexp_ok).
 *   x = k ln2 + r, |r| <= ln2/2; x - k ln2_hi is exact (42-bit ln2_hi), the
 *   k ln2_lo part is carried as a tail c.  exp(r + c) = (1 + r) + (r^2/2 +
 *   r^3 Q(r) + c (1 + r)), 1 + r split exactly into hi + lo; Q is a degree-9
 *   minimax fit (gen_coeffs.py, error 2^-60 relative).  2^k is built in the
 *   exponent field from the bits of the rounded double.
 *   Max error: 0.51 ulp.
 *
 * dj_vlog(x)  Fast range: positive, normal, finite x (dj_vlog_ok).
 *   x = 2^e m, m in [sqrt(1/2), sqrt(2)), by integer arithmetic on the bits
 *   (e becomes a double through the 2^52 trick, not a conversion).  f = m - 1
 *   is exact; log1p(f) = f - f^2/2 + s (f^2/2 + R), s = f / (2 + f),
 *   R = s^2 G(s^2) with G a degree-6 minimax fit (gen_coeffs.py) -- fdlibm's
 *   identity, which keeps the division's rounding out of the big term.  f^2/2
 *   is split exactly (Dekker) and e ln2_hi + f - hfsq_hi summed by 2Sum, so
 *   the only large rounding is the last one.  One division per element (it
 *   vectorizes; costs ~1 cycle/element).
 *   Max error: 0.52 ulp.
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

/* 1.5 * 2^52: adding it rounds to an integer k, which then sits in the low
   mantissa bits (two's complement, since 2^51 is a multiple of any 2^j used). */
#define DJ_V_MAGIC 6755399441055744.0

/* ------------------------------------------------------------------ sincos */

static inline int dj_vsincos_ok(double x) { return (x > -1.0e6) & (x < 1.0e6); }

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

/* --------------------------------------------------------------------- exp */

static inline int dj_vexp_ok(double x) { return (x > -708.0) & (x < 709.0); }

static inline double dj_vexp(double x) {
    const double inv_ln2 = 1.4426950408889634;
    const double ln2_hi = 6.931471805598903e-01;    /* 42 bits: k ln2_hi exact */
    const double ln2_lo = 5.497923018708371e-14;
    const double E0 = 0.16666666666666669, E1 = 0.04166666666666667,
                 E2 = 0.008333333333330065, E3 = 0.0013888888888880949,
                 E4 = 0.00019841269863041697, E5 = 2.480158733393564e-05,
                 E6 = 2.7557268478775624e-06, E7 = 2.7557264334380615e-07,
                 E8 = 2.510037647168201e-08, E9 = 2.0918130522344797e-09;

    double kd = x * inv_ln2 + DJ_V_MAGIC;
    uint64_t kb = dj_v_bits(kd);
    double k = kd - DJ_V_MAGIC;
    /* r + c = x - k ln2 to ~2^-100: x - k ln2_hi is exact (Sterbenz); the
       Fast2Sum is exact when |rh| >= k ln2_lo, and otherwise off by at most
       ~2^-86, far below what exp(r) ~ 1 can see. */
    double rh = x - k * ln2_hi, rl = k * ln2_lo;
    double r = rh - rl, c = (rh - r) - rl;
    double z = r * r;
    double qr = E0 + r * (E1 + r * (E2 + r * (E3 + r * (E4 + r * (E5 + r * (E6 + r * (E7 + r * (E8 + r * E9))))))));
    double hi = 1.0 + r, lo = (1.0 - hi) + r;                      /* exact */
    double e = hi + (lo + ((c + c * r) + z * (0.5 + r * qr)));
    /* 2^k: k + 1023 into the exponent field.  kb = bits(MAGIC) + k and the low
       12 bits of bits(MAGIC) are zero, so (kb + 1023) << 52 is exactly that. */
    return e * dj_v_dbl((kb + 1023) << 52);
}

/* --------------------------------------------------------------------- log */

static inline int dj_vlog_ok(double x) {
    return (x >= 2.2250738585072014e-308) & (x <= 1.7976931348623157e308);
}

static inline double dj_vlog(double x) {
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
    /* f^2/2 = hh + hl exactly enough: Veltkamp split of f, hh exact. */
    double t = 134217729.0 * f, fh = t - (t - f), fl = f - fh;
    double hh = 0.5 * (fh * fh), hl = 0.5 * (fl * (f + fh));
    double hfsq = hh + hl;
    /* log x = e ln2_hi + f - hh + [s (hfsq + R) - hl + e ln2_lo] */
    double a1, a2;
    double b1 = dj_v_fast_two_sum(e * ln2_hi, f, &a1);   /* |e ln2| >= 0.69 > |f|, or e = 0 */
    double b2 = dj_v_fast_two_sum(b1, -hh, &a2);          /* |b1| >= 0.27 or = |f|, > hh */
    return b2 + ((a1 + a2) + ((s * (hfsq + R) - hl) + e * ln2_lo));
}

#endif
