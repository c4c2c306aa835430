// vit_layer.c — the shared ViT encoder layer (see vit_layer.h).
#include "models/vit_layer.h"
#include "nn/linear.h"

#define TAKE_F32(al, n, what) arena_alloc_f32((al), (n), (what))

void vit_layer_alloc(Arena *al, const VitDims *d, VitLayerActs *a) {
    size_t NT = (size_t)d->n * d->T, C = (size_t)d->C, F = (size_t)d->F;
    a->h1 = TAKE_F32(al, NT * C, "h1");
    a->mean1 = TAKE_F32(al, NT, "ln1 mean");
    a->rstd1 = TAKE_F32(al, NT, "ln1 rstd");
    a->q = TAKE_F32(al, NT * C, "q");
    a->k = TAKE_F32(al, NT * C, "k");
    a->v = TAKE_F32(al, NT * C, "v");
    a->att = TAKE_F32(al, NT * C, "attention out");
    a->lse = TAKE_F32(al, (size_t)d->n * d->H * d->T, "attention lse");
    a->xm = TAKE_F32(al, NT * C, "xm");
    a->h2 = TAKE_F32(al, NT * C, "h2");
    a->mean2 = TAKE_F32(al, NT, "ln2 mean");
    a->rstd2 = TAKE_F32(al, NT, "ln2 rstd");
    a->f = TAKE_F32(al, NT * F, "fc1 out");
    a->g = TAKE_F32(al, NT * F, "activation");
    for (int p = 0; p < CLIP_NPROJ; p++)
        a->xa[p] = d->lora_on && (d->targets & (1u << p)) ? TAKE_F32(al, NT * d->r, "lora x·Aᵀ") : NULL;
}

void vit_grads_alloc(Arena *al, const VitDims *d, size_t patch_floats, VitGrads *g) {
    size_t NT = (size_t)d->n * d->T, C = (size_t)d->C, F = (size_t)d->F;
    g->dres = TAKE_F32(al, NT * C, "d residual");
    g->dh = TAKE_F32(al, NT * C, "dh");
    g->dtmp = TAKE_F32(al, NT * C, "dtmp");
    g->dq = TAKE_F32(al, NT * C, "dq");
    g->dk = TAKE_F32(al, NT * C, "dk");
    g->dv = TAKE_F32(al, NT * C, "dv");
    g->da = TAKE_F32(al, NT * C, "d attention out");
    g->df = TAKE_F32(al, NT * F, "d fc1 out");
    g->dg = TAKE_F32(al, NT * F, "d activation");
    g->dxa = d->r ? TAKE_F32(al, NT * d->r, "d lora x·Aᵀ") : NULL;
    g->dpatches = TAKE_F32(al, patch_floats, "d patches");
}

void vit_layer_forward(Backend *be, const ClipLayer *ly, const VitLayerActs *a, const VitDims *d, const float *x,
                       float *x_out) {
    const int N = d->n * d->T, C = d->C;
    const bool on = d->lora_on;
    be->layernorm_forward(be, a->h1, a->mean1, a->rstd1, x, ly->ln1_w, ly->ln1_b, N, C, d->eps);
    linear_forward(be, &ly->proj[CLIP_Q], a->q, a->h1, a->xa[CLIP_Q], N, on);
    linear_forward(be, &ly->proj[CLIP_K], a->k, a->h1, a->xa[CLIP_K], N, on);
    linear_forward(be, &ly->proj[CLIP_V], a->v, a->h1, a->xa[CLIP_V], N, on);
    be->attention_forward(be, a->att, a->lse, a->q, a->k, a->v, d->ad);
    linear_forward(be, &ly->proj[CLIP_O], a->xm, a->att, a->xa[CLIP_O], N, on);
    be->add(be, a->xm, a->xm, x, (size_t)N * C);
    be->layernorm_forward(be, a->h2, a->mean2, a->rstd2, a->xm, ly->ln2_w, ly->ln2_b, N, C, d->eps);
    linear_forward(be, &ly->proj[CLIP_FC1], a->f, a->h2, a->xa[CLIP_FC1], N, on);
    be->gelu_forward(be, a->g, a->f, (size_t)N * d->F, d->act);
    linear_forward(be, &ly->proj[CLIP_FC2], x_out, a->g, a->xa[CLIP_FC2], N, on);
    be->add(be, x_out, x_out, a->xm, (size_t)N * C);
}

void vit_layer_backward(Backend *be, const ClipLayer *ly, const VitLayerActs *a, const VitDims *d, const float *x,
                        const VitGrads *g) {
    const int N = d->n * d->T, C = d->C;
    const bool on = d->lora_on;
    // MLP: x_out = xm + fc2(act(fc1(LN2(xm))))
    linear_backward(be, &ly->proj[CLIP_FC2], g->dg, false, g->dres, a->g, a->xa[CLIP_FC2], g->dxa, N, on);
    be->gelu_backward(be, g->df, g->dg, a->f, (size_t)N * d->F, d->act);
    linear_backward(be, &ly->proj[CLIP_FC1], g->dh, false, g->df, a->h2, a->xa[CLIP_FC1], g->dxa, N, on);
    be->layernorm_backward(be, g->dtmp, NULL, NULL, g->dh, a->xm, ly->ln2_w, a->mean2, a->rstd2, N, C);
    be->add(be, g->dres, g->dres, g->dtmp, (size_t)N * C);                       // d xm
    // attention: xm = x + out_proj(attention(q(h1), k(h1), v(h1))), h1 = LN1(x)
    linear_backward(be, &ly->proj[CLIP_O], g->da, false, g->dres, a->att, a->xa[CLIP_O], g->dxa, N, on);
    be->attention_backward(be, g->dq, g->dk, g->dv, g->da, a->q, a->k, a->v, a->att, a->lse, d->ad);
    linear_backward(be, &ly->proj[CLIP_Q], g->dh, false, g->dq, a->h1, a->xa[CLIP_Q], g->dxa, N, on);
    linear_backward(be, &ly->proj[CLIP_K], g->dh, true, g->dk, a->h1, a->xa[CLIP_K], g->dxa, N, on);
    linear_backward(be, &ly->proj[CLIP_V], g->dh, true, g->dv, a->h1, a->xa[CLIP_V], g->dxa, N, on);
    be->layernorm_backward(be, g->dtmp, NULL, NULL, g->dh, x, ly->ln1_w, a->mean1, a->rstd1, N, C);
    be->add(be, g->dres, g->dres, g->dtmp, (size_t)N * C);                       // d x
}

void vit_layer_specs(WeightSpecs *out, const char *prefix, int l, int C, int F, ClipLayer *ly) {
#define AT(field) (ly ? &(field) : NULL)
    SPEC1(out, AT(ly->ln1_w), C, "%sencoder.layers.%d.layer_norm1.weight", prefix, l);
    SPEC1(out, AT(ly->ln1_b), C, "%sencoder.layers.%d.layer_norm1.bias", prefix, l);
    SPEC1(out, AT(ly->ln2_w), C, "%sencoder.layers.%d.layer_norm2.weight", prefix, l);
    SPEC1(out, AT(ly->ln2_b), C, "%sencoder.layers.%d.layer_norm2.bias", prefix, l);
    for (int p = 0; p < CLIP_NPROJ; p++) {
        int o = p == CLIP_FC1 ? F : C, i = p == CLIP_FC2 ? F : C;
        if (ly) ly->proj[p] = (Linear){.C = i, .OC = o};
        SPEC_LINEAR(out, ly ? &ly->proj[p] : NULL, o, i, "%sencoder.layers.%d.%s.weight", prefix, l, CLIP_PROJ_PATH[p]);
        SPEC1(out, AT(ly->proj[p].b), o, "%sencoder.layers.%d.%s.bias", prefix, l, CLIP_PROJ_PATH[p]);
    }
#undef AT
}
