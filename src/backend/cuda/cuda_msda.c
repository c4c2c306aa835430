// cuda_msda.c — launchers of cu/msda.cu: multi-scale deformable attention forward, and the deterministic
// backward in two launches (per-sample dloc/dattn; dvalue gathered by the blocks that own its tiles).
#include "backend/cuda/cuda_ops.h"
#include "msda.h"
#include "base/check.h"

// The levels' (h, w) packed for the kernels (two per u64, 16 bits each); dies on shapes the kernels cannot take.
static void msda_pack_levels(const int *level_hw, int S, int L, unsigned long long lv[4]) {
    if (L < 1 || L > MSDA_MAX_LEVELS)
        LPOI_DIE_HINT("run this model with --device cpu", "msda on CUDA: %d levels (at most %d)", L, MSDA_MAX_LEVELS);
    long long rows = 0;
    lv[0] = lv[1] = lv[2] = lv[3] = 0;
    for (int l = 0; l < L; l++) {
        int h = level_hw[2 * l], w = level_hw[2 * l + 1];
        if (h < 1 || w < 1 || h > MSDA_MAX_SIDE || w > MSDA_MAX_SIDE)
            LPOI_DIE_HINT("run this model with --device cpu", "msda on CUDA: level %d is %dx%d (sides 1..%d)", l, h, w,
                          MSDA_MAX_SIDE);
        lv[l / 2] |= (unsigned long long)((unsigned)h << 16 | (unsigned)w) << (32 * (l & 1));
        rows += (long long)h * w;
    }
    if (rows != S) LPOI_DIE("msda: the levels hold %lld value rows, S = %d", rows, S);
}

#define MSDA_ARGS(lv) KA_INT(B), KA_INT(S), KA_INT(Q), KA_INT(H), KA_INT(D), KA_INT(L), KA_INT(P), KA_U64(lv[0]), \
                      KA_U64(lv[1]), KA_U64(lv[2]), KA_U64(lv[3])

void cuda_msda_forward(Backend *be, float *out, const float *value, const float *loc, const float *attn,
                       const int *level_hw, int B, int S, int Q, int H, int D, int L, int P) {
    if (B <= 0 || Q <= 0 || H <= 0 || D <= 0) return;
    CudaImpl *c = cuda_impl(be);
    unsigned long long lv[4];
    msda_pack_levels(level_hw, S, L, lv);
    CUDA_LAUNCH(c, K_MSDA_FORWARD, cuda_grid_1d(c, (size_t)B * Q * H * D), 1, MSDA_BLOCK, KA_PTR(out), KA_PTR(value),
                KA_PTR(loc), KA_PTR(attn), MSDA_ARGS(lv));
}

void cuda_msda_backward(Backend *be, float *dvalue, float *dloc, float *dattn, const float *dout, const float *value,
                        const float *loc, const float *attn, const int *level_hw, int B, int S, int Q, int H, int D,
                        int L, int P) {
    if (B <= 0 || H <= 0 || D <= 0) return;
    CudaImpl *c = cuda_impl(be);
    unsigned long long lv[4];
    msda_pack_levels(level_hw, S, L, lv);
    if ((dloc || dattn) && Q > 0 && P > 0) {
        size_t warps = (size_t)B * Q * H * L * P;   // one per sample
        CUDA_LAUNCH(c, K_MSDA_BACKWARD_SAMPLE, cuda_grid_1d(c, warps * 32), 1, MSDA_BLOCK, KA_PTR(dloc), KA_PTR(dattn),
                    KA_PTR(dout), KA_PTR(value), KA_PTR(loc), KA_PTR(attn), MSDA_ARGS(lv));
    }
    if (!dvalue) return;
    long long tiles = 0;
    for (int l = 0; l < L; l++)
        tiles += (long long)level_hw[2 * l] * ((level_hw[2 * l + 1] + MSDA_TILE_W - 1) / MSDA_TILE_W);
    if ((long long)B * H > 65535 || (D + 31) / 32 > 65535 || tiles > 0x7fffffff)
        LPOI_DIE_HINT("run this model with --device cpu", "msda backward on CUDA: B·H = %d, D = %d out of range", B * H, D);
    CUDA_LAUNCH_3D(c, K_MSDA_BACKWARD_VALUE, (unsigned)tiles, (unsigned)(B * H), (unsigned)((D + 31) / 32), 32,
                   KA_PTR(dvalue), KA_PTR(dout), KA_PTR(loc), KA_PTR(attn), MSDA_ARGS(lv));
}
