// llama.c — forward, sequence log-probs and the analytic backward of LlamaModel (see llama.h).
//
// A step allocates everything from the activation arena in a fixed order, and the same
// allocation functions run once in "plan" mode (no memory, just sizes, marks and resets) to size
// the arena before the step, so the plan cannot drift from what the step does:
//   inputs   pos [B,T] i32, key mask [B,T], ids [N] i32, x0 [N,C], scored rows [S] i32, targets [S] i32
//   stream   x_1 .. x_L [N,C] (x_0 is the embedding gather or the caller's inputs_embeds)
//   layers   per layer: h1, q, k, v, a, xm, h2 [N,·], gate, up, s [N,F], x·Aᵀ [N,r] per adapter, ...
//            kept for every layer, or (recompute / forward only) one layer's worth reused
//   head     hs, hf [S,C] (gathered rows before/after the final norm), logits [Sc,V], lse, logp [S]
//   grads    d-residual, dh, dtmp [N,C], dq, dk, dv, da, ds, dgate, dup, dxa, dlogits [Sc,V], ...
// Residual stream gradient: one [N,C] buffer walked from the head down to d(inputs_embeds).
#include "models/llama.h"
#include "models/model.h"
#include "base/check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// ---- allocation with a planning mode -----------------------------------------------------------
// Steps allocate from an Arena; a planning arena (arena_init_plan) sizes a step without memory.
#define TAKE_F32(al, n, what) arena_alloc_f32((al), (n), (what))
#define TAKE_I32(al, n, what) ((int32_t *)arena_alloc((al), (size_t)(n) * sizeof(int32_t), (what)))

typedef struct {
    float *h1, *rstd1;         // [N,C], [N]
    float *q, *k, *v;          // [N,H*D] (after rope), [N,KVH*D] (after rope), [N,KVH*D]
    float *att, *lse;          // [N,H*D], [B,H,T]
    float *xm;                 // [N,C] residual after attention
    float *h2, *rstd2;         // [N,C], [N]
    float *gate, *up, *s;      // [N,F]
    float *xa[LLAMA_NPROJ];    // [N,r] x·Aᵀ of each adapted projection (NULL otherwise)
} LayerActs;

typedef struct {
    float *hs, *hf, *rstd;     // [S,C] gathered x_L rows, after the final norm, [S]
    float *logits, *lse, *logp;// [Sc,V], [S], [S]
} HeadActs;

typedef struct {
    float *dres;               // [N,C] residual-stream gradient (or the caller's d_embeds)
    float *dh, *dtmp;          // [N,C]
    float *dq, *dk, *dv, *da;  // [N,H*D], [N,KVH*D] x2, [N,H*D]
    float *ds, *dgate, *dup;   // [N,F]
    float *dxa;                // [N,r]
    float *dlogp, *dhf, *dhs;  // [S], [S,C], [S,C]
    float *dlogits;            // [Sc,V]
} Grads;

struct LlamaStep {
    int B, T, N, S, Sc;
    bool lora_on, keep, have_mask;
    int32_t *pos, *ids, *rows, *targets;  // backend
    float *key_mask;                      // backend [B,T] or NULL
    int *row_seq;                         // host [S]: the sequence of each scored row
    const float *x0;                      // [N,C] backend
    float **xs;                           // host [n_layer+1] -> backend [N,C]
    LayerActs *acts;                      // host [n_layer]
    HeadActs head;
    Grads grads;                          // allocated by the forward when it keeps state for a backward
    AttnDesc ad;
    bool ready;                           // a forward kept what the backward needs
    size_t cap_rows, cap_layers;               // host array capacities
};

static int nr(const LlamaModel *m) { return m->lora.r > 0 ? m->lora.r : 0; }

static void alloc_inputs(Arena *al, LlamaStep *st, int N, int S, bool ids, bool mask) {
    st->pos = TAKE_I32(al, N, "positions");
    st->key_mask = mask ? TAKE_F32(al, N, "key mask") : NULL;
    st->ids = ids ? TAKE_I32(al, N, "input ids") : NULL;
    st->rows = TAKE_I32(al, S > 0 ? S : 1, "scored rows");
    st->targets = TAKE_I32(al, S > 0 ? S : 1, "targets");
}

static void alloc_layer(Arena *al, const LlamaModel *m, LayerActs *a, int B, int T, bool lora_on) {
    const LlamaConfig *c = &m->cfg;
    size_t N = (size_t)B * T, HD = (size_t)c->H * c->D, KD = (size_t)c->KVH * c->D;
    a->h1 = TAKE_F32(al, N * c->C, "h1");
    a->rstd1 = TAKE_F32(al, N, "rstd1");
    a->q = TAKE_F32(al, N * HD, "q");
    a->k = TAKE_F32(al, N * KD, "k");
    a->v = TAKE_F32(al, N * KD, "v");
    a->att = TAKE_F32(al, N * HD, "attention out");
    a->lse = TAKE_F32(al, (size_t)B * c->H * T, "attention lse");
    a->xm = TAKE_F32(al, N * c->C, "xm");
    a->h2 = TAKE_F32(al, N * c->C, "h2");
    a->rstd2 = TAKE_F32(al, N, "rstd2");
    a->gate = TAKE_F32(al, N * c->F, "gate");
    a->up = TAKE_F32(al, N * c->F, "up");
    a->s = TAKE_F32(al, N * c->F, "swiglu");
    for (int p = 0; p < LLAMA_NPROJ; p++)
        a->xa[p] = lora_on && (m->lora.targets & (1u << p)) ? TAKE_F32(al, N * nr(m), "lora x·Aᵀ") : NULL;
}

static void alloc_head(Arena *al, const LlamaModel *m, HeadActs *h, int S, int Sc) {
    size_t C = (size_t)m->cfg.C;
    h->hs = TAKE_F32(al, (size_t)S * C, "head rows");
    h->hf = TAKE_F32(al, (size_t)S * C, "head rows normed");
    h->rstd = TAKE_F32(al, S, "head rstd");
    h->logits = TAKE_F32(al, (size_t)Sc * m->cfg.V, "logits chunk");
    h->lse = TAKE_F32(al, S, "logits lse");
    h->logp = TAKE_F32(al, S, "token logp");
}

static void alloc_grads(Arena *al, const LlamaModel *m, Grads *g, int N, int S, int Sc, bool own_dres) {
    const LlamaConfig *c = &m->cfg;
    size_t HD = (size_t)c->H * c->D, KD = (size_t)c->KVH * c->D, n = (size_t)N;
    g->dres = own_dres ? TAKE_F32(al, n * c->C, "d residual") : NULL;
    g->dh = TAKE_F32(al, n * c->C, "dh");
    g->dtmp = TAKE_F32(al, n * c->C, "dtmp");
    g->dq = TAKE_F32(al, n * HD, "dq");
    g->dk = TAKE_F32(al, n * KD, "dk");
    g->dv = TAKE_F32(al, n * KD, "dv");
    g->da = TAKE_F32(al, n * HD, "d attention out");
    g->ds = TAKE_F32(al, n * c->F, "d swiglu");
    g->dgate = TAKE_F32(al, n * c->F, "d gate");
    g->dup = TAKE_F32(al, n * c->F, "d up");
    g->dxa = nr(m) ? TAKE_F32(al, n * nr(m), "d lora x·Aᵀ") : NULL;
    g->dlogp = TAKE_F32(al, S > 0 ? S : 1, "dlogp rows");
    g->dhf = TAKE_F32(al, (size_t)S * c->C, "d head normed");
    g->dhs = TAKE_F32(al, (size_t)S * c->C, "d head rows");
    g->dlogits = TAKE_F32(al, (size_t)Sc * c->V, "dlogits chunk");
}

// Walks every allocation of a step (forward, then backward if asked) in step order.
// keep: the forward keeps every layer's activations (backward without recompute).
static void alloc_step(Arena *al, const LlamaModel *m, LlamaStep *st, LayerActs *acts, int B, int T, int S, int Sc,
                       bool ids, bool mask, bool backward, bool own_dres, Grads *g) {
    const LlamaConfig *c = &m->cfg;
    int N = B * T;
    bool keep = backward && !m->recompute, lora_on = m->lora_on && m->lora.r > 0;
    alloc_inputs(al, st, N, S, ids, mask);
    float *x0 = ids ? TAKE_F32(al, (size_t)N * c->C, "x0 embeddings") : NULL;
    for (int l = 1; l <= c->n_layer; l++) {
        float *x = TAKE_F32(al, (size_t)N * c->C, "residual stream");
        if (st->xs) st->xs[l] = x;
    }
    if (st->xs && ids) st->xs[0] = x0;
    size_t mark = arena_mark(al);
    for (int l = 0; l < c->n_layer; l++) {
        if (!keep) arena_reset_to(al, mark);
        alloc_layer(al, m, &acts[keep ? l : 0], B, T, lora_on);
    }
    if (!keep) arena_reset_to(al, mark);
    alloc_head(al, m, &st->head, S, Sc);
    if (!backward) return;
    alloc_grads(al, m, g, N, S, Sc, own_dres);
    if (m->recompute) {
        size_t mk = arena_mark(al);
        alloc_layer(al, m, &acts[0], B, T, lora_on);
        arena_reset_to(al, mk);
    }
}

size_t llama_step_bytes(const LlamaModel *m, int B, int T, int S, bool backward) {
    LlamaStep st = {0};
    LayerActs acts[1];
    Grads g;
    Arena al;
    arena_init_plan(&al, "step plan");
    int Sc = LPOI_MIN(S, m->logits_chunk > 0 ? m->logits_chunk : 256);
    // Plan with every optional buffer present (ids, mask, own dres): an upper bound.
    LayerActs *many = m->recompute || !backward ? acts : malloc_check((size_t)m->cfg.n_layer * sizeof *many);
    alloc_step(&al, m, &st, many, B, T, S, Sc, true, true, backward, true, &g);
    if (many != acts) free(many);
    return al.peak + 4 * ARENA_ALIGN;
}

size_t llama_step_peak_bytes(const LlamaModel *m) { return m->acts.peak; }

void llama_step_free(LlamaModel *m) {
    LlamaStep *st = m->step;
    if (!st) return;
    free(st->row_seq);
    free(st->xs);
    free(st->acts);
    free(st);
    m->step = NULL;
}

// ---- one layer --------------------------------------------------------------------------------
static void layer_forward(LlamaModel *m, const LlamaLayer *ly, const LayerActs *a, const LlamaStep *st,
                          const float *x, float *x_out) {
    Backend *be = m->be;
    const LlamaConfig *c = &m->cfg;
    const int N = st->N, C = c->C, F = c->F;
    const bool on = st->lora_on;
    be->rmsnorm_forward(be, a->h1, a->rstd1, x, ly->ln1, N, C, c->eps);
    linear_forward(be, &ly->proj[LLAMA_Q], a->q, a->h1, a->xa[LLAMA_Q], N, on);
    linear_forward(be, &ly->proj[LLAMA_K], a->k, a->h1, a->xa[LLAMA_K], N, on);
    linear_forward(be, &ly->proj[LLAMA_V], a->v, a->h1, a->xa[LLAMA_V], N, on);
    be->rope_forward(be, a->q, a->q, st->pos, st->B, st->T, c->H, c->D, c->rope_theta);
    be->rope_forward(be, a->k, a->k, st->pos, st->B, st->T, c->KVH, c->D, c->rope_theta);
    be->attention_forward(be, a->att, a->lse, a->q, a->k, a->v, &st->ad);
    linear_forward(be, &ly->proj[LLAMA_O], a->xm, a->att, a->xa[LLAMA_O], N, on);
    be->add(be, a->xm, a->xm, x, (size_t)N * C);
    be->rmsnorm_forward(be, a->h2, a->rstd2, a->xm, ly->ln2, N, C, c->eps);
    linear_forward(be, &ly->proj[LLAMA_GATE], a->gate, a->h2, a->xa[LLAMA_GATE], N, on);
    linear_forward(be, &ly->proj[LLAMA_UP], a->up, a->h2, a->xa[LLAMA_UP], N, on);
    be->swiglu_forward(be, a->s, a->gate, a->up, (size_t)N * F);
    linear_forward(be, &ly->proj[LLAMA_DOWN], x_out, a->s, a->xa[LLAMA_DOWN], N, on);
    be->add(be, x_out, x_out, a->xm, (size_t)N * C);
}

// g->dres holds d(x_out) on entry and d(x) on return.
static void layer_backward(LlamaModel *m, const LlamaLayer *ly, const LayerActs *a, const LlamaStep *st,
                           const float *x, const Grads *g) {
    Backend *be = m->be;
    const LlamaConfig *c = &m->cfg;
    const int N = st->N, C = c->C, F = c->F;
    const bool on = st->lora_on;
    // MLP branch: x_out = xm + down(silu(gate(h2)) * up(h2)), h2 = rmsnorm(xm)
    linear_backward(be, &ly->proj[LLAMA_DOWN], g->ds, false, g->dres, a->s, a->xa[LLAMA_DOWN], g->dxa, N, on);
    be->swiglu_backward(be, g->dgate, g->dup, g->ds, a->gate, a->up, (size_t)N * F);
    linear_backward(be, &ly->proj[LLAMA_GATE], g->dh, false, g->dgate, a->h2, a->xa[LLAMA_GATE], g->dxa, N, on);
    linear_backward(be, &ly->proj[LLAMA_UP], g->dh, true, g->dup, a->h2, a->xa[LLAMA_UP], g->dxa, N, on);
    be->rmsnorm_backward(be, g->dtmp, NULL, g->dh, a->xm, ly->ln2, a->rstd2, N, C);
    be->add(be, g->dres, g->dres, g->dtmp, (size_t)N * C);                     // d xm
    // attention branch: xm = x + o(attention(rope(q(h1)), rope(k(h1)), v(h1))), h1 = rmsnorm(x)
    linear_backward(be, &ly->proj[LLAMA_O], g->da, false, g->dres, a->att, a->xa[LLAMA_O], g->dxa, N, on);
    be->attention_backward(be, g->dq, g->dk, g->dv, g->da, a->q, a->k, a->v, a->att, a->lse, &st->ad);
    be->rope_backward(be, g->dq, g->dq, st->pos, st->B, st->T, c->H, c->D, c->rope_theta);
    be->rope_backward(be, g->dk, g->dk, st->pos, st->B, st->T, c->KVH, c->D, c->rope_theta);
    linear_backward(be, &ly->proj[LLAMA_Q], g->dh, false, g->dq, a->h1, a->xa[LLAMA_Q], g->dxa, N, on);
    linear_backward(be, &ly->proj[LLAMA_K], g->dh, true, g->dk, a->h1, a->xa[LLAMA_K], g->dxa, N, on);
    linear_backward(be, &ly->proj[LLAMA_V], g->dh, true, g->dv, a->h1, a->xa[LLAMA_V], g->dxa, N, on);
    be->rmsnorm_backward(be, g->dtmp, NULL, g->dh, x, ly->ln1, a->rstd1, N, C);
    be->add(be, g->dres, g->dres, g->dtmp, (size_t)N * C);                     // d x
}

// ---- a step -----------------------------------------------------------------------------------
static bool check_batch(const LlamaModel *m, const LlamaBatch *b, bool need_labels, LpoiErr *err) {
    const LlamaConfig *c = &m->cfg;
    if (b->B < 1 || b->T < 1 || (int64_t)b->B * b->T > (1 << 24))
        return err_set(err, "batch of %d x %d tokens is empty or too large", b->B, b->T);
    if (!b->input_ids == !b->inputs_embeds)
        return err_set(err, "give exactly one of input_ids and inputs_embeds");
    size_t N = (size_t)b->B * b->T;
    for (size_t i = 0; b->input_ids && i < N; i++)
        if (b->input_ids[i] < 0 || b->input_ids[i] >= c->V)
            return err_set(err, "input_ids[%zu][%zu] = %d is outside the vocabulary [0, %d)", i / b->T, i % b->T,
                           b->input_ids[i], c->V);
    for (size_t i = 0; b->attention_mask && i < N; i++)
        if (b->attention_mask[i] != 0 && b->attention_mask[i] != 1)
            return err_set(err, "attention_mask[%zu][%zu] = %d (must be 0 or 1)", i / b->T, i % b->T, b->attention_mask[i]);
    if (need_labels && !b->labels) return err_set(err, "labels are required");
    for (size_t i = 0; need_labels && i < N; i++)
        if (b->labels[i] != -100 && (b->labels[i] < 0 || b->labels[i] >= c->V))
            return err_set(err, "labels[%zu][%zu] = %d is neither -100 nor a token id in [0, %d)", i / b->T, i % b->T,
                           b->labels[i], c->V);
    return true;
}

static LlamaStep *step_get(LlamaModel *m) {
    if (!m->step) m->step = calloc_check(1, sizeof *m->step);
    LlamaStep *st = m->step;
    if (st->cap_layers < (size_t)m->cfg.n_layer) {
        free(st->xs);
        free(st->acts);
        st->xs = calloc_check((size_t)m->cfg.n_layer + 1, sizeof *st->xs);
        st->acts = calloc_check((size_t)m->cfg.n_layer, sizeof *st->acts);
        st->cap_layers = (size_t)m->cfg.n_layer;
    }
    return st;
}

// Sizes the arena for the step, uploads inputs, runs embeddings and every layer.
static void run_trunk(LlamaModel *m, const LlamaBatch *b, int S, bool backward) {
    Backend *be = m->be;
    const LlamaConfig *c = &m->cfg;
    LlamaStep *st = step_get(m);
    const int B = b->B, T = b->T, N = B * T;
    st->B = B; st->T = T; st->N = N; st->S = S;
    st->Sc = LPOI_MIN(S, m->logits_chunk > 0 ? m->logits_chunk : 256);
    st->lora_on = m->lora_on && m->lora.r > 0;
    st->keep = backward && !m->recompute;
    st->have_mask = b->attention_mask != NULL;
    st->ready = false;

    size_t need = llama_step_bytes(m, B, T, S, backward);
    model_acts_begin(be, &m->acts, &m->acts_mem, need, "llama activations");
    memset(&st->grads, 0, sizeof st->grads);
    alloc_step(&m->acts, m, st, st->acts, B, T, S, st->Sc, b->input_ids != NULL, st->have_mask, backward, true, &st->grads);

    int32_t *hpos = malloc_check((size_t)N * sizeof *hpos);
    for (int i = 0; i < N; i++) hpos[i] = i % T;
    be->upload(be, st->pos, hpos, (size_t)N * sizeof *hpos);
    free(hpos);
    if (st->have_mask) {
        float *km = malloc_check((size_t)N * sizeof *km);
        for (int i = 0; i < N; i++) km[i] = (float)b->attention_mask[i];
        be->upload(be, st->key_mask, km, (size_t)N * sizeof *km);
        free(km);
    }
    st->ad = (AttnDesc){.B = B, .Tq = T, .Tk = T, .H = c->H, .KVH = c->KVH, .D = c->D,
                        .scale = 1.0f / sqrtf((float)c->D), .causal = true, .window = c->window,
                        .key_mask = st->key_mask};
    if (b->input_ids) {
        be->upload(be, st->ids, b->input_ids, (size_t)N * sizeof(int32_t));
        be->embedding_forward(be, st->xs[0], st->ids, m->embed, N, c->C);
    } else {
        st->xs[0] = (float *)b->inputs_embeds;   // read only
    }
    st->x0 = st->xs[0];
    for (int l = 0; l < c->n_layer; l++)
        layer_forward(m, &m->layers[l], &st->acts[st->keep ? l : 0], st, st->xs[l], st->xs[l + 1]);
}

bool llama_logps_forward(LlamaModel *m, const LlamaBatch *b, bool for_backward, float *logp, LpoiErr *err) {
    if (!check_batch(m, b, true, err)) return false;
    Backend *be = m->be;
    const LlamaConfig *c = &m->cfg;
    const int B = b->B, T = b->T;
    // Scored rows: position t of sequence i predicts labels[i][t+1] (get_batch_logps' shift).
    int S = 0;
    for (int i = 0; i < B; i++)
        for (int t = 0; t + 1 < T; t++) S += b->labels[(size_t)i * T + t + 1] != -100;
    run_trunk(m, b, S, for_backward);
    LlamaStep *st = m->step;
    if (st->cap_rows < (size_t)S || !st->row_seq) {
        free(st->row_seq);
        st->row_seq = malloc_check((size_t)(S > 0 ? S : 1) * sizeof *st->row_seq);
        st->cap_rows = (size_t)(S > 0 ? S : 1);
    }
    for (int i = 0; i < B; i++) logp[i] = 0.0f;
    if (S > 0) {
        int32_t *rows = malloc_check((size_t)S * sizeof *rows), *tg = malloc_check((size_t)S * sizeof *tg);
        int k = 0;
        for (int i = 0; i < B; i++)
            for (int t = 0; t + 1 < T; t++) {
                int32_t lab = b->labels[(size_t)i * T + t + 1];
                if (lab == -100) continue;
                rows[k] = i * T + t;
                tg[k] = lab;
                st->row_seq[k++] = i;
            }
        be->upload(be, st->rows, rows, (size_t)S * sizeof *rows);
        be->upload(be, st->targets, tg, (size_t)S * sizeof *tg);
        free(rows);
        free(tg);
        HeadActs *h = &st->head;
        be->embedding_forward(be, h->hs, st->rows, st->xs[c->n_layer], S, c->C);   // gather the scored rows
        be->rmsnorm_forward(be, h->hf, h->rstd, h->hs, m->norm, S, c->C, c->eps);
        for (int r0 = 0; r0 < S; r0 += st->Sc) {
            int n = LPOI_MIN(st->Sc, S - r0);
            be->matmul_forward(be, h->logits, h->hf + (size_t)r0 * c->C, m->lm_head, NULL, n, c->C, c->V);
            be->logprob_forward(be, h->logp + r0, h->lse + r0, h->logits, st->targets + r0, n, c->V);
        }
        float *lp = malloc_check((size_t)S * sizeof *lp);
        be->download(be, lp, h->logp, (size_t)S * sizeof *lp);
        double *sum = calloc_check((size_t)B, sizeof *sum);
        for (int r = 0; r < S; r++) sum[st->row_seq[r]] += lp[r];
        for (int i = 0; i < B; i++) logp[i] = (float)sum[i];
        free(sum);
        free(lp);
    }
    st->ready = for_backward;
    return true;
}

void llama_logps_backward(LlamaModel *m, const float *dlogp, float *d_embeds) {
    LlamaStep *st = m->step;
    LPOI_ASSERT(st && st->ready);
    Backend *be = m->be;
    const LlamaConfig *c = &m->cfg;
    const int N = st->N, S = st->S, C = c->C;
    // The forward allocated the gradient buffers, with a d-residual of their own that is used when
    // the caller wants no d_embeds; the recomputed layer goes after them.
    Grads g = st->grads;
    if (d_embeds) g.dres = d_embeds;
    be->fill_zero(be, g.dres, (size_t)N * C * sizeof(float));
    if (S > 0) {
        HeadActs *h = &st->head;
        float *dl = malloc_check((size_t)S * sizeof *dl);
        for (int r = 0; r < S; r++) dl[r] = dlogp[st->row_seq[r]];
        be->upload(be, g.dlogp, dl, (size_t)S * sizeof *dl);
        free(dl);
        for (int r0 = 0; r0 < S; r0 += st->Sc) {     // recompute each logits chunk, then its gradient
            int n = LPOI_MIN(st->Sc, S - r0);
            be->matmul_forward(be, h->logits, h->hf + (size_t)r0 * C, m->lm_head, NULL, n, C, c->V);
            be->logprob_backward(be, g.dlogits, g.dlogp + r0, h->logits, h->lse + r0, st->targets + r0, n, c->V);
            be->matmul_backward(be, g.dhf + (size_t)r0 * C, NULL, NULL, g.dlogits, h->hf + (size_t)r0 * C, m->lm_head,
                                n, C, c->V);
        }
        be->rmsnorm_backward(be, g.dhs, NULL, g.dhf, h->hs, m->norm, h->rstd, S, C);
        be->embedding_backward(be, g.dres, g.dhs, st->rows, S, C);      // scatter back to [N,C]
    }
    for (int l = c->n_layer - 1; l >= 0; l--) {
        if (st->keep) {
            layer_backward(m, &m->layers[l], &st->acts[l], st, st->xs[l], &g);
        } else {   // recompute this layer's activations from its saved input
            size_t mk = arena_mark(&m->acts);
            LayerActs a;
            alloc_layer(&m->acts, m, &a, st->B, st->T, st->lora_on);
            layer_forward(m, &m->layers[l], &a, st, st->xs[l], g.dh);   // x_out lands in scratch dh
            layer_backward(m, &m->layers[l], &a, st, st->xs[l], &g);
            arena_reset_to(&m->acts, mk);
        }
    }
    st->ready = false;
}

bool llama_logits(LlamaModel *m, const LlamaBatch *b, float *logits, LpoiErr *err) {
    if (!check_batch(m, b, false, err)) return false;
    Backend *be = m->be;
    const LlamaConfig *c = &m->cfg;
    const int N = b->B * b->T;
    // The head is planned for S = N rows (hs/hf/rstd); the logits go straight to the caller.
    run_trunk(m, b, N, false);
    LlamaStep *st = m->step;
    be->rmsnorm_forward(be, st->head.hf, st->head.rstd, st->xs[c->n_layer], m->norm, N, c->C, c->eps);
    be->matmul_forward(be, logits, st->head.hf, m->lm_head, NULL, N, c->C, c->V);
    return true;
}
