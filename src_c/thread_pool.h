/*
 * thread_pool.h: intra-operation parallelism for large kernels.
 *
 * Why: an elementwise kernel over a large buffer (a batch of 1e5 rows) is a
 * loop over independent elements, so two cores can each take half of it, as
 * XLA does for its fused loops (jax.jit's batch_sph_1e5 takes 2.5 ms on this
 * 2-core machine, 4.8 ms pinned to one core). The caller already runs large
 * kernels without the GIL; this splits the element range of one kernel call
 * into contiguous parts, runs part 0 on the calling thread and the others on
 * persistent worker threads, and returns when all parts are done. Each element
 * is computed by the same code whatever the split, so results are bit-identical
 * for any number of threads.
 *
 * Design:
 *   - workers are started lazily, on the first parallel call, and kept;
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

#define DJ_SPIN_ROUNDS 20000   /* ~50-100 us of pause instructions */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    int wanted;                    /* threads to use, the caller included */
    int started;                   /* workers running */
    atomic_ulong generation;       /* bumped once per parallel region */
    atomic_int pending;            /* worker parts not yet finished */
    atomic_flag busy;              /* a region is in flight */
    int parts;
    dj_range_fn fn;
    void *ctx;
    ptrdiff_t count;
} dj_pool_t;

/* The generation each worker was started at: a worker created just before a
 * region's generation bump must still see that bump as new work. */
static unsigned long dj_start_generation[DJ_MAX_THREADS];

static dj_pool_t dj_pool = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
    1, 0, 0, 0, ATOMIC_FLAG_INIT, 0, NULL, NULL, 0
};

static inline void dj_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Part p of `parts` equal contiguous shares of [0, count). */
static inline void dj_part(ptrdiff_t count, int parts, int p, ptrdiff_t *lo, ptrdiff_t *hi) {
    *lo = count * p / parts;
    *hi = count * (p + 1) / parts;
}

static void *dj_worker(void *arg) {
    int me = (int)(ptrdiff_t)arg;          /* 1 .. started */
    unsigned long seen = dj_start_generation[me];
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&dj_pool.generation, memory_order_acquire) == seen
               && spins < DJ_SPIN_ROUNDS) {
            dj_cpu_relax();
            spins++;
        }
        if (atomic_load_explicit(&dj_pool.generation, memory_order_acquire) == seen) {
            pthread_mutex_lock(&dj_pool.lock);
            while (atomic_load(&dj_pool.generation) == seen)
                pthread_cond_wait(&dj_pool.wake, &dj_pool.lock);
            pthread_mutex_unlock(&dj_pool.lock);
        }
        seen = atomic_load(&dj_pool.generation);
        if (me < dj_pool.parts) {
            ptrdiff_t lo, hi;
            dj_part(dj_pool.count, dj_pool.parts, me, &lo, &hi);
            dj_pool.fn(dj_pool.ctx, lo, hi);
            if (atomic_fetch_sub(&dj_pool.pending, 1) == 1) {
                pthread_mutex_lock(&dj_pool.lock);
                pthread_cond_signal(&dj_pool.done);
                pthread_mutex_unlock(&dj_pool.lock);
            }
        }
    }
    return NULL;
}

static void dj_pool_after_fork_child(void) {
    /* The workers were not copied into the child: start afresh. */
    pthread_mutex_init(&dj_pool.lock, NULL);
    pthread_cond_init(&dj_pool.wake, NULL);
    pthread_cond_init(&dj_pool.done, NULL);
    dj_pool.started = 0;
    atomic_store(&dj_pool.pending, 0);
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
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        dj_start_generation[dj_pool.started + 1] = atomic_load(&dj_pool.generation);
        int failed = pthread_create(&thread, &attr, dj_worker,
                                    (void *)(ptrdiff_t)(dj_pool.started + 1));
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
 * fn(ctx, lo, hi) over [0, count) in at most `max_parts` parts (the caller sizes
 * them so each is worth a thread). Runs serially when one part is asked for,
 * when threads are off, or when another region is in flight.
 */
static void dj_parallel_for(dj_range_fn fn, void *ctx, ptrdiff_t count, int max_parts) {
    int parts = max_parts < dj_pool.wanted ? max_parts : dj_pool.wanted;
    if (parts < 2 || count < 2 || atomic_flag_test_and_set(&dj_pool.busy)) {
        fn(ctx, 0, count);
        return;
    }
    int running = dj_pool_start(parts);
    if (parts > running + 1) parts = running + 1;
    if (parts < 2) {
        atomic_flag_clear(&dj_pool.busy);
        fn(ctx, 0, count);
        return;
    }
    pthread_mutex_lock(&dj_pool.lock);
    dj_pool.fn = fn;
    dj_pool.ctx = ctx;
    dj_pool.count = count;
    dj_pool.parts = parts;
    atomic_store(&dj_pool.pending, parts - 1);
    atomic_fetch_add_explicit(&dj_pool.generation, 1, memory_order_release);
    pthread_cond_broadcast(&dj_pool.wake);
    pthread_mutex_unlock(&dj_pool.lock);

    ptrdiff_t lo, hi;
    dj_part(count, parts, 0, &lo, &hi);
    fn(ctx, lo, hi);

    int spins = 0;
    while (atomic_load_explicit(&dj_pool.pending, memory_order_acquire) > 0
           && spins < DJ_SPIN_ROUNDS) {
        dj_cpu_relax();
        spins++;
    }
    if (atomic_load(&dj_pool.pending) > 0) {
        pthread_mutex_lock(&dj_pool.lock);
        while (atomic_load(&dj_pool.pending) > 0)
            pthread_cond_wait(&dj_pool.done, &dj_pool.lock);
        pthread_mutex_unlock(&dj_pool.lock);
    }
    atomic_flag_clear(&dj_pool.busy);
}

#else  /* no POSIX threads: serial */

static int dj_pool_wanted = 1;
static void dj_set_threads(int n) { dj_pool_wanted = n < 1 ? 1 : n; }
static int dj_get_threads(void) { return dj_pool_wanted; }
static void dj_parallel_for(dj_range_fn fn, void *ctx, ptrdiff_t count, int max_parts) {
    (void)max_parts;
    fn(ctx, 0, count);
}

#endif
#endif
