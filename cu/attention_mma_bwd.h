// attention_mma_bwd.h — tile shapes of the bf16 flash-attention backward (cu/attention_mma_bwd.cu), shared
// with its launcher in src/backend/cuda/cuda_attention_bf16_bwd.c. Plain C: included by both sides.
#pragma once
#define ATTN_BWD_D 128
#define ATTN_BWD_DQ_BQ 64          // query rows per dQ block
#define ATTN_BWD_DQ_THREADS 128
#define ATTN_BWD_DQ_SMEM_BYTES (64 * 1024)
#define ATTN_BWD_DKDV_BKV 64       // keys per dK/dV block
#define ATTN_BWD_DKDV_THREADS 128
#define ATTN_BWD_DKDV_SMEM_BYTES (96 * 1024)
