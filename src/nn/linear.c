// linear.c — Linear + LoRA forward/backward (see linear.h). GEMM layout (row-major, weights
// [out, in] as in PyTorch):
//   forward   y   = x·Wᵀ (+ b)                       matmul_forward
//             xa  = x·Aᵀ                 [N,r]        gemm NT
//             y  += s·xa·Bᵀ              [N,OC]       gemm NT, beta 1
//   backward  dx  = dy·W  (or +=)        [N,C]        matmul_backward / gemm NN beta 1
//             dB += s·dyᵀ·xa             [OC,r]       gemm TN
//             dxa = s·dy·B               [N,r]        gemm NN
//             dA += dxaᵀ·x               [r,C]        gemm TN
//             dx += dxa·A                [N,C]        gemm NN
// With a 16-bit base (w16) the two base GEMMs are matmul_forward_half / matmul_backward_dx_half.
#include "nn/linear.h"
#include "base/check.h"

void linear_forward(Backend *be, const Linear *l, float *y, const float *x, float *xa, int N, bool lora_on) {
    if (l->w16) be->matmul_forward_half(be, y, x, l->w16, l->w16_type, l->b, N, l->C, l->OC);
    else be->matmul_forward(be, y, x, l->w, l->b, N, l->C, l->OC);
    if (!linear_lora_active(l, lora_on)) return;
    LPOI_ASSERT(xa != NULL);
    const int C = l->C, OC = l->OC, r = l->r;
    be->gemm(be, false, true, N, r, C, 1.0f, x, C, 0, l->lora_a, C, 0, 0.0f, xa, r, 0, 1);
    be->gemm(be, false, true, N, OC, r, l->scale, xa, r, 0, l->lora_b, r, 0, 1.0f, y, OC, 0, 1);
}

void linear_backward(Backend *be, const Linear *l, float *dx, bool accumulate_dx, const float *dy,
                     const float *x, const float *xa, float *dxa, int N, bool lora_on) {
    const int C = l->C, OC = l->OC;
    if (l->w16) {   // frozen: only the input gradient (and a bias gradient, should a caller want one)
        LPOI_ASSERT(!l->dw);
        if (dx) be->matmul_backward_dx_half(be, dx, accumulate_dx, dy, l->w16, l->w16_type, N, C, OC);
        if (l->db) be->matmul_backward(be, NULL, NULL, l->db, dy, x, NULL, N, C, OC);
    } else if (dx && accumulate_dx) {
        be->gemm(be, false, false, N, C, OC, 1.0f, dy, OC, 0, l->w, C, 0, 1.0f, dx, C, 0, 1);
        if (l->dw || l->db) be->matmul_backward(be, NULL, l->dw, l->db, dy, x, l->w, N, C, OC);
    } else if (dx || l->dw || l->db) {
        be->matmul_backward(be, dx, l->dw, l->db, dy, x, l->w, N, C, OC);
    }
    if (!linear_lora_active(l, lora_on)) return;
    const int r = l->r;
    if (l->dlora_b)
        be->gemm(be, true, false, OC, r, N, l->scale, dy, OC, 0, xa, r, 0, 1.0f, l->dlora_b, r, 0, 1);
    if (!l->dlora_a && !dx) return;
    LPOI_ASSERT(dxa != NULL && xa != NULL);
    be->gemm(be, false, false, N, r, OC, l->scale, dy, OC, 0, l->lora_b, r, 0, 0.0f, dxa, r, 0, 1);
    if (l->dlora_a)
        be->gemm(be, true, false, r, C, N, 1.0f, dxa, r, 0, x, C, 0, 1.0f, l->dlora_a, C, 0, 1);
    if (dx)
        be->gemm(be, false, false, N, C, r, 1.0f, dxa, r, 0, l->lora_a, C, 0, 1.0f, dx, C, 0, 1);
}

size_t linear_lora_attach(Linear *l, int r, float alpha, float *mem, float *grad) {
    size_t na = (size_t)r * l->C, nb = (size_t)l->OC * r;
    l->r = r;
    l->scale = alpha / (float)r;
    l->lora_a = mem;
    l->dlora_a = grad;
    l->lora_b = mem + na;
    l->dlora_b = grad + na;
    return na + nb;
}
