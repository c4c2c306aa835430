// llama_generate.c — greedy / sampled decoding of one sequence with a KV cache, op table only.
// Cache per layer: k, v [Tmax, KVH*D] (B = 1, so the first Tk rows are the [1,Tk,KVH,D] tensor the
// attention op reads). A chunk of n new tokens at positions t0..t0+n-1 (the prompt, then single
// tokens) runs each layer on its n rows: k/v projections are written straight into the cache
// rows t0.., rotated there, and the queries attend to cache rows 0..t0+n-1 (causal, sliding
// window) — the same math as the full forward, so greedy ids match HF generate.
#include "models/llama.h"
#include "base/check.h"
#include "base/rng.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int Tmax, n;                 // cache capacity, rows of the current chunk capacity
    float **k, **v;              // [n_layer] -> [Tmax, KVH*D]
    float *x, *h, *rstd, *q, *att, *lse, *xm, *gate, *up, *s, *xa, *logits;
    int32_t *pos;
} GenState;

static void gen_alloc(GenState *g, const LlamaModel *m, int Tmax, int n) {
    Backend *be = m->be;
    const LlamaConfig *c = &m->cfg;
    size_t HD = (size_t)c->H * c->D, KD = (size_t)c->KVH * c->D;
    g->Tmax = Tmax;
    g->n = n;
    g->k = calloc_check((size_t)c->n_layer, sizeof *g->k);
    g->v = calloc_check((size_t)c->n_layer, sizeof *g->v);
    for (int l = 0; l < c->n_layer; l++) {
        g->k[l] = be->alloc(be, (size_t)Tmax * KD * sizeof(float));
        g->v[l] = be->alloc(be, (size_t)Tmax * KD * sizeof(float));
    }
#define A(field, count) g->field = be->alloc(be, (size_t)(count) * sizeof(float))
    A(x, (size_t)n * c->C); A(h, (size_t)n * c->C); A(rstd, n); A(q, (size_t)n * HD); A(att, (size_t)n * HD);
    A(lse, (size_t)n * c->H); A(xm, (size_t)n * c->C); A(gate, (size_t)n * c->F); A(up, (size_t)n * c->F);
    A(s, (size_t)n * c->F); A(xa, (size_t)n * (m->lora.r > 0 ? m->lora.r : 1)); A(logits, c->V);
#undef A
    g->pos = be->alloc(be, (size_t)n * sizeof(int32_t));
}

static void gen_free(GenState *g, const LlamaModel *m) {
    Backend *be = m->be;
    for (int l = 0; l < m->cfg.n_layer; l++) { be->free(be, g->k[l]); be->free(be, g->v[l]); }
    free(g->k);
    free(g->v);
    float *bufs[] = {g->x, g->h, g->rstd, g->q, g->att, g->lse, g->xm, g->gate, g->up, g->s, g->xa, g->logits};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(bufs); i++) be->free(be, bufs[i]);
    be->free(be, g->pos);
}

// Runs n tokens at positions t0.. through the model (their ids, or their input embeddings
// [n, C] when embeds_dev is set); leaves the last row's logits in g->logits.
static void gen_chunk(LlamaModel *m, GenState *g, const int32_t *ids_dev, const float *embeds_dev, int t0, int n) {
    Backend *be = m->be;
    const LlamaConfig *c = &m->cfg;
    const bool on = m->lora_on && m->lora.r > 0;
    size_t KD = (size_t)c->KVH * c->D;
    int32_t *hp = malloc_check((size_t)n * sizeof *hp);
    for (int i = 0; i < n; i++) hp[i] = t0 + i;
    be->upload(be, g->pos, hp, (size_t)n * sizeof *hp);
    free(hp);
    if (embeds_dev) {   // a copy through the op table (the residual stream is updated in place)
        be->fill_zero(be, g->x, (size_t)n * c->C * sizeof(float));
        be->axpy(be, g->x, 1.0f, embeds_dev, (size_t)n * c->C);
    } else {
        be->embedding_forward(be, g->x, ids_dev, m->embed, n, c->C);
    }
    AttnDesc ad = {.B = 1, .Tq = n, .Tk = t0 + n, .H = c->H, .KVH = c->KVH, .D = c->D,
                   .scale = 1.0f / sqrtf((float)c->D), .causal = true, .window = c->window, .key_mask = NULL};
    for (int l = 0; l < c->n_layer; l++) {
        const LlamaLayer *ly = &m->layers[l];
        float *kc = g->k[l] + (size_t)t0 * KD, *vc = g->v[l] + (size_t)t0 * KD;
        be->rmsnorm_forward(be, g->h, g->rstd, g->x, ly->ln1, n, c->C, c->eps);
        linear_forward(be, &ly->proj[LLAMA_Q], g->q, g->h, g->xa, n, on);
        linear_forward(be, &ly->proj[LLAMA_K], kc, g->h, g->xa, n, on);
        linear_forward(be, &ly->proj[LLAMA_V], vc, g->h, g->xa, n, on);
        be->rope_forward(be, g->q, g->q, g->pos, 1, n, c->H, c->D, c->rope_theta);
        be->rope_forward(be, kc, kc, g->pos, 1, n, c->KVH, c->D, c->rope_theta);
        be->attention_forward(be, g->att, g->lse, g->q, g->k[l], g->v[l], &ad);
        linear_forward(be, &ly->proj[LLAMA_O], g->xm, g->att, g->xa, n, on);
        be->add(be, g->xm, g->xm, g->x, (size_t)n * c->C);
        be->rmsnorm_forward(be, g->h, g->rstd, g->xm, ly->ln2, n, c->C, c->eps);
        linear_forward(be, &ly->proj[LLAMA_GATE], g->gate, g->h, g->xa, n, on);
        linear_forward(be, &ly->proj[LLAMA_UP], g->up, g->h, g->xa, n, on);
        be->swiglu_forward(be, g->s, g->gate, g->up, (size_t)n * c->F);
        linear_forward(be, &ly->proj[LLAMA_DOWN], g->x, g->s, g->xa, n, on);
        be->add(be, g->x, g->x, g->xm, (size_t)n * c->C);
    }
    const float *last = g->x + (size_t)(n - 1) * c->C;
    be->rmsnorm_forward(be, g->h, g->rstd, last, m->norm, 1, c->C, c->eps);
    be->matmul_forward(be, g->logits, g->h, m->lm_head, NULL, 1, c->C, c->V);
}

typedef struct { float p; int id; } Cand;
static int cand_desc(const void *a, const void *b) {
    const Cand *x = a, *y = b;
    return x->p > y->p ? -1 : x->p < y->p ? 1 : x->id - y->id;
}

// Greedy: first maximum. Sampling: softmax(logits / T), keep the smallest prefix of the sorted
// probabilities whose mass reaches top_p (at least one token), renormalise, draw.
static int pick(const float *logits, int V, const LlamaGenOpts *o, Rng *rng) {
    int best = 0;
    for (int i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    if (o->temperature <= 0) return best;
    Cand *c = malloc_check((size_t)V * sizeof *c);
    double sum = 0, mx = logits[best] / o->temperature;
    for (int i = 0; i < V; i++) {
        c[i].id = i;
        c[i].p = (float)exp(logits[i] / o->temperature - mx);
        sum += c[i].p;
    }
    qsort(c, (size_t)V, sizeof *c, cand_desc);
    double keep = 0, top_p = o->top_p > 0 && o->top_p < 1 ? o->top_p : 1.0;
    int k = 0;
    while (k < V && (k == 0 || keep < top_p * sum)) keep += c[k++].p;
    double u = rng_uniform(rng) * keep, acc = 0;
    int id = c[k - 1].id;
    for (int i = 0; i < k; i++) {
        acc += c[i].p;
        if (u < acc) { id = c[i].id; break; }
    }
    free(c);
    return id;
}

// The prompt as ids (host) or as input embeddings (backend [n_prompt, C]).
static int generate(LlamaModel *m, const int32_t *prompt, const float *prompt_embeds, int n_prompt,
                    const LlamaGenOpts *o, int32_t *out, LpoiErr *err) {
    const LlamaConfig *c = &m->cfg;
    if (n_prompt < 1) { err_set(err, "generate: the prompt is empty"); return -1; }
    if (o->max_new < 1 || (int64_t)n_prompt + o->max_new > (1 << 20)) {
        err_set(err, "generate: %d prompt tokens + %d new is out of range", n_prompt, o->max_new);
        return -1;
    }
    for (int i = 0; prompt && i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= c->V) {
            err_set(err, "generate: prompt token %d = %d is outside the vocabulary [0, %d)", i, prompt[i], c->V);
            return -1;
        }
    Backend *be = m->be;
    GenState g;
    gen_alloc(&g, m, n_prompt + o->max_new, n_prompt);
    int32_t *ids = be->alloc(be, (size_t)n_prompt * sizeof(int32_t));
    if (prompt) be->upload(be, ids, prompt, (size_t)n_prompt * sizeof(int32_t));
    float *logits = malloc_check((size_t)c->V * sizeof *logits);
    Rng rng;
    rng_seed(&rng, o->seed);
    int count = 0, t = 0, n = n_prompt;
    for (;;) {
        gen_chunk(m, &g, ids, t == 0 ? prompt_embeds : NULL, t, n);
        t += n;
        be->download(be, logits, g.logits, (size_t)c->V * sizeof *logits);
        int32_t next = pick(logits, c->V, o, &rng);
        out[count++] = next;
        bool stop = count >= o->max_new;
        for (int i = 0; i < o->n_stop && !stop; i++) stop = next == o->stop_ids[i];
        if (stop) break;
        be->upload(be, ids, &next, sizeof next);
        n = 1;
    }
    free(logits);
    be->free(be, ids);
    gen_free(&g, m);
    return count;
}

int llama_generate(LlamaModel *m, const int32_t *prompt, int n_prompt, const LlamaGenOpts *o, int32_t *out,
                   LpoiErr *err) {
    return generate(m, prompt, NULL, n_prompt, o, out, err);
}

int llama_generate_embeds(LlamaModel *m, const float *prompt_embeds, int n_prompt, const LlamaGenOpts *o, int32_t *out,
                          LpoiErr *err) {
    return generate(m, NULL, prompt_embeds, n_prompt, o, out, err);
}
