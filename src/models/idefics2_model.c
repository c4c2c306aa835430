// idefics2_model.c — Idefics2ForConditionalGeneration: binding the three parts, their LoRA sets
// under PEFT names, and a step (real images → SigLIP → connector → merge into the token
// embeddings → Mistral log-probs) with its backward (see idefics2.h).
// The step's own arena holds: ids, merge index [B·T] i32, image positions [K] i32, the real images'
// pixels [n, 3, H, W], the merge source [B·T + K, C] (text rows, then the connector's image rows),
// x0 [B·T, C]; for a backward d x0 [B·T, C], d image rows [K, C], d features [n·P, Cv].
#include "models/idefics2.h"
#include "models/model.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VISION_PREFIX "model.vision_model."
#define CONNECTOR_PREFIX "model.connector."
// PEFT module paths of the parts in transformers 5's Idefics2ForConditionalGeneration.
static const char *const PART_MODULE[4] = {"model.vision_model.", "model.connector.modality_projection.",
                                           "model.connector.perceiver_resampler.", "model.text_model."};

struct Idefics2Step {
    int B, T, BT, K, n, P;
    bool ready, vis_bwd, conn_bwd;
    int32_t *ids, *merge, *img_pos;
    float *pixels, *src, *x0;
    float *dx0, *dimg, *dfeat;
};

// ---- binding ---------------------------------------------------------------------------------------
static void add_part(char *out, size_t cap, const char *part, const char *msg) {
    size_t k = strlen(out);
    if (k + 4 < cap) snprintf(out + k, cap - k, "%s%s: %s", k ? "; " : "", part, msg);
}

bool idefics2_load(Idefics2Model *m, Backend *be, const Idefics2Config *cfg, const WeightSource *src, LpoiErr *err) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    char msg[1200] = "", part[480];
    WeightPlan pv, pc, pt;
    bool vis_ok = siglip_plan(&m->vision, &cfg->vision, VISION_PREFIX, src, &pv, part, sizeof part);
    if (!vis_ok) add_part(msg, sizeof msg, "vision model", part);
    bool conn_ok = idefics2_connector_plan(&m->connector, cfg, CONNECTOR_PREFIX, src, &pc, part, sizeof part);
    if (!conn_ok) add_part(msg, sizeof msg, "connector", part);
    bool lm_ok = llama_plan(&m->lm, &cfg->text, src, &pt, part, sizeof part);
    if (!lm_ok) add_part(msg, sizeof msg, "text model", part);
    WeightErrors stray = {0};   // tensors that belong to no part
    for (size_t i = 0; i < ws_count(src); i++) {
        const char *local = ws_local(src, i);
        if (local && !str_starts(local, VISION_PREFIX) && !str_starts(local, CONNECTOR_PREFIX) &&
            !str_starts(local, "model.text_model.") && strcmp(local, "lm_head.weight") != 0)
            names_add(&stray.unexpected, "%s", local);
    }
    if (!weights_clean(&stray)) add_part(msg, sizeof msg, "not part of an Idefics2 model", weights_errors_text(&stray, part, sizeof part));
    if (vis_ok && conn_ok && lm_ok && weights_clean(&stray)) {
        m->be = be;
        bool ok = siglip_bind(&m->vision, be, &pv, err) & idefics2_connector_bind(&m->connector, be, &pc, err) &
                  llama_bind(&m->lm, be, &pt, err);
        m->lora_on = true;
        if (ok) return true;
        idefics2_free(m);
        return err_prefix(err, "%s", ws_what(src, "weights"));
    }
    if (vis_ok) { weights_plan_free(&pv); siglip_free(&m->vision); }
    if (conn_ok) { weights_plan_free(&pc); idefics2_connector_free(&m->connector); }
    if (lm_ok) { weights_plan_free(&pt); llama_free(&m->lm); }
    memset(m, 0, sizeof *m);
    return err_set(err, "%s: the Idefics2 weights do not match the config: %s", ws_what(src, "weights"), msg);
}

static bool load(void *m, Backend *be, const void *c, const WeightSource *s, LpoiErr *err) { return idefics2_load(m, be, c, s, err); }

bool idefics2_open(Idefics2Model *m, Backend *be, const char *dir, LpoiErr *err) {
    Idefics2Config cfg;
    return idefics2_config_load(&cfg, dir, err) && model_open_dir(load, m, be, &cfg, dir, err);
}

void idefics2_free(Idefics2Model *m) {
    if (m->be) {
        free(m->step);
        siglip_free(&m->vision);
        idefics2_connector_free(&m->connector);
        llama_free(&m->lm);
        if (m->acts_mem) m->be->free(m->be, m->acts_mem);
    }
    memset(m, 0, sizeof *m);
}

// ---- LoRA ------------------------------------------------------------------------------------------
bool idefics2_lora_parse_targets(const char *spec, const Idefics2Config *cfg, Idefics2LoraTargets *t, LpoiErr *err) {
    static const LoraModules *const PARTS[4] = {&CLIP_LORA_MODULES, &MODALITY_LORA_MODULES, &PERCEIVER_LORA_MODULES,
                                                &LLAMA_LORA_MODULES};
    static const char *const QUALS[4] = {"vision_model.", "modality_projection.", "perceiver_resampler.", "text_model."};
    static const char *const UNADAPTED[] = {"lm_head", NULL};
    const int n_layer[4] = {cfg ? cfg->vision.n_layer : 0, 1, cfg ? cfg->perceiver.n_layer : 0, cfg ? cfg->text.n_layer : 0};
    const LoraTargetSpace ts = {.model = "Idefics2", .parts = PARTS, .quals = QUALS, .prefixes = PART_MODULE,
                                .n_layers = cfg ? n_layer : NULL, .unadapted = UNADAPTED, .nparts = 4};
    unsigned bits[4];
    if (!lora_parse_targets(spec, &ts, bits, err)) return false;
    *t = (Idefics2LoraTargets){.vision = bits[0], .modality = bits[1], .perceiver = bits[2], .text = bits[3]};
    return true;
}

void idefics2_lora_create(Idefics2Model *m, int r, float alpha, const Idefics2LoraTargets *t) {
    if (t->vision) siglip_lora_create(&m->vision, r, alpha, t->vision);
    if (t->modality || t->perceiver) idefics2_connector_lora_create(&m->connector, r, alpha, t->modality, t->perceiver);
    if (t->text) llama_lora_create(&m->lm, r, alpha, t->text);
}

static void lora_sets(const Idefics2Model *m, const LoraSet *sets[4]) {
    sets[0] = &m->vision.lora;
    sets[1] = &m->connector.mproj_lora;
    sets[2] = &m->connector.lora;
    sets[3] = &m->lm.lora;
}

size_t idefics2_lora_count(const Idefics2Model *m) {
    const LoraSet *sets[4];
    lora_sets(m, sets);
    size_t n = 0;
    for (int p = 0; p < 4; p++) n += lora_count(sets[p]);
    return n;
}

void idefics2_lora_tensor(const Idefics2Model *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param,
                          float **grad) {
    const LoraSet *sets[4];
    lora_sets(m, sets);
    for (int p = 0; p < 4; i -= lora_count(sets[p]), p++)
        if (i < lora_count(sets[p])) { lora_tensor(sets[p], i, PART_MODULE[p], name, cap, shape, param, grad); return; }
    LPOI_ASSERT(0);
}

bool idefics2_lora_load(Idefics2Model *m, const WeightSource *src, LpoiErr *err) {
    static const char *const PART_NAME[4] = {"vision model", "modality projection", "perceiver", "text model"};
    const LoraSet *sets[4];
    lora_sets(m, sets);
    char msg[1200] = "", part[480];
    WeightPlan plans[4];
    bool ok = true;
    for (int p = 0; p < 4; p++) {
        ok &= lora_plan(sets[p], src, PART_MODULE[p], NULL, &plans[p]);
        if (!weights_clean(&plans[p].errors))
            add_part(msg, sizeof msg, PART_NAME[p], weights_errors_text(&plans[p].errors, part, sizeof part));
    }
    // Every tensor of the adapter must be one of ours.
    size_t n = idefics2_lora_count(m);
    char (*names)[256] = malloc_check((n ? n : 1) * sizeof *names);
    for (size_t i = 0; i < n; i++) idefics2_lora_tensor(m, i, names[i], sizeof names[i], NULL, NULL, NULL);
    WeightErrors stray = {0};
    for (size_t i = 0; i < ws_count(src); i++) {
        const char *local = ws_local(src, i);
        bool known = !local;
        for (size_t k = 0; k < n && !known; k++) known = !strcmp(local, names[k]);
        if (!known) names_add(&stray.unexpected, "%s", local);
    }
    free(names);
    if (!weights_clean(&stray)) {
        add_part(msg, sizeof msg, "adapter", weights_errors_text(&stray, part, sizeof part));
        ok = false;
    }
    if (!ok) err_set(err, "%s: the LoRA adapter does not match the model: %s", ws_what(src, "adapter"), msg);
    for (int p = 0; p < 4; p++) {
        ok = ok && lora_upload((LoraSet *)sets[p], &plans[p], err);
        weights_plan_free(&plans[p]);
    }
    return ok;
}

void idefics2_set_lora(Idefics2Model *m, bool on) {
    m->lora_on = on;
    m->vision.lora_on = on;
    m->connector.lora_on = on;
    m->lm.lora_on = on;
}

// ---- a step ------------------------------------------------------------------------------------------
static size_t al(size_t bytes) { return (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }
static void *take(Arena *a, size_t bytes, const char *what) { return arena_alloc(a, bytes ? bytes : 4, what); }

// Validates the batch, runs vision + connector + merge into st->x0.
static bool prepare(Idefics2Model *m, const Idefics2Batch *b, bool backward, LpoiErr *err) {
    Backend *be = m->be;
    const Idefics2Config *c = &m->cfg;
    const int C = c->text.C, Cv = c->vision.C, M = c->perceiver.M, p = c->vision.p;
    if (b->B < 1 || b->T < 1 || (int64_t)b->B * b->T > (1 << 24))
        return err_set(err, "batch of %d x %d tokens is empty or too large", b->B, b->T);
    if (!b->input_ids) return err_set(err, "input_ids are required");
    if (b->N < 0 || (b->N > 0 && (!b->pixel_values || b->H < p || b->W < p || (int64_t)b->B * b->N * 3 * b->H * b->W > INT32_MAX)))
        return err_set(err, "%d images per sample of %dx%d pixels: no pixel_values, smaller than a patch, or too many", b->N,
                       b->W, b->H);
    const int BT = b->B * b->T;
    int64_t K = 0;
    for (int i = 0; i < BT; i++) {
        if (b->input_ids[i] < 0 || b->input_ids[i] >= c->text.V)
            return err_set(err, "input_ids[%d][%d] = %d is outside the vocabulary [0, %d)", i / b->T, i % b->T,
                           b->input_ids[i], c->text.V);
        K += b->input_ids[i] == c->image_token;
    }
    // The real images: not entirely 0.0 (HF's test for the processor's padding images).
    const size_t plane = (size_t)b->H * b->W, per = 3 * plane;
    int *real = malloc_check((size_t)LPOI_MAX(b->B * b->N, 1) * sizeof *real), n = 0;
    for (int i = 0; i < b->B * b->N; i++) {
        const float *px = b->pixel_values + (size_t)i * per;
        size_t k = 0;
        while (k < per && px[k] == 0.0f) k++;
        if (k < per) real[n++] = i;
    }
    if (K != (int64_t)n * M) {
        free(real);
        return err_set(err, "input_ids hold %lld image tokens (id %d) but the %d real image(s) give %lld features (%d "
                       "each): expand every <image> as the processor does", (long long)K, c->image_token, n,
                       (long long)n * M, M);
    }
    const int Gh = b->N ? b->H / p : 0, Gw = b->N ? b->W / p : 0, P = Gh * Gw;
    if (!m->step) m->step = calloc_check(1, sizeof *m->step);
    Idefics2Step *st = m->step;
    *st = (Idefics2Step){.B = b->B, .T = b->T, .BT = BT, .K = (int)K, .n = n, .P = P};
    st->vis_bwd = backward && n > 0 && m->lora_on && m->vision.lora.r > 0;
    st->conn_bwd = backward && n > 0 && (st->vis_bwd || (m->lora_on && (m->connector.lora.r > 0 || m->connector.mproj_lora.r > 0)));
    size_t need = 2 * al((size_t)BT * 4) + al((size_t)K * 4) + al((size_t)n * per * 4) + al(((size_t)BT + K) * C * 4) +
                  al((size_t)BT * C * 4);
    if (backward) need += al((size_t)BT * C * 4) + al((size_t)K * C * 4) + al((size_t)n * P * Cv * 4);
    model_acts_begin(be, &m->acts, &m->acts_mem, need + 8 * ARENA_ALIGN, "idefics2 activations");
    Arena *a = &m->acts;
    st->ids = take(a, (size_t)BT * 4, "input ids");
    st->merge = take(a, (size_t)BT * 4, "merge index");
    st->img_pos = take(a, (size_t)K * 4, "image positions");
    st->pixels = take(a, (size_t)n * per * 4, "real images");
    st->src = take(a, ((size_t)BT + K) * C * 4, "merge source");
    st->x0 = take(a, (size_t)BT * C * 4, "inputs_embeds");
    if (backward) {
        st->dx0 = take(a, (size_t)BT * C * 4, "d inputs_embeds");
        st->dimg = take(a, (size_t)K * C * 4, "d image rows");
        st->dfeat = take(a, (size_t)n * P * Cv * 4, "d vision features");
    }
    // Merge: text row t -> src row t; the k-th image token -> src row BT + k (masked_scatter's order).
    int32_t *merge = malloc_check((size_t)BT * sizeof *merge), *pos = malloc_check((size_t)LPOI_MAX(K, 1) * sizeof *pos);
    for (int i = 0, k = 0; i < BT; i++) {
        if (b->input_ids[i] == c->image_token) { pos[k] = i; merge[i] = BT + k++; }
        else merge[i] = i;
    }
    be->upload(be, st->ids, b->input_ids, (size_t)BT * sizeof(int32_t));
    be->upload(be, st->merge, merge, (size_t)BT * sizeof *merge);
    if (K) be->upload(be, st->img_pos, pos, (size_t)K * sizeof *pos);
    free(merge);
    free(pos);
    be->embedding_forward(be, st->src, st->ids, m->lm.embed, BT, C);
    bool ok = true;
    if (n > 0) {
        // Patch mask: a patch is real when every one of its p x p pixels is (unfold + sum == p²).
        uint8_t *pmask = malloc_check((size_t)n * P);
        for (int i = 0; i < n; i++) {
            be->upload(be, st->pixels + (size_t)i * per, b->pixel_values + (size_t)real[i] * per, per * sizeof(float));
            const uint8_t *pm = b->pixel_mask ? b->pixel_mask + (size_t)real[i] * plane : NULL;
            for (int py = 0; py < Gh; py++)
                for (int px = 0; px < Gw; px++) {
                    bool all = true;
                    for (int y = py * p; pm && all && y < (py + 1) * p; y++)
                        for (int x = px * p; all && x < (px + 1) * p; x++) all = pm[(size_t)y * b->W + x] != 0;
                    pmask[(size_t)i * P + py * Gw + px] = all;
                }
        }
        float *img = st->src + (size_t)BT * C;
        ok = siglip_forward(&m->vision, st->pixels, n, b->H, b->W, pmask, st->vis_bwd, err) &&
             idefics2_connector_forward(&m->connector, siglip_output(&m->vision), pmask, n, P, st->conn_bwd, img, err);
        free(pmask);
    }
    free(real);
    if (ok) be->embedding_forward(be, st->x0, st->merge, st->src, BT, C);
    return ok;
}

bool idefics2_logps_forward(Idefics2Model *m, const Idefics2Batch *b, bool for_backward, float *logp, LpoiErr *err) {
    if (m->step) m->step->ready = false;
    if (!prepare(m, b, for_backward, err)) return false;
    Idefics2Step *st = m->step;
    LlamaBatch lb = {.B = b->B, .T = b->T, .inputs_embeds = st->x0, .attention_mask = b->attention_mask, .labels = b->labels};
    if (!llama_logps_forward(&m->lm, &lb, for_backward, logp, err)) return false;
    st->ready = for_backward;
    return true;
}

void idefics2_logps_backward(Idefics2Model *m, const float *dlogp) {
    Idefics2Step *st = m->step;
    LPOI_ASSERT(st && st->ready);
    Backend *be = m->be;
    const int C = m->cfg.text.C;
    llama_logps_backward(&m->lm, dlogp, st->conn_bwd ? st->dx0 : NULL);
    if (st->conn_bwd) {
        be->embedding_forward(be, st->dimg, st->img_pos, st->dx0, st->K, C);   // d image rows = d x0 at their positions
        idefics2_connector_backward(&m->connector, st->dimg, st->vis_bwd ? st->dfeat : NULL);
        if (st->vis_bwd) siglip_backward(&m->vision, st->dfeat, NULL);
    }
    st->ready = false;
}

bool idefics2_logits(Idefics2Model *m, const Idefics2Batch *b, float *logits, LpoiErr *err) {
    if (m->step) m->step->ready = false;
    if (!prepare(m, b, false, err)) return false;
    LlamaBatch lb = {.B = b->B, .T = b->T, .inputs_embeds = m->step->x0, .attention_mask = b->attention_mask};
    return llama_logits(&m->lm, &lb, logits, err);
}

const float *idefics2_image_features(const Idefics2Model *m, int *rows) {
    if (!m->step || !m->step->K) { *rows = 0; return NULL; }
    *rows = m->step->K;
    return m->step->src + (size_t)m->step->BT * m->cfg.text.C;
}

int idefics2_generate(Idefics2Model *m, const int32_t *ids, int n, const Idefics2Batch *images, const LlamaGenOpts *o,
                      int32_t *out, LpoiErr *err) {
    if (m->step) m->step->ready = false;
    if (images->B != 1) return err_set(err, "generation takes one sequence, not %d", images->B), -1;
    Idefics2Batch b = *images;
    b.T = n;
    b.input_ids = ids;
    b.attention_mask = b.labels = NULL;
    if (!prepare(m, &b, false, err)) return -1;
    return llama_generate_embeds(&m->lm, m->step->x0, n, o, out, err);
}
