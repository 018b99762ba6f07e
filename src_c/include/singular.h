/*
 * singular.h: an element's derivatives at a singular point of its rule.
 *
 * A kernel multiplies each derivative component of its operands by a partial
 * of the rule (f'(x) * t, f''(x) * t_p * t_q). Where a partial is infinite or
 * NaN (sqrt'(0), the 1/x of log at 0), IEEE makes every product with it NaN,
 * also inf * 0 for the seeds the element does not depend on; and a NaN in one
 * Hessian or Jacobian entry then spreads through sums into entries that never
 * depended on the singular element. So a component that is exactly zero is a
 * structural zero: its product with any partial is 0. Only the entries that do
 * depend on the singular element get its inf or NaN.
 *
 * The kernels keep their plain products (no select in the component loops, so
 * no cost in the common case) and test the element's partials once: only an
 * element with a non-finite partial is recomputed here, component by
 * component with dj_times. One function per layout serves unary rows (b =
 * NULL, dfx = f', dxx = f''), binary rows, a constant operand (NULL), the AoS
 * kernels (component stride cs = 1) and the SoA ones (cs = chunk stride).
 */
#ifndef DUALJAC_SINGULAR_H
#define DUALJAC_SINGULAR_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

/* v - v is 0 for finite v, NaN for inf and NaN (no -ffast-math in this build). */
#define DJ_FINITE(v) ((v) - (v) == 0)

#if defined(__GNUC__)
#define DJ_UNLIKELY(c) __builtin_expect(!!(c), 0)
#else
#define DJ_UNLIKELY(c) (c)
#endif

/* The SoA kernels test a whole chunk in their loop over elements by OR-ing
 * these bits: adding one to an all-ones exponent (inf, NaN) carries into the
 * sign bit, any other exponent does not. Integer operations of the value's own
 * width keep that loop vectorized; a floating-point test accumulated into a
 * flag (&=, &&) stopped GCC vectorizing it (the value pass of x * y ran scalar). */
typedef uint64_t dj_bits_f64;
typedef uint32_t dj_bits_f32;

static inline dj_bits_f64 dj_nonfinite_bits_f64(double v) {
    dj_bits_f64 u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x7FF0000000000000ull) + (1ull << 52);
}

static inline dj_bits_f32 dj_nonfinite_bits_f32(float v) {
    dj_bits_f32 u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x7F800000u) + (1u << 23);
}

#define DJ_ANY_NONFINITE_f64(bits) ((bits) >> 63)
#define DJ_ANY_NONFINITE_f32(bits) ((bits) >> 31)

/* A kernel unit holds the kernels of one dtype and calls only that dtype's functions. */
#if defined(__GNUC__)
#define DJ_MAYBE_UNUSED __attribute__((unused))
#else
#define DJ_MAYBE_UNUSED
#endif

#define DJ_SINGULAR_FUNCTIONS(T, SFX)                                                      \
/* c * t, but 0 when either factor is exactly 0: a zero is structural. */                  \
static inline T dj_times_##SFX(T c, T t) {                                                 \
    return (c == 0 || t == 0) ? (T)0 : c * t;                                              \
}                                                                                          \
                                                                                           \
static inline T dj_component_##SFX(const T *x, Py_ssize_t s, Py_ssize_t cs) {              \
    return x ? x[s * cs] : (T)0;                                                           \
}                                                                                          \
                                                                                           \
/* The first-order rule for component s: dfx * a_s + dfy * b_s. */                         \
static inline T dj_first_##SFX(const T *a, const T *b, Py_ssize_t s, Py_ssize_t cs,        \
                               const T *d) {                                               \
    return dj_times_##SFX(d[0], dj_component_##SFX(a, s, cs))                              \
         + dj_times_##SFX(d[1], dj_component_##SFX(b, s, cs));                             \
}                                                                                          \
                                                                                           \
/* The second-order terms from first-seed component p and second-seed component q. */      \
static inline T dj_cross_##SFX(const T *a, const T *b, Py_ssize_t p, Py_ssize_t q,         \
                               Py_ssize_t cs, const T *d) {                                \
    const T ap = dj_component_##SFX(a, p, cs), aq = dj_component_##SFX(a, q, cs);          \
    const T bp = dj_component_##SFX(b, p, cs), bq = dj_component_##SFX(b, q, cs);          \
    return dj_times_##SFX(d[2], ap * aq) + dj_times_##SFX(d[3], ap * bq + bp * aq)          \
         + dj_times_##SFX(d[4], bp * bq);                                                  \
}                                                                                          \
                                                                                           \
/* d = {dfx, dfy, dxx, dxy, dyy}; o[0] (the value) is left as the kernel wrote it. */      \
DJ_MAYBE_UNUSED                                                                            \
static void dj_singular_dual_##SFX(const T *a, const T *b, T *o, Py_ssize_t cs,            \
                                   Py_ssize_t K, const T *d) {                             \
    for (Py_ssize_t s = 1; s < K; s++)                                                     \
        o[s * cs] = dj_first_##SFX(a, b, s, cs, d);                                        \
}                                                                                          \
                                                                                           \
/* [v, d1_1..d1_n1, d2_1..d2_n2, d12 row-major] */                                         \
DJ_MAYBE_UNUSED                                                                            \
static void dj_singular_hyper_##SFX(const T *a, const T *b, T *o, Py_ssize_t cs,           \
                                    Py_ssize_t n1, Py_ssize_t n2, const T *d) {            \
    const Py_ssize_t c12 = 1 + n1 + n2;                                                    \
    for (Py_ssize_t s = 1; s < c12; s++)                                                   \
        o[s * cs] = dj_first_##SFX(a, b, s, cs, d);                                        \
    for (Py_ssize_t p = 0; p < n1; p++)                                                    \
        for (Py_ssize_t q = 0; q < n2; q++) {                                              \
            const Py_ssize_t s = c12 + p * n2 + q;                                         \
            o[s * cs] = dj_first_##SFX(a, b, s, cs, d)                                     \
                      + dj_cross_##SFX(a, b, 1 + p, 1 + n1 + q, cs, d);                    \
        }                                                                                  \
}                                                                                          \
                                                                                           \
/* [v, d_1..d_n, H_pq for p <= q] */                                                       \
DJ_MAYBE_UNUSED                                                                            \
static void dj_singular_symmetric_##SFX(const T *a, const T *b, T *o, Py_ssize_t cs,       \
                                        Py_ssize_t n, const T *d) {                        \
    for (Py_ssize_t s = 1; s <= n; s++)                                                    \
        o[s * cs] = dj_first_##SFX(a, b, s, cs, d);                                        \
    for (Py_ssize_t p = 0; p < n; p++) {                                                   \
        const Py_ssize_t hp = 1 + n + p * n - ((p * (p + 1)) >> 1);                        \
        for (Py_ssize_t q = p; q < n; q++)                                                 \
            o[(hp + q) * cs] = dj_first_##SFX(a, b, hp + q, cs, d)                         \
                             + dj_cross_##SFX(a, b, 1 + p, 1 + q, cs, d);                  \
    }                                                                                      \
}

DJ_SINGULAR_FUNCTIONS(double, f64)
DJ_SINGULAR_FUNCTIONS(float, f32)

#endif
