// threads.h — a fixed pthread pool with one primitive: parallel_for over [0, n).
// The pool is created lazily with LPOI_THREADS threads (default: online CPUs). Work is split into
// at most that many contiguous chunks with fixed boundaries; the caller and the workers claim
// chunks until none are left, so results never depend on scheduling (deterministic sums as long
// as each chunk's work is written by exactly one chunk), and a worker whose core is busy with
// another process does not stall the call: the caller runs its chunk instead.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

// fn(ctx, begin, end, chunk_index) processes items [begin, end); chunk_index < threads_count()
// is unique among the chunks running at once (usable to index per-thread scratch).
typedef void (*ParallelFn)(void *ctx, size_t begin, size_t end, int thread_index);

int  threads_count(void);                 // threads the pool uses (>= 1)
// LPOI_THREADS's value: decimal digits only, >= 1 (more than the pool's maximum is capped).
// "0", "-1", "abc", "1.5" are refused (the pool then exits 2 with err's one line).
bool threads_parse_count(const char *s, int *out, LpoiErr *err);
void threads_set_count(int n);            // before first use or between calls; n <= 0: default
// Runs fn over [0, n) split into at most threads_count() chunks of at least min_chunk items.
void parallel_for(size_t n, size_t min_chunk, ParallelFn fn, void *ctx);
