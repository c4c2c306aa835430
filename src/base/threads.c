// threads.c — a small persistent pool: workers sleep on a condition variable, the caller
// runs chunk 0 itself, and a generation counter tells workers a new job arrived.
#include "threads.h"
#include "check.h"
#include <pthread.h>
#include <unistd.h>
#include <string.h>

#define MAX_THREADS 256

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    pthread_t tid[MAX_THREADS];
    int nthreads;       // including the caller
    int started;        // workers running
    unsigned long generation;
    int pending;        // workers still busy with the current job
    ParallelFn fn;
    void *ctx;
    size_t n, chunk;
    int nchunks;
    pthread_mutex_t job_mu;  // one parallel_for at a time (callers may be threads themselves)
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
       .job_mu = PTHREAD_MUTEX_INITIALIZER};

static int default_threads(void) {
    const char *env = getenv("LPOI_THREADS");
    if (env && *env) {
        int n = atoi(env);
        if (n >= 1) return n < MAX_THREADS ? n : MAX_THREADS;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n < MAX_THREADS ? (int)n : MAX_THREADS);
}

static void run_chunk(int i) {
    size_t b = (size_t)i * P.chunk, e = b + P.chunk;
    if (e > P.n) e = P.n;
    if (b < e) P.fn(P.ctx, b, e, i);
}

static void *worker(void *arg) {
    int idx = (int)(size_t)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (P.generation == seen) pthread_cond_wait(&P.work_cv, &P.mu);
        seen = P.generation;
        int active = idx < P.nchunks;
        pthread_mutex_unlock(&P.mu);
        if (active) run_chunk(idx);
        pthread_mutex_lock(&P.mu);
        if (--P.pending == 0) pthread_cond_signal(&P.done_cv);
    }
    return NULL;
}

static void pool_start(void) {
    if (!P.nthreads) P.nthreads = default_threads();
    for (int i = P.started + 1; i < P.nthreads; i++) {
        if (pthread_create(&P.tid[i], NULL, worker, (void *)(size_t)i) != 0)
            LPOI_DIE_HINT("set LPOI_THREADS to a smaller number", "pthread_create failed for worker %d", i);
        pthread_detach(P.tid[i]);
    }
    if (P.nthreads - 1 > P.started) P.started = P.nthreads - 1;
}

int threads_count(void) {
    if (!P.nthreads) P.nthreads = default_threads();
    return P.nthreads;
}

void threads_set_count(int n) {
    pthread_mutex_lock(&P.job_mu);
    // Workers already started stay alive; only the number of chunks used changes.
    P.nthreads = n <= 0 ? default_threads() : (n < MAX_THREADS ? n : MAX_THREADS);
    pthread_mutex_unlock(&P.job_mu);
}

void parallel_for(size_t n, size_t min_chunk, ParallelFn fn, void *ctx) {
    if (n == 0) return;
    if (min_chunk < 1) min_chunk = 1;
    int nt = threads_count();
    size_t max_chunks = (n + min_chunk - 1) / min_chunk;
    int nchunks = max_chunks < (size_t)nt ? (int)max_chunks : nt;
    if (nchunks <= 1 || pthread_mutex_trylock(&P.job_mu) != 0) {  // nested or tiny: run inline
        fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&P.mu);
    if (P.started < nchunks - 1) { pthread_mutex_unlock(&P.mu); pool_start(); pthread_mutex_lock(&P.mu); }
    P.fn = fn; P.ctx = ctx; P.n = n; P.nchunks = nchunks;
    P.chunk = (n + nchunks - 1) / nchunks;
    P.pending = P.started;
    P.generation++;
    pthread_cond_broadcast(&P.work_cv);
    pthread_mutex_unlock(&P.mu);
    run_chunk(0);
    pthread_mutex_lock(&P.mu);
    while (P.pending > 0) pthread_cond_wait(&P.done_cv, &P.mu);
    pthread_mutex_unlock(&P.mu);
    pthread_mutex_unlock(&P.job_mu);
}
