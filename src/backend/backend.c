// backend.c — op names, capability query, and choosing a backend.
#include "backend.h"
#include "base/check.h"
#include <string.h>

static const char *OP_NAMES[OP_COUNT] = {
    "gemm", "matmul_forward", "matmul_backward", "embedding_forward", "embedding_backward",
    "rmsnorm_forward", "rmsnorm_backward", "layernorm_forward", "layernorm_backward",
    "softmax_forward", "softmax_backward", "rope_forward", "rope_backward",
    "gelu_forward", "gelu_backward", "silu_forward", "silu_backward", "swiglu_forward", "swiglu_backward",
    "add", "axpy", "scale", "sum_squares", "attention_forward", "attention_backward",
    "logprob_forward", "logprob_backward", "adamw_update",
};

const char *op_name(OpId op) { return (op >= 0 && op < OP_COUNT) ? OP_NAMES[op] : "?"; }

bool backend_supports(const Backend *be, OpId op) {
    const void *slot = NULL;
    switch (op) {
    case OP_GEMM: slot = (const void *)be->gemm; break;
    case OP_MATMUL_FORWARD: slot = (const void *)be->matmul_forward; break;
    case OP_MATMUL_BACKWARD: slot = (const void *)be->matmul_backward; break;
    case OP_EMBEDDING_FORWARD: slot = (const void *)be->embedding_forward; break;
    case OP_EMBEDDING_BACKWARD: slot = (const void *)be->embedding_backward; break;
    case OP_RMSNORM_FORWARD: slot = (const void *)be->rmsnorm_forward; break;
    case OP_RMSNORM_BACKWARD: slot = (const void *)be->rmsnorm_backward; break;
    case OP_LAYERNORM_FORWARD: slot = (const void *)be->layernorm_forward; break;
    case OP_LAYERNORM_BACKWARD: slot = (const void *)be->layernorm_backward; break;
    case OP_SOFTMAX_FORWARD: slot = (const void *)be->softmax_forward; break;
    case OP_SOFTMAX_BACKWARD: slot = (const void *)be->softmax_backward; break;
    case OP_ROPE_FORWARD: slot = (const void *)be->rope_forward; break;
    case OP_ROPE_BACKWARD: slot = (const void *)be->rope_backward; break;
    case OP_GELU_FORWARD: slot = (const void *)be->gelu_forward; break;
    case OP_GELU_BACKWARD: slot = (const void *)be->gelu_backward; break;
    case OP_SILU_FORWARD: slot = (const void *)be->silu_forward; break;
    case OP_SILU_BACKWARD: slot = (const void *)be->silu_backward; break;
    case OP_SWIGLU_FORWARD: slot = (const void *)be->swiglu_forward; break;
    case OP_SWIGLU_BACKWARD: slot = (const void *)be->swiglu_backward; break;
    case OP_ADD: slot = (const void *)be->add; break;
    case OP_AXPY: slot = (const void *)be->axpy; break;
    case OP_SCALE: slot = (const void *)be->scale; break;
    case OP_SUM_SQUARES: slot = (const void *)be->sum_squares; break;
    case OP_ATTENTION_FORWARD: slot = (const void *)be->attention_forward; break;
    case OP_ATTENTION_BACKWARD: slot = (const void *)be->attention_backward; break;
    case OP_LOGPROB_FORWARD: slot = (const void *)be->logprob_forward; break;
    case OP_LOGPROB_BACKWARD: slot = (const void *)be->logprob_backward; break;
    case OP_ADAMW_UPDATE: slot = (const void *)be->adamw_update; break;
    case OP_COUNT: break;
    }
    return slot != NULL;
}

Backend *backend_open(const char *name, LpoiErr *err) {
    if (!name || !strcmp(name, "cpu")) return backend_cpu_create();
    if (!strcmp(name, "cuda")) return backend_cuda_create(0, err);
    if (!strcmp(name, "auto")) {
        LpoiErr why = {{0}};
        Backend *be = backend_cuda_create(0, &why);
        if (be) return be;
        fprintf(stderr, "lpoi: using the CPU backend (%s)\n", why.msg);
        return backend_cpu_create();
    }
    err_set(err, "unknown device '%s' (expected cpu, cuda or auto)", name);
    return NULL;
}

void backend_destroy(Backend *be) {
    if (be && be->destroy) be->destroy(be);
}
