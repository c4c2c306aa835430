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
// A backend leaves an op NULL when it does not implement it; backend_supports() says so and
// callers (lpoi check, model code) either skip or fall back. The CPU backend implements all.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "base/error.h"

typedef struct Backend Backend;

typedef enum { GELU_ERF, GELU_TANH, GELU_QUICK } GeluKind;  // HF "gelu", "gelu_pytorch_tanh", "quick_gelu"

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

typedef enum {
    OP_GEMM, OP_MATMUL_FORWARD, OP_MATMUL_BACKWARD,
    OP_EMBEDDING_FORWARD, OP_EMBEDDING_BACKWARD,
    OP_RMSNORM_FORWARD, OP_RMSNORM_BACKWARD, OP_LAYERNORM_FORWARD, OP_LAYERNORM_BACKWARD,
    OP_SOFTMAX_FORWARD, OP_SOFTMAX_BACKWARD,
    OP_ROPE_FORWARD, OP_ROPE_BACKWARD,
    OP_GELU_FORWARD, OP_GELU_BACKWARD, OP_SILU_FORWARD, OP_SILU_BACKWARD,
    OP_SWIGLU_FORWARD, OP_SWIGLU_BACKWARD,
    OP_ADD, OP_AXPY, OP_SCALE, OP_SUM_SQUARES,
    OP_ATTENTION_FORWARD, OP_ATTENTION_BACKWARD,
    OP_LOGPROB_FORWARD, OP_LOGPROB_BACKWARD,
    OP_ADAMW_UPDATE,
    OP_COUNT
} OpId;

struct Backend {
    const char *name;         // "cpu" or "cuda"
    char device[128];         // human-readable: "AMD EPYC, 2 threads, avx2+fma" / "NVIDIA H100 (sm_90), PTX compute_90a"
    void *impl;               // backend private state

    // ---- memory ----
    void *(*alloc)(Backend *be, size_t bytes);                   // dies with a clear message when out of memory
    void  (*free)(Backend *be, void *ptr);
    void  (*upload)(Backend *be, void *dst, const void *host_src, size_t bytes);
    void  (*download)(Backend *be, void *host_dst, const void *src, size_t bytes);
    void  (*fill_zero)(Backend *be, void *dst, size_t bytes);
    void  (*synchronize)(Backend *be);
    void  (*destroy)(Backend *be);

    // ---- linear algebra ----
    // C[b] = alpha * op(A[b]) · op(B[b]) + beta * C[b] for b in [0, batch); op(X) = X or Xᵀ.
    // op(A): [M,K], op(B): [K,N], C: [M,N]; lda/ldb/ldc are row strides of the stored matrices;
    // stride_* are element strides between batch items. beta == 0 ignores C's old contents (even NaN).
    void (*gemm)(Backend *be, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                 const float *A, int lda, int64_t stride_a, const float *Bm, int ldb, int64_t stride_b,
                 float beta, float *C, int ldc, int64_t stride_c, int batch);
    // y[N,OC] = x[N,C] · w[OC,C]ᵀ + b[OC]   (b may be NULL)
    void (*matmul_forward)(Backend *be, float *y, const float *x, const float *w, const float *b, int N, int C, int OC);
    // dx[N,C] = dy · w (=; NULL skips), dw[OC,C] += dyᵀ · x (NULL skips), db[OC] += Σ_n dy (NULL skips)
    void (*matmul_backward)(Backend *be, float *dx, float *dw, float *db, const float *dy, const float *x,
                            const float *w, int N, int C, int OC);

    // ---- embeddings ----
    // out[N,C] = table[ids[n], :]. ids: int32 in backend memory, already checked 0 <= id < V by the caller.
    void (*embedding_forward)(Backend *be, float *out, const int32_t *ids, const float *table, int N, int C);
    // dtable[ids[n], :] += dout[n, :]   (repeated ids accumulate)
    void (*embedding_backward)(Backend *be, float *dtable, const float *dout, const int32_t *ids, int N, int C);

    // ---- normalisation ----
    // out = x * rstd * w, rstd[n] = 1/sqrt(mean(x[n]²) + eps)  (HF LlamaRMSNorm)
    void (*rmsnorm_forward)(Backend *be, float *out, float *rstd, const float *x, const float *w, int N, int C, float eps);
    // dx must not alias dout (the CPU backend reads dout for dw after writing dx).
    void (*rmsnorm_backward)(Backend *be, float *dx, float *dw, const float *dout, const float *x, const float *w,
                             const float *rstd, int N, int C);
    // out = (x - mean) * rstd * w + b  (torch.nn.LayerNorm, biased variance); mean[N], rstd[N] saved
    void (*layernorm_forward)(Backend *be, float *out, float *mean, float *rstd, const float *x, const float *w,
                              const float *b, int N, int C, float eps);
    void (*layernorm_backward)(Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                               const float *w, const float *mean, const float *rstd, int N, int C);

    // ---- softmax over the last dim, with an optional additive mask [R,C] (NULL: none) ----
    // A row whose every entry is -inf yields zeros (never NaN).
    void (*softmax_forward)(Backend *be, float *out, const float *x, const float *mask, int R, int C);
    void (*softmax_backward)(Backend *be, float *dx, const float *dout, const float *out, int R, int C);

    // ---- rotary position embedding, HF rotate_half layout ----
    // x,out: [B,T,H,D] (D even; out may alias x); angle(t, i) = pos[b,t] * theta^(-2i/D) in fp32,
    // out[..., i] = x_i cos - x_{i+D/2} sin, out[..., i+D/2] = x_{i+D/2} cos + x_i sin  for i < D/2.
    void (*rope_forward)(Backend *be, float *out, const float *x, const int32_t *pos, int B, int T, int H, int D, float theta);
    void (*rope_backward)(Backend *be, float *dx, const float *dout, const int32_t *pos, int B, int T, int H, int D, float theta);

    // ---- activations (elementwise over n) ----
    void (*gelu_forward)(Backend *be, float *out, const float *x, size_t n, GeluKind kind);
    void (*gelu_backward)(Backend *be, float *dx, const float *dout, const float *x, size_t n, GeluKind kind);
    void (*silu_forward)(Backend *be, float *out, const float *x, size_t n);
    void (*silu_backward)(Backend *be, float *dx, const float *dout, const float *x, size_t n);
    // out = silu(gate) * up  (LLaMA MLP)
    void (*swiglu_forward)(Backend *be, float *out, const float *gate, const float *up, size_t n);
    void (*swiglu_backward)(Backend *be, float *dgate, float *dup, const float *dout, const float *gate,
                            const float *up, size_t n);

    // ---- elementwise helpers ----
    void  (*add)(Backend *be, float *out, const float *a, const float *b, size_t n);   // out = a + b (out may alias)
    void  (*axpy)(Backend *be, float *y, float alpha, const float *x, size_t n);       // y += alpha * x
    void  (*scale)(Backend *be, float *x, float alpha, size_t n);                      // x *= alpha
    double (*sum_squares)(Backend *be, const float *x, size_t n);                      // Σ x² (synchronises)

    // ---- attention (see AttnDesc) ----
    // out: [B,Tq,H,D]; lse: [B,H,Tq] log-sum-exp of the scaled, masked scores (-inf for a row with
    // no visible key, whose output is 0). Backward recomputes the probabilities from lse.
    void (*attention_forward)(Backend *be, float *out, float *lse, const float *q, const float *k, const float *v,
                              const AttnDesc *a);
    // dq, dk, dv: overwritten.
    void (*attention_backward)(Backend *be, float *dq, float *dk, float *dv, const float *dout, const float *q,
                               const float *k, const float *v, const float *out, const float *lse, const AttnDesc *a);

    // ---- log-probability of target tokens ----
    // logp[n] = logits[n, t] - logsumexp(logits[n, :]) with t = targets[n]; targets[n] < 0 (the
    // ignore index, e.g. -100) gives logp[n] = 0. lse[N] saved for backward.
    void (*logprob_forward)(Backend *be, float *logp, float *lse, const float *logits, const int32_t *targets, int N, int V);
    // dlogits[n, :] = dlogp[n] * (onehot(t) - softmax(logits[n])), zero rows where ignored (=).
    void (*logprob_backward)(Backend *be, float *dlogits, const float *dlogp, const float *logits, const float *lse,
                             const int32_t *targets, int N, int V);

    // ---- optimiser ----
    // torch.optim.AdamW, step >= 1: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
    // p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)
    void (*adamw_update)(Backend *be, float *p, const float *g, float *m, float *v, size_t n, float lr,
                         float beta1, float beta2, float eps, float weight_decay, int step);
};

const char *op_name(OpId op);
bool backend_supports(const Backend *be, OpId op);   // the op's slot is non-NULL

Backend *backend_cpu_create(void);
// NULL + err when there is no usable GPU or driver (the reason is in err).
Backend *backend_cuda_create(int device_index, LpoiErr *err);
// "cpu", "cuda" (fails if unavailable) or "auto" (cuda if usable, else cpu, saying why once).
Backend *backend_open(const char *name, LpoiErr *err);
void     backend_destroy(Backend *be);
