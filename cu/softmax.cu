// softmax.cu — row softmax over the last dim with an optional additive mask, and its backward
// (backend.h softmax_forward/backward). As PyTorch: out = softmax(x + mask), max-subtracted, fp32.
// A row whose every entry is -inf yields zeros (never the NaN of 0/0); its backward is then zero too.
// Memory-bound: a row group of G threads per row (rows.cuh). Fast path (C % 4 == 0, aligned arrays,
// C <= 4*NV*G): the row is held in registers from its one read to its one write (forward: max, exp and
// sum, scale; backward: dot, output), 16-byte accesses. General path: the same element-to-thread
// mapping and summation order, re-reading the row (the forward parks unnormalised exps in out).
// Group reductions in a fixed order (deterministic). Each thread reads and writes only its own
// elements, and reads each before writing it, so out may alias x (forward) and dx may alias dout.
#include "rows.cuh"
#include "rows.h"

// ptxcheck: softmax_forward_f32 max_registers=48
// ptxcheck: softmax_backward_f32 max_registers=48

#define FNV SOFTMAX_FWD_NV
#define BNV SOFTMAX_BWD_NV

__device__ __forceinline__ void sm_fwd_fast(float *out, const float *x, const float *mask, int R, int C, int G,
                                            float *shared) {
    FOR_GROUP_ROWS(R, G) {
        const unsigned long long off = (unsigned long long)(Cl ? row : 0) * C;
        float v[FNV][4];
        float mx = -INFINITY;
#pragma unroll
        for (int k = 0; k < FNV; k++) {
            const int e = 4 * (k * G + lane);
            ld4z(v[k], x + off + e, e < Cl, -INFINITY);   // padding is -inf: never the max, exps to 0
            if (mask && e < Cl) {
                float mq[4];
                ld4(mq, mask + off + e);
#pragma unroll
                for (int j = 0; j < 4; j++) v[k][j] += mq[j];
            }
#pragma unroll
            for (int j = 0; j < 4; j++) mx = fmaxf(mx, v[k][j]);
        }
        mx = group_max(mx, shared, G);
        const bool none = mx == -INFINITY;   // uniform over the group: every entry is -inf (fully masked row)
        float sum = 0.0f;
#pragma unroll
        for (int k = 0; k < FNV; k++)
#pragma unroll
            for (int j = 0; j < 4; j++) {
                v[k][j] = none ? 0.0f : expf(v[k][j] - mx);
                sum += v[k][j];
            }
        sum = group_sum(sum, shared, G);
        const float inv = none ? 0.0f : 1.0f / sum;
#pragma unroll
        for (int k = 0; k < FNV; k++) {
            const int e = 4 * (k * G + lane);
            if (e >= Cl) break;
#pragma unroll
            for (int j = 0; j < 4; j++) v[k][j] *= inv;
            st4(out + off + e, v[k]);
        }
    }
}

__device__ __forceinline__ void sm_fwd_any(float *out, const float *x, const float *mask, int R, int C, int G,
                                           float *shared) {
    FOR_GROUP_ROWS(R, G) {
        const unsigned long long off = (unsigned long long)(Cl ? row : 0) * C;
        const float *xr = x + off, *mr = mask ? mask + off : 0;
        float *outr = out + off;
        float mx = -INFINITY;
#pragma unroll 1
        for (int e = 4 * lane; e < Cl; e += 4 * G)
            for (int j = 0; j < 4 && e + j < Cl; j++) mx = fmaxf(mx, mr ? xr[e + j] + mr[e + j] : xr[e + j]);
        mx = group_max(mx, shared, G);
        const bool none = mx == -INFINITY;
        float sum = 0.0f;
#pragma unroll 1
        for (int e = 4 * lane; e < Cl; e += 4 * G)
            for (int j = 0; j < 4 && e + j < Cl; j++) {
                const float t = none ? 0.0f : expf((mr ? xr[e + j] + mr[e + j] : xr[e + j]) - mx);
                outr[e + j] = t;   // unnormalised; this thread rescales it below
                sum += t;
            }
        sum = group_sum(sum, shared, G);
        const float inv = none ? 0.0f : 1.0f / sum;
#pragma unroll 1
        for (int e = 4 * lane; e < Cl; e += 4 * G)
            for (int j = 0; j < 4 && e + j < Cl; j++) outr[e + j] *= inv;
    }
}

// x, out, mask: [R, C]; mask may be NULL. Launch: block a multiple of G (rows.h), any grid.
extern "C" __global__ void MAX_REGISTERS(48) softmax_forward_f32(float *out, const float *x, const float *mask,
                                                                       int R, int C, int G) {
    __shared__ float shared[32];
    const bool vq = C % 4 == 0 && aligned16(x) && aligned16(out) && aligned16(mask);
    if (vq && C <= 4 * FNV * G) sm_fwd_fast(out, x, mask, R, C, G, shared);
    else sm_fwd_any(out, x, mask, R, C, G, shared);
}

__device__ __forceinline__ void sm_bwd_fast(float *dx, const float *dout, const float *out, int R, int C, int G,
                                            float *shared) {
    FOR_GROUP_ROWS(R, G) {
        const unsigned long long off = (unsigned long long)(Cl ? row : 0) * C;
        float y[BNV][4], d[BNV][4];
        float dot = 0.0f;
#pragma unroll
        for (int k = 0; k < BNV; k++) {
            const int e = 4 * (k * G + lane);
            ld4z(y[k], out + off + e, e < Cl, 0.0f);
            ld4z(d[k], dout + off + e, e < Cl, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++) dot += y[k][j] * d[k][j];
        }
        dot = group_sum(dot, shared, G);   // also orders every read of this row before the writes below
#pragma unroll
        for (int k = 0; k < BNV; k++) {
            const int e = 4 * (k * G + lane);
            if (e >= Cl) break;
#pragma unroll
            for (int j = 0; j < 4; j++) y[k][j] = y[k][j] * (d[k][j] - dot);
            st4(dx + off + e, y[k]);
        }
    }
}

__device__ __forceinline__ void sm_bwd_any(float *dx, const float *dout, const float *out, int R, int C, int G,
                                           float *shared) {
    FOR_GROUP_ROWS(R, G) {
        const unsigned long long off = (unsigned long long)(Cl ? row : 0) * C;
        const float *yr = out + off, *dr = dout + off;
        float dot = 0.0f;
#pragma unroll 1
        for (int e = 4 * lane; e < Cl; e += 4 * G)
            for (int j = 0; j < 4 && e + j < Cl; j++) dot += yr[e + j] * dr[e + j];
        dot = group_sum(dot, shared, G);
#pragma unroll 1
        for (int e = 4 * lane; e < Cl; e += 4 * G)
            for (int j = 0; j < 4 && e + j < Cl; j++) dx[off + e + j] = yr[e + j] * (dr[e + j] - dot);
    }
}

// dx = out * (dout - Σ_j out_j dout_j)  (overwritten). Launch as the forward.
extern "C" __global__ void MAX_REGISTERS(48) softmax_backward_f32(float *dx, const float *dout, const float *out,
                                                                        int R, int C, int G) {
    __shared__ float shared[32];
    const bool vq = C % 4 == 0 && aligned16(dx) && aligned16(dout) && aligned16(out);
    if (vq && C <= 4 * BNV * G) sm_bwd_fast(dx, dout, out, R, C, G, shared);
    else sm_bwd_any(dx, dout, out, R, C, G, shared);
}
