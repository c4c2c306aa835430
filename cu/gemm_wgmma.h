// gemm_wgmma.h — tile shape of the Hopper wgmma bf16 GEMM (cu/gemm_wgmma.cu), shared with its launcher
// cuda_gemm_bf16 (cu/gemm_mma.h, src/backend/cuda/cuda_gemm_mma.c). Plain C: included by both sides.
//
// Launch: grid = (ceil(N / WGMMA_BN), ceil(M / WGMMA_BM), 1), block = WGMMA_THREADS threads,
// dynamic shared memory = WGMMA_SMEM_BYTES (above 48 KiB: raise the kernel's limit first).
#pragma once
#define WGMMA_BM 128        // rows of C per block (2 consumer warpgroups × 64 rows)
#define WGMMA_BN 256        // columns of C per block (one m64n256k16 wgmma per warpgroup per k16)
#define WGMMA_BK 64         // k per pipeline stage: one 128-byte row of bf16 per tile row (128B swizzle)
#define WGMMA_STAGES 4      // shared-memory ring depth (4 × 48 KiB)
#define WGMMA_THREADS 384   // warpgroup 0: cp.async producer; warpgroups 1, 2: wgmma consumers
// The stage ring, plus 1 KiB to align it to 1024 bytes (the 128B-swizzle atom) and room for the
// 2 × WGMMA_STAGES mbarriers (8 bytes each) behind it.
#define WGMMA_SMEM_BYTES (WGMMA_STAGES * (WGMMA_BM + WGMMA_BN) * WGMMA_BK * 2 + 2048)
