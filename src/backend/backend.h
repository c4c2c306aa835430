// backend.h — the op table that every layer and model is written against once.
// One struct of function pointers per backend: `cpu` (the readable reference and the fallback
// that runs everywhere) and `cuda` (hand-written kernels from cu/, loaded through the driver API).
// Pointers passed to ops live in the backend's memory (be->alloc); ints and descriptors are host
// values. All compute is fp32 with fp32 accumulation on CPU; the CUDA backend may store bf16
// internally but speaks fp32 at this interface.
//
// Conventions (as in llm.c): *_forward writes its outputs; *_backward OVERWRITES activation
// gradients (dx =) and ACCUMULATES parameter gradients (dw +=). Shapes use fixed letters:
// B batch, T tokens, N rows (B*T), C channels, OC output channels, H heads, KVH key/value heads,
// D head dim, V vocab. Row-major everywhere; Linear weights are [OC, C] as in PyTorch.
// The ops, their signatures and semantics are listed once in ops.h; everything per-op here is generated
// from that list. A backend leaves an op NULL when it does not implement it; backend_supports() says so
// and callers (lpoi check, model code) either skip or fall back. The CPU backend implements all.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "base/dtype.h"
#include "base/error.h"

typedef struct Backend Backend;

typedef enum { GELU_ERF, GELU_TANH, GELU_QUICK } GeluKind;  // HF "gelu", "gelu_pytorch_tanh", "quick_gelu"

// How the frozen base weights of Linear layers are stored (`--precision`): fp32, or the 16-bit type
// whose GEMMs (matmul_*_half) round the fp32 activation operand to it and accumulate in fp32.
typedef enum { PRECISION_FP32, PRECISION_BF16, PRECISION_FP16 } Precision;   // 0: fp32, the default
const char *precision_name(Precision p);                                      // "fp32", "bf16", "fp16"
bool precision_parse(const char *s, Precision *p);                            // the same names
Dtype precision_dtype(Precision p);                                           // DTYPE_F32 / _BF16 / _F16

// Scaled-dot-product attention. q/out: [B,Tq,H,D]; k/v: [B,Tk,KVH,D]; H % KVH == 0 (GQA: query
// head h reads kv head h / (H/KVH)). Query i sits at absolute position i + (Tk - Tq), so a
// KV-cached decode step (Tq = 1) sees every cached key.
typedef struct {
    int B, Tq, Tk, H, KVH, D;
    float scale;              // softmax scale, usually 1/sqrt(D)
    bool causal;              // query at position p sees keys j <= p
    int window;               // > 0: additionally p - j < window (Mistral sliding window); 0: off
    const float *key_mask;    // [B,Tk] backend memory, 1 = attend, 0 = padding; NULL = all valid
} AttnDesc;

// OP_GEMM, OP_MATMUL_FORWARD, ...: one per line of ops.h, in its order.
typedef enum {
#define OP(ID, name, ret, params) OP_##ID,
#include "backend/ops.h"
    OP_COUNT
} OpId;

struct Backend {
    const char *name;         // "cpu" or "cuda"
    char device[128];         // human-readable: "AMD EPYC, 2 threads, avx2+fma" / "NVIDIA H100 (sm_90), PTX compute_90a"
    void *impl;               // backend private state
    Precision precision;      // storage of frozen Linear weights loaded from now on (nn/weights.h); fp32 by default

    // ---- memory ----
    void *(*alloc)(Backend *be, size_t bytes);                   // dies with a clear message when out of memory
    void  (*free)(Backend *be, void *ptr);
    void  (*upload)(Backend *be, void *dst, const void *host_src, size_t bytes);
    void  (*download)(Backend *be, void *host_dst, const void *src, size_t bytes);
    void  (*fill_zero)(Backend *be, void *dst, size_t bytes);
    void  (*synchronize)(Backend *be);
    // Free and total device memory in bytes right now; NULL where the backend has no device of its own
    // (the CPU: the host's memory is lpoi/memory_plan.h's business).
    bool  (*mem_info)(Backend *be, size_t *free_bytes, size_t *total_bytes);
    void  (*destroy)(Backend *be);

    // ---- ops: one slot per line of ops.h (semantics there), NULL where the backend lacks the op ----
#define OP(ID, name, ret, params) ret (*name) params;
#include "backend/ops.h"
};

const char *op_name(OpId op);
bool backend_supports(const Backend *be, OpId op);   // the op's slot is non-NULL

Backend *backend_cpu_create(void);
// NULL + err when there is no usable GPU or driver (the reason is in err).
Backend *backend_cuda_create(int device_index, LpoiErr *err);
// "cpu", "cuda" (fails if unavailable) or "auto" (cuda if usable, else cpu, saying why once).
Backend *backend_open(const char *name, LpoiErr *err);
void     backend_destroy(Backend *be);
