// cuda_ops.c — the CUDA backend's op table: one small wrapper per Backend slot that checks sizes, picks the
// grid and packs the kernel's arguments (each typed: cuda_launch checks them against cuda_kernels[].sig,
// and the parity test checks those against the PTX). Semantics are backend.h's; the kernels are in cu/.
// Ops without a kernel yet stay NULL: backend_supports() reports them and callers skip or fall back.
#include "backend/cuda/cuda_backend.h"
#include "base/check.h"
#include "../cu/gemm_mma.h"        // tile shapes and shared-memory sizes, shared with the kernels
#include "../cu/gemm_wgmma.h"
#include "../cu/attention_mma.h"
#include "../cu/attention_mma_bwd.h"
#include "../cu/rows.h"          // row-group constants of the norm and softmax kernels
#include <math.h>
#include <stdint.h>
#include <string.h>

const KernelInfo cuda_kernels[K_COUNT] = {
    [K_ADD] = {"elementwise", "add_f32", "pppu"},
    [K_AXPY] = {"elementwise", "axpy_f32", "pfpu"},
    [K_SCALE] = {"elementwise", "scale_f32", "pfu"},
    [K_SUM_SQUARES_PARTIAL] = {"elementwise", "sum_squares_partial_f32", "pup"},
    [K_SUM_SQUARES_FINAL] = {"elementwise", "sum_squares_final_f64", "pip"},
    [K_SILU_FORWARD] = {"elementwise", "silu_forward_f32", "ppu"},
    [K_SILU_BACKWARD] = {"elementwise", "silu_backward_f32", "pppu"},
    [K_SWIGLU_FORWARD] = {"elementwise", "swiglu_forward_f32", "pppu"},
    [K_SWIGLU_BACKWARD] = {"elementwise", "swiglu_backward_f32", "pppppu"},
    [K_GELU_FORWARD] = {"elementwise", "gelu_forward_f32", "ppui"},
    [K_GELU_BACKWARD] = {"elementwise", "gelu_backward_f32", "pppui"},
    [K_ADAMW] = {"adamw", "adamw_f32", "ppppufffffff"},
    [K_RMSNORM_FORWARD] = {"norm", "rmsnorm_forward_f32", "ppppiifi"},
    [K_RMSNORM_BACKWARD] = {"norm", "rmsnorm_backward_f32", "ppppppiii"},
    [K_RMSNORM_BACKWARD_DW_FINAL] = {"norm", "rmsnorm_backward_dw_final_f32", "ppppii"},
    [K_LAYERNORM_FORWARD] = {"norm", "layernorm_forward_f32", "ppppppiifi"},
    [K_LAYERNORM_BACKWARD] = {"norm", "layernorm_backward_f32", "ppppppppiii"},
    [K_GEMM_128] = {"gemm", "gemm_f32_128x128", "ppppiiiiiiuuuiiff"},
    [K_GEMM_64] = {"gemm", "gemm_f32_64x64", "ppppiiiiiiuuuiiff"},
    [K_COLSUM_PARTIAL] = {"gemm", "colsum_partial_f32", "ppiii"},
    [K_COLSUM_FINAL] = {"gemm", "colsum_final_f32", "ppii"},
    [K_EMBEDDING_FORWARD] = {"embedding", "embedding_forward_f32", "pppii"},
    [K_EMBEDDING_BACKWARD] = {"embedding", "embedding_backward_f32", "pppii"},
    [K_SOFTMAX_FORWARD] = {"softmax", "softmax_forward_f32", "pppiii"},
    [K_SOFTMAX_BACKWARD] = {"softmax", "softmax_backward_f32", "pppiii"},
    [K_ROPE] = {"rope", "rope_f32", "ppppiiif"},
    [K_LOGPROB_FORWARD] = {"logprob", "logprob_forward_f32", "ppppii"},
    [K_LOGPROB_BACKWARD] = {"logprob", "logprob_backward_f32", "pppppii"},
    [K_ATTN_FORWARD_D128] = {"attention", "attention_forward_d128_f32", "ppppppiiiiiifii"},
    [K_ATTN_FORWARD_D256] = {"attention", "attention_forward_d256_f32", "ppppppiiiiiifii"},
    [K_ATTN_BACKWARD_DI] = {"attention", "attention_backward_di_f32", "pppiiii"},
    [K_ATTN_BACKWARD_DQ_D128] = {"attention", "attention_backward_dq_d128_f32", "ppppppppiiiiiifii"},
    [K_ATTN_BACKWARD_DQ_D256] = {"attention", "attention_backward_dq_d256_f32", "ppppppppiiiiiifii"},
    [K_ATTN_BACKWARD_DKDV_D128] = {"attention", "attention_backward_dkdv_d128_f32", "pppppppppiiiiiifii"},
    [K_ATTN_BACKWARD_DKDV_D256] = {"attention", "attention_backward_dkdv_d256_f32", "pppppppppiiiiiifii"},
    [K_F32_TO_BF16] = {"convert", "f32_to_bf16_2d", "ppiiii"},
    [K_F32_TO_BF16_TRANSPOSE] = {"convert", "f32_to_bf16_transpose_2d", "ppiiii"},
    [K_GEMM_BF16_NN] = {"gemm_mma", "gemm_bf16_nn", "pppiiiiiiff", GEMM_MMA_SMEM_BYTES, 80},
    [K_GEMM_BF16_NT] = {"gemm_mma", "gemm_bf16_nt", "pppiiiiiiff", GEMM_MMA_SMEM_BYTES, 80},
    [K_GEMM_BF16_TN] = {"gemm_mma", "gemm_bf16_tn", "pppiiiiiiff", GEMM_MMA_SMEM_BYTES, 80},
    [K_GEMM_BF16_TT] = {"gemm_mma", "gemm_bf16_tt", "pppiiiiiiff", GEMM_MMA_SMEM_BYTES, 80},
    [K_GEMM_BF16_NT_X1] = {"gemm_mma", "gemm_bf16_nt_x1", "pppiiiiiiff", GEMM_MMA_SMEM_BYTES_4STAGE, 80},
    [K_GEMM_BF16_NT_X2] = {"gemm_mma", "gemm_bf16_nt_x2", "pppiiiiiiff", GEMM_MMA_SMEM_BYTES, 80},
    [K_GEMM_BF16_NT_X3] = {"gemm_mma", "gemm_bf16_nt_x3", "pppiiiiiiff", GEMM_MMA_SMEM_BYTES_4STAGE, 80},
    [K_GEMM_BF16_NT_X4] = {"gemm_mma", "gemm_bf16_nt_x4", "pppiiiiiiff", GEMM_MMA_SMEM_BYTES_128x128, 80},
    [K_GEMM_BF16_WGMMA_NT] = {"gemm_wgmma", "gemm_bf16_wgmma_nt", "pppiiiiiiff", WGMMA_SMEM_BYTES, 90},
    [K_ATTN_FORWARD_BF16_D128] = {"attention_mma", "attention_forward_bf16_d128", "ppppppiiiiiifii", ATTN_MMA_SMEM_BYTES, 80},
    [K_ATTN_BACKWARD_DQ_BF16_D128] = {"attention_mma_bwd", "attention_backward_dq_bf16_d128", "ppppppppiiiiiifii",
                                      ATTN_BWD_DQ_SMEM_BYTES, 80},
    [K_ATTN_BACKWARD_DKDV_BF16_D128] = {"attention_mma_bwd", "attention_backward_dkdv_bf16_d128", "pppppppppiiiiiifii",
                                        ATTN_BWD_DKDV_SMEM_BYTES, 80},
};

// ---- elementwise helpers ----

static void cuda_add(Backend *be, float *out, const float *a, const float *b, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_ADD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(a), KA_PTR(b), KA_U64(n));
}

static void cuda_axpy(Backend *be, float *y, float alpha, const float *x, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_AXPY, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(y), KA_F32(alpha), KA_PTR(x), KA_U64(n));
}

static void cuda_scale(Backend *be, float *x, float alpha, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_SCALE, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(x), KA_F32(alpha), KA_U64(n));
}

// Two passes in fp64. The number of partial sums depends on n alone (never on the GPU), so a given
// input always reduces in the same order: bit-identical results across runs and devices.
#define SUM_SQUARES_MAX_PARTIALS 1024

static double cuda_sum_squares(Backend *be, const float *x, size_t n) {
    if (!n) return 0.0;
    CudaImpl *c = cuda_impl(be);
    size_t blocks = n / CUDA_BLOCK + (n % CUDA_BLOCK != 0);
    int partials = (int)(blocks < SUM_SQUARES_MAX_PARTIALS ? blocks : SUM_SQUARES_MAX_PARTIALS);
    char *scratch = cuda_scratch(c, ((size_t)partials + 1) * sizeof(double));
    void *partial_buf = scratch, *result = scratch + (size_t)partials * sizeof(double);
    CUDA_LAUNCH(c, K_SUM_SQUARES_PARTIAL, (unsigned)partials, 1, CUDA_BLOCK, KA_PTR(x), KA_U64(n), KA_PTR(partial_buf));
    CUDA_LAUNCH(c, K_SUM_SQUARES_FINAL, 1, 1, CUDA_BLOCK, KA_PTR(partial_buf), KA_INT(partials), KA_PTR(result));
    double total = 0.0;
    be->download(be, &total, result, sizeof total);   // synchronises
    return total;
}

// ---- activations ----

static void cuda_silu_forward(Backend *be, float *out, const float *x, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_SILU_FORWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(x), KA_U64(n));
}

static void cuda_silu_backward(Backend *be, float *dx, const float *dout, const float *x, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_SILU_BACKWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(dx), KA_PTR(dout), KA_PTR(x), KA_U64(n));
}

static void cuda_swiglu_forward(Backend *be, float *out, const float *gate, const float *up, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_SWIGLU_FORWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(gate), KA_PTR(up), KA_U64(n));
}

static void cuda_swiglu_backward(Backend *be, float *dgate, float *dup, const float *dout, const float *gate,
                                 const float *up, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_SWIGLU_BACKWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(dgate), KA_PTR(dup), KA_PTR(dout),
                KA_PTR(gate), KA_PTR(up), KA_U64(n));
}

static int gelu_kind_index(GeluKind kind) {
    switch (kind) {   // the numbering cu/elementwise.cu uses
    case GELU_ERF: return 0;
    case GELU_TANH: return 1;
    case GELU_QUICK: return 2;
    }
    LPOI_DIE_HINT("this is a bug in lpoi", "cuda: unknown GeluKind %d", (int)kind);
}

static void cuda_gelu_forward(Backend *be, float *out, const float *x, size_t n, GeluKind kind) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_GELU_FORWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(x), KA_U64(n),
                KA_INT(gelu_kind_index(kind)));
}

static void cuda_gelu_backward(Backend *be, float *dx, const float *dout, const float *x, size_t n, GeluKind kind) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_GELU_BACKWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(dx), KA_PTR(dout), KA_PTR(x), KA_U64(n),
                KA_INT(gelu_kind_index(kind)));
}

// ---- optimiser ----

static void cuda_adamw_update(Backend *be, float *p, const float *g, float *m, float *v, size_t n, float lr,
                              float beta1, float beta2, float eps, float weight_decay, int step) {
    if (!n) return;
    if (step < 1) LPOI_DIE_HINT("this is a bug in the caller: AdamW steps count from 1", "adamw_update: step %d", step);
    CudaImpl *c = cuda_impl(be);
    // As torch.optim.AdamW: scalars in double, then fp32 for the fp32 tensors.
    double bias_correction1 = 1.0 - pow((double)beta1, step);
    double bias_correction2 = 1.0 - pow((double)beta2, step);
    float decay = (float)(1.0 - (double)lr * (double)weight_decay);
    float one_minus_beta1 = (float)(1.0 - (double)beta1);
    float one_minus_beta2 = (float)(1.0 - (double)beta2);
    float neg_step_size = (float)(-(double)lr / bias_correction1);
    float bc2_sqrt = (float)sqrt(bias_correction2);
    CUDA_LAUNCH(c, K_ADAMW, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(p), KA_PTR(g), KA_PTR(m), KA_PTR(v), KA_U64(n),
                KA_F32(decay), KA_F32(one_minus_beta1), KA_F32(beta2), KA_F32(one_minus_beta2), KA_F32(neg_step_size),
                KA_F32(bc2_sqrt), KA_F32(eps));
}

// ---- RMSNorm ----

// Rows per launch: one block per row up to a few waves; the kernels grid-stride over the rest.
static unsigned row_grid(const CudaImpl *c, int N) {
    long cap = (long)(c->sm_count > 0 ? c->sm_count : 1) * 32;
    return (unsigned)(N < cap ? N : cap);
}

// Row-group size (threads per row) of the row kernels in cu/norm.cu and cu/softmax.cu: the smallest power
// of two >= 32 whose `nv` quads per thread hold a row of C floats, at most ROWS_MAX_GROUP (cu/rows.h).
// It depends on C alone: the kernels' sums run in an order fixed by (C, G), the same on every GPU.
static int row_group(int C, int nv) {
    int g = 32;
    while (g < ROWS_MAX_GROUP && 4LL * nv * g < C) g *= 2;
    return g;
}

// Launch shape of the one-pass row kernels: blocks of max(G, ROWS_BLOCK) threads (several rows per block
// when rows are short), enough blocks for every row (the kernels also grid-stride).
static unsigned group_grid(int N, int G, unsigned *block) {
    *block = (unsigned)(G > ROWS_BLOCK ? G : ROWS_BLOCK);
    long long per = (long long)*block / G, blocks = (N + per - 1) / per;
    return (unsigned)(blocks < 0x7fffffffLL ? blocks : 0x7fffffffLL);
}

// Chunks of rows of the fused norm backward (one block of G threads each): the count depends on N and
// C alone (never on the GPU), so dw/db are reduced in the same order everywhere.
static int norm_bwd_chunks(int N, int G, int *rows_per_chunk) {
    long long target = NORM_BWD_THREADS / G;
    if (target > N) target = N;
    if (target < 1) target = 1;
    *rows_per_chunk = (int)(((long long)N + target - 1) / target);
    return (int)(((long long)N + *rows_per_chunk - 1) / *rows_per_chunk);
}

static void cuda_rmsnorm_forward(Backend *be, float *out, float *rstd, const float *x, const float *w, int N, int C,
                                 float eps) {
    if (N <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    int G = row_group(C, NORM_FWD_NV);
    unsigned block, grid = group_grid(N, G, &block);
    CUDA_LAUNCH(c, K_RMSNORM_FORWARD, grid, 1, block, KA_PTR(out), KA_PTR(rstd), KA_PTR(x), KA_PTR(w), KA_INT(N),
                KA_INT(C), KA_F32(eps), KA_INT(G));
}

// One fused pass writes dx and per-chunk partial column sums of dw; a second adds the chunks in order
// into dw. dx may alias dout on this backend (each element is read before it is overwritten).
static void cuda_rmsnorm_backward(Backend *be, float *dx, float *dw, const float *dout, const float *x, const float *w,
                                  const float *rstd, int N, int C) {
    if (N <= 0 || C <= 0 || (!dx && !dw)) return;
    CudaImpl *c = cuda_impl(be);
    int G = row_group(C, RMS_BWD_NV), rows_per_chunk, chunks = norm_bwd_chunks(N, G, &rows_per_chunk);
    float *partial = dw ? cuda_scratch(c, (size_t)chunks * (size_t)C * sizeof(float)) : NULL;
    CUDA_LAUNCH(c, K_RMSNORM_BACKWARD, (unsigned)chunks, 1, (unsigned)G, KA_PTR(dx), KA_PTR(partial), KA_PTR(dout),
                KA_PTR(x), KA_PTR(w), KA_PTR(rstd), KA_INT(N), KA_INT(C), KA_INT(rows_per_chunk));
    if (dw)
        CUDA_LAUNCH(c, K_RMSNORM_BACKWARD_DW_FINAL, (unsigned)((C + 31) / 32), 1, NORM_FINAL_BLOCK, KA_PTR(dw),
                    KA_PTR(partial), KA_PTR(NULL), KA_PTR(NULL), KA_INT(chunks), KA_INT(C));
}

// ---- LayerNorm ----

static void cuda_layernorm_forward(Backend *be, float *out, float *mean, float *rstd, const float *x, const float *w,
                                   const float *b, int N, int C, float eps) {
    if (N <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    int G = row_group(C, NORM_FWD_NV);
    unsigned block, grid = group_grid(N, G, &block);
    CUDA_LAUNCH(c, K_LAYERNORM_FORWARD, grid, 1, block, KA_PTR(out), KA_PTR(mean), KA_PTR(rstd), KA_PTR(x), KA_PTR(w),
                KA_PTR(b), KA_INT(N), KA_INT(C), KA_F32(eps), KA_INT(G));
}

// As rmsnorm: one fused pass (dx, dw and db partials), then one launch adds the chunks of dw and db.
static void cuda_layernorm_backward(Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                                    const float *w, const float *mean, const float *rstd, int N, int C) {
    if (N <= 0 || C <= 0 || (!dx && !dw && !db)) return;
    CudaImpl *c = cuda_impl(be);
    int G = row_group(C, LN_BWD_NV), rows_per_chunk, chunks = norm_bwd_chunks(N, G, &rows_per_chunk);
    size_t plane = (size_t)chunks * (size_t)C;
    float *scratch = dw || db ? cuda_scratch(c, ((dw != NULL) + (db != NULL)) * plane * sizeof(float)) : NULL;
    float *pw = dw ? scratch : NULL, *pb = db ? scratch + (dw ? plane : 0) : NULL;
    CUDA_LAUNCH(c, K_LAYERNORM_BACKWARD, (unsigned)chunks, 1, (unsigned)G, KA_PTR(dx), KA_PTR(pw), KA_PTR(pb),
                KA_PTR(dout), KA_PTR(x), KA_PTR(w), KA_PTR(mean), KA_PTR(rstd), KA_INT(N), KA_INT(C),
                KA_INT(rows_per_chunk));
    if (dw || db) {   // grid.y picks the output: (dw, db) or whichever one is wanted
        float *d0 = dw ? dw : db, *p0 = dw ? pw : pb;
        CUDA_LAUNCH(c, K_RMSNORM_BACKWARD_DW_FINAL, (unsigned)((C + 31) / 32), dw && db ? 2 : 1, NORM_FINAL_BLOCK,
                    KA_PTR(d0), KA_PTR(p0), KA_PTR(dw ? db : NULL), KA_PTR(dw ? pb : NULL), KA_INT(chunks), KA_INT(C));
    }
}

// ---- GEMM and the Linear layer ----

// Shared by gemm and matmul_*: C[z] = alpha op(A[z]) op(B[z]) + beta C[z] (+ bias[n] when bias != NULL).
// Picks the 128×128 tile when it still gives at least one block per SM, else 64×64 (small and skinny
// problems, e.g. LoRA's rank-r products). Grids larger than the hardware's y/z limits are split into
// several launches by offsetting the pointers.
#define GEMM_MAX_GRID_YZ 65535

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

// bf16 math mode (LPOI_CUDA_MATH=bf16): both operands are rounded to bf16 into padded scratch copies and
// multiplied on the tensor cores with fp32 accumulation; C keeps fp32 and the alpha/beta semantics. The
// precision is then bf16's (relative error ~2^-9 per operand), as in PyTorch bf16 autocast. False when the
// bf16 kernels cannot run here; the caller goes on with the fp32 kernels.
static bool gemm_bf16_mode(CudaImpl *c, bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *Bm, int ldb, float beta, float *C, int ldc) {
    if (!c->math_bf16 || K == 0 || !cuda_kernel_usable(c, K_F32_TO_BF16)) return false;
    // On Hopper every layout runs on the wgmma kernel, which takes A [M,K] and B [N,K]: the conversion
    // writes whichever operand is stored the other way transposed (it reads and writes each element once
    // either way). Elsewhere the mma.sync kernel of the stored layout reads the copies as they are.
    if (c->prefer_wgmma && cuda_kernel_usable(c, K_GEMM_BF16_WGMMA_NT) && cuda_kernel_usable(c, K_F32_TO_BF16_TRANSPOSE)) {
        const int ld16 = (int)round_up((size_t)K, 8);
        const size_t a_bytes = round_up((size_t)M * (size_t)ld16 * 2, 256);
        uint16_t *a16 = cuda_scratch(c, a_bytes + (size_t)N * (size_t)ld16 * 2);
        uint16_t *b16 = a16 + a_bytes / 2;
        if (ta) cuda_f32_to_bf16_transposed(c, a16, ld16, A, lda, K, M);   // A stored [K,M]
        else    cuda_f32_to_bf16(c, a16, ld16, A, lda, M, K);
        if (tb) cuda_f32_to_bf16(c, b16, ld16, Bm, ldb, N, K);
        else    cuda_f32_to_bf16_transposed(c, b16, ld16, Bm, ldb, K, N);   // B stored [K,N]
        return cuda_gemm_bf16(c, GEMM_BF16_WGMMA, false, true, M, N, K, alpha, a16, ld16, b16, ld16, beta, C, ldc);
    }
    const KernelId mma = ta ? (tb ? K_GEMM_BF16_TT : K_GEMM_BF16_TN) : (tb ? K_GEMM_BF16_NT : K_GEMM_BF16_NN);
    if (!cuda_kernel_usable(c, mma)) return false;
    const int a_rows = ta ? K : M, a_cols = ta ? M : K, b_rows = tb ? N : K, b_cols = tb ? K : N;
    const int lda16 = (int)round_up((size_t)a_cols, 8), ldb16 = (int)round_up((size_t)b_cols, 8);
    const size_t a_bytes = round_up((size_t)a_rows * (size_t)lda16 * 2, 256);
    uint16_t *a16 = cuda_scratch(c, a_bytes + (size_t)b_rows * (size_t)ldb16 * 2);
    uint16_t *b16 = a16 + a_bytes / 2;
    cuda_f32_to_bf16(c, a16, lda16, A, lda, a_rows, a_cols);
    cuda_f32_to_bf16(c, b16, ldb16, Bm, ldb, b_rows, b_cols);
    return cuda_gemm_bf16(c, GEMM_BF16_MMA, ta, tb, M, N, K, alpha, a16, lda16, b16, ldb16, beta, C, ldc);
}

static void gemm_launch(CudaImpl *c, bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                        int64_t sa, const float *Bm, int ldb, int64_t sb, float beta, float *C, int ldc, int64_t sc,
                        int batch, const float *bias) {
    LPOI_ASSERT(M >= 0 && N >= 0 && K >= 0 && batch >= 0);
    if (M == 0 || N == 0 || batch == 0) return;
    LPOI_ASSERT(ldc >= N);   // row strides cover a stored row, as the CPU backend requires
    if (K > 0) {
        LPOI_ASSERT(lda >= (ta ? M : K));
        LPOI_ASSERT(ldb >= (tb ? K : N));
    }
    // The bf16 kernels have no bias epilogue and no batch index yet: those stay on the fp32 kernels.
    if (!bias && batch == 1 && gemm_bf16_mode(c, ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, C, ldc)) return;
    long long big_tiles = (long long)((M + 127) / 128) * ((N + 127) / 128) * batch;
    bool big = M >= 128 && N >= 128 && big_tiles >= (long long)(c->sm_count > 0 ? c->sm_count : 1);
    const int tile = big ? 128 : 64;
    const KernelId kern = big ? K_GEMM_128 : K_GEMM_64;
    const unsigned gx = (unsigned)((N + tile - 1) / tile);
    const int rows_per_launch = GEMM_MAX_GRID_YZ * tile;
    for (int z0 = 0; z0 < batch; z0 += GEMM_MAX_GRID_YZ) {
        int nz = batch - z0 < GEMM_MAX_GRID_YZ ? batch - z0 : GEMM_MAX_GRID_YZ;
        for (int m0 = 0; m0 < M; m0 += rows_per_launch) {
            int nm = M - m0 < rows_per_launch ? M - m0 : rows_per_launch;
            const float *a = A + z0 * sa + (ta ? (int64_t)m0 : (int64_t)m0 * lda);
            const float *b = Bm + z0 * sb;
            float *cc = C + z0 * sc + (int64_t)m0 * ldc;
            CUDA_LAUNCH_3D(c, kern, gx, (unsigned)((nm + tile - 1) / tile), (unsigned)nz, 256, KA_PTR(a), KA_PTR(b),
                           KA_PTR(cc), KA_PTR(bias), KA_INT(nm), KA_INT(N), KA_INT(K), KA_INT(lda), KA_INT(ldb),
                           KA_INT(ldc), KA_U64((uint64_t)sa), KA_U64((uint64_t)sb), KA_U64((uint64_t)sc), KA_INT(ta),
                           KA_INT(tb), KA_F32(alpha), KA_F32(beta));
        }
    }
}

static void cuda_gemm(Backend *be, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                      int64_t stride_a, const float *Bm, int ldb, int64_t stride_b, float beta, float *C, int ldc,
                      int64_t stride_c, int batch) {
    gemm_launch(cuda_impl(be), trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, Bm, ldb, stride_b, beta, C, ldc,
                stride_c, batch, NULL);
}

// y[N,OC] = x[N,C] · w[OC,C]ᵀ + b[OC]: the bias is added in the GEMM's epilogue (acc + b, as the CPU's
// "start from b, then beta = 1" rounds it).
static void cuda_matmul_forward(Backend *be, float *y, const float *x, const float *w, const float *b, int N, int C, int OC) {
    gemm_launch(cuda_impl(be), false, true, N, OC, C, 1.0f, x, C, 0, w, C, 0, 0.0f, y, OC, 0, 1, b);
}

#define COLSUM_MAX_CHUNKS 128   // partial sums per column; fixed by N alone, so db is deterministic

// dx[N,C] = dy · w (=), dw[OC,C] += dyᵀ · x, db[OC] += Σ_n dy (two passes, no atomics); each optional.
static void cuda_matmul_backward(Backend *be, float *dx, float *dw, float *db, const float *dy, const float *x,
                                 const float *w, int N, int C, int OC) {
    CudaImpl *c = cuda_impl(be);
    if (db && OC > 0 && N > 0) {
        int target = N < COLSUM_MAX_CHUNKS ? N : COLSUM_MAX_CHUNKS;
        int rows_per_chunk = (int)(((long long)N + target - 1) / target);
        int chunks = (int)(((long long)N + rows_per_chunk - 1) / rows_per_chunk);
        void *partial = cuda_scratch(c, (size_t)chunks * (size_t)OC * sizeof(float));
        unsigned col_blocks = (unsigned)((OC + CUDA_BLOCK - 1) / CUDA_BLOCK);
        CUDA_LAUNCH(c, K_COLSUM_PARTIAL, col_blocks, (unsigned)chunks, CUDA_BLOCK, KA_PTR(partial), KA_PTR(dy), KA_INT(N),
                    KA_INT(OC), KA_INT(rows_per_chunk));
        CUDA_LAUNCH(c, K_COLSUM_FINAL, col_blocks, 1, CUDA_BLOCK, KA_PTR(db), KA_PTR(partial), KA_INT(chunks), KA_INT(OC));
    }
    if (dw) gemm_launch(c, true, false, OC, C, N, 1.0f, dy, OC, 0, x, C, 0, 1.0f, dw, C, 0, 1, NULL);
    if (dx) gemm_launch(c, false, false, N, C, OC, 1.0f, dy, OC, 0, w, C, 0, 0.0f, dx, C, 0, 1, NULL);
}

// ---- embeddings ----

static void cuda_embedding_forward(Backend *be, float *out, const int32_t *ids, const float *table, int N, int C) {
    if (N <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_EMBEDDING_FORWARD, row_grid(c, N), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(ids), KA_PTR(table), KA_INT(N),
                KA_INT(C));
}

#define EMBEDDING_BWD_BLOCK 64   // one thread per column: small blocks spread C columns over more SMs

static void cuda_embedding_backward(Backend *be, float *dtable, const float *dout, const int32_t *ids, int N, int C) {
    if (N <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_EMBEDDING_BACKWARD, (unsigned)((C + EMBEDDING_BWD_BLOCK - 1) / EMBEDDING_BWD_BLOCK), 1,
                EMBEDDING_BWD_BLOCK, KA_PTR(dtable), KA_PTR(dout), KA_PTR(ids), KA_INT(N), KA_INT(C));
}

// ---- softmax ----

static void cuda_softmax_forward(Backend *be, float *out, const float *x, const float *mask, int R, int C) {
    if (R <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    int G = row_group(C, SOFTMAX_FWD_NV);
    unsigned block, grid = group_grid(R, G, &block);
    CUDA_LAUNCH(c, K_SOFTMAX_FORWARD, grid, 1, block, KA_PTR(out), KA_PTR(x), KA_PTR(mask), KA_INT(R), KA_INT(C),
                KA_INT(G));
}

static void cuda_softmax_backward(Backend *be, float *dx, const float *dout, const float *out, int R, int C) {
    if (R <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    int G = row_group(C, SOFTMAX_BWD_NV);
    unsigned block, grid = group_grid(R, G, &block);
    CUDA_LAUNCH(c, K_SOFTMAX_BACKWARD, grid, 1, block, KA_PTR(dx), KA_PTR(dout), KA_PTR(out), KA_INT(R), KA_INT(C),
                KA_INT(G));
}

// ---- RoPE ----

// inv_freq for (theta, D) on the device, computed on the host with exactly cpu_rope.c's expression
// (1 / powf(theta, 2i/D) in fp32: the same libm call, so the same bits). Cached: a model uses one
// (theta, D), so the upload (which synchronises) happens once, not at every call.
static const float *rope_inv_freq(Backend *be, int D, float theta) {
    CudaImpl *c = cuda_impl(be);
    const int D2 = D / 2;
    if (c->rope_inv_freq && c->rope_half == D2 && memcmp(&c->rope_theta, &theta, sizeof theta) == 0)
        return c->rope_inv_freq;
    float *host = malloc_check((size_t)D2 * sizeof(float));
    for (int i = 0; i < D2; i++) host[i] = 1.0f / powf(theta, (float)(2 * i) / (float)D);
    if (c->rope_cap < D2) {
        be->free(be, c->rope_inv_freq);   // waits for kernels still reading it
        c->rope_inv_freq = be->alloc(be, (size_t)D2 * sizeof(float));
        c->rope_cap = D2;
    }
    be->upload(be, c->rope_inv_freq, host, (size_t)D2 * sizeof(float));   // stream-ordered after earlier launches
    free(host);
    c->rope_half = D2;
    c->rope_theta = theta;
    return c->rope_inv_freq;
}

static void rope_launch(Backend *be, float *out, const float *x, const int32_t *pos, int B, int T, int H, int D,
                        float theta, float sign) {
    if (B <= 0 || T <= 0 || H <= 0 || D <= 0) return;
    LPOI_ASSERT(D % 2 == 0);
    CudaImpl *c = cuda_impl(be);
    const float *inv_freq = rope_inv_freq(be, D, theta);
    long long rows = (long long)B * T;
    LPOI_ASSERT(rows <= 0x7fffffff && (long long)H * (D / 2) <= 0x7fffffff);
    CUDA_LAUNCH(c, K_ROPE, row_grid(c, (int)rows), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(x), KA_PTR(pos), KA_PTR(inv_freq),
                KA_INT((int)rows), KA_INT(H), KA_INT(D), KA_F32(sign));
}

static void cuda_rope_forward(Backend *be, float *out, const float *x, const int32_t *pos, int B, int T, int H, int D,
                              float theta) {
    rope_launch(be, out, x, pos, B, T, H, D, theta, 1.0f);
}

static void cuda_rope_backward(Backend *be, float *dx, const float *dout, const int32_t *pos, int B, int T, int H, int D,
                               float theta) {
    rope_launch(be, dx, dout, pos, B, T, H, D, theta, -1.0f);
}

// ---- log-probability of target tokens ----

static void cuda_logprob_forward(Backend *be, float *logp, float *lse, const float *logits, const int32_t *targets, int N,
                                 int V) {
    if (N <= 0 || V <= 0) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_LOGPROB_FORWARD, row_grid(c, N), 1, CUDA_BLOCK, KA_PTR(logp), KA_PTR(lse), KA_PTR(logits),
                KA_PTR(targets), KA_INT(N), KA_INT(V));
}

static void cuda_logprob_backward(Backend *be, float *dlogits, const float *dlogp, const float *logits, const float *lse,
                                  const int32_t *targets, int N, int V) {
    if (N <= 0 || V <= 0) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_LOGPROB_BACKWARD, row_grid(c, N), 1, CUDA_BLOCK, KA_PTR(dlogits), KA_PTR(dlogp), KA_PTR(logits),
                KA_PTR(lse), KA_PTR(targets), KA_INT(N), KA_INT(V));
}

// ---- attention ----

#define ATTN_BLOCK 128       // cu/attention.cu's ATT_THREADS
#define ATTN_MAX_D 256       // the d256 kernels' register tiles

static void attn_check(const AttnDesc *a) {
    LPOI_ASSERT(a->B >= 0 && a->Tq >= 0 && a->Tk >= 0 && a->D > 0 && a->H > 0 && a->KVH > 0);
    LPOI_ASSERT(a->H % a->KVH == 0);
    if (a->D > ATTN_MAX_D)
        LPOI_DIE_HINT("run this model with --device cpu, or add a wider tile to cu/attention.cu",
                      "cuda: attention with head dim D=%d is not implemented (the kernels hold at most %d)", a->D,
                      ATTN_MAX_D);
}

// Blocks of a flattened (batch × heads × tiles) grid.
static unsigned attn_blocks(long long outer, int T, int tile) {
    long long n = outer * ((T + tile - 1) / tile);
    LPOI_ASSERT(n <= 0x7fffffffLL);
    return (unsigned)n;
}

// bf16 math mode: q, k, v rounded to bf16 into scratch, then the tensor-core flash attention (head dim 128).
static bool attention_forward_bf16_mode(CudaImpl *c, float *out, float *lse, const float *q, const float *k,
                                        const float *v, const AttnDesc *a) {
    if (!c->math_bf16 || a->D != 128 || a->Tk == 0 || !cuda_kernel_usable(c, K_ATTN_FORWARD_BF16_D128)) return false;
    const size_t nq = (size_t)a->B * a->Tq * a->H * a->D, nkv = (size_t)a->B * a->Tk * a->KVH * a->D;
    const size_t q_bytes = round_up(nq * 2, 256), kv_bytes = round_up(nkv * 2, 256);
    uint16_t *q16 = cuda_scratch(c, q_bytes + 2 * kv_bytes);
    uint16_t *k16 = q16 + q_bytes / 2, *v16 = k16 + kv_bytes / 2;
    if (nq > INT32_MAX || nkv > INT32_MAX) return false;
    cuda_f32_to_bf16(c, q16, (int)nq, q, (int)nq, 1, (int)nq);
    cuda_f32_to_bf16(c, k16, (int)nkv, k, (int)nkv, 1, (int)nkv);
    cuda_f32_to_bf16(c, v16, (int)nkv, v, (int)nkv, 1, (int)nkv);
    return cuda_attention_forward_bf16(c, out, lse, q16, k16, v16, a);
}

static void cuda_attention_forward(Backend *be, float *out, float *lse, const float *q, const float *k, const float *v,
                                   const AttnDesc *a) {
    attn_check(a);
    if (a->B == 0 || a->Tq == 0) return;
    CudaImpl *c = cuda_impl(be);
    if (attention_forward_bf16_mode(c, out, lse, q, k, v, a)) return;
    KernelId kern = a->D <= 128 ? K_ATTN_FORWARD_D128 : K_ATTN_FORWARD_D256;
    CUDA_LAUNCH(c, kern, attn_blocks((long long)a->B * a->H, a->Tq, 16), 1, ATTN_BLOCK, KA_PTR(out), KA_PTR(lse),
                KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(a->key_mask), KA_INT(a->B), KA_INT(a->Tq), KA_INT(a->Tk),
                KA_INT(a->H), KA_INT(a->KVH), KA_INT(a->D), KA_F32(a->scale), KA_INT(a->causal ? 1 : 0),
                KA_INT(a->window));
}

// Three launches: Di = rowsum(dO ∘ O) into scratch, then dQ (blocks own query tiles), then dK/dV
// (blocks own key tiles and loop over the query heads of their kv head): no atomics, fixed order.
static void cuda_attention_backward(Backend *be, float *dq, float *dk, float *dv, const float *dout, const float *q,
                                    const float *k, const float *v, const float *out, const float *lse,
                                    const AttnDesc *a) {
    attn_check(a);
    if (a->B == 0) return;
    CudaImpl *c = cuda_impl(be);
    const bool wide = a->D > 128;
    const int tile = wide ? 8 : 16;   // BQ and BKB of the kernel instantiation
    // bf16 math mode: Di in fp32 as below, q/k/v/dout rounded to bf16 behind it in the same scratch.
    const bool bf16 = c->math_bf16 && a->D == 128 && a->Tq > 0 && a->Tk > 0 &&
                      cuda_kernel_usable(c, K_ATTN_BACKWARD_DQ_BF16_D128) &&
                      cuda_kernel_usable(c, K_ATTN_BACKWARD_DKDV_BF16_D128) && cuda_kernel_usable(c, K_F32_TO_BF16);
    const size_t nq = (size_t)a->B * a->Tq * a->H * a->D, nkv = (size_t)a->B * a->Tk * a->KVH * a->D;
    const size_t di_bytes = round_up((size_t)a->B * a->H * a->Tq * sizeof(float), 256);
    const size_t q_bytes = round_up(nq * 2, 256), kv_bytes = round_up(nkv * 2, 256);
    float *Di = NULL;
    if (a->Tq > 0) {
        size_t rows = (size_t)a->B * (size_t)a->H * (size_t)a->Tq;
        Di = cuda_scratch(c, di_bytes + (bf16 ? 2 * q_bytes + 2 * kv_bytes : 0));
        size_t blocks = (rows + CUDA_BLOCK / 32 - 1) / (CUDA_BLOCK / 32);   // one warp per row
        unsigned cap = cuda_grid_1d(c, (size_t)1 << 40);                   // one full wave
        CUDA_LAUNCH(c, K_ATTN_BACKWARD_DI, blocks < cap ? (unsigned)blocks : cap, 1, CUDA_BLOCK, KA_PTR(Di), KA_PTR(dout),
                    KA_PTR(out), KA_INT(a->B), KA_INT(a->Tq), KA_INT(a->H), KA_INT(a->D));
    }
    if (bf16 && nq <= INT32_MAX && nkv <= INT32_MAX) {
        uint16_t *q16 = (uint16_t *)((char *)Di + di_bytes), *do16 = q16 + q_bytes / 2;
        uint16_t *k16 = do16 + q_bytes / 2, *v16 = k16 + kv_bytes / 2;
        cuda_f32_to_bf16(c, q16, (int)nq, q, (int)nq, 1, (int)nq);
        cuda_f32_to_bf16(c, do16, (int)nq, dout, (int)nq, 1, (int)nq);
        cuda_f32_to_bf16(c, k16, (int)nkv, k, (int)nkv, 1, (int)nkv);
        cuda_f32_to_bf16(c, v16, (int)nkv, v, (int)nkv, 1, (int)nkv);
        if (cuda_attention_backward_bf16(c, dq, dk, dv, do16, q16, k16, v16, lse, Di, a)) return;
    }
    if (a->Tq > 0) {
        CUDA_LAUNCH(c, wide ? K_ATTN_BACKWARD_DQ_D256 : K_ATTN_BACKWARD_DQ_D128, attn_blocks((long long)a->B * a->H, a->Tq, tile),
                    1, ATTN_BLOCK, KA_PTR(dq), KA_PTR(dout), KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(lse), KA_PTR(Di),
                    KA_PTR(a->key_mask), KA_INT(a->B), KA_INT(a->Tq), KA_INT(a->Tk), KA_INT(a->H), KA_INT(a->KVH),
                    KA_INT(a->D), KA_F32(a->scale), KA_INT(a->causal ? 1 : 0), KA_INT(a->window));
    }
    if (a->Tk > 0)   // with Tq == 0 this writes dK = dV = 0, as the CPU backend does
        CUDA_LAUNCH(c, wide ? K_ATTN_BACKWARD_DKDV_D256 : K_ATTN_BACKWARD_DKDV_D128,
                    attn_blocks((long long)a->B * a->KVH, a->Tk, tile), 1, ATTN_BLOCK, KA_PTR(dk), KA_PTR(dv), KA_PTR(dout),
                    KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(lse), KA_PTR(Di), KA_PTR(a->key_mask), KA_INT(a->B),
                    KA_INT(a->Tq), KA_INT(a->Tk), KA_INT(a->H), KA_INT(a->KVH), KA_INT(a->D), KA_F32(a->scale),
                    KA_INT(a->causal ? 1 : 0), KA_INT(a->window));
}

// ---- install ----

static bool have(const CudaImpl *c, const KernelId *ks, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!c->fn[ks[i]]) return false;
    return true;
}
#define HAVE(...) have(c, (const KernelId[]){__VA_ARGS__}, sizeof((const KernelId[]){__VA_ARGS__}) / sizeof(KernelId))

void cuda_ops_install(Backend *be) {
    const CudaImpl *c = cuda_impl(be);
    if (HAVE(K_ADD)) be->add = cuda_add;
    if (HAVE(K_AXPY)) be->axpy = cuda_axpy;
    if (HAVE(K_SCALE)) be->scale = cuda_scale;
    if (HAVE(K_SUM_SQUARES_PARTIAL, K_SUM_SQUARES_FINAL)) be->sum_squares = cuda_sum_squares;
    if (HAVE(K_SILU_FORWARD)) be->silu_forward = cuda_silu_forward;
    if (HAVE(K_SILU_BACKWARD)) be->silu_backward = cuda_silu_backward;
    if (HAVE(K_SWIGLU_FORWARD)) be->swiglu_forward = cuda_swiglu_forward;
    if (HAVE(K_SWIGLU_BACKWARD)) be->swiglu_backward = cuda_swiglu_backward;
    if (HAVE(K_GELU_FORWARD)) be->gelu_forward = cuda_gelu_forward;
    if (HAVE(K_GELU_BACKWARD)) be->gelu_backward = cuda_gelu_backward;
    if (HAVE(K_ADAMW)) be->adamw_update = cuda_adamw_update;
    if (HAVE(K_RMSNORM_FORWARD)) be->rmsnorm_forward = cuda_rmsnorm_forward;
    if (HAVE(K_RMSNORM_BACKWARD, K_RMSNORM_BACKWARD_DW_FINAL))
        be->rmsnorm_backward = cuda_rmsnorm_backward;
    if (HAVE(K_LAYERNORM_FORWARD)) be->layernorm_forward = cuda_layernorm_forward;
    if (HAVE(K_LAYERNORM_BACKWARD, K_RMSNORM_BACKWARD_DW_FINAL))
        be->layernorm_backward = cuda_layernorm_backward;
    if (HAVE(K_GEMM_128, K_GEMM_64)) {
        be->gemm = cuda_gemm;
        be->matmul_forward = cuda_matmul_forward;
        if (HAVE(K_COLSUM_PARTIAL, K_COLSUM_FINAL)) be->matmul_backward = cuda_matmul_backward;
    }
    if (HAVE(K_EMBEDDING_FORWARD)) be->embedding_forward = cuda_embedding_forward;
    if (HAVE(K_EMBEDDING_BACKWARD)) be->embedding_backward = cuda_embedding_backward;
    if (HAVE(K_SOFTMAX_FORWARD)) be->softmax_forward = cuda_softmax_forward;
    if (HAVE(K_SOFTMAX_BACKWARD)) be->softmax_backward = cuda_softmax_backward;
    if (HAVE(K_ROPE)) {
        be->rope_forward = cuda_rope_forward;
        be->rope_backward = cuda_rope_backward;
    }
    if (HAVE(K_LOGPROB_FORWARD)) be->logprob_forward = cuda_logprob_forward;
    if (HAVE(K_LOGPROB_BACKWARD)) be->logprob_backward = cuda_logprob_backward;
    if (HAVE(K_ATTN_FORWARD_D128, K_ATTN_FORWARD_D256)) be->attention_forward = cuda_attention_forward;
    if (HAVE(K_ATTN_BACKWARD_DI, K_ATTN_BACKWARD_DQ_D128, K_ATTN_BACKWARD_DQ_D256, K_ATTN_BACKWARD_DKDV_D128,
             K_ATTN_BACKWARD_DKDV_D256))
        be->attention_backward = cuda_attention_backward;
}
