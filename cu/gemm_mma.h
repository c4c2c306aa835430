// gemm_mma.h — the bf16 tensor-core GEMMs: tile shape of the mma.sync kernels (cu/gemm_mma.cu) and, for the
// C side, their launcher cuda_gemm_bf16 (src/backend/cuda/cuda_gemm_mma.c), which also launches the Hopper
// wgmma kernel (cu/gemm_wgmma.h). Plain C constants: included by the kernels and by the launcher.
#pragma once
#define GEMM_MMA_BM 128        // rows of C per block
#define GEMM_MMA_BN 256        // columns of C per block
#define GEMM_MMA_BK 64         // k per pipeline stage (one 128-byte row of bf16 per tile row)
#define GEMM_MMA_STAGES 3      // cp.async pipeline depth
#define GEMM_MMA_THREADS 256   // 8 warps, 2 (M) × 4 (N), each a 64 × 64 tile of C
#define GEMM_MMA_SMEM_BYTES (GEMM_MMA_STAGES * (GEMM_MMA_BM + GEMM_MMA_BN) * GEMM_MMA_BK * 2)

#ifndef __cplusplus   // the launcher side (C); the kernels are C++ (nvcc, or g++ under tools/fakecuda)
#include "backend/cuda/cuda_core.h"

typedef enum { GEMM_BF16_AUTO, GEMM_BF16_MMA, GEMM_BF16_WGMMA } GemmBf16Path;
// C[M,N] (fp32) = alpha op(A) op(B) + beta C with bf16 operands (raw uint16_t bits) and fp32 accumulation:
// mma.sync, or wgmma on sm_90a for the NT layout (AUTO: wgmma where it runs unless LPOI_CUDA_WGMMA=0).
// Operands must be 16-byte aligned with leading dimensions that are multiples of 8 elements
// (cuda_f32_to_bf16 pads to that); any M, N, K otherwise. False when the asked-for kernel cannot run here
// (nothing launched: the caller falls back).
bool cuda_gemm_bf16(CudaImpl *c, GemmBf16Path path, bool ta, bool tb, int M, int N, int K, float alpha,
                    const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc);
// The same for operands of 16-bit type `type` (DTYPE_BF16 or DTYPE_F16; fp16 has the NN and NT layouts).
bool cuda_gemm_half(CudaImpl *c, Dtype type, GemmBf16Path path, bool ta, bool tb, int M, int N, int K, float alpha,
                    const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc);
#endif
