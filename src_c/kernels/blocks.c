/*
 * blocks.c: the value passes declared in blocks.h (why they exist and how
 * accurate they are: there), in one translation unit of their own, so that the
 * ISA each one uses is chosen once for every kernel that calls it.
 */
#include "blocks.h"
#include "vecmath.h"

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
    void NAME DJ_SIGNATURE(T) { NAME##_impl(x, n, f, other); }
#define DJ_SELECT(NAME, ISA) NAME##_impl = (ISA == 2 ? NAME##_avx512 : ISA == 1 ? NAME##_avx2 : NAME##_base)
#else
#define DJ_DEFINE_BLOCK(NAME, T, BODY)                                   \
    void NAME DJ_SIGNATURE(T) { BODY(T) }
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

int dj_kernel_isa = 0;

int dj_blocks_init(int limit) {
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

