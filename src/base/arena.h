// arena.h — bump allocators by lifetime (weights, activations, grads+optimizer state, scratch).
// An arena owns one block of memory reserved up front; allocations are 64-byte aligned bumps.
// Running out is a fatal error naming the arena, the request and what is left, because sizes are
// computed before the first step: running out means the plan was wrong, not the input.
// The memory may live on any backend: the arena only does offset arithmetic over `base`.
#pragma once
#include <stddef.h>

typedef struct {
    const char *name;   // "activations", "weights", ... (shown in errors)
    char *base;         // start of the block (host or device address)
    size_t capacity;    // bytes
    size_t used;        // bytes handed out, including alignment padding
    size_t peak;        // high-water mark of `used` (reported as peak memory)
    int owns;           // 1 if arena_init_host malloc'ed base (arena_free releases it)
    int plan;           // 1: a planning arena (no memory; allocations return NULL, used/peak are exact)
} Arena;

#define ARENA_ALIGN 64

void   arena_init_host(Arena *a, const char *name, size_t capacity);      // malloc'ed block
void   arena_init_over(Arena *a, const char *name, void *base, size_t capacity);  // caller's block
// A planning arena has no memory: running a step's allocation code against it returns NULL for
// every request but leaves `peak` equal to the bytes the real step needs (alignment included).
void   arena_init_plan(Arena *a, const char *name);
void   arena_free(Arena *a);
void  *arena_alloc_at(Arena *a, size_t bytes, const char *what, const char *file, int line);
#define arena_alloc(a, bytes, what) arena_alloc_at((a), (bytes), (what), __FILE__, __LINE__)
#define arena_alloc_f32(a, n, what) ((float *)arena_alloc_at((a), (size_t)(n) * sizeof(float), (what), __FILE__, __LINE__))
size_t arena_mark(const Arena *a);                 // scratch: remember the fill level
void   arena_reset_to(Arena *a, size_t mark);      // ... and release everything after it
void   arena_reset(Arena *a);                      // per-step activations: release all
size_t arena_remaining(const Arena *a);
