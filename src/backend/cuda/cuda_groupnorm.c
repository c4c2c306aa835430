// cuda_groupnorm.c — launchers of cu/groupnorm.cu: GroupNorm forward, and the backward as one dx launch (a
// block per group) and one dw/db launch (a block per 32 channels). Launch shapes depend on the sizes alone.
#include "backend/cuda/cuda_ops.h"
#include "groupnorm.h"
#include "base/check.h"

void cuda_groupnorm_forward(Backend *be, float *out, float *mean, float *rstd, const float *x, const float *w,
                            const float *b, int N, int P, int C, int G, float eps) {
    if (N <= 0 || P <= 0 || C <= 0) return;
    LPOI_ASSERT(G > 0 && C % G == 0 && (long long)P * (C / G) <= 0x7fffffff);
    CUDA_LAUNCH(cuda_impl(be), K_GROUPNORM_FORWARD, (unsigned)(N * G), 1, GN_BLOCK, KA_PTR(out), KA_PTR(mean),
                KA_PTR(rstd), KA_PTR(x), KA_PTR(w), KA_PTR(b), KA_INT(N), KA_INT(P), KA_INT(C), KA_INT(G), KA_F32(eps));
}

void cuda_groupnorm_backward(Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                             const float *w, const float *mean, const float *rstd, int N, int P, int C, int G) {
    if (N <= 0 || P <= 0 || C <= 0) return;
    LPOI_ASSERT(G > 0 && C % G == 0);
    CudaImpl *c = cuda_impl(be);
    if (dx)
        CUDA_LAUNCH(c, K_GROUPNORM_BACKWARD_DX, (unsigned)(N * G), 1, GN_BLOCK, KA_PTR(dx), KA_PTR(dout), KA_PTR(x),
                    KA_PTR(w), KA_PTR(mean), KA_PTR(rstd), KA_INT(N), KA_INT(P), KA_INT(C), KA_INT(G));
    if (dw || db)
        CUDA_LAUNCH(c, K_GROUPNORM_BACKWARD_DW, (unsigned)((C + 31) / 32), 1, 32 * GN_DW_ROWS, KA_PTR(dw), KA_PTR(db),
                    KA_PTR(dout), KA_PTR(x), KA_PTR(mean), KA_PTR(rstd), KA_INT(N), KA_INT(P), KA_INT(C), KA_INT(G));
}
