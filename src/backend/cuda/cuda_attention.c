// cuda_attention.c — launchers of cu/attention.cu (fp32 flash attention, head dim up to 256); in bf16
// math mode with D == 128 the operands go through cuda_convert.c to the tensor-core kernels
// (cuda_attention_mma.c, cuda_attention_mma_bwd.c), which may refuse: then the fp32 kernels run.
#include "backend/cuda/cuda_ops.h"
#include "attention_mma.h"
#include "attention_mma_bwd.h"
#include "convert.h"
#include "base/check.h"

// ---- attention ----

#define ATTN_BLOCK 128       // cu/attention.cu's ATT_THREADS
#define ATTN_MAX_D 256       // the d256 kernels' register tiles

static void attn_check(const AttnDesc *a) {
    LPOI_ASSERT(a->B >= 0 && a->Tq >= 0 && a->Tk >= 0 && a->D > 0 && a->H > 0 && a->KVH > 0);
    LPOI_ASSERT(a->H % a->KVH == 0);
    if (a->D > ATTN_MAX_D)
        LPOI_DIE_HINT("run this model with --device cpu, or add a wider tile to cu/attention.cu",
                      "cuda: attention with head dim D=%d is not implemented (the kernels hold at most %d)", a->D,
                      ATTN_MAX_D);
}

// Blocks of a flattened (batch × heads × tiles) grid.
static unsigned attn_blocks(long long outer, int T, int tile) {
    long long n = outer * ((T + tile - 1) / tile);
    LPOI_ASSERT(n <= 0x7fffffffLL);
    return (unsigned)n;
}

// bf16 math mode: q, k, v rounded to bf16 into scratch, then the tensor-core flash attention (head dim 128).
static bool attention_forward_bf16_mode(CudaImpl *c, float *out, float *lse, const float *q, const float *k,
                                        const float *v, const AttnDesc *a) {
    if (!c->math_bf16 || a->D != 128 || a->Tk == 0 || !cuda_kernel_usable(c, K_ATTN_FORWARD_BF16_D128)) return false;
    const size_t nq = (size_t)a->B * a->Tq * a->H * a->D, nkv = (size_t)a->B * a->Tk * a->KVH * a->D;
    const size_t q_bytes = cuda_round_up(nq * 2, 256), kv_bytes = cuda_round_up(nkv * 2, 256);
    uint16_t *q16 = cuda_scratch(c, q_bytes + 2 * kv_bytes);
    uint16_t *k16 = q16 + q_bytes / 2, *v16 = k16 + kv_bytes / 2;
    if (nq > INT32_MAX || nkv > INT32_MAX) return false;
    cuda_f32_to_bf16(c, q16, (int)nq, q, (int)nq, 1, (int)nq);
    cuda_f32_to_bf16(c, k16, (int)nkv, k, (int)nkv, 1, (int)nkv);
    cuda_f32_to_bf16(c, v16, (int)nkv, v, (int)nkv, 1, (int)nkv);
    return cuda_attention_forward_bf16(c, out, lse, q16, k16, v16, a);
}

void cuda_attention_forward(Backend *be, float *out, float *lse, const float *q, const float *k, const float *v,
                                   const AttnDesc *a) {
    attn_check(a);
    if (a->B == 0 || a->Tq == 0) return;
    CudaImpl *c = cuda_impl(be);
    if (attention_forward_bf16_mode(c, out, lse, q, k, v, a)) return;
    KernelId kern = a->D <= 128 ? K_ATTN_FORWARD_D128 : K_ATTN_FORWARD_D256;
    CUDA_LAUNCH(c, kern, attn_blocks((long long)a->B * a->H, a->Tq, 16), 1, ATTN_BLOCK, KA_PTR(out), KA_PTR(lse),
                KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(a->key_mask), KA_INT(a->B), KA_INT(a->Tq), KA_INT(a->Tk),
                KA_INT(a->H), KA_INT(a->KVH), KA_INT(a->D), KA_F32(a->scale), KA_INT(a->causal ? 1 : 0),
                KA_INT(a->window));
}

// Three launches: Di = rowsum(dO ∘ O) into scratch, then dQ (blocks own query tiles), then dK/dV
// (blocks own key tiles and loop over the query heads of their kv head): no atomics, fixed order.
void cuda_attention_backward(Backend *be, float *dq, float *dk, float *dv, const float *dout, const float *q,
                                    const float *k, const float *v, const float *out, const float *lse,
                                    const AttnDesc *a) {
    attn_check(a);
    if (a->B == 0) return;
    CudaImpl *c = cuda_impl(be);
    const bool wide = a->D > 128;
    const int tile = wide ? 8 : 16;   // BQ and BKB of the kernel instantiation
    // bf16 math mode: Di in fp32 as below, q/k/v/dout rounded to bf16 behind it in the same scratch.
    const bool bf16 = c->math_bf16 && a->D == 128 && a->Tq > 0 && a->Tk > 0 &&
                      cuda_kernel_usable(c, K_ATTN_BACKWARD_DQ_BF16_D128) &&
                      cuda_kernel_usable(c, K_ATTN_BACKWARD_DKDV_BF16_D128) && cuda_kernel_usable(c, K_F32_TO_BF16);
    const size_t nq = (size_t)a->B * a->Tq * a->H * a->D, nkv = (size_t)a->B * a->Tk * a->KVH * a->D;
    const size_t di_bytes = cuda_round_up((size_t)a->B * a->H * a->Tq * sizeof(float), 256);
    const size_t q_bytes = cuda_round_up(nq * 2, 256), kv_bytes = cuda_round_up(nkv * 2, 256);
    float *Di = NULL;
    if (a->Tq > 0) {
        size_t rows = (size_t)a->B * (size_t)a->H * (size_t)a->Tq;
        Di = cuda_scratch(c, di_bytes + (bf16 ? 2 * q_bytes + 2 * kv_bytes : 0));
        size_t blocks = (rows + CUDA_BLOCK / 32 - 1) / (CUDA_BLOCK / 32);   // one warp per row
        unsigned cap = cuda_grid_1d(c, (size_t)1 << 40);                   // one full wave
        CUDA_LAUNCH(c, K_ATTN_BACKWARD_DI, blocks < cap ? (unsigned)blocks : cap, 1, CUDA_BLOCK, KA_PTR(Di), KA_PTR(dout),
                    KA_PTR(out), KA_INT(a->B), KA_INT(a->Tq), KA_INT(a->H), KA_INT(a->D));
    }
    if (bf16 && nq <= INT32_MAX && nkv <= INT32_MAX) {
        uint16_t *q16 = (uint16_t *)((char *)Di + di_bytes), *do16 = q16 + q_bytes / 2;
        uint16_t *k16 = do16 + q_bytes / 2, *v16 = k16 + kv_bytes / 2;
        cuda_f32_to_bf16(c, q16, (int)nq, q, (int)nq, 1, (int)nq);
        cuda_f32_to_bf16(c, do16, (int)nq, dout, (int)nq, 1, (int)nq);
        cuda_f32_to_bf16(c, k16, (int)nkv, k, (int)nkv, 1, (int)nkv);
        cuda_f32_to_bf16(c, v16, (int)nkv, v, (int)nkv, 1, (int)nkv);
        if (cuda_attention_backward_bf16(c, dq, dk, dv, do16, q16, k16, v16, lse, Di, a)) return;
    }
    if (a->Tq > 0) {
        CUDA_LAUNCH(c, wide ? K_ATTN_BACKWARD_DQ_D256 : K_ATTN_BACKWARD_DQ_D128, attn_blocks((long long)a->B * a->H, a->Tq, tile),
                    1, ATTN_BLOCK, KA_PTR(dq), KA_PTR(dout), KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(lse), KA_PTR(Di),
                    KA_PTR(a->key_mask), KA_INT(a->B), KA_INT(a->Tq), KA_INT(a->Tk), KA_INT(a->H), KA_INT(a->KVH),
                    KA_INT(a->D), KA_F32(a->scale), KA_INT(a->causal ? 1 : 0), KA_INT(a->window));
    }
    if (a->Tk > 0)   // with Tq == 0 this writes dK = dV = 0, as the CPU backend does
        CUDA_LAUNCH(c, wide ? K_ATTN_BACKWARD_DKDV_D256 : K_ATTN_BACKWARD_DKDV_D128,
                    attn_blocks((long long)a->B * a->KVH, a->Tk, tile), 1, ATTN_BLOCK, KA_PTR(dk), KA_PTR(dv), KA_PTR(dout),
                    KA_PTR(q), KA_PTR(k), KA_PTR(v), KA_PTR(lse), KA_PTR(Di), KA_PTR(a->key_mask), KA_INT(a->B),
                    KA_INT(a->Tq), KA_INT(a->Tk), KA_INT(a->H), KA_INT(a->KVH), KA_INT(a->D), KA_F32(a->scale),
                    KA_INT(a->causal ? 1 : 0), KA_INT(a->window));
}
