/*
 * fused.c: does fusing the ops of a hyper-dual (Hessian) evaluation pay, and how?
 *
 * Case: batch_pot_hess - per-row Hessians of
 *     f(a, b, c) = sin(a) exp(b) + a b c + log(1 + c^2)
 * over `rows` rows of x = (a, b, c), float64.  A row's jet is K = 10 doubles
 *     [v, d_a, d_b, d_c, H_aa, H_ab, H_ac, H_bb, H_bc, H_cc]
 * (dualjac's symmetric layout: H upper triangle, row-major).  The program is
 *     a, b, c = seeded columns of x
 *     s1 = sin(a); e = exp(b); p = s1*e; ab = a*b; abc = ab*c; c2 = c*c;
 *     q = 1 + c2; l = log(q); t = p + abc; out = t + l
 * then H (rows, 3, 3) and the value (rows,) are read out of `out`.
 *
 * Variants (all compute the same arithmetic in the same order as dualjac's
 * generated kernels (src_c/kernels/_kernels.h.tp), so they agree to the last bit with
 * -ffp-contract=off; the check allows 1e-12):
 *   1   AoS unfused: one scalar pass per op over (rows, 10) buffers, dualjac's
 *       kernel bodies (gather a 256-row block of arguments, value pass, then
 *       the chain rule element by element; no-tree-vectorize as dualjac's
 *       K <= 16 copies).  Source = one (rows, 3, 10) buffer, a, b, c read in
 *       place with element stride 30.  Buffers preallocated and reused with a
 *       liveness-based slot allocator (steady-state malloc reuse).
 *   1m  as 1, but every op mallocs its output and frees operands at their last
 *       use, like NumPy temporaries without dualjac's block cache.
 *   2   SoA unfused: each jet = 10 separate arrays of `rows` doubles; one op =
 *       one pass over all rows, loops vectorizable (value pass in 256-row blocks).
 *   3   SoA chunk-interpreted: rows in chunks of C; per chunk the same op
 *       functions as 2 run one after the other through function pointers (an
 *       interpreter: no inlining across ops) on per-chunk scratch jets (slots
 *       reused by liveness), only H and the value are written to memory.
 *   3a  AoS chunk-interpreted: variant 1's kernels (dualjac's), run per chunk of
 *       C rows on per-chunk scratch buffers: chunking without changing the layout.
 *   4   fully fused per row, scalar: one loop over rows, the whole chain inlined
 *       in registers, libm called per row (what naive code generation gives).
 *   4v  fully fused, vectorized: per 256-row block a scalar value pass (libm
 *       sin, cos, exp, log into small arrays), then one vectorized loop over the
 *       block computing the whole chain inlined (upper bound for code generation
 *       with scalar libm; an XLA-like compiler also vectorizes the transcendentals).
 *   4vg as 4v, but the seeds' 0 and 1 are opaque to the compiler (nothing folded):
 *       fused code generation that does not specialize on the seed structure.
 *   libm   just the value work of f per row: sin(a), cos(a) (GCC merges the two
 *       into sincos), exp(b), log(1 + c*c), one scalar loop.
 *   values_only  the value pass of 4v alone (256-row blocks through val_sin,
 *       val_exp, val_log: libm, or dualjac's blocks.h in the djvec builds).
 * Threads (OpenMP): unfused variants run each op as one parallel region splitting
 * rows in halves (like a per-op thread pool); 3, 3a, 4, 4v, 4vg, values_only and
 * libm_only run one parallel region, each thread its half of the rows.
 *
 * Values: libm by default; built with -DDJ_VALUES the value passes use dualjac's
 * vectorized blocks.h (what dualjac really runs) instead; 4 always uses libm.
 *
 * Usage: ./fused [--rows 1000,10000,100000] [--threads 1,2] [--chunks 64,256,1024]
 *                [--time 0.1] [--ops] [--malloc]
 *   --time: seconds of timed calls per measurement (at least 51 calls, at most 2001)
 *   --ops: also per-op medians of variants 1 and 2 (1 thread)
 *   --malloc: also variant 1m
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define NV 3
#define K 10
#define H0 4
#define BLK 256

#define NOINLINE __attribute__((noinline, noclone))
#define NOVEC __attribute__((noinline, noclone, optimize("no-tree-vectorize")))
#define INLINE static inline __attribute__((always_inline))

/* component index of H_pq in the symmetric layout */
static const int HI[3][3] = {{4, 5, 6}, {5, 7, 8}, {6, 8, 9}};

/* ------------------------------------------------------------ value passes */
#ifdef DJ_VALUES
#include "../../src_c/include/blocks.h"
NOINLINE static void val_sin(const double *x, long n, double *f, double *o) { dj_sin_block_f64(x, n, f, o); }
NOINLINE static void val_exp(const double *x, long n, double *f, double *o) { dj_exp_block_f64(x, n, f, o); }
NOINLINE static void val_log(const double *x, long n, double *f, double *o) { dj_log_block_f64(x, n, f, o); }
#define VALUES_NAME "dualjac blocks.h"
#else
/* sin and cos of one argument: GCC turns the pair into one sincos call
 * (as in libm_only and variant 4); dualjac's blocks.h also shares the reduction. */
NOINLINE static void val_sin(const double *restrict x, long n, double *restrict f,
                             double *restrict o) {
    for (long j = 0; j < n; j++) { const double v = x[j]; f[j] = sin(v); o[j] = cos(v); }
}
NOINLINE static void val_exp(const double *x, long n, double *f, double *o) {
    (void)o;
    for (long j = 0; j < n; j++) f[j] = exp(x[j]);
}
NOINLINE static void val_log(const double *x, long n, double *f, double *o) {
    (void)o;
    for (long j = 0; j < n; j++) f[j] = log(x[j]);
}
#define VALUES_NAME "libm"
#endif

/* ======================================================= 1: AoS kernels
 * Same bodies as dualjac's u3_* / b3_* (n1 = 3, K = 10), scalar loops.
 * Signature: a (stride sa), b (stride sb), output o (stride K), count, constant. */
typedef void (*aos_fn)(const double *, long, const double *, long, double *, long, double);

#define AOS_UNARY(NAME, VALFN, DF, D2F)                                                  \
NOVEC static void aos_##NAME(const double *restrict a, long sa, const double *restrict b_, \
                             long sb_, double *restrict o, long count, double cst) {   \
    (void)b_; (void)sb_; (void)cst;                                                    \
    double xs[BLK], fs[BLK], others[BLK];                                              \
    for (long i = 0; i < count;) {                                                     \
        const long nb = count - i < BLK ? count - i : BLK;                             \
        for (long j = 0; j < nb; j++) xs[j] = a[j * sa];                               \
        VALFN(xs, nb, fs, others);                                                     \
        for (long j = 0; j < nb; j++) {                                                \
            const double x = xs[j], f = fs[j], other = others[j];                      \
            (void)x; (void)other;                                                      \
            const double df = (DF);                                                    \
            o[0] = f;                                                                  \
            for (int s = 1; s < K; s++) o[s] = (df) * a[s];                            \
            const double d2f = (D2F);                                                  \
            for (int p = 0; p < NV; p++) {                                             \
                const double c = d2f * a[1 + p];                                       \
                double *row_p = o + H0 + p * NV - ((p * (p + 1)) >> 1);                \
                for (int q = p; q < NV; q++) row_p[q] += c * a[1 + q];                 \
            }                                                                          \
            a += sa; o += K;                                                           \
        }                                                                              \
        i += nb;                                                                       \
    }                                                                                  \
}
AOS_UNARY(sin, val_sin, other, -f)
AOS_UNARY(exp, val_exp, f, f)
AOS_UNARY(log, val_log, (1 / x), ((-1) / (x * x)))

NOVEC static void aos_mul(const double *restrict a, long sa, const double *restrict b, long sb,
                          double *restrict o, long count, double cst) {
    (void)cst;
    for (long i = 0; i < count; i++) {
        const double x = a[0], y = b[0];
        const double dfx = y, dfy = x, dxy = 1;
        o[0] = x * y;
        for (int s = 1; s < K; s++) o[s] = (dfx) * a[s] + (dfy) * b[s];
        for (int p = 0; p < NV; p++) {
            const double ap = a[1 + p], bp = b[1 + p];
            double *row_p = o + H0 + p * NV - ((p * (p + 1)) >> 1);
            for (int q = p; q < NV; q++) row_p[q] += (dxy) * (ap * b[1 + q] + bp * a[1 + q]);
        }
        a += sa; b += sb; o += K;
    }
}

NOVEC static void aos_add(const double *restrict a, long sa, const double *restrict b, long sb,
                          double *restrict o, long count, double cst) {
    (void)cst;
    for (long i = 0; i < count; i++) {
        o[0] = a[0] + b[0];
        for (int s = 1; s < K; s++) o[s] = (1) * a[s] + (1) * b[s];
        a += sa; b += sb; o += K;
    }
}

/* constant + jet (dualjac's b3_add_cj with a broadcast scalar) */
NOVEC static void aos_addc(const double *restrict b, long sb, const double *restrict u_,
                           long su_, double *restrict o, long count, double cst) {
    (void)u_; (void)su_;
    for (long i = 0; i < count; i++) {
        o[0] = cst + b[0];
        for (int s = 1; s < K; s++) o[s] = (1) * b[s];
        b += sb; o += K;
    }
}

NOVEC static void aos_seed(const double *restrict x, double *restrict src, long count) {
    for (long i = 0; i < count; i++)
        for (int j = 0; j < NV; j++) {
            double *e = src + (i * NV + j) * K;
            for (int s = 0; s < K; s++) e[s] = 0;
            e[0] = x[i * NV + j];
            e[1 + j] = 1;
        }
}

NOVEC static void aos_unpack(const double *restrict o, double *restrict H, double *restrict val,
                             long count) {
    for (long i = 0; i < count; i++) {
        val[i] = o[i * K];
        for (int p = 0; p < NV; p++)
            for (int q = 0; q < NV; q++) H[i * 9 + p * 3 + q] = o[i * K + HI[p][q]];
    }
}

/* =========================================================== the program */
enum { OP_SIN, OP_EXP, OP_LOG, OP_MUL, OP_ADD, OP_ADDC };
typedef struct { int op, x, y, o; double c; } instr;   /* value numbers; y unused for unary */
#define NVAL 13                                          /* 0,1,2 = a,b,c */
#define NOP 10
static instr PROG[NOP];
static int LAST_USE[NVAL];

NOINLINE static void build_program(void) {
    const instr p[NOP] = {
        {OP_SIN, 0, -1, 3, 0},  {OP_EXP, 1, -1, 4, 0}, {OP_MUL, 3, 4, 5, 0},
        {OP_MUL, 0, 1, 6, 0},   {OP_MUL, 6, 2, 7, 0},  {OP_MUL, 2, 2, 8, 0},
        {OP_ADDC, 8, -1, 9, 1.0}, {OP_LOG, 9, -1, 10, 0}, {OP_ADD, 5, 7, 11, 0},
        {OP_ADD, 11, 10, 12, 0},
    };
    memcpy(PROG, p, sizeof p);
    for (int v = 0; v < NVAL; v++) LAST_USE[v] = NOP;   /* the output lives to the end */
    for (int v = 0; v < NVAL - 1; v++) LAST_USE[v] = -1;
    for (int k = 0; k < NOP; k++) {
        LAST_USE[PROG[k].x] = k;
        if (PROG[k].y >= 0) LAST_USE[PROG[k].y] = k;
    }
}

/* Liveness slot allocation: slot[v] for every value; sources first. An output
 * never shares a slot with an operand of the same op (kernels use restrict). */
static int assign_slots(int *slot, int first_value) {
    int free_list[NVAL], nfree = 0, nslots = 0;
    for (int v = 0; v < NVAL; v++) slot[v] = -1;
    for (int v = first_value; v < 3; v++) slot[v] = nslots++;
    for (int k = 0; k < NOP; k++) {
        const int o = PROG[k].o;
        slot[o] = nfree ? free_list[--nfree] : nslots++;
        int ins[2] = {PROG[k].x, PROG[k].y};
        for (int t = 0; t < 2; t++) {
            const int v = ins[t];
            if (v < first_value || (t == 1 && v == ins[0])) continue;
            if (v >= 0 && LAST_USE[v] == k) free_list[nfree++] = slot[v];
        }
    }
    return nslots;
}

static void *xalloc(size_t bytes) {
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) { perror("aligned_alloc"); exit(1); }
    memset(p, 0, bytes);
    return p;
}

/* Component arrays of `njets` SoA jets of n rows in one arena.  Consecutive
 * arrays are padded by one cache line: without it, arrays whose size is a
 * multiple of 4 KiB (a chunk of 512 or 1024 rows) all start at the same L1 set
 * and a 30-stream op thrashes the 12-way L1 (measured: chunk 1024 ran 1.6x slower). */
typedef struct { double *c[10]; } jet;
static void alloc_jets(jet *jets, int njets, long n) {
    const long stride = ((n * 8 + 63) / 64 * 64 + 64) / 8;   /* doubles */
    double *arena = xalloc(sizeof(double) * stride * njets * 10);
    for (int s = 0; s < njets; s++)
        for (int k = 0; k < 10; k++) jets[s].c[k] = arena + (s * 10 + k) * stride;
}

/* ---------------------------------------------------- variant 1 / 1m driver */
static aos_fn AOS_OPS[6];

typedef struct {
    long rows;
    double *src;         /* (rows, 3, K) */
    double *buf[NVAL];   /* (rows, K) per slot (prealloc) */
    int slot[NVAL];
} aos_ctx;

static void aos_init(aos_ctx *c, long rows) {
    c->rows = rows;
    c->src = xalloc(sizeof(double) * rows * NV * K);
    const int n = assign_slots(c->slot, 3);   /* a, b, c are views into src */
    for (int s = 0; s < n; s++) c->buf[s] = xalloc(sizeof(double) * rows * K);
}

/* one op over rows [i0, i0 + n): operand pointers for value v */
static inline void aos_operand(const double *const *vals, const long *strides, int v, long i0,
                               const double **p, long *s) {
    *p = vals[v] + i0 * strides[v];
    *s = strides[v];
}

static void aos_run_op(const instr *in, const double *const *vals, const long *strides,
                       double *out, long i0, long n) {
    const double *a, *b = NULL;
    long sa, sb = 0;
    aos_operand(vals, strides, in->x, i0, &a, &sa);
    if (in->y >= 0) aos_operand(vals, strides, in->y, i0, &b, &sb);
    AOS_OPS[in->op](a, sa, b, sb, out + i0 * K, n, in->c);
}

static void split(long rows, int t, int nt, long *i0, long *n) {
    const long per = (rows + nt - 1) / nt;
    *i0 = per * t < rows ? per * t : rows;
    *n = (*i0 + per < rows ? *i0 + per : rows) - *i0;
}

/* mallocs: 0 = preallocated slots, 1 = malloc per op, free at last use.
 * op_ns: if not NULL, per-op wall times (ns) of this call (single thread). */
static void run_aos(aos_ctx *c, const double *x, double *H, double *val, int nt, int mallocs,
                    double *op_ns) {
    const long rows = c->rows;
    const double *vals[NVAL];
    long strides[NVAL];
    double *owned[NVAL] = {0};
    struct timespec t0, t1;
    for (int v = 0; v < 3; v++) { vals[v] = c->src + v * K; strides[v] = NV * K; }
    for (int v = 3; v < NVAL; v++) strides[v] = K;
    if (nt == 1) aos_seed(x, c->src, rows);
    else {
#pragma omp parallel num_threads(nt)
        { long i0, n; split(rows, omp_get_thread_num(), nt, &i0, &n);
          aos_seed(x + i0 * NV, c->src + i0 * NV * K, n); }
    }
    for (int k = 0; k < NOP; k++) {
        const instr *in = &PROG[k];
        double *out = mallocs ? (owned[in->o] = malloc(sizeof(double) * rows * K)) : c->buf[c->slot[in->o]];
        vals[in->o] = out;
        if (op_ns) clock_gettime(CLOCK_MONOTONIC, &t0);
        if (nt == 1) aos_run_op(in, vals, strides, out, 0, rows);
        else {
#pragma omp parallel num_threads(nt)
            { long i0, n; split(rows, omp_get_thread_num(), nt, &i0, &n);
              aos_run_op(in, vals, strides, out, i0, n); }
        }
        if (op_ns) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            op_ns[k] = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
        }
        if (mallocs) {
            if (in->x >= 3 && LAST_USE[in->x] == k) { free(owned[in->x]); owned[in->x] = NULL; }
            if (in->y >= 3 && in->y != in->x && LAST_USE[in->y] == k) { free(owned[in->y]); owned[in->y] = NULL; }
        }
    }
    const double *o = vals[NVAL - 1];
    if (nt == 1) aos_unpack(o, H, val, rows);
    else {
#pragma omp parallel num_threads(nt)
        { long i0, n; split(rows, omp_get_thread_num(), nt, &i0, &n);
          aos_unpack(o + i0 * K, H + i0 * 9, val + i0, n); }
    }
    if (mallocs) free(owned[NVAL - 1]);
}

/* ======================================================= SoA kernels (2, 3)
 * A jet is 10 component pointers.  An op processes rows [off, off + n). */
typedef void (*soa_fn)(const jet *, const jet *, const jet *, long, long, double);

#define PTRS_IN(P, J, i0)                                                                   \
    const double *restrict P##0 = (J)->c[0] + (i0), *restrict P##1 = (J)->c[1] + (i0),      \
                 *restrict P##2 = (J)->c[2] + (i0), *restrict P##3 = (J)->c[3] + (i0),      \
                 *restrict P##4 = (J)->c[4] + (i0), *restrict P##5 = (J)->c[5] + (i0),      \
                 *restrict P##6 = (J)->c[6] + (i0), *restrict P##7 = (J)->c[7] + (i0),      \
                 *restrict P##8 = (J)->c[8] + (i0), *restrict P##9 = (J)->c[9] + (i0)
#define PTRS_OUT(P, J, i0)                                                                  \
    double *restrict P##0 = (J)->c[0] + (i0), *restrict P##1 = (J)->c[1] + (i0),            \
           *restrict P##2 = (J)->c[2] + (i0), *restrict P##3 = (J)->c[3] + (i0),            \
           *restrict P##4 = (J)->c[4] + (i0), *restrict P##5 = (J)->c[5] + (i0),            \
           *restrict P##6 = (J)->c[6] + (i0), *restrict P##7 = (J)->c[7] + (i0),            \
           *restrict P##8 = (J)->c[8] + (i0), *restrict P##9 = (J)->c[9] + (i0)

/* Unary chain rule, same arithmetic as the AoS body:
 * o_s = df a_s, then H_pq += (d2f a_p) a_q. */
#define SOA_UNARY(NAME, VALFN, DF, D2F)                                                     \
NOINLINE static void soa_##NAME(const jet *X, const jet *Y_, const jet *O, long off, long n, \
                                double cst) {                                              \
    (void)Y_; (void)cst;                                                                   \
    double fs[BLK], others[BLK];                                                           \
    for (long i0 = off; i0 < off + n; i0 += BLK) {                                         \
        const long nb = off + n - i0 < BLK ? off + n - i0 : BLK;                           \
        PTRS_IN(a, X, i0);                                                                 \
        PTRS_OUT(o, O, i0);                                                                \
        VALFN(a0, nb, fs, others);                                                         \
        _Pragma("GCC ivdep")                                                               \
        for (long j = 0; j < nb; j++) {                                                    \
            const double x = a0[j], f = fs[j], other = others[j];                          \
            (void)x; (void)other;                                                          \
            const double df = (DF), d2f = (D2F);                                           \
            const double c1 = d2f * a1[j], c2 = d2f * a2[j], c3 = d2f * a3[j];             \
            o0[j] = f;                                                                     \
            o1[j] = df * a1[j]; o2[j] = df * a2[j]; o3[j] = df * a3[j];                    \
            o4[j] = df * a4[j] + c1 * a1[j];                                               \
            o5[j] = df * a5[j] + c1 * a2[j];                                               \
            o6[j] = df * a6[j] + c1 * a3[j];                                               \
            o7[j] = df * a7[j] + c2 * a2[j];                                               \
            o8[j] = df * a8[j] + c2 * a3[j];                                               \
            o9[j] = df * a9[j] + c3 * a3[j];                                               \
        }                                                                                  \
    }                                                                                      \
}
SOA_UNARY(sin, val_sin, other, -f)
SOA_UNARY(exp, val_exp, f, f)
SOA_UNARY(log, val_log, (1 / x), ((-1) / (x * x)))

/* A binary SoA op's component pointers: a* (X), b* (Y), o* (O), from row `off`. */
#define SOA_BINARY_PTRS (void)cst; PTRS_IN(a, X, off); PTRS_IN(b, Y, off); PTRS_OUT(o, O, off)

NOINLINE static void soa_mul(const jet *X, const jet *Y, const jet *O, long off, long n, double cst) {
    SOA_BINARY_PTRS;
#pragma GCC ivdep
    for (long j = 0; j < n; j++) {
        const double x = a0[j], y = b0[j];
        o0[j] = x * y;
        o1[j] = y * a1[j] + x * b1[j];
        o2[j] = y * a2[j] + x * b2[j];
        o3[j] = y * a3[j] + x * b3[j];
        /* (y a_H + x b_H) + (a_p b_q + b_p a_q) */
        o4[j] = (y * a4[j] + x * b4[j]) + (a1[j] * b1[j] + b1[j] * a1[j]);
        o5[j] = (y * a5[j] + x * b5[j]) + (a1[j] * b2[j] + b1[j] * a2[j]);
        o6[j] = (y * a6[j] + x * b6[j]) + (a1[j] * b3[j] + b1[j] * a3[j]);
        o7[j] = (y * a7[j] + x * b7[j]) + (a2[j] * b2[j] + b2[j] * a2[j]);
        o8[j] = (y * a8[j] + x * b8[j]) + (a2[j] * b3[j] + b2[j] * a3[j]);
        o9[j] = (y * a9[j] + x * b9[j]) + (a3[j] * b3[j] + b3[j] * a3[j]);
    }
}

NOINLINE static void soa_add(const jet *X, const jet *Y, const jet *O, long off, long n, double cst) {
    SOA_BINARY_PTRS;
#pragma GCC ivdep
    for (long j = 0; j < n; j++) {
        o0[j] = a0[j] + b0[j]; o1[j] = a1[j] + b1[j]; o2[j] = a2[j] + b2[j];
        o3[j] = a3[j] + b3[j]; o4[j] = a4[j] + b4[j]; o5[j] = a5[j] + b5[j];
        o6[j] = a6[j] + b6[j]; o7[j] = a7[j] + b7[j]; o8[j] = a8[j] + b8[j];
        o9[j] = a9[j] + b9[j];
    }
}

NOINLINE static void soa_addc(const jet *X, const jet *Y_, const jet *O, long off, long n, double cst) {
    (void)Y_;
    PTRS_IN(b, X, off);
    PTRS_OUT(o, O, off);
#pragma GCC ivdep
    for (long j = 0; j < n; j++) {
        o0[j] = cst + b0[j]; o1[j] = b1[j]; o2[j] = b2[j]; o3[j] = b3[j]; o4[j] = b4[j];
        o5[j] = b5[j]; o6[j] = b6[j]; o7[j] = b7[j]; o8[j] = b8[j]; o9[j] = b9[j];
    }
}

/* seed rows [off, off + n) of x (rows, 3) into jets a, b, c */
NOINLINE static void soa_seed(const double *restrict x, const jet *const *src, long off, long n,
                              long xoff) {
    for (int v = 0; v < NV; v++) {
        const jet *J = src[v];
        double *restrict val = J->c[0] + off;
        for (long j = 0; j < n; j++) val[j] = x[(xoff + j) * NV + v];
        for (int s = 1; s < K; s++) {
            double *restrict d = J->c[s] + off;
            const double fill = (s == 1 + v) ? 1.0 : 0.0;
            for (long j = 0; j < n; j++) d[j] = fill;
        }
    }
}

NOINLINE static void soa_unpack(const jet *O, long off, long n, double *restrict H,
                                double *restrict val) {
    PTRS_IN(o, O, off);
    (void)o1; (void)o2; (void)o3;
    for (long j = 0; j < n; j++) {
        double *h = H + j * 9;
        val[j] = o0[j];
        h[0] = o4[j]; h[1] = o5[j]; h[2] = o6[j];
        h[3] = o5[j]; h[4] = o7[j]; h[5] = o8[j];
        h[6] = o6[j]; h[7] = o8[j]; h[8] = o9[j];
    }
}

static soa_fn SOA_OPS[6];

/* ----------------------------------------------------------- variant 2 */
typedef struct {
    long rows;
    int slot[NVAL];
    jet slots[NVAL];
} soa_ctx;

static void soa_init(soa_ctx *c, long rows) {
    c->rows = rows;
    alloc_jets(c->slots, assign_slots(c->slot, 0), rows);
}

static void soa_range(soa_ctx *c, const double *x, double *H, double *val, long i0, long n,
                      int part, double *op_ns) {
    /* part 0: seed; 1..NOP: op part-1; NOP+1: unpack */
    const jet *src[3] = {&c->slots[c->slot[0]], &c->slots[c->slot[1]], &c->slots[c->slot[2]]};
    struct timespec t0, t1;
    if (part == 0) soa_seed(x, src, i0, n, i0);
    else if (part <= NOP) {
        const instr *in = &PROG[part - 1];
        if (op_ns) clock_gettime(CLOCK_MONOTONIC, &t0);
        SOA_OPS[in->op](&c->slots[c->slot[in->x]], in->y >= 0 ? &c->slots[c->slot[in->y]] : NULL,
                        &c->slots[c->slot[in->o]], i0, n, in->c);
        if (op_ns) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            op_ns[part - 1] = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
        }
    } else
        soa_unpack(&c->slots[c->slot[NVAL - 1]], i0, n, H + i0 * 9, val + i0);
}

static void run_soa(soa_ctx *c, const double *x, double *H, double *val, int nt, double *op_ns) {
    for (int part = 0; part <= NOP + 1; part++) {
        if (nt == 1) soa_range(c, x, H, val, 0, c->rows, part, op_ns);
        else {
#pragma omp parallel num_threads(nt)
            { long i0, n; split(c->rows, omp_get_thread_num(), nt, &i0, &n);
              soa_range(c, x, H, val, i0, n, part, NULL); }
        }
    }
}

/* ----------------------------------------------------------- variant 3 */
#define MAXT 8

typedef struct {
    long rows, chunk;
    int slot[NVAL], nslots;
    jet slots[MAXT][NVAL];   /* per thread: nslots jets of `chunk` rows each */
} chunk_ctx;

static void chunk_init(chunk_ctx *c, long rows, long chunk, int maxthreads) {
    c->rows = rows;
    c->chunk = chunk;
    c->nslots = assign_slots(c->slot, 0);
    for (int t = 0; t < maxthreads; t++)   /* one scratch arena per thread */
        alloc_jets(c->slots[t], c->nslots, chunk);
}

/* The interpreter: per chunk, seed, run PROG through function pointers, unpack. */
NOINLINE static void chunk_range(chunk_ctx *c, int t, const double *x, double *H, double *val,
                                 long i0, long n) {
    jet *J = c->slots[t];
    const int *slot = c->slot;
    const jet *src[3] = {&J[slot[0]], &J[slot[1]], &J[slot[2]]};
    for (long r = i0; r < i0 + n; r += c->chunk) {
        const long nb = i0 + n - r < c->chunk ? i0 + n - r : c->chunk;
        soa_seed(x, src, 0, nb, r);
        for (int k = 0; k < NOP; k++) {
            const instr *in = &PROG[k];
            SOA_OPS[in->op](&J[slot[in->x]], in->y >= 0 ? &J[slot[in->y]] : NULL, &J[slot[in->o]],
                            0, nb, in->c);
        }
        soa_unpack(&J[slot[NVAL - 1]], 0, nb, H + r * 9, val + r);
    }
}

/* RANGE(c, t, x, H, val, i0, n) over c->rows rows, cut in nt halves (one per
 * OpenMP thread t); `nt` must be the caller's variable of that name. */
#define RUN_ROWS_SPLIT(RANGE, c, x, H, val)                                             \
    do {                                                                                \
        if (nt == 1) RANGE(c, 0, x, H, val, 0, (c)->rows);                              \
        else {                                                                          \
            _Pragma("omp parallel num_threads(nt)")                                     \
            { const int t = omp_get_thread_num(); long i0, n; split((c)->rows, t, nt, &i0, &n); \
              RANGE(c, t, x, H, val, i0, n); }                                          \
        }                                                                               \
    } while (0)

static void run_chunk(chunk_ctx *c, const double *x, double *H, double *val, int nt) {
    RUN_ROWS_SPLIT(chunk_range, c, x, H, val);
}

/* ------------------------------------------------ variant 3a: AoS, chunked
 * dualjac's own AoS kernels (variant 1), interpreted per chunk of rows on
 * per-thread scratch buffers: chunking without the layout change. */
typedef struct {
    long rows, chunk;
    int slot[NVAL];
    double *src[MAXT];          /* (chunk, 3, K) */
    double *buf[MAXT][NVAL];    /* (chunk, K) per slot */
} aos_chunk_ctx;

static void aos_chunk_init(aos_chunk_ctx *c, long rows, long chunk, int maxthreads) {
    c->rows = rows;
    c->chunk = chunk;
    const int n = assign_slots(c->slot, 3);
    for (int t = 0; t < maxthreads; t++) {
        c->src[t] = xalloc(sizeof(double) * chunk * NV * K + 64);
        for (int s = 0; s < n; s++) c->buf[t][s] = xalloc(sizeof(double) * chunk * K + 64);
    }
}

NOINLINE static void aos_chunk_range(aos_chunk_ctx *c, int t, const double *x, double *H,
                                     double *val, long i0, long n) {
    const double *vals[NVAL];
    long strides[NVAL];
    for (int v = 0; v < 3; v++) { vals[v] = c->src[t] + v * K; strides[v] = NV * K; }
    for (int v = 3; v < NVAL; v++) { vals[v] = c->buf[t][c->slot[v]]; strides[v] = K; }
    for (long r = i0; r < i0 + n; r += c->chunk) {
        const long nb = i0 + n - r < c->chunk ? i0 + n - r : c->chunk;
        aos_seed(x + r * NV, c->src[t], nb);
        for (int k = 0; k < NOP; k++)
            aos_run_op(&PROG[k], vals, strides, (double *)vals[PROG[k].o], 0, nb);
        aos_unpack(vals[NVAL - 1], H + r * 9, val + r, nb);
    }
}

static void run_aos_chunk(aos_chunk_ctx *c, const double *x, double *H, double *val, int nt) {
    RUN_ROWS_SPLIT(aos_chunk_range, c, x, H, val);
}

/* ======================================================= variant 4 / 4v
 * The same rules on a jet held in locals (always inlined; GCC scalarizes the
 * struct).  Arithmetic identical to the kernels above. */
typedef struct { double c[K]; } J;

/* zero and one are the seed's constants: literals (GCC folds x*1 and drops
 * nothing else, as IEEE requires) or opaque values (variant 4vg). */
INLINE J j_seed(double v, int k, double zero, double one) {
    J r;
    _Pragma("GCC unroll 16") for (int s = 0; s < K; s++) r.c[s] = zero;
    r.c[0] = v;
    r.c[1 + k] = one;
    return r;
}
INLINE J j_unary(J a, double f, double df, double d2f) {
    J o;
    o.c[0] = f;
    _Pragma("GCC unroll 16") for (int s = 1; s < K; s++) o.c[s] = df * a.c[s];
    _Pragma("GCC unroll 16") for (int p = 0; p < NV; p++) {
        const double c = d2f * a.c[1 + p];
        _Pragma("GCC unroll 16") for (int q = p; q < NV; q++) o.c[HI[p][q]] += c * a.c[1 + q];
    }
    return o;
}
INLINE J j_mul(J a, J b) {
    J o;
    const double x = a.c[0], y = b.c[0];
    o.c[0] = x * y;
    _Pragma("GCC unroll 16") for (int s = 1; s < K; s++) o.c[s] = y * a.c[s] + x * b.c[s];
    _Pragma("GCC unroll 16") for (int p = 0; p < NV; p++)
        _Pragma("GCC unroll 16") for (int q = p; q < NV; q++)
            o.c[HI[p][q]] += a.c[1 + p] * b.c[1 + q] + b.c[1 + p] * a.c[1 + q];
    return o;
}
INLINE J j_add(J a, J b) {
    J o;
    _Pragma("GCC unroll 16") for (int s = 0; s < K; s++) o.c[s] = a.c[s] + b.c[s];
    return o;
}
INLINE J j_addc(double cst, J b) {
    J o = b;
    o.c[0] = cst + b.c[0];
    return o;
}
/* the program, given the value-pass results for this row: returns `out` */
INLINE J j_program(double xa, double xb, double xc, double sa, double ca, double eb, double lq,
                   double zero, double one) {
    const J a = j_seed(xa, 0, zero, one), b = j_seed(xb, 1, zero, one), c = j_seed(xc, 2, zero, one);
    const J s1 = j_unary(a, sa, ca, -sa);
    const J e = j_unary(b, eb, eb, eb);
    const J p = j_mul(s1, e);
    const J ab = j_mul(a, b);
    const J abc = j_mul(ab, c);
    const J c2 = j_mul(c, c);
    const J q = j_addc(1.0, c2);
    const double qx = q.c[0];
    const J l = j_unary(q, lq, (1 / qx), ((-1) / (qx * qx)));
    const J t = j_add(p, abc);
    return j_add(t, l);
}

NOINLINE static void fused_scalar_range(const double *restrict x, double *restrict H,
                                        double *restrict val, long i0, long n) {
    for (long i = i0; i < i0 + n; i++) {
        const double xa = x[i * 3], xb = x[i * 3 + 1], xc = x[i * 3 + 2];
        const double sa = sin(xa), ca = cos(xa), eb = exp(xb), lq = log(1.0 + xc * xc);
        const J out = j_program(xa, xb, xc, sa, ca, eb, lq, 0.0, 1.0);
        double *h = H + i * 9;
        val[i] = out.c[0];
        h[0] = out.c[4]; h[1] = out.c[5]; h[2] = out.c[6];
        h[3] = out.c[5]; h[4] = out.c[7]; h[5] = out.c[8];
        h[6] = out.c[6]; h[7] = out.c[8]; h[8] = out.c[9];
    }
}

/* Per 256-row block: value pass (libm, or blocks.h with -DDJ_VALUES) into small
 * arrays, one vectorized loop for the whole chain writing the 6 distinct H
 * entries to small arrays (GCC does not vectorize a group of 9 strided stores),
 * then a copy into H (rows, 3, 3). */
INLINE void fused_vec_body(const double *restrict x, double *restrict H, double *restrict val,
                           long i0, long n, double zero, double one) {
    double xa[BLK], xb[BLK], xc[BLK], qs[BLK], sa[BLK], ca[BLK], eb[BLK], lq[BLK];
    double h[6][BLK];
    for (long r = i0; r < i0 + n; r += BLK) {
        const long nb = i0 + n - r < BLK ? i0 + n - r : BLK;
        const double *restrict xr = x + r * 3;
        for (long j = 0; j < nb; j++) {
            xa[j] = xr[j * 3]; xb[j] = xr[j * 3 + 1]; xc[j] = xr[j * 3 + 2];
            qs[j] = 1.0 + xc[j] * xc[j];
        }
        val_sin(xa, nb, sa, ca);
        val_exp(xb, nb, eb, NULL);
        val_log(qs, nb, lq, NULL);
        double *restrict vr = val + r;
#pragma GCC ivdep
        for (long j = 0; j < nb; j++) {
            const J out = j_program(xa[j], xb[j], xc[j], sa[j], ca[j], eb[j], lq[j], zero, one);
            vr[j] = out.c[0];
            h[0][j] = out.c[4]; h[1][j] = out.c[5]; h[2][j] = out.c[6];
            h[3][j] = out.c[7]; h[4][j] = out.c[8]; h[5][j] = out.c[9];
        }
        double *restrict hr = H + r * 9;
        for (long j = 0; j < nb; j++) {
            double *o = hr + j * 9;
            o[0] = h[0][j]; o[1] = h[1][j]; o[2] = h[2][j];
            o[3] = h[1][j]; o[4] = h[3][j]; o[5] = h[4][j];
            o[6] = h[2][j]; o[7] = h[4][j]; o[8] = h[5][j];
        }
    }
}

NOINLINE static void fused_vec_range(const double *restrict x, double *restrict H,
                                     double *restrict val, long i0, long n) {
    fused_vec_body(x, H, val, i0, n, 0.0, 1.0);
}

/* 4vg: the same, but the seed constants are opaque to the compiler (loaded from
 * volatiles once per call), so no multiplication by a seed's 0 or 1 is folded:
 * code generation that does not specialize on the seeds. */
static volatile double g_zero = 0.0, g_one = 1.0;
NOINLINE static void fused_vecg_range(const double *restrict x, double *restrict H,
                                      double *restrict val, long i0, long n) {
    fused_vec_body(x, H, val, i0, n, g_zero, g_one);
}

/* libm only: the value work of one evaluation (sin, cos, exp, log per row) */
NOINLINE static void libm_range(const double *restrict x, double *restrict val, long i0, long n) {
    for (long i = i0; i < i0 + n; i++) {
        const double xa = x[i * 3], xb = x[i * 3 + 1], xc = x[i * 3 + 2];
        val[i] = sin(xa) + cos(xa) + exp(xb) + log(1.0 + xc * xc);
    }
}

/* the value pass alone, as 4v runs it (libm, or blocks.h with -DDJ_VALUES) */
NOINLINE static void values_range(const double *restrict x, double *restrict H,
                                  double *restrict val, long i0, long n) {
    double xa[BLK], xb[BLK], qs[BLK], sa[BLK], ca[BLK], eb[BLK], lq[BLK];
    (void)H;
    for (long r = i0; r < i0 + n; r += BLK) {
        const long nb = i0 + n - r < BLK ? i0 + n - r : BLK;
        const double *restrict xr = x + r * 3;
        for (long j = 0; j < nb; j++) {
            const double c = xr[j * 3 + 2];
            xa[j] = xr[j * 3]; xb[j] = xr[j * 3 + 1];
            qs[j] = 1.0 + c * c;
        }
        val_sin(xa, nb, sa, ca);
        val_exp(xb, nb, eb, NULL);
        val_log(qs, nb, lq, NULL);
        for (long j = 0; j < nb; j++) val[r + j] = sa[j] + ca[j] + eb[j] + lq[j];
    }
}

typedef void (*range_fn)(const double *, double *, double *, long, long);
static void run_range(range_fn f, const double *x, double *H, double *val, long rows, int nt) {
    if (nt == 1) f(x, H, val, 0, rows);
    else {
#pragma omp parallel num_threads(nt)
        { long i0, n; split(rows, omp_get_thread_num(), nt, &i0, &n); f(x, H, val, i0, n); }
    }
}
static void libm_adapter(const double *x, double *H, double *val, long i0, long n) {
    (void)H;
    libm_range(x, val, i0, n);
}

/* ============================================================ harness */
static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}
static int cmp_d(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

enum { V_AOS, V_AOSM, V_SOA, V_CHUNK, V_AOSCHUNK, V_FUSED, V_FUSEDV, V_FUSEDVG, V_VALUES, V_LIBM };
typedef struct {
    int kind;
    long chunk;
    aos_ctx *aos;
    soa_ctx *soa;
    chunk_ctx *ch;
    aos_chunk_ctx *ach;
} variant;

static void call_variant(const variant *v, const double *x, double *H, double *val, long rows,
                         int nt) {
    switch (v->kind) {
    case V_AOS: run_aos(v->aos, x, H, val, nt, 0, NULL); break;
    case V_AOSM: run_aos(v->aos, x, H, val, nt, 1, NULL); break;
    case V_SOA: run_soa(v->soa, x, H, val, nt, NULL); break;
    case V_CHUNK: run_chunk(v->ch, x, H, val, nt); break;
    case V_AOSCHUNK: run_aos_chunk(v->ach, x, H, val, nt); break;
    case V_FUSED: run_range(fused_scalar_range, x, H, val, rows, nt); break;
    case V_FUSEDV: run_range(fused_vec_range, x, H, val, rows, nt); break;
    case V_FUSEDVG: run_range(fused_vecg_range, x, H, val, rows, nt); break;
    case V_VALUES: run_range(values_range, x, H, val, rows, nt); break;
    case V_LIBM: run_range(libm_adapter, x, H, val, rows, nt); break;
    }
}

static double g_target_s = 0.1;

/* median, min (us) of >= 51 calls after warm-up */
static void time_variant(const variant *v, const double *x, double *H, double *val, long rows,
                         int nt, double *med_us, double *min_us, int *reps_out) {
    double t = now_ns();
    int warm = 0;
    do { call_variant(v, x, H, val, rows, nt); warm++; } while (warm < 5 || now_ns() - t < 2e7);
    const double per = (now_ns() - t) / warm;
    int reps = (int)(g_target_s * 1e9 / per);
    if (reps < 51) reps = 51;
    if (reps > 2001) reps = 2001;
    double *ts = malloc(sizeof(double) * reps);
    for (int r = 0; r < reps; r++) {
        const double t0 = now_ns();
        call_variant(v, x, H, val, rows, nt);
        ts[r] = now_ns() - t0;
    }
    *min_us = 1e300;
    for (int r = 0; r < reps; r++) if (ts[r] < *min_us) *min_us = ts[r];
    *min_us *= 1e-3;
    *med_us = median(ts, reps) * 1e-3;
    *reps_out = reps;
    free(ts);
}

static double max_abs_diff(const double *a, const double *b, long n) {
    double m = 0;
    for (long i = 0; i < n; i++) {
        const double d = fabs(a[i] - b[i]);
        if (!(d <= m)) m = d;   /* NaN-propagating */
    }
    return m;
}

/* analytic Hessian and value; returns max |err| / max(|ref|, 1) */
static double check_analytic(const double *x, const double *H, const double *val, long rows,
                             double *max_rel_strict) {
    double worst = 0, strict = 0;
    for (long i = 0; i < rows; i++) {
        const double a = x[i * 3], b = x[i * 3 + 1], c = x[i * 3 + 2];
        const double se = sin(a) * exp(b), ce = cos(a) * exp(b);
        const double ref[10] = {-se, ce + c, b, ce + c, se, a, b, a,
                                (2.0 - 2.0 * c * c) / ((1.0 + c * c) * (1.0 + c * c)),
                                se + a * b * c + log(1.0 + c * c)};
        double got[10];
        memcpy(got, H + i * 9, 9 * sizeof(double));
        got[9] = val[i];
        for (int k = 0; k < 10; k++) {
            const double err = fabs(got[k] - ref[k]);
            const double r1 = err / (fabs(ref[k]) > 1 ? fabs(ref[k]) : 1);
            if (!(r1 <= worst)) worst = r1;
            if (fabs(ref[k]) > 1e-3) {
                const double r2 = err / fabs(ref[k]);
                if (!(r2 <= strict)) strict = r2;
            }
        }
    }
    *max_rel_strict = strict;
    return worst;
}

static int parse_list(const char *s, long *out, int max) {
    int n = 0;
    while (*s && n < max) {
        out[n++] = strtol(s, (char **)&s, 10);
        if (*s == ',') s++;
    }
    return n;
}

static const char *OPNAME[NOP] = {"s1=sin(a)", "e=exp(b)", "p=s1*e", "ab=a*b", "abc=ab*c",
                                  "c2=c*c", "q=1+c2", "l=log(q)", "t=p+abc", "out=t+l"};

int main(int argc, char **argv) {
    long rowsv[8] = {1000, 10000, 100000}, threadsv[4] = {1, 2}, chunkv[8] = {64, 256, 1024};
    int nrows = 3, nthreads = 2, nchunks = 3, ops = 0, with_malloc = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc) nrows = parse_list(argv[++i], rowsv, 8);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) nthreads = parse_list(argv[++i], threadsv, 4);
        else if (!strcmp(argv[i], "--chunks") && i + 1 < argc) nchunks = parse_list(argv[++i], chunkv, 8);
        else if (!strcmp(argv[i], "--time") && i + 1 < argc) g_target_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--ops")) ops = 1;
        else if (!strcmp(argv[i], "--malloc")) with_malloc = 1;
        else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }
#ifdef DJ_VALUES
    dj_blocks_init(2);
#endif
    build_program();
    AOS_OPS[OP_SIN] = aos_sin; AOS_OPS[OP_EXP] = aos_exp; AOS_OPS[OP_LOG] = aos_log;
    AOS_OPS[OP_MUL] = aos_mul; AOS_OPS[OP_ADD] = aos_add; AOS_OPS[OP_ADDC] = aos_addc;
    SOA_OPS[OP_SIN] = soa_sin; SOA_OPS[OP_EXP] = soa_exp; SOA_OPS[OP_LOG] = soa_log;
    SOA_OPS[OP_MUL] = soa_mul; SOA_OPS[OP_ADD] = soa_add; SOA_OPS[OP_ADDC] = soa_addc;
    int maxt = 1;
    for (int i = 0; i < nthreads; i++) if (threadsv[i] > maxt) maxt = threadsv[i];
    if (maxt > MAXT) { fprintf(stderr, "at most %d threads\n", MAXT); return 2; }

#ifndef BUILD_NAME
#define BUILD_NAME "?"
#endif
    printf("# build=%s values=%s", BUILD_NAME, VALUES_NAME);
#ifdef __AVX512F__
    printf(" __AVX512F__");
#elif defined(__AVX2__)
    printf(" __AVX2__");
#endif
    {
        int slot[NVAL];
        const int soa_slots = assign_slots(slot, 0), aos_slots = assign_slots(slot, 3);
        printf("\n# slots (live jets at once): SoA %d incl. a, b, c; AoS %d + the (rows, 3, K) source",
               soa_slots, aos_slots);
    }
    printf("\n# build variant rows threads median_us ns_per_row min_us reps maxdiff_vs_1\n");
    fflush(stdout);

    for (int ri = 0; ri < nrows; ri++) {
        const long rows = rowsv[ri];
        double *x = xalloc(sizeof(double) * rows * 3);
        srand48(104);
        for (long i = 0; i < rows * 3; i++) x[i] = drand48() * 2.0 - 1.0;
        double *Href = xalloc(sizeof(double) * rows * 9), *vref = xalloc(sizeof(double) * rows);
        double *H = xalloc(sizeof(double) * rows * 9), *val = xalloc(sizeof(double) * rows);

        aos_ctx aos; soa_ctx soa; chunk_ctx *ch = malloc(sizeof(chunk_ctx) * nchunks);
        aos_chunk_ctx *ach = malloc(sizeof(aos_chunk_ctx) * nchunks);
        aos_init(&aos, rows);
        soa_init(&soa, rows);
        for (int c = 0; c < nchunks; c++) chunk_init(&ch[c], rows, chunkv[c], maxt);
        for (int c = 0; c < nchunks; c++) aos_chunk_init(&ach[c], rows, chunkv[c], maxt);

        run_aos(&aos, x, Href, vref, 1, 0, NULL);
        double strict;
        const double rel = check_analytic(x, Href, vref, rows, &strict);
        printf("# rows=%ld variant 1 vs analytic: max |err|/max(|ref|,1) = %.3g, "
               "max |err|/|ref| (|ref| > 1e-3) = %.3g %s\n",
               rows, rel, strict, rel <= 1e-12 ? "OK" : "FAIL");

        variant vs[32];
        char names[32][32];
        int nv = 0;
        vs[nv] = (variant){V_AOS, 0, &aos, 0, 0, 0}; strcpy(names[nv++], "1_aos");
        if (with_malloc) { vs[nv] = (variant){V_AOSM, 0, &aos, 0, 0, 0}; strcpy(names[nv++], "1m_aos_malloc"); }
        vs[nv] = (variant){V_SOA, 0, 0, &soa, 0, 0}; strcpy(names[nv++], "2_soa");
        for (int c = 0; c < nchunks; c++) {
            vs[nv] = (variant){V_CHUNK, chunkv[c], 0, 0, &ch[c], 0};
            sprintf(names[nv++], "3_chunk%ld", chunkv[c]);
        }
        for (int c = 0; c < nchunks; c++) {
            vs[nv] = (variant){V_AOSCHUNK, chunkv[c], 0, 0, 0, &ach[c]};
            sprintf(names[nv++], "3a_aos_chunk%ld", chunkv[c]);
        }
        vs[nv] = (variant){V_FUSED, 0, 0, 0, 0, 0}; strcpy(names[nv++], "4_fused_scalar");
        vs[nv] = (variant){V_FUSEDV, 0, 0, 0, 0, 0}; strcpy(names[nv++], "4v_fused_vec");
        vs[nv] = (variant){V_FUSEDVG, 0, 0, 0, 0, 0}; strcpy(names[nv++], "4vg_fused_vec_opaque");
        vs[nv] = (variant){V_VALUES, 0, 0, 0, 0, 0}; strcpy(names[nv++], "values_only");
        vs[nv] = (variant){V_LIBM, 0, 0, 0, 0, 0}; strcpy(names[nv++], "libm_only");

        for (int ti = 0; ti < nthreads; ti++) {
            const int nt = (int)threadsv[ti];
            for (int k = 0; k < nv; k++) {
                memset(H, 0, sizeof(double) * rows * 9);
                memset(val, 0, sizeof(double) * rows);
                double med, mn;
                int reps;
                time_variant(&vs[k], x, H, val, rows, nt, &med, &mn, &reps);
                double diff = -1;
                if (vs[k].kind < V_VALUES) {
                    diff = max_abs_diff(H, Href, rows * 9);
                    const double dv = max_abs_diff(val, vref, rows);
                    if (!(dv <= diff)) diff = dv;
                }
                printf("%s %s %ld %d %.1f %.2f %.1f %d %.3g%s\n", BUILD_NAME, names[k], rows, nt,
                       med, med * 1e3 / rows, mn, reps, diff,
                       (diff <= 1e-12 || vs[k].kind >= V_VALUES) ? "" : " FAIL");
                fflush(stdout);
            }
        }

        if (ops) {   /* per-op medians, single thread, variants 1 and 2 */
            const int reps = 101;
            double *t1 = malloc(sizeof(double) * reps * NOP), *t2 = malloc(sizeof(double) * reps * NOP);
            double one[NOP];
            for (int r = 0; r < 10; r++) { run_aos(&aos, x, H, val, 1, 0, one); run_soa(&soa, x, H, val, 1, one); }
            for (int r = 0; r < reps; r++) {
                run_aos(&aos, x, H, val, 1, 0, one);
                for (int k = 0; k < NOP; k++) t1[k * reps + r] = one[k];
                run_soa(&soa, x, H, val, 1, one);
                for (int k = 0; k < NOP; k++) t2[k * reps + r] = one[k];
            }
            printf("# per-op medians, 1 thread, rows=%ld: op  aos_us  soa_us\n", rows);
            for (int k = 0; k < NOP; k++)
                printf("#op %s %ld %-10s %.1f %.1f\n", BUILD_NAME, rows, OPNAME[k],
                       median(t1 + k * reps, reps) * 1e-3, median(t2 + k * reps, reps) * 1e-3);
            free(t1); free(t2);
        }
        /* buffers are leaked per row count: a benchmark process, freed at exit */
    }
    return 0;
}
