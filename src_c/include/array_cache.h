/*
 * array_cache.h: a few small jet buffers kept for reuse.
 *
 * Small-array code makes and drops a jet buffer per operation; NumPy's
 * PyArray_Empty and array_dealloc cost more than the kernel (the descriptor,
 * the data-memory handler looked up in a context variable, the dims/strides
 * block, the flags, two mallocs and two frees). A jet that dies as the only
 * owner of a small buffer hands it to this cache (dj_ac_stash, from
 * _Jet.__dealloc__), and the kernels' result allocations take a buffer of the
 * same dtype and shape from it (dj_ac_empty) before asking NumPy.
 *
 * Only a buffer indistinguishable from a fresh PyArray_EMPTY is kept: an exact
 * ndarray with refcount 1 (the dying jet's reference; nothing else can see it),
 * no base, no weak references, the canonical float32 / float64 descriptor, the
 * flags and C strides NumPy gives a new C-contiguous array of its shape, at
 * most DJ_AC_MAX_BYTES of data. Its contents are stale, as uninitialized memory
 * would be: every caller writes all of it. The array keeps the data-memory
 * handler it was allocated with and frees through it, as any array does.
 *
 * The cache is touched only with the GIL held (jet deallocation and the
 * kernels' allocations); a free-threaded build disables it.
 */
#ifndef DJ_ARRAY_CACHE_H
#define DJ_ARRAY_CACHE_H

#include <Python.h>
#include <string.h>
#include <numpy/arrayobject.h>

#define DJ_AC_BUCKETS 16          /* by a hash of (dtype, shape) */
#define DJ_AC_WAYS 4              /* buffers per bucket: at most 64 kept, 256 KB */
#define DJ_AC_MAX_ND 8
#define DJ_AC_MAX_BYTES 4096

static PyArrayObject_fields *dj_ac_slot[DJ_AC_BUCKETS][DJ_AC_WAYS];   /* NULL: free */
static unsigned char dj_ac_victim[DJ_AC_BUCKETS];
static int dj_ac_enabled = 1;
static PyArray_Descr *dj_ac_f32 = NULL, *dj_ac_f64 = NULL;

#define DJ_AC_FLAGS (NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_OWNDATA | NPY_ARRAY_ALIGNED | \
                     NPY_ARRAY_WRITEABLE)

static int dj_ac_init(void) {
    dj_ac_f32 = PyArray_DescrFromType(NPY_FLOAT);     /* kept: the canonical descriptors */
    dj_ac_f64 = PyArray_DescrFromType(NPY_DOUBLE);
    return (dj_ac_f32 && dj_ac_f64) ? 0 : -1;
}

static inline unsigned dj_ac_bucket(int nd, const npy_intp *dims, int typenum) {
    size_t h = (size_t)typenum * 31u + (size_t)nd;
    int d;
    for (d = 0; d < nd; d++)
        h = h * 1000003u ^ (size_t)dims[d];
    return (unsigned)((h ^ (h >> 7) ^ (h >> 17)) % DJ_AC_BUCKETS);
}

/* Keep a dying jet's buffer when it qualifies (see above); a new reference is
   taken, the jet's own is released by its deallocator as usual. A full bucket
   releases its oldest buffer (in turn) for it. */
static inline void dj_ac_stash(PyObject *obj) {
#ifdef Py_GIL_DISABLED
    (void)obj;
#else
    PyArrayObject_fields *a = (PyArrayObject_fields *)obj, **bucket, *old;
    npy_intp expected;
    unsigned b;
    int d, w;
    if (!dj_ac_enabled || Py_REFCNT(obj) != 1 || Py_TYPE(obj) != &PyArray_Type)
        return;
    if (a->base != NULL || a->weakreflist != NULL
            || (a->flags & ~NPY_ARRAY_F_CONTIGUOUS) != DJ_AC_FLAGS
            || (a->descr != dj_ac_f64 && a->descr != dj_ac_f32)
            || a->nd < 1 || a->nd > DJ_AC_MAX_ND)
        return;
    expected = PyDataType_ELSIZE(a->descr);
    for (d = a->nd - 1; d >= 0; d--) {        /* NumPy's C strides (_array_fill_strides) */
        if (a->strides[d] != expected || a->dimensions[d] <= 0)
            return;
        expected *= a->dimensions[d];
        if (expected > DJ_AC_MAX_BYTES)
            return;
    }
    b = dj_ac_bucket(a->nd, a->dimensions, a->descr->type_num);
    bucket = dj_ac_slot[b];
    Py_INCREF(obj);
    for (w = 0; w < DJ_AC_WAYS; w++) {
        if (bucket[w] == NULL) {
            bucket[w] = a;
            return;
        }
    }
    w = dj_ac_victim[b]++ % DJ_AC_WAYS;
    old = bucket[w];
    bucket[w] = a;
    Py_DECREF((PyObject *)old);
#endif
}

/* A C-contiguous array of this shape and type (float32 / float64), contents
   undefined: a cached buffer when one fits, else PyArray_EMPTY's. */
static inline PyObject *dj_ac_empty(int nd, const npy_intp *dims, int typenum) {
#ifndef Py_GIL_DISABLED
    PyArrayObject_fields **bucket, *a;
    int w, d;
    if (nd >= 1 && nd <= DJ_AC_MAX_ND) {
        bucket = dj_ac_slot[dj_ac_bucket(nd, dims, typenum)];
        for (w = 0; w < DJ_AC_WAYS; w++) {
            a = bucket[w];
            if (a == NULL || a->nd != nd || a->descr->type_num != typenum)
                continue;
            for (d = 0; d < nd && a->dimensions[d] == dims[d]; d++)
                ;
            if (d == nd) {
                bucket[w] = NULL;
                return (PyObject *)a;
            }
        }
    }
#endif
    return PyArray_EMPTY(nd, (npy_intp *)dims, typenum, 0);
}

/* Switch the cache (tests compare both ways); off empties it. */
static void dj_ac_set_enabled(int on) {
    int b, w;
    PyObject *a;
    dj_ac_enabled = on;
    if (!on) {
        for (b = 0; b < DJ_AC_BUCKETS; b++) {
            for (w = 0; w < DJ_AC_WAYS; w++) {
                a = (PyObject *)dj_ac_slot[b][w];
                dj_ac_slot[b][w] = NULL;
                Py_XDECREF(a);
            }
        }
    }
}

static int dj_ac_size(void) {
    int b, w, n = 0;
    for (b = 0; b < DJ_AC_BUCKETS; b++)
        for (w = 0; w < DJ_AC_WAYS; w++)
            n += dj_ac_slot[b][w] != NULL;
    return n;
}

#endif
