/* ns/element of the loops in loops.h over 1e5-element arrays (contiguous
 * input, separate outputs; 1.6 MB in + out, fits in L2+L3).  Best of 15 runs
 * of 50 passes each.  Build variants: see Makefile. */
#include "loops.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 100000
#define PASSES 50
#define RUNS 15

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static uint64_t rng = 88172645463325252ULL;
static double urand(void) {   /* xorshift64, uniform in [0, 1) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (rng >> 11) * (1.0 / 9007199254740992.0);
}

static double *x, *ya, *yb;
static volatile long sink;

#define TIME(label, call) do {                                       \
    double best = 1e30;                                              \
    for (int r = 0; r < RUNS; r++) {                                 \
        double t0 = now();                                           \
        for (int p = 0; p < PASSES; p++) { call; }                   \
        double t = (now() - t0) / ((double)PASSES * N) * 1e9;         \
        if (t < best) best = t;                                      \
    }                                                                \
    printf("%-34s %7.3f ns/elem\n", label, best);                    \
} while (0)

int main(void) {
    x = aligned_alloc(64, N * sizeof *x);
    ya = aligned_alloc(64, N * sizeof *ya);
    yb = aligned_alloc(64, N * sizeof *yb);

    for (int i = 0; i < N; i++) x[i] = -10.0 + 20.0 * urand();
    TIME("sincos x in [-10,10]  glibc", libm_sincos(x, ya, yb, N));
    TIME("sincos x in [-10,10]  dj_vsincos", vm_sincos(x, ya, yb, N));
    TIME("sincos ok-predicate count", sink = vm_sincos_bad(x, N));
    TIME("sincos scalar fix-up pass (none bad)", vm_sincos_fixup(x, ya, yb, N));
    TIME("sincos + fused bad count (none bad)", sink = vm_sincos_checked(x, ya, yb, N));
    for (int i = 0; i < N; i++) x[i] = -1e5 + 2e5 * urand();
    TIME("sincos x in [-1e5,1e5] glibc", libm_sincos(x, ya, yb, N));
    TIME("sincos x in [-1e5,1e5] dj_vsincos", vm_sincos(x, ya, yb, N));

    for (int i = 0; i < N; i++) x[i] = -700.0 + 1400.0 * urand();
    TIME("exp x in [-700,700]   glibc", libm_exp(x, ya, N));
    TIME("exp x in [-700,700]   dj_vexp", vm_exp(x, ya, N));
    TIME("exp ok-predicate count", sink = vm_exp_bad(x, N));

    for (int i = 0; i < N; i++) x[i] = exp(-690.0 + 1380.0 * urand());
    TIME("log x in [1e-300,1e300] glibc", libm_log(x, ya, N));
    TIME("log x in [1e-300,1e300] dj_vlog", vm_log(x, ya, N));
    TIME("log ok-predicate count", sink = vm_log_bad(x, N));

    for (int i = 0; i < N; i++) x[i] = -5.0 + 10.0 * urand();
    TIME("expm1 x in [-5,5]     glibc", libm_expm1(x, ya, N));
    TIME("expm1 x in [-5,5]     dj_vexpm1", vm_expm1(x, ya, N));
    TIME("tanh x in [-5,5]      glibc", libm_tanh(x, ya, N));
    TIME("tanh x in [-5,5]      dj_vtanh", vm_tanh(x, ya, N));
    for (int i = 0; i < N; i++) x[i] = -0.9 + 10.0 * urand();
    TIME("log1p x in [-0.9,9.1] glibc", libm_log1p(x, ya, N));
    TIME("log1p x in [-0.9,9.1] dj_vlog1p", vm_log1p(x, ya, N));
    return 0;
}
