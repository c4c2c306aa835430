// cuda_attention_mma.c — launcher of the bf16 tensor-core flash-attention forward (cu/attention_mma.cu).
// Grid: x = B*H (one (batch, head) per column), y = ceil(Tq / ATTN_MMA_BQ) query tiles (the kernel walks y
// from the last tile so that, under causal masking, the longest blocks are dispatched first); block
// ATTN_MMA_THREADS threads with ATTN_MMA_SMEM_BYTES of dynamic shared memory (the kernel table's smem).
//
// LPOI_ATTN_BF16_PAIR=1 (read once at creation into CudaImpl.attn_bf16_pair) launches the kernel's paired
// schedule instead (y = ceil(nqt/2); block y does query tiles nqt-1-y and y, equal work per block under
// causal masking). It measured 2-3% slower on an H200 (B1 H32 T2048/4096 causal), so it is off unless asked
// for; the tests run both.
//
// Refused (false, nothing launched), so that the caller falls back: no usable sm_80+ module, D != 128, and
// q/k/v not 16-byte aligned (cp.async) or out not 8-byte aligned (float2 stores); lse has no requirement.
#include "attention_mma.h"
#include "base/check.h"

bool cuda_attention_forward_bf16(CudaImpl *c, float *out, float *lse, const uint16_t *q, const uint16_t *k,
                                 const uint16_t *v, const AttnDesc *a) {
    if (!cuda_kernel_usable(c, K_ATTN_FORWARD_BF16_D128) || a->D != ATTN_MMA_D) return false;
    if (((uintptr_t)q | (uintptr_t)k | (uintptr_t)v) % 16 != 0 || (uintptr_t)out % 8 != 0) return false;
    LPOI_ASSERT(a->B >= 0 && a->Tq >= 0 && a->Tk >= 0 && a->H > 0 && a->KVH > 0 && a->H % a->KVH == 0);
    if (a->B == 0 || a->Tq == 0) return true;   // nothing to write
    const long long gx = (long long)a->B * a->H, nqt = ((long long)a->Tq + ATTN_MMA_BQ - 1) / ATTN_MMA_BQ;
    const long long gy = c->attn_bf16_pair ? (nqt + 1) / 2 : nqt;   // the kernel reads gy < nqt as paired
    LPOI_ASSERT(gx <= 0x7fffffffLL && gy <= 65535);
    CUDA_LAUNCH_SMEM(c, K_ATTN_FORWARD_BF16_D128, (unsigned)gx, (unsigned)gy, 1, ATTN_MMA_THREADS, KA_PTR(out),
                     KA_PTR(lse), KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(a->key_mask), KA_INT(a->B), KA_INT(a->Tq),
                     KA_INT(a->Tk), KA_INT(a->H), KA_INT(a->KVH), KA_INT(a->D), KA_F32(a->scale),
                     KA_INT(a->causal ? 1 : 0), KA_INT(a->window));
    return true;
}
