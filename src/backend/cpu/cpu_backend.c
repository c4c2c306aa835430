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
    Backend *be = calloc_check(1, sizeof *be);
    be->name = "cpu";
    snprintf(be->device, sizeof be->device, "CPU, %d threads, gemm %s", threads_count(), cpu_gemm_isa());
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->upload = cpu_copy;
    be->download = cpu_copy;
    be->fill_zero = cpu_fill_zero;
    be->synchronize = cpu_synchronize;
    be->destroy = cpu_destroy;

    be->gemm = cpu_gemm;
    be->matmul_forward = cpu_matmul_forward;
    be->matmul_backward = cpu_matmul_backward;
    be->embedding_forward = cpu_embedding_forward;
    be->embedding_backward = cpu_embedding_backward;
    be->rmsnorm_forward = cpu_rmsnorm_forward;
    be->rmsnorm_backward = cpu_rmsnorm_backward;
    be->layernorm_forward = cpu_layernorm_forward;
    be->layernorm_backward = cpu_layernorm_backward;
    be->softmax_forward = cpu_softmax_forward;
    be->softmax_backward = cpu_softmax_backward;
    be->rope_forward = cpu_rope_forward;
    be->rope_backward = cpu_rope_backward;
    be->gelu_forward = cpu_gelu_forward;
    be->gelu_backward = cpu_gelu_backward;
    be->silu_forward = cpu_silu_forward;
    be->silu_backward = cpu_silu_backward;
    be->swiglu_forward = cpu_swiglu_forward;
    be->swiglu_backward = cpu_swiglu_backward;
    be->add = cpu_add;
    be->axpy = cpu_axpy;
    be->scale = cpu_scale;
    be->sum_squares = cpu_sum_squares;
    be->attention_forward = cpu_attention_forward;
    be->attention_backward = cpu_attention_backward;
    be->logprob_forward = cpu_logprob_forward;
    be->logprob_backward = cpu_logprob_backward;
    be->adamw_update = cpu_adamw_update;
    return be;
}
