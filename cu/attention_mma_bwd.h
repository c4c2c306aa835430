// attention_mma_bwd.h — tile shapes of the bf16 flash-attention backward (cu/attention_mma_bwd.cu), shared
// with its launcher in src/backend/cuda/cuda_attention_mma_bwd.c, and (C side) the launcher's prototype.
//
// Both kernels: 4 warps, each owning 16 rows (an m16 tile) of the block's output tile; two blocks per SM
// (__launch_bounds__(128, 2): <= 255 registers, shared memory below 113 KiB each).
//
// dQ kernel: a block owns ATTN_BWD_DQ_BQ = 64 query rows of one (batch, head); keys stream through shared
// memory in tiles of ATTN_BWD_DQ_BKV = 64, double-buffered.
//   Shared: Q, dO [64][128] + K, V [2 stages][64][128] bf16 + per-key bias [2][64] fp32 = 98 816 bytes.
// dK/dV kernel: a block owns ATTN_BWD_DKDV_BKV = 64 keys of one (batch, kv head); query tiles of
// ATTN_BWD_DKDV_BQ = 64 rows (of every query head reading that kv head) stream through, double-buffered.
//   Shared: K, V [64][128] + Q, dO [2 stages][64][128] bf16 + lse (log2 units), Di [2][64] fp32 = 99 328 bytes.
#pragma once
#define ATTN_BWD_D 128
#define ATTN_BWD_DQ_BQ 64          // query rows per dQ block (16 per warp)
#define ATTN_BWD_DQ_BKV 64         // keys per pipeline stage of the dQ kernel
#define ATTN_BWD_DQ_THREADS 128
#define ATTN_BWD_DQ_SMEM_BYTES ((2 * ATTN_BWD_DQ_BQ + 2 * 2 * ATTN_BWD_DQ_BKV) * ATTN_BWD_D * 2 + 2 * ATTN_BWD_DQ_BKV * 4)
#define ATTN_BWD_DKDV_BKV 64       // keys per dK/dV block (16 per warp)
#define ATTN_BWD_DKDV_BQ 64        // query rows per pipeline stage of the dK/dV kernel
#define ATTN_BWD_DKDV_THREADS 128
#define ATTN_BWD_DKDV_SMEM_BYTES \
    ((2 * ATTN_BWD_DKDV_BKV + 2 * 2 * ATTN_BWD_DKDV_BQ) * ATTN_BWD_D * 2 + 2 * 2 * ATTN_BWD_DKDV_BQ * 4)

#ifndef __cplusplus   // the launcher side (C); the kernels are C++ (nvcc, or g++ under tools/fakecuda)
#include "backend/cuda/cuda_core.h"
// Flash attention backward with bf16 q/k/v/dout (fp32 lse from the forward, fp32 Di[B,H,Tq] = rowsum(dout∘out)
// computed by the caller): dq, dk, dv fp32, overwritten (backend.h's semantics); D == 128 only. False when
// the kernels cannot run here or the descriptor is outside what they handle (nothing launched).
bool cuda_attention_backward_bf16(CudaImpl *c, float *dq, float *dk, float *dv, const uint16_t *dout, const uint16_t *q,
                                  const uint16_t *k, const uint16_t *v, const float *lse, const float *Di,
                                  const AttnDesc *a);
#endif
