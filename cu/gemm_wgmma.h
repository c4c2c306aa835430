// gemm_wgmma.h — tile shape of the Hopper wgmma bf16 GEMM (cu/gemm_wgmma.cu), shared with its launcher
// in src/backend/cuda/cuda_bf16.c. Plain C: included by both sides.
#pragma once
#define WGMMA_BM 128
#define WGMMA_BN 256
#define WGMMA_BK 64
#define WGMMA_STAGES 4
#define WGMMA_THREADS 384
#define WGMMA_SMEM_BYTES (WGMMA_STAGES * (WGMMA_BM + WGMMA_BN) * WGMMA_BK * 2)
