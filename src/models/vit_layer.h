// vit_layer.h — one pre-LN ViT encoder layer as CLIP (clip.c) and SigLIP (siglip.c) share it: its
// activations, its gradient buffers, forward and analytic backward on the op table. The layer's
// tensors are ClipLayer's (clip.h); N rows of C channels, n images of T tokens each:
//   h1 = LN1(x); a = attention(q(h1), k(h1), v(h1); ad); xm = x + out_proj(a)
//   h2 = LN2(xm); x' = xm + fc2(act(fc1(h2)))
// (Moved out of clip.c unchanged, so both models round identically.)
#pragma once
#include <stdbool.h>
#include "backend/backend.h"
#include "base/arena.h"
#include "models/clip.h"
#include "nn/weights.h"

typedef struct {
    float *h1, *mean1, *rstd1;   // [N,C], [N], [N]
    float *q, *k, *v, *att;      // [N,C]
    float *lse;                  // [n,H,T]
    float *xm;                   // [N,C]
    float *h2, *mean2, *rstd2;   // [N,C], [N], [N]
    float *f, *g;                // [N,F] fc1 output, activation
    float *xa[CLIP_NPROJ];       // [N,r] x·Aᵀ per adapted projection
} VitLayerActs;

typedef struct {
    float *dres, *dh, *dtmp;     // [N,C]
    float *dq, *dk, *dv, *da;    // [N,C]
    float *df, *dg;              // [N,F]
    float *dxa;                  // [N,r]
    float *dpatches;             // [n·P, K] (the model's patch matrix)
} VitGrads;

typedef struct {
    int n, T, C, F, H;           // images, tokens per image, channels, intermediate, heads
    float eps;                   // layer_norm_eps
    GeluKind act;
    int r;                       // LoRA rank (0: none)
    unsigned targets;            // LoRA bits (1 << ClipProj)
    bool lora_on;                // adapters applied in this step
    const AttnDesc *ad;          // the attention of the step
} VitDims;

// Allocations in a fixed order (the same code sizes a planning arena).
void vit_layer_alloc(Arena *al, const VitDims *d, VitLayerActs *a);
void vit_grads_alloc(Arena *al, const VitDims *d, size_t patch_floats, VitGrads *g);
void vit_layer_forward(Backend *be, const ClipLayer *ly, const VitLayerActs *a, const VitDims *d, const float *x,
                       float *x_out);
// g->dres holds d(x_out) on entry and d(x) on return.
void vit_layer_backward(Backend *be, const ClipLayer *ly, const VitLayerActs *a, const VitDims *d, const float *x,
                        const VitGrads *g);

// The spec-table rows of encoder layer l under prefix ("<prefix>encoder.layers.<l>.": layer_norm1/2
// weight and bias, then q/k/v/out_proj, fc1, fc2 weight and bias), with ly wired when non-NULL.
void vit_layer_specs(WeightSpecs *out, const char *prefix, int l, int C, int F, ClipLayer *ly);
