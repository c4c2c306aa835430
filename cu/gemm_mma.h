// gemm_mma.h — tile shape of the mma.sync bf16 GEMM (cu/gemm_mma.cu), shared with its launcher in
// src/backend/cuda/cuda_bf16.c. Plain C: included by both sides.
#pragma once
#define GEMM_MMA_BM 128        // rows of C per block
#define GEMM_MMA_BN 256        // columns of C per block
#define GEMM_MMA_BK 64         // k per pipeline stage (one 128-byte row of bf16 per tile row)
#define GEMM_MMA_STAGES 3      // cp.async pipeline depth
#define GEMM_MMA_THREADS 256   // 8 warps, 2 (M) × 4 (N), each a 64 × 64 tile of C
#define GEMM_MMA_SMEM_BYTES (GEMM_MMA_STAGES * (GEMM_MMA_BM + GEMM_MMA_BN) * GEMM_MMA_BK * 2)
#define GEMM_MMA_SMEM_BYTES_4STAGE (4 * (GEMM_MMA_BM + GEMM_MMA_BN) * GEMM_MMA_BK * 2)   // tuning candidates
#define GEMM_MMA_SMEM_BYTES_128x128 (3 * (GEMM_MMA_BM + 128) * GEMM_MMA_BK * 2)
