// cpu_ops.h — the CPU backend's op implementations, one file per op family:
//   cpu_gemm.c (+ cpu_gemm_avx2.c)  gemm, matmul_forward/backward
//   cpu_embedding.c                  embedding_forward/backward
//   cpu_norm.c                       rmsnorm, layernorm
//   cpu_softmax.c                    softmax
//   cpu_rope.c                       rope
//   cpu_activation.c                 gelu, silu, swiglu
//   cpu_elementwise.c                add, axpy, scale, sum_squares
//   cpu_attention.c                  attention
//   cpu_logprob.c                    logprob
//   cpu_adamw.c                      adamw_update
// Signatures are exactly the Backend slots (see backend.h for semantics); cpu_backend.c fills the
// table. All are fp32, multi-threaded with parallel_for, and deterministic for a given thread count.
#pragma once
#include "backend/backend.h"

void cpu_gemm(Backend *be, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, int64_t stride_a, const float *Bm, int ldb, int64_t stride_b,
              float beta, float *C, int ldc, int64_t stride_c, int batch);
// The gemm's SIMD path: "avx2+fma" or "portable" (LPOI_GEMM=portable|avx2|auto picks at start-up);
// cpu_gemm_select switches it at run time (tests, benchmarks) and returns false if unavailable.
const char *cpu_gemm_isa(void);
bool cpu_gemm_select(const char *isa);
void cpu_matmul_forward(Backend *be, float *y, const float *x, const float *w, const float *b, int N, int C, int OC);
void cpu_matmul_backward(Backend *be, float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, int N, int C, int OC);

void cpu_embedding_forward(Backend *be, float *out, const int32_t *ids, const float *table, int N, int C);
void cpu_embedding_backward(Backend *be, float *dtable, const float *dout, const int32_t *ids, int N, int C);

void cpu_rmsnorm_forward(Backend *be, float *out, float *rstd, const float *x, const float *w, int N, int C, float eps);
void cpu_rmsnorm_backward(Backend *be, float *dx, float *dw, const float *dout, const float *x, const float *w,
                          const float *rstd, int N, int C);
void cpu_layernorm_forward(Backend *be, float *out, float *mean, float *rstd, const float *x, const float *w,
                           const float *b, int N, int C, float eps);
void cpu_layernorm_backward(Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                            const float *w, const float *mean, const float *rstd, int N, int C);

void cpu_softmax_forward(Backend *be, float *out, const float *x, const float *mask, int R, int C);
void cpu_softmax_backward(Backend *be, float *dx, const float *dout, const float *out, int R, int C);

void cpu_rope_forward(Backend *be, float *out, const float *x, const int32_t *pos, int B, int T, int H, int D, float theta);
void cpu_rope_backward(Backend *be, float *dx, const float *dout, const int32_t *pos, int B, int T, int H, int D, float theta);

void cpu_gelu_forward(Backend *be, float *out, const float *x, size_t n, GeluKind kind);
void cpu_gelu_backward(Backend *be, float *dx, const float *dout, const float *x, size_t n, GeluKind kind);
void cpu_silu_forward(Backend *be, float *out, const float *x, size_t n);
void cpu_silu_backward(Backend *be, float *dx, const float *dout, const float *x, size_t n);
void cpu_swiglu_forward(Backend *be, float *out, const float *gate, const float *up, size_t n);
void cpu_swiglu_backward(Backend *be, float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, size_t n);

void   cpu_add(Backend *be, float *out, const float *a, const float *b, size_t n);
void   cpu_axpy(Backend *be, float *y, float alpha, const float *x, size_t n);
void   cpu_scale(Backend *be, float *x, float alpha, size_t n);
double cpu_sum_squares(Backend *be, const float *x, size_t n);

void cpu_attention_forward(Backend *be, float *out, float *lse, const float *q, const float *k, const float *v,
                           const AttnDesc *a);
void cpu_attention_backward(Backend *be, float *dq, float *dk, float *dv, const float *dout, const float *q,
                            const float *k, const float *v, const float *out, const float *lse, const AttnDesc *a);

void cpu_logprob_forward(Backend *be, float *logp, float *lse, const float *logits, const int32_t *targets, int N, int V);
void cpu_logprob_backward(Backend *be, float *dlogits, const float *dlogp, const float *logits, const float *lse,
                          const int32_t *targets, int N, int V);

void cpu_adamw_update(Backend *be, float *p, const float *g, float *m, float *v, size_t n, float lr,
                      float beta1, float beta2, float eps, float weight_decay, int step);
