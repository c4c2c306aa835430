// cuda_adamw.c — launcher of cu/adamw.cu (torch.optim.AdamW's update, scalars prepared on the host).
#include "backend/cuda/cuda_ops.h"
#include "base/check.h"
#include <math.h>

// ---- optimiser ----

void cuda_adamw_update(Backend *be, float *p, const float *g, float *m, float *v, size_t n, float lr,
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
