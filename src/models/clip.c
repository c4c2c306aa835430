// clip.c — forward, hidden states and the analytic backward of ClipModel (see clip.h).
//
// A step allocates from the activation arena in a fixed order, and the same allocation code runs
// once in "plan" mode (sizes only) to size the arena first, so the plan cannot drift from the step:
//   inputs   im2col index [n·P·K/g] i32, feature-selection index [n·P] i32, CLS index [n] i32
//   embed    patches [n·P, K] (K = ch·p·p), x_emb [n·T, C] (pre-LN input), mean/rstd [n·T]
//   stream   hs[0..layers] [n·T, C]
//   layers   h1, q, k, v, att, xm, h2 [n·T, C], f, g [n·T, F], lse [n,H,T], LN stats, x·Aᵀ [n·T, r] per
//            adapter; kept for every layer (backward without recompute) or one set reused
//   pooler   cls rows, normed rows [n, C], stats [n]
//   grads    d-residual, dh, dtmp, dq, dk, dv, da [n·T, C], df, dg [n·T, F], dxa [n·T, r], dpatches [n·P, K]
// Residual-stream gradient: one [n·T, C] buffer walked from hs[layers] down to the embeddings.
#include "models/clip.h"
#include "models/model.h"
#include "models/vit_layer.h"
#include "base/check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// Steps allocate from an Arena; a planning arena (arena_init_plan) sizes a step without memory.
#define TAKE_F32(al, n, what) arena_alloc_f32((al), (n), (what))
#define TAKE_I32(al, n, what) ((int32_t *)arena_alloc((al), (size_t)(n) * sizeof(int32_t), (what)))

typedef VitLayerActs LayerActs;   // the shared layer (vit_layer.h)
typedef VitGrads Grads;

struct ClipStep {
    int n, layers, NT, NP, K, g;  // images, layers run, n·T, n·P, ch·p·p, im2col row width
    bool keep, backward, lora_on, ready;
    int32_t *im2col, *sel, *cls;  // backend index arrays
    float *patches, *x_emb, *pre_mean, *pre_rstd;
    float **xs;                   // host [layers+1] -> backend [NT,C]
    LayerActs *acts;              // host [layers] (or 1)
    float *pool_x, *pool_mean, *pool_rstd;   // [n,C], [n], [n]
    Grads grads;
    AttnDesc ad;
    ClipSelect sel_mode;          // features: the last clip_features_forward
    int sel_k;
    size_t cap_L;
};

static int nr(const ClipModel *m) { return m->lora.r > 0 ? m->lora.r : 0; }
static int gcd(int a, int b) { while (b) { int t = a % b; a = b; b = t; } return a; }

// The shared layer's view of this model's step: n images of T tokens, the adapters as set.
static VitDims dims(const ClipModel *m, int n, bool lora_on, const AttnDesc *ad) {
    const ClipConfig *c = &m->cfg;
    return (VitDims){.n = n, .T = c->T, .C = c->C, .F = c->F, .H = c->H, .eps = c->eps, .act = c->act, .r = nr(m),
                     .targets = m->lora.targets, .lora_on = lora_on, .ad = ad};
}

static void alloc_layer(Arena *al, const ClipModel *m, LayerActs *a, int n, bool lora_on) {
    VitDims d = dims(m, n, lora_on, NULL);
    vit_layer_alloc(al, &d, a);
}

static void alloc_grads(Arena *al, const ClipModel *m, Grads *g, int n) {
    const ClipConfig *c = &m->cfg;
    VitDims d = dims(m, n, false, NULL);
    vit_grads_alloc(al, &d, (size_t)n * c->P * c->ch * c->p * c->p, g);
}

// Every allocation of a step, in step order. acts has `layers` entries when the forward keeps them.
static void alloc_step(Arena *al, const ClipModel *m, ClipStep *st, LayerActs *acts, int n, int layers, bool backward) {
    const ClipConfig *c = &m->cfg;
    size_t NT = (size_t)n * c->T, NP = (size_t)n * c->P, K = (size_t)c->ch * c->p * c->p;
    int g = gcd(c->p, c->S);
    bool keep = backward && !m->recompute, lora_on = m->lora_on && m->lora.r > 0;
    st->im2col = TAKE_I32(al, NP * K / (size_t)g, "im2col index");
    st->sel = TAKE_I32(al, NP, "feature index");
    st->cls = TAKE_I32(al, n, "cls index");
    st->patches = TAKE_F32(al, NP * K, "patches");
    st->x_emb = TAKE_F32(al, NT * c->C, "embeddings");
    st->pre_mean = TAKE_F32(al, NT, "pre-LN mean");
    st->pre_rstd = TAKE_F32(al, NT, "pre-LN rstd");
    for (int l = 0; l <= layers; l++) {
        float *x = TAKE_F32(al, NT * c->C, "hidden state");
        if (st->xs) st->xs[l] = x;
    }
    st->pool_x = TAKE_F32(al, (size_t)n * c->C, "pooler rows");
    st->pool_mean = TAKE_F32(al, n, "pooler mean");
    st->pool_rstd = TAKE_F32(al, n, "pooler rstd");
    size_t mark = arena_mark(al);
    for (int l = 0; l < layers; l++) {
        if (!keep) arena_reset_to(al, mark);
        alloc_layer(al, m, &acts[keep ? l : 0], n, lora_on);
    }
    if (!backward) return;
    alloc_grads(al, m, &st->grads, n);
    if (m->recompute) {
        size_t mk = arena_mark(al);
        alloc_layer(al, m, &acts[0], n, lora_on);
        arena_reset_to(al, mk);
    }
}

size_t clip_step_bytes(const ClipModel *m, int n, int layers, bool backward) {
    ClipStep st = {0};
    LayerActs one[1];
    Arena al;
    arena_init_plan(&al, "step plan");
    bool many = backward && !m->recompute && layers > 0;
    LayerActs *acts = many ? malloc_check((size_t)layers * sizeof *acts) : one;
    alloc_step(&al, m, &st, acts, n, layers, backward);
    if (acts != one) free(acts);
    return al.peak + 4 * ARENA_ALIGN;
}

void clip_step_free(ClipModel *m) {
    ClipStep *st = m->step;
    if (!st) return;
    free(st->xs);
    free(st->acts);
    free(st);
    m->step = NULL;
}

// ---- im2col --------------------------------------------------------------------------------
// Patch matrix row i·P + py·G + px, columns (c, kh, kw) = the Conv2d weight's flattening; split
// into rows of g floats. Element e of the index is the pixel-buffer row (of g floats) that patch-
// matrix row e (of g floats) copies.
static void build_im2col(const ClipConfig *c, int n, int g, int32_t *idx) {
    const int p = c->p, S = c->S, G = c->G, rows_per_line = S / g;
    size_t e = 0;
    for (int i = 0; i < n; i++)
        for (int py = 0; py < G; py++)
            for (int px = 0; px < G; px++)
                for (int ch = 0; ch < c->ch; ch++)
                    for (int kh = 0; kh < p; kh++)
                        for (int kw = 0; kw < p; kw += g) {
                            int64_t line = ((int64_t)i * c->ch + ch) * S + (int64_t)py * p + kh;
                            idx[e++] = (int32_t)(line * rows_per_line + (px * p + kw) / g);
                        }
}

// ---- one layer -------------------------------------------------------------------------------
static void layer_forward(ClipModel *m, const ClipLayer *ly, const LayerActs *a, const ClipStep *st, const float *x,
                          float *x_out) {
    VitDims d = dims(m, st->n, st->lora_on, &st->ad);
    vit_layer_forward(m->be, ly, a, &d, x, x_out);
}

// g->dres holds d(x_out) on entry and d(x) on return.
static void layer_backward(ClipModel *m, const ClipLayer *ly, const LayerActs *a, const ClipStep *st, const float *x,
                           const Grads *g) {
    VitDims d = dims(m, st->n, st->lora_on, &st->ad);
    vit_layer_backward(m->be, ly, a, &d, x, g);
}

// ---- a step ------------------------------------------------------------------------------------
static ClipStep *step_get(ClipModel *m, int layers) {
    if (!m->step) m->step = calloc_check(1, sizeof *m->step);
    ClipStep *st = m->step;
    size_t need = (size_t)layers + 1;
    if (st->cap_L < need) {
        free(st->xs);
        free(st->acts);
        st->xs = calloc_check(need, sizeof *st->xs);
        st->acts = calloc_check(need, sizeof *st->acts);
        st->cap_L = need;
    }
    return st;
}

bool clip_forward(ClipModel *m, const float *pixels, int n, int layers, bool for_backward, LpoiErr *err) {
    Backend *be = m->be;
    const ClipConfig *c = &m->cfg;
    if (n < 1 || (int64_t)n * c->T > (1 << 24) || (int64_t)n * c->ch * c->S * c->S > INT32_MAX)
        return err_set(err, "vision tower: %d images of %dx%d is none or too many", n, c->S, c->S);
    if (layers < 0 || layers > c->n_layer)
        return err_set(err, "vision tower: cannot run %d layers (the model has %d)", layers, c->n_layer);
    ClipStep *st = step_get(m, layers);
    const int C = c->C, T = c->T, P = c->P;
    st->n = n;
    st->layers = layers;
    st->NT = n * T;
    st->NP = n * P;
    st->K = c->ch * c->p * c->p;
    st->g = gcd(c->p, c->S);
    st->backward = for_backward;
    st->keep = for_backward && !m->recompute;
    st->lora_on = m->lora_on && m->lora.r > 0;
    st->ready = false;

    size_t need = clip_step_bytes(m, n, layers, for_backward);
    model_acts_begin(be, &m->acts, &m->acts_mem, need, "clip activations");
    memset(&st->grads, 0, sizeof st->grads);
    alloc_step(&m->acts, m, st, st->acts, n, layers, for_backward);

    // Index arrays (host-built, uploaded): im2col, selected feature rows (CLS dropped), CLS rows.
    size_t ni = (size_t)st->NP * st->K / (size_t)st->g;
    int32_t *h = malloc_check(LPOI_MAX(ni, (size_t)st->NP) * sizeof *h);
    build_im2col(c, n, st->g, h);
    be->upload(be, st->im2col, h, ni * sizeof *h);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < P; j++) h[i * P + j] = i * T + 1 + j;
    be->upload(be, st->sel, h, (size_t)st->NP * sizeof *h);
    for (int i = 0; i < n; i++) h[i] = i * T;
    be->upload(be, st->cls, h, (size_t)n * sizeof *h);
    free(h);
    st->ad = (AttnDesc){.B = n, .Tq = T, .Tk = T, .H = c->H, .KVH = c->H, .D = c->D,
                        .scale = 1.0f / sqrtf((float)c->D), .causal = false, .window = 0, .key_mask = NULL};

    // Embeddings: im2col gather, one patch GEMM per image straight into rows 1..P, the class
    // embedding into row 0, plus the position table.
    be->embedding_forward(be, st->patches, st->im2col, pixels, (int)ni, st->g);
    for (int i = 0; i < n; i++) {
        float *xi = st->x_emb + (size_t)i * T * C;
        be->matmul_forward(be, xi + C, st->patches + (size_t)i * P * st->K, m->patch_w, NULL, P, st->K, C);
        be->fill_zero(be, xi, (size_t)C * sizeof(float));
        be->axpy(be, xi, 1.0f, m->class_emb, (size_t)C);
        be->add(be, xi, xi, m->pos_emb, (size_t)T * C);
    }
    be->layernorm_forward(be, st->xs[0], st->pre_mean, st->pre_rstd, st->x_emb, m->pre_w, m->pre_b, st->NT, C, c->eps);
    for (int l = 0; l < layers; l++)
        layer_forward(m, &m->layers[l], &st->acts[st->keep ? l : 0], st, st->xs[l], st->xs[l + 1]);
    st->ready = for_backward;
    return true;
}

const float *clip_hidden(const ClipModel *m, int k) {
    LPOI_ASSERT(m->step && k >= 0 && k <= m->step->layers);
    return m->step->xs[k];
}

void clip_pooled(ClipModel *m, float *out) {
    ClipStep *st = m->step;
    LPOI_ASSERT(st && st->layers == m->cfg.n_layer);
    Backend *be = m->be;
    be->embedding_forward(be, st->pool_x, st->cls, st->xs[st->layers], st->n, m->cfg.C);
    be->layernorm_forward(be, out, st->pool_mean, st->pool_rstd, st->pool_x, m->post_w, m->post_b, st->n, m->cfg.C,
                          m->cfg.eps);
}

// The residual-stream gradient g.dres holds d hidden_states[layers].
static void backward_from_dres(ClipModel *m, float *dpixels) {
    ClipStep *st = m->step;
    Backend *be = m->be;
    const ClipConfig *c = &m->cfg;
    Grads g = st->grads;
    for (int l = st->layers - 1; l >= 0; l--) {
        if (st->keep) {
            layer_backward(m, &m->layers[l], &st->acts[l], st, st->xs[l], &g);
        } else {   // recompute this layer's activations from its saved input
            size_t mk = arena_mark(&m->acts);
            LayerActs a;
            alloc_layer(&m->acts, m, &a, st->n, st->lora_on);
            layer_forward(m, &m->layers[l], &a, st, st->xs[l], g.dh);   // x_out lands in scratch dh
            layer_backward(m, &m->layers[l], &a, st, st->xs[l], &g);
            arena_reset_to(&m->acts, mk);
        }
    }
    if (dpixels) {
        const int C = c->C, T = c->T, P = c->P;
        // pre_layrnorm, then the patch GEMM per image (rows 1..P; class and position rows are frozen),
        // then col2im = the transpose of the im2col gather.
        be->layernorm_backward(be, g.dtmp, NULL, NULL, g.dres, st->x_emb, m->pre_w, st->pre_mean, st->pre_rstd, st->NT, C);
        for (int i = 0; i < st->n; i++)
            be->matmul_backward(be, g.dpatches + (size_t)i * P * st->K, NULL, NULL, g.dtmp + ((size_t)i * T + 1) * C,
                                st->patches + (size_t)i * P * st->K, m->patch_w, P, st->K, C);
        be->fill_zero(be, dpixels, (size_t)st->n * c->ch * c->S * c->S * sizeof(float));
        be->embedding_backward(be, dpixels, g.dpatches, st->im2col, (int)((size_t)st->NP * st->K / (size_t)st->g), st->g);
    }
    st->ready = false;
}

void clip_backward(ClipModel *m, const float *dhidden, float *dpixels) {
    ClipStep *st = m->step;
    LPOI_ASSERT(st && st->ready);
    Backend *be = m->be;
    size_t k = (size_t)st->NT * m->cfg.C;
    be->fill_zero(be, st->grads.dres, k * sizeof(float));
    be->axpy(be, st->grads.dres, 1.0f, dhidden, k);
    backward_from_dres(m, dpixels);
}

int clip_features_per_image(const ClipConfig *c, ClipSelect sel) { return sel == CLIP_SELECT_FULL ? c->T : c->P; }

bool clip_features_forward(ClipModel *m, const float *pixels, int n, int k, ClipSelect sel, bool for_backward,
                           float *feat, LpoiErr *err) {
    if (!clip_forward(m, pixels, n, k, for_backward, err)) return false;
    ClipStep *st = m->step;
    Backend *be = m->be;
    const ClipConfig *c = &m->cfg;
    st->sel_mode = sel;
    st->sel_k = k;
    if (sel == CLIP_SELECT_FULL) {
        size_t cnt = (size_t)st->NT * c->C;
        be->fill_zero(be, feat, cnt * sizeof(float));
        be->axpy(be, feat, 1.0f, st->xs[k], cnt);
    } else {
        be->embedding_forward(be, feat, st->sel, st->xs[k], st->NP, c->C);   // drop the CLS rows
    }
    return true;
}

void clip_features_backward(ClipModel *m, const float *dfeat, float *dpixels) {
    ClipStep *st = m->step;
    LPOI_ASSERT(st && st->ready);
    Backend *be = m->be;
    const ClipConfig *c = &m->cfg;
    size_t cnt = (size_t)st->NT * c->C;
    be->fill_zero(be, st->grads.dres, cnt * sizeof(float));
    if (st->sel_mode == CLIP_SELECT_FULL) be->axpy(be, st->grads.dres, 1.0f, dfeat, cnt);
    else be->embedding_backward(be, st->grads.dres, dfeat, st->sel, st->NP, c->C);   // CLS rows stay 0
    backward_from_dres(m, dpixels);
}
