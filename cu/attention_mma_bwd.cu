// attention_mma_bwd.cu — placeholder: the bf16 flash-attention backward is being written.
#include "mma.cuh"
#include "attention_mma_bwd.h"

// ptxcheck: attention_backward_dq_bf16_d128 max_registers=255
// ptxcheck: attention_backward_dkdv_bf16_d128 max_registers=255

extern "C" __global__ void __launch_bounds__(ATTN_BWD_DQ_THREADS, 1)
attention_backward_dq_bf16_d128(float *dq, const bf16 *dout, const bf16 *q, const bf16 *k, const bf16 *v, const float *lse,
                                const float *Di, const float *key_mask, int B, int Tq, int Tk, int H, int KVH, int D,
                                float scale, int causal, int window) {
#ifdef __CUDACC__
    asm volatile("trap;");
#else
    abort();
#endif
}

extern "C" __global__ void __launch_bounds__(ATTN_BWD_DKDV_THREADS, 1)
attention_backward_dkdv_bf16_d128(float *dk, float *dv, const bf16 *dout, const bf16 *q, const bf16 *k, const bf16 *v,
                                  const float *lse, const float *Di, const float *key_mask, int B, int Tq, int Tk, int H,
                                  int KVH, int D, float scale, int causal, int window) {
#ifdef __CUDACC__
    asm volatile("trap;");
#else
    abort();
#endif
}
