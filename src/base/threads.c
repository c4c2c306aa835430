// threads.c — a small persistent pool. A job is split into at most threads_count() contiguous
// chunks with fixed boundaries; the caller and the workers CLAIM chunks from an atomic counter
// until none are left. So the result never depends on who ran a chunk (determinism), and when a
// worker is slow to wake — another process holds its core — the caller simply runs that chunk
// itself instead of stalling the op until the scheduler gets round to the worker.
// The claim word carries the job's generation in its high half, so a worker that wakes late can
// never take a chunk of a newer job with the older job's function.
#include "threads.h"
#include "check.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <unistd.h>
#include <string.h>

#define MAX_THREADS 256

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    pthread_t tid[MAX_THREADS];
    int nthreads;        // including the caller
    int started;         // workers running
    // the current job: written under mu before a new generation is published
    uint32_t generation;
    ParallelFn fn;
    void *ctx;
    size_t n, chunk;
    int nchunks;
    _Atomic uint64_t claim;  // (generation << 32) | next chunk to hand out
    _Atomic int done;        // chunks of the current job finished
    pthread_mutex_t job_mu;  // one parallel_for at a time; nested calls run inline
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
       .job_mu = PTHREAD_MUTEX_INITIALIZER};

bool threads_parse_count(const char *s, int *out, LpoiErr *err) {
    long v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++)   // any length of digits: past the maximum it is capped
        if (v <= MAX_THREADS) v = v * 10 + (*p - '0');
    if (p == s || *p || v < 1)
        return err_set(err, "LPOI_THREADS=\"%.40s\" is not a whole number of threads >= 1 (unset it to use every CPU)", s);
    *out = v < MAX_THREADS ? (int)v : MAX_THREADS;
    return true;
}

static int default_threads(void) {
    const char *env = getenv("LPOI_THREADS");
    if (env && *env) {   // a typo must not silently mean "every CPU"
        int n;
        LpoiErr err = {{0}};
        if (!threads_parse_count(env, &n, &err)) {
            fprintf(stderr, "lpoi: %s\n", err.msg);
            exit(2);
        }
        return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n < MAX_THREADS ? (int)n : MAX_THREADS);
}

typedef struct { uint32_t generation; ParallelFn fn; void *ctx; size_t n, chunk; int nchunks; } Job;

// Next unclaimed chunk of job `j`, or -1 when it has none left (or is no longer current).
static int claim_chunk(const Job *j) {
    uint64_t c = atomic_load(&P.claim);
    for (;;) {
        if ((uint32_t)(c >> 32) != j->generation || (int)(c & 0xffffffffu) >= j->nchunks) return -1;
        if (atomic_compare_exchange_weak(&P.claim, &c, c + 1)) return (int)(c & 0xffffffffu);
    }
}

// Runs every chunk this thread can claim; signals the caller when the job's last chunk is done.
static void run_claimed(const Job *j) {
    int i;
    while ((i = claim_chunk(j)) >= 0) {
        size_t b = (size_t)i * j->chunk, e = b + j->chunk;
        if (e > j->n) e = j->n;
        if (b < e) j->fn(j->ctx, b, e, i);
        if (atomic_fetch_add(&P.done, 1) + 1 == j->nchunks) {
            pthread_mutex_lock(&P.mu);
            pthread_cond_signal(&P.done_cv);
            pthread_mutex_unlock(&P.mu);
        }
    }
}

static void *worker(void *arg) {
    (void)arg;
    uint32_t seen = 0;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (P.generation == seen) pthread_cond_wait(&P.work_cv, &P.mu);
        seen = P.generation;
        Job j = {P.generation, P.fn, P.ctx, P.n, P.chunk, P.nchunks};
        pthread_mutex_unlock(&P.mu);
        run_claimed(&j);
        pthread_mutex_lock(&P.mu);
    }
    return NULL;
}

static void pool_start(int workers) {  // called with P.mu held
    for (int i = P.started + 1; i <= workers; i++) {
        if (pthread_create(&P.tid[i], NULL, worker, NULL) != 0)
            LPOI_DIE_HINT("set LPOI_THREADS to a smaller number", "pthread_create failed for worker %d", i);
        pthread_detach(P.tid[i]);
        P.started = i;
    }
}

int threads_count(void) {
    if (!P.nthreads) P.nthreads = default_threads();
    return P.nthreads;
}

void threads_set_count(int n) {
    pthread_mutex_lock(&P.job_mu);
    // Workers already started stay alive; only the number of chunks changes.
    P.nthreads = n <= 0 ? default_threads() : (n < MAX_THREADS ? n : MAX_THREADS);
    pthread_mutex_unlock(&P.job_mu);
}

void parallel_for(size_t n, size_t min_chunk, ParallelFn fn, void *ctx) {
    if (n == 0) return;
    if (min_chunk < 1) min_chunk = 1;
    int nt = threads_count();
    size_t max_chunks = (n + min_chunk - 1) / min_chunk;
    int nchunks = max_chunks < (size_t)nt ? (int)max_chunks : nt;
    if (nchunks <= 1 || pthread_mutex_trylock(&P.job_mu) != 0) {  // tiny, or nested: run inline
        fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&P.mu);
    pool_start(nchunks - 1);
    P.fn = fn;
    P.ctx = ctx;
    P.n = n;
    P.nchunks = nchunks;
    P.chunk = (n + nchunks - 1) / nchunks;
    P.generation++;
    Job j = {P.generation, fn, ctx, n, P.chunk, nchunks};
    atomic_store(&P.done, 0);
    atomic_store(&P.claim, (uint64_t)j.generation << 32);
    pthread_cond_broadcast(&P.work_cv);
    pthread_mutex_unlock(&P.mu);
    run_claimed(&j);
    pthread_mutex_lock(&P.mu);
    while (atomic_load(&P.done) < nchunks) pthread_cond_wait(&P.done_cv, &P.mu);
    pthread_mutex_unlock(&P.mu);
    pthread_mutex_unlock(&P.job_mu);
}
