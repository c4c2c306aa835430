// cuda_softmax.c — launchers of cu/softmax.cu (row kernels; launch shapes from cu/rows.h).
#include "backend/cuda/cuda_ops.h"
#include "rows.h"

// ---- softmax ----

void cuda_softmax_forward(Backend *be, float *out, const float *x, const float *mask, int R, int C) {
    if (R <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    int G = rows_group(C, SOFTMAX_FWD_NV);
    unsigned block, grid = rows_grid(R, G, &block);
    CUDA_LAUNCH(c, K_SOFTMAX_FORWARD, grid, 1, block, KA_PTR(out), KA_PTR(x), KA_PTR(mask), KA_INT(R), KA_INT(C),
                KA_INT(G));
}

void cuda_softmax_backward(Backend *be, float *dx, const float *dout, const float *out, int R, int C) {
    if (R <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    int G = rows_group(C, SOFTMAX_BWD_NV);
    unsigned block, grid = rows_grid(R, G, &block);
    CUDA_LAUNCH(c, K_SOFTMAX_BACKWARD, grid, 1, block, KA_PTR(dx), KA_PTR(dout), KA_PTR(out), KA_INT(R), KA_INT(C),
                KA_INT(G));
}
