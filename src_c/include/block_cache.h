/*
 * block_cache.h: a NEP 49 data-memory handler that keeps freed large blocks
 * for reuse, installed by dualjac only while a transform with large buffers
 * runs (NumPy keeps the handler in a context variable, and every array
 * remembers the handler that allocated it, so nothing else is affected).
 *
 * Why: a transform allocates one fresh result buffer per operation. glibc
 * serves blocks above its mmap threshold with mmap and unmaps them on free, so
 * every operation page-faults its output in again, and for a Jacobian with
 * ~100 KB - 10 MB buffers (a Rosenbrock Hessian of 100 variables) the faults
 * take most of the time. Reusing same-sized blocks removes the faults.
 *
 * Every block carries a 16-byte header holding its size (malloc's alignment is
 * kept), so a reused block always fits, whatever size NumPy passes to free.
 * The cache is bounded (DJ_CACHE_SLOTS blocks, DJ_CACHE_MAX_BYTES in all while
 * a sweep runs, trimmed to DJ_CACHE_KEEP_BYTES when it ends) and guarded by a
 * lock: NumPy may allocate or free without the GIL.
 */
#ifndef DUALJAC_BLOCK_CACHE_H
#define DUALJAC_BLOCK_CACHE_H

#include <Python.h>
#include <pythread.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <numpy/ndarraytypes.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define DJ_HEADER 16
#define DJ_CACHE_SLOTS 64
#define DJ_CACHE_MIN_BLOCK ((size_t)64 * 1024)
#define DJ_CACHE_MAX_BYTES ((size_t)1024 * 1024 * 1024)  /* while a sweep runs */
#define DJ_CACHE_KEEP_BYTES ((size_t)128 * 1024 * 1024)  /* kept between sweeps */

typedef struct { char *block; size_t size; } dj_cached_block;

static dj_cached_block dj_cache[DJ_CACHE_SLOTS];
static size_t dj_cached_bytes = 0;
static PyThread_type_lock dj_cache_lock = NULL;
static int dj_active_sweeps = 0;   /* sweeps running with this handler (GIL held) */

static void *dj_with_header(char *block, size_t size) {
    if (block == NULL) return NULL;
    *(size_t *)block = size;
    return block + DJ_HEADER;
}

static char *dj_take_cached(size_t size) {
    char *block = NULL;
    int i;
    PyThread_acquire_lock(dj_cache_lock, WAIT_LOCK);
    for (i = 0; i < DJ_CACHE_SLOTS; i++) {
        if (dj_cache[i].block != NULL && dj_cache[i].size == size) {
            block = dj_cache[i].block;
            dj_cache[i].block = NULL;
            dj_cached_bytes -= size;
            break;
        }
    }
    PyThread_release_lock(dj_cache_lock);
    return block;
}

/* A new block from the system. Blocks of DJ_HUGE_BLOCK bytes and more are
 * 2 MB-aligned and marked for transparent huge pages (Linux, where THP is in
 * "madvise" mode by default): touching a fresh 96 MB buffer then takes ~50
 * page faults instead of ~24,000 (a 1e6-row batch_jacobian's, for one, whose
 * buffers outgrow what the cache keeps between sweeps). */
#define DJ_HUGE_BLOCK ((size_t)8 * 1024 * 1024)
#define DJ_HUGE_ALIGN ((size_t)2 * 1024 * 1024)

static char *dj_system_block(size_t size) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (size >= DJ_HUGE_BLOCK) {
        void *p = NULL;
        if (posix_memalign(&p, DJ_HUGE_ALIGN, size) != 0) return NULL;
        madvise(p, size & ~(DJ_HUGE_ALIGN - 1), MADV_HUGEPAGE);
        return (char *)p;
    }
#endif
    return (char *)malloc(size);
}

static void *dj_malloc(void *ctx, size_t size) {
    char *block = NULL;
    (void)ctx;
    if (size > SIZE_MAX - DJ_HEADER) return NULL;
    if (size >= DJ_CACHE_MIN_BLOCK) block = dj_take_cached(size);
    if (block == NULL) block = dj_system_block(size + DJ_HEADER);
    return dj_with_header(block, size);
}

static void *dj_calloc(void *ctx, size_t nelem, size_t elsize) {
    size_t size;
    char *block = NULL;
    (void)ctx;
    if (elsize != 0 && nelem > (SIZE_MAX - DJ_HEADER) / elsize) return NULL;
    size = nelem * elsize;
    if (size >= DJ_CACHE_MIN_BLOCK) {
        block = dj_take_cached(size);
        if (block == NULL && size + DJ_HEADER >= DJ_HUGE_BLOCK)
            block = dj_system_block(size + DJ_HEADER);
        if (block != NULL) memset(block + DJ_HEADER, 0, size);
    }
    if (block == NULL) block = (char *)calloc(1, size + DJ_HEADER);
    return dj_with_header(block, size);
}

static void *dj_realloc(void *ctx, void *ptr, size_t new_size) {
    (void)ctx;
    if (ptr == NULL) return dj_malloc(ctx, new_size);
    if (new_size > SIZE_MAX - DJ_HEADER) return NULL;
    return dj_with_header((char *)realloc((char *)ptr - DJ_HEADER, new_size + DJ_HEADER),
                          new_size);
}

static void dj_free(void *ctx, void *ptr, size_t ignored_size) {
    char *block;
    size_t size, limit;
    int i, kept = 0;
    (void)ctx;
    (void)ignored_size;   /* the header knows the true size */
    if (ptr == NULL) return;
    block = (char *)ptr - DJ_HEADER;
    size = *(size_t *)block;
    limit = dj_active_sweeps > 0 ? DJ_CACHE_MAX_BYTES : DJ_CACHE_KEEP_BYTES;
    if (size >= DJ_CACHE_MIN_BLOCK && size <= limit) {
        PyThread_acquire_lock(dj_cache_lock, WAIT_LOCK);
        if (dj_cached_bytes + size <= limit) {
            for (i = 0; i < DJ_CACHE_SLOTS; i++) {
                if (dj_cache[i].block == NULL) {
                    dj_cache[i].block = block;
                    dj_cache[i].size = size;
                    dj_cached_bytes += size;
                    kept = 1;
                    break;
                }
            }
        }
        PyThread_release_lock(dj_cache_lock);
    }
    if (!kept) free(block);
}

static PyDataMem_Handler dj_handler = {
    "dualjac_block_cache",
    1,
    {NULL, dj_malloc, dj_calloc, dj_realloc, dj_free}
};

/* The handler as the capsule PyDataMem_SetHandler takes (a new reference). */
static PyObject *dj_block_cache_capsule(void) {
    if (dj_cache_lock == NULL) {
        dj_cache_lock = PyThread_allocate_lock();
        if (dj_cache_lock == NULL) return PyErr_NoMemory();
    }
    return PyCapsule_New(&dj_handler, "mem_handler", NULL);
}

/* Give every cached block back to the system; returns the bytes released. */
static size_t dj_block_cache_clear(void) {
    size_t released;
    int i;
    if (dj_cache_lock == NULL) return 0;
    PyThread_acquire_lock(dj_cache_lock, WAIT_LOCK);
    released = dj_cached_bytes;
    for (i = 0; i < DJ_CACHE_SLOTS; i++) {
        if (dj_cache[i].block != NULL) {
            free(dj_cache[i].block);
            dj_cache[i].block = NULL;
        }
    }
    dj_cached_bytes = 0;
    PyThread_release_lock(dj_cache_lock);
    return released;
}

/* Free cached blocks, largest first, until at most `keep` bytes remain. */
static void dj_block_cache_trim(size_t keep) {
    int i, largest;
    if (dj_cache_lock == NULL) return;
    PyThread_acquire_lock(dj_cache_lock, WAIT_LOCK);
    while (dj_cached_bytes > keep) {
        largest = -1;
        for (i = 0; i < DJ_CACHE_SLOTS; i++) {
            if (dj_cache[i].block != NULL &&
                (largest < 0 || dj_cache[i].size > dj_cache[largest].size)) largest = i;
        }
        if (largest < 0) break;
        free(dj_cache[largest].block);
        dj_cached_bytes -= dj_cache[largest].size;
        dj_cache[largest].block = NULL;
    }
    PyThread_release_lock(dj_cache_lock);
}

/* A sweep starts / ends: between sweeps the cache keeps DJ_CACHE_KEEP_BYTES. */
static void dj_block_cache_enter(void) { dj_active_sweeps++; }

static void dj_block_cache_leave(void) {
    if (dj_active_sweeps > 0) dj_active_sweeps--;
    if (dj_active_sweeps == 0) dj_block_cache_trim(DJ_CACHE_KEEP_BYTES);
}

static size_t dj_block_cache_bytes(void) { return dj_cached_bytes; }

#endif
