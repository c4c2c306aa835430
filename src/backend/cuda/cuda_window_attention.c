// cuda_window_attention.c — launchers of cu/window_attention.cu: one block per (window, head); the backward's
// bias gradient through a dS scratch summed over windows in order (no atomics).
#include "backend/cuda/cuda_ops.h"
#include "window_attention.h"
#include "base/check.h"

static void win_check(int BW, int nW, int N, int H, int D, const float *mask) {
    if (N > WIN_MAX_N || D > WIN_MAX_D)
        LPOI_DIE_HINT("run this model with --device cpu, or widen cu/window_attention.h",
                      "window attention on CUDA: N = %d tokens (at most %d), head dim %d (at most %d)", N, WIN_MAX_N,
                      D, WIN_MAX_D);
    LPOI_ASSERT(!mask || (nW > 0 && BW % nW == 0));
    LPOI_ASSERT((long long)BW * H <= 0x7fffffff);
}

void cuda_window_attention_forward(Backend *be, float *out, float *lse, const float *q, const float *k, const float *v,
                                   const float *bias, const float *mask, int BW, int nW, int N, int H, int D,
                                   float scale) {
    if (BW <= 0 || N <= 0 || H <= 0 || D <= 0) return;
    win_check(BW, nW, N, H, D, mask);
    CUDA_LAUNCH(cuda_impl(be), K_WINDOW_ATTENTION_FORWARD, (unsigned)(BW * H), 1, WIN_BLOCK, KA_PTR(out), KA_PTR(lse),
                KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(bias), KA_PTR(mask), KA_INT(BW), KA_INT(nW), KA_INT(N),
                KA_INT(H), KA_INT(D), KA_F32(scale));
}

void cuda_window_attention_backward(Backend *be, float *dq, float *dk, float *dv, float *dbias, const float *dout,
                                    const float *q, const float *k, const float *v, const float *bias,
                                    const float *mask, const float *out, const float *lse, int BW, int nW, int N,
                                    int H, int D, float scale) {
    if (BW <= 0 || N <= 0 || H <= 0 || D <= 0) return;
    win_check(BW, nW, N, H, D, mask);
    CudaImpl *c = cuda_impl(be);
    float *ds = dbias ? cuda_scratch(c, (size_t)BW * H * N * N * sizeof(float)) : NULL;
    CUDA_LAUNCH_SMEM(c, K_WINDOW_ATTENTION_BACKWARD, (unsigned)(BW * H), 1, 1, WIN_BLOCK, KA_PTR(dq), KA_PTR(dk),
                     KA_PTR(dv), KA_PTR(ds), KA_PTR(dout), KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(bias),
                     KA_PTR(mask), KA_PTR(out), KA_PTR(lse), KA_INT(BW), KA_INT(nW), KA_INT(N), KA_INT(H), KA_INT(D),
                     KA_F32(scale));
    if (dbias)
        CUDA_LAUNCH(c, K_WINDOW_ATTENTION_DBIAS, cuda_grid_1d(c, (size_t)N * N * H), 1, CUDA_BLOCK, KA_PTR(dbias),
                    KA_PTR(ds), KA_INT(BW), KA_INT(N), KA_INT(H));
}
