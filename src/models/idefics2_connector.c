// idefics2_connector.c — forward and analytic backward of the Idefics2 connector (see idefics2.h).
//
// Layout of a step (rows: nP = n·P context rows, nM = n·M latent rows, nK = n·(P + M) key rows):
//   inputs   kv index [nK] i32 (row of `normed` each key row copies), latent index [nM] i32, key mask [nK]
//   mproj    gate, up, h [nP, Fp], ctx [nP, C], xa per adapted Linear
//   stream   lat[0..depth] [nM, C] (lat[0] = the latents, per image)
//   layer    normed [nP + nM, C] (context rows, then latent rows) and their rstd; kv [nK, C] (per image:
//            P context rows, then M latent rows, gathered from normed); q [nM, H·D], k, v [nK, KVH·D],
//            att [nM, H·D], lse [n, H, M], mid [nM, C], m [nM, C], rstd, gate/up/h [nM, 4C], xa
//   final    out rstd [nM]
//   grads    d lat, d ctx, scratch of the widest shapes
// The concatenation [context; latents] is a gather (embedding_forward) so that its backward is the
// op table's scatter-add; the normed latent rows feed both q and the keys, so their gradient is the
// sum of the two paths.
#include "models/idefics2.h"
#include "models/model.h"
#include "base/check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TAKE_F32(al, n, what) arena_alloc_f32((al), (n), (what))
#define TAKE_I32(al, n, what) ((int32_t *)arena_alloc((al), (size_t)(n) * sizeof(int32_t), (what)))

typedef struct {
    float *normed, *rstd;                   // [nP + nM, C], [nP + nM]
    float *kv;                              // [nK, C]
    float *q, *k, *v, *att, *lse;           // [nM, HD], [nK, KD] x2, [nM, HD], [n, H, M]
    float *mid, *m, *rstd_m;                // [nM, C], [nM, C], [nM]
    float *gate, *up, *h;                   // [nM, F]
    float *xa[PERC_NPROJ];                  // [rows, r]
} PercActs;

typedef struct {
    float *gate, *up, *h;                   // [nP, Fp]
    float *xa[I2_NMLP];
} MprojActs;

struct Idefics2ConnStep {
    int n, P, nP, nM, nK;
    bool backward, lora_on, ready;
    const float *feat;                      // the caller's [nP, Cv]
    int32_t *kv_idx, *lat_idx;
    float *key_mask;
    MprojActs mp;
    float *ctx;                             // [nP, C]
    float **lat;                            // host [depth + 1] -> [nM, C]
    PercActs *acts;                         // host [depth]
    float *out_rstd;                        // [nM]
    // gradients
    float *dlat, *dctx, *dnormed, *dkv, *dq, *dk, *dv, *datt, *dtmp, *dm, *dgate, *dup, *dh, *dmp_h, *dmp_gate,
        *dmp_up, *dxa;
    AttnDesc ad;
    int cap_depth;
};

static int rank(const LoraSet *s) { return s->r > 0 ? s->r : 0; }

static void alloc_step(Arena *al, const Idefics2Connector *c, Idefics2ConnStep *st, PercActs *acts, int n, int P,
                       bool backward) {
    const Idefics2PerceiverConfig *p = &c->cfg.perceiver;
    const size_t C = (size_t)p->C, F = (size_t)p->F, Fp = (size_t)c->cfg.proj_F, HD = (size_t)p->H * p->D,
                 KD = (size_t)p->KVH * p->D;
    const size_t nP = (size_t)n * P, nM = (size_t)n * p->M, nK = nP + nM;
    const bool lora_on = c->lora_on;
    const int rm = rank(&c->mproj_lora), rp = rank(&c->lora);
    st->kv_idx = TAKE_I32(al, nK, "kv index");
    st->lat_idx = TAKE_I32(al, nM, "latent index");
    st->key_mask = TAKE_F32(al, nK, "key mask");
    st->mp.gate = TAKE_F32(al, nP * Fp, "projection gate");
    st->mp.up = TAKE_F32(al, nP * Fp, "projection up");
    st->mp.h = TAKE_F32(al, nP * Fp, "projection swiglu");
    for (int k = 0; k < I2_NMLP; k++)
        st->mp.xa[k] = lora_on && rm && (c->mproj_lora.targets & (1u << k)) ? TAKE_F32(al, nP * rm, "lora x·Aᵀ") : NULL;
    st->ctx = TAKE_F32(al, nP * C, "context");
    for (int l = 0; l <= p->n_layer; l++) {
        float *x = TAKE_F32(al, nM * C, "latents");
        if (st->lat) st->lat[l] = x;
    }
    size_t mark = arena_mark(al);
    for (int l = 0; l < p->n_layer; l++) {
        if (!backward) arena_reset_to(al, mark);
        PercActs *a = &acts[backward ? l : 0];
        a->normed = TAKE_F32(al, (nP + nM) * C, "normed");
        a->rstd = TAKE_F32(al, nP + nM, "norm rstd");
        a->kv = TAKE_F32(al, nK * C, "keys/values input");
        a->q = TAKE_F32(al, nM * HD, "q");
        a->k = TAKE_F32(al, nK * KD, "k");
        a->v = TAKE_F32(al, nK * KD, "v");
        a->att = TAKE_F32(al, nM * HD, "attention out");
        a->lse = TAKE_F32(al, (size_t)n * p->H * p->M, "attention lse");
        a->mid = TAKE_F32(al, nM * C, "after attention");
        a->m = TAKE_F32(al, nM * C, "mlp input");
        a->rstd_m = TAKE_F32(al, nM, "mlp norm rstd");
        a->gate = TAKE_F32(al, nM * F, "mlp gate");
        a->up = TAKE_F32(al, nM * F, "mlp up");
        a->h = TAKE_F32(al, nM * F, "mlp swiglu");
        for (int k = 0; k < PERC_NPROJ; k++) {
            size_t rows = k == PERC_K || k == PERC_V ? nK : nM;
            a->xa[k] = lora_on && rp && (c->lora.targets & (1u << k)) ? TAKE_F32(al, rows * rp, "lora x·Aᵀ") : NULL;
        }
    }
    st->out_rstd = TAKE_F32(al, nM, "final norm rstd");
    if (!backward) return;
    size_t wide = LPOI_MAX(nK * C, LPOI_MAX(nM * HD, nP * C));
    st->dlat = TAKE_F32(al, nM * C, "d latents");
    st->dctx = TAKE_F32(al, nP * C, "d context");
    st->dnormed = TAKE_F32(al, (nP + nM) * C, "d normed");
    st->dkv = TAKE_F32(al, nK * C, "d kv");
    st->dq = TAKE_F32(al, nM * HD, "dq");
    st->dk = TAKE_F32(al, nK * KD, "dk");
    st->dv = TAKE_F32(al, nK * KD, "dv");
    st->datt = TAKE_F32(al, nM * HD, "d attention out");
    st->dtmp = TAKE_F32(al, wide, "d scratch");
    st->dm = TAKE_F32(al, nM * C, "d mlp input");
    st->dgate = TAKE_F32(al, nM * F, "d mlp gate");
    st->dup = TAKE_F32(al, nM * F, "d mlp up");
    st->dh = TAKE_F32(al, nM * F, "d mlp swiglu");
    st->dmp_h = TAKE_F32(al, nP * Fp, "d projection swiglu");
    st->dmp_gate = TAKE_F32(al, nP * Fp, "d projection gate");
    st->dmp_up = TAKE_F32(al, nP * Fp, "d projection up");
    size_t rmax = (size_t)LPOI_MAX(rm, rp);
    st->dxa = rmax ? TAKE_F32(al, LPOI_MAX(nK, nP) * rmax, "d lora x·Aᵀ") : NULL;
}

static size_t step_bytes(const Idefics2Connector *c, int n, int P, bool backward) {
    Idefics2ConnStep st = {0};
    int depth = LPOI_MAX(c->cfg.perceiver.n_layer, 1);
    PercActs *acts = calloc_check((size_t)depth, sizeof *acts);
    Arena al;
    arena_init_plan(&al, "step plan");
    alloc_step(&al, c, &st, acts, n, P, backward);
    free(acts);
    return al.peak + 4 * ARENA_ALIGN;
}

void idefics2_connector_step_free(Idefics2Connector *c) {
    Idefics2ConnStep *st = c->step;
    if (!st) return;
    free(st->lat);
    free(st->acts);
    free(st);
    c->step = NULL;
}

// ---- forward ----------------------------------------------------------------------------------------
static void mlp_forward(Backend *be, const Linear *gate, const Linear *up, const Linear *down, const float *x,
                        float *g, float *u, float *h, float *y, float *const xa[3], int N, size_t F, bool on) {
    linear_forward(be, gate, g, x, xa[0], N, on);
    linear_forward(be, up, u, x, xa[1], N, on);
    be->swiglu_forward(be, h, g, u, (size_t)N * F);
    linear_forward(be, down, y, h, xa[2], N, on);
}

static void layer_forward(Idefics2Connector *c, const PerceiverLayer *ly, const PercActs *a, const Idefics2ConnStep *st,
                          const float *lat, float *lat_out) {
    Backend *be = c->be;
    const Idefics2PerceiverConfig *p = &c->cfg.perceiver;
    const int C = p->C;
    const bool on = st->lora_on;
    float *normed_lat = a->normed + (size_t)st->nP * C;
    be->rmsnorm_forward(be, a->normed, a->rstd, st->ctx, ly->context_norm, st->nP, C, p->eps);
    be->rmsnorm_forward(be, normed_lat, a->rstd + st->nP, lat, ly->latents_norm, st->nM, C, p->eps);
    be->embedding_forward(be, a->kv, st->kv_idx, a->normed, st->nK, C);
    linear_forward(be, &ly->proj[PERC_Q], a->q, normed_lat, a->xa[PERC_Q], st->nM, on);
    linear_forward(be, &ly->proj[PERC_K], a->k, a->kv, a->xa[PERC_K], st->nK, on);
    linear_forward(be, &ly->proj[PERC_V], a->v, a->kv, a->xa[PERC_V], st->nK, on);
    be->attention_forward(be, a->att, a->lse, a->q, a->k, a->v, &st->ad);
    linear_forward(be, &ly->proj[PERC_O], a->mid, a->att, a->xa[PERC_O], st->nM, on);
    be->add(be, a->mid, a->mid, lat, (size_t)st->nM * C);
    be->rmsnorm_forward(be, a->m, a->rstd_m, a->mid, ly->post_norm, st->nM, C, p->eps);
    mlp_forward(be, &ly->proj[PERC_GATE], &ly->proj[PERC_UP], &ly->proj[PERC_DOWN], a->m, a->gate, a->up, a->h, lat_out,
                a->xa + PERC_GATE, st->nM, (size_t)p->F, on);
    be->add(be, lat_out, lat_out, a->mid, (size_t)st->nM * C);
}

static Idefics2ConnStep *step_get(Idefics2Connector *c) {
    if (!c->step) c->step = calloc_check(1, sizeof *c->step);
    Idefics2ConnStep *st = c->step;
    int need = c->cfg.perceiver.n_layer + 1;
    if (st->cap_depth < need) {
        free(st->lat);
        free(st->acts);
        st->lat = calloc_check((size_t)need, sizeof *st->lat);
        st->acts = calloc_check((size_t)need, sizeof *st->acts);
        st->cap_depth = need;
    }
    return st;
}

bool idefics2_connector_forward(Idefics2Connector *c, const float *feat, const uint8_t *patch_mask, int n, int P,
                                bool for_backward, float *out, LpoiErr *err) {
    Backend *be = c->be;
    const Idefics2PerceiverConfig *p = &c->cfg.perceiver;
    const int C = p->C, M = p->M;
    if (n < 1 || P < 1 || (int64_t)n * (P + M) > (1 << 24))
        return err_set(err, "connector: %d images of %d patches is none or too many", n, P);
    Idefics2ConnStep *st = step_get(c);
    st->n = n;
    st->P = P;
    st->nP = n * P;
    st->nM = n * M;
    st->nK = n * (P + M);
    st->backward = for_backward;
    st->lora_on = c->lora_on;
    st->feat = feat;
    st->ready = false;
    model_acts_begin(be, &c->acts, &c->acts_mem, step_bytes(c, n, P, for_backward), "connector activations");
    alloc_step(&c->acts, c, st, st->acts, n, P, for_backward);

    // Key row i·(P + M) + j: context row i·P + j (j < P), else normed-latent row nP + i·M + (j − P).
    int32_t *idx = malloc_check((size_t)st->nK * sizeof *idx);
    float *km = malloc_check((size_t)st->nK * sizeof *km);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < P + M; j++) {
            size_t r = (size_t)i * (P + M) + j;
            idx[r] = j < P ? i * P + j : st->nP + i * M + (j - P);
            km[r] = j >= P || !patch_mask || patch_mask[(size_t)i * P + j] ? 1.0f : 0.0f;
        }
    be->upload(be, st->kv_idx, idx, (size_t)st->nK * sizeof *idx);
    be->upload(be, st->key_mask, km, (size_t)st->nK * sizeof *km);
    for (int r = 0; r < st->nM; r++) idx[r] = r % M;
    be->upload(be, st->lat_idx, idx, (size_t)st->nM * sizeof *idx);
    free(idx);
    free(km);
    st->ad = (AttnDesc){.B = n, .Tq = M, .Tk = P + M, .H = p->H, .KVH = p->KVH, .D = p->D,
                        .scale = 1.0f / sqrtf((float)p->D), .causal = false, .window = 0, .key_mask = st->key_mask};

    mlp_forward(be, &c->mproj[I2_GATE], &c->mproj[I2_UP], &c->mproj[I2_DOWN], feat, st->mp.gate, st->mp.up, st->mp.h,
                st->ctx, st->mp.xa, st->nP, (size_t)c->cfg.proj_F, c->lora_on);
    be->embedding_forward(be, st->lat[0], st->lat_idx, c->latents, st->nM, C);
    for (int l = 0; l < p->n_layer; l++)
        layer_forward(c, &c->layers[l], &st->acts[for_backward ? l : 0], st, st->lat[l], st->lat[l + 1]);
    be->rmsnorm_forward(be, out, st->out_rstd, st->lat[p->n_layer], c->norm, st->nM, C, p->eps);
    st->ready = for_backward;
    return true;
}

// ---- backward ---------------------------------------------------------------------------------------
// y = down(silu(gate(x)) · up(x)): dx (= or += with accumulate) from dy.
static void mlp_backward(Backend *be, const Linear *gate, const Linear *up, const Linear *down, const float *x,
                         const float *g, const float *u, const float *h, float *const xa[3], const float *dy, float *dh,
                         float *dg, float *du, float *dx, bool accumulate, float *dxa, int N, size_t F, bool on) {
    linear_backward(be, down, dh, false, dy, h, xa[2], dxa, N, on);
    be->swiglu_backward(be, dg, du, dh, g, u, (size_t)N * F);
    linear_backward(be, gate, dx, accumulate, dg, x, xa[0], dxa, N, on);
    linear_backward(be, up, dx, true, du, x, xa[1], dxa, N, on);
}

// st->dlat holds d lat_out on entry and d lat on return; d ctx accumulates (+=).
static void layer_backward(Idefics2Connector *c, const PerceiverLayer *ly, const PercActs *a, const Idefics2ConnStep *st,
                           const float *lat) {
    Backend *be = c->be;
    const Idefics2PerceiverConfig *p = &c->cfg.perceiver;
    const int C = p->C;
    const bool on = st->lora_on;
    // MLP: lat_out = mid + mlp(rmsnorm(mid))
    mlp_backward(be, &ly->proj[PERC_GATE], &ly->proj[PERC_UP], &ly->proj[PERC_DOWN], a->m, a->gate, a->up, a->h,
                 (float *const *)a->xa + PERC_GATE, st->dlat, st->dh, st->dgate, st->dup, st->dm, false, st->dxa, st->nM,
                 (size_t)p->F, on);
    be->rmsnorm_backward(be, st->dtmp, NULL, st->dm, a->mid, ly->post_norm, a->rstd_m, st->nM, C);
    be->add(be, st->dlat, st->dlat, st->dtmp, (size_t)st->nM * C);          // d mid
    // attention: mid = lat + o(attention(q(nl), k(kv), v(kv))), kv = gather([nc; nl])
    const float *normed_lat = a->normed + (size_t)st->nP * C;
    linear_backward(be, &ly->proj[PERC_O], st->datt, false, st->dlat, a->att, a->xa[PERC_O], st->dxa, st->nM, on);
    be->attention_backward(be, st->dq, st->dk, st->dv, st->datt, a->q, a->k, a->v, a->att, a->lse, &st->ad);
    linear_backward(be, &ly->proj[PERC_K], st->dkv, false, st->dk, a->kv, a->xa[PERC_K], st->dxa, st->nK, on);
    linear_backward(be, &ly->proj[PERC_V], st->dkv, true, st->dv, a->kv, a->xa[PERC_V], st->dxa, st->nK, on);
    be->fill_zero(be, st->dnormed, (size_t)(st->nP + st->nM) * C * sizeof(float));
    be->embedding_backward(be, st->dnormed, st->dkv, st->kv_idx, st->nK, C);
    float *dnormed_lat = st->dnormed + (size_t)st->nP * C;
    linear_backward(be, &ly->proj[PERC_Q], dnormed_lat, true, st->dq, normed_lat, a->xa[PERC_Q], st->dxa, st->nM, on);
    be->rmsnorm_backward(be, st->dtmp, NULL, dnormed_lat, lat, ly->latents_norm, a->rstd + st->nP, st->nM, C);
    be->add(be, st->dlat, st->dlat, st->dtmp, (size_t)st->nM * C);          // d lat
    be->rmsnorm_backward(be, st->dtmp, NULL, st->dnormed, st->ctx, ly->context_norm, a->rstd, st->nP, C);
    be->add(be, st->dctx, st->dctx, st->dtmp, (size_t)st->nP * C);          // d ctx
}

void idefics2_connector_backward(Idefics2Connector *c, const float *dout, float *dfeat) {
    Idefics2ConnStep *st = c->step;
    LPOI_ASSERT(st && st->ready);
    Backend *be = c->be;
    const Idefics2PerceiverConfig *p = &c->cfg.perceiver;
    const int C = p->C;
    be->rmsnorm_backward(be, st->dlat, NULL, dout, st->lat[p->n_layer], c->norm, st->out_rstd, st->nM, C);
    be->fill_zero(be, st->dctx, (size_t)st->nP * C * sizeof(float));
    for (int l = p->n_layer - 1; l >= 0; l--) layer_backward(c, &c->layers[l], &st->acts[l], st, st->lat[l]);
    // The latents are frozen parameters: their gradient (st->dlat now) is not needed.
    mlp_backward(be, &c->mproj[I2_GATE], &c->mproj[I2_UP], &c->mproj[I2_DOWN], st->feat, st->mp.gate, st->mp.up,
                 st->mp.h, st->mp.xa, st->dctx, st->dmp_h, st->dmp_gate, st->dmp_up, dfeat, false, st->dxa, st->nP,
                 (size_t)c->cfg.proj_F, st->lora_on);
    st->ready = false;
}
