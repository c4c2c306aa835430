// attention_mma.cu — flash-attention forward with bf16 q/k/v on the tensor cores (mma.sync m16n8k16,
// fp32 accumulation), head dim 128. Semantics exactly those of backend.h attention_forward and of the
// fp32 kernels in attention.cu: q [B,Tq,H,D], k/v [B,Tk,KVH,D] (bf16 bits), out [B,Tq,H,D] and
// lse [B,H,Tq] fp32 (lse may be NULL). Query head h reads kv head h / (H/KVH); query i sits at absolute
// position p = i + Tk - Tq and sees key j when
//   key_mask[b,j] != 0 (or key_mask == NULL)  and  (!causal or j <= p)  and  (window <= 0 or p - j < window).
// A row that sees no key gets out = 0 and lse = -inf (never NaN).
//
// Work split (FlashAttention-2). Grid (B*H, y); a block of 4 warps owns BQ = 128 query rows of one (b, h);
// warp w owns rows 32w..32w+31 as two m16 tiles (MT = 2), so each K/V fragment it loads from shared memory
// feeds two mma (16 rows per warp would make ldmatrix, not the tensor cores, the limit). Query tiles: with
// y = ceil(Tq/BQ) block y owns tile nqt-1-y, so under causal masking the longest blocks are dispatched
// first; with y = ceil(nqt/2) ("paired", only when the launcher is told to) block y owns tile nqt-1-y and
// then tile y, equal work per block (measured 2-3% slower on an H200 at T = 2048/4096, so off by default).
// The block loops over the key tiles of BKV = 64 keys that some of its rows can see (causal: stops after
// the diagonal; window: starts at the first row's window), in steps of KS keys (64 on sm_90, 32 below:
// see "Registers"), and per step:
//   S = Q·Kᵀ     Q fragments by ldmatrix from the Q tile in shared memory (A, row-major m16k16); the
//                K tile [key][d] in shared memory is exactly the "col" B operand (ldmatrix, not trans).
//   scale/mask   s2 = s·scale·log2(e) + bias[key] (bias = 0, or -inf for padding and keys >= Tk, whose
//                K/V rows are zero-filled so the sum is exactly -inf and 0·V never meets NaN);
//                causal/window compare positions only on tiles that some row cannot fully see.
//   softmax      online, fp32 registers, base 2. Row max reduced across the 4 lanes of a quad with
//                __shfl_xor_sync; the row sum l stays a per-thread partial until the epilogue. Lazy
//                rescaling: the reference max m of a row moves (and O, l are multiplied by 2^(m_old - m))
//                only when the step's max exceeds m by more than AM_RESCALE = 8, so p = 2^(s2 - m) <= 256
//                and the 32 multiplications per row, a divergent branch, are rare after the first tiles
//                (measured +2-4% over rescaling on every new max). A row with nothing visible yet keeps m = -inf and
//                uses 0 as reference, so exp2 never sees -inf - -inf.
//   O += P·V     P goes to bf16 straight from the S accumulators (the m16n8 C fragments of two adjacent
//                key tiles are the m16k16 A fragment); V [key][d] is the B operand via ldmatrix .trans.
// Epilogue: out = O / l (0 for rows without a visible key), lse = (m + log2 l)·ln 2 (natural log), -inf
// there. Only rows < Tq are written. Accuracy: P is rounded to bf16 (relative 2^-8) while l sums the fp32 P,
// so |out - exact| <= 2^-8 max|v| (+ fp32 rounding); lse sees only fp32 rounding and ex2/lg2.approx.
//
// Registers per thread: O 2×16×4 = 128 fp32, S/P 2×(KS/8)×4, Q/K/V fragments; __launch_bounds__(128, 2)
// caps at 255 (two 4-warp blocks per SM). With KS = 64 the kernel sits at exactly 255 on sm_90a and ptxas
// is on the edge of spilling: small code changes (even moving the loop below) have flipped it into 4-60
// bytes of spills, which ./nob ptxcheck rejects. Below sm_90 (compute_80 PTX, also assembled for later
// GPUs) KS = 32 keeps the S/P registers at 32 and the k-loop of Q·Kᵀ is unrolled by 4, not 8 (245-247
// registers, no spills on sm_80..sm_121); on the H200, KS = 32 measured 16% slower than KS = 64.
//
// Shared memory (dynamic, ATTN_MMA_SMEM_BYTES): Qs [128][128] | Ks [2][64][128] | Vs [2][64][128] bf16 |
// bias [2][64] fp32. Rows are 256 bytes = 16 chunks of 16 bytes; chunk c of row r is stored at chunk
// c ^ (r % 8), so the 8 row addresses of every ldmatrix 8×8 matrix (8 consecutive rows, same logical
// chunk) fall in 8 different bank groups, and cp.async writes stay 16-byte aligned.
//
// Pipeline: cp.async, two stages. Before the loop: Q and key tile 0 (one group). Iteration t:
//   cp_async_wait<0> + __syncthreads   tile t has landed for every thread, and every warp is done
//                                      with tile t-1, whose stage tile t+1 now reuses;
//   issue tile t+1 into the other stage (K, V and bias), commit;   compute tile t.
// So one barrier per tile and the copy of the next tile overlaps the whole compute of the current one.
//
// Measured (H200, B1 H32 D128, bf16 in, fp32 out): T2048 causal 289 TFLOP/s, full 330; T4096 causal 334,
// full 351 (PyTorch SDPA there: T2048 causal 338, full 536).
// Out-of-range query rows (past Tq) load as zeros and are computed but never stored.
// Variants: compute_80/compute_90a run it; in compute_75 the mma.cuh wrappers trap (never launched there:
// the kernel table's min_arch is 80). On the host (tools/fakecuda) every primitive is emulated lane-exactly
// (the emulator builds the KS = 32 path; `-DAM_KS=64` on its g++ line runs the sm_90 one).
#include "attention_tiles.cuh"   // swizzled tiles, exp2/rcp/log2, bf16x2 packing (includes mma.cuh)
#include "attention_mma.h"

// ptxcheck: attention_forward_bf16_d128 max_registers=255

#define AM_D ATTN_MMA_D
#define AM_BQ ATTN_MMA_BQ
#define AM_BKV ATTN_MMA_BKV
#define AM_THREADS ATTN_MMA_THREADS
#define AM_WARPS (AM_THREADS / 32)
#define AM_MT (AM_BQ / (16 * AM_WARPS))   // m16 tiles per warp
#ifndef AM_KS   // keys per softmax step (S/P of AM_KS keys live in registers; see "Registers" above)
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define AM_KS 64
#else
#define AM_KS 32
#endif
#endif
// Unrolling of the 8 k-steps of S = Q·Kᵀ: fully on sm_90; by 4 below, where the compute_80 PTX otherwise
// spills 8 bytes when assembled for sm_120 (ptxas hoists ldmatrix of later k-steps too far ahead).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
constexpr int am_kk_unroll = 8;   // (a constant, not a macro: #pragma unroll does not expand macros)
#else
constexpr int am_kk_unroll = 4;
#endif
#ifndef AM_RESCALE
#define AM_RESCALE 8.0f                    // lazy-rescale threshold (log2 units): p <= 256
#endif
#define AM_NT (AM_KS / 8)                  // n8 key tiles of S per m16 tile
#define AM_DT (AM_D / 8)                   // n8 head-dim tiles of O per m16 tile
#define AM_CH (AM_D / 8)                   // 16-byte chunks per row

static_assert(AM_D == ATT_ROW && AM_CH == 16, "rows of 16 chunks: the swizzle and load loops assume it");
static_assert(AM_BQ % (16 * AM_WARPS) == 0 && AM_BKV % AM_KS == 0 && AM_KS % 16 == 0, "tile shape");
static_assert((AM_BQ * AM_CH) % AM_THREADS == 0 && (AM_BKV * AM_CH) % AM_THREADS == 0, "load loops");

// Issues the cp.async copies of keys [j0, j0 + BKV) of one (b, kv head) into stage buffers ks/vs and writes
// their bias (0 or -inf). Keys past Tk or padded by the mask are zero-filled (nothing is read for them).
// Thread tid copies chunk tid % 16 of rows tid / 16 + 8i: each half-warp reads one 256-byte row.
__device__ __forceinline__ void am_load_kv(bf16 *ks, bf16 *vs, float *bias, const bf16 *kb, const bf16 *vb,
                                           const float *mb, int j0, int Tk, unsigned long long kstride, int tid) {
    const int c = tid & 15;
#pragma unroll
    for (int i = 0; i < AM_BKV * AM_CH / AM_THREADS; i++) {
        const int r = i * (AM_THREADS / AM_CH) + (tid >> 4), j = j0 + r;
        const bool ok = j < Tk && (!mb || mb[j] != 0.0f);
        const unsigned long long o = (unsigned long long)(ok ? j : 0) * kstride + (unsigned long long)(c * 8);
        cp_async16(ks + att_swz(r, c), kb + o, ok ? 16 : 0);
        cp_async16(vs + att_swz(r, c), vb + o, ok ? 16 : 0);
        if (c == 0) bias[r] = ok ? 0.0f : -INFINITY;
    }
}

// Grid (B*H, ceil(Tq/BQ)) or, paired, (B*H, ceil(ceil(Tq/BQ)/2)); block ATTN_MMA_THREADS; dynamic shared memory
// ATTN_MMA_SMEM_BYTES. D must be 128; q/k/v 16-byte aligned (cp.async), out 8-byte aligned.
extern "C" __global__ void __launch_bounds__(ATTN_MMA_THREADS, 2)
attention_forward_bf16_d128(float *out, float *lse, const bf16 *q, const bf16 *k, const bf16 *v, const float *key_mask,
                            int B, int Tq, int Tk, int H, int KVH, int D, float scale, int causal, int window) {
    (void)B;
    (void)D;
    DYNAMIC_SMEM(smem);
    bf16 *Qs = (bf16 *)smem;
    bf16 *Ks = Qs + AM_BQ * AM_D;
    bf16 *Vs = Ks + 2 * AM_BKV * AM_D;
    float *Bias = (float *)(Vs + 2 * AM_BKV * AM_D);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int bh = blockIdx.x, b = bh / H, h = bh % H, kvh = h / (H / KVH);
    // Query tiles: unpaired, block y owns tile nqt-1-y (the longest first under causal masking); paired (grid y
    // = ceil(nqt/2), only when the launcher is told to), block y owns tile nqt-1-y and then tile y.
    const int nqt = (Tq + AM_BQ - 1) / AM_BQ;
    const bool paired = (int)gridDim.y < nqt;
#pragma unroll 1
    for (int pass = 0; pass < 2; pass++) {
        const int qt = pass == 0 ? nqt - 1 - (int)blockIdx.y : (int)blockIdx.y;
        if (pass == 1) {
            if (!paired || qt == nqt - 1 - (int)blockIdx.y) break;   // odd nqt: the middle tile only once
            __syncthreads();   // every warp is done with the first tile's shared memory
        }
        const int i0 = qt * AM_BQ;
        const int nq = Tq - i0 < AM_BQ ? Tq - i0 : AM_BQ;
        const int off = Tk - Tq;
        const unsigned long long qstride = (unsigned long long)H * AM_D, kstride = (unsigned long long)KVH * AM_D;
        const bf16 *qb = q + ((unsigned long long)b * Tq + i0) * qstride + (unsigned long long)h * AM_D;
        const bf16 *kb = k + (unsigned long long)b * Tk * kstride + (unsigned long long)kvh * AM_D;
        const bf16 *vb = v + (unsigned long long)b * Tk * kstride + (unsigned long long)kvh * AM_D;
        const float *mb = key_mask ? key_mask + (unsigned long long)b * Tk : nullptr;

        // Key tiles any row of the block may see, and those every row sees whole.
        const int pf = i0 + off, pl = i0 + nq - 1 + off;   // positions of the first / last valid row (|p| <= Tq + Tk)
        const AttKeyTiles kt = att_key_tiles<AM_BKV>(pf, pl, Tk, causal, window);
        const int tfirst = kt.tfirst, ntiles = kt.ntiles, jfull_lo = kt.jfull_lo, jfull_hi = kt.jfull_hi;

        float o[AM_MT][AM_DT][4];
        float m[AM_MT][2], l[AM_MT][2];   // per (m16 tile, row g / g+8): running max (log2 units), partial sum
#pragma unroll
        for (int mt = 0; mt < AM_MT; mt++) {
#pragma unroll
            for (int dt = 0; dt < AM_DT; dt++) o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.0f;
            m[mt][0] = m[mt][1] = -INFINITY;
            l[mt][0] = l[mt][1] = 0.0f;
        }
        const float scale2 = scale * 1.4426950408889634f;   // scores in log2 units: exp(x) = 2^(x log2 e)
        const int wrow = warp * AM_MT * 16;                  // first row of this warp in the block

        if (ntiles > 0) {
#pragma unroll
            for (int i = 0; i < AM_BQ * AM_CH / AM_THREADS; i++) {
                const int idx = i * AM_THREADS + tid, r = idx >> 4, c = idx & 15;
                const bool ok = r < nq;
                cp_async16(Qs + att_swz(r, c), ok ? qb + (unsigned long long)r * qstride + c * 8 : q, ok ? 16 : 0);
            }
            am_load_kv(Ks, Vs, Bias, kb, vb, mb, tfirst * AM_BKV, Tk, kstride, tid);
        }
        cp_async_commit();

        for (int it = 0; it < ntiles; it++) {
            const int j0 = (tfirst + it) * AM_BKV, st = it & 1;
            cp_async_wait<0>();
            __syncthreads();   // tile it is visible to all; stage st^1 (tile it-1) is no longer read
            if (it + 1 < ntiles)
                am_load_kv(Ks + (st ^ 1) * AM_BKV * AM_D, Vs + (st ^ 1) * AM_BKV * AM_D, Bias + (st ^ 1) * AM_BKV, kb, vb, mb,
                           j0 + AM_BKV, Tk, kstride, tid);
            cp_async_commit();
            const bf16 *ks = Ks + st * AM_BKV * AM_D, *vs = Vs + st * AM_BKV * AM_D;
            const float *bias = Bias + st * AM_BKV;

            // The 64-key tile in steps of AM_KS keys (one step on sm_90). Not unrolled on purpose: with two
            // 32-key steps unrolled, ptxas hoists the ldmatrix of the second step so far ahead that it spills.
#pragma unroll 1
            for (int ks0 = 0; ks0 < AM_BKV; ks0 += AM_KS) {
                // ---- S = Q·Kᵀ ----
                float s[AM_MT][AM_NT][4];
#pragma unroll
                for (int mt = 0; mt < AM_MT; mt++)
#pragma unroll
                    for (int nt = 0; nt < AM_NT; nt++) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.0f;
#pragma unroll am_kk_unroll
                for (int kk = 0; kk < AM_D / 16; kk++) {
                    unsigned qa[AM_MT][4];
                    // A m16k16: matrices (rows 0-7, d 0-7), (rows 8-15, d 0-7), (rows 0-7, d 8-15), (rows 8-15, d 8-15).
#pragma unroll
                    for (int mt = 0; mt < AM_MT; mt++)
                        ldmatrix_x4(qa[mt], Qs + att_swz(wrow + mt * 16 + (lane & 15), 2 * kk + (lane >> 4)));
#pragma unroll
                    for (int np = 0; np < AM_NT / 2; np++) {
                        // B for key tiles 2np, 2np+1: matrices (keys 0-7, d 0-7), (keys 0-7, d 8-15), (keys 8-15, d 0-7),
                        // (keys 8-15, d 8-15) of the key pair; r[0..1] is tile 2np's b, r[2..3] tile 2np+1's.
                        unsigned kf[4];
                        ldmatrix_x4(kf, ks + att_swz(ks0 + np * 16 + (lane & 7) + ((lane >> 4) << 3), 2 * kk + ((lane >> 3) & 1)));
#pragma unroll
                        for (int mt = 0; mt < AM_MT; mt++) {
                            mma_bf16_16816(s[mt][2 * np], qa[mt], kf);
                            mma_bf16_16816(s[mt][2 * np + 1], qa[mt], kf + 2);
                        }
                    }
                }

                // ---- scale, mask ----
                // Thread holds S[g + 8·(e/2)][ks0 + nt·8 + 2t + e%2] in s[mt][nt][e] (rows relative to wrow + mt·16).
#pragma unroll
                for (int nt = 0; nt < AM_NT; nt++) {
                    const float2 bb = lds2(bias + ks0 + nt * 8 + 2 * t);
#pragma unroll
                    for (int mt = 0; mt < AM_MT; mt++) {
                        s[mt][nt][0] = fmaf(s[mt][nt][0], scale2, bb.x);
                        s[mt][nt][1] = fmaf(s[mt][nt][1], scale2, bb.y);
                        s[mt][nt][2] = fmaf(s[mt][nt][2], scale2, bb.x);
                        s[mt][nt][3] = fmaf(s[mt][nt][3], scale2, bb.y);
                    }
                }
                // Every valid row sees every key < Tk of this tile unless causal/window cut it (block-uniform).
                if (j0 > jfull_hi || j0 <= jfull_lo) {
#pragma unroll
                    for (int mt = 0; mt < AM_MT; mt++)
#pragma unroll
                        for (int nt = 0; nt < AM_NT; nt++)
#pragma unroll
                            for (int e = 0; e < 4; e++) {
                                const int pos = i0 + wrow + mt * 16 + g + 8 * (e >> 1) + off;
                                const int diff = pos - (j0 + ks0 + nt * 8 + 2 * t + (e & 1));   // p - j
                                if ((causal && diff < 0) || (window > 0 && diff >= window)) s[mt][nt][e] = -INFINITY;
                            }
                }

                // ---- online softmax (base 2) ----
#pragma unroll
                for (int mt = 0; mt < AM_MT; mt++)
#pragma unroll
                    for (int hf = 0; hf < 2; hf++) {
                        float mx = -INFINITY;
#pragma unroll
                        for (int nt = 0; nt < AM_NT; nt++) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * hf], s[mt][nt][2 * hf + 1]));
                        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                        // Lazy rescaling: the reference m moves only when the row's max exceeds it by more
                        // than AM_RESCALE (log2 units), so p <= 2^AM_RESCALE and the 32 multiplications of O
                        // (and the branch, taken by the warp only if one of its rows needs it) are rare after
                        // the first tiles. O and l always share the same m, so the result is unchanged.
                        if (mx > m[mt][hf] + AM_RESCALE) {   // also the first visible key (m = -inf)
                            const float alpha = att_exp2(m[mt][hf] - mx);   // 0 when m was -inf
                            m[mt][hf] = mx;
                            l[mt][hf] *= alpha;
#pragma unroll
                            for (int dt = 0; dt < AM_DT; dt++) {
                                o[mt][dt][2 * hf] *= alpha;
                                o[mt][dt][2 * hf + 1] *= alpha;
                            }
                        }
                        const float mref = m[mt][hf] == -INFINITY ? 0.0f : m[mt][hf];   // nothing visible yet: p = 0
                        float rs = 0.0f;
#pragma unroll
                        for (int nt = 0; nt < AM_NT; nt++) {
                            const float p0 = att_exp2(s[mt][nt][2 * hf] - mref), p1 = att_exp2(s[mt][nt][2 * hf + 1] - mref);
                            s[mt][nt][2 * hf] = p0;
                            s[mt][nt][2 * hf + 1] = p1;
                            rs += p0 + p1;
                        }
                        l[mt][hf] += rs;
                    }

                // ---- O += P·V ----
#pragma unroll
                for (int kc = 0; kc < AM_KS / 16; kc++) {
                    unsigned pa[AM_MT][4];
#pragma unroll
                    for (int mt = 0; mt < AM_MT; mt++) {
                        pa[mt][0] = att_pack_bf16(s[mt][2 * kc][0], s[mt][2 * kc][1]);           // row g,   keys 2t..
                        pa[mt][1] = att_pack_bf16(s[mt][2 * kc][2], s[mt][2 * kc][3]);           // row g+8, keys 2t..
                        pa[mt][2] = att_pack_bf16(s[mt][2 * kc + 1][0], s[mt][2 * kc + 1][1]);   // row g,   keys 2t+8..
                        pa[mt][3] = att_pack_bf16(s[mt][2 * kc + 1][2], s[mt][2 * kc + 1][3]);   // row g+8, keys 2t+8..
                    }
#pragma unroll
                    for (int dp = 0; dp < AM_DT / 2; dp++) {
                        // B (trans) for d tiles 2dp, 2dp+1: matrices (keys 0-7, d 0-7), (keys 8-15, d 0-7),
                        // (keys 0-7, d 8-15), (keys 8-15, d 8-15) of this key chunk.
                        unsigned vf[4];
                        ldmatrix_x4_trans(vf, vs + att_swz(ks0 + kc * 16 + (lane & 7) + (((lane >> 3) & 1) << 3), 2 * dp + (lane >> 4)));
#pragma unroll
                        for (int mt = 0; mt < AM_MT; mt++) {
                            mma_bf16_16816(o[mt][2 * dp], pa[mt], vf);
                            mma_bf16_16816(o[mt][2 * dp + 1], pa[mt], vf + 2);
                        }
                    }
                }
            }
        }
        cp_async_wait<0>();

        // ---- epilogue ----
#pragma unroll
        for (int mt = 0; mt < AM_MT; mt++)
#pragma unroll
            for (int hf = 0; hf < 2; hf++) {
                float sum = l[mt][hf];
                sum += __shfl_xor_sync(0xffffffffu, sum, 1);
                sum += __shfl_xor_sync(0xffffffffu, sum, 2);
                const int r = wrow + mt * 16 + g + 8 * hf;
                if (r >= nq) continue;
                const bool none = sum == 0.0f;   // no visible key (NaN inputs stay NaN, as on the CPU)
                const float inv = none ? 0.0f : att_rcp(sum);
                float *orow = out + ((unsigned long long)b * Tq + i0 + r) * qstride + (unsigned long long)h * AM_D;
#pragma unroll
                for (int dt = 0; dt < AM_DT; dt++)
                    att_store2(orow + dt * 8 + 2 * t, o[mt][dt][2 * hf] * inv, o[mt][dt][2 * hf + 1] * inv);
                if (lse && t == 0)
                    lse[((unsigned long long)b * H + h) * Tq + i0 + r] =
                        none ? -INFINITY : (m[mt][hf] + att_log2(sum)) * 0.6931471805599453f;   // ln = log2 · ln 2
            }
    }
}
