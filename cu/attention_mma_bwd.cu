// attention_mma_bwd.cu — flash-attention backward with bf16 q/k/v/dout on the tensor cores (mma.sync m16n8k16,
// fp32 accumulation), head dim 128. Semantics exactly those of backend.h attention_backward and of the fp32
// kernels in attention.cu: q, dout [B,Tq,H,D], k, v [B,Tk,KVH,D] (bf16 bits); lse [B,H,Tq] (natural log, the
// forward's, -inf for a row that sees no key); Di [B,H,Tq] = rowsum(dout ∘ out) (fp32, computed by the caller);
// dq [B,Tq,H,D], dk, dv [B,Tk,KVH,D] fp32, overwritten, each element written exactly once (no atomics, so the
// result is deterministic). Query head h reads kv head h / (H/KVH); query i sits at position p = i + Tk - Tq
// and sees key j when key_mask[b,j] != 0 (or no mask) and (!causal or j <= p) and (window <= 0 or p - j < window).
//
// Math (FlashAttention-2 backward, P recomputed from lse; no softmax statistics are re-derived):
//   S = Q Kᵀ,  P = exp(S·scale - lse) (0 where not visible and on rows with lse = -inf),
//   dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ∘ (dP - Di),  dQ = scale · dS K,  dK = scale · dSᵀ Q.
// Exponentials in base 2: x = S·(scale·log2 e) - lse·log2 e (+ bias), P = 2^x (ex2.approx). The scale of dQ and
// dK is applied once in the epilogue. P and dS are rounded to bf16 (the mma A operands); everything else is
// fp32 (the products of bf16 inputs are exact, sums in fp32).
//
// Two kernels, mirroring attention.cu and cuda_attention.c cuda_attention_backward (dQ kernel + dK/dV kernel):
//
// attention_backward_dq_bf16_d128 — grid (B*H, ceil(Tq/64)); block y owns query tile nqt-1-y (under causal
//   masking the longest first), 4 warps × 16 rows. Q and dO of the tile sit in shared memory; key tiles of 64
//   (K, V, a per-key bias: 0, or -inf for padding and keys >= Tk, whose rows are zero-filled) stream through
//   two cp.async stages over the keys some row of the tile can see. Per key tile, per warp (m16 = its rows):
//     S  = Q·Kᵀ   A = Q (ldmatrix), B = K [key][d] as stored (ldmatrix, the "col" operand)
//     dP = dO·Vᵀ  A = dO, B = V likewise
//     P, dS       lse and Di of the thread's two rows are in registers
//     dQ += dS·K  A = dS straight from the accumulators (the C fragments of two adjacent n8 key tiles are the
//                 m16k16 A fragment); B = K [key][d] with k = key, n = d: ldmatrix .trans
//   Registers: dQ 16 n8 tiles × 4 = 64, S and dP 2 × 32 (64 keys at once).
//
// attention_backward_dkdv_bf16_d128 — grid (B*KVH, ceil(Tk/64)); block y owns key tile y (under causal masking
//   the low key tiles see the most queries: dispatched first), 4 warps × 16 keys. K and V of the tile sit in
//   shared memory; the block walks, for each query head of its kv head (h = kvh·G + 0..G-1), the query tiles of
//   64 rows from the first row that can see a key of the tile to the last (causal/window), one flat sequence
//   pipelined through two cp.async stages (Q, dO; lse in log2 units and Di through plain stores). Everything is
//   computed transposed, keys as the m dimension, so that dK/dV accumulate in the C fragments of the warp:
//     Sᵀ  = K·Qᵀ   A = K (ldmatrix), B = Q [query][d] as stored (ldmatrix)
//     dPᵀ = V·dOᵀ  A = V, B = dO
//     Pᵀ, dSᵀ      the thread's two keys' bias in registers, lse/Di of its query columns from shared memory
//     dV += Pᵀ·dO  A = Pᵀ from the accumulators; B = dO [query][d] with k = query, n = d: ldmatrix .trans
//     dK += dSᵀ·Q  A = dSᵀ from the accumulators; B = Q, ldmatrix .trans
//   Registers: dK and dV 2 × 64, Sᵀ/dPᵀ 2 × (QS/8)·4 for a step of QS queries: QS = 64 on sm_90 (254 registers
//   with the k-loop unrolled by 2, see AB_KK_UNROLL), 32 below (the compute_80 PTX, also assembled for
//   sm_100..sm_121: 234-255 registers, no spills). QS = 64 loads each K/V A fragment once per 64 queries instead
//   of twice (144 instead of 160 ldmatrix per 64 queries per warp, for 256 mma). Not measured against QS = 32
//   on a GPU yet: `-DAB_QS=32 -DAB_KK_UNROLL=8` builds the other one.
//   GQA needs no atomics: the block sums over all G query heads itself.
//
// Masks. Rows past Tq load as zeros with lse = +inf (log2 units) so P = 0; a row with lse = -inf (sees no key)
// also gets +inf; padded keys and keys past Tk get bias -inf. x = s·scale2 + (bias - lse2) then is -inf, never
// NaN (-inf - +inf = -inf), and P = 2^-inf = 0 exactly, so dS = 0 · (dP - Di) = 0 there. causal/window compare
// positions only on tiles that some (row, key) pair cannot see (a block-uniform test).
//
// Shared memory layout: rows of 128 bf16 = 256 bytes = 16 chunks of 16 bytes; chunk c of row r is stored at
// chunk c ^ (r % 8) (the forward's swizzle): the 8 row addresses of every ldmatrix 8×8 matrix (8 consecutive
// rows, same logical chunk), trans or not, fall in 8 different bank groups; cp.async writes stay 16-byte aligned.
//
// Pipeline (both kernels): before the loop the resident tile and streamed tile 0 (one group). Iteration t:
//   cp_async_wait<0> + __syncthreads   tile t has landed for all; every warp is done with tile t-1,
//   issue tile t+1 into the other stage, commit;   compute tile t.
// One barrier per tile; the copy of the next tile overlaps the compute of the current one.
//
// Accuracy: P and dS are rounded to bf16 before their mma (relative 2^-8 each); see the tests
// (src/backend/cuda/cuda_attention_bf16_bwd_test.c) for the bounds. Variants: compute_80/compute_90a run it; in
// compute_75 the mma.cuh wrappers trap (never launched: the kernel table's min_arch is 80). On the host
// (tools/fakecuda) every primitive is emulated lane-exactly (the emulator builds the sm_80 paths; `-DAB_QS=64`
// on its g++ line runs the sm_90 step of the dK/dV kernel).
#include "attention_tiles.cuh"   // swizzled tiles, exp2/rcp/log2, bf16x2 packing (includes mma.cuh)
#include "attention_mma_bwd.h"

// ptxcheck: attention_backward_dq_bf16_d128 max_registers=255
// ptxcheck: attention_backward_dkdv_bf16_d128 max_registers=255

#define AB_D ATTN_BWD_D
#define AB_CH (AB_D / 8)     // 16-byte chunks per row
#define AB_DT (AB_D / 8)     // n8 head-dim tiles of an accumulator row block
#define AB_QBQ ATTN_BWD_DQ_BQ
#define AB_QBKV ATTN_BWD_DQ_BKV
#define AB_KBKV ATTN_BWD_DKDV_BKV
#define AB_KBQ ATTN_BWD_DKDV_BQ
#ifndef AB_QS   // queries per step of the dK/dV kernel (Sᵀ/dPᵀ of AB_QS queries live in registers)
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define AB_QS 64
#else
#define AB_QS 32
#endif

#endif
#define AB_QNT (AB_QS / 8)   // n8 query tiles per step (dK/dV kernel)
#define AB_KS 64             // keys per step of the dQ kernel
#define AB_KNT (AB_KS / 8)   // n8 key tiles per step (dQ kernel)
// Unrolling of the 8 k-steps of Sᵀ/dPᵀ in the dK/dV kernel: by 2 on sm_90 (with AB_QS = 64, full unrolling
// spills 36 bytes and unrolling by 4 spills 8: ptxas hoists the ldmatrix of later k-steps; by 2: 254 registers,
// no spills), fully below (AB_QS = 32).
#ifndef AB_KK_UNROLL
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define AB_KK_UNROLL 2
#else
#define AB_KK_UNROLL 8
#endif
#endif
constexpr int ab_kk_unroll = AB_KK_UNROLL;   // (a constant, not a macro: #pragma unroll does not expand macros)

static_assert(AB_D == ATT_ROW && AB_CH == 16, "rows of 16 chunks: the swizzle and load loops assume it");
static_assert(AB_QBQ == 16 * (ATTN_BWD_DQ_THREADS / 32) && AB_KBKV == 16 * (ATTN_BWD_DKDV_THREADS / 32),
              "one m16 tile per warp");
static_assert(AB_QBKV % AB_KS == 0 && AB_KBQ % AB_QS == 0 && AB_QS % 16 == 0, "tile shape");
static_assert((AB_QBKV * AB_CH) % ATTN_BWD_DQ_THREADS == 0 && (AB_KBQ * AB_CH) % ATTN_BWD_DKDV_THREADS == 0,
              "load loops");

// lse (natural log) -> log2 units; -inf (a row that sees no key) and rows past Tq -> +inf, so 2^(x - lse2) = 0.
__device__ __forceinline__ float ab_lse2(float l) { return l == -INFINITY ? INFINITY : l * 1.4426950408889634f; }

// cp.async of NR rows of 128 bf16 into a swizzled tile: row r from src + r·stride when ok(r), else zero-filled
// (nothing read). Thread tid copies chunk tid % 16 of rows tid / 16 + (threads/16)·i: a half-warp reads one
// 256-byte row.
template <int NR, int THREADS, typename Ok>
__device__ __forceinline__ void ab_load_rows(bf16 *dst, const bf16 *src, unsigned long long stride, Ok ok, int tid) {
    const int c = tid & 15;
#pragma unroll
    for (int i = 0; i < NR * AB_CH / THREADS; i++) {
        const int r = i * (THREADS / AB_CH) + (tid >> 4);
        const bool y = ok(r);
        cp_async16(dst + att_swz(r, c), src + (y ? (unsigned long long)r * stride + (unsigned long long)(c * 8) : 0ull),
                   y ? 16 : 0);
    }
}

// ---------------------------------------------------------------------------------------------------
// dQ

// Grid (B*H, ceil(Tq/64)); block ATTN_BWD_DQ_THREADS; dynamic shared memory ATTN_BWD_DQ_SMEM_BYTES. D must be
// 128; dout/q/k/v 16-byte aligned (cp.async), dq 8-byte aligned.
extern "C" __global__ void __launch_bounds__(ATTN_BWD_DQ_THREADS, 2)
attention_backward_dq_bf16_d128(float *dq, const bf16 *dout, const bf16 *q, const bf16 *k, const bf16 *v, const float *lse,
                                const float *Di, const float *key_mask, int B, int Tq, int Tk, int H, int KVH, int D,
                                float scale, int causal, int window) {
    (void)B;
    (void)D;
    DYNAMIC_SMEM(smem);
    bf16 *Qs = (bf16 *)smem;                 // [BQ][D]
    bf16 *dOs = Qs + AB_QBQ * AB_D;          // [BQ][D]
    bf16 *Ks = dOs + AB_QBQ * AB_D;          // [2][BKV][D]
    bf16 *Vs = Ks + 2 * AB_QBKV * AB_D;      // [2][BKV][D]
    float *Bias = (float *)(Vs + 2 * AB_QBKV * AB_D);   // [2][BKV]

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int bh = blockIdx.x, b = bh / H, h = bh % H, kvh = h / (H / KVH);
    const int nqt = (Tq + AB_QBQ - 1) / AB_QBQ;
    const int qt = nqt - 1 - (int)blockIdx.y;
    const int i0 = qt * AB_QBQ;
    const int nq = Tq - i0 < AB_QBQ ? Tq - i0 : AB_QBQ;
    const int off = Tk - Tq;
    const unsigned long long qstride = (unsigned long long)H * AB_D, kstride = (unsigned long long)KVH * AB_D;
    const unsigned long long qoff = ((unsigned long long)b * Tq + i0) * qstride + (unsigned long long)h * AB_D;
    const bf16 *kb = k + (unsigned long long)b * Tk * kstride + (unsigned long long)kvh * AB_D;
    const bf16 *vb = v + (unsigned long long)b * Tk * kstride + (unsigned long long)kvh * AB_D;
    const float *mb = key_mask ? key_mask + (unsigned long long)b * Tk : nullptr;

    // Key tiles any row of the block may see, and those every row sees whole.
    const int pf = i0 + off, pl = i0 + nq - 1 + off;   // positions of the first / last valid row
    const AttKeyTiles kt = att_key_tiles<AB_QBKV>(pf, pl, Tk, causal, window);
    const int tfirst = kt.tfirst, ntiles = kt.ntiles, jfull_lo = kt.jfull_lo, jfull_hi = kt.jfull_hi;

    const float scale2 = scale * 1.4426950408889634f;
    const int wrow = warp * 16;
    float l2[2], di[2];   // rows wrow + g, wrow + g + 8
#pragma unroll
    for (int hf = 0; hf < 2; hf++) {
        const int r = wrow + g + 8 * hf;
        const unsigned long long o = ((unsigned long long)b * H + h) * Tq + i0 + r;
        l2[hf] = r < nq ? ab_lse2(lse[o]) : INFINITY;
        di[hf] = r < nq ? Di[o] : 0.0f;
    }

    auto load_kv = [&](int st, int j0) {
        auto ok = [&](int r) { const int j = j0 + r; return j < Tk && (!mb || mb[j] != 0.0f); };
        ab_load_rows<AB_QBKV, ATTN_BWD_DQ_THREADS>(Ks + st * AB_QBKV * AB_D, kb + (unsigned long long)j0 * kstride,
                                                   kstride, ok, tid);
        ab_load_rows<AB_QBKV, ATTN_BWD_DQ_THREADS>(Vs + st * AB_QBKV * AB_D, vb + (unsigned long long)j0 * kstride,
                                                   kstride, ok, tid);
        if (tid < AB_QBKV) Bias[st * AB_QBKV + tid] = ok(tid) ? 0.0f : -INFINITY;
    };

    float acc[AB_DT][4];
#pragma unroll
    for (int dt = 0; dt < AB_DT; dt++) acc[dt][0] = acc[dt][1] = acc[dt][2] = acc[dt][3] = 0.0f;

    if (ntiles > 0) {
        auto okq = [&](int r) { return r < nq; };
        ab_load_rows<AB_QBQ, ATTN_BWD_DQ_THREADS>(Qs, q + qoff, qstride, okq, tid);
        ab_load_rows<AB_QBQ, ATTN_BWD_DQ_THREADS>(dOs, dout + qoff, qstride, okq, tid);
        load_kv(0, tfirst * AB_QBKV);
    }
    cp_async_commit();

    for (int it = 0; it < ntiles; it++) {
        const int j0 = (tfirst + it) * AB_QBKV, st = it & 1;
        cp_async_wait<0>();
        __syncthreads();   // tile it visible to all; stage st^1 (tile it-1) no longer read
        if (it + 1 < ntiles) load_kv(st ^ 1, j0 + AB_QBKV);
        cp_async_commit();
        const bf16 *ks = Ks + st * AB_QBKV * AB_D, *vs = Vs + st * AB_QBKV * AB_D;
        const float *bias = Bias + st * AB_QBKV;

#pragma unroll 1
        for (int ks0 = 0; ks0 < AB_QBKV; ks0 += AB_KS) {
            // ---- S = Q·Kᵀ, dP = dO·Vᵀ ----
            float s[AB_KNT][4], dp[AB_KNT][4];
#pragma unroll
            for (int nt = 0; nt < AB_KNT; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++) s[nt][e] = dp[nt][e] = 0.0f;
#pragma unroll
            for (int kk = 0; kk < AB_D / 16; kk++) {
                unsigned qa[4], oa[4];
                // A m16k16: matrices (rows 0-7, d 0-7), (rows 8-15, d 0-7), (rows 0-7, d 8-15), (rows 8-15, d 8-15).
                ldmatrix_x4(qa, Qs + att_swz(wrow + (lane & 15), 2 * kk + (lane >> 4)));
                ldmatrix_x4(oa, dOs + att_swz(wrow + (lane & 15), 2 * kk + (lane >> 4)));
#pragma unroll
                for (int np = 0; np < AB_KNT / 2; np++) {
                    // B for key tiles 2np, 2np+1: matrices (keys 0-7, d 0-7), (keys 0-7, d 8-15), (keys 8-15, d 0-7),
                    // (keys 8-15, d 8-15); r[0..1] is tile 2np's b, r[2..3] tile 2np+1's.
                    const int o = att_swz(ks0 + np * 16 + (lane & 7) + ((lane >> 4) << 3), 2 * kk + ((lane >> 3) & 1));
                    unsigned kf[4], vf[4];
                    ldmatrix_x4(kf, ks + o);
                    ldmatrix_x4(vf, vs + o);
                    mma_bf16_16816(s[2 * np], qa, kf);
                    mma_bf16_16816(s[2 * np + 1], qa, kf + 2);
                    mma_bf16_16816(dp[2 * np], oa, vf);
                    mma_bf16_16816(dp[2 * np + 1], oa, vf + 2);
                }
            }

            // ---- P = 2^(s·scale2 + bias - lse2) (masked: 0), dS = P (dP - Di) ----
            // Thread holds row wrow + g + 8·(e/2), key j0 + ks0 + nt·8 + 2t + e%2 in s[nt][e].
            const bool cut = j0 > jfull_hi || j0 <= jfull_lo;   // block-uniform: causal/window cut this tile
#pragma unroll
            for (int nt = 0; nt < AB_KNT; nt++) {
                const float2 bb = lds2(bias + ks0 + nt * 8 + 2 * t);
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    float x = fmaf(s[nt][e], scale2, ((e & 1) ? bb.y : bb.x) - l2[e >> 1]);
                    if (cut) {
                        const int diff = i0 + wrow + g + 8 * (e >> 1) + off - (j0 + ks0 + nt * 8 + 2 * t + (e & 1));
                        if ((causal && diff < 0) || (window > 0 && diff >= window)) x = -INFINITY;
                    }
                    const float p = att_exp2(x);
                    dp[nt][e] = p * (dp[nt][e] - di[e >> 1]);
                }
            }

            // ---- dQ += dS·K ----
#pragma unroll
            for (int kc = 0; kc < AB_KS / 16; kc++) {
                unsigned da[4];
                da[0] = att_pack_bf16(dp[2 * kc][0], dp[2 * kc][1]);           // row g,   keys 2t..
                da[1] = att_pack_bf16(dp[2 * kc][2], dp[2 * kc][3]);           // row g+8, keys 2t..
                da[2] = att_pack_bf16(dp[2 * kc + 1][0], dp[2 * kc + 1][1]);   // row g,   keys 2t+8..
                da[3] = att_pack_bf16(dp[2 * kc + 1][2], dp[2 * kc + 1][3]);   // row g+8, keys 2t+8..
#pragma unroll
                for (int dp2 = 0; dp2 < AB_DT / 2; dp2++) {
                    // B (trans) for d tiles 2dp2, 2dp2+1: matrices (keys 0-7, d 0-7), (keys 8-15, d 0-7),
                    // (keys 0-7, d 8-15), (keys 8-15, d 8-15) of this key chunk.
                    unsigned kf[4];
                    ldmatrix_x4_trans(kf, ks + att_swz(ks0 + kc * 16 + (lane & 7) + (((lane >> 3) & 1) << 3), 2 * dp2 + (lane >> 4)));
                    mma_bf16_16816(acc[2 * dp2], da, kf);
                    mma_bf16_16816(acc[2 * dp2 + 1], da, kf + 2);
                }
            }
        }
    }
    cp_async_wait<0>();

    // ---- epilogue: dq = scale · acc, rows < nq ----
#pragma unroll
    for (int hf = 0; hf < 2; hf++) {
        const int r = wrow + g + 8 * hf;
        if (r >= nq) continue;
        float *orow = dq + qoff + (unsigned long long)r * qstride;
#pragma unroll
        for (int dt = 0; dt < AB_DT; dt++)
            att_store2(orow + dt * 8 + 2 * t, acc[dt][2 * hf] * scale, acc[dt][2 * hf + 1] * scale);
    }
}

// ---------------------------------------------------------------------------------------------------
// dK, dV

// Grid (B*KVH, ceil(Tk/64)); block ATTN_BWD_DKDV_THREADS; dynamic shared memory ATTN_BWD_DKDV_SMEM_BYTES. D must
// be 128; dout/q/k/v 16-byte aligned (cp.async), dk/dv 8-byte aligned.
extern "C" __global__ void __launch_bounds__(ATTN_BWD_DKDV_THREADS, 2)
attention_backward_dkdv_bf16_d128(float *dk, float *dv, const bf16 *dout, const bf16 *q, const bf16 *k, const bf16 *v,
                                  const float *lse, const float *Di, const float *key_mask, int B, int Tq, int Tk, int H,
                                  int KVH, int D, float scale, int causal, int window) {
    (void)B;
    (void)D;
    DYNAMIC_SMEM(smem);
    bf16 *Ks = (bf16 *)smem;                  // [BKV][D]
    bf16 *Vs = Ks + AB_KBKV * AB_D;           // [BKV][D]
    bf16 *Qs = Vs + AB_KBKV * AB_D;           // [2][BQ][D]
    bf16 *dOs = Qs + 2 * AB_KBQ * AB_D;       // [2][BQ][D]
    float *Ls = (float *)(dOs + 2 * AB_KBQ * AB_D);   // [2][BQ] lse in log2 units (+inf: row sees nothing)
    float *Ds = Ls + 2 * AB_KBQ;                      // [2][BQ] Di

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int bk = blockIdx.x, b = bk / KVH, kvh = bk % KVH, G = H / KVH;
    const int j0 = (int)blockIdx.y * AB_KBKV;
    const int nk = Tk - j0 < AB_KBKV ? Tk - j0 : AB_KBKV;
    const int off = Tk - Tq;
    const unsigned long long qstride = (unsigned long long)H * AB_D, kstride = (unsigned long long)KVH * AB_D;
    const unsigned long long koff = ((unsigned long long)b * Tk + j0) * kstride + (unsigned long long)kvh * AB_D;
    const float *mb = key_mask ? key_mask + (unsigned long long)b * Tk : nullptr;

    // Queries that causal/window let see some key of the tile: [imin, imax) (as attention.cu).
    const int imin = causal ? clamp_to_int((long long)j0 - off, 0, Tq) : 0;
    const int imax = window > 0 ? clamp_to_int((long long)j0 + nk - 1 + window - off, 0, Tq) : Tq;
    const int ntq = imax > imin ? (imax - imin + AB_KBQ - 1) / AB_KBQ : 0;
    const int nit = G * ntq;

    const float scale2 = scale * 1.4426950408889634f;
    const int wrow = warp * 16;   // first key of this warp in the tile
    auto key_ok = [&](int r) { const int j = j0 + r; return r < nk && (!mb || mb[j] != 0.0f); };
    float kbias[2];   // keys wrow + g, wrow + g + 8: 0 or -inf
    kbias[0] = key_ok(wrow + g) ? 0.0f : -INFINITY;
    kbias[1] = key_ok(wrow + g + 8) ? 0.0f : -INFINITY;

    // Query tile `it` of the flat sequence: head kvh·G + it / ntq, rows imin + (it % ntq)·BQ ...
    auto load_q = [&](int st, int it) {
        const int h = kvh * G + it / ntq, i0 = imin + (it % ntq) * AB_KBQ;
        const unsigned long long o = ((unsigned long long)b * Tq + i0) * qstride + (unsigned long long)h * AB_D;
        auto ok = [&](int r) { return i0 + r < Tq; };
        ab_load_rows<AB_KBQ, ATTN_BWD_DKDV_THREADS>(Qs + st * AB_KBQ * AB_D, q + o, qstride, ok, tid);
        ab_load_rows<AB_KBQ, ATTN_BWD_DKDV_THREADS>(dOs + st * AB_KBQ * AB_D, dout + o, qstride, ok, tid);
        if (tid < AB_KBQ) {
            const unsigned long long lo = ((unsigned long long)b * H + h) * Tq + i0 + tid;
            const bool y = i0 + tid < Tq;
            Ls[st * AB_KBQ + tid] = y ? ab_lse2(lse[lo]) : INFINITY;
            Ds[st * AB_KBQ + tid] = y ? Di[lo] : 0.0f;
        }
    };

    float adk[AB_DT][4], adv[AB_DT][4];
#pragma unroll
    for (int dt = 0; dt < AB_DT; dt++)
#pragma unroll
        for (int e = 0; e < 4; e++) adk[dt][e] = adv[dt][e] = 0.0f;

    if (nit > 0) {
        ab_load_rows<AB_KBKV, ATTN_BWD_DKDV_THREADS>(Ks, k + koff, kstride, key_ok, tid);
        ab_load_rows<AB_KBKV, ATTN_BWD_DKDV_THREADS>(Vs, v + koff, kstride, key_ok, tid);
        load_q(0, 0);
    }
    cp_async_commit();

    for (int it = 0; it < nit; it++) {
        const int st = it & 1;
        cp_async_wait<0>();
        __syncthreads();   // tile it visible to all; stage st^1 (tile it-1) no longer read
        if (it + 1 < nit) load_q(st ^ 1, it + 1);
        cp_async_commit();
        const int i0 = imin + (it % ntq) * AB_KBQ;
        const bf16 *qs = Qs + st * AB_KBQ * AB_D, *os = dOs + st * AB_KBQ * AB_D;
        const float *ls = Ls + st * AB_KBQ, *ds = Ds + st * AB_KBQ;
        // Block-uniform: does causal/window hide some (query < Tq, key < Tk) pair of this tile?
        const bool cut = (causal && i0 + off < j0 + AB_KBKV - 1) ||
                         (window > 0 && (long long)i0 + AB_KBQ - 1 + off - j0 >= window);

#pragma unroll 1
        for (int qs0 = 0; qs0 < AB_KBQ; qs0 += AB_QS) {
            // ---- Sᵀ = K·Qᵀ, dPᵀ = V·dOᵀ ----
            float s[AB_QNT][4], dp[AB_QNT][4];
#pragma unroll
            for (int nt = 0; nt < AB_QNT; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++) s[nt][e] = dp[nt][e] = 0.0f;
#pragma unroll ab_kk_unroll
            for (int kk = 0; kk < AB_D / 16; kk++) {
                unsigned ka[4], va[4];
                ldmatrix_x4(ka, Ks + att_swz(wrow + (lane & 15), 2 * kk + (lane >> 4)));
                ldmatrix_x4(va, Vs + att_swz(wrow + (lane & 15), 2 * kk + (lane >> 4)));
#pragma unroll
                for (int np = 0; np < AB_QNT / 2; np++) {
                    const int o = att_swz(qs0 + np * 16 + (lane & 7) + ((lane >> 4) << 3), 2 * kk + ((lane >> 3) & 1));
                    unsigned qf[4], of[4];
                    ldmatrix_x4(qf, qs + o);
                    ldmatrix_x4(of, os + o);
                    mma_bf16_16816(s[2 * np], ka, qf);
                    mma_bf16_16816(s[2 * np + 1], ka, qf + 2);
                    mma_bf16_16816(dp[2 * np], va, of);
                    mma_bf16_16816(dp[2 * np + 1], va, of + 2);
                }
            }

            // ---- Pᵀ = 2^(s·scale2 + kbias - lse2) (masked: 0), dSᵀ = Pᵀ (dPᵀ - Di) ----
            // Thread holds key j0 + wrow + g + 8·(e/2), query i0 + qs0 + nt·8 + 2t + e%2 in s[nt][e].
#pragma unroll
            for (int nt = 0; nt < AB_QNT; nt++) {
                const float2 lq = lds2(ls + qs0 + nt * 8 + 2 * t), dq2 = lds2(ds + qs0 + nt * 8 + 2 * t);
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    float x = fmaf(s[nt][e], scale2, kbias[e >> 1] - ((e & 1) ? lq.y : lq.x));
                    if (cut) {
                        const int diff = i0 + qs0 + nt * 8 + 2 * t + (e & 1) + off - (j0 + wrow + g + 8 * (e >> 1));
                        if ((causal && diff < 0) || (window > 0 && diff >= window)) x = -INFINITY;
                    }
                    const float p = att_exp2(x);
                    s[nt][e] = p;
                    dp[nt][e] = p * (dp[nt][e] - ((e & 1) ? dq2.y : dq2.x));
                }
            }

            // ---- dV += Pᵀ·dO, dK += dSᵀ·Q ----
#pragma unroll
            for (int kc = 0; kc < AB_QS / 16; kc++) {
                unsigned pa[4], da[4];
                pa[0] = att_pack_bf16(s[2 * kc][0], s[2 * kc][1]);             // key g,   queries 2t..
                pa[1] = att_pack_bf16(s[2 * kc][2], s[2 * kc][3]);             // key g+8, queries 2t..
                pa[2] = att_pack_bf16(s[2 * kc + 1][0], s[2 * kc + 1][1]);     // key g,   queries 2t+8..
                pa[3] = att_pack_bf16(s[2 * kc + 1][2], s[2 * kc + 1][3]);     // key g+8, queries 2t+8..
                da[0] = att_pack_bf16(dp[2 * kc][0], dp[2 * kc][1]);
                da[1] = att_pack_bf16(dp[2 * kc][2], dp[2 * kc][3]);
                da[2] = att_pack_bf16(dp[2 * kc + 1][0], dp[2 * kc + 1][1]);
                da[3] = att_pack_bf16(dp[2 * kc + 1][2], dp[2 * kc + 1][3]);
#pragma unroll
                for (int dp2 = 0; dp2 < AB_DT / 2; dp2++) {
                    // B (trans) for d tiles 2dp2, 2dp2+1: matrices (queries 0-7, d 0-7), (queries 8-15, d 0-7),
                    // (queries 0-7, d 8-15), (queries 8-15, d 8-15) of this query chunk.
                    const int o = att_swz(qs0 + kc * 16 + (lane & 7) + (((lane >> 3) & 1) << 3), 2 * dp2 + (lane >> 4));
                    unsigned of[4], qf[4];
                    ldmatrix_x4_trans(of, os + o);
                    mma_bf16_16816(adv[2 * dp2], pa, of);
                    mma_bf16_16816(adv[2 * dp2 + 1], pa, of + 2);
                    ldmatrix_x4_trans(qf, qs + o);
                    mma_bf16_16816(adk[2 * dp2], da, qf);
                    mma_bf16_16816(adk[2 * dp2 + 1], da, qf + 2);
                }
            }
        }
    }
    cp_async_wait<0>();

    // ---- epilogue: dk = scale · adk, dv = adv, keys < nk (padded keys: 0) ----
#pragma unroll
    for (int hf = 0; hf < 2; hf++) {
        const int r = wrow + g + 8 * hf;
        if (r >= nk) continue;
        const unsigned long long o = koff + (unsigned long long)r * kstride;
#pragma unroll
        for (int dt = 0; dt < AB_DT; dt++) {
            att_store2(dk + o + dt * 8 + 2 * t, adk[dt][2 * hf] * scale, adk[dt][2 * hf + 1] * scale);
            att_store2(dv + o + dt * 8 + 2 * t, adv[dt][2 * hf], adv[dt][2 * hf + 1]);
        }
    }
}
