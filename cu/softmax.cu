// softmax.cu — row softmax over the last dim with an optional additive mask, and its backward
// (backend.h softmax_forward/backward). As PyTorch: out = softmax(x + mask), max-subtracted, fp32.
// A row whose every entry is -inf yields zeros (never the NaN of 0/0); its backward is then zero too.
// One block per row (rows grid-stride over blockIdx.x), block reductions in a fixed order (deterministic).
// Each thread touches the same elements of its row in every pass, and block_sum/block_max barriers
// separate a row's reads from its writes, so out may alias x (forward) and dx may alias dout (backward).
// Correctness-first: a warp-per-row variant for short rows is a later optimisation.
#include "common.cuh"

// ptxcheck: softmax_forward_f32 max_registers=40
// ptxcheck: softmax_backward_f32 max_registers=40

// x, out, mask: [R, C]; mask may be NULL. Launch: block 256 (a multiple of 32), any grid.
extern "C" __global__ void softmax_forward_f32(float *out, const float *x, const float *mask, int R, int C) {
    __shared__ float shared[32];
    for (int row = blockIdx.x; row < R; row += gridDim.x) {
        const unsigned long long off = (unsigned long long)row * C;
        const float *xr = x + off, *mr = mask ? mask + off : 0;
        float *outr = out + off;
        float mx = -INFINITY;
        for (int c = threadIdx.x; c < C; c += blockDim.x) mx = fmaxf(mx, mr ? xr[c] + mr[c] : xr[c]);
        mx = block_max(mx, shared);
        if (mx == -INFINITY) {   // uniform: every entry is -inf (fully masked row)
            for (int c = threadIdx.x; c < C; c += blockDim.x) outr[c] = 0.0f;
            continue;
        }
        float sum = 0.0f;
        for (int c = threadIdx.x; c < C; c += blockDim.x) {
            float e = expf((mr ? xr[c] + mr[c] : xr[c]) - mx);
            outr[c] = e;          // unnormalised; this thread rescales it below
            sum += e;
        }
        const float inv = 1.0f / block_sum(sum, shared);
        for (int c = threadIdx.x; c < C; c += blockDim.x) outr[c] *= inv;
    }
}

// dx = out * (dout - Σ_j out_j dout_j)  (overwritten).
extern "C" __global__ void softmax_backward_f32(float *dx, const float *dout, const float *out, int R, int C) {
    __shared__ float shared[32];
    for (int row = blockIdx.x; row < R; row += gridDim.x) {
        const unsigned long long off = (unsigned long long)row * C;
        const float *yr = out + off, *dr = dout + off;
        float *dxr = dx + off;
        float dot = 0.0f;
        for (int c = threadIdx.x; c < C; c += blockDim.x) dot += yr[c] * dr[c];
        dot = block_sum(dot, shared);   // also orders every read of this row before the writes below
        for (int c = threadIdx.x; c < C; c += blockDim.x) dxr[c] = yr[c] * (dr[c] - dot);
    }
}
