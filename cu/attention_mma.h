// attention_mma.h — tile shape of the mma.sync bf16 flash-attention forward (cu/attention_mma.cu), shared
// with its launcher in src/backend/cuda/cuda_attention_mma.c, and (C side) the launcher's prototype.
//
// A block of ATTN_MMA_THREADS threads (4 warps) owns ATTN_MMA_BQ = 128 query rows of one (batch, head):
// each warp 32 rows (two m16 tiles, so every K/V fragment read from shared memory feeds two mma). Keys
// stream through shared memory in tiles of ATTN_MMA_BKV = 64, double-buffered.
// Shared memory: Q [BQ][D] + K and V [2 stages][BKV][D] in bf16, + a per-key bias [2][BKV] fp32
// (0 = attend, -inf = padding or past Tk) = 98 816 bytes: two blocks (8 warps) per SM on sm_80/sm_90.
#pragma once
#define ATTN_MMA_D 128         // head dim (the only one this kernel handles)
#define ATTN_MMA_BQ 128        // query rows per block (32 per warp)
#define ATTN_MMA_BKV 64        // keys per inner step
#define ATTN_MMA_THREADS 128   // 4 warps
#define ATTN_MMA_SMEM_BYTES ((ATTN_MMA_BQ + 2 * 2 * ATTN_MMA_BKV) * ATTN_MMA_D * 2 + 2 * ATTN_MMA_BKV * 4)

#ifndef __cplusplus   // the launcher side (C); the kernels are C++ (nvcc, or g++ under tools/fakecuda)
#include "backend/cuda/cuda_core.h"
// Flash attention forward with bf16 q/k/v (fp32 out and lse, backend.h's semantics); D == 128 only.
// False when the kernel cannot run here or the descriptor is outside what it handles (nothing launched).
bool cuda_attention_forward_bf16(CudaImpl *c, float *out, float *lse, const uint16_t *q, const uint16_t *k,
                                 const uint16_t *v, const AttnDesc *a);
#endif
