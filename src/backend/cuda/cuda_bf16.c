// cuda_bf16.c — launchers of the bf16 tensor-core kernels: the fp32 -> bf16 copy (cu/convert.cu), the
// mma.sync GEMM (cu/gemm_mma.cu, sm_80+) and the Hopper wgmma GEMM (cu/gemm_wgmma.cu, sm_90a only).
// The fp32 op table uses them when the backend runs in bf16 math mode (cuda_ops.c); the parity tests
// and bench_cuda call them directly on bf16 operands.
#include "backend/cuda/cuda_backend.h"
#include "base/check.h"
#include "../cu/gemm_mma.h"
#include "../cu/gemm_wgmma.h"

void cuda_f32_to_bf16(CudaImpl *c, uint16_t *dst, int ld_dst, const float *src, int ld_src, int rows, int cols) {
    LPOI_ASSERT(rows >= 0 && cols >= 0 && ld_dst >= cols && ld_src >= cols);
    if (rows == 0 || ld_dst == 0) return;
    size_t n = (size_t)rows * (size_t)ld_dst;
    CUDA_LAUNCH(c, K_F32_TO_BF16, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(dst), KA_PTR(src), KA_INT(rows), KA_INT(cols),
                KA_INT(ld_dst), KA_INT(ld_src));
}

void cuda_f32_to_bf16_transposed(CudaImpl *c, uint16_t *dst, int ld_dst, const float *src, int ld_src, int rows, int cols) {
    LPOI_ASSERT(rows >= 0 && cols >= 0 && ld_dst >= rows && ld_src >= cols);
    if (cols == 0 || ld_dst == 0) return;
    LPOI_ASSERT((ld_dst + 31) / 32 <= 65535);
    CUDA_LAUNCH(c, K_F32_TO_BF16_TRANSPOSE, (unsigned)((cols + 31) / 32), (unsigned)((ld_dst + 31) / 32), 256, KA_PTR(dst),
                KA_PTR(src), KA_INT(rows), KA_INT(cols), KA_INT(ld_dst), KA_INT(ld_src));
}

static unsigned blocks_for(int n, int tile) { return (unsigned)((n + tile - 1) / tile); }

bool cuda_gemm_bf16(CudaImpl *c, GemmBf16Path path, bool ta, bool tb, int M, int N, int K, float alpha,
                    const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc) {
    LPOI_ASSERT(M >= 0 && N >= 0 && K >= 0);
    // The kernels' 16-byte cp.async copies need aligned rows (cuda_f32_to_bf16 pads to this).
    LPOI_ASSERT((uintptr_t)A % 16 == 0 && (uintptr_t)B % 16 == 0 && lda % 8 == 0 && ldb % 8 == 0);
    LPOI_ASSERT(ldc >= N && lda >= (ta ? M : K) && ldb >= (tb ? K : N));
    const bool wgmma_ok = !ta && tb && cuda_kernel_usable(c, K_GEMM_BF16_WGMMA_NT);
    KernelId mma = ta ? (tb ? K_GEMM_BF16_TT : K_GEMM_BF16_TN) : (tb ? K_GEMM_BF16_NT : K_GEMM_BF16_NN);
    if (path >= GEMM_BF16_MMA_X1) {   // tuning candidates: NT only
        if (ta || !tb) return false;
        mma = (KernelId)(K_GEMM_BF16_NT_X1 + (path - GEMM_BF16_MMA_X1));
        path = GEMM_BF16_MMA;
    }
    const bool mma_ok = cuda_kernel_usable(c, mma);
    bool use_wgmma;
    switch (path) {
    case GEMM_BF16_WGMMA: if (!wgmma_ok) return false; use_wgmma = true; break;
    case GEMM_BF16_MMA: if (!mma_ok) return false; use_wgmma = false; break;
    default: if (!wgmma_ok && !mma_ok) return false; use_wgmma = wgmma_ok && (c->prefer_wgmma || !mma_ok); break;
    }
    if (M == 0 || N == 0) return true;
    if (K == 0 && use_wgmma) {   // C = beta C: the mma kernel does that with an all-zero accumulator
        if (!mma_ok) return false;
        use_wgmma = false;
    }
    if (use_wgmma) {
        LPOI_ASSERT(blocks_for(M, WGMMA_BM) <= 65535);
        CUDA_LAUNCH_SMEM(c, K_GEMM_BF16_WGMMA_NT, blocks_for(N, WGMMA_BN), blocks_for(M, WGMMA_BM), 1, WGMMA_THREADS,
                         KA_PTR(A), KA_PTR(B), KA_PTR(C), KA_INT(M), KA_INT(N), KA_INT(K), KA_INT(lda), KA_INT(ldb),
                         KA_INT(ldc), KA_F32(alpha), KA_F32(beta));
    } else {
        LPOI_ASSERT(blocks_for(M, GEMM_MMA_BM) <= 65535);
        const int tile_n = mma == K_GEMM_BF16_NT_X4 ? 128 : GEMM_MMA_BN;
        CUDA_LAUNCH_SMEM(c, mma, blocks_for(N, tile_n), blocks_for(M, GEMM_MMA_BM), 1, GEMM_MMA_THREADS, KA_PTR(A),
                         KA_PTR(B), KA_PTR(C), KA_INT(M), KA_INT(N), KA_INT(K), KA_INT(lda), KA_INT(ldb), KA_INT(ldc),
                         KA_F32(alpha), KA_F32(beta));
    }
    return true;
}
