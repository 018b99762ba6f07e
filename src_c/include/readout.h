/* Deferred programs' read-out (src_c/_deferred.pxi): a chunk's result, held
 * component-major in the scratch (component s of element e at src[pos[s] + e]),
 * written element-major into the transform's output (element e's `width`
 * numbers at dst + e * dst_stride).
 *
 * This is a small transposition, and with a run-time width the compiler emits
 * a generic loop of ~8 instructions per number (a large share of a batch
 * Hessian's instructions). The common widths (a batch Jacobian's row of up to
 * 16 seeds, a Hessian of up to 4 variables, a stack of a few such results read
 * out together) therefore get a copy each in which the width is a constant, so
 * the inner loop is unrolled into loads and stores. Writing each element's
 * numbers together, not result by result, also writes each cache line of the
 * output once (see benchmarks/cases.py's batch_sph_1e5, whose read-out stacks
 * three results of 3 numbers).
 * Wider read-outs go in groups of 16 numbers. */
#ifndef DJ_READOUT_H
#define DJ_READOUT_H

#include <Python.h>

/* Prefetch for writing the cache lines of [p, p + nbytes): a chunk's slice of the
 * output, requested in pieces while the chunk's steps run, so that fetching the
 * lines for ownership overlaps the arithmetic instead of stalling the read-out. */
static inline void dj_prefetch_write(const void *p, Py_ssize_t nbytes) {
    const char *c = (const char *)p;
    for (Py_ssize_t i = 0; i < nbytes; i += 64) __builtin_prefetch(c + i, 1, 3);
}

/* Prefetch for reading: the next chunk's source rows, requested while this chunk runs. */
static inline void dj_prefetch_read(const void *p, Py_ssize_t nbytes) {
    const char *c = (const char *)p;
    for (Py_ssize_t i = 0; i < nbytes; i += 64) __builtin_prefetch(c + i, 0, 3);
}

#define DJ_READ_FIXED(T, W)                                                        \
    static void dj_read_##T##_##W(const T *restrict src, const Py_ssize_t *pos,    \
                                  Py_ssize_t m, T *restrict dst,                   \
                                  Py_ssize_t dst_stride) {                         \
        const T *rows[W];                                                          \
        for (int s = 0; s < W; s++) rows[s] = src + pos[s];                        \
        for (Py_ssize_t e = 0; e < m; e++) {                                       \
            for (int s = 0; s < W; s++) dst[s] = rows[s][e];                       \
            dst += dst_stride;                                                     \
        }                                                                          \
    }

#define DJ_READ_ALL(T)                                                              \
    DJ_READ_FIXED(T, 1) DJ_READ_FIXED(T, 2) DJ_READ_FIXED(T, 3) DJ_READ_FIXED(T, 4) \
    DJ_READ_FIXED(T, 5) DJ_READ_FIXED(T, 6) DJ_READ_FIXED(T, 7) DJ_READ_FIXED(T, 8) \
    DJ_READ_FIXED(T, 9) DJ_READ_FIXED(T, 10) DJ_READ_FIXED(T, 11)                   \
    DJ_READ_FIXED(T, 12) DJ_READ_FIXED(T, 13) DJ_READ_FIXED(T, 14)                  \
    DJ_READ_FIXED(T, 15) DJ_READ_FIXED(T, 16)                                       \
    static void dj_read_upto16_##T(const T *restrict src, const Py_ssize_t *pos,    \
                                   Py_ssize_t width, Py_ssize_t m, T *restrict dst, \
                                   Py_ssize_t dst_stride) {                         \
        switch (width) {                                                            \
        case 1: dj_read_##T##_1(src, pos, m, dst, dst_stride); return;              \
        case 2: dj_read_##T##_2(src, pos, m, dst, dst_stride); return;              \
        case 3: dj_read_##T##_3(src, pos, m, dst, dst_stride); return;              \
        case 4: dj_read_##T##_4(src, pos, m, dst, dst_stride); return;              \
        case 5: dj_read_##T##_5(src, pos, m, dst, dst_stride); return;              \
        case 6: dj_read_##T##_6(src, pos, m, dst, dst_stride); return;              \
        case 7: dj_read_##T##_7(src, pos, m, dst, dst_stride); return;              \
        case 8: dj_read_##T##_8(src, pos, m, dst, dst_stride); return;              \
        case 9: dj_read_##T##_9(src, pos, m, dst, dst_stride); return;              \
        case 10: dj_read_##T##_10(src, pos, m, dst, dst_stride); return;            \
        case 11: dj_read_##T##_11(src, pos, m, dst, dst_stride); return;            \
        case 12: dj_read_##T##_12(src, pos, m, dst, dst_stride); return;            \
        case 13: dj_read_##T##_13(src, pos, m, dst, dst_stride); return;            \
        case 14: dj_read_##T##_14(src, pos, m, dst, dst_stride); return;            \
        case 15: dj_read_##T##_15(src, pos, m, dst, dst_stride); return;            \
        case 16: dj_read_##T##_16(src, pos, m, dst, dst_stride); return;            \
        }                                                                           \
    }                                                                               \
    /* Any width: in groups of up to 16 numbers, each group's numbers of a row     \
     * written together (two cache lines of doubles). */                            \
    static void dj_read_rows_##T(const T *restrict src, const Py_ssize_t *pos,      \
                                 Py_ssize_t width, Py_ssize_t m, T *restrict dst,   \
                                 Py_ssize_t dst_stride) {                           \
        for (Py_ssize_t s = 0; s < width; s += 16) {                                \
            Py_ssize_t group = width - s < 16 ? width - s : 16;                     \
            dj_read_upto16_##T(src, pos + s, group, m, dst + s, dst_stride);        \
        }                                                                           \
    }

DJ_READ_ALL(double)
DJ_READ_ALL(float)

#endif
