// norm.cu — RMSNorm (HF LlamaRMSNorm in fp32): out = (x * rstd) * w, rstd = 1/sqrt(mean(x²) + eps), and
// LayerNorm (torch.nn.LayerNorm, biased variance): out = (x - mean) * rstd * w + b.
// One block per row (rows grid-stride over blockIdx.x), block reductions in a fixed order; RMSNorm
// accumulates in fp32, LayerNorm's row statistics in fp64 as the CPU backend does (its inputs may sit
// far from 0 with a small variance, where an ulp of the mean shows in the output). The weight gradient
// is accumulated without atomics, deterministically: pass 1 writes one partial sum per (row chunk,
// column), pass 2 adds the chunks in order into dw (+=). LayerNorm's dw and db use the same two
// passes (its pass 1 writes both partials; pass 2 is rmsnorm_backward_dw_final_f32, once for each).
// Correctness first; a warp-per-row variant for small C and vectorised loads are a later issue.
#include "common.cuh"

// Register budgets (nob ptxcheck fails above them): 40 keeps >= 1536 threads resident per SM.
// ptxcheck: rmsnorm_forward_f32 max_registers=40
// ptxcheck: rmsnorm_backward_dx_f32 max_registers=40
// ptxcheck: rmsnorm_backward_dw_partial_f32 max_registers=40
// ptxcheck: rmsnorm_backward_dw_final_f32 max_registers=40
// ptxcheck: layernorm_forward_f32 max_registers=40
// ptxcheck: layernorm_backward_dx_f32 max_registers=40
// ptxcheck: layernorm_backward_dwdb_partial_f32 max_registers=48

// x, out: [N, C]; w: [C]; rstd: [N] (may be NULL). Launch: block 256 (a multiple of 32), any grid.
extern "C" __global__ void rmsnorm_forward_f32(float *out, float *rstd, const float *x, const float *w, int N, int C,
                                               float eps) {
    __shared__ float shared[32];
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        const float *xr = x + (unsigned long long)row * C;
        float *outr = out + (unsigned long long)row * C;
        float ss = 0.0f;
        for (int c = threadIdx.x; c < C; c += blockDim.x) {
            float v = xr[c];
            ss += v * v;
        }
        ss = block_sum(ss, shared);
        float r = 1.0f / sqrtf(ss / (float)C + eps);
        for (int c = threadIdx.x; c < C; c += blockDim.x) outr[c] = (xr[c] * r) * w[c];
        if (threadIdx.x == 0 && rstd) rstd[row] = r;
    }
}

// dx[n, c] = r * g_c - r³ x_c (Σ_j g_j x_j) / C  with g = dout * w, r = rstd[n]  (overwritten; may alias dout).
extern "C" __global__ void rmsnorm_backward_dx_f32(float *dx, const float *dout, const float *x, const float *w,
                                                   const float *rstd, int N, int C) {
    __shared__ float shared[32];
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        unsigned long long off = (unsigned long long)row * C;
        const float *xr = x + off, *dr = dout + off;
        float *dxr = dx + off;
        float r = rstd[row];
        float dot = 0.0f;
        for (int c = threadIdx.x; c < C; c += blockDim.x) dot += dr[c] * w[c] * xr[c];
        dot = block_sum(dot, shared);     // also orders every read of this row before the writes below
        float k = r * r * r * dot / (float)C;
        for (int c = threadIdx.x; c < C; c += blockDim.x) dxr[c] = r * (dr[c] * w[c]) - k * xr[c];
    }
}

// Pass 1 of dw: partial[chunk, c] = Σ_{rows of chunk} dout[n, c] * x[n, c] * rstd[n].
// Grid (ceil(C / blockDim.x), chunks); chunk k covers rows [k*rows_per_chunk, min(N, (k+1)*rows_per_chunk)).
extern "C" __global__ void rmsnorm_backward_dw_partial_f32(float *partial, const float *dout, const float *x,
                                                           const float *rstd, int N, int C, int rows_per_chunk) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    int r0 = blockIdx.y * rows_per_chunk;
    int r1 = r0 + rows_per_chunk;
    if (r1 > N) r1 = N;
    float acc = 0.0f;
    for (int r = r0; r < r1; r++) {
        unsigned long long o = (unsigned long long)r * C + c;
        acc += dout[o] * (x[o] * rstd[r]);
    }
    partial[(unsigned long long)blockIdx.y * C + c] = acc;
}

// Pass 2 of dw: dw[c] += Σ_k partial[k, c], chunks in order. Any grid (grid-stride over c).
extern "C" __global__ void rmsnorm_backward_dw_final_f32(float *dw, const float *partial, int chunks, int C) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
        float acc = 0.0f;
        for (int k = 0; k < chunks; k++) acc += partial[(unsigned long long)k * C + c];
        dw[c] += acc;
    }
}

// ---- LayerNorm ----

// x, out: [N, C]; w, b: [C] (b may be NULL: no bias); mean, rstd: [N] (each may be NULL). Row
// statistics as the CPU backend computes them: two passes (mean, then Σ (x - mean)², so no
// cancellation for inputs far from 0) accumulated in fp64, rounded to fp32 where PyTorch holds them
// (mean, variance, rstd); the normalisation itself in fp32 without FMA contraction, like the CPU's C.
// Launch: block 256, any grid. out may alias x (every read of a row precedes the block_sum barriers
// that come before its writes, and each thread rewrites only elements it read itself).
extern "C" __global__ void layernorm_forward_f32(float *out, float *mean, float *rstd, const float *x, const float *w,
                                                 const float *b, int N, int C, float eps) {
    __shared__ double shared[32];
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        const float *xr = x + (unsigned long long)row * C;
        float *outr = out + (unsigned long long)row * C;
        double s = 0.0;
        for (int c = threadIdx.x; c < C; c += blockDim.x) s += (double)xr[c];
        const double md = block_sum(s, shared) / (double)C;
        double v = 0.0;
        for (int c = threadIdx.x; c < C; c += blockDim.x) {
            double d = (double)xr[c] - md;
            v += d * d;
        }
        const float m = (float)md, r = 1.0f / sqrtf((float)(block_sum(v, shared) / (double)C) + eps);
        for (int c = threadIdx.x; c < C; c += blockDim.x) {
            float y = __fmul_rn(__fmul_rn(xr[c] - m, r), w[c]);
            outr[c] = b ? __fadd_rn(y, b[c]) : y;
        }
        if (threadIdx.x == 0) {
            if (mean) mean[row] = m;
            if (rstd) rstd[row] = r;
        }
    }
}

// dx = r (g - mean(g) - x̂ mean(g x̂)),  g = w * dout, x̂ = (x - mean) r  (overwritten; may alias dout).
// The two row sums in fp64, as the CPU backend.
extern "C" __global__ void layernorm_backward_dx_f32(float *dx, const float *dout, const float *x, const float *w,
                                                     const float *mean, const float *rstd, int N, int C) {
    __shared__ double shared[32];
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        unsigned long long off = (unsigned long long)row * C;
        const float *xr = x + off, *dr = dout + off;
        float *dxr = dx + off;
        const float m = mean[row], r = rstd[row];
        double sg = 0.0, sgx = 0.0;
        for (int c = threadIdx.x; c < C; c += blockDim.x) {
            float g = w[c] * dr[c];
            sg += (double)g;
            sgx += (double)g * (double)((xr[c] - m) * r);
        }
        const float mg = (float)(block_sum(sg, shared) / (double)C);   // also orders this row's reads before the writes
        const float mgx = (float)(block_sum(sgx, shared) / (double)C);
        for (int c = threadIdx.x; c < C; c += blockDim.x) dxr[c] = r * (w[c] * dr[c] - mg - ((xr[c] - m) * r) * mgx);
    }
}

// Pass 1 of dw/db: pw[chunk, c] = Σ dout[n, c] * (x[n, c] - mean[n]) * rstd[n], pb[chunk, c] = Σ dout[n, c]
// over the rows of the chunk, in order. Grid (ceil(C / blockDim.x), chunks), as rmsnorm's pass 1.
extern "C" __global__ void layernorm_backward_dwdb_partial_f32(float *pw, float *pb, const float *dout, const float *x,
                                                               const float *mean, const float *rstd, int N, int C,
                                                               int rows_per_chunk) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    int r0 = blockIdx.y * rows_per_chunk;
    int r1 = r0 + rows_per_chunk;
    if (r1 > N) r1 = N;
    float aw = 0.0f, ab = 0.0f;
    for (int r = r0; r < r1; r++) {
        unsigned long long o = (unsigned long long)r * C + c;
        float d = dout[o];
        aw += d * ((x[o] - mean[r]) * rstd[r]);
        ab += d;
    }
    pw[(unsigned long long)blockIdx.y * C + c] = aw;
    pb[(unsigned long long)blockIdx.y * C + c] = ab;
}
