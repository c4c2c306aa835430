// gemm.cu — fp32 SGEMM on the SIMT cores (backend.h gemm, and matmul_forward/backward built on it in
// cuda_gemm.c), plus the deterministic column sum behind the Linear bias gradient.
//
//   C[z] = alpha * op(A[z]) · op(B[z]) + beta * C[z] (+ bias[n])   for z = blockIdx.z (batch item)
//
// One block computes a BM × BN tile of C with 256 threads; each thread owns a TM × TN register tile
// split in four quadrants (rows ty*TM/2 + i and BM/2 + ty*TM/2 + i, same for columns) so that a warp's
// shared-memory reads are broadcasts or consecutive words. K advances in steps of BK: the next op(A)
// and op(B) tiles are loaded into registers (global loads in flight) while the current tiles in
// shared memory are multiplied, then stored after a barrier. Tiles are stored k-major (As[k][m],
// Bs[k][n]) whatever the transposes; global reads are coalesced along whichever index is contiguous
// in memory. Out-of-range rows, columns and k are loaded as zero, so any M, N, K, lda works.
//
// Every C element is computed by one thread, summing k in order with fp32 FMAs: deterministic, no
// atomics. beta == 0 never reads C (a NaN there is ignored). Two instantiations: 128×128 (8×8 per
// thread, BK 8) for large problems and 64×64 (4×4 per thread, BK 16) when the large tile would leave
// the GPU under-filled; cuda_gemm.c picks. Correctness-first SIMT code: the tensor-core bf16 paths are
// gemm_mma.cu (mma.sync) and gemm_wgmma.cu (Hopper).
#include "mma.cuh"   // the bf16 / fp16 conversions of the 16-bit-weight kernels (common.cuh comes with it)

// ptxcheck: gemm_f32_128x128 max_registers=128
// ptxcheck: gemm_f32_64x64 max_registers=96
// ptxcheck: colsum_partial_f32 max_registers=40
// ptxcheck: colsum_final_f32 max_registers=40
// ptxcheck: gemm_bf16w_64x64 max_registers=96
// ptxcheck: gemm_f16w_64x64 max_registers=96
// ptxcheck: rows_fill_f32 max_registers=32

#define GEMM_THREADS 256

// v[0..T/2) = lo[0..T/2), v[T/2..T) = hi[0..T/2) with one vector load per half (T = 8: float4, T = 4:
// float2). lo and hi are aligned: tile rows are multiples of 4 floats and the offsets multiples of T/2.
template <int T>
__device__ __forceinline__ void load_quads(float *v, const float *lo, const float *hi) {
    static_assert(T == 8 || T == 4, "register tiles of 8 or 4");
    if constexpr (T == 8) {
        float4 a = lds4(lo), b = lds4(hi);
        v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
        v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
    } else {
        float2 a = lds2(lo), b = lds2(hi);
        v[0] = a.x; v[1] = a.y;
        v[2] = b.x; v[3] = b.y;
    }
}

// The 16-bit-weight instantiations (HALF = 1 bf16, 2 fp16; B holds the raw 16-bit weight): op(A) is rounded
// to the weight's type as it is loaded and B widened, so each FMA adds an exact product, as on the tensor
// cores (ops.h matmul_*_half). HALF = 0: plain fp32.
template <int HALF>
__device__ __forceinline__ float operand_a(float x) {
    if constexpr (HALF == 0) return x;
    else return half_to_f32<HALF == 2>(half_from_f32<HALF == 2>(x));
}
template <int HALF, typename BT>
__device__ __forceinline__ float operand_b(BT v) {
    if constexpr (HALF == 0) return v;
    else return half_to_f32<HALF == 2>(v);
}

template <int BM, int BN, int BK, int TM, int TN, int HALF = 0, typename BT = float>
__device__ __forceinline__ void gemm_tile(const float *A, const BT *B, float *C, const float *bias, int M, int N,
                                          int K, int lda, int ldb, int ldc, unsigned long long stride_a,
                                          unsigned long long stride_b, unsigned long long stride_c, int trans_a,
                                          int trans_b, float alpha, float beta) {
    static_assert((BM / TM) * (BN / TN) == GEMM_THREADS, "one thread per register tile");
    static_assert((BM * BK) % GEMM_THREADS == 0 && (BN * BK) % GEMM_THREADS == 0, "whole tiles per thread");
    enum { PAD = 4, A_PER = BM * BK / GEMM_THREADS, B_PER = BN * BK / GEMM_THREADS };
    __shared__ __align__(16) float As[BK][BM + PAD];   // rows of (BM + 4) floats: 16-byte aligned
    __shared__ __align__(16) float Bs[BK][BN + PAD];

    const int tid = threadIdx.x;
    const int tx = tid % (BN / TN), ty = tid / (BN / TN);
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const long long z = blockIdx.z;
    A += z * (long long)stride_a;
    B += z * (long long)stride_b;
    C += z * (long long)stride_c;

    // Slot s of thread tid loads op(A) element (a_m + s*a_dm, a_k + s*a_dk) of the tile: consecutive
    // threads read consecutive addresses of the stored (possibly transposed) matrix, and the slots of
    // one thread differ by a fixed row step, so one pointer and one stride cover them all.
    const int a_m = trans_a ? tid % BM : tid / BK, a_k = trans_a ? tid / BM : tid % BK;
    const int a_dm = trans_a ? 0 : GEMM_THREADS / BK, a_dk = trans_a ? GEMM_THREADS / BM : 0;
    const long long a_slot = (long long)(trans_a ? GEMM_THREADS / BM : GEMM_THREADS / BK) * lda;
    const long long a_kstep = trans_a ? (long long)BK * lda : BK;
    const float *a_ptr = A + (trans_a ? (long long)a_k * lda + m0 + a_m : (long long)(m0 + a_m) * lda + a_k);
    const int b_n = trans_b ? tid / BK : tid % BN, b_k = trans_b ? tid % BK : tid / BN;
    const int b_dn = trans_b ? GEMM_THREADS / BK : 0, b_dk = trans_b ? 0 : GEMM_THREADS / BN;
    const long long b_slot = (long long)(trans_b ? GEMM_THREADS / BK : GEMM_THREADS / BN) * ldb;
    const long long b_kstep = trans_b ? BK : (long long)BK * ldb;
    const BT *b_ptr = B + (trans_b ? (long long)(n0 + b_n) * ldb + b_k : (long long)b_k * ldb + n0 + b_n);

    float a_reg[A_PER], b_reg[B_PER];
    // Loads the tiles at k0 (a_ptr/b_ptr point at them); zero outside op(A) / op(B).
    auto load_tiles = [&](int k0) {
#pragma unroll
        for (int s = 0; s < A_PER; s++) {
            const bool ok = m0 + a_m + s * a_dm < M && k0 + a_k + s * a_dk < K;
            a_reg[s] = ok ? operand_a<HALF>(a_ptr[s * a_slot]) : 0.0f;
        }
#pragma unroll
        for (int s = 0; s < B_PER; s++) {
            const bool ok = n0 + b_n + s * b_dn < N && k0 + b_k + s * b_dk < K;
            b_reg[s] = ok ? operand_b<HALF>(b_ptr[s * b_slot]) : 0.0f;
        }
    };
    auto store_tiles = [&]() {
#pragma unroll
        for (int s = 0; s < A_PER; s++) As[a_k + s * a_dk][a_m + s * a_dm] = a_reg[s];
#pragma unroll
        for (int s = 0; s < B_PER; s++) Bs[b_k + s * b_dk][b_n + s * b_dn] = b_reg[s];
    };

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

    if (K > 0) {
        load_tiles(0);
        store_tiles();
        __syncthreads();
        for (int k0 = 0; k0 < K; k0 += BK) {
            const bool more = k0 + BK < K;     // uniform across the block
            if (more) {                         // in flight while we multiply
                a_ptr += a_kstep;
                b_ptr += b_kstep;
                load_tiles(k0 + BK);
            }
#pragma unroll 2   // full unrolling makes ptxas spill the 128x128 variant on sm_90a
            for (int k = 0; k < BK; k++) {
                float a[TM], b[TN];
                load_quads<TM>(a, &As[k][ty * (TM / 2)], &As[k][BM / 2 + ty * (TM / 2)]);
                load_quads<TN>(b, &Bs[k][tx * (TN / 2)], &Bs[k][BN / 2 + tx * (TN / 2)]);
#pragma unroll
                for (int i = 0; i < TM; i++)
#pragma unroll
                    for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
            }
            __syncthreads();                    // every thread is done reading this tile
            if (more) {
                store_tiles();
                __syncthreads();
            }
        }
    }

#pragma unroll
    for (int i = 0; i < TM; i++) {
        const int row = m0 + (i < TM / 2 ? ty * (TM / 2) + i : BM / 2 + ty * (TM / 2) + (i - TM / 2));
        if (row >= M) continue;
        float *crow = C + (long long)row * ldc;
#pragma unroll
        for (int j = 0; j < TN; j++) {
            const int col = n0 + (j < TN / 2 ? tx * (TN / 2) + j : BN / 2 + tx * (TN / 2) + (j - TN / 2));
            if (col >= N) continue;
            float v = alpha * acc[i][j];
            if (beta != 0.0f) v += beta * crow[col];
            if (bias) v += bias[col];
            crow[col] = v;
        }
    }
}

// Grid (ceil(N/128), ceil(M/128), batch), block 256. Strides are element offsets between batch items
// (two's complement in the 64-bit count). bias: [N] added last, or NULL.
extern "C" __global__ void __launch_bounds__(GEMM_THREADS, 2)
gemm_f32_128x128(const float *A, const float *B, float *C, const float *bias, int M, int N, int K, int lda, int ldb,
                 int ldc, unsigned long long stride_a, unsigned long long stride_b, unsigned long long stride_c,
                 int trans_a, int trans_b, float alpha, float beta) {
    gemm_tile<128, 128, 8, 8, 8>(A, B, C, bias, M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c, trans_a, trans_b,
                                 alpha, beta);
}

// Grid (ceil(N/64), ceil(M/64), batch), block 256.
extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
gemm_f32_64x64(const float *A, const float *B, float *C, const float *bias, int M, int N, int K, int lda, int ldb,
               int ldc, unsigned long long stride_a, unsigned long long stride_b, unsigned long long stride_c,
               int trans_a, int trans_b, float alpha, float beta) {
    gemm_tile<64, 64, 16, 4, 4>(A, B, C, bias, M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c, trans_a, trans_b,
                                alpha, beta);
}

// The Linear on 16-bit weights where the tensor-core kernels cannot run (compute_75, rows not a multiple of
// 8 elements): B is the raw bf16 / fp16 weight, op(A) rounded to its type on load. Grid and arguments as
// gemm_f32_64x64 (the batch strides unused: one item).
extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
gemm_bf16w_64x64(const float *A, const bf16 *B, float *C, const float *bias, int M, int N, int K, int lda, int ldb,
                 int ldc, unsigned long long stride_a, unsigned long long stride_b, unsigned long long stride_c,
                 int trans_a, int trans_b, float alpha, float beta) {
    gemm_tile<64, 64, 16, 4, 4, 1>(A, B, C, bias, M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c, trans_a, trans_b,
                                   alpha, beta);
}
extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
gemm_f16w_64x64(const float *A, const bf16 *B, float *C, const float *bias, int M, int N, int K, int lda, int ldb,
                int ldc, unsigned long long stride_a, unsigned long long stride_b, unsigned long long stride_c,
                int trans_a, int trans_b, float alpha, float beta) {
    gemm_tile<64, 64, 16, 4, 4, 2>(A, B, C, bias, M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c, trans_a, trans_b,
                                   alpha, beta);
}

// y[n, c] = b[c] for n < N, c < C: the bias start of a tensor-core Linear (then beta = 1), which has no
// bias epilogue. Any grid (grid-stride).
extern "C" __global__ void rows_fill_f32(float *y, const float *b, int N, int C) {
    const unsigned long long n = (unsigned long long)N * (unsigned)C;
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) y[i] = b[i % (unsigned)C];
}

// ---- column sums without atomics (Linear bias gradient: db[o] += Σ_n dy[n, o]) ----
// Pass 1: partial[chunk, c] = Σ_{rows of chunk, in order} x[n, c]. Grid (ceil(C / blockDim), chunks);
// chunk k covers rows [k*rows_per_chunk, min(N, (k+1)*rows_per_chunk)). Coalesced along c.
extern "C" __global__ void colsum_partial_f32(float *partial, const float *x, int N, int C, int rows_per_chunk) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    int r0 = blockIdx.y * rows_per_chunk;
    int r1 = r0 + rows_per_chunk;
    if (r1 > N) r1 = N;
    float acc = 0.0f;
    for (int r = r0; r < r1; r++) acc += x[(unsigned long long)r * C + c];
    partial[(unsigned long long)blockIdx.y * C + c] = acc;
}

// Pass 2: out[c] += Σ_k partial[k, c], chunks in order. Any grid (grid-stride over c).
extern "C" __global__ void colsum_final_f32(float *out, const float *partial, int chunks, int C) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
        float acc = 0.0f;
        for (int k = 0; k < chunks; k++) acc += partial[(unsigned long long)k * C + c];
        out[c] += acc;
    }
}
