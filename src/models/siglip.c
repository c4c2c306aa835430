// siglip.c — forward and analytic backward of SiglipModel (see siglip.h).
//
// A step allocates from the activation arena in a fixed order, and the same allocation code runs
// once in "plan" mode (sizes only) to size the arena first (as clip.c):
//   inputs   im2col index [n·P·K/g] i32, position ids [n·P] i32, key mask [n·P] f32
//   embed    patches [n·P, K] (K = ch·p·p), position rows [n·P, C]
//   stream   xs[0..n_layer] [n·P, C] (xs[0] = the embeddings)
//   output   post-LN out [n·P, C], mean/rstd [n·P]
//   layers   the shared layer's activations (vit_layer.h), kept for every layer or one set reused
//   grads    the shared layer's gradient buffers, d patches [n·P, K]
// The patch convolution is CLIP's: a gather (embedding_forward over an index of g-float rows,
// g = gcd(p, W)) and one GEMM; col2im for d pixel_values is the gather's transpose.
#include "models/siglip.h"
#include "models/model.h"
#include "models/vit_layer.h"
#include "base/check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TAKE_F32(al, n, what) arena_alloc_f32((al), (n), (what))
#define TAKE_I32(al, n, what) ((int32_t *)arena_alloc((al), (size_t)(n) * sizeof(int32_t), (what)))

struct SiglipStep {
    int n, Hpx, Wpx, Gh, Gw, P, NP, K, g;   // images, padded pixel size, patches per side, P, n·P, ch·p·p, gather width
    bool keep, backward, lora_on, ready;
    int32_t *im2col, *pos;          // backend index arrays
    float *key_mask;                // backend [n·P]
    float *patches, *pos_rows;      // [NP, K], [NP, C]
    float **xs;                     // host [n_layer + 1] -> backend [NP, C]
    float *out, *post_mean, *post_rstd;
    VitLayerActs *acts;             // host [n_layer] (or 1)
    VitGrads grads;
    AttnDesc ad;
    size_t cap_L;
};

static int gcd(int a, int b) { while (b) { int t = a % b; a = b; b = t; } return a; }

static VitDims dims(const SiglipModel *m, int n, int P, bool lora_on, const AttnDesc *ad) {
    const SiglipConfig *c = &m->cfg;
    return (VitDims){.n = n, .T = P, .C = c->C, .F = c->F, .H = c->H, .eps = c->eps, .act = c->act,
                     .r = m->lora.r > 0 ? m->lora.r : 0, .targets = m->lora.targets, .lora_on = lora_on, .ad = ad};
}

static void alloc_step(Arena *al, const SiglipModel *m, SiglipStep *st, VitLayerActs *acts, int n, int P, int g,
                       bool backward) {
    const SiglipConfig *c = &m->cfg;
    size_t NP = (size_t)n * P, K = (size_t)c->ch * c->p * c->p, C = (size_t)c->C;
    bool keep = backward && !m->recompute, lora_on = m->lora_on && m->lora.r > 0;
    VitDims d = dims(m, n, P, lora_on, NULL);
    st->im2col = TAKE_I32(al, NP * K / (size_t)g, "im2col index");
    st->pos = TAKE_I32(al, NP, "position ids");
    st->key_mask = TAKE_F32(al, NP, "key mask");
    st->patches = TAKE_F32(al, NP * K, "patches");
    st->pos_rows = TAKE_F32(al, NP * C, "position rows");
    for (int l = 0; l <= c->n_layer; l++) {
        float *x = TAKE_F32(al, NP * C, "hidden state");
        if (st->xs) st->xs[l] = x;
    }
    st->out = TAKE_F32(al, NP * C, "post-LN out");
    st->post_mean = TAKE_F32(al, NP, "post-LN mean");
    st->post_rstd = TAKE_F32(al, NP, "post-LN rstd");
    size_t mark = arena_mark(al);
    for (int l = 0; l < c->n_layer; l++) {
        if (!keep) arena_reset_to(al, mark);
        vit_layer_alloc(al, &d, &acts[keep ? l : 0]);
    }
    if (!backward) return;
    vit_grads_alloc(al, &d, NP * K, &st->grads);
    if (m->recompute) {
        size_t mk = arena_mark(al);
        vit_layer_alloc(al, &d, &acts[0]);
        arena_reset_to(al, mk);
    }
}

size_t siglip_step_bytes(const SiglipModel *m, int n, int Gh, int Gw, bool backward) {
    SiglipStep st = {0};
    VitLayerActs one[1];
    Arena al;
    arena_init_plan(&al, "step plan");
    bool many = backward && !m->recompute && m->cfg.n_layer > 0;
    VitLayerActs *acts = many ? malloc_check((size_t)m->cfg.n_layer * sizeof *acts) : one;
    alloc_step(&al, m, &st, acts, n, Gh * Gw, 1, backward);   // g = 1: the largest index
    if (acts != one) free(acts);
    return al.peak + 4 * ARENA_ALIGN;
}

void siglip_step_free(SiglipModel *m) {
    SiglipStep *st = m->step;
    if (!st) return;
    free(st->xs);
    free(st->acts);
    free(st);
    m->step = NULL;
}

// ---- embeddings --------------------------------------------------------------------------------
// Patch-matrix row i·P + py·Gw + px, columns (c, kh, kw), in rows of g floats: element e is the
// pixel-buffer row (of g floats) that patch-matrix row e copies. Pixels past the last whole patch
// are never read (the convolution's "valid" padding).
static void build_im2col(const SiglipConfig *c, const SiglipStep *st, int32_t *idx) {
    const int p = c->p, g = st->g, rows_per_line = st->Wpx / g;
    size_t e = 0;
    for (int i = 0; i < st->n; i++)
        for (int py = 0; py < st->Gh; py++)
            for (int px = 0; px < st->Gw; px++)
                for (int ch = 0; ch < c->ch; ch++)
                    for (int kh = 0; kh < p; kh++)
                        for (int kw = 0; kw < p; kw += g) {
                            int64_t line = ((int64_t)i * c->ch + ch) * st->Hpx + (int64_t)py * p + kh;
                            idx[e++] = (int32_t)(line * rows_per_line + (px * p + kw) / g);
                        }
}

// torch.bucketize(x, boundaries, right=True): the number of boundaries <= x.
static int bucket(const float *bounds, int nb, float x) {
    int k = 0;
    while (k < nb && bounds[k] <= x) k++;
    return k;
}

// torch.arange(1/G, 1.0, 1/G) in float32 as ATen's CPU kernel computes it: length
// ceil((end − start) / step) in double; values in blocks of 16 (two 8-float AVX2 vectors), each
// vector from base = float(start + step·i) as float(base + j·step), the tail as float(start + step·i).
// The rounding of a boundary decides the bucket of a coordinate that lands on it (20 per side,
// 25 patches: patch 15 is in bucket 12, not the 11 of plain float(start + step·i)); AVX-512 torch
// rounds a few boundaries differently but buckets every (G < 120, n < 140) grid the same.
static int arange_boundaries(int G, float **out) {
    double step = 1.0 / G, start = step;
    int n = (int)ceil((1.0 - start) / step), i = 0;
    float *b = malloc_check((size_t)LPOI_MAX(n, 1) * sizeof *b);
    for (; i + 16 <= n; i += 16)
        for (int v = i; v < i + 16; v += 8) {
            float base = (float)(start + step * v);
            for (int j = 0; j < 8; j++) b[v + j] = (float)((double)base + j * step);
        }
    for (; i < n; i++) b[i] = (float)(start + step * i);
    *out = b;
    return n;
}

void siglip_position_ids(const SiglipConfig *c, const uint8_t *mask, int Gh, int Gw, int32_t *pos) {
    float *bounds;
    int nb = arange_boundaries(c->G, &bounds);
    int nh = 0, nw = 0;   // real rows (down the first column) and columns (along the first row)
    for (int y = 0; y < Gh; y++) nh += mask ? mask[(size_t)y * Gw] != 0 : 1;
    for (int x = 0; x < Gw; x++) nw += mask ? mask[x] != 0 : 1;
    float step_h = 1.0f / (float)nh, step_w = 1.0f / (float)nw, top = (float)(1.0 - 1e-6);
    for (int y = 0; y < Gh; y++) {
        float fh = (float)y * step_h;
        int bh = bucket(bounds, nb, fh < top ? fh : top);
        for (int x = 0; x < Gw; x++) {
            float fw = (float)x * step_w;
            int bw = bucket(bounds, nb, fw < top ? fw : top);
            bool real = !mask || mask[(size_t)y * Gw + x];
            pos[(size_t)y * Gw + x] = real ? bh * c->G + bw : 0;
        }
    }
    free(bounds);
}

// ---- a step ------------------------------------------------------------------------------------
static SiglipStep *step_get(SiglipModel *m) {
    if (!m->step) m->step = calloc_check(1, sizeof *m->step);
    SiglipStep *st = m->step;
    size_t need = (size_t)m->cfg.n_layer + 1;
    if (st->cap_L < need) {
        free(st->xs);
        free(st->acts);
        st->xs = calloc_check(need, sizeof *st->xs);
        st->acts = calloc_check(need, sizeof *st->acts);
        st->cap_L = need;
    }
    return st;
}

bool siglip_forward(SiglipModel *m, const float *pixels, int n, int H, int W, const uint8_t *patch_mask,
                    bool for_backward, LpoiErr *err) {
    Backend *be = m->be;
    const SiglipConfig *c = &m->cfg;
    const int Gh = H / c->p, Gw = W / c->p, C = c->C;
    if (n < 1 || Gh < 1 || Gw < 1 || (int64_t)n * Gh * Gw > (1 << 24) || (int64_t)n * c->ch * H * W > INT32_MAX)
        return err_set(err, "vision encoder: %d images of %dx%d pixels (patch %d) is none, too small or too many", n, W, H, c->p);
    const int P = Gh * Gw;
    // Every image needs a real patch, and a real first row and column (the position-id rule reads them).
    for (int i = 0; patch_mask && i < n; i++)
        if (!patch_mask[(size_t)i * P])
            return err_set(err, "vision encoder: image %d has no real patch at its top-left corner", i);
    SiglipStep *st = step_get(m);
    st->n = n;
    st->Hpx = H;
    st->Wpx = W;
    st->Gh = Gh;
    st->Gw = Gw;
    st->P = P;
    st->NP = n * P;
    st->K = c->ch * c->p * c->p;
    st->g = gcd(c->p, W);
    st->backward = for_backward;
    st->keep = for_backward && !m->recompute;
    st->lora_on = m->lora_on && m->lora.r > 0;
    st->ready = false;

    size_t need = siglip_step_bytes(m, n, Gh, Gw, for_backward);
    model_acts_begin(be, &m->acts, &m->acts_mem, need, "siglip activations");
    memset(&st->grads, 0, sizeof st->grads);
    alloc_step(&m->acts, m, st, st->acts, n, P, st->g, for_backward);

    // Host-built inputs: the im2col index, position ids and the key mask.
    size_t ni = (size_t)st->NP * st->K / (size_t)st->g;
    int32_t *h = malloc_check(LPOI_MAX(ni, (size_t)st->NP) * sizeof *h);
    build_im2col(c, st, h);
    be->upload(be, st->im2col, h, ni * sizeof *h);
    for (int i = 0; i < n; i++)
        siglip_position_ids(c, patch_mask ? patch_mask + (size_t)i * P : NULL, Gh, Gw, h + (size_t)i * P);
    be->upload(be, st->pos, h, (size_t)st->NP * sizeof *h);
    float *km = malloc_check((size_t)st->NP * sizeof *km);
    for (int k = 0; k < st->NP; k++) km[k] = !patch_mask || patch_mask[k] ? 1.0f : 0.0f;
    be->upload(be, st->key_mask, km, (size_t)st->NP * sizeof *km);
    free(km);
    free(h);
    st->ad = (AttnDesc){.B = n, .Tq = P, .Tk = P, .H = c->H, .KVH = c->H, .D = c->D,
                        .scale = 1.0f / sqrtf((float)c->D), .causal = false, .window = 0,
                        .key_mask = patch_mask ? st->key_mask : NULL};

    // Embeddings: gather, one patch GEMM with the conv bias, plus the gathered position rows.
    be->embedding_forward(be, st->patches, st->im2col, pixels, (int)ni, st->g);
    be->matmul_forward(be, st->xs[0], st->patches, m->patch_w, m->patch_b, st->NP, st->K, C);
    be->embedding_forward(be, st->pos_rows, st->pos, m->pos_emb, st->NP, C);
    be->add(be, st->xs[0], st->xs[0], st->pos_rows, (size_t)st->NP * C);
    VitDims d = dims(m, n, P, st->lora_on, &st->ad);
    for (int l = 0; l < c->n_layer; l++)
        vit_layer_forward(be, &m->layers[l], &st->acts[st->keep ? l : 0], &d, st->xs[l], st->xs[l + 1]);
    be->layernorm_forward(be, st->out, st->post_mean, st->post_rstd, st->xs[c->n_layer], m->post_w, m->post_b, st->NP, C,
                          c->eps);
    st->ready = for_backward;
    return true;
}

const float *siglip_output(const SiglipModel *m) { LPOI_ASSERT(m->step); return m->step->out; }
int siglip_tokens(const SiglipModel *m) { LPOI_ASSERT(m->step); return m->step->P; }

void siglip_backward(SiglipModel *m, const float *dout, float *dpixels) {
    SiglipStep *st = m->step;
    LPOI_ASSERT(st && st->ready);
    Backend *be = m->be;
    const SiglipConfig *c = &m->cfg;
    VitGrads g = st->grads;
    VitDims d = dims(m, st->n, st->P, st->lora_on, &st->ad);
    be->layernorm_backward(be, g.dres, NULL, NULL, dout, st->xs[c->n_layer], m->post_w, st->post_mean, st->post_rstd,
                           st->NP, c->C);
    for (int l = c->n_layer - 1; l >= 0; l--) {
        if (st->keep) {
            vit_layer_backward(be, &m->layers[l], &st->acts[l], &d, st->xs[l], &g);
        } else {   // recompute this layer's activations from its saved input
            size_t mk = arena_mark(&m->acts);
            VitLayerActs a;
            vit_layer_alloc(&m->acts, &d, &a);
            vit_layer_forward(be, &m->layers[l], &a, &d, st->xs[l], g.dh);   // x_out lands in scratch dh
            vit_layer_backward(be, &m->layers[l], &a, &d, st->xs[l], &g);
            arena_reset_to(&m->acts, mk);
        }
    }
    if (dpixels) {   // the patch GEMM (position rows and bias are frozen), then col2im
        be->matmul_backward(be, g.dpatches, NULL, NULL, g.dres, st->patches, m->patch_w, st->NP, st->K, c->C);
        be->fill_zero(be, dpixels, (size_t)st->n * c->ch * st->Hpx * st->Wpx * sizeof(float));
        be->embedding_backward(be, dpixels, g.dpatches, st->im2col, (int)((size_t)st->NP * st->K / (size_t)st->g), st->g);
    }
    st->ready = false;
}
