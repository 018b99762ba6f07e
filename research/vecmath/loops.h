/* Array loops over vecmath.h (and, for comparison, glibc),
 * shared by the ctypes test library (vm_lib.c) and the benchmark (bench.c).
 * VM_FN is empty, or a target("...") attribute for the per-function-target
 * build (how dualjac will integrate the header: no global -m flags). */
#ifndef VM_LOOPS_H
#define VM_LOOPS_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* sincos */
#endif
#include "vecmath.h"
#include <math.h>

#ifdef VM_TARGET
#define VM_FN __attribute__((noinline, target(VM_TARGET)))
#else
#define VM_FN __attribute__((noinline))
#endif

VM_FN void vm_sincos(const double *restrict x, double *restrict s, double *restrict c, long n) {
    for (long i = 0; i < n; i++) s[i] = dj_vsincos(x[i], &c[i]);
}

/* y = f(x) loops (one per line, so -fopt-info line numbers name them) */
VM_FN void vm_exp(const double *restrict x, double *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = dj_vexp(x[i]); }
VM_FN void vm_log(const double *restrict x, double *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = dj_vlog(x[i]); }
VM_FN void vm_expm1(const double *restrict x, double *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = dj_vexpm1(x[i]); }
VM_FN void vm_log1p(const double *restrict x, double *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = dj_vlog1p(x[i]); }
VM_FN void vm_tanh(const double *restrict x, double *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = dj_vtanh(x[i]); }

/* the predicates, as a caller would use them: count the elements to redo */
VM_FN long vm_sincos_bad(const double *restrict x, long n) { long b = 0; for (long i = 0; i < n; i++) b += !dj_vsincos_ok(x[i]); return b; }
VM_FN long vm_exp_bad(const double *restrict x, long n) { long b = 0; for (long i = 0; i < n; i++) b += !dj_vexp_ok(x[i]); return b; }
VM_FN long vm_log_bad(const double *restrict x, long n) { long b = 0; for (long i = 0; i < n; i++) b += !dj_vlog_ok(x[i]); return b; }
VM_FN long vm_expm1_bad(const double *restrict x, long n) { long b = 0; for (long i = 0; i < n; i++) b += !dj_vexpm1_ok(x[i]); return b; }
VM_FN long vm_log1p_bad(const double *restrict x, long n) { long b = 0; for (long i = 0; i < n; i++) b += !dj_vlog1p_ok(x[i]); return b; }
VM_FN long vm_tanh_bad(const double *restrict x, long n) { long b = 0; for (long i = 0; i < n; i++) b += !dj_vtanh_ok(x[i]); return b; }

/* the recommended pattern: count the out-of-range elements in the same
   vectorized loop, run the scalar fix-up pass only if there are any */
VM_FN long vm_sincos_checked(const double *restrict x, double *restrict s, double *restrict c, long n) {
    long bad = 0;
    for (long i = 0; i < n; i++) {
        s[i] = dj_vsincos(x[i], &c[i]);
        bad += !dj_vsincos_ok(x[i]);
    }
    if (bad)
        for (long i = 0; i < n; i++)
            if (!dj_vsincos_ok(x[i])) sincos(x[i], &s[i], &c[i]);
    return bad;
}

/* the caller's fix-up pass, as a plain scalar loop with a branch */
VM_FN void vm_sincos_fixup(const double *restrict x, double *restrict s, double *restrict c, long n) {
    for (long i = 0; i < n; i++)
        if (!dj_vsincos_ok(x[i])) sincos(x[i], &s[i], &c[i]);
}

/* comparisons: glibc */
VM_FN void libm_sincos(const double *restrict x, double *restrict s, double *restrict c, long n) {
    for (long i = 0; i < n; i++) sincos(x[i], &s[i], &c[i]);
}
VM_FN void libm_exp(const double *restrict x, double *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = exp(x[i]); }
VM_FN void libm_log(const double *restrict x, double *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = log(x[i]); }
VM_FN void libm_expm1(const double *restrict x, double *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = expm1(x[i]); }
VM_FN void libm_log1p(const double *restrict x, double *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = log1p(x[i]); }
VM_FN void libm_tanh(const double *restrict x, double *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = tanh(x[i]); }
#endif
