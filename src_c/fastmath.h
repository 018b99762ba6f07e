/*
 * fastmath.h: sine and cosine together, for the sin and cos rows of the rules
 * table (a kernel needs both: the value and its derivative).
 *
 * glibc's sincos takes ~14 ns per element here; this takes a fraction of that
 * with the same accuracy on the range that matters:
 *   - reduction x = k pi/2 + r, |r| <= pi/4, Cody-Waite with pi/2 split into
 *     three 33-bit parts (k * part exact for |k| < 2^20, |x| < 1e6) and a tail,
 *     so r is right to ~1e-40 even next to a zero of sin or cos;
 *     the rounding uses the 1.5 * 2^52 trick (no call to rint);
 *   - sin(r), cos(r): the minimax polynomials of fdlibm's __kernel_sin and
 *     __kernel_cos (public domain, error < 1 ulp on [-pi/4, pi/4]);
 *   - the quadrant k mod 4 selects and signs them without branches.
 * |x| >= 1e6, infinities and NaNs go to libm's sincos.
 */
#ifndef DUALJAC_FASTMATH_H
#define DUALJAC_FASTMATH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* sincos, for the large-argument fallback */
#endif
#include <math.h>

#define DJ_TWO_OVER_PI 6.36619772367581382433e-01
#define DJ_PIO2_1 1.57079632673412561417e+00   /* first 33 bits of pi/2 */
#define DJ_PIO2_2 6.07710050630396597660e-11   /* next 33 bits */
#define DJ_PIO2_3 2.02226624871116645580e-21   /* next 33 bits */
#define DJ_PIO2_3T 8.47842766036889956997e-32  /* pi/2 - the three parts above */
#define DJ_ROUND_MAGIC 6755399441055744.0       /* 1.5 * 2^52 */

static inline double dj_sin_kernel(double r, double z) {
    const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                 S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                 S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
    double p = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
    return r + (z * r) * (S1 + z * p);
}

static inline double dj_cos_kernel(double z) {
    const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                 C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                 C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
    double p = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
    double hz = 0.5 * z, w = 1.0 - hz;
    return w + (((1.0 - w) - hz) + z * p);   /* fdlibm's form: keeps the last bit */
}

/* sin(x), and cos(x) into *c. */
static inline double dj_sincos(double x, double *c) {
    double k, r, z, s, co, sin_x, cos_x;
    int q;
    if (fabs(x) < 7.450580596923828e-09) {   /* 2^-27: sin x == x, cos x == 1 (keeps -0.0) */
        *c = 1.0;
        return x;
    }
    if (!(fabs(x) < 1.0e6)) {          /* large, inf or nan */
        sincos(x, &sin_x, &cos_x);
        *c = cos_x;
        return sin_x;
    }
    k = (x * DJ_TWO_OVER_PI + DJ_ROUND_MAGIC) - DJ_ROUND_MAGIC;
    r = (((x - k * DJ_PIO2_1) - k * DJ_PIO2_2) - k * DJ_PIO2_3) - k * DJ_PIO2_3T;
    z = r * r;
    s = dj_sin_kernel(r, z);
    co = dj_cos_kernel(z);
    q = (int)k & 3;
    sin_x = (q & 1) ? co : s;
    cos_x = (q & 1) ? s : co;
    if (q & 2) sin_x = -sin_x;
    if ((q + 1) & 2) cos_x = -cos_x;
    *c = cos_x;
    return sin_x;
}

/* cos(x), and sin(x) into *s. */
static inline double dj_cossin(double x, double *s) {
    double c;
    *s = dj_sincos(x, &c);
    return c;
}

/* float32 kernels: computed in double, rounded once. */
static inline float dj_sincosf(float x, float *c) {
    double cd, sd = dj_sincos((double)x, &cd);
    *c = (float)cd;
    return (float)sd;
}

static inline float dj_cossinf(float x, float *s) {
    double sd, cd = dj_cossin((double)x, &sd);
    *s = (float)sd;
    return (float)cd;
}

#endif
