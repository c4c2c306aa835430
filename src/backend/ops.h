// ops.h — THE op list: one line per op, from which everything else is generated (an X-macro file,
// included several times, like LLVM's .def files: no include guard on purpose).
//   OP(ID, name, ret, params)   ID: OP_<ID> in OpId; name: the Backend slot be->name, op_name()'s text,
//                               and the implementations cpu_<name> (cpu_ops.h) and cuda_<name> (cuda_ops.h)
// Generated from it: OpId and op_name (backend.h/.c), the Backend struct's op slots, backend_supports,
// the CPU install table and cpu_ops.h's declarations, the CUDA declarations and install table.
// Adding an op: one OP line here (with its semantics comment), cpu_<name> in src/backend/cpu/, a
// parity/unit test; optionally cuda_<name> in src/backend/cuda/ (until then the CUDA backend reports
// it unsupported). Usage: #define OP(ID, name, ret, params) ..., then #include "backend/ops.h" (it
// #undefs OP at its end). Semantics and shape letters: see backend.h.
#ifndef OP
#error "define OP(ID, name, ret, params) before including backend/ops.h"
#endif

// ---- linear algebra ----
// C[b] = alpha * op(A[b]) · op(B[b]) + beta * C[b] for b in [0, batch); op(X) = X or Xᵀ.
// op(A): [M,K], op(B): [K,N], C: [M,N]; lda/ldb/ldc are row strides of the stored matrices;
// stride_* are element strides between batch items. beta == 0 ignores C's old contents (even NaN).
OP(GEMM, gemm, void, (Backend *be, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, int64_t stride_a, const float *Bm, int ldb, int64_t stride_b,
                      float beta, float *C, int ldc, int64_t stride_c, int batch))
// y[N,OC] = x[N,C] · w[OC,C]ᵀ + b[OC]   (b may be NULL)
OP(MATMUL_FORWARD, matmul_forward, void, (Backend *be, float *y, const float *x, const float *w, const float *b,
                                          int N, int C, int OC))
// dx[N,C] = dy · w (=; NULL skips), dw[OC,C] += dyᵀ · x (NULL skips), db[OC] += Σ_n dy (NULL skips)
OP(MATMUL_BACKWARD, matmul_backward, void, (Backend *be, float *dx, float *dw, float *db, const float *dy,
                                            const float *x, const float *w, int N, int C, int OC))

// ---- embeddings ----
// out[N,C] = table[ids[n], :]. ids: int32 in backend memory, already checked 0 <= id < V by the caller.
OP(EMBEDDING_FORWARD, embedding_forward, void, (Backend *be, float *out, const int32_t *ids, const float *table,
                                                int N, int C))
// dtable[ids[n], :] += dout[n, :]   (repeated ids accumulate)
OP(EMBEDDING_BACKWARD, embedding_backward, void, (Backend *be, float *dtable, const float *dout, const int32_t *ids,
                                                  int N, int C))

// ---- normalisation ----
// out = x * rstd * w, rstd[n] = 1/sqrt(mean(x[n]²) + eps)  (HF LlamaRMSNorm)
OP(RMSNORM_FORWARD, rmsnorm_forward, void, (Backend *be, float *out, float *rstd, const float *x, const float *w,
                                            int N, int C, float eps))
// dx must not alias dout (the CPU backend reads dout for dw after writing dx).
OP(RMSNORM_BACKWARD, rmsnorm_backward, void, (Backend *be, float *dx, float *dw, const float *dout, const float *x,
                                              const float *w, const float *rstd, int N, int C))
// out = (x - mean) * rstd * w + b  (torch.nn.LayerNorm, biased variance); mean[N], rstd[N] saved
OP(LAYERNORM_FORWARD, layernorm_forward, void, (Backend *be, float *out, float *mean, float *rstd, const float *x,
                                                const float *w, const float *b, int N, int C, float eps))
OP(LAYERNORM_BACKWARD, layernorm_backward, void, (Backend *be, float *dx, float *dw, float *db, const float *dout,
                                                  const float *x, const float *w, const float *mean,
                                                  const float *rstd, int N, int C))

// ---- softmax over the last dim, with an optional additive mask [R,C] (NULL: none) ----
// A row whose every entry is -inf yields zeros (never NaN).
OP(SOFTMAX_FORWARD, softmax_forward, void, (Backend *be, float *out, const float *x, const float *mask, int R, int C))
OP(SOFTMAX_BACKWARD, softmax_backward, void, (Backend *be, float *dx, const float *dout, const float *out, int R, int C))

// ---- rotary position embedding, HF rotate_half layout ----
// x,out: [B,T,H,D] (D even; out may alias x); angle(t, i) = pos[b,t] * theta^(-2i/D) in fp32,
// out[..., i] = x_i cos - x_{i+D/2} sin, out[..., i+D/2] = x_{i+D/2} cos + x_i sin  for i < D/2.
OP(ROPE_FORWARD, rope_forward, void, (Backend *be, float *out, const float *x, const int32_t *pos, int B, int T,
                                      int H, int D, float theta))
OP(ROPE_BACKWARD, rope_backward, void, (Backend *be, float *dx, const float *dout, const int32_t *pos, int B, int T,
                                        int H, int D, float theta))

// ---- activations (elementwise over n) ----
OP(GELU_FORWARD, gelu_forward, void, (Backend *be, float *out, const float *x, size_t n, GeluKind kind))
OP(GELU_BACKWARD, gelu_backward, void, (Backend *be, float *dx, const float *dout, const float *x, size_t n,
                                        GeluKind kind))
OP(SILU_FORWARD, silu_forward, void, (Backend *be, float *out, const float *x, size_t n))
OP(SILU_BACKWARD, silu_backward, void, (Backend *be, float *dx, const float *dout, const float *x, size_t n))
// out = silu(gate) * up  (LLaMA MLP)
OP(SWIGLU_FORWARD, swiglu_forward, void, (Backend *be, float *out, const float *gate, const float *up, size_t n))
OP(SWIGLU_BACKWARD, swiglu_backward, void, (Backend *be, float *dgate, float *dup, const float *dout,
                                            const float *gate, const float *up, size_t n))

// ---- elementwise helpers ----
OP(ADD, add, void, (Backend *be, float *out, const float *a, const float *b, size_t n))   // out = a + b (out may alias)
OP(AXPY, axpy, void, (Backend *be, float *y, float alpha, const float *x, size_t n))      // y += alpha * x
OP(SCALE, scale, void, (Backend *be, float *x, float alpha, size_t n))                    // x *= alpha
OP(SUM_SQUARES, sum_squares, double, (Backend *be, const float *x, size_t n))             // Σ x² (synchronises)

// ---- attention (see AttnDesc) ----
// out: [B,Tq,H,D]; lse: [B,H,Tq] log-sum-exp of the scaled, masked scores (-inf for a row with
// no visible key, whose output is 0). Backward recomputes the probabilities from lse.
OP(ATTENTION_FORWARD, attention_forward, void, (Backend *be, float *out, float *lse, const float *q, const float *k,
                                                const float *v, const AttnDesc *a))
// dq, dk, dv: overwritten.
OP(ATTENTION_BACKWARD, attention_backward, void, (Backend *be, float *dq, float *dk, float *dv, const float *dout,
                                                  const float *q, const float *k, const float *v, const float *out,
                                                  const float *lse, const AttnDesc *a))

// ---- log-probability of target tokens ----
// logp[n] = logits[n, t] - logsumexp(logits[n, :]) with t = targets[n]; targets[n] < 0 (the
// ignore index, e.g. -100) gives logp[n] = 0. lse[N] saved for backward.
OP(LOGPROB_FORWARD, logprob_forward, void, (Backend *be, float *logp, float *lse, const float *logits,
                                            const int32_t *targets, int N, int V))
// dlogits[n, :] = dlogp[n] * (onehot(t) - softmax(logits[n])), zero rows where ignored (=).
OP(LOGPROB_BACKWARD, logprob_backward, void, (Backend *be, float *dlogits, const float *dlogp, const float *logits,
                                              const float *lse, const int32_t *targets, int N, int V))

// ---- optimiser ----
// torch.optim.AdamW, step >= 1: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
// p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)
OP(ADAMW_UPDATE, adamw_update, void, (Backend *be, float *p, const float *g, float *m, float *v, size_t n, float lr,
                                      float beta1, float beta2, float eps, float weight_decay, int step))

// ---- Grounding DINO: multi-scale deformable attention, GroupNorm, Swin window attention ----
// Multi-scale deformable attention as HF's multi_scale_deformable_attention (MultiScaleDeformableAttention).
// value [B,S,H,D] holds L levels: level l is a row-major h_l x w_l grid starting at row Σ_{l'<l} h_l'·w_l'
// (HF's level_start_index); level_hw is HOST memory [L,2] = (h_l, w_l), Σ h_l·w_l == S, L <= 8.
// loc [B,Q,H,L,P,2] sampling locations (x, y), image-relative (0..1 spans the grid); attn [B,Q,H,L,P].
// out [B,Q,H·D] = Σ_{l,p} attn · grid_sample(level l of head h at (x, y)), bilinear, zero padding,
// align_corners=False (pixel coordinate x·w_l − 0.5; corners outside the grid read 0).
OP(MSDA_FORWARD, msda_forward, void, (Backend *be, float *out, const float *value, const float *loc, const float *attn,
                                      const int *level_hw, int B, int S, int Q, int H, int D, int L, int P))
// dvalue [B,S,H,D], dloc [B,Q,H,L,P,2], dattn [B,Q,H,L,P]: overwritten, NULL skips. Deterministic without
// atomics (the same bits on every run and thread count): dvalue is gathered per value element, never scattered
// concurrently (cpu_msda.c, cu/msda.cu). dloc is one-sided where a coordinate is exactly an integer, as torch.
OP(MSDA_BACKWARD, msda_backward, void, (Backend *be, float *dvalue, float *dloc, float *dattn, const float *dout,
                                        const float *value, const float *loc, const float *attn, const int *level_hw,
                                        int B, int S, int Q, int H, int D, int L, int P))
// torch.nn.GroupNorm(G, C, eps) with affine w, b [C] on channels-last x [N,P,C] (P positions, e.g. H·W): the same
// numbers as GroupNorm on the NCHW tensor x.permute(0,2,1). Group g = channels [g·C/G, (g+1)·C/G) at all P
// positions (C % G == 0); out = (x − mean[n,g]) · rstd[n,g] · w[c] + b[c], biased variance; mean, rstd [N,G] saved.
OP(GROUPNORM_FORWARD, groupnorm_forward, void, (Backend *be, float *out, float *mean, float *rstd, const float *x,
                                                const float *w, const float *b, int N, int P, int C, int G, float eps))
// dx: overwritten (must not alias dout); dw, db: += ; each NULL skips.
OP(GROUPNORM_BACKWARD, groupnorm_backward, void, (Backend *be, float *dx, float *dw, float *db, const float *dout,
                                                  const float *x, const float *w, const float *mean, const float *rstd,
                                                  int N, int P, int C, int G))
// Swin window attention (HF SwinSelfAttention): q, k, v, out [BW,N,H,D], BW = batch·nW windows in window_partition
// order, N = window² tokens. out = softmax(q·kᵀ·scale + bias + mask) · v with bias [N,N,H] the relative position
// bias gathered from the table (HF relative_position_bias_table[relative_position_index] before its permute: the
// caller gathers it with embedding_forward(ids = the index [N·N], C = H) and scatters dbias back into the table
// with embedding_backward) and mask [nW,N,N] the shifted-window mask (0 / −100; NULL: none), window bw using
// mask[bw % nW]. lse [BW,H,N]: log-sum-exp of each score row, saved for the backward.
OP(WINDOW_ATTENTION_FORWARD, window_attention_forward, void, (Backend *be, float *out, float *lse, const float *q,
                                                              const float *k, const float *v, const float *bias,
                                                              const float *mask, int BW, int nW, int N, int H, int D,
                                                              float scale))
// dq, dk, dv [BW,N,H,D] and dbias [N,N,H] (Σ over windows): overwritten; dbias NULL skips.
OP(WINDOW_ATTENTION_BACKWARD, window_attention_backward, void, (Backend *be, float *dq, float *dk, float *dv,
                                                                float *dbias, const float *dout, const float *q,
                                                                const float *k, const float *v, const float *bias,
                                                                const float *mask, const float *out, const float *lse,
                                                                int BW, int nW, int N, int H, int D, float scale))

#undef OP
