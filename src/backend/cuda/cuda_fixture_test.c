// cuda_fixture_test.c — the shared fixture of the CUDA tests (see cuda_fixture_test.h).
#include "backend/cuda/cuda_fixture_test.h"
#include "base/check.h"
#include "base/dtype.h"
#include <math.h>
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

const AttnCase ATTN_CASES_BASIC[3] = {
    {"bidir", 2, 37, 45, 2, 2, false, 0, 0, 2.0f},     // partial query and key tiles, B=2
    {"causal", 1, 150, 150, 2, 2, true, 0, 0, 2.0f},   // several query and key tiles (the last partial), diagonal
    {"peaky", 1, 100, 170, 1, 1, true, 0, 0, 6.0f},    // large scores (the running max moves between tiles), Tq < Tk
};
const AttnCase ATTN_CASES_GQA[4] = {
    {"gqa", 1, 70, 70, 4, 2, true, 0, 0, 2.0f},
    {"chunk", 1, 20, 100, 4, 2, true, 0, 0, 2.0f},     // Tq < Tk: a cached prefix
    {"decode", 2, 1, 77, 4, 2, true, 0, 1, 2.0f},      // one query, padded keys, item 1 fully padded
    {"gqa_bidir", 2, 37, 45, 4, 2, false, 0, 0, 2.0f},
};
const AttnCase ATTN_CASES_MASKS[5] = {
    {"padding", 2, 45, 45, 2, 1, true, 0, 1, 2.0f},      // item 1 sees nothing: out 0, lse -inf, zero gradients
    {"leftpad", 2, 60, 70, 2, 2, true, 0, 2, 2.0f},      // early queries of each item see no key
    {"window", 1, 200, 200, 1, 1, true, 50, 0, 2.0f},    // tiles skipped on both sides of the band
    {"window_bidir", 1, 90, 90, 2, 2, false, 20, 1, 2.0f},
    {"tq>tk", 1, 40, 30, 2, 2, true, 0, 0, 2.0f},        // the first 10 queries sit before every key
};

AttnInputs attn_inputs(const AttnCase *tc, uint64_t seed, bool with_dout) {
    const int D = 128;
    AttnInputs in = {.a = {.B = tc->B, .Tq = tc->Tq, .Tk = tc->Tk, .H = tc->H, .KVH = tc->KVH, .D = D,
                           .scale = 1.0f / sqrtf((float)D), .causal = tc->causal, .window = tc->window}};
    in.nq = (size_t)tc->B * tc->Tq * tc->H * D, in.nk = (size_t)tc->B * tc->Tk * tc->KVH * D;
    in.nl = (size_t)tc->B * tc->H * tc->Tq, in.nm = (size_t)tc->B * tc->Tk;
    Rng r;
    rng_seed(&r, seed);
    random_bf16(&r, in.nq, -tc->qk_range, tc->qk_range, &in.qb, &in.q);
    random_bf16(&r, in.nk, -tc->qk_range, tc->qk_range, &in.kb, &in.k);
    random_bf16(&r, in.nk, -1, 1, &in.vb, &in.v);
    if (with_dout) random_bf16(&r, in.nq, -1, 1, &in.ob, &in.dout);
    float *mask = in.mask = malloc_check(in.nm * sizeof(float) + 4);
    for (size_t i = 0; i < in.nm; i++) mask[i] = 1.0f;
    if (tc->mask == 1) {
        for (size_t i = 0; i < in.nm; i++) mask[i] = rng_uniform(&r) < 0.3f ? 0.0f : 1.0f;
        if (tc->B > 1)
            for (int j = 0; j < tc->Tk; j++) mask[(size_t)(tc->B - 1) * tc->Tk + j] = 0.0f;   // nothing to attend
    } else if (tc->mask == 2) {
        for (int b = 0; b < tc->B; b++)
            for (int j = 0; j < tc->Tk; j++) mask[(size_t)b * tc->Tk + j] = j < tc->Tk / 3 + 5 * b ? 0.0f : 1.0f;
    }
    return in;
}

void attn_inputs_free(AttnInputs *in) {
    free(in->qb), free(in->kb), free(in->vb), free(in->ob);
    free(in->q), free(in->k), free(in->v), free(in->dout), free(in->mask);
}

void attn_case_label(char *buf, size_t cap, const char *what, const AttnCase *tc) {
    snprintf(buf, cap, "%s %s B=%d Tq=%d Tk=%d H=%d KVH=%d%s win=%d%s", what, tc->name, tc->B, tc->Tq, tc->Tk, tc->H,
             tc->KVH, tc->causal ? " causal" : "", tc->window, tc->mask ? " +mask" : "");
}
