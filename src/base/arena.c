// arena.c — see arena.h.
#include "arena.h"
#include "check.h"
#include <stdint.h>
#include <string.h>

void arena_init_host(Arena *a, const char *name, size_t capacity) {
    memset(a, 0, sizeof *a);
    a->name = name;
    a->capacity = capacity;
    if (capacity && posix_memalign((void **)&a->base, ARENA_ALIGN, capacity) != 0)
        LPOI_DIE_HINT("lower the batch size or sequence length", "arena '%s': cannot reserve %zu bytes", name, capacity);
    a->owns = 1;
}

void arena_init_over(Arena *a, const char *name, void *base, size_t capacity) {
    memset(a, 0, sizeof *a);
    a->name = name;
    a->base = base;
    a->capacity = capacity;
}

void arena_init_plan(Arena *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->name = name;
    a->capacity = SIZE_MAX;
    a->plan = 1;
}

void arena_free(Arena *a) {
    if (a->owns) free(a->base);
    memset(a, 0, sizeof *a);
}

void *arena_alloc_at(Arena *a, size_t bytes, const char *what, const char *file, int line) {
    size_t start = (a->used + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1), end;
    if (start < a->used || !size_add_ok(start, bytes, &end) || end > a->capacity)
        lpoi_die_at(file, line, "the arena was sized too small for this step; this is a planning bug, or raise the limit",
                    "arena '%s' is out of memory: request for '%s' of %zu bytes, %zu of %zu bytes left",
                    a->name, what ? what : "?", bytes, arena_remaining(a), a->capacity);
    a->used = end;
    if (end > a->peak) a->peak = end;
    return a->plan ? NULL : a->base + start;
}

size_t arena_mark(const Arena *a) { return a->used; }
void arena_reset_to(Arena *a, size_t mark) { LPOI_ASSERT(mark <= a->used); a->used = mark; }
void arena_reset(Arena *a) { a->used = 0; }
size_t arena_remaining(const Arena *a) { return a->capacity > a->used ? a->capacity - a->used : 0; }
