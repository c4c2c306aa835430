// cuda_gemm.c — launchers of cu/gemm.cu: gemm, matmul_forward/backward (fp32 SIMT tiles, bias epilogue,
// deterministic column sums for db); in bf16 math mode the operands go through cuda_convert.c to the
// tensor-core GEMM (cuda_gemm_mma.c).
#include "backend/cuda/cuda_ops.h"
#include "convert.h"
#include "gemm_mma.h"
#include "gemm_wgmma.h"
#include "base/check.h"

// ---- GEMM and the Linear layer ----

// Shared by gemm and matmul_*: C[z] = alpha op(A[z]) op(B[z]) + beta C[z] (+ bias[n] when bias != NULL).
// Picks the 128×128 tile when it still gives at least one block per SM, else 64×64 (small and skinny
// problems, e.g. LoRA's rank-r products). Grids larger than the hardware's y/z limits are split into
// several launches by offsetting the pointers.
#define GEMM_MAX_GRID_YZ 65535

// bf16 math mode (LPOI_CUDA_MATH=bf16): both operands are rounded to bf16 into padded scratch copies and
// multiplied on the tensor cores with fp32 accumulation; C keeps fp32 and the alpha/beta semantics. The
// precision is then bf16's (relative error ~2^-9 per operand), as in PyTorch bf16 autocast. False when the
// bf16 kernels cannot run here; the caller goes on with the fp32 kernels.
static bool gemm_bf16_mode(CudaImpl *c, bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *Bm, int ldb, float beta, float *C, int ldc) {
    if (!c->math_bf16 || K == 0 || !cuda_kernel_usable(c, K_F32_TO_BF16)) return false;
    // On Hopper every layout runs on the wgmma kernel, which takes A [M,K] and B [N,K]: the conversion
    // writes whichever operand is stored the other way transposed (it reads and writes each element once
    // either way). Elsewhere the mma.sync kernel of the stored layout reads the copies as they are.
    if (c->prefer_wgmma && cuda_kernel_usable(c, K_GEMM_BF16_WGMMA_NT) && cuda_kernel_usable(c, K_F32_TO_BF16_TRANSPOSE)) {
        const int ld16 = (int)cuda_round_up((size_t)K, 8);
        const size_t a_bytes = cuda_round_up((size_t)M * (size_t)ld16 * 2, 256);
        uint16_t *a16 = cuda_scratch(c, a_bytes + (size_t)N * (size_t)ld16 * 2);
        uint16_t *b16 = a16 + a_bytes / 2;
        if (ta) cuda_f32_to_bf16_transposed(c, a16, ld16, A, lda, K, M);   // A stored [K,M]
        else    cuda_f32_to_bf16(c, a16, ld16, A, lda, M, K);
        if (tb) cuda_f32_to_bf16(c, b16, ld16, Bm, ldb, N, K);
        else    cuda_f32_to_bf16_transposed(c, b16, ld16, Bm, ldb, K, N);   // B stored [K,N]
        return cuda_gemm_bf16(c, GEMM_BF16_WGMMA, false, true, M, N, K, alpha, a16, ld16, b16, ld16, beta, C, ldc);
    }
    const KernelId mma = ta ? (tb ? K_GEMM_BF16_TT : K_GEMM_BF16_TN) : (tb ? K_GEMM_BF16_NT : K_GEMM_BF16_NN);
    if (!cuda_kernel_usable(c, mma)) return false;
    const int a_rows = ta ? K : M, a_cols = ta ? M : K, b_rows = tb ? N : K, b_cols = tb ? K : N;
    const int lda16 = (int)cuda_round_up((size_t)a_cols, 8), ldb16 = (int)cuda_round_up((size_t)b_cols, 8);
    const size_t a_bytes = cuda_round_up((size_t)a_rows * (size_t)lda16 * 2, 256);
    uint16_t *a16 = cuda_scratch(c, a_bytes + (size_t)b_rows * (size_t)ldb16 * 2);
    uint16_t *b16 = a16 + a_bytes / 2;
    cuda_f32_to_bf16(c, a16, lda16, A, lda, a_rows, a_cols);
    cuda_f32_to_bf16(c, b16, ldb16, Bm, ldb, b_rows, b_cols);
    return cuda_gemm_bf16(c, GEMM_BF16_MMA, ta, tb, M, N, K, alpha, a16, lda16, b16, ldb16, beta, C, ldc);
}

static void gemm_launch(CudaImpl *c, bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                        int64_t sa, const float *Bm, int ldb, int64_t sb, float beta, float *C, int ldc, int64_t sc,
                        int batch, const float *bias) {
    LPOI_ASSERT(M >= 0 && N >= 0 && K >= 0 && batch >= 0);
    if (M == 0 || N == 0 || batch == 0) return;
    LPOI_ASSERT(ldc >= N);   // row strides cover a stored row, as the CPU backend requires
    if (K > 0) {
        LPOI_ASSERT(lda >= (ta ? M : K));
        LPOI_ASSERT(ldb >= (tb ? K : N));
    }
    // The bf16 kernels have no bias epilogue and no batch index yet: those stay on the fp32 kernels.
    if (!bias && batch == 1 && gemm_bf16_mode(c, ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, C, ldc)) return;
    long long big_tiles = (long long)((M + 127) / 128) * ((N + 127) / 128) * batch;
    bool big = M >= 128 && N >= 128 && big_tiles >= (long long)(c->sm_count > 0 ? c->sm_count : 1);
    const int tile = big ? 128 : 64;
    const KernelId kern = big ? K_GEMM_128 : K_GEMM_64;
    const unsigned gx = (unsigned)((N + tile - 1) / tile);
    const int rows_per_launch = GEMM_MAX_GRID_YZ * tile;
    for (int z0 = 0; z0 < batch; z0 += GEMM_MAX_GRID_YZ) {
        int nz = batch - z0 < GEMM_MAX_GRID_YZ ? batch - z0 : GEMM_MAX_GRID_YZ;
        for (int m0 = 0; m0 < M; m0 += rows_per_launch) {
            int nm = M - m0 < rows_per_launch ? M - m0 : rows_per_launch;
            const float *a = A + z0 * sa + (ta ? (int64_t)m0 : (int64_t)m0 * lda);
            const float *b = Bm + z0 * sb;
            float *cc = C + z0 * sc + (int64_t)m0 * ldc;
            CUDA_LAUNCH_3D(c, kern, gx, (unsigned)((nm + tile - 1) / tile), (unsigned)nz, 256, KA_PTR(a), KA_PTR(b),
                           KA_PTR(cc), KA_PTR(bias), KA_INT(nm), KA_INT(N), KA_INT(K), KA_INT(lda), KA_INT(ldb),
                           KA_INT(ldc), KA_U64((uint64_t)sa), KA_U64((uint64_t)sb), KA_U64((uint64_t)sc), KA_INT(ta),
                           KA_INT(tb), KA_F32(alpha), KA_F32(beta));
        }
    }
}

void cuda_gemm(Backend *be, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                      int64_t stride_a, const float *Bm, int ldb, int64_t stride_b, float beta, float *C, int ldc,
                      int64_t stride_c, int batch) {
    gemm_launch(cuda_impl(be), trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, Bm, ldb, stride_b, beta, C, ldc,
                stride_c, batch, NULL);
}

// y[N,OC] = x[N,C] · w[OC,C]ᵀ + b[OC]: the bias is added in the GEMM's epilogue (acc + b, as the CPU's
// "start from b, then beta = 1" rounds it).
void cuda_matmul_forward(Backend *be, float *y, const float *x, const float *w, const float *b, int N, int C, int OC) {
    gemm_launch(cuda_impl(be), false, true, N, OC, C, 1.0f, x, C, 0, w, C, 0, 0.0f, y, OC, 0, 1, b);
}

#define COLSUM_MAX_CHUNKS 128   // partial sums per column; fixed by N alone, so db is deterministic

// dx[N,C] = dy · w (=), dw[OC,C] += dyᵀ · x, db[OC] += Σ_n dy (two passes, no atomics); each optional.
void cuda_matmul_backward(Backend *be, float *dx, float *dw, float *db, const float *dy, const float *x,
                                 const float *w, int N, int C, int OC) {
    CudaImpl *c = cuda_impl(be);
    if (db && OC > 0 && N > 0) {
        int target = N < COLSUM_MAX_CHUNKS ? N : COLSUM_MAX_CHUNKS;
        int rows_per_chunk = (int)(((long long)N + target - 1) / target);
        int chunks = (int)(((long long)N + rows_per_chunk - 1) / rows_per_chunk);
        void *partial = cuda_scratch(c, (size_t)chunks * (size_t)OC * sizeof(float));
        unsigned col_blocks = (unsigned)((OC + CUDA_BLOCK - 1) / CUDA_BLOCK);
        CUDA_LAUNCH(c, K_COLSUM_PARTIAL, col_blocks, (unsigned)chunks, CUDA_BLOCK, KA_PTR(partial), KA_PTR(dy), KA_INT(N),
                    KA_INT(OC), KA_INT(rows_per_chunk));
        CUDA_LAUNCH(c, K_COLSUM_FINAL, col_blocks, 1, CUDA_BLOCK, KA_PTR(db), KA_PTR(partial), KA_INT(chunks), KA_INT(OC));
    }
    if (dw) gemm_launch(c, true, false, OC, C, N, 1.0f, dy, OC, 0, x, C, 0, 1.0f, dw, C, 0, 1, NULL);
    if (dx) gemm_launch(c, false, false, N, C, OC, 1.0f, dy, OC, 0, w, C, 0, 0.0f, dx, C, 0, 1, NULL);
}
