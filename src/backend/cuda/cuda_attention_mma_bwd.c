// cuda_attention_mma_bwd.c — launcher of the bf16 tensor-core flash-attention backward (cu/attention_mma_bwd.cu).
// Two launches, as the fp32 path in cuda_attention.c (Di comes from the caller):
//   dQ:    grid x = B*H, y = ceil(Tq / ATTN_BWD_DQ_BQ) (the kernel walks y from the last query tile, so under
//          causal masking the longest blocks are dispatched first); skipped when Tq == 0.
//   dK/dV: grid x = B*KVH, y = ceil(Tk / ATTN_BWD_DKDV_BKV) (key tile y: the low tiles, which see the most
//          queries under causal masking, first); with Tq == 0 it writes dK = dV = 0, as the CPU backend does.
// Blocks of ATTN_BWD_*_THREADS threads with ATTN_BWD_*_SMEM_BYTES of dynamic shared memory (the kernel table's).
//
// Refused (false, nothing launched), so that the caller falls back: either kernel unusable (no sm_80+ module,
// e.g. the compute_75 PTX variant), D != 128, dout/q/k/v not 16-byte aligned (cp.async), dq/dk/dv not 8-byte
// aligned (float2 stores). lse, Di and key_mask have no alignment requirement.
#include "attention_mma_bwd.h"
#include "base/check.h"

bool cuda_attention_backward_bf16(CudaImpl *c, float *dq, float *dk, float *dv, const uint16_t *dout, const uint16_t *q,
                                  const uint16_t *k, const uint16_t *v, const float *lse, const float *Di,
                                  const AttnDesc *a) {
    if (!cuda_kernel_usable(c, K_ATTN_BACKWARD_DQ_BF16_D128) || !cuda_kernel_usable(c, K_ATTN_BACKWARD_DKDV_BF16_D128) ||
        a->D != ATTN_BWD_D)
        return false;
    if (((uintptr_t)dout | (uintptr_t)q | (uintptr_t)k | (uintptr_t)v) % 16 != 0 ||
        ((uintptr_t)dq | (uintptr_t)dk | (uintptr_t)dv) % 8 != 0)
        return false;
    LPOI_ASSERT(a->B >= 0 && a->Tq >= 0 && a->Tk >= 0 && a->H > 0 && a->KVH > 0 && a->H % a->KVH == 0);
    if (a->B == 0) return true;   // nothing to write
    const int causal = a->causal ? 1 : 0;
    if (a->Tq > 0) {
        const long long gx = (long long)a->B * a->H, gy = ((long long)a->Tq + ATTN_BWD_DQ_BQ - 1) / ATTN_BWD_DQ_BQ;
        LPOI_ASSERT(gx <= 0x7fffffffLL && gy <= 65535);
        CUDA_LAUNCH_SMEM(c, K_ATTN_BACKWARD_DQ_BF16_D128, (unsigned)gx, (unsigned)gy, 1, ATTN_BWD_DQ_THREADS, KA_PTR(dq),
                         KA_PTR(dout), KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(lse), KA_PTR(Di), KA_PTR(a->key_mask),
                         KA_INT(a->B), KA_INT(a->Tq), KA_INT(a->Tk), KA_INT(a->H), KA_INT(a->KVH), KA_INT(a->D),
                         KA_F32(a->scale), KA_INT(causal), KA_INT(a->window));
    }
    if (a->Tk > 0) {
        const long long gx = (long long)a->B * a->KVH, gy = ((long long)a->Tk + ATTN_BWD_DKDV_BKV - 1) / ATTN_BWD_DKDV_BKV;
        LPOI_ASSERT(gx <= 0x7fffffffLL && gy <= 65535);
        CUDA_LAUNCH_SMEM(c, K_ATTN_BACKWARD_DKDV_BF16_D128, (unsigned)gx, (unsigned)gy, 1, ATTN_BWD_DKDV_THREADS,
                         KA_PTR(dk), KA_PTR(dv), KA_PTR(dout), KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(lse), KA_PTR(Di),
                         KA_PTR(a->key_mask), KA_INT(a->B), KA_INT(a->Tq), KA_INT(a->Tk), KA_INT(a->H), KA_INT(a->KVH),
                         KA_INT(a->D), KA_F32(a->scale), KA_INT(causal), KA_INT(a->window));
    }
    return true;
}
