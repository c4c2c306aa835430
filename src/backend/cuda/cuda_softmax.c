// cuda_softmax.c — launchers of cu/softmax.cu (row kernels; launch shapes from cu/rows.h).
#include "backend/cuda/cuda_ops.h"
#include "rows.h"

// ---- softmax ----

// Both kernels take (three [R, C] arrays, R, C, G) and the same launch shape; nv: their quads per thread.
static void softmax_launch(Backend *be, KernelId k, int nv, const void *a0, const void *a1, const void *a2, int R, int C) {
    if (R <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    int G = rows_group(C, nv);
    unsigned block, grid = rows_grid(R, G, &block);
    CUDA_LAUNCH(c, k, grid, 1, block, KA_PTR(a0), KA_PTR(a1), KA_PTR(a2), KA_INT(R), KA_INT(C), KA_INT(G));
}

void cuda_softmax_forward(Backend *be, float *out, const float *x, const float *mask, int R, int C) {
    softmax_launch(be, K_SOFTMAX_FORWARD, SOFTMAX_FWD_NV, out, x, mask, R, C);
}

void cuda_softmax_backward(Backend *be, float *dx, const float *dout, const float *out, int R, int C) {
    softmax_launch(be, K_SOFTMAX_BACKWARD, SOFTMAX_BWD_NV, dx, dout, out, R, C);
}
