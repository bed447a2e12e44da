// A persistent pool of worker threads. The calling thread is worker 0; the
// others sleep on a condition variable between graphs and meet at a barrier
// between ops, so one graph costs one wake-up, not one per op. Waiting
// threads spin briefly (ops take microseconds), then sleep on a futex so
// that an oversubscribed machine gives the time to the threads with work.
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "ir_cpu.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
static void futex_wait(atomic_int *addr, int val) { syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0); }
static void futex_wake(atomic_int *addr) { syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0); }
#else
static void futex_wait(atomic_int *addr, int val) { (void)addr; (void)val; sched_yield(); }
static void futex_wake(atomic_int *addr) { (void)addr; }
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ volatile("yield")
#else
#define cpu_relax() ((void)0)
#endif

// Spins before a waiting thread sleeps, at a barrier (between ops) and
// between graphs. A pause takes about 23 ns on Zen 5, so a thread waits
// about 0.5 ms at a barrier and 1 ms between graphs before it sleeps. A
// decode step spends 0.1-0.3 ms in Go between graphs: with shorter spins
// the workers slept through every gap and started each step 35 us late
// (woken through the condition variable), and a thread that slept at a
// barrier took as long again to come back.
enum { SPIN_BARRIER = 20000, SPIN_IDLE = 40000 };

struct ir_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int work_gen;  // bumped to start a task
    atomic_int stop;
    ir_task_fn fn;
    void *ctx;
    // barrier
    atomic_int bar_count;
    atomic_int bar_gen;
    atomic_int bar_sleepers;
};

typedef struct { ir_pool *p; int ith; } worker_arg;

void ir_barrier(ir_pool *p) { ir_barrier_warm(p, NULL, 0); }

// WARM_STEP: lines of warm memory asked for per spin.
enum { WARM_STEP = 4 };

void ir_barrier_warm(ir_pool *p, const ir_span *warm, int n_warm) {
    if (p->n == 1) return;
    int gen = atomic_load(&p->bar_gen);
    if (atomic_fetch_add(&p->bar_count, 1) == p->n - 1) {
        atomic_store(&p->bar_count, 0);
        atomic_fetch_add(&p->bar_gen, 1);
        // A sleeper registers before it re-reads bar_gen, so either it sees
        // the new generation or this load sees it.
        if (atomic_load(&p->bar_sleepers)) futex_wake(&p->bar_gen);
        return;
    }
    size_t warmed = 0;  // of span w
    int w = 0;
    for (int spins = 0; spins < SPIN_BARRIER; spins++) {
        if (atomic_load(&p->bar_gen) != gen) return;
        if (w < n_warm) {  // no pause: the prefetches are the wait
            for (int l = 0; l < WARM_STEP && warmed < warm[w].n; l++, warmed += 64) ir_prefetch_l2(warm[w].p + warmed);
            if (warmed >= warm[w].n) w++, warmed = 0;
            continue;
        }
        cpu_relax();
    }
    atomic_fetch_add(&p->bar_sleepers, 1);
    while (atomic_load(&p->bar_gen) == gen) futex_wait(&p->bar_gen, gen);
    atomic_fetch_sub(&p->bar_sleepers, 1);
}

static void *worker(void *arg) {
    worker_arg a = *(worker_arg *)arg;
    free(arg);
    ir_pool *p = a.p;
    int seen = 0;
    for (;;) {
        for (int spins = 0; atomic_load(&p->work_gen) == seen && !atomic_load(&p->stop); spins++) {
            if (spins < SPIN_IDLE) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->work_gen) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = atomic_load(&p->work_gen);
        p->fn(p->ctx, a.ith, p->n);
        ir_barrier(p);
    }
}

ir_pool *ir_pool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    ir_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = calloc((size_t)n_threads, sizeof(pthread_t));
    if (!p->threads) {
        free(p);
        return NULL;
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a || (a->p = p, a->ith = i, pthread_create(&p->threads[i], NULL, worker, a) != 0)) {
            free(a);
            p->n = i;  // run with the threads we have; ir_pool_free joins them
            break;
        }
    }
    return p;
}

void ir_pool_free(ir_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}

int ir_pool_threads(const ir_pool *p) { return p->n; }

void ir_pool_run(ir_pool *p, ir_task_fn fn, void *ctx) {
    p->fn = fn;
    p->ctx = ctx;
    if (p->n > 1) {
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->work_gen, 1);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(ctx, 0, p->n);
    ir_barrier(p);
}
