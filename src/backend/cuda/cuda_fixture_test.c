// cuda_fixture_test.c — the shared fixture of the CUDA tests (see cuda_fixture_test.h).
#include "backend/cuda/cuda_fixture_test.h"
#include "base/check.h"
#include "base/dtype.h"
#include <stdlib.h>
#include <string.h>

Backend *gpu_or_skip(void) {
    static Backend *gpu;
    static bool tried;
    static LpoiErr why;
    if (!tried) {
        tried = true;
        gpu = backend_cuda_create(0, &why);
    }
    if (!gpu) {
        char msg[600];
        snprintf(msg, sizeof msg, "no CUDA backend: %s", why.msg);
        test_skip(msg);
    }
    return gpu;
}

Backend *cpu_backend(void) {
    static Backend *cpu;
    if (!cpu) cpu = backend_cpu_create();
    return cpu;
}

bool gpu_forced_portable(void) {
    const char *v = getenv("LPOI_PTX_VARIANT");
    return v && strcmp(v, "compute_75") == 0;
}

bool gpu_bf16_expected(Backend *gpu) { return cuda_impl(gpu)->cc_major >= 8 && !gpu_forced_portable(); }

float *random_floats(Rng *r, size_t n, float lo, float hi) {
    float *x = malloc_check((n + 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = rng_in(r, lo, hi);
    return x;
}

void random_bf16(Rng *r, size_t n, float lo, float hi, uint16_t **bits, float **vals) {
    *bits = malloc_check(n * sizeof(uint16_t) + 2);
    *vals = malloc_check(n * sizeof(float) + 4);
    for (size_t i = 0; i < n; i++) {
        (*bits)[i] = f32_to_bf16(rng_in(r, lo, hi));
        (*vals)[i] = bf16_to_f32((*bits)[i]);
    }
}

// Fills bytes with the 4-byte pattern `bits` (a partial last word gets its leading bytes).
static void fill_words(char *p, size_t bytes, uint32_t bits) {
    for (size_t i = 0; i < bytes; i += 4) memcpy(p + i, &bits, bytes - i < 4 ? bytes - i : 4);
}

GpuBuf gpu_buf_new(Backend *gpu, const void *init, size_t bytes) {
    const size_t total = bytes + 2 * GPU_GUARD_BYTES;
    char *h = malloc_check(total);
    fill_words(h, GPU_GUARD_BYTES, GPU_SENTINEL_BITS);
    if (init) memcpy(h + GPU_GUARD_BYTES, init, bytes);
    else fill_words(h + GPU_GUARD_BYTES, bytes, GPU_POISON_BITS);
    fill_words(h + GPU_GUARD_BYTES + bytes, GPU_GUARD_BYTES, GPU_SENTINEL_BITS);
    GpuBuf b = {.bytes = bytes};
    b.base = gpu->alloc(gpu, total);
    b.d = b.base + GPU_GUARD_BYTES;   // device address arithmetic, never dereferenced on the host
    gpu->upload(gpu, b.base, h, total);
    free(h);
    return b;
}

bool gpu_buf_read(Backend *gpu, GpuBuf b, void *out, const char *what) {
    const size_t total = b.bytes + 2 * GPU_GUARD_BYTES;
    char *h = malloc_check(total), *guard = malloc_check(GPU_GUARD_BYTES);
    gpu->download(gpu, h, b.base, total);
    fill_words(guard, GPU_GUARD_BYTES, GPU_SENTINEL_BITS);
    bool ok = true;
    for (int side = 0; side < 2 && ok; side++) {
        const char *g = side ? h + GPU_GUARD_BYTES + b.bytes : h;
        for (size_t i = 0; i < GPU_GUARD_BYTES; i++) {
            if (g[i] == guard[i]) continue;
            test_fail_at(__FILE__, __LINE__, "%s: guard %s the buffer overwritten at byte offset %s%zu", what,
                         side ? "after" : "before", side ? "+" : "-", side ? i : GPU_GUARD_BYTES - i);
            ok = false;
            break;
        }
    }
    if (out) memcpy(out, h + GPU_GUARD_BYTES, b.bytes);
    free(h);
    free(guard);
    return ok;
}

void gpu_buf_free(Backend *gpu, GpuBuf b) { gpu->free(gpu, b.base); }

void *gpu_upload_copy(Backend *gpu, const void *host, size_t bytes) {
    void *d = gpu->alloc(gpu, bytes + 16);
    if (bytes) gpu->upload(gpu, d, host, bytes);
    return d;
}
