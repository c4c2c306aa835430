// check.c — fatal errors with file:line and a hint; checked allocation; LpoiErr formatting.
#include "check.h"
#include "error.h"
#include <string.h>

void lpoi_die_at(const char *file, int line, const char *hint, const char *fmt, ...) {
    fflush(stdout);
    fprintf(stderr, "lpoi: error: ");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (at %s:%d)\n", file, line);
    if (hint) fprintf(stderr, "  HINT: %s\n", hint);
    exit(1);
}

void *lpoi_malloc_at(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) lpoi_die_at(file, line, "the machine is out of memory; try a smaller batch or model", "malloc of %zu bytes failed", n);
    return p;
}

void *lpoi_calloc_at(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) lpoi_die_at(file, line, "the machine is out of memory; try a smaller batch or model", "calloc of %zu x %zu bytes failed", count, size);
    return p;
}

void *lpoi_realloc_at(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) lpoi_die_at(file, line, "the machine is out of memory", "realloc to %zu bytes failed", n);
    return q;
}

bool err_set(LpoiErr *err, const char *fmt, ...) {
    if (!err) return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return false;
}

bool err_prefix(LpoiErr *err, const char *fmt, ...) {
    if (!err) return false;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    // Built piecewise: a message that no longer fits is cut, which is the intent.
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t room = sizeof err->msg - n - 3, m = strlen(old);
    if (m > room) m = room;
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = 0;
    return false;
}
