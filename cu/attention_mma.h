// attention_mma.h — tile shape of the mma.sync bf16 flash-attention forward (cu/attention_mma.cu),
// shared with its launcher in src/backend/cuda/cuda_attention_bf16.c. Plain C: included by both sides.
#pragma once
#define ATTN_MMA_D 128         // head dim
#define ATTN_MMA_BQ 128        // query rows per block (16 per warp)
#define ATTN_MMA_BKV 64        // keys per inner step
#define ATTN_MMA_THREADS 256
#define ATTN_MMA_SMEM_BYTES ((ATTN_MMA_BQ + 2 * 2 * ATTN_MMA_BKV) * ATTN_MMA_D * 2)
