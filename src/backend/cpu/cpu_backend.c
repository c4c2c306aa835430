// cpu_backend.c — the CPU backend: host memory and the op table filled from cpu_ops.h.
#include "cpu_ops.h"
#include "base/check.h"
#include "base/threads.h"
#include <string.h>
#include <stdio.h>

static void *cpu_alloc(Backend *be, size_t bytes) {
    (void)be;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        LPOI_DIE_HINT("lower the batch size or sequence length", "cpu backend: cannot allocate %zu bytes", bytes);
    return p;
}
static void cpu_free(Backend *be, void *ptr) { (void)be; free(ptr); }
static void cpu_copy(Backend *be, void *dst, const void *src, size_t bytes) { (void)be; if (bytes) memmove(dst, src, bytes); }
static void cpu_fill_zero(Backend *be, void *dst, size_t bytes) { (void)be; if (bytes) memset(dst, 0, bytes); }
static void cpu_synchronize(Backend *be) { (void)be; }
static void cpu_destroy(Backend *be) { free(be); }

Backend *backend_cpu_create(void) {
    Backend *be = malloc_check(sizeof *be);
    *be = (Backend){.name = "cpu", .alloc = cpu_alloc, .free = cpu_free, .upload = cpu_copy, .download = cpu_copy,
                    .fill_zero = cpu_fill_zero, .synchronize = cpu_synchronize, .destroy = cpu_destroy};
    snprintf(be->device, sizeof be->device, "CPU, %d threads, gemm %s", threads_count(), cpu_gemm_isa());

    // Every op of ops.h: a missing cpu_<name> is a link error, on purpose (the CPU backend is complete).
#define OP(ID, name, ret, params) be->name = cpu_##name;
#include "backend/ops.h"
    return be;
}
