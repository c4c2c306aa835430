// msda.cu — multi-scale deformable attention (HF multi_scale_deformable_attention), forward and backward
// (backend/ops.h msda_forward/backward; cpu_msda.c is the reference). Bilinear sampling as torch's grid_sample
// (zero padding, align_corners=False), the pixel coordinate rounded step by step as torch does it in fp32.
//
// The deterministic backward. The reference CUDA kernel (Deformable DETR's ms_deform_attn) scatters every
// sample's four bilinear terms into dvalue with atomicAdd: the sum order, and so the bits, change from run to
// run. Here dvalue is GATHERED instead, by its owner: one block owns a tile of value (one row y of one level,
// MSDA_TILE_W columns, 32 channels of one head of one image) in shared memory, walks all Q·P samples of its
// (image, head, level) in order (q, p), and adds the terms of the samples whose bilinear footprint (rows
// floor(iy), floor(iy)+1) touches its tile. Every value element is written by exactly one thread, from terms
// added in (q, p) order — the CPU backend's order — so the result has the same bits on every run, whatever the
// scheduling (the grid depends on the shapes alone).
// Pass 1 (msda_backward_sample_f32: dloc, dattn) is a per-sample gather and needs no such care.
// Cost: each tile block scans the locations of all samples of its head and level (Q·P reads of 8 bytes, from
// L2) and does the arithmetic only for the samples that touch it. That scan is quadratic in the image size;
// sorting the samples by row first (a stable counting sort) would make it linear: the next step if it shows.
#include "common.cuh"
#include "msda.h"

// ptxcheck: msda_forward_f32 max_registers=64
// ptxcheck: msda_backward_sample_f32 max_registers=64
// ptxcheck: msda_backward_value_f32 max_registers=64

// Level l's (h, w): two levels per u64 (the even one in the low half), 16 bits each.
__device__ __forceinline__ unsigned msda_level_hw(int l, unsigned long long lv0, unsigned long long lv1,
                                                  unsigned long long lv2, unsigned long long lv3) {
    const unsigned long long v = l < 2 ? lv0 : l < 4 ? lv1 : l < 6 ? lv2 : lv3;
    return (unsigned)(v >> (32 * (l & 1)));
}
#define MSDA_H(hw) ((int)((hw) >> 16))
#define MSDA_W(hw) ((int)((hw) & 0xffffu))
#define MSDA_LEVELS lv0, lv1, lv2, lv3

// First value row of level l (Σ of the earlier levels' h·w).
__device__ __forceinline__ int msda_level_start(int l, unsigned long long lv0, unsigned long long lv1,
                                                unsigned long long lv2, unsigned long long lv3) {
    int s = 0;
    for (int i = 0; i < l; i++) {
        const unsigned hw = msda_level_hw(i, MSDA_LEVELS);
        s += MSDA_H(hw) * MSDA_W(hw);
    }
    return s;
}

// One sample's bilinear footprint: corner (x0, y0) (-2 when wholly outside), the fractions and their complements.
struct MsdaTap { int x0, y0; float ex, ey, ox, oy; };

__device__ __forceinline__ MsdaTap msda_tap(float lx, float ly, int h, int w) {
    // torch: grid = 2 loc − 1, ix = ((grid + 1) w − 1) / 2, each step rounded (no FMA contraction)
    const float gx = __fsub_rn(__fmul_rn(2.0f, lx), 1.0f), gy = __fsub_rn(__fmul_rn(2.0f, ly), 1.0f);
    const float ix = __fsub_rn(__fmul_rn(__fadd_rn(gx, 1.0f), (float)w), 1.0f) / 2.0f;
    const float iy = __fsub_rn(__fmul_rn(__fadd_rn(gy, 1.0f), (float)h), 1.0f) / 2.0f;
    const float fx = floorf(ix), fy = floorf(iy);
    MsdaTap t;
    t.ex = __fsub_rn(ix, fx);
    t.ey = __fsub_rn(iy, fy);
    t.ox = __fsub_rn(__fadd_rn(fx, 1.0f), ix);
    t.oy = __fsub_rn(__fadd_rn(fy, 1.0f), iy);
    const bool near = fx > -2.0f && fx < (float)w && fy > -2.0f && fy < (float)h;   // false for NaN too
    t.x0 = near ? (int)fx : -2;
    t.y0 = near ? (int)fy : -2;
    return t;
}

// Corner k (0 nw, 1 ne, 2 sw, 3 se): its value row within the level (-1 outside) and bilinear weight.
__device__ __forceinline__ int msda_corner(const MsdaTap &t, int k, int h, int w, float *wt) {
    const int x = t.x0 + (k & 1), y = t.y0 + (k >> 1);
    *wt = __fmul_rn(k & 1 ? t.ex : t.ox, k >> 1 ? t.ey : t.oy);
    return x >= 0 && x < w && y >= 0 && y < h ? y * w + x : -1;
}

// out[b, q, h, d] = Σ_{l,p} attn · bilinear: one thread per output element (grid-stride), d fastest, so a warp
// reads 32 consecutive channels of each corner.
extern "C" __global__ void msda_forward_f32(float *out, const float *value, const float *loc, const float *attn,
                                            int B, int S, int Q, int H, int D, int L, int P, unsigned long long lv0,
                                            unsigned long long lv1, unsigned long long lv2, unsigned long long lv3) {
    const unsigned long long n = (unsigned long long)B * Q * H * D;
    for (unsigned long long e = grid_start(); e < n; e += grid_stride()) {
        const int d = (int)(e % D);
        const unsigned long long row = e / D;            // (b·Q + q)·H + h
        const int h = (int)(row % H);
        const unsigned long long b = row / H / Q;
        const float *vh = value + b * S * H * D + (unsigned long long)h * D + d;
        float acc = 0.0f;
        for (int l = 0, start = 0; l < L; l++) {
            const unsigned hw = msda_level_hw(l, MSDA_LEVELS);
            const int lh = MSDA_H(hw), lw = MSDA_W(hw);
            for (int p = 0; p < P; p++) {
                const unsigned long long s = (row * L + l) * P + p;
                const MsdaTap t = msda_tap(loc[2 * s], loc[2 * s + 1], lh, lw);
                const float a = attn[s];
                for (int k = 0; k < 4; k++) {
                    float wt;
                    const int r = msda_corner(t, k, lh, lw, &wt);
                    if (r >= 0) acc += __fmul_rn(a, wt) * vh[(unsigned long long)(start + r) * H * D];
                }
            }
            start += lh * lw;
        }
        out[e] = acc;
    }
}

// dattn and dloc of one sample (b, q, h, l, p) per warp, the lanes over channels (warp_sum: a fixed order).
extern "C" __global__ void msda_backward_sample_f32(float *dloc, float *dattn, const float *dout, const float *value,
                                                    const float *loc, const float *attn, int B, int S, int Q, int H,
                                                    int D, int L, int P, unsigned long long lv0,
                                                    unsigned long long lv1, unsigned long long lv2,
                                                    unsigned long long lv3) {
    const int lane = threadIdx.x & 31;
    const unsigned long long nsamp = (unsigned long long)B * Q * H * L * P;
    const unsigned long long warps = (unsigned long long)gridDim.x * (blockDim.x >> 5);
    for (unsigned long long s = (unsigned long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); s < nsamp;
         s += warps) {
        const int l = (int)(s / P % L);
        const unsigned long long row = s / P / L;         // (b·Q + q)·H + h
        const int h = (int)(row % H);
        const unsigned long long b = row / H / Q;
        const unsigned hw = msda_level_hw(l, MSDA_LEVELS);
        const int lh = MSDA_H(hw), lw = MSDA_W(hw), start = msda_level_start(l, MSDA_LEVELS);
        const MsdaTap t = msda_tap(loc[2 * s], loc[2 * s + 1], lh, lw);
        const float *g = dout + row * D, *vh = value + b * S * H * D + (unsigned long long)h * D;
        const float dwx[4] = {-t.oy, t.oy, -t.ey, t.ey}, dwy[4] = {-t.ox, -t.ex, t.ox, t.ex};
        float da = 0.0f, gx = 0.0f, gy = 0.0f;
        for (int k = 0; k < 4; k++) {
            float wt;
            const int r = msda_corner(t, k, lh, lw, &wt);
            if (r < 0) continue;                          // uniform over the warp
            const float *v = vh + (unsigned long long)(start + r) * H * D;
            float dot = 0.0f;
            for (int d = lane; d < D; d += 32) dot += g[d] * v[d];
            da += wt * dot;
            gx += dwx[k] * dot;
            gy += dwy[k] * dot;
        }
        da = warp_sum(da);
        gx = warp_sum(gx);
        gy = warp_sum(gy);
        if (lane == 0) {
            if (dattn) dattn[s] = da;
            if (dloc) {
                dloc[2 * s] = attn[s] * gx * (float)lw;
                dloc[2 * s + 1] = attn[s] * gy * (float)lh;
            }
        }
    }
}

// dvalue by owner gather (see the top of the file). Block: 32 threads (one warp; lane = channel d0 + lane).
// grid.x: the tiles of all levels, level by level, row-major (row y, column tile); grid.y: b·H + h; grid.z:
// channel slices of 32. Every sample chunk of 32 is first evaluated one per lane into shared memory, then the
// warp applies the chunk's terms in sample order.
extern "C" __global__ void msda_backward_value_f32(float *dvalue, const float *dout, const float *loc,
                                                   const float *attn, int B, int S, int Q, int H, int D, int L, int P,
                                                   unsigned long long lv0, unsigned long long lv1,
                                                   unsigned long long lv2, unsigned long long lv3) {
    __shared__ float acc[MSDA_TILE_W * 32];
    __shared__ float c0s[32], c1s[32];
    __shared__ int x0s[32], qs[32];
    const int lane = threadIdx.x, b = blockIdx.y / H, h = blockIdx.y % H, d = blockIdx.z * 32 + lane;
    // This block's level, row and column tile.
    int l = 0, start = 0, tile = blockIdx.x, lh = 0, lw = 0, tiles_w = 0;
    for (; l < L; l++) {
        const unsigned hw = msda_level_hw(l, MSDA_LEVELS);
        lh = MSDA_H(hw);
        lw = MSDA_W(hw);
        tiles_w = (lw + MSDA_TILE_W - 1) / MSDA_TILE_W;
        if (tile < lh * tiles_w) break;
        tile -= lh * tiles_w;
        start += lh * lw;
    }
    if (l >= L) return;                                   // a grid larger than the tiles (never launched so)
    const int y = tile / tiles_w, x_base = (tile % tiles_w) * MSDA_TILE_W;
    for (int x = 0; x < MSDA_TILE_W; x++) acc[x * 32 + lane] = 0.0f;
    const int QP = Q * P;
    for (int j0 = 0; j0 < QP; j0 += 32) {
        // one sample per lane: does its footprint touch row y in this tile? then its two column terms
        const int j = j0 + lane;
        int x0 = -1000000, q = 0;
        float c0 = 0.0f, c1 = 0.0f;
        if (j < QP) {
            q = j / P;
            const unsigned long long s = ((((unsigned long long)b * Q + q) * H + h) * L + l) * P + j % P;
            const MsdaTap t = msda_tap(loc[2 * s], loc[2 * s + 1], lh, lw);
            const bool top = t.y0 == y, bottom = t.y0 + 1 == y;   // this row as the footprint's top or bottom
            if ((top || bottom) && t.x0 + 1 >= x_base && t.x0 < x_base + MSDA_TILE_W) {
                const float a = attn[s], wy = top ? t.oy : t.ey;
                x0 = t.x0;
                c0 = t.x0 >= 0 ? __fmul_rn(a, __fmul_rn(t.ox, wy)) : 0.0f;          // column x0 (if inside)
                c1 = t.x0 + 1 < lw ? __fmul_rn(a, __fmul_rn(t.ex, wy)) : 0.0f;      // column x0 + 1
            }
        }
        if (warp_sum(x0 > -1000000 ? 1 : 0) == 0) continue;   // most chunks miss the tile: no shared traffic
        x0s[lane] = x0;
        qs[lane] = q;
        c0s[lane] = c0;
        c1s[lane] = c1;
        __syncthreads();
        const int n = QP - j0 < 32 ? QP - j0 : 32;
        for (int k = 0; k < n; k++) {
            const int xk = x0s[k] - x_base;
            if (xk < -1) continue;                        // not this tile (uniform: shared values)
            const float g = d < D ? dout[(((unsigned long long)b * Q + qs[k]) * H + h) * D + d] : 0.0f;
            if (xk >= 0) acc[xk * 32 + lane] += c0s[k] * g;
            if (xk + 1 < MSDA_TILE_W) acc[(xk + 1) * 32 + lane] += c1s[k] * g;
        }
        __syncthreads();
    }
    if (d >= D) return;
    for (int x = 0; x < MSDA_TILE_W && x_base + x < lw; x++)
        dvalue[(((unsigned long long)b * S + start + y * lw + x_base + x) * H + h) * D + d] = acc[x * 32 + lane];
}
