// norm.cu — RMSNorm (HF LlamaRMSNorm in fp32): out = (x * rstd) * w, rstd = 1/sqrt(mean(x²) + eps), and
// LayerNorm (torch.nn.LayerNorm, biased variance): out = (x - mean) * rstd * w + b.
// Memory-bound: every kernel reads its rows once and writes them once (rows.cuh: a row group of G
// threads per row, 16-byte accesses, the row held in registers from the statistics pass to the output
// pass). RMSNorm accumulates in fp32, LayerNorm's row statistics in fp64 as the CPU backend does (its
// inputs may sit far from 0 with a small variance, where an ulp of the mean shows in the output).
// Backward: one fused kernel per norm computes dx and the weight (and bias) gradient's partial column
// sums in the same pass over dout and x (a separate dw pass would read both again: 5 instead of 3
// row-sized transfers). Block b owns a chunk of consecutive rows and walks them in order, with the next
// row's loads in flight while it reduces the current one; its columns' dw terms accumulate in
// registers, and at the end it writes partial[b, c]. rmsnorm_backward_dw_final_f32 then adds the chunks
// in a fixed order into dw (+=). No atomics: the same inputs give the same bits.
// Each kernel has a fast path (rows.cuh: C % 4 == 0, aligned arrays, C <= 4*NV*G: the whole row in
// registers) and a general path (any C and alignment: re-reads the row, dw terms accumulated in the
// partial rows in place) with the same element-to-thread mapping and summation order.
#include "rows.cuh"
#include "rows.h"

// Register budgets (nob ptxcheck fails above them): 40 keeps 1536 threads resident per SM (three blocks
// of 512 at C = 4096); the backward kernels hold two rows and the dw terms in registers: 64
// (__launch_bounds__(1024) caps them there) keeps 1024 threads per SM.
// ptxcheck: rmsnorm_forward_f32 max_registers=40
// ptxcheck: rmsnorm_backward_f32 max_registers=64
// ptxcheck: rmsnorm_backward_dw_final_f32 max_registers=32
// ptxcheck: layernorm_forward_f32 max_registers=64
// ptxcheck: layernorm_backward_f32 max_registers=64

#define FNV NORM_FWD_NV
#define RNV RMS_BWD_NV
#define LNV LN_BWD_NV

// ---- RMSNorm ----

__device__ __forceinline__ void rms_fwd_fast(float *out, float *rstd, const float *x, const float *w, int N, int C,
                                             float eps, int G, float *shared) {
    FOR_GROUP_ROWS(N, G) {
        const unsigned long long off = (unsigned long long)(Cl ? row : 0) * C;
        float v[FNV][4];
        float ss = 0.0f;
#pragma unroll
        for (int k = 0; k < FNV; k++) {
            const int e = 4 * (k * G + lane);
            ld4z(v[k], x + off + e, e < Cl, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++) ss += v[k][j] * v[k][j];
        }
        ss = group_sum(ss, shared, G);
        const float r = 1.0f / sqrtf(ss / (float)C + eps);
#pragma unroll
        for (int k = 0; k < FNV; k++) {
            const int e = 4 * (k * G + lane);
            if (e >= Cl) break;
            float wq[4];
            ld4(wq, w + e);
#pragma unroll
            for (int j = 0; j < 4; j++) wq[j] = (v[k][j] * r) * wq[j];
            st4(out + off + e, wq);
        }
        if (lane == 0 && Cl && rstd) rstd[row] = r;
    }
}

__device__ __forceinline__ void rms_fwd_any(float *out, float *rstd, const float *x, const float *w, int N, int C,
                                            float eps, int G, float *shared, bool vq) {
    FOR_GROUP_ROWS(N, G) {
        const unsigned long long off = (unsigned long long)(Cl ? row : 0) * C;
        float ss = 0.0f;
#pragma unroll 1
        for (int e = 4 * lane; e < Cl; e += 4 * G) {
            float t[4];
            load_quad(t, x + off, e, Cl, vq, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++) ss += t[j] * t[j];
        }
        ss = group_sum(ss, shared, G);
        const float r = 1.0f / sqrtf(ss / (float)C + eps);
#pragma unroll 1
        for (int e = 4 * lane; e < Cl; e += 4 * G) {
            float t[4], wq[4];
            load_quad(t, x + off, e, Cl, vq, 0.0f);
            load_quad(wq, w, e, Cl, vq, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++) t[j] = (t[j] * r) * wq[j];
            store_quad(out + off, e, Cl, vq, t);
        }
        if (lane == 0 && Cl && rstd) rstd[row] = r;
    }
}

// x, out: [N, C]; w: [C]; rstd: [N] (may be NULL). Launch: block a multiple of G, G as in rows.h; any grid.
// out may alias x (each thread reads its elements before writing them).
extern "C" __global__ void MAX_REGISTERS(40) rmsnorm_forward_f32(float *out, float *rstd, const float *x, const float *w, int N, int C,
                                               float eps, int G) {
    __shared__ float shared[32];
    const bool vq = C % 4 == 0 && aligned16(x) && aligned16(out) && aligned16(w);
    if (vq && C <= 4 * FNV * G) rms_fwd_fast(out, rstd, x, w, N, C, eps, G, shared);
    else rms_fwd_any(out, rstd, x, w, N, C, eps, G, shared, vq);
}

__device__ __forceinline__ void rms_bwd_fast(float *dx, float *pr, const float *dout, const float *x, const float *w,
                                             const float *rstd, int C, int r0, int r1, float *shared) {
    const int G = blockDim.x, lane = threadIdx.x;
    float acc[RNV][4], d[RNV][4], xr[RNV][4];   // the dw terms stay for the whole chunk; w is re-read (L1)
#pragma unroll
    for (int k = 0; k < RNV; k++) {
        const int e = 4 * (k * G + lane);
        const unsigned long long o = (unsigned long long)r0 * C + e;
        ld4z(d[k], dout + o, e < C, 0.0f);
        ld4z(xr[k], x + o, e < C, 0.0f);
#pragma unroll
        for (int j = 0; j < 4; j++) acc[k][j] = 0.0f;
    }
    for (int row = r0; row < r1; row++) {
        const unsigned long long off = (unsigned long long)row * C;
        float dn[RNV][4], xn[RNV][4];   // the next row's loads go out before this row's reduction
#pragma unroll
        for (int k = 0; k < RNV; k++) {
            const int e = 4 * (k * G + lane);
            const bool ok = e < C && row + 1 < r1;
            ld4z(dn[k], dout + off + C + e, ok, 0.0f);
            ld4z(xn[k], x + off + C + e, ok, 0.0f);
        }
        const float r = rstd[row];
        float dot = 0.0f;
#pragma unroll
        for (int k = 0; k < RNV; k++) {
            const int e = 4 * (k * G + lane);
            float wq[4];
            ld4z(wq, w + e, e < C, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++) dot += d[k][j] * wq[j] * xr[k][j];
        }
        dot = group_sum(dot, shared, G);   // also orders this row's reads before the writes below
        const float kk = r * r * r * dot / (float)C;
#pragma unroll
        for (int k = 0; k < RNV; k++) {
            const int e = 4 * (k * G + lane);
            if (dx && e < C) {
                float o[4];
                ld4(o, w + e);
#pragma unroll
                for (int j = 0; j < 4; j++) o[j] = r * (d[k][j] * o[j]) - kk * xr[k][j];
                st4(dx + off + e, o);
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                acc[k][j] += d[k][j] * (xr[k][j] * r);
                d[k][j] = dn[k][j];
                xr[k][j] = xn[k][j];
            }
        }
    }
    if (pr)
#pragma unroll
        for (int k = 0; k < RNV; k++) {
            const int e = 4 * (k * G + lane);
            if (e < C) st4(pr + e, acc[k]);
        }
}

__device__ __forceinline__ void rms_bwd_any(float *dx, float *pr, const float *dout, const float *x, const float *w,
                                            const float *rstd, int C, int r0, int r1, float *shared, bool vq) {
    const int G = blockDim.x, lane = threadIdx.x;
    for (int row = r0; row < r1; row++) {
        const unsigned long long off = (unsigned long long)row * C;
        const float r = rstd[row];
        float dot = 0.0f;
#pragma unroll 1
        for (int e = 4 * lane; e < C; e += 4 * G) {
            float dq[4], xq[4], wq[4];
            load_quad(dq, dout + off, e, C, vq, 0.0f);
            load_quad(xq, x + off, e, C, vq, 0.0f);
            load_quad(wq, w, e, C, vq, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++) dot += dq[j] * wq[j] * xq[j];
            if (pr) {   // this thread's columns of the chunk's partial row accumulate in place
                float p[4];
                load_quad(p, pr, e, row == r0 ? 0 : C, vq, 0.0f);
#pragma unroll
                for (int j = 0; j < 4; j++) p[j] += dq[j] * (xq[j] * r);
                store_quad(pr, e, C, vq, p);
            }
        }
        dot = group_sum(dot, shared, G);
        const float kk = r * r * r * dot / (float)C;
        if (dx)
#pragma unroll 1
            for (int e = 4 * lane; e < C; e += 4 * G) {
                float dq[4], xq[4], wq[4];
                load_quad(dq, dout + off, e, C, vq, 0.0f);
                load_quad(xq, x + off, e, C, vq, 0.0f);
                load_quad(wq, w, e, C, vq, 0.0f);
#pragma unroll
                for (int j = 0; j < 4; j++) dq[j] = r * (dq[j] * wq[j]) - kk * xq[j];
                store_quad(dx + off, e, C, vq, dq);
            }
    }
}

// Fused backward: dx[n, c] = r g_c - r³ x_c (Σ_j g_j x_j) / C with g = dout * w, r = rstd[n] (overwritten;
// dx may be NULL, and may alias dout: every element is read before the thread that owns it writes it),
// and, when partial != NULL, partial[b, c] = Σ_{rows n of chunk b, in order} dout[n, c] * (x[n, c] * r).
// Launch: grid = chunks, block = G (one row group per block); chunk b = rows [b*rpc, min(N, (b+1)*rpc)).
extern "C" __global__ void __launch_bounds__(1024) rmsnorm_backward_f32(float *dx, float *partial, const float *dout, const float *x,
                                                const float *w, const float *rstd, int N, int C, int rows_per_chunk) {
    __shared__ float shared[32];
    const int r0 = blockIdx.x * rows_per_chunk, r1 = N - r0 < rows_per_chunk ? N : r0 + rows_per_chunk;
    float *pr = partial ? partial + (unsigned long long)blockIdx.x * C : 0;
    const bool vq = C % 4 == 0 && aligned16(dout) && aligned16(x) && aligned16(w) && aligned16(dx) && aligned16(pr);
    if (vq && C <= 4 * RNV * (int)blockDim.x) rms_bwd_fast(dx, pr, dout, x, w, rstd, C, r0, r1, shared);
    else rms_bwd_any(dx, pr, dout, x, w, rstd, C, r0, r1, shared, vq);
}

// Pass 2 of the weight/bias gradients: dst[c] += Σ_k partial[k, c] over the chunks k, in 32 slices (slice s
// sums k = s, s+32, ... in order, then the slices are added 0..31): a fixed order, with enough loads in
// flight to read the partials at full bandwidth. blockIdx.y picks (d0, p0) or (d1, p1) (LayerNorm's dw
// and db); a NULL dst is skipped. Launch: block NORM_FINAL_BLOCK (32 columns x 32 slices), grid
// (ceil(C / 32), 1 or 2).
extern "C" __global__ void MAX_REGISTERS(32) rmsnorm_backward_dw_final_f32(float *d0, const float *p0, float *d1, const float *p1,
                                                         int chunks, int C) {
    __shared__ float part[32][33];
    float *dst = blockIdx.y ? d1 : d0;
    const float *p = blockIdx.y ? p1 : p0;
    if (!dst) return;   // uniform over the block
    const int col = threadIdx.x & 31, s = threadIdx.x >> 5;
    const int c = blockIdx.x * 32 + col;
    float acc = 0.0f;
    if (c < C)
        for (int k = s; k < chunks; k += 32) acc += p[(unsigned long long)k * C + c];
    part[s][col] = acc;
    __syncthreads();
    if (s == 0 && c < C) {
        float t = 0.0f;
        for (int i = 0; i < 32; i++) t += part[i][col];
        dst[c] += t;
    }
}

// ---- LayerNorm ----

__device__ __forceinline__ void ln_fwd_fast(float *out, float *mean, float *rstd, const float *x, const float *w,
                                            const float *b, int N, int C, float eps, int G, double *shared) {
    FOR_GROUP_ROWS(N, G) {
        const unsigned long long off = (unsigned long long)(Cl ? row : 0) * C;
        float v[FNV][4];
        double s = 0.0;
#pragma unroll
        for (int k = 0; k < FNV; k++) {
            const int e = 4 * (k * G + lane);
            ld4z(v[k], x + off + e, e < Cl, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++) s += (double)v[k][j];
        }
        const double md = group_sum(s, shared, G) / (double)C;
        double var = 0.0;
#pragma unroll
        for (int k = 0; k < FNV; k++)
            if (4 * (k * G + lane) < Cl)
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    const double dd = (double)v[k][j] - md;
                    var += dd * dd;
                }
        const float m = (float)md, r = 1.0f / sqrtf((float)(group_sum(var, shared, G) / (double)C) + eps);
#pragma unroll
        for (int k = 0; k < FNV; k++) {
            const int e = 4 * (k * G + lane);
            if (e >= Cl) break;
            float wq[4], bq[4];
            ld4(wq, w + e);
            if (b) ld4(bq, b + e);
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const float y = __fmul_rn(__fmul_rn(v[k][j] - m, r), wq[j]);
                wq[j] = b ? __fadd_rn(y, bq[j]) : y;
            }
            st4(out + off + e, wq);
        }
        if (lane == 0 && Cl) {
            if (mean) mean[row] = m;
            if (rstd) rstd[row] = r;
        }
    }
}

__device__ __forceinline__ void ln_fwd_any(float *out, float *mean, float *rstd, const float *x, const float *w,
                                           const float *b, int N, int C, float eps, int G, double *shared, bool vq) {
    FOR_GROUP_ROWS(N, G) {
        const unsigned long long off = (unsigned long long)(Cl ? row : 0) * C;
        double s = 0.0;
#pragma unroll 1
        for (int e = 4 * lane; e < Cl; e += 4 * G) {
            float t[4];
            load_quad(t, x + off, e, Cl, vq, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++) s += (double)t[j];
        }
        const double md = group_sum(s, shared, G) / (double)C;
        double var = 0.0;
#pragma unroll 1
        for (int e = 4 * lane; e < Cl; e += 4 * G) {
            float t[4];
            load_quad(t, x + off, e, Cl, vq, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++)
                if (e + j < Cl) {
                    const double dd = (double)t[j] - md;
                    var += dd * dd;
                }
        }
        const float m = (float)md, r = 1.0f / sqrtf((float)(group_sum(var, shared, G) / (double)C) + eps);
#pragma unroll 1
        for (int e = 4 * lane; e < Cl; e += 4 * G) {
            float t[4], wq[4], bq[4];
            load_quad(t, x + off, e, Cl, vq, 0.0f);
            load_quad(wq, w, e, Cl, vq, 0.0f);
            if (b) load_quad(bq, b, e, Cl, vq, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const float y = __fmul_rn(__fmul_rn(t[j] - m, r), wq[j]);
                t[j] = b ? __fadd_rn(y, bq[j]) : y;
            }
            store_quad(out + off, e, Cl, vq, t);
        }
        if (lane == 0 && Cl) {
            if (mean) mean[row] = m;
            if (rstd) rstd[row] = r;
        }
    }
}

// x, out: [N, C]; w, b: [C] (b may be NULL: no bias); mean, rstd: [N] (each may be NULL). Row
// statistics as the CPU backend computes them: two passes (mean, then Σ (x - mean)², so no
// cancellation for inputs far from 0) accumulated in fp64, rounded to fp32 where PyTorch holds them
// (mean, variance, rstd); the normalisation itself in fp32 without FMA contraction, like the CPU's C.
// Launch as rmsnorm_forward_f32; out may alias x.
extern "C" __global__ void __launch_bounds__(1024) layernorm_forward_f32(float *out, float *mean, float *rstd, const float *x, const float *w,
                                                 const float *b, int N, int C, float eps, int G) {
    __shared__ double shared[32];
    const bool vq = C % 4 == 0 && aligned16(x) && aligned16(out) && aligned16(w) && aligned16(b);
    if (vq && C <= 4 * FNV * G) ln_fwd_fast(out, mean, rstd, x, w, b, N, C, eps, G, shared);
    else ln_fwd_any(out, mean, rstd, x, w, b, N, C, eps, G, shared, vq);
}

__device__ __forceinline__ void ln_bwd_fast(float *dx, float *pwr, float *pbr, const float *dout, const float *x,
                                            const float *w, const float *mean, const float *rstd, int C, int r0,
                                            int r1, double *shared) {
    const int G = blockDim.x, lane = threadIdx.x;
    float wr[LNV][4], aw[LNV][4], ab[LNV][4], d[LNV][4], xr[LNV][4];
#pragma unroll
    for (int k = 0; k < LNV; k++) {
        const int e = 4 * (k * G + lane);
        const unsigned long long o = (unsigned long long)r0 * C + e;
        ld4z(wr[k], w + e, e < C, 0.0f);
        ld4z(d[k], dout + o, e < C, 0.0f);
        ld4z(xr[k], x + o, e < C, 0.0f);
#pragma unroll
        for (int j = 0; j < 4; j++) aw[k][j] = ab[k][j] = 0.0f;
    }
    for (int row = r0; row < r1; row++) {
        const unsigned long long off = (unsigned long long)row * C;
        float dn[LNV][4], xn[LNV][4];
#pragma unroll
        for (int k = 0; k < LNV; k++) {
            const int e = 4 * (k * G + lane);
            const bool ok = e < C && row + 1 < r1;
            ld4z(dn[k], dout + off + C + e, ok, 0.0f);
            ld4z(xn[k], x + off + C + e, ok, 0.0f);
        }
        const float m = mean[row], r = rstd[row];
        double sg = 0.0, sgx = 0.0;
#pragma unroll
        for (int k = 0; k < LNV; k++)
            if (4 * (k * G + lane) < C)
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    const float g = wr[k][j] * d[k][j];
                    sg += (double)g;
                    sgx += (double)g * (double)((xr[k][j] - m) * r);
                }
        const float mg = (float)(group_sum(sg, shared, G) / (double)C);   // also orders this row's reads before the writes
        const float mgx = (float)(group_sum(sgx, shared, G) / (double)C);
#pragma unroll
        for (int k = 0; k < LNV; k++) {
            const int e = 4 * (k * G + lane);
            if (dx && e < C) {
                float o[4];
#pragma unroll
                for (int j = 0; j < 4; j++) o[j] = r * (wr[k][j] * d[k][j] - mg - ((xr[k][j] - m) * r) * mgx);
                st4(dx + off + e, o);
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                aw[k][j] += d[k][j] * ((xr[k][j] - m) * r);
                ab[k][j] += d[k][j];
                d[k][j] = dn[k][j];
                xr[k][j] = xn[k][j];
            }
        }
    }
#pragma unroll
    for (int k = 0; k < LNV; k++) {
        const int e = 4 * (k * G + lane);
        if (e >= C) break;
        if (pwr) st4(pwr + e, aw[k]);
        if (pbr) st4(pbr + e, ab[k]);
    }
}

__device__ __forceinline__ void ln_bwd_any(float *dx, float *pwr, float *pbr, const float *dout, const float *x,
                                           const float *w, const float *mean, const float *rstd, int C, int r0,
                                           int r1, double *shared, bool vq) {
    const int G = blockDim.x, lane = threadIdx.x;
    for (int row = r0; row < r1; row++) {
        const unsigned long long off = (unsigned long long)row * C;
        const float m = mean[row], r = rstd[row];
        double sg = 0.0, sgx = 0.0;
#pragma unroll 1
        for (int e = 4 * lane; e < C; e += 4 * G) {
            float dq[4], xq[4], wq[4];
            load_quad(dq, dout + off, e, C, vq, 0.0f);
            load_quad(xq, x + off, e, C, vq, 0.0f);
            load_quad(wq, w, e, C, vq, 0.0f);
#pragma unroll
            for (int j = 0; j < 4; j++)
                if (e + j < C) {
                    const float g = wq[j] * dq[j];
                    sg += (double)g;
                    sgx += (double)g * (double)((xq[j] - m) * r);
                }
            if (pwr) {   // this thread's columns of the chunk's partial rows accumulate in place
                float p[4];
                load_quad(p, pwr, e, row == r0 ? 0 : C, vq, 0.0f);
#pragma unroll
                for (int j = 0; j < 4; j++) p[j] += dq[j] * ((xq[j] - m) * r);
                store_quad(pwr, e, C, vq, p);
            }
            if (pbr) {
                float p[4];
                load_quad(p, pbr, e, row == r0 ? 0 : C, vq, 0.0f);
#pragma unroll
                for (int j = 0; j < 4; j++) p[j] += dq[j];
                store_quad(pbr, e, C, vq, p);
            }
        }
        const float mg = (float)(group_sum(sg, shared, G) / (double)C);
        const float mgx = (float)(group_sum(sgx, shared, G) / (double)C);
        if (dx)
#pragma unroll 1
            for (int e = 4 * lane; e < C; e += 4 * G) {
                float dq[4], xq[4], wq[4];
                load_quad(dq, dout + off, e, C, vq, 0.0f);
                load_quad(xq, x + off, e, C, vq, 0.0f);
                load_quad(wq, w, e, C, vq, 0.0f);
#pragma unroll
                for (int j = 0; j < 4; j++) dq[j] = r * (wq[j] * dq[j] - mg - ((xq[j] - m) * r) * mgx);
                store_quad(dx + off, e, C, vq, dq);
            }
    }
}

// Fused backward, as rmsnorm_backward_f32: dx = r (g - mean(g) - x̂ mean(g x̂)), g = w * dout,
// x̂ = (x - mean) r, the two row sums in fp64 as the CPU backend (dx may be NULL or alias dout);
// pw[b, c] = Σ dout * ((x - mean) * r), pb[b, c] = Σ dout over the rows of chunk b in order (each may be
// NULL). Launch as rmsnorm_backward_f32.
extern "C" __global__ void __launch_bounds__(1024) layernorm_backward_f32(float *dx, float *pw, float *pb, const float *dout, const float *x,
                                                  const float *w, const float *mean, const float *rstd, int N, int C,
                                                  int rows_per_chunk) {
    __shared__ double shared[32];
    const int r0 = blockIdx.x * rows_per_chunk, r1 = N - r0 < rows_per_chunk ? N : r0 + rows_per_chunk;
    float *pwr = pw ? pw + (unsigned long long)blockIdx.x * C : 0;
    float *pbr = pb ? pb + (unsigned long long)blockIdx.x * C : 0;
    const bool vq = C % 4 == 0 && aligned16(dout) && aligned16(x) && aligned16(w) && aligned16(dx) && aligned16(pwr) &&
                    aligned16(pbr);
    if (vq && C <= 4 * LNV * (int)blockDim.x) ln_bwd_fast(dx, pwr, pbr, dout, x, w, mean, rstd, C, r0, r1, shared);
    else ln_bwd_any(dx, pwr, pbr, dout, x, w, mean, rstd, C, r0, r1, shared, vq);
}
