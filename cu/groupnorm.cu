// groupnorm.cu — torch.nn.GroupNorm (affine) on channels-last x [N,P,C], forward and backward
// (backend/ops.h groupnorm_forward/backward; cpu_groupnorm.c is the reference). One block per (n, g) group:
// the group's statistics in fp64 (two passes, as the CPU backend: mean, then the centred variance) by
// block_sum, a fixed order for a fixed block size. dw/db: one block per 32 channels, its 8 warps each summing
// every 8th row (n, p) in order in fp64, then the 8 partials added in warp order; no atomics anywhere, so the
// same inputs give the same bits on every run.
#include "common.cuh"
#include "groupnorm.h"

// ptxcheck: groupnorm_forward_f32 max_registers=48
// ptxcheck: groupnorm_backward_dx_f32 max_registers=48
// ptxcheck: groupnorm_backward_dw_f32 max_registers=48

// Element e of group (n, g) (e = p·Cg + j) sits at x[(n·P + p)·C + g·Cg + j].
__device__ __forceinline__ unsigned long long gn_index(unsigned long long n, int g, int e, int P, int C, int Cg) {
    return (n * P + e / Cg) * C + (unsigned long long)g * Cg + e % Cg;
}

// grid.x = N·G blocks of GN_BLOCK threads.
extern "C" __global__ void groupnorm_forward_f32(float *out, float *mean, float *rstd, const float *x, const float *w,
                                                 const float *b, int N, int P, int C, int G, float eps) {
    __shared__ double shared[32];
    const int g = blockIdx.x % G, Cg = C / G, M = P * Cg;
    const unsigned long long n = blockIdx.x / G;
    double s = 0.0;
    for (int e = threadIdx.x; e < M; e += blockDim.x) s += x[gn_index(n, g, e, P, C, Cg)];
    const double md = block_sum(s, shared) / M;
    double v = 0.0;
    for (int e = threadIdx.x; e < M; e += blockDim.x) {
        const double d = x[gn_index(n, g, e, P, C, Cg)] - md;
        v += d * d;
    }
    v = block_sum(v, shared);
    const float m = (float)md, r = 1.0f / sqrtf((float)(v / M) + eps);
    if (threadIdx.x == 0) {
        if (mean) mean[blockIdx.x] = m;
        if (rstd) rstd[blockIdx.x] = r;
    }
    for (int e = threadIdx.x; e < M; e += blockDim.x) {
        const unsigned long long i = gn_index(n, g, e, P, C, Cg);
        const int c = g * Cg + e % Cg;
        out[i] = (x[i] - m) * r * w[c] + b[c];
    }
}

// dx = r (u − mean(u) − x̂ mean(u x̂)) over the group, u = w∘dy, x̂ = (x − mean) r. grid.x = N·G.
extern "C" __global__ void groupnorm_backward_dx_f32(float *dx, const float *dout, const float *x, const float *w,
                                                     const float *mean, const float *rstd, int N, int P, int C, int G) {
    __shared__ double shared[32];
    const int g = blockIdx.x % G, Cg = C / G, M = P * Cg;
    const unsigned long long n = blockIdx.x / G;
    const float m = mean[blockIdx.x], r = rstd[blockIdx.x];
    double su = 0.0, sux = 0.0;
    for (int e = threadIdx.x; e < M; e += blockDim.x) {
        const unsigned long long i = gn_index(n, g, e, P, C, Cg);
        const float u = w[g * Cg + e % Cg] * dout[i];
        su += u;
        sux += (double)u * ((x[i] - m) * r);
    }
    su = block_sum(su, shared);
    sux = block_sum(sux, shared);
    const float mu = (float)(su / M), mux = (float)(sux / M);
    for (int e = threadIdx.x; e < M; e += blockDim.x) {
        const unsigned long long i = gn_index(n, g, e, P, C, Cg);
        dx[i] = r * (w[g * Cg + e % Cg] * dout[i] - mu - ((x[i] - m) * r) * mux);
    }
}

// dw[c] += Σ_{n,p} dy x̂, db[c] += Σ_{n,p} dy. grid.x = ceil(C / 32), block 32 x GN_DW_ROWS: lane = channel.
extern "C" __global__ void groupnorm_backward_dw_f32(float *dw, float *db, const float *dout, const float *x,
                                                    const float *mean, const float *rstd, int N, int P, int C, int G) {
    __shared__ double part[2][GN_DW_ROWS][32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, c = blockIdx.x * 32 + lane, Cg = C / G;
    double aw = 0.0, ab = 0.0;
    if (c < C)
        for (long long row = warp; row < (long long)N * P; row += GN_DW_ROWS) {
            const unsigned long long i = (unsigned long long)row * C + c, ng = row / P * G + c / Cg;
            const float dy = dout[i];
            aw += (double)dy * ((x[i] - mean[ng]) * rstd[ng]);
            ab += dy;
        }
    part[0][warp][lane] = aw;
    part[1][warp][lane] = ab;
    __syncthreads();
    if (warp != 0 || c >= C) return;
    for (int k = 1; k < GN_DW_ROWS; k++) {
        aw += part[0][k][lane];
        ab += part[1][k][lane];
    }
    if (dw) dw[c] += (float)aw;
    if (db) db[c] += (float)ab;
}
