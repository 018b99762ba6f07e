#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE   /* lgamma_r */
#endif
/* Special functions that libm lacks, for the rules-table kernels (dualjac/rules.py).
 *
 * Everything is double: the float32 kernels call these too and round the result,
 * which keeps them as accurate as the float64 ones. Values follow SciPy's
 * conventions at poles, infinities and NaN, since the tests compare against
 * scipy.special.
 *
 *   dj_digamma, dj_trigamma, dj_tetragamma   psi, psi', psi'' (polygamma 0, 1, 2)
 *   dj_ndtr                                  standard normal CDF
 *   dj_log_ndtr, dj_log_ndtr_deriv,          its log, d/dx log ndtr = pdf / cdf,
 *   dj_log_ndtr_deriv2                       and d2/dx2 log ndtr
 */
#ifndef DUALJAC_SPECIAL_H
#define DUALJAC_SPECIAL_H

#include <math.h>

/* lgamma without glibc's global `signgam`: kernels over large arrays run with
   the GIL released, and plain lgamma would write that global from two threads. */
static inline double dj_lgamma(double x) {
    int sign;
    return lgamma_r(x, &sign);
}

#define DJ_PI 3.14159265358979323846
#define DJ_SQRT_PI 1.77245385090551602730
#define DJ_SQRT1_2 0.70710678118654752440     /* 1/sqrt(2) */
#define DJ_SQRT_2_PI 0.79788456080286535588   /* sqrt(2/pi) */
#define DJ_INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */

/* ------------------------------------------------------------------ polygamma
 *
 * psi^(n)(x) for n = 0, 1, 2: upward recurrence to x >= DJ_PSI_ASYMPTOTIC, then
 * the asymptotic (Bernoulli) series in z = 1/x^2; negative x by reflection.
 * With ten terms, the first omitted one at x = 10 is 1e-20 of the value for
 * digamma, 6e-19 for trigamma, 1.3e-17 for tetragamma.
 */
#define DJ_PSI_ASYMPTOTIC 10.0
#define DJ_PSI_TERMS 10

/* B_2k / (2k), B_2k, (2k + 1) B_2k for k = 1..10 (B_2 = 1/6, B_4 = -1/30, ...). */
static const double dj_psi0_coef[DJ_PSI_TERMS] = {
    1.0 / 12, -1.0 / 120, 1.0 / 252, -1.0 / 240, 1.0 / 132,
    -691.0 / 32760, 1.0 / 12, -3617.0 / 8160, 43867.0 / 14364, -174611.0 / 6600,
};
static const double dj_psi1_coef[DJ_PSI_TERMS] = {
    1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66,
    -691.0 / 2730, 7.0 / 6, -3617.0 / 510, 43867.0 / 798, -174611.0 / 330,
};
static const double dj_psi2_coef[DJ_PSI_TERMS] = {
    3.0 / 6, -5.0 / 30, 7.0 / 42, -9.0 / 30, 11.0 * 5 / 66,
    -13.0 * 691 / 2730, 15.0 * 7 / 6, -17.0 * 3617 / 510, 19.0 * 43867 / 798,
    -21.0 * 174611 / 330,
};

static inline double dj_series(const double *coef, double z)
{
    double s = 0.0;
    for (int k = DJ_PSI_TERMS - 1; k >= 0; k--)
        s = s * z + coef[k];
    return s * z;
}

/* x <= 0: x - round(x) in [-1/2, 1/2] is exact, so sin(pi r) and cot(pi r) keep
 * full relative accuracy next to the poles (pi * x itself would not). */
static inline double dj_reduce(double x)
{
    return x - nearbyint(x);
}

/* Around psi's positive zero x0 = 1.46163..., the recurrence below leaves an
 * absolute error of a few 1e-16, unbounded relative to psi(x) ~ 0.97 (x - x0).
 * There: the Taylor series about x0 (as SciPy does), whose coefficients are
 * psi^(n)(x0) / n! = (-1)^(n+1) zeta(n + 1, x0) (mpmath, 40 digits); within 0.25
 * of x0 the 24 terms leave a truncation error below 1e-18. */
#define DJ_PSI_ROOT 1.4616321449683622
#define DJ_PSI_ROOT_VALUE -9.2412655217294275e-17   /* psi(DJ_PSI_ROOT): not exactly 0 */
#define DJ_PSI_ROOT_WINDOW 0.25
#define DJ_PSI_ROOT_TERMS 24

static const double dj_psi_root_coef[DJ_PSI_ROOT_TERMS] = {
    0.9676722454476212, -0.4427631689835922, 0.2584997609556511,
    -0.16394270544240658, 0.10782405069126241, -0.07219956125645474,
    0.04880428816414313, -0.033161126474847376, 0.022597648232218118,
    -0.01542476590494897, 0.010538791616612184, -0.007204534386356875,
    0.004926781395729858, -0.0033698016554393312, 0.00230512632673493,
    -0.001576936771430199, 0.0010788252019162978, -0.000738070938996006,
    0.0005049532658346027, -0.0003454680251063082, 0.00023635601564027086,
    -0.00016170622091974827, 0.00011063372768747428, -7.569179582195078e-05,
};

/* psi(x) for x > 0 (the callers reflect negative x). */
static inline double dj_digamma_positive(double x)
{
    double h = x - DJ_PSI_ROOT;   /* exact near the root (Sterbenz) */
    if (fabs(h) < DJ_PSI_ROOT_WINDOW) {
        double s = 0.0;
        for (int k = DJ_PSI_ROOT_TERMS - 1; k >= 0; k--)
            s = s * h + dj_psi_root_coef[k];
        return DJ_PSI_ROOT_VALUE + s * h;
    }
    double shift = 0.0;
    while (x < DJ_PSI_ASYMPTOTIC) {
        shift += 1.0 / x;   /* psi(x) = psi(x + 1) - 1/x */
        x += 1.0;
    }
    return log(x) - 0.5 / x - dj_series(dj_psi0_coef, 1.0 / (x * x)) - shift;
}

static inline double dj_trigamma_positive(double x)
{
    double shift = 0.0;
    while (x < DJ_PSI_ASYMPTOTIC) {
        shift += 1.0 / (x * x);   /* psi'(x) = psi'(x + 1) + 1/x^2 */
        x += 1.0;
    }
    double w = 1.0 / x;
    return w + 0.5 * w * w + w * dj_series(dj_psi1_coef, w * w) + shift;
}

static inline double dj_tetragamma_positive(double x)
{
    double shift = 0.0;
    while (x < DJ_PSI_ASYMPTOTIC) {
        shift += 2.0 / (x * x * x);   /* psi''(x) = psi''(x + 1) - 2/x^3 */
        x += 1.0;
    }
    double w = 1.0 / x, w2 = w * w;
    return -w2 - w2 * w - w2 * dj_series(dj_psi2_coef, w2) - shift;
}

/* The poles 0, -1, -2, ...: SciPy gives psi(+-0) = -+inf (the sign of -1/x) and
 * NaN at the negative integers, where the two one-sided limits differ. */
static inline double dj_digamma(double x)
{
    if (x > 0)
        return dj_digamma_positive(x);   /* +inf -> +inf */
    if (x == 0)
        return copysign(INFINITY, -x);
    if (isnan(x) || x == nearbyint(x))
        return NAN;                     /* NaN, -inf and the negative integers */
    /* psi(x) = psi(1 - x) - pi cot(pi x) */
    return dj_digamma_positive(1.0 - x) - DJ_PI / tan(DJ_PI * dj_reduce(x));
}

static inline double dj_trigamma(double x)
{
    if (x > 0)
        return dj_trigamma_positive(x);
    if (isnan(x) || x == nearbyint(x))
        return x == 0 ? INFINITY : NAN;
    /* psi'(x) = pi^2 / sin^2(pi x) - psi'(1 - x) */
    double s = sin(DJ_PI * dj_reduce(x));
    return DJ_PI * DJ_PI / (s * s) - dj_trigamma_positive(1.0 - x);
}

static inline double dj_tetragamma(double x)
{
    if (x > 0)
        return dj_tetragamma_positive(x);
    if (x == 0)
        return copysign(INFINITY, -x);   /* like -2/x^3 */
    if (isnan(x) || x == nearbyint(x))
        return NAN;
    /* psi''(x) = psi''(1 - x) - 2 pi^3 cos(pi x) / sin^3(pi x) */
    double r = DJ_PI * dj_reduce(x), s = sin(r);
    return dj_tetragamma_positive(1.0 - x) - 2 * DJ_PI * DJ_PI * DJ_PI * cos(r) / (s * s * s);
}

/* ------------------------------------------------------------------ normal CDF */

/* erfcx(t) = exp(t^2) erfc(t). Below 26, erfc(t) is still a normal number: the
 * product, with t^2 split into hi + lo (lo exact by fma) so that exp(t^2) does not
 * inherit the rounding of t*t (a relative error t^2 eps, 1e-13 at t = 14). Above,
 * the asymptotic series 1/(t sqrt(pi)) sum (-1)^k (2k-1)!! / (2t^2)^k, whose
 * tenth term is below 1e-18 there. */
static inline double dj_erfcx(double t)
{
    if (t < 26.0) {
        double hi = t * t, lo = fma(t, t, -hi);
        return exp(hi) * erfc(t) * (1.0 + lo);
    }
    double u = 0.5 / (t * t), term = 1.0, sum = 1.0;
    for (int k = 1; k <= 10; k++) {
        term *= -(2 * k - 1) * u;
        sum += term;
    }
    return sum / (t * DJ_SQRT_PI);
}

/* SciPy's ndtr (Cephes): erf near 0, erfc in the tails, with the same argument
 * x / sqrt(2) so both round alike. */
static inline double dj_ndtr(double x)
{
    double t = x * DJ_SQRT1_2, z = fabs(t);
    if (z < DJ_SQRT1_2)
        return 0.5 + 0.5 * erf(t);
    double tail = 0.5 * erfc(z);
    return t > 0 ? 1.0 - tail : tail;
}

/* SciPy's log_ndtr: below -1, ndtr(x) = erfcx(-t) exp(-t^2) / 2 in logs, so the
 * left tail neither underflows nor loses digits; above, log1p of 1 - ndtr. */
static inline double dj_log_ndtr(double x)
{
    double t = x * DJ_SQRT1_2;
    if (x < -1.0)
        return log(0.5 * dj_erfcx(-t)) - t * t;
    return log1p(-0.5 * erfc(t));
}

/* d/dx log ndtr(x) = pdf(x) / ndtr(x). Below -1 the exp(-t^2) of pdf and of ndtr
 * cancel exactly: sqrt(2/pi) / erfcx(-t), accurate at any depth (about -x there). */
static inline double dj_log_ndtr_deriv(double x)
{
    if (x < -1.0)
        return DJ_SQRT_2_PI / dj_erfcx(-x * DJ_SQRT1_2);
    return DJ_INV_SQRT_2PI * exp(-0.5 * x * x) / dj_ndtr(x);
}

/* d2/dx2 log ndtr(x) = -r (x + r), r = pdf / cdf. In the left tail r ~ -x, so
 * x + r ~ -1/x cancels (|x|^2 eps relative, and nothing left in float32 below
 * x = -300). There it comes from erfc's continued fraction instead:
 *   sqrt(pi) erfcx(s) = 1 / (s + (1/2) / D),  D = s + 1/(s + (3/2)/(s + 2/(s + ...))),
 * s = -x / sqrt(2), which gives r = -x + 1/(sqrt(2) D) and x + r = 1/(sqrt(2) D).
 * Evaluated backwards from term n: below 1e-16 relative with 40 terms at s >= 2.5,
 * 20 at s >= 5, 10 at s >= 14. Above x = -3.5 the cancellation costs < 4 bits. */
static inline double dj_log_ndtr_deriv2(double x)
{
    if (!(x < -3.5)) {
        double r = dj_log_ndtr_deriv(x);
        return -r * (x + r);
    }
    double s = -x * DJ_SQRT1_2, d = s;
    int n = s < 5.0 ? 40 : (s < 14.0 ? 20 : 10);
    for (int k = n; k >= 2; k--)
        d = s + 0.5 * k / d;
    double x_plus_r = DJ_SQRT1_2 / d;
    return -(x_plus_r - x) * x_plus_r;
}

#endif /* DUALJAC_SPECIAL_H */
