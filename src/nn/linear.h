// linear.h — a Linear layer with an optional LoRA adapter, PEFT semantics, written against the op
// table only.
//
//   y[N,OC] = x[N,C]·W[OC,C]ᵀ + b[OC] + s·(x·A[r,C]ᵀ)·B[OC,r]ᵀ,   s = lora_alpha / r
//
// A and B are PEFT's lora_A.weight [r, in] and lora_B.weight [out, r]; lora_dropout is 0 (PEFT's
// dropout only acts in training mode and our trainer does not use it). The adapter can be switched
// off per call (`lora_on = false`): that is the reference model πref of DPO-style objectives.
// Forward saves xa = x·Aᵀ [N,r] for the backward; x itself is the caller's (it keeps its input
// alive). Backward: dx is written (=), or added to (+=) when the caller sums several branches;
// LoRA gradients dA, dB accumulate (+=) in fp32; dW, db accumulate only where the layer points at
// gradient buffers (a frozen base has none and the GEMMs are skipped). A base stored in 16 bits (w16)
// is frozen: its GEMMs round their fp32 activation operand to that type (ops.h matmul_*_half).
#pragma once
#include <stdbool.h>
#include "backend/backend.h"

typedef struct {
    int C, OC;               // in_features, out_features
    const float *w;          // [OC,C] frozen base weight (backend memory), NULL when stored in 16 bits:
    const uint16_t *w16;     // [OC,C] the same in w16_type (BF16/F16; --precision), read by the matmul_*_half ops
    Dtype w16_type;
    const float *b;          // [OC] or NULL
    float *dw, *db;          // [OC,C], [OC] gradients (+=) or NULL (frozen)
    // LoRA (r == 0: none)
    int r;                   // rank
    float scale;             // lora_alpha / r
    const float *lora_a;     // [r,C]
    const float *lora_b;     // [OC,r]
    float *dlora_a;          // [r,C]  (+=), NULL: no gradient wanted
    float *dlora_b;          // [OC,r] (+=)
} Linear;

// True when this call uses the adapter.
// Points l's adapter at the next r·C + OC·r floats of mem and grad (A [r,C] then B [OC,r]) and
// sets scale = alpha / r; returns the floats taken. Models lay out all adapters in one block so
// that one AdamW call updates them and one file write saves them.
size_t linear_lora_attach(Linear *l, int r, float alpha, float *mem, float *grad);

static inline bool linear_lora_active(const Linear *l, bool lora_on) { return lora_on && l->r > 0 && l->lora_a; }

// y[N,OC] = x·Wᵀ + b (+ s·(x·Aᵀ)·Bᵀ when lora_on). xa [N,r] receives x·Aᵀ (saved for the backward);
// it may be NULL only when the adapter is off or absent.
void linear_forward(Backend *be, const Linear *l, float *y, const float *x, float *xa, int N, bool lora_on);

// From dy [N,OC]: dx [N,C] (= or, with accumulate_dx, +=; NULL skips), LoRA dA/dB (+=) when lora_on
// and the gradient buffers are set, dW/db (+=) when set. x and xa are the forward's input and saved
// x·Aᵀ; dxa [N,r] is scratch (needed when lora_on).
void linear_backward(Backend *be, const Linear *l, float *dx, bool accumulate_dx, const float *dy,
                     const float *x, const float *xa, float *dxa, int N, bool lora_on);
