// window_attention.cu — Swin window attention (HF SwinSelfAttention): softmax(q·kᵀ·scale + bias + mask)·v per
// (window, head), forward and backward (backend/ops.h window_attention_forward/backward; the reference is
// cpu_window_attention.c). A window is small (N <= 64 tokens, head dim <= 32), so one block holds a whole
// (window, head): q, k, v and the N x N scores in shared memory, every sum in a fixed order. The bias gradient
// is a sum over windows: the backward writes each window's dS to scratch, and window_attention_dbias_f32 adds
// the windows in order per (i, j, h) in fp64 — no atomics, the same bits on every run.
#include "common.cuh"
#include "mma.cuh"   // DYNAMIC_SMEM
#include "window_attention.h"

// ptxcheck: window_attention_forward_f32 max_registers=64
// ptxcheck: window_attention_backward_f32 max_registers=64
// ptxcheck: window_attention_dbias_f32 max_registers=48

// Loads rows [N, D] of head h of window bw from t [BW, N, H, D] into s [N][D].
__device__ __forceinline__ void win_load(float *s, const float *t, unsigned long long base, int N, int H, int D) {
    for (int e = threadIdx.x; e < N * D; e += blockDim.x) s[e] = t[base + (unsigned long long)(e / D) * H * D + e % D];
}

// s[i][j] = scale q_i·k_j + bias[i,j,h] + mask[bw % nW, i, j] for every (i, j).
__device__ __forceinline__ void win_scores(float *s, const float *qs, const float *ks, const float *bias,
                                           const float *mask, int bw, int nW, int h, int N, int H, int D, float scale) {
    for (int e = threadIdx.x; e < N * N; e += blockDim.x) {
        const int i = e / N, j = e % N;
        float dot = 0.0f;
        for (int d = 0; d < D; d++) dot += qs[i * D + d] * ks[j * D + d];
        float v = dot * scale + bias[(unsigned long long)e * H + h];
        if (mask) v += mask[((unsigned long long)(bw % nW) * N + i) * N + j];
        s[e] = v;
    }
}

// grid.x = BW·H blocks of WIN_BLOCK threads.
extern "C" __global__ void window_attention_forward_f32(float *out, float *lse, const float *q, const float *k,
                                                        const float *v, const float *bias, const float *mask, int BW,
                                                        int nW, int N, int H, int D, float scale) {
    __shared__ float qs[WIN_MAX_N * WIN_MAX_D], ks[WIN_MAX_N * WIN_MAX_D], vs[WIN_MAX_N * WIN_MAX_D];
    __shared__ float ps[WIN_MAX_N * WIN_MAX_N];
    const int bw = blockIdx.x / H, h = blockIdx.x % H;
    const unsigned long long base = (unsigned long long)bw * N * H * D + (unsigned long long)h * D;
    win_load(qs, q, base, N, H, D);
    win_load(ks, k, base, N, H, D);
    win_load(vs, v, base, N, H, D);
    __syncthreads();
    win_scores(ps, qs, ks, bias, mask, bw, nW, h, N, H, D, scale);
    __syncthreads();
    if (threadIdx.x < N) {   // softmax of row i (a row of -inf keys only: zeros, lse -inf)
        float *s = ps + threadIdx.x * N, mx = -INFINITY, sum = 0.0f;
        for (int j = 0; j < N; j++) mx = fmaxf(mx, s[j]);
        for (int j = 0; j < N; j++) {
            s[j] = mx == -INFINITY ? 0.0f : expf(s[j] - mx);
            sum += s[j];
        }
        const float inv = mx == -INFINITY ? 0.0f : 1.0f / sum;
        for (int j = 0; j < N; j++) s[j] *= inv;
        lse[((unsigned long long)bw * H + h) * N + threadIdx.x] = mx == -INFINITY ? -INFINITY : mx + logf(sum);
    }
    __syncthreads();
    for (int e = threadIdx.x; e < N * D; e += blockDim.x) {
        const int i = e / D, d = e % D;
        float o = 0.0f;
        for (int j = 0; j < N; j++) o += ps[i * N + j] * vs[j * D + d];
        out[base + (unsigned long long)i * H * D + d] = o;
    }
}

// P = exp(S − lse); dv = Pᵀ dout; dS = P ∘ (dout·vᵀ − Di), Di = dout_i·out_i; dq = scale dS k, dk = scale dSᵀ q.
// ds (may be NULL): [BW,H,N,N] receives dS for window_attention_dbias_f32. grid.x = BW·H, WIN_BLOCK threads,
// WIN_BWD_SMEM_BYTES of dynamic shared memory.
extern "C" __global__ void window_attention_backward_f32(float *dq, float *dk, float *dv, float *ds, const float *dout,
                                                         const float *q, const float *k, const float *v,
                                                         const float *bias, const float *mask, const float *out,
                                                         const float *lse, int BW, int nW, int N, int H, int D,
                                                         float scale) {
    DYNAMIC_SMEM(smem);
    float *qs = (float *)smem, *ks = qs + WIN_MAX_N * WIN_MAX_D, *vs = ks + WIN_MAX_N * WIN_MAX_D;
    float *gs = vs + WIN_MAX_N * WIN_MAX_D, *ps = gs + WIN_MAX_N * WIN_MAX_D, *di = ps + WIN_MAX_N * WIN_MAX_N;
    const int bw = blockIdx.x / H, h = blockIdx.x % H;
    const unsigned long long base = (unsigned long long)bw * N * H * D + (unsigned long long)h * D;
    const float *lrow = lse + ((unsigned long long)bw * H + h) * N;
    win_load(qs, q, base, N, H, D);
    win_load(ks, k, base, N, H, D);
    win_load(vs, v, base, N, H, D);
    win_load(gs, dout, base, N, H, D);
    if (threadIdx.x < N) {
        const float *o = out + base + (unsigned long long)threadIdx.x * H * D;
        float t = 0.0f;
        for (int d = 0; d < D; d++) t += dout[base + (unsigned long long)threadIdx.x * H * D + d] * o[d];
        di[threadIdx.x] = t;
    }
    __syncthreads();
    win_scores(ps, qs, ks, bias, mask, bw, nW, h, N, H, D, scale);
    for (int e = threadIdx.x; e < N * N; e += blockDim.x) {   // each thread rewrites the entries it wrote
        const float l = lrow[e / N];
        ps[e] = l == -INFINITY ? 0.0f : expf(ps[e] - l);
    }
    __syncthreads();
    for (int e = threadIdx.x; e < N * D; e += blockDim.x) {
        const int j = e / D, d = e % D;
        float t = 0.0f;
        for (int i = 0; i < N; i++) t += ps[i * N + j] * gs[i * D + d];
        dv[base + (unsigned long long)j * H * D + d] = t;
    }
    __syncthreads();   // P is read whole above; dS replaces it in place below
    for (int e = threadIdx.x; e < N * N; e += blockDim.x) {
        const int i = e / N, j = e % N;
        float dp = 0.0f;
        for (int d = 0; d < D; d++) dp += gs[i * D + d] * vs[j * D + d];
        ps[e] = ps[e] * (dp - di[i]);
        if (ds) ds[((unsigned long long)bw * H + h) * N * N + e] = ps[e];
    }
    __syncthreads();
    for (int e = threadIdx.x; e < N * D; e += blockDim.x) {
        const int r = e / D, d = e % D;
        float tq = 0.0f, tk = 0.0f;
        for (int j = 0; j < N; j++) {
            tq += (ps[r * N + j] * scale) * ks[j * D + d];
            tk += (ps[j * N + r] * scale) * qs[j * D + d];
        }
        dq[base + (unsigned long long)r * H * D + d] = tq;
        dk[base + (unsigned long long)r * H * D + d] = tk;
    }
}

// dbias[(i·N + j)·H + h] = Σ_bw ds[bw, h, i, j], windows in order, in fp64 (as the CPU backend). Grid-stride.
extern "C" __global__ void window_attention_dbias_f32(float *dbias, const float *ds, int BW, int N, int H) {
    const unsigned long long NN = (unsigned long long)N * N, n = NN * H;
    for (unsigned long long r = grid_start(); r < n; r += grid_stride()) {
        const unsigned long long ij = r / H, h = r % H;
        double s = 0.0;
        for (int bw = 0; bw < BW; bw++) s += ds[((unsigned long long)bw * H + h) * NN + ij];
        dbias[r] = (float)s;
    }
}
