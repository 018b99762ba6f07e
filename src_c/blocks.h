/*
 * blocks.h: the value pass of the rules table's `block` rows (sin, cos, exp,
 * expm1, log, log1p, tanh): f(x), and the second function the derivative needs (cos for sin), over
 * a contiguous run of at most DJ_BLOCK arguments.
 *
 * Why: a kernel computes each element's value and partials in one loop, which
 * cannot be vectorized around a libm call; for these rows the transcendental
 * is most of the cost (sin/cos ~8 ns per element, scalar, also in NumPy). The
 * kernel instead gathers a block of arguments, calls the function here, which
 * evaluates vecmath.h's branch-free versions in a loop the compiler vectorizes,
 * then applies the chain rule element by element.
 *
 * Each function is compiled three times: for the baseline ISA, AVX2, and
 * AVX-512, and dj_blocks_init() picks the best the CPU runs (on other compilers
 * and architectures, the baseline only). The file is compiled with
 * -ffp-contract=off, so every variant gives the same bits.
 *
 * Arguments outside a function's fast range (|x| >= 1e6 for sin/cos, overflow
 * and underflow for exp, zero, negative, subnormal, inf and nan for log) are
 * recomputed with libm after the vector loop, so every input gets libm-class
 * results (vecmath.h's functions are within 0.78 ulp of the exact result on
 * their fast range, measured against mpmath at 200 bits on 1-2.3 million
 * points each, the hard cases of the sin/cos reduction included).
 */
#ifndef DUALJAC_BLOCKS_H
#define DUALJAC_BLOCKS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* sincos */
#endif
#include <math.h>
#include <stddef.h>
#include "vecmath.h"

#define DJ_BLOCK 256

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DJ_ISA_VARIANTS 1
#define DJ_TARGET_AVX2 __attribute__((target("avx2")))
#define DJ_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,prefer-vector-width=512")))
#endif

typedef void (*dj_block_f64)(const double *, ptrdiff_t, double *, double *);
typedef void (*dj_block_f32)(const float *, ptrdiff_t, float *, float *);

/* ---------------------------------------------------------- loop bodies
 * One body per function and dtype; `bad` counts arguments outside the fast
 * range, which the scalar fix-up below redoes with libm. float32 rows compute
 * in double and round once, as their scalar kernels do. */

/* sin and cos share one reduction; F and OTHER name which of s, c is the value. */
#define DJ_SINCOS_BODY(T, F, OTHER)                                      \
    int bad = 0;                                                         \
    for (ptrdiff_t i = 0; i < n; i++) {                                  \
        double c, s = dj_vsincos((double)x[i], &c);                      \
        f[i] = (T)F;                                                     \
        other[i] = (T)OTHER;                                             \
        bad |= !dj_vsincos_ok((double)x[i]);                             \
    }                                                                    \
    if (bad) for (ptrdiff_t i = 0; i < n; i++) if (!dj_vsincos_ok((double)x[i])) { \
        double s, c;                                                     \
        sincos((double)x[i], &s, &c);                                    \
        f[i] = (T)F;                                                     \
        other[i] = (T)OTHER;                                             \
    }

#define DJ_SIN_BODY(T) DJ_SINCOS_BODY(T, s, c)
#define DJ_COS_BODY(T) DJ_SINCOS_BODY(T, c, s)

/* One-output functions: f = VEC(x) on the fast range OK, LIBM(x) elsewhere. */
#define DJ_ONE_OUTPUT_BODY(T, VEC, OK, LIBM)                             \
    int bad = 0;                                                         \
    (void)other;                                                         \
    for (ptrdiff_t i = 0; i < n; i++) {                                  \
        f[i] = (T)VEC((double)x[i]);                                     \
        bad |= !OK((double)x[i]);                                        \
    }                                                                    \
    if (bad) for (ptrdiff_t i = 0; i < n; i++)                           \
        if (!OK((double)x[i])) f[i] = (T)LIBM((double)x[i]);

#define DJ_EXP_BODY(T) DJ_ONE_OUTPUT_BODY(T, dj_vexp, dj_vexp_ok, exp)
#define DJ_LOG_BODY(T) DJ_ONE_OUTPUT_BODY(T, dj_vlog, dj_vlog_ok, log)
#define DJ_EXPM1_BODY(T) DJ_ONE_OUTPUT_BODY(T, dj_vexpm1, dj_vexpm1_ok, expm1)
#define DJ_LOG1P_BODY(T) DJ_ONE_OUTPUT_BODY(T, dj_vlog1p, dj_vlog1p_ok, log1p)
#define DJ_TANH_BODY(T) DJ_ONE_OUTPUT_BODY(T, dj_vtanh, dj_vtanh_ok, tanh)

/* ---------------------------------------------------------- variants
 * NAME(x, n, f, other) calls NAME_impl, set by dj_blocks_init to the variant
 * for this CPU (the baseline until then). */

#define DJ_SIGNATURE(T) (const T *restrict x, ptrdiff_t n, T *restrict f, T *restrict other)

#ifdef DJ_ISA_VARIANTS
#define DJ_DEFINE_BLOCK(NAME, T, BODY)                                   \
    static void NAME##_base DJ_SIGNATURE(T) { BODY(T) }                  \
    DJ_TARGET_AVX2 static void NAME##_avx2 DJ_SIGNATURE(T) { BODY(T) }   \
    DJ_TARGET_AVX512 static void NAME##_avx512 DJ_SIGNATURE(T) { BODY(T) } \
    static void (*NAME##_impl) DJ_SIGNATURE(T) = NAME##_base;            \
    static void NAME DJ_SIGNATURE(T) { NAME##_impl(x, n, f, other); }
#define DJ_SELECT(NAME, ISA) NAME##_impl = (ISA == 2 ? NAME##_avx512 : ISA == 1 ? NAME##_avx2 : NAME##_base)
#else
#define DJ_DEFINE_BLOCK(NAME, T, BODY)                                   \
    static void NAME DJ_SIGNATURE(T) { BODY(T) }
#define DJ_SELECT(NAME, ISA) (void)0
#endif

DJ_DEFINE_BLOCK(dj_sin_block_f64, double, DJ_SIN_BODY)
DJ_DEFINE_BLOCK(dj_sin_block_f32, float, DJ_SIN_BODY)
DJ_DEFINE_BLOCK(dj_cos_block_f64, double, DJ_COS_BODY)
DJ_DEFINE_BLOCK(dj_cos_block_f32, float, DJ_COS_BODY)
DJ_DEFINE_BLOCK(dj_exp_block_f64, double, DJ_EXP_BODY)
DJ_DEFINE_BLOCK(dj_exp_block_f32, float, DJ_EXP_BODY)
DJ_DEFINE_BLOCK(dj_log_block_f64, double, DJ_LOG_BODY)
DJ_DEFINE_BLOCK(dj_log_block_f32, float, DJ_LOG_BODY)
DJ_DEFINE_BLOCK(dj_expm1_block_f64, double, DJ_EXPM1_BODY)
DJ_DEFINE_BLOCK(dj_expm1_block_f32, float, DJ_EXPM1_BODY)
DJ_DEFINE_BLOCK(dj_log1p_block_f64, double, DJ_LOG1P_BODY)
DJ_DEFINE_BLOCK(dj_log1p_block_f32, float, DJ_LOG1P_BODY)
DJ_DEFINE_BLOCK(dj_tanh_block_f64, double, DJ_TANH_BODY)
DJ_DEFINE_BLOCK(dj_tanh_block_f32, float, DJ_TANH_BODY)

/* The ISA of the kernels' wide copies (_kernels.h: elements of at least
 * DJ_WIDE_MIN_K numbers): 0 baseline, 1 AVX2, 2 AVX-512; set with the block
 * functions' below. */
static int dj_kernel_isa = 0;

/* The ISA the block functions and the kernels' wide copies use: 0 baseline,
 * 1 AVX2, 2 AVX-512. `limit` caps it (tests run every variant the CPU has:
 * _core.select_isa); returns the ISA chosen. */
static int dj_blocks_init(int limit) {
    int isa = 0;
#ifdef DJ_ISA_VARIANTS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) isa = 1;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vl")) isa = 2;
    if (isa > limit) isa = limit < 0 ? 0 : limit;
    DJ_SELECT(dj_sin_block_f64, isa);
    DJ_SELECT(dj_sin_block_f32, isa);
    DJ_SELECT(dj_cos_block_f64, isa);
    DJ_SELECT(dj_cos_block_f32, isa);
    DJ_SELECT(dj_exp_block_f64, isa);
    DJ_SELECT(dj_exp_block_f32, isa);
    DJ_SELECT(dj_log_block_f64, isa);
    DJ_SELECT(dj_log_block_f32, isa);
    DJ_SELECT(dj_expm1_block_f64, isa);
    DJ_SELECT(dj_expm1_block_f32, isa);
    DJ_SELECT(dj_log1p_block_f64, isa);
    DJ_SELECT(dj_log1p_block_f32, isa);
    DJ_SELECT(dj_tanh_block_f64, isa);
    DJ_SELECT(dj_tanh_block_f32, isa);
    dj_kernel_isa = isa;
#else
    (void)limit;
#endif
    return isa;
}

#endif
