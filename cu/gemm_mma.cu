// gemm_mma.cu — bf16 GEMM on the tensor cores with mma.sync (sm_80+: Ampere, Ada, Hopper), fp32 accumulation.
//
//   C[M,N] (fp32) = alpha · op(A) · op(B) + beta · C        op(A) [M,K], op(B) [K,N], bf16 operands
//
// Four kernels, one per layout (n = as stored, t = transposed), named as BLAS does: gemm_bf16_nt is the
// Linear forward y = x·wᵀ (A [M,K] and B [N,K], both K-contiguous), gemm_bf16_nn its input gradient
// dx = dy·w, gemm_bf16_tn its weight gradient dw = dyᵀ·x.
//
// A block computes a 128 × 256 tile of C with 8 warps (2 along M × 4 along N, each 64 × 64: 4 × 8
// m16n8k16 tiles, 128 fp32 accumulators per thread). K advances 64 at a time through a 3-stage cp.async
// pipeline: while the tensor cores multiply stage s, the copies of the next two stages are in flight.
// Shared tiles keep the global layout: a K-contiguous operand as [rows][64] (128-byte rows), a
// row/column-contiguous one as [64][BM or BN]. Within each row, 16-byte chunk c is stored at chunk
// c ^ (row % 8), so the 8 row addresses of every ldmatrix (8 consecutive rows, same logical chunk) fall
// in 8 different bank groups: conflict-free, no padding. ldmatrix hands out the mma fragments directly,
// with .trans for the layouts whose contiguous dimension is not K.
//
// Edges: chunks that straddle the end of a row copy only their valid elements and zero-fill the rest
// (cp.async src-size), rows beyond M/N/K copy nothing and read as zero, and the epilogue writes only
// elements inside C. So any M, N, K works, given the caller's alignment guarantees: A and B 16-byte
// aligned, lda and ldb multiples of 8 (cuda_f32_to_bf16 pads rows to that). beta == 0 never reads C.
// Each C element is one thread's fixed sequence of mma accumulations: deterministic run to run.
// gemm_f16_{nn,nt}: the same tiles on fp16 operands (mma .f16), for weights stored in fp16.
#include "mma.cuh"
#include "gemm_mma.h"

// ptxcheck: gemm_bf16_nn max_registers=255
// ptxcheck: gemm_bf16_nt max_registers=255
// ptxcheck: gemm_bf16_tn max_registers=255
// ptxcheck: gemm_bf16_tt max_registers=255
// ptxcheck: gemm_f16_nn max_registers=255
// ptxcheck: gemm_f16_nt max_registers=255

enum {
    MMA_BM = GEMM_MMA_BM, MMA_BK = GEMM_MMA_BK,
    MMA_THREADS = GEMM_MMA_THREADS,
    MMA_WARPS_N = 4,
    MMA_WM = 64,                                   // C rows per warp (columns: BN / 4)
    MMA_MT = MMA_WM / 16,                          // m16 tiles per warp
};
static_assert(MMA_THREADS == 32 * (MMA_BM / MMA_WM) * MMA_WARPS_N, "8 warps: 2 along M, 4 along N");
static_assert(MMA_BK == 64, "tiles are built from 128-byte rows of 8 chunks");

// Element offset of chunk `c` (8 bf16) of row `r` in a shared tile whose rows hold `width` elements.
__device__ __forceinline__ int swz(int r, int c, int width) { return r * width + ((c ^ (r & 7)) << 3); }

// Copies one operand tile global -> shared: `rows` rows of `width` elements, taken from rows p0.. of a
// matrix whose rows are `ld` elements apart, starting at column q0; rows >= pmax and columns >= qmax
// read as zero.
template <int rows, int width>
__device__ __forceinline__ void load_tile(bf16 *tile, const bf16 *g, int ld, int p0, int pmax, int q0, int qmax) {
    enum { CHUNKS_PER_ROW = width / 8, CHUNKS = rows * CHUNKS_PER_ROW };
    static_assert(CHUNKS % MMA_THREADS == 0, "whole chunks per thread");
#pragma unroll
    for (int i = 0; i < CHUNKS / MMA_THREADS; i++) {
        const int id = (int)threadIdx.x + i * MMA_THREADS;
        const int r = id / CHUNKS_PER_ROW, c = id % CHUNKS_PER_ROW;
        const int p = p0 + r, q = q0 + c * 8;
        int valid = p < pmax ? qmax - q : 0;
        valid = valid < 0 ? 0 : valid > 8 ? 8 : valid;
        const bf16 *src = valid ? g + (long long)p * ld + q : g;
        cp_async16(tile + swz(r, c, width), src, valid * 2);
    }
}

template <bool TA, bool TB, bool F16>
__device__ __forceinline__ void gemm_bf16_tile(const bf16 *A, const bf16 *B, float *C, int M, int N, int K, int lda,
                                               int ldb, int ldc, float alpha, float beta) {
    // Stage layout: A tile then B tile. K-contiguous tiles are [BM or BN][BK]; the others [BK][BM or BN].
    enum { STAGES = GEMM_MMA_STAGES, MMA_BN = GEMM_MMA_BN };
    enum { A_ELEMS = MMA_BM * MMA_BK, B_ELEMS = MMA_BN * MMA_BK, STAGE_ELEMS = A_ELEMS + B_ELEMS };
    enum { MMA_WN = MMA_BN / MMA_WARPS_N, MMA_NT = MMA_WN / 8 };   // C columns and n8 tiles per warp
    DYNAMIC_SMEM(smem_raw);
    bf16 *smem = reinterpret_cast<bf16 *>(smem_raw);

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int warp_m = warp / MMA_WARPS_N, warp_n = warp % MMA_WARPS_N;
    const int m0 = blockIdx.y * MMA_BM, n0 = blockIdx.x * MMA_BN;
    const int KT = (K + MMA_BK - 1) / MMA_BK;

    auto load_stage = [&](int stage, int kt) {
        bf16 *sa = smem + stage * STAGE_ELEMS, *sb = sa + A_ELEMS;
        const int k0 = kt * MMA_BK;
        if (TA) load_tile<MMA_BK, MMA_BM>(sa, A, lda, k0, K, m0, M);   // A stored [K,M]
        else    load_tile<MMA_BM, MMA_BK>(sa, A, lda, m0, M, k0, K);   // A stored [M,K]
        if (TB) load_tile<MMA_BN, MMA_BK>(sb, B, ldb, n0, N, k0, K);   // B stored [N,K]
        else    load_tile<MMA_BK, MMA_BN>(sb, B, ldb, k0, K, n0, N);   // B stored [K,N]
    };

    float acc[MMA_MT][MMA_NT][4];
#pragma unroll
    for (int i = 0; i < MMA_MT; i++)
#pragma unroll
        for (int j = 0; j < MMA_NT; j++) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < KT) load_stage(s, s);
        cp_async_commit();   // empty groups keep the count uniform
    }

    for (int kt = 0; kt < KT; kt++) {
        cp_async_wait<STAGES - 2>();   // this thread's copies of tile kt have landed...
        __syncthreads();                   // ...and everyone's; and every warp is done with tile kt - 1
        const int pf = kt + STAGES - 1;
        if (pf < KT) load_stage(pf % STAGES, pf);   // refills the stage tile kt - 1 used
        cp_async_commit();

        const bf16 *sa = smem + (kt % STAGES) * STAGE_ELEMS, *sb = sa + A_ELEMS;
        // A fragments of one k16 step: ldmatrix hands out exactly the mma A layout.
        auto load_a = [&](unsigned (&a)[MMA_MT][4], int kk) {
#pragma unroll
            for (int mt = 0; mt < MMA_MT; mt++) {
                const int mb = warp_m * MMA_WM + mt * 16;
                if (TA) {   // [k][m]: matrices (k0-7,m0-7) (k0-7,m8-15) (k8-15,m0-7) (k8-15,m8-15), transposed
                    const int kr = kk * 16 + (lane & 7) + 8 * (lane >> 4), mc = mb + 8 * ((lane >> 3) & 1);
                    ldmatrix_x4_trans(a[mt], sa + swz(kr, mc >> 3, MMA_BM));
                } else {    // [m][k]: rows mb + (lane % 16), k chunk 2kk + lane / 16
                    const int mr = mb + (lane & 15);
                    ldmatrix_x4(a[mt], sa + swz(mr, kk * 2 + (lane >> 4), MMA_BK));
                }
            }
        };
        // B fragments of two n8 tiles (np) × k16: one ldmatrix.x4.
        auto load_b = [&](unsigned (&r)[4], int kk, int np) {
            const int nb = warp_n * MMA_WN + np * 16;
            if (TB) {   // [n][k]: matrices (n0-7,k0-7) (n0-7,k8-15) (n8-15,k0-7) (n8-15,k8-15)
                const int nr = nb + (lane & 7) + 8 * (lane >> 4);
                ldmatrix_x4(r, sb + swz(nr, kk * 2 + ((lane >> 3) & 1), MMA_BK));
            } else {    // [k][n]: the same four matrices stored k-major, transposed by ldmatrix
                const int kr = kk * 16 + (lane & 7) + 8 * ((lane >> 3) & 1), nc = nb + 8 * (lane >> 4);
                ldmatrix_x4_trans(r, sb + swz(kr, nc >> 3, MMA_BN));
            }
        };
#pragma unroll
        for (int kk = 0; kk < MMA_BK / 16; kk++) {
            unsigned a[MMA_MT][4], b[MMA_NT][2];
            load_a(a, kk);
#pragma unroll
            for (int np = 0; np < MMA_NT / 2; np++) {
                unsigned r[4];
                load_b(r, kk, np);
                b[2 * np][0] = r[0];
                b[2 * np][1] = r[1];
                b[2 * np + 1][0] = r[2];
                b[2 * np + 1][1] = r[3];
            }
#pragma unroll
            for (int mt = 0; mt < MMA_MT; mt++)
#pragma unroll
                for (int nt = 0; nt < MMA_NT; nt++) {
                    if (F16) mma_f16_16816(acc[mt][nt], a[mt], b[nt]);
                    else     mma_bf16_16816(acc[mt][nt], a[mt], b[nt]);
                }
        }
    }
    cp_async_wait<0>();

    // Epilogue: acc[mt][nt][i] is C[row][col] with row = g + 8(i/2), col = 2t + i%2 inside the m16n8 tile.
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int mt = 0; mt < MMA_MT; mt++)
#pragma unroll
        for (int nt = 0; nt < MMA_NT; nt++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const int row = m0 + warp_m * MMA_WM + mt * 16 + g + 8 * (i >> 1);
                const int col = n0 + warp_n * MMA_WN + nt * 8 + 2 * t + (i & 1);
                if (row < M && col < N) {
                    float *c = C + (long long)row * ldc + col;
                    *c = beta == 0.0f ? alpha * acc[mt][nt][i] : alpha * acc[mt][nt][i] + beta * *c;
                }
            }
}

// (4 stages, A/B fragments loaded one k16 step ahead, and 128 × 128 tiles with two blocks per SM were
// measured as NT candidates on an H200 and were all within noise or slower: bench/RESULTS.md.)
#define GEMM_BF16_KERNEL(name, ta, tb, f16)                                                                      \
    extern "C" __global__ void __launch_bounds__(MMA_THREADS, 1)                                                 \
    name(const bf16 *A, const bf16 *B, float *C, int M, int N, int K, int lda, int ldb, int ldc, float alpha,   \
         float beta) {                                                                                           \
        gemm_bf16_tile<ta, tb, f16>(A, B, C, M, N, K, lda, ldb, ldc, alpha, beta);                               \
    }
GEMM_BF16_KERNEL(gemm_bf16_nn, false, false, false)
GEMM_BF16_KERNEL(gemm_bf16_nt, false, true, false)
GEMM_BF16_KERNEL(gemm_bf16_tn, true, false, false)
GEMM_BF16_KERNEL(gemm_bf16_tt, true, true, false)
// fp16 operands (the same tiles; mma .f16): the Linear forward and input gradient on fp16 weights.
GEMM_BF16_KERNEL(gemm_f16_nn, false, false, true)
GEMM_BF16_KERNEL(gemm_f16_nt, false, true, true)
