/*
 * thread_pool.h: intra-operation parallelism for large kernels.
 *
 * Why: an elementwise kernel over a large buffer (a batch of 1e5 rows) is a
 * loop over independent elements, so two cores can each take half of it, as
 * XLA does for its fused loops (compare jax.jit on benchmarks/cases.py's
 * batch_sph_1e5 with and without a second core). The caller already runs large
 * kernels without the GIL; this splits the element range of one kernel call
 * into contiguous chunks that the calling thread and persistent worker threads
 * take in turn, and returns when all chunks are done. Each element
 * is computed by the same code whatever the split, so results are bit-identical
 * for any number of threads.
 *
 * Design:
 *   - workers are started lazily, on the first parallel call, and kept;
 *   - the range is cut into many small chunks claimed one at a time, not one
 *     share per thread: on a busy machine a worker may wake late, and then the
 *     caller does its chunks rather than wait (with static halves, a kernel
 *     waits for its slowest thread, which under load is many times slower);
 *   - one parallel region at a time: a caller that finds the pool busy (another
 *     Python thread's kernel, e.g. batch_jacobian(workers=2)) runs serially;
 *   - after a part, a worker spins briefly before sleeping on a condition
 *     variable: a function under differentiation issues kernels microseconds
 *     apart, and a futex wake-up costs more than a short spin;
 *   - a forked child has no workers: pthread_atfork resets the pool there;
 *   - without POSIX threads (Windows), everything runs serially.
 */
#ifndef DUALJAC_THREAD_POOL_H
#define DUALJAC_THREAD_POOL_H

#include <stddef.h>

typedef void (*dj_range_fn)(void *ctx, ptrdiff_t lo, ptrdiff_t hi);

#define DJ_MAX_THREADS 64

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define DJ_SPIN_ROUNDS 2000    /* ~50 us of pause instructions (at ~25 ns each) */
#define DJ_MAX_CHUNKS 65535

/*
 * The ticket is one 64-bit word: generation (32 bits) | chunks (16) | next (16).
 * A thread owns chunk `next` of a region by a compare-and-swap that bumps
 * `next` under an unchanged generation, so a late worker can never claim work
 * of a region that has ended, and the region's fields (fn, ctx, count), written
 * before its ticket was published, stay valid while any of its chunks is
 * unfinished (the caller returns only when all are done).
 */
#define DJ_GEN(t) ((uint32_t)((t) >> 32))
#define DJ_CHUNKS(t) ((uint32_t)(((t) >> 16) & 0xffff))
#define DJ_NEXT(t) ((uint32_t)((t) & 0xffff))

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    int wanted;                    /* threads to use, the caller included */
    int started;                   /* workers running */
    atomic_ullong ticket;
    atomic_int finished;           /* chunks of the current region done */
    atomic_int sleeping_workers;
    atomic_int caller_sleeping;
    atomic_flag busy;              /* a region is in flight */
    dj_range_fn fn;
    void *ctx;
    ptrdiff_t count;
} dj_pool_t;

static dj_pool_t dj_pool = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
    1, 0, 0, 0, 0, 0, ATOMIC_FLAG_INIT, NULL, NULL, 0
};

static inline void dj_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Claim and run chunks of region `gen` until none is left. */
static void dj_run_chunks(uint32_t gen) {
    for (;;) {
        unsigned long long t = atomic_load(&dj_pool.ticket);
        do {
            if (DJ_GEN(t) != gen || DJ_NEXT(t) >= DJ_CHUNKS(t)) return;
        } while (!atomic_compare_exchange_weak(&dj_pool.ticket, &t, t + 1));
        uint32_t chunk = DJ_NEXT(t), chunks = DJ_CHUNKS(t);
        ptrdiff_t count = dj_pool.count;
        dj_pool.fn(dj_pool.ctx, count * chunk / chunks, count * (chunk + 1) / chunks);
        if (atomic_fetch_add(&dj_pool.finished, 1) + 1 == (int)chunks
                && atomic_load(&dj_pool.caller_sleeping)) {
            pthread_mutex_lock(&dj_pool.lock);
            pthread_cond_signal(&dj_pool.done);
            pthread_mutex_unlock(&dj_pool.lock);
        }
    }
}

static void *dj_worker(void *arg) {
    uint32_t seen = (uint32_t)(uintptr_t)arg;   /* the generation it was started at */
    for (;;) {
        int spins = 0;
        while (DJ_GEN(atomic_load(&dj_pool.ticket)) == seen && spins < DJ_SPIN_ROUNDS) {
            dj_cpu_relax();
            spins++;
        }
        if (DJ_GEN(atomic_load(&dj_pool.ticket)) == seen) {
            pthread_mutex_lock(&dj_pool.lock);
            atomic_fetch_add(&dj_pool.sleeping_workers, 1);
            while (DJ_GEN(atomic_load(&dj_pool.ticket)) == seen)
                pthread_cond_wait(&dj_pool.wake, &dj_pool.lock);
            atomic_fetch_sub(&dj_pool.sleeping_workers, 1);
            pthread_mutex_unlock(&dj_pool.lock);
        }
        seen = DJ_GEN(atomic_load(&dj_pool.ticket));
        dj_run_chunks(seen);
    }
    return NULL;
}

static void dj_pool_after_fork_child(void) {
    /* The workers were not copied into the child: start afresh. */
    pthread_mutex_init(&dj_pool.lock, NULL);
    pthread_cond_init(&dj_pool.wake, NULL);
    pthread_cond_init(&dj_pool.done, NULL);
    dj_pool.started = 0;
    atomic_store(&dj_pool.sleeping_workers, 0);
    atomic_store(&dj_pool.caller_sleeping, 0);
    atomic_flag_clear(&dj_pool.busy);
}

/* Start workers up to wanted - 1; called with `busy` held. Returns how many run. */
static int dj_pool_start(int wanted) {
    static int registered = 0;
    if (!registered) {
        pthread_atfork(NULL, NULL, dj_pool_after_fork_child);
        registered = 1;
    }
    while (dj_pool.started < wanted - 1) {
        pthread_t thread;
        pthread_attr_t attr;
        uintptr_t gen = DJ_GEN(atomic_load(&dj_pool.ticket));
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attr, dj_worker, (void *)gen);
        pthread_attr_destroy(&attr);
        if (failed) break;
        dj_pool.started++;
    }
    return dj_pool.started;
}

static void dj_set_threads(int n) {
    if (n < 1) n = 1;
    if (n > DJ_MAX_THREADS) n = DJ_MAX_THREADS;
    dj_pool.wanted = n;
}

static int dj_get_threads(void) { return dj_pool.wanted; }

/*
 * fn(ctx, lo, hi) over [0, count), cut into `chunks` contiguous pieces that
 * the caller and the workers claim one at a time: when a worker is slow to
 * wake (another process holds its core), the caller takes its share instead of
 * waiting for it. Runs serially when threads are off or another region is in
 * flight (a second Python thread's kernel).
 */
static void dj_parallel_for(dj_range_fn fn, void *ctx, ptrdiff_t count, int chunks) {
    if (chunks > DJ_MAX_CHUNKS) chunks = DJ_MAX_CHUNKS;
    if ((ptrdiff_t)chunks > count) chunks = (int)count;
    if (dj_pool.wanted < 2 || chunks < 2 || atomic_flag_test_and_set(&dj_pool.busy)) {
        fn(ctx, 0, count);
        return;
    }
    if (dj_pool_start(dj_pool.wanted) == 0) {
        atomic_flag_clear(&dj_pool.busy);
        fn(ctx, 0, count);
        return;
    }
    uint32_t gen = DJ_GEN(atomic_load(&dj_pool.ticket)) + 1;
    dj_pool.fn = fn;
    dj_pool.ctx = ctx;
    dj_pool.count = count;
    atomic_store(&dj_pool.finished, 0);
    atomic_store(&dj_pool.ticket, ((unsigned long long)gen << 32) | ((unsigned long long)chunks << 16));
    if (atomic_load(&dj_pool.sleeping_workers) > 0) {
        pthread_mutex_lock(&dj_pool.lock);
        pthread_cond_broadcast(&dj_pool.wake);
        pthread_mutex_unlock(&dj_pool.lock);
    }
    dj_run_chunks(gen);

    int spins = 0;
    while (atomic_load(&dj_pool.finished) < chunks && spins < DJ_SPIN_ROUNDS) {
        dj_cpu_relax();
        spins++;
    }
    if (atomic_load(&dj_pool.finished) < chunks) {
        pthread_mutex_lock(&dj_pool.lock);
        atomic_store(&dj_pool.caller_sleeping, 1);
        while (atomic_load(&dj_pool.finished) < chunks)
            pthread_cond_wait(&dj_pool.done, &dj_pool.lock);
        atomic_store(&dj_pool.caller_sleeping, 0);
        pthread_mutex_unlock(&dj_pool.lock);
    }
    atomic_flag_clear(&dj_pool.busy);
}

/*
 * Wake sleeping workers ahead of a parallel region the caller knows is coming
 * (a batch transform's deferred program, run after f has been recorded): they
 * spin through the recording instead of waking when the region starts, which
 * costs a futex wake-up and a reschedule (see benchmarks/batch.py at 10^4 rows on
 * 2 threads, where the recording is short and that wake-up shows). It
 * publishes a region of no chunks: a sleeping worker wakes, a spinning one starts
 * its spin anew, and either runs it (nothing) and spins.
 */
static void dj_pool_prewake(void) {
    if (dj_pool.wanted < 2 || dj_pool.started == 0 || atomic_flag_test_and_set(&dj_pool.busy))
        return;
    uint32_t gen = DJ_GEN(atomic_load(&dj_pool.ticket)) + 1;
    atomic_store(&dj_pool.ticket, (unsigned long long)gen << 32);
    if (atomic_load(&dj_pool.sleeping_workers) > 0) {
        pthread_mutex_lock(&dj_pool.lock);
        pthread_cond_broadcast(&dj_pool.wake);
        pthread_mutex_unlock(&dj_pool.lock);
    }
    atomic_flag_clear(&dj_pool.busy);
}

#else  /* no POSIX threads: serial */

static int dj_pool_wanted = 1;
static void dj_set_threads(int n) { dj_pool_wanted = n < 1 ? 1 : n; }
static int dj_get_threads(void) { return dj_pool_wanted; }
static void dj_parallel_for(dj_range_fn fn, void *ctx, ptrdiff_t count, int chunks) {
    (void)chunks;
    fn(ctx, 0, count);
}
static void dj_pool_prewake(void) {}

#endif
/*
 * dj_thread_scratch: a buffer of at least `bytes` bytes (64-byte aligned) that
 * belongs to the calling thread and is kept for its next call, so that a chunked
 * program (src_c/_deferred.pxi) run by the pool's threads neither mallocs nor
 * page-faults per call. NULL if it cannot be had. Not reentrant: a caller
 * uses it only in code that calls nothing else that uses it.
 */
#include <stdlib.h>
#if defined(__GNUC__)
#define DJ_THREAD_LOCAL __thread
#else
#define DJ_THREAD_LOCAL
#endif
static void *dj_thread_scratch(size_t bytes) {
    static DJ_THREAD_LOCAL void *buffer = NULL;
    static DJ_THREAD_LOCAL size_t capacity = 0;
    if (bytes > capacity) {
        size_t rounded = (bytes + 63) & ~(size_t)63;
        free(buffer);
        buffer = aligned_alloc(64, rounded);
        capacity = buffer ? rounded : 0;
    }
    return buffer;
}

#endif
