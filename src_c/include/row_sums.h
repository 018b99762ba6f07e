/* Deferred programs' sums over a row's lanes (src_c/_deferred_rows.pxi's reduce_step):
 * x @ W (result lane l = sum_j lane lanes[j] times weights[j]) and np.sum / np.mean
 * over row axes (weights NULL), for one result lane, all K components of a chunk.
 *
 * Each element adds in index order from 0, ((0 + x0 w0) + x1 w1) + ..., and
 * -ffp-contract=off keeps every product rounded on its own. The order is the
 * result's definition (a zero weight still adds 0 * x: it decides the sign of a
 * zero and carries inf and nan), so the speed comes only from how the loops run:
 * for the common widths (up to 8 terms) the width is a constant and each
 * element's sum stays in a register, one store per element, where the generic
 * loop loads and stores the partial sum once per term. On x86-64 with GCC an
 * AVX2 or AVX-512 copy runs when dj_kernel_isa says the CPU has it (blocks.h);
 * every copy gives the same bits. */
#ifndef DJ_ROW_SUMS_H
#define DJ_ROW_SUMS_H

#include <Python.h>
#include "blocks.h"

#ifndef DJ_TARGET_AVX2
#define DJ_TARGET_AVX2
#endif

/* The arithmetic, with the operand order pinned. The generic loop computes
 * term + partial (term: x * w) and NaN + NaN returns its first operand's NaN, so
 * the order decides a NaN's sign; C lets the compiler swap the operands of + and *,
 * so on x86-64 each operation is one instruction in asm, first operand first. */
#ifdef DJ_ISA_VARIANTS    /* GCC on x86-64 (blocks.h) */
#define DJ_PINNED 1
typedef double dj_v2d __attribute__((vector_size(16), aligned(8)));
typedef float dj_v4f __attribute__((vector_size(16), aligned(4)));
typedef double dj_v4d __attribute__((vector_size(32), aligned(8)));
typedef float dj_v8f __attribute__((vector_size(32), aligned(4)));
typedef double dj_v8d __attribute__((vector_size(64), aligned(8)));
typedef float dj_v16f __attribute__((vector_size(64), aligned(4)));
#define DJ_SSE_OP(NAME, V, INSN)                                                        \
    static inline __attribute__((always_inline)) V NAME(V a, V b) {                    \
        __asm__(INSN " %1, %0" : "+x"(a) : "x"(b));                                     \
        return a;                                                                       \
    }
#define DJ_AVX_OP(NAME, V, INSN)                                                        \
    DJ_TARGET_AVX2 static inline __attribute__((always_inline)) V NAME(V a, V b) {     \
        V r;                                                                            \
        __asm__(INSN " %2, %1, %0" : "=x"(r) : "x"(a), "x"(b));                        \
        return r;                                                                       \
    }
DJ_SSE_OP(dj_add_double_base, double, "addsd") DJ_SSE_OP(dj_mul_double_base, double, "mulsd")
DJ_SSE_OP(dj_add_float_base, float, "addss") DJ_SSE_OP(dj_mul_float_base, float, "mulss")
DJ_SSE_OP(dj_addv_double_base, dj_v2d, "addpd") DJ_SSE_OP(dj_mulv_double_base, dj_v2d, "mulpd")
DJ_SSE_OP(dj_addv_float_base, dj_v4f, "addps") DJ_SSE_OP(dj_mulv_float_base, dj_v4f, "mulps")
#define DJ_AVX512_OP(NAME, V, INSN)                                                     \
    DJ_TARGET_AVX512 static inline __attribute__((always_inline)) V NAME(V a, V b) {   \
        V r;                                                                            \
        __asm__(INSN " %2, %1, %0" : "=v"(r) : "v"(a), "v"(b));                        \
        return r;                                                                       \
    }
DJ_AVX_OP(dj_add_double_avx2, double, "vaddsd") DJ_AVX_OP(dj_mul_double_avx2, double, "vmulsd")
DJ_AVX_OP(dj_add_float_avx2, float, "vaddss") DJ_AVX_OP(dj_mul_float_avx2, float, "vmulss")
DJ_AVX_OP(dj_addv_double_avx2, dj_v4d, "vaddpd") DJ_AVX_OP(dj_mulv_double_avx2, dj_v4d, "vmulpd")
DJ_AVX_OP(dj_addv_float_avx2, dj_v8f, "vaddps") DJ_AVX_OP(dj_mulv_float_avx2, dj_v8f, "vmulps")
DJ_AVX_OP(dj_add_double_avx512, double, "vaddsd") DJ_AVX_OP(dj_mul_double_avx512, double, "vmulsd")
DJ_AVX_OP(dj_add_float_avx512, float, "vaddss") DJ_AVX_OP(dj_mul_float_avx512, float, "vmulss")
DJ_AVX512_OP(dj_addv_double_avx512, dj_v8d, "vaddpd") DJ_AVX512_OP(dj_mulv_double_avx512, dj_v8d, "vmulpd")
DJ_AVX512_OP(dj_addv_float_avx512, dj_v16f, "vaddps") DJ_AVX512_OP(dj_mulv_float_avx512, dj_v16f, "vmulps")
#define DJ_VEC_double_base dj_v2d
#define DJ_VEC_float_base dj_v4f
#define DJ_VEC_double_avx2 dj_v4d
#define DJ_VEC_float_avx2 dj_v8f
#define DJ_VEC_double_avx512 dj_v8d
#define DJ_VEC_float_avx512 dj_v16f
#define DJ_CAT3(A, B, C) A##B##C
#define DJ_VEC(T, SUFFIX) DJ_CAT3(DJ_VEC_, T, SUFFIX)

/* One result lane of W terms: x[j] is term j's lane, component s at + s * cs.
 * Elements N at a time in vectors, the rest one by one, the same operations. The body
 * of both kinds of copies below: W a constant (its loops unrolled) or a run-time width
 * of at most CAP terms. */
#define DJ_ROW_SUM_BODY(T, SUFFIX, CAP)                                                 \
        typedef DJ_VEC(T, SUFFIX) V;                                                    \
        enum { N = sizeof(V) / sizeof(T) };                                             \
        const T *x[CAP];                                                                \
        T w[CAP];                                                                       \
        const V zero = {0};                                                             \
        V wv[CAP];                                                                      \
        for (int j = 0; j < W; j++) {                                                   \
            x[j] = a + lanes[j] * chunk;                                                \
            w[j] = weights != NULL ? weights[j] : (T)0;                                 \
            wv[j] = w[j] - zero;        /* w in every element: w - 0 is w, -0 too */    \
        }                                                                               \
        for (Py_ssize_t s = 0; s < K; s++, d += cs) {                                   \
            Py_ssize_t o = s * cs, e = 0;                                               \
            if (weights != NULL) {                                                      \
                for (; e + N <= m; e += N) {                                            \
                    V acc = zero + dj_mulv_##T##SUFFIX(*(const V *)(x[0] + o + e), wv[0]);\
                    for (int j = 1; j < W; j++)                                         \
                        acc = dj_addv_##T##SUFFIX(                                      \
                            dj_mulv_##T##SUFFIX(*(const V *)(x[j] + o + e), wv[j]), acc);\
                    *(V *)(d + e) = acc;                                                \
                }                                                                       \
                for (; e < m; e++) {                                                    \
                    T acc = (T)0 + dj_mul_##T##SUFFIX(x[0][o + e], w[0]);               \
                    for (int j = 1; j < W; j++)                                         \
                        acc = dj_add_##T##SUFFIX(dj_mul_##T##SUFFIX(x[j][o + e], w[j]), acc);\
                    d[e] = acc;                                                         \
                }                                                                       \
            } else {                                                                    \
                for (; e + N <= m; e += N) {                                            \
                    V acc = zero + *(const V *)(x[0] + o + e);                          \
                    for (int j = 1; j < W; j++)                                         \
                        acc = dj_addv_##T##SUFFIX(*(const V *)(x[j] + o + e), acc);     \
                    *(V *)(d + e) = acc;                                                \
                }                                                                       \
                for (; e < m; e++) {                                                    \
                    T acc = (T)0 + x[0][o + e];                                         \
                    for (int j = 1; j < W; j++) acc = dj_add_##T##SUFFIX(x[j][o + e], acc);\
                    d[e] = acc;                                                         \
                }                                                                       \
            }                                                                           \
        }

/* Widths 1 to 8, each a constant. */
#define DJ_ROW_SUM_FIXED(T, WIDTH, SUFFIX, ATTR)                                         \
    ATTR static void dj_row_sum_##T##_##WIDTH##SUFFIX(                                  \
            const T *a, const Py_ssize_t *lanes, const T *weights, Py_ssize_t chunk,    \
            Py_ssize_t K, Py_ssize_t cs, Py_ssize_t m, T *restrict d) {                 \
        const int W = WIDTH;                                                            \
        DJ_ROW_SUM_BODY(T, SUFFIX, WIDTH)                                               \
    }

/* Widths 9 to DJ_ROW_SUM_WIDEST (x @ W of a row of 9 to 64): the same loops with the
 * width a run-time number, each element's sum still in a register. */
#define DJ_ROW_SUM_WIDEST 64
#define DJ_ROW_SUM_WIDE(T, SUFFIX, ATTR)                                                 \
    ATTR static void dj_row_sum_##T##_wide##SUFFIX(                                     \
            const T *a, const Py_ssize_t *lanes, const T *weights, int W, Py_ssize_t chunk, \
            Py_ssize_t K, Py_ssize_t cs, Py_ssize_t m, T *restrict d) {                 \
        DJ_ROW_SUM_BODY(T, SUFFIX, DJ_ROW_SUM_WIDEST)                                   \
    }
#endif

/* Any width: the partial sums in d, one term at a time. */
#define DJ_ROW_SUM_GENERIC(T)                                                           \
    static void dj_row_sum_##T##_any(const T *a, const Py_ssize_t *lanes, const T *weights, \
                                     Py_ssize_t width, Py_ssize_t chunk, Py_ssize_t K,  \
                                     Py_ssize_t cs, Py_ssize_t m, T *d) {               \
        for (Py_ssize_t s = 0; s < K; s++, d += cs) {                                   \
            Py_ssize_t o = s * cs;                                                      \
            for (Py_ssize_t j = 0; j < width; j++) {                                    \
                const T *x = a + lanes[j] * chunk + o;                                  \
                T w = weights != NULL ? weights[j] : (T)1;                              \
                if (j == 0 && weights != NULL)                                          \
                    for (Py_ssize_t e = 0; e < m; e++) d[e] = (T)0 + x[e] * w;          \
                else if (j == 0)                                                        \
                    for (Py_ssize_t e = 0; e < m; e++) d[e] = (T)0 + x[e];              \
                else if (weights != NULL)                                               \
                    for (Py_ssize_t e = 0; e < m; e++) d[e] = d[e] + x[e] * w;          \
                else                                                                    \
                    for (Py_ssize_t e = 0; e < m; e++) d[e] = d[e] + x[e];              \
            }                                                                           \
        }                                                                               \
    }

#define DJ_ROW_SUM_COPIES(T, SUFFIX, ATTR)                                               \
    DJ_ROW_SUM_FIXED(T, 1, SUFFIX, ATTR) DJ_ROW_SUM_FIXED(T, 2, SUFFIX, ATTR)             \
    DJ_ROW_SUM_FIXED(T, 3, SUFFIX, ATTR) DJ_ROW_SUM_FIXED(T, 4, SUFFIX, ATTR)             \
    DJ_ROW_SUM_FIXED(T, 5, SUFFIX, ATTR) DJ_ROW_SUM_FIXED(T, 6, SUFFIX, ATTR)             \
    DJ_ROW_SUM_FIXED(T, 7, SUFFIX, ATTR) DJ_ROW_SUM_FIXED(T, 8, SUFFIX, ATTR)             \
    DJ_ROW_SUM_WIDE(T, SUFFIX, ATTR)                                                    \
    static int dj_row_sum_##T##SUFFIX(const T *a, const Py_ssize_t *lanes, const T *weights, \
                                      Py_ssize_t width, Py_ssize_t chunk, Py_ssize_t K,  \
                                      Py_ssize_t cs, Py_ssize_t m, T *d) {               \
        switch (width) {                                                                \
        case 1: dj_row_sum_##T##_1##SUFFIX(a, lanes, weights, chunk, K, cs, m, d); return 1; \
        case 2: dj_row_sum_##T##_2##SUFFIX(a, lanes, weights, chunk, K, cs, m, d); return 1; \
        case 3: dj_row_sum_##T##_3##SUFFIX(a, lanes, weights, chunk, K, cs, m, d); return 1; \
        case 4: dj_row_sum_##T##_4##SUFFIX(a, lanes, weights, chunk, K, cs, m, d); return 1; \
        case 5: dj_row_sum_##T##_5##SUFFIX(a, lanes, weights, chunk, K, cs, m, d); return 1; \
        case 6: dj_row_sum_##T##_6##SUFFIX(a, lanes, weights, chunk, K, cs, m, d); return 1; \
        case 7: dj_row_sum_##T##_7##SUFFIX(a, lanes, weights, chunk, K, cs, m, d); return 1; \
        case 8: dj_row_sum_##T##_8##SUFFIX(a, lanes, weights, chunk, K, cs, m, d); return 1; \
        }                                                                               \
        if (width <= DJ_ROW_SUM_WIDEST) {                                               \
            dj_row_sum_##T##_wide##SUFFIX(a, lanes, weights, (int)width, chunk, K, cs, m, d); \
            return 1;                                                                   \
        }                                                                               \
        return 0;                                                                       \
    }

/* dj_row_sums_T: d (component s at d + s * cs) = the sum of lanes[0 .. width) of a
 * (lane at a + lane * chunk), each times its weight unless weights is NULL. */
#ifdef DJ_PINNED
#define DJ_ROW_SUMS(T)                                                                  \
    DJ_ROW_SUM_GENERIC(T)                                                               \
    DJ_ROW_SUM_COPIES(T, _base, )                                                       \
    DJ_ROW_SUM_COPIES(T, _avx2, DJ_TARGET_AVX2)                                         \
    DJ_ROW_SUM_COPIES(T, _avx512, DJ_TARGET_AVX512)                                     \
    static void dj_row_sums_##T(const T *a, const Py_ssize_t *lanes, const T *weights,  \
                                Py_ssize_t width, Py_ssize_t chunk, Py_ssize_t K,       \
                                Py_ssize_t cs, Py_ssize_t m, T *d) {                    \
        int done = dj_kernel_isa == 2                                                   \
            ? dj_row_sum_##T##_avx512(a, lanes, weights, width, chunk, K, cs, m, d)     \
            : dj_kernel_isa                                                             \
            ? dj_row_sum_##T##_avx2(a, lanes, weights, width, chunk, K, cs, m, d)       \
            : dj_row_sum_##T##_base(a, lanes, weights, width, chunk, K, cs, m, d);      \
        if (done) return;                                                               \
        dj_row_sum_##T##_any(a, lanes, weights, width, chunk, K, cs, m, d);             \
    }
#else   /* elsewhere: the generic loop only */
#define DJ_ROW_SUMS(T)                                                                  \
    DJ_ROW_SUM_GENERIC(T)                                                               \
    static void dj_row_sums_##T(const T *a, const Py_ssize_t *lanes, const T *weights,  \
                                Py_ssize_t width, Py_ssize_t chunk, Py_ssize_t K,       \
                                Py_ssize_t cs, Py_ssize_t m, T *d) {                    \
        dj_row_sum_##T##_any(a, lanes, weights, width, chunk, K, cs, m, d);             \
    }
#endif

DJ_ROW_SUMS(double)
DJ_ROW_SUMS(float)

#endif
