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
 * Each function is compiled three times (in blocks.c): for the baseline ISA,
 * AVX2, and AVX-512, and dj_blocks_init() picks the best the CPU runs (on other
 * compilers and architectures, the baseline only). The file is compiled with
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

#define DJ_BLOCK 256

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DJ_ISA_VARIANTS 1
#define DJ_TARGET_AVX2 __attribute__((target("avx2")))
#define DJ_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,prefer-vector-width=512")))
#endif

typedef void (*dj_block_f64)(const double *, ptrdiff_t, double *, double *);
typedef void (*dj_block_f32)(const float *, ptrdiff_t, float *, float *);

/* Symbols shared by the extension's translation units but not exported from it. */
#if defined(__GNUC__)
#define DJ_INTERNAL __attribute__((visibility("hidden")))
#else
#define DJ_INTERNAL
#endif

#define DJ_BLOCK_DECLARE(NAME, T) \
    DJ_INTERNAL void NAME(const T *restrict x, ptrdiff_t n, T *restrict f, T *restrict other);
DJ_BLOCK_DECLARE(dj_sin_block_f64, double)
DJ_BLOCK_DECLARE(dj_sin_block_f32, float)
DJ_BLOCK_DECLARE(dj_cos_block_f64, double)
DJ_BLOCK_DECLARE(dj_cos_block_f32, float)
DJ_BLOCK_DECLARE(dj_exp_block_f64, double)
DJ_BLOCK_DECLARE(dj_exp_block_f32, float)
DJ_BLOCK_DECLARE(dj_log_block_f64, double)
DJ_BLOCK_DECLARE(dj_log_block_f32, float)
DJ_BLOCK_DECLARE(dj_expm1_block_f64, double)
DJ_BLOCK_DECLARE(dj_expm1_block_f32, float)
DJ_BLOCK_DECLARE(dj_log1p_block_f64, double)
DJ_BLOCK_DECLARE(dj_log1p_block_f32, float)
DJ_BLOCK_DECLARE(dj_tanh_block_f64, double)
DJ_BLOCK_DECLARE(dj_tanh_block_f32, float)

/* The ISA chosen for the kernels' wide copies (_kernels.c.tp: elements of more
 * than DJ_SCALAR_MAX_K numbers, and the SoA kernels): 0 baseline, 1 AVX2,
 * 2 AVX-512 (the AoS kernels run their AVX2 copies); set with the block functions'. */
extern DJ_INTERNAL int dj_kernel_isa;

/* The ISA the block functions and the kernels' wide copies use: 0 baseline,
 * 1 AVX2, 2 AVX-512. `limit` caps it (tests run every variant the CPU has:
 * _core.select_isa); returns the ISA chosen. */
DJ_INTERNAL int dj_blocks_init(int limit);

#endif
