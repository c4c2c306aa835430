// cuda_gemm_mma.c — the bf16 / fp16 GEMM launchers cuda_gemm_bf16, cuda_gemm_half (cu/gemm_mma.h): the mma.sync kernels
// (cu/gemm_mma.cu, sm_80+) and the Hopper wgmma kernel (cu/gemm_wgmma.cu, sm_90a only). The fp32 gemm uses
// it in bf16 math mode (cuda_gemm.c); the parity tests and bench_cuda call it directly on bf16 operands.
#include "gemm_mma.h"
#include "gemm_wgmma.h"
#include "base/check.h"

static unsigned blocks_for(int n, int tile) { return (unsigned)((n + tile - 1) / tile); }

bool cuda_gemm_bf16(CudaImpl *c, GemmBf16Path path, bool ta, bool tb, int M, int N, int K, float alpha,
                    const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc) {
    return cuda_gemm_half(c, DTYPE_BF16, path, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// The mma.sync kernel of a layout and type (fp16 has NN and NT only), or -1.
static int mma_kernel(Dtype type, bool ta, bool tb) {
    if (type == DTYPE_F16) return ta ? -1 : tb ? K_GEMM_F16_NT : K_GEMM_F16_NN;
    return ta ? (tb ? K_GEMM_BF16_TT : K_GEMM_BF16_TN) : (tb ? K_GEMM_BF16_NT : K_GEMM_BF16_NN);
}

bool cuda_gemm_half(CudaImpl *c, Dtype type, GemmBf16Path path, bool ta, bool tb, int M, int N, int K, float alpha,
                    const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc) {
    LPOI_ASSERT(M >= 0 && N >= 0 && K >= 0);
    LPOI_ASSERT(type == DTYPE_BF16 || type == DTYPE_F16);
    // The kernels' 16-byte cp.async copies need aligned rows (cuda_f32_to_bf16 pads to this).
    LPOI_ASSERT((uintptr_t)A % 16 == 0 && (uintptr_t)B % 16 == 0 && lda % 8 == 0 && ldb % 8 == 0);
    LPOI_ASSERT(ldc >= N && lda >= (ta ? M : K) && ldb >= (tb ? K : N));
    const KernelId wgmma = type == DTYPE_F16 ? K_GEMM_F16_WGMMA_NT : K_GEMM_BF16_WGMMA_NT;
    const bool wgmma_ok = !ta && tb && cuda_kernel_usable(c, wgmma);
    const int mma_id = mma_kernel(type, ta, tb);
    const KernelId mma = mma_id < 0 ? K_GEMM_BF16_NN : (KernelId)mma_id;
    const bool mma_ok = mma_id >= 0 && cuda_kernel_usable(c, mma);
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
        CUDA_LAUNCH_SMEM(c, wgmma, blocks_for(N, WGMMA_BN), blocks_for(M, WGMMA_BM), 1, WGMMA_THREADS,
                         KA_PTR(A), KA_PTR(B), KA_PTR(C), KA_INT(M), KA_INT(N), KA_INT(K), KA_INT(lda), KA_INT(ldb),
                         KA_INT(ldc), KA_F32(alpha), KA_F32(beta));
    } else {
        LPOI_ASSERT(blocks_for(M, GEMM_MMA_BM) <= 65535);
        CUDA_LAUNCH_SMEM(c, mma, blocks_for(N, GEMM_MMA_BN), blocks_for(M, GEMM_MMA_BM), 1, GEMM_MMA_THREADS, KA_PTR(A),
                         KA_PTR(B), KA_PTR(C), KA_INT(M), KA_INT(N), KA_INT(K), KA_INT(lda), KA_INT(ldb), KA_INT(ldc),
                         KA_F32(alpha), KA_F32(beta));
    }
    return true;
}
