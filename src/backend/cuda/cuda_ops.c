// cuda_ops.c — the CUDA backend's op table: one small wrapper per Backend slot that checks sizes, picks the
// grid and packs the kernel's arguments (each typed: cuda_launch checks them against cuda_kernels[].sig,
// and the parity test checks those against the PTX). Semantics are backend.h's; the kernels are in cu/.
// Ops without a kernel yet stay NULL: backend_supports() reports them and callers skip or fall back.
#include "backend/cuda/cuda_backend.h"
#include "base/check.h"
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
    [K_RMSNORM_FORWARD] = {"norm", "rmsnorm_forward_f32", "ppppiif"},
    [K_RMSNORM_BACKWARD_DX] = {"norm", "rmsnorm_backward_dx_f32", "pppppii"},
    [K_RMSNORM_BACKWARD_DW_PARTIAL] = {"norm", "rmsnorm_backward_dw_partial_f32", "ppppiii"},
    [K_RMSNORM_BACKWARD_DW_FINAL] = {"norm", "rmsnorm_backward_dw_final_f32", "ppii"},
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

static void cuda_rmsnorm_forward(Backend *be, float *out, float *rstd, const float *x, const float *w, int N, int C,
                                 float eps) {
    if (N <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_RMSNORM_FORWARD, row_grid(c, N), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(rstd), KA_PTR(x), KA_PTR(w),
                KA_INT(N), KA_INT(C), KA_F32(eps));
}

#define RMSNORM_DW_MAX_CHUNKS 128   // partial sums per column; fixed by N alone, so dw is deterministic

static void cuda_rmsnorm_backward(Backend *be, float *dx, float *dw, const float *dout, const float *x, const float *w,
                                  const float *rstd, int N, int C) {
    if (N <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    unsigned col_blocks = (unsigned)((C + CUDA_BLOCK - 1) / CUDA_BLOCK);
    // dw first: dx may alias dout, and the dx kernel overwrites it.
    if (dw) {
        int target = N < RMSNORM_DW_MAX_CHUNKS ? N : RMSNORM_DW_MAX_CHUNKS;
        int rows_per_chunk = (int)(((long long)N + target - 1) / target);
        int chunks = (int)(((long long)N + rows_per_chunk - 1) / rows_per_chunk);
        void *partial = cuda_scratch(c, (size_t)chunks * (size_t)C * sizeof(float));
        CUDA_LAUNCH(c, K_RMSNORM_BACKWARD_DW_PARTIAL, col_blocks, (unsigned)chunks, CUDA_BLOCK, KA_PTR(partial),
                    KA_PTR(dout), KA_PTR(x), KA_PTR(rstd), KA_INT(N), KA_INT(C), KA_INT(rows_per_chunk));
        CUDA_LAUNCH(c, K_RMSNORM_BACKWARD_DW_FINAL, col_blocks, 1, CUDA_BLOCK, KA_PTR(dw), KA_PTR(partial),
                    KA_INT(chunks), KA_INT(C));
    }
    if (dx)
        CUDA_LAUNCH(c, K_RMSNORM_BACKWARD_DX, row_grid(c, N), 1, CUDA_BLOCK, KA_PTR(dx), KA_PTR(dout), KA_PTR(x), KA_PTR(w),
                    KA_PTR(rstd), KA_INT(N), KA_INT(C));
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
    if (HAVE(K_RMSNORM_BACKWARD_DX, K_RMSNORM_BACKWARD_DW_PARTIAL, K_RMSNORM_BACKWARD_DW_FINAL))
        be->rmsnorm_backward = cuda_rmsnorm_backward;
}
