// attention.cu — scaled-dot-product attention, flash style, forward and backward (backend.h
// attention_forward/backward; semantics exactly those of src/backend/cpu/cpu_attention.c).
// q, out, dq: [B,Tq,H,D]; k, v, dk, dv: [B,Tk,KVH,D]; lse: [B,H,Tq]. Query head h reads kv head
// h / (H/KVH). Query i sits at absolute position p = i + Tk - Tq and sees key j when
//   key_mask[b,j] != 0  and  (!causal or j <= p)  and  (window <= 0 or p - j < window).
// A row that sees no key gets out = 0, lse = -inf and zero gradients (never NaN).
//
// Forward (one block of 4 warps per (b, h, tile of ATT_BQ = 16 queries); each warp owns 4 query rows):
// the Q tile sits in shared memory; key tiles of 32 keys (one per lane) stream through shared memory
// in chunks of DC head dims; each lane computes its key's score for the warp's 4 rows, the warp does
// the online softmax (running max m, running sum l, rescaled accumulator) with butterfly reductions,
// and then each lane accumulates P·V for head dims d = lane + 32k in registers. T×T scores never exist
// in global memory; out and lse are written once per row.
//
// Backward, deterministic without atomics, in three kernels:
//   di:   Di[b,h,i] = Σ_d dO·O (one warp per row, fp64 sum as the CPU).
//   dq:   one block per (b, h, query tile): loops over its visible key tiles, recomputes
//         P = exp(s - lse), dP = dO·Vᵀ, dS = P (dP - Di) scale, and accumulates dQ = Σ dS K in registers.
//   dkdv: one block per (b, kv head, key tile): loops over the H/KVH query heads that read this kv
//         head and over their visible query tiles in a fixed order, recomputes P and dS the same way and
//         accumulates dV = Σ Pᵀ dO and dK = Σ dSᵀ Q in registers. GQA sums therefore happen inside one
//         block, in the same order on every run.
// Tiles are zero-filled outside the valid rows/keys (and for padding keys), so a 0 probability never
// meets a NaN or garbage value from shared memory. Each kernel exists for head dim <= 128 (d128) and
// <= 256 (d256, smaller tiles to fit 48 KB of static shared memory); cuda_attention.c picks by D and refuses
// D > 256 with a clear message. Correctness-first SIMT fp32; the bf16 tensor-core kernels are attention_mma*.cu.
#include "common.cuh"

// Register budgets (nob ptxcheck fails above them). The 128-thread blocks use ~34-43 KB of shared memory,
// so at most 5 fit on an SM anyway; up to 160 registers still allows 3 resident blocks. The explicit
// minimum of 2 blocks in __launch_bounds__ stops ptxas (sm_90a) from capping registers so low it spills.
// ptxcheck: attention_forward_d128_f32 max_registers=136
// ptxcheck: attention_forward_d256_f32 max_registers=160
// ptxcheck: attention_backward_di_f32 max_registers=64
// ptxcheck: attention_backward_dq_d128_f32 max_registers=128
// ptxcheck: attention_backward_dq_d256_f32 max_registers=128
// ptxcheck: attention_backward_dkdv_d128_f32 max_registers=136
// ptxcheck: attention_backward_dkdv_d256_f32 max_registers=136

#define ATT_THREADS 128   // 4 warps; every attention launch except di uses exactly this block size
#define ATT_BQ 16         // forward: query rows per block (4 per warp)
#define ATT_BK 32         // forward: keys per tile (one per lane)

// Keys [lo, hi) that causal/window let absolute position p see (64-bit: window may be INT_MAX).
__device__ __forceinline__ void att_key_range(int Tk, int causal, int window, int p, int &lo, int &hi) {
    hi = causal ? clamp_to_int((long long)p + 1, 0, Tk) : Tk;
    lo = window > 0 ? clamp_to_int((long long)p - window + 1, 0, Tk) : 0;
}

__device__ __forceinline__ bool att_key_ok(const float *key_mask, int b, int Tk, int j) {
    return !key_mask || key_mask[(unsigned long long)b * Tk + j] != 0.0f;
}

// ---------------------------------------------------------------------------------------------------
// forward

template <int DMAX, int DC>
__device__ __forceinline__ void attn_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                             const float *key_mask, int B, int Tq, int Tk, int H, int KVH, int D,
                                             float scale, int causal, int window) {
    enum { RPW = ATT_BQ / 4, NCH = DMAX / DC, DPL = DC / 32 };   // rows per warp, chunks, dims per lane per chunk
    __shared__ float Qs[ATT_BQ][DMAX];
    __shared__ float Ks[ATT_BK][DC + 1];   // +1: lanes read different keys at the same d without bank conflicts
    __shared__ float Vs[ATT_BK][DC];
    __shared__ float Ps[4][RPW][ATT_BK];

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int ntiles = (Tq + ATT_BQ - 1) / ATT_BQ;
    const int tile = blockIdx.x % ntiles, bh = blockIdx.x / ntiles;
    const int b = bh / H, h = bh % H, kvh = h / (H / KVH), off = Tk - Tq;
    const int i0 = tile * ATT_BQ, nq = Tq - i0 < ATT_BQ ? Tq - i0 : ATT_BQ;
    const unsigned long long qs = (unsigned long long)H * D, ks = (unsigned long long)KVH * D;
    const float *qb = q + ((unsigned long long)b * Tq + i0) * qs + (unsigned long long)h * D;
    const float *kb = k + (unsigned long long)b * Tk * ks + (unsigned long long)kvh * D;
    const float *vb = v + (unsigned long long)b * Tk * ks + (unsigned long long)kvh * D;

    for (int e = tid; e < ATT_BQ * D; e += ATT_THREADS) {
        const int r = e / D, d = e % D;
        Qs[r][d] = r < nq ? qb[r * qs + d] : 0.0f;
    }
    // Keys any row of the tile may see (both bounds grow with p).
    int jlo, jhi, tmp;
    att_key_range(Tk, causal, window, i0 + off, jlo, tmp);
    att_key_range(Tk, causal, window, i0 + nq - 1 + off, tmp, jhi);
    int lo[RPW], hi[RPW];
    float m[RPW], l[RPW], acc[RPW][NCH * DPL];
#pragma unroll
    for (int rr = 0; rr < RPW; rr++) {
        att_key_range(Tk, causal, window, i0 + warp * RPW + rr + off, lo[rr], hi[rr]);
        if (warp * RPW + rr >= nq) hi[rr] = lo[rr];   // rows past Tq see nothing
        m[rr] = -INFINITY;
        l[rr] = 0.0f;
#pragma unroll
        for (int x = 0; x < NCH * DPL; x++) acc[rr][x] = 0.0f;
    }

    for (int j0 = jlo; j0 < jhi; j0 += ATT_BK) {   // uniform over the block
        const int j = j0 + lane;
        const bool kvalid = j < jhi && att_key_ok(key_mask, b, Tk, j);
        float s[RPW];
#pragma unroll
        for (int rr = 0; rr < RPW; rr++) s[rr] = 0.0f;
#pragma unroll
        for (int ch = 0; ch < NCH; ch++) {
            const int dc = ch * DC;
            if (dc >= D) break;
            __syncthreads();   // the previous tile's Ks/Vs are no longer read
            for (int e = tid; e < ATT_BK * DC; e += ATT_THREADS) {
                const int c = e / DC, dd = e % DC, jj = j0 + c;
                const bool ok = jj < jhi && dc + dd < D && att_key_ok(key_mask, b, Tk, jj);
                Ks[c][dd] = ok ? kb[jj * ks + dc + dd] : 0.0f;
            }
            __syncthreads();
            const int dn = D - dc < DC ? D - dc : DC;
#pragma unroll 4
            for (int dd = 0; dd < dn; dd++) {
                const float kv = Ks[lane][dd];
#pragma unroll
                for (int rr = 0; rr < RPW; rr++) s[rr] = fmaf(Qs[warp * RPW + rr][dc + dd], kv, s[rr]);
            }
        }
        float alpha[RPW];
#pragma unroll
        for (int rr = 0; rr < RPW; rr++) {
            const bool vis = kvalid && j >= lo[rr] && j < hi[rr];
            const float sc = vis ? s[rr] * scale : -INFINITY;
            const float mx = warp_max(sc);
            float p = 0.0f;
            alpha[rr] = 1.0f;
            if (mx != -INFINITY) {   // uniform over the warp
                const float mnew = mx > m[rr] ? mx : m[rr];
                alpha[rr] = m[rr] == -INFINITY ? 0.0f : expf(m[rr] - mnew);
                p = sc == -INFINITY ? 0.0f : expf(sc - mnew);
                l[rr] = l[rr] * alpha[rr] + warp_sum(p);
                m[rr] = mnew;
            }
            Ps[warp][rr][lane] = p;   // read after the next __syncthreads, by this warp only
        }
#pragma unroll
        for (int ch = 0; ch < NCH; ch++) {
            const int dc = ch * DC;
            if (dc >= D) break;
            __syncthreads();
            for (int e = tid; e < ATT_BK * DC; e += ATT_THREADS) {
                const int c = e / DC, dd = e % DC, jj = j0 + c;
                const bool ok = jj < jhi && dc + dd < D && att_key_ok(key_mask, b, Tk, jj);
                Vs[c][dd] = ok ? vb[jj * ks + dc + dd] : 0.0f;
            }
            __syncthreads();
#pragma unroll
            for (int x = 0; x < DPL; x++) {
#pragma unroll
                for (int rr = 0; rr < RPW; rr++) {
                    float a = acc[rr][ch * DPL + x] * alpha[rr];
#pragma unroll 8
                    for (int c = 0; c < ATT_BK; c++) a = fmaf(Ps[warp][rr][c], Vs[c][lane + 32 * x], a);
                    acc[rr][ch * DPL + x] = a;
                }
            }
        }
    }

#pragma unroll
    for (int rr = 0; rr < RPW; rr++) {
        const int r = warp * RPW + rr;
        if (r >= nq) continue;
        float *o = out + ((unsigned long long)b * Tq + i0 + r) * qs + (unsigned long long)h * D;
        const bool none = l[rr] == 0.0f;   // no visible key
        const float inv = none ? 0.0f : 1.0f / l[rr];
#pragma unroll
        for (int ch = 0; ch < NCH; ch++)
#pragma unroll
            for (int x = 0; x < DPL; x++) {
                const int d = ch * DC + lane + 32 * x;
                if (d < D) o[d] = none ? 0.0f : acc[rr][ch * DPL + x] * inv;
            }
        if (lse && lane == 0) lse[((unsigned long long)b * H + h) * Tq + i0 + r] = none ? -INFINITY : m[rr] + logf(l[rr]);
    }
}

// Grid: B*H*ceil(Tq/16) blocks (block index = (b*H + h)*tiles + tile), block ATT_THREADS. lse may be NULL.
extern "C" __global__ void __launch_bounds__(ATT_THREADS, 2)
attention_forward_d128_f32(float *out, float *lse, const float *q, const float *k, const float *v, const float *key_mask,
                           int B, int Tq, int Tk, int H, int KVH, int D, float scale, int causal, int window) {
    attn_forward<128, 128>(out, lse, q, k, v, key_mask, B, Tq, Tk, H, KVH, D, scale, causal, window);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 2)
attention_forward_d256_f32(float *out, float *lse, const float *q, const float *k, const float *v, const float *key_mask,
                           int B, int Tq, int Tk, int H, int KVH, int D, float scale, int causal, int window) {
    attn_forward<256, 64>(out, lse, q, k, v, key_mask, B, Tq, Tk, H, KVH, D, scale, causal, window);
}

// ---------------------------------------------------------------------------------------------------
// backward

// Di[(b*H + h)*Tq + i] = Σ_d dout·out of row (b, i, h), summed in fp64. One warp per row; any grid,
// block a multiple of 32 (rows grid-stride over the warps of the grid).
extern "C" __global__ void attention_backward_di_f32(float *Di, const float *dout, const float *out, int B, int Tq, int H,
                                                     int D) {
    const int lane = threadIdx.x & 31;
    const long long rows = (long long)B * Tq * H;
    const long long wstride = (long long)gridDim.x * (blockDim.x >> 5);
    for (long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); row < rows; row += wstride) {
        const float *a = dout + row * D, *o = out + row * D;
        double acc = 0.0;
        for (int d = lane; d < D; d += 32) acc += (double)a[d] * (double)o[d];
        acc = warp_sum(acc);
        if (lane == 0) {
            const long long h = row % H, bi = row / H, i = bi % Tq, b = bi / Tq;
            Di[(b * H + h) * Tq + i] = (float)acc;
        }
    }
}

// Shared tiles of the two backward kernels: query rows (Q, dO, lse, Di) and keys (K, V), each row
// padded by one float so that threads reading different rows at the same d hit different banks.
template <int DMAX, int BQ, int BKB>
struct AttBwdSmem {
    float Qs[BQ][DMAX + 1], dOs[BQ][DMAX + 1];
    float Ks[BKB][DMAX + 1], Vs[BKB][DMAX + 1];
    float Ps[BQ][BKB + 1], dSs[BQ][BKB + 1];
    float Ls[BQ], Dis[BQ];
};

// Loads query rows [i0, i0 + BQ) of head h (zero past Tq; lse = -inf there, so they see nothing).
template <int DMAX, int BQ, int BKB>
__device__ __forceinline__ void att_load_queries(AttBwdSmem<DMAX, BQ, BKB> &sm, const float *q, const float *dout,
                                                 const float *lse, const float *Di, int b, int h, int i0, int Tq,
                                                 int H, int D) {
    const unsigned long long qs = (unsigned long long)H * D;
    for (int e = threadIdx.x; e < BQ * D; e += ATT_THREADS) {
        const int r = e / D, d = e % D, i = i0 + r;
        const unsigned long long o = ((unsigned long long)b * Tq + i) * qs + (unsigned long long)h * D + d;
        sm.Qs[r][d] = i < Tq ? q[o] : 0.0f;
        sm.dOs[r][d] = i < Tq ? dout[o] : 0.0f;
    }
    for (int r = threadIdx.x; r < BQ; r += ATT_THREADS) {
        const int i = i0 + r;
        const unsigned long long o = ((unsigned long long)b * H + h) * Tq + i;
        sm.Ls[r] = i < Tq ? lse[o] : -INFINITY;
        sm.Dis[r] = i < Tq ? Di[o] : 0.0f;
    }
}

// Loads keys [j0, j0 + BKB) of kv head kvh (zero past jend and for padding keys).
template <int DMAX, int BQ, int BKB>
__device__ __forceinline__ void att_load_keys(AttBwdSmem<DMAX, BQ, BKB> &sm, const float *k, const float *v,
                                              const float *key_mask, int b, int kvh, int j0, int jend, int Tk, int KVH,
                                              int D) {
    const unsigned long long ks = (unsigned long long)KVH * D;
    for (int e = threadIdx.x; e < BKB * D; e += ATT_THREADS) {
        const int c = e / D, d = e % D, j = j0 + c;
        const bool ok = j < jend && att_key_ok(key_mask, b, Tk, j);
        const unsigned long long o = ((unsigned long long)b * Tk + j) * ks + (unsigned long long)kvh * D + d;
        sm.Ks[c][d] = ok ? k[o] : 0.0f;
        sm.Vs[c][d] = ok ? v[o] : 0.0f;
    }
}

// P and dS of the loaded (query tile at i0) × (key tile at j0): P = exp(s·scale - lse) where visible,
// else 0; dS = P (dP - Di) scale with dP = dO·V. One thread per entry (grid-stride over the tile).
template <int DMAX, int BQ, int BKB>
__device__ __forceinline__ void att_tile_scores(AttBwdSmem<DMAX, BQ, BKB> &sm, const float *key_mask, int b, int i0,
                                                int j0, int jend, int Tq, int Tk, int D, float scale, int causal,
                                                int window) {
    for (int e = threadIdx.x; e < BQ * BKB; e += ATT_THREADS) {
        const int r = e / BKB, c = e % BKB, i = i0 + r, j = j0 + c;
        float s = 0.0f, dp = 0.0f;
        for (int d = 0; d < D; d++) {
            s = fmaf(sm.Qs[r][d], sm.Ks[c][d], s);
            dp = fmaf(sm.dOs[r][d], sm.Vs[c][d], dp);
        }
        int lo, hi;
        att_key_range(Tk, causal, window, i + Tk - Tq, lo, hi);
        const float L = sm.Ls[r];
        const bool vis = i < Tq && L != -INFINITY && j < jend && j >= lo && j < hi && att_key_ok(key_mask, b, Tk, j);
        const float p = vis ? expf(s * scale - L) : 0.0f;
        sm.Ps[r][c] = p;
        sm.dSs[r][c] = p * (dp - sm.Dis[r]) * scale;
    }
}

template <int DMAX, int BQ, int BKB>
__device__ __forceinline__ void attn_backward_dq(float *dq, const float *dout, const float *q, const float *k,
                                                 const float *v, const float *lse, const float *Di,
                                                 const float *key_mask, int B, int Tq, int Tk, int H, int KVH, int D,
                                                 float scale, int causal, int window) {
    enum { RPT = BQ / 8, DPT = DMAX / 16 };   // rows and head dims per thread in the accumulation
    __shared__ AttBwdSmem<DMAX, BQ, BKB> sm;
    const int ntiles = (Tq + BQ - 1) / BQ;
    const int tile = blockIdx.x % ntiles, bh = blockIdx.x / ntiles;
    const int b = bh / H, h = bh % H, kvh = h / (H / KVH), off = Tk - Tq;
    const int i0 = tile * BQ, nq = Tq - i0 < BQ ? Tq - i0 : BQ;
    const int rg = threadIdx.x / 16, dg = threadIdx.x % 16;

    att_load_queries(sm, q, dout, lse, Di, b, h, i0, Tq, H, D);
    int jlo, jhi, tmp;
    att_key_range(Tk, causal, window, i0 + off, jlo, tmp);
    att_key_range(Tk, causal, window, i0 + nq - 1 + off, tmp, jhi);
    float acc[RPT][DPT];
#pragma unroll
    for (int a = 0; a < RPT; a++)
#pragma unroll
        for (int x = 0; x < DPT; x++) acc[a][x] = 0.0f;

    for (int j0 = jlo; j0 < jhi; j0 += BKB) {   // uniform over the block
        __syncthreads();                          // previous tile's Ks and dSs are no longer read
        att_load_keys(sm, k, v, key_mask, b, kvh, j0, jhi, Tk, KVH, D);
        __syncthreads();
        att_tile_scores(sm, key_mask, b, i0, j0, jhi, Tq, Tk, D, scale, causal, window);
        __syncthreads();
#pragma unroll
        for (int a = 0; a < RPT; a++) {
            const int r = rg + 8 * a;
#pragma unroll 4
            for (int c = 0; c < BKB; c++) {
                const float ds = sm.dSs[r][c];
#pragma unroll
                for (int x = 0; x < DPT; x++) acc[a][x] = fmaf(ds, sm.Ks[c][dg + 16 * x], acc[a][x]);
            }
        }
    }
    const unsigned long long qs = (unsigned long long)H * D;
#pragma unroll
    for (int a = 0; a < RPT; a++) {
        const int r = rg + 8 * a;
        if (r >= nq) continue;
        float *o = dq + ((unsigned long long)b * Tq + i0 + r) * qs + (unsigned long long)h * D;
#pragma unroll
        for (int x = 0; x < DPT; x++)
            if (dg + 16 * x < D) o[dg + 16 * x] = acc[a][x];
    }
}

template <int DMAX, int BQ, int BKB>
__device__ __forceinline__ void attn_backward_dkdv(float *dk, float *dv, const float *dout, const float *q,
                                                   const float *k, const float *v, const float *lse, const float *Di,
                                                   const float *key_mask, int B, int Tq, int Tk, int H, int KVH, int D,
                                                   float scale, int causal, int window) {
    enum { KPT = BKB / 8, DPT = DMAX / 16 };   // keys and head dims per thread in the accumulation
    __shared__ AttBwdSmem<DMAX, BQ, BKB> sm;
    const int ntiles = (Tk + BKB - 1) / BKB;
    const int tile = blockIdx.x % ntiles, bk = blockIdx.x / ntiles;
    const int b = bk / KVH, kvh = bk % KVH, G = H / KVH, off = Tk - Tq;
    const int j0 = tile * BKB, nk = Tk - j0 < BKB ? Tk - j0 : BKB;
    const int cg = threadIdx.x / 16, dg = threadIdx.x % 16;

    att_load_keys(sm, k, v, key_mask, b, kvh, j0, Tk, Tk, KVH, D);
    // Queries that causal/window let see some key of this tile (as the CPU backend).
    int imin = 0, imax = Tq;
    if (causal) imin = clamp_to_int((long long)j0 - off, 0, Tq);
    if (window > 0) imax = clamp_to_int((long long)j0 + nk - 1 + window - off, 0, Tq);   // p - j < window
    float adk[KPT][DPT], adv[KPT][DPT];
#pragma unroll
    for (int a = 0; a < KPT; a++)
#pragma unroll
        for (int x = 0; x < DPT; x++) adk[a][x] = adv[a][x] = 0.0f;

    for (int g = 0; g < G; g++) {
        const int h = kvh * G + g;
        for (int i0 = imin; i0 < imax; i0 += BQ) {   // uniform over the block
            __syncthreads();                           // previous tile's Qs/dOs/Ps/dSs are no longer read
            att_load_queries(sm, q, dout, lse, Di, b, h, i0, Tq, H, D);
            __syncthreads();
            att_tile_scores(sm, key_mask, b, i0, j0, Tk, Tq, Tk, D, scale, causal, window);
            __syncthreads();
#pragma unroll 4
            for (int r = 0; r < BQ; r++) {
#pragma unroll
                for (int a = 0; a < KPT; a++) {
                    const int c = cg + 8 * a;
                    const float p = sm.Ps[r][c], ds = sm.dSs[r][c];
#pragma unroll
                    for (int x = 0; x < DPT; x++) {
                        adv[a][x] = fmaf(p, sm.dOs[r][dg + 16 * x], adv[a][x]);
                        adk[a][x] = fmaf(ds, sm.Qs[r][dg + 16 * x], adk[a][x]);
                    }
                }
            }
        }
    }
    const unsigned long long ks = (unsigned long long)KVH * D;
#pragma unroll
    for (int a = 0; a < KPT; a++) {
        const int c = cg + 8 * a;
        if (c >= nk) continue;
        const unsigned long long o = ((unsigned long long)b * Tk + j0 + c) * ks + (unsigned long long)kvh * D;
#pragma unroll
        for (int x = 0; x < DPT; x++)
            if (dg + 16 * x < D) {
                dk[o + dg + 16 * x] = adk[a][x];
                dv[o + dg + 16 * x] = adv[a][x];
            }
    }
}

// Grid: B*H*ceil(Tq/BQ) blocks (index (b*H + h)*tiles + tile), block ATT_THREADS. BQ = 16 (d128), 8 (d256).
extern "C" __global__ void __launch_bounds__(ATT_THREADS, 2)
attention_backward_dq_d128_f32(float *dq, const float *dout, const float *q, const float *k, const float *v,
                               const float *lse, const float *Di, const float *key_mask, int B, int Tq, int Tk, int H,
                               int KVH, int D, float scale, int causal, int window) {
    attn_backward_dq<128, 16, 16>(dq, dout, q, k, v, lse, Di, key_mask, B, Tq, Tk, H, KVH, D, scale, causal, window);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 2)
attention_backward_dq_d256_f32(float *dq, const float *dout, const float *q, const float *k, const float *v,
                               const float *lse, const float *Di, const float *key_mask, int B, int Tq, int Tk, int H,
                               int KVH, int D, float scale, int causal, int window) {
    attn_backward_dq<256, 8, 8>(dq, dout, q, k, v, lse, Di, key_mask, B, Tq, Tk, H, KVH, D, scale, causal, window);
}

// Grid: B*KVH*ceil(Tk/BKB) blocks (index (b*KVH + kvh)*tiles + tile), block ATT_THREADS. BKB = 16 (d128), 8 (d256).
extern "C" __global__ void __launch_bounds__(ATT_THREADS, 2)
attention_backward_dkdv_d128_f32(float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v,
                                 const float *lse, const float *Di, const float *key_mask, int B, int Tq, int Tk, int H,
                                 int KVH, int D, float scale, int causal, int window) {
    attn_backward_dkdv<128, 16, 16>(dk, dv, dout, q, k, v, lse, Di, key_mask, B, Tq, Tk, H, KVH, D, scale, causal,
                                    window);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 2)
attention_backward_dkdv_d256_f32(float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v,
                                 const float *lse, const float *Di, const float *key_mask, int B, int Tq, int Tk, int H,
                                 int KVH, int D, float scale, int causal, int window) {
    attn_backward_dkdv<256, 8, 8>(dk, dv, dout, q, k, v, lse, Di, key_mask, B, Tq, Tk, H, KVH, D, scale, causal,
                                  window);
}
