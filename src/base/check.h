// check.h — the one way lpoi reports a fatal error.
// Every libc/system call that can fail goes through a *_check wrapper that names
// file:line and, where the user can act, a HINT. Code that reads untrusted input
// never calls these on file content: parsers return an error string instead
// (see LpoiErr in error.h) so that a bad file is a one-line message, not an abort.
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

// Prints "lpoi: error: <msg> (at file:line)" and, if hint != NULL, "  HINT: <hint>", then exit(1).
_Noreturn void lpoi_die_at(const char *file, int line, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define LPOI_DIE(...)            lpoi_die_at(__FILE__, __LINE__, NULL, __VA_ARGS__)
#define LPOI_DIE_HINT(hint, ...) lpoi_die_at(__FILE__, __LINE__, (hint), __VA_ARGS__)

// Internal invariant (a bug in lpoi, never a property of user input).
#define LPOI_ASSERT(cond) \
    do { if (!(cond)) lpoi_die_at(__FILE__, __LINE__, "this is a bug in lpoi; please report it", \
                                  "assertion failed: %s", #cond); } while (0)

// Checked libc wrappers (die with file:line on failure).
void *lpoi_malloc_at(size_t n, const char *file, int line);
void *lpoi_calloc_at(size_t count, size_t size, const char *file, int line);
void *lpoi_realloc_at(void *p, size_t n, const char *file, int line);
#define malloc_check(n)        lpoi_malloc_at((n), __FILE__, __LINE__)
#define calloc_check(c, s)     lpoi_calloc_at((c), (s), __FILE__, __LINE__)
#define realloc_check(p, n)    lpoi_realloc_at((p), (n), __FILE__, __LINE__)

// Overflow-checked size arithmetic: return false on overflow (result untouched).
static inline bool size_mul_ok(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool size_add_ok(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool u64_mul_ok(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool u64_add_ok(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }

#define LPOI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LPOI_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LPOI_MAX(a, b) ((a) > (b) ? (a) : (b))
