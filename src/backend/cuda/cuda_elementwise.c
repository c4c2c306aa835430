// cuda_elementwise.c — launchers of cu/elementwise.cu: add, axpy, scale, sum_squares and the activations
// (silu, swiglu, gelu). Grid-stride kernels: cuda_grid_1d blocks of CUDA_BLOCK threads.
#include "backend/cuda/cuda_ops.h"
#include "base/check.h"

// ---- elementwise helpers ----

void cuda_add(Backend *be, float *out, const float *a, const float *b, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_ADD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(a), KA_PTR(b), KA_U64(n));
}

void cuda_axpy(Backend *be, float *y, float alpha, const float *x, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_AXPY, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(y), KA_F32(alpha), KA_PTR(x), KA_U64(n));
}

void cuda_scale(Backend *be, float *x, float alpha, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_SCALE, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(x), KA_F32(alpha), KA_U64(n));
}

// Two passes in fp64. The number of partial sums depends on n alone (never on the GPU), so a given
// input always reduces in the same order: bit-identical results across runs and devices.
#define SUM_SQUARES_MAX_PARTIALS 1024

double cuda_sum_squares(Backend *be, const float *x, size_t n) {
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

void cuda_silu_forward(Backend *be, float *out, const float *x, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_SILU_FORWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(x), KA_U64(n));
}

void cuda_silu_backward(Backend *be, float *dx, const float *dout, const float *x, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_SILU_BACKWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(dx), KA_PTR(dout), KA_PTR(x), KA_U64(n));
}

void cuda_swiglu_forward(Backend *be, float *out, const float *gate, const float *up, size_t n) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_SWIGLU_FORWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(gate), KA_PTR(up), KA_U64(n));
}

void cuda_swiglu_backward(Backend *be, float *dgate, float *dup, const float *dout, const float *gate,
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

void cuda_gelu_forward(Backend *be, float *out, const float *x, size_t n, GeluKind kind) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_GELU_FORWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(x), KA_U64(n),
                KA_INT(gelu_kind_index(kind)));
}

void cuda_gelu_backward(Backend *be, float *dx, const float *dout, const float *x, size_t n, GeluKind kind) {
    if (!n) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_GELU_BACKWARD, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(dx), KA_PTR(dout), KA_PTR(x), KA_U64(n),
                KA_INT(gelu_kind_index(kind)));
}
