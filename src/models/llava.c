// llava.c — a LLaVA step: vision features, projector, image-token merge, language model, and the
// backward back through all of them (see llava.h).
// The step's own arena holds (in order): ids [B·T] i32, merge index [B·T] i32, image positions
// [K] i32, vision features [K, Cv], projector y1, a1 [K, C] and x·Aᵀ [K, r] x2, the merge source
// [B·T + K, C] (text rows, then the projected image rows), x0 [B·T, C]; for a backward also
// d x0 [B·T, C], dy2, da1, dy1 [K, C], d features [K, Cv], dxa [K, r]. The vision tower and the
// language model keep their own activation arenas.
#include "models/llava.h"
#include "models/model.h"
#include "base/check.h"
#include <stdlib.h>
#include <string.h>

typedef struct LlavaStep {
    int B, T, BT, K, n_images;
    bool ready, vis_bwd, proj_bwd, lora_on;
    int32_t *ids, *merge, *img_pos;     // backend
    float *feat, *y1, *a1, *xa1, *xa2;  // [K,Cv], [K,C], [K,C], [K,r], [K,r]
    float *src, *x0;                    // [BT+K, C], [BT, C]
    float *dx0, *dy2, *da1, *dy1, *dfeat, *dxa;
} LlavaStep;

void llava_step_free(LlavaModel *m) {
    free(m->step);
    m->step = NULL;
}

static size_t al(size_t bytes) { return (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

// ---- image tokens ------------------------------------------------------------------------------
bool llava_check_image_tokens(const LlavaConfig *c, const int32_t *ids, int B, int T, int n_images, LpoiErr *err) {
    const int N = c->tokens_per_image, tok = c->image_token;
    int64_t total = 0;
    for (int b = 0; b < B; b++) {
        int64_t cnt = 0;
        for (int t = 0; t < T; t++) cnt += ids[(size_t)b * T + t] == tok;
        if (cnt % N)
            return err_set(err, "sequence %d holds %lld image tokens (id %d), not a multiple of the %d each image fills; "
                           "expand every <image> to %d tokens first (llava_expand_image_tokens)", b, (long long)cnt,
                           tok, N, N);
        total += cnt;
    }
    if (n_images == 0 && total > 0)
        return err_set(err, "input_ids hold %lld image tokens (id %d, room for %lld images) but no image was given",
                       (long long)total, tok, (long long)(total / N));
    if (n_images > 0 && total == 0)
        return err_set(err, "%d image(s) given but input_ids hold no <image> token (id %d)", n_images, tok);
    if (total != (int64_t)n_images * N)
        return err_set(err, "%d image(s) give %lld image features but input_ids hold %lld image tokens (id %d, %d per "
                       "image): %s", n_images, (long long)n_images * N, (long long)total, tok, N,
                       total < (int64_t)n_images * N ? "too many images" : "too few images");
    return true;
}

int llava_expand_image_tokens(const LlavaConfig *c, const int32_t *ids, int n, int32_t *out, int cap, LpoiErr *err) {
    const int N = c->tokens_per_image, tok = c->image_token;
    int k = 0;
    for (int i = 0; i < n;) {
        if (ids[i] != tok) {
            if (k >= cap) goto full;
            out[k++] = ids[i++];
            continue;
        }
        int run = 0;
        while (i + run < n && ids[i + run] == tok) run++;
        int emit;
        if (run == 1) emit = N;
        else if (run % N == 0) emit = run;
        else {
            err_set(err, "a run of %d image tokens at position %d is neither one <image> nor whole images of %d tokens",
                    run, i, N);
            return -1;
        }
        if (emit > cap - k) goto full;
        for (int j = 0; j < emit; j++) out[k++] = tok;
        i += run;
    }
    return k;
full:
    err_set(err, "expanding <image> tokens needs more than %d ids", cap);
    return -1;
}

// ---- the step ------------------------------------------------------------------------------------
static size_t step_bytes(const LlavaModel *m, int BT, int K, bool backward) {
    size_t C = (size_t)m->cfg.text.C, Cv = (size_t)m->cfg.vision.C, r = (size_t)LPOI_MAX(m->proj[0].r, m->proj[1].r);
    size_t b = al((size_t)BT * 4) * 2 + al((size_t)(K ? K : 1) * 4);
    b += al((size_t)K * Cv * 4) + 2 * al((size_t)K * C * 4) + 2 * al((size_t)K * r * 4);
    b += al(((size_t)BT + K) * C * 4) + al((size_t)BT * C * 4);
    if (backward) b += al((size_t)BT * C * 4) + 3 * al((size_t)K * C * 4) + al((size_t)K * Cv * 4) + al((size_t)K * r * 4);
    return b + 8 * ARENA_ALIGN;
}

static void *take(Arena *a, size_t bytes, const char *what) { return arena_alloc(a, bytes ? bytes : 4, what); }

// Validates the batch, runs vision + projector + merge into st->x0.
static bool prepare(LlavaModel *m, const LlavaBatch *b, bool backward, LpoiErr *err) {
    Backend *be = m->be;
    const LlavaConfig *c = &m->cfg;
    if (b->B < 1 || b->T < 1 || (int64_t)b->B * b->T > (1 << 24))
        return err_set(err, "batch of %d x %d tokens is empty or too large", b->B, b->T);
    if (!b->input_ids) return err_set(err, "input_ids are required");
    if (b->n_images < 0 || (b->n_images > 0 && !b->pixel_values))
        return err_set(err, "%d images but no pixel_values", b->n_images);
    const int BT = b->B * b->T;
    for (int i = 0; i < BT; i++)
        if (b->input_ids[i] < 0 || b->input_ids[i] >= c->text.V)
            return err_set(err, "input_ids[%d][%d] = %d is outside the vocabulary [0, %d)", i / b->T, i % b->T,
                           b->input_ids[i], c->text.V);
    if (!llava_check_image_tokens(c, b->input_ids, b->B, b->T, b->n_images, err)) return false;
    const int N = c->tokens_per_image, K = b->n_images * N;
    const int C = c->text.C, Cv = c->vision.C;
    if (!m->step) m->step = calloc_check(1, sizeof *m->step);
    LlavaStep *st = m->step;
    memset(st, 0, sizeof *st);
    st->B = b->B;
    st->T = b->T;
    st->BT = BT;
    st->K = K;
    st->n_images = b->n_images;
    st->lora_on = m->lora_on;
    bool vis_lora = m->lora_on && m->vision.lora.r > 0, proj_lora = m->lora_on && m->proj_lora.targets;
    st->vis_bwd = backward && K > 0 && (vis_lora || b->grad_pixels);
    st->proj_bwd = backward && K > 0 && (proj_lora || st->vis_bwd);
    llava_set_lora(m, m->lora_on);

    size_t need = step_bytes(m, BT, K, backward);
    model_acts_begin(be, &m->acts, &m->acts_mem, need, "llava activations");
    Arena *a = &m->acts;
    size_t r = (size_t)LPOI_MAX(m->proj[0].r, m->proj[1].r);
    st->ids = take(a, (size_t)BT * 4, "input ids");
    st->merge = take(a, (size_t)BT * 4, "merge index");
    st->img_pos = take(a, (size_t)(K ? K : 1) * 4, "image positions");
    st->feat = take(a, (size_t)K * Cv * 4, "vision features");
    st->y1 = take(a, (size_t)K * C * 4, "projector linear_1");
    st->a1 = take(a, (size_t)K * C * 4, "projector act");
    st->xa1 = take(a, (size_t)K * r * 4, "projector lora x·Aᵀ 1");
    st->xa2 = take(a, (size_t)K * r * 4, "projector lora x·Aᵀ 2");
    st->src = take(a, ((size_t)BT + K) * C * 4, "merge source");
    st->x0 = take(a, (size_t)BT * C * 4, "inputs_embeds");
    if (backward) {
        st->dx0 = take(a, (size_t)BT * C * 4, "d inputs_embeds");
        st->dy2 = take(a, (size_t)K * C * 4, "d projector out");
        st->da1 = take(a, (size_t)K * C * 4, "d projector act");
        st->dy1 = take(a, (size_t)K * C * 4, "d projector linear_1");
        st->dfeat = take(a, (size_t)K * Cv * 4, "d vision features");
        st->dxa = take(a, (size_t)K * r * 4, "d projector lora x·Aᵀ");
    }

    // Merge index: text row t -> src row t; the k-th image position -> src row BT + k.
    int32_t *merge = malloc_check((size_t)BT * sizeof *merge), *pos = malloc_check((size_t)(K ? K : 1) * sizeof *pos);
    int k = 0;
    for (int i = 0; i < BT; i++) {
        if (b->input_ids[i] == c->image_token) { pos[k] = i; merge[i] = BT + k++; }
        else merge[i] = i;
    }
    LPOI_ASSERT(k == K);
    be->upload(be, st->ids, b->input_ids, (size_t)BT * sizeof(int32_t));
    be->upload(be, st->merge, merge, (size_t)BT * sizeof *merge);
    if (K) be->upload(be, st->img_pos, pos, (size_t)K * sizeof *pos);
    free(merge);
    free(pos);

    if (K == 0) {
        be->embedding_forward(be, st->x0, st->ids, m->lm.embed, BT, C);
        return true;
    }
    if (!clip_features_forward(&m->vision, b->pixel_values, b->n_images, c->feature_k, c->select, st->vis_bwd, st->feat,
                               err))
        return false;
    const bool on = m->lora_on;
    float *img = st->src + (size_t)BT * C;
    linear_forward(be, &m->proj[LLAVA_PROJ_1], st->y1, st->feat, st->xa1, K, on);
    be->gelu_forward(be, st->a1, st->y1, (size_t)K * C, c->proj_act);
    linear_forward(be, &m->proj[LLAVA_PROJ_2], img, st->a1, st->xa2, K, on);
    be->embedding_forward(be, st->src, st->ids, m->lm.embed, BT, C);
    be->embedding_forward(be, st->x0, st->merge, st->src, BT, C);
    return true;
}

bool llava_logps_forward(LlavaModel *m, const LlavaBatch *b, bool for_backward, float *logp, LpoiErr *err) {
    if (m->step) m->step->ready = false;
    if (!prepare(m, b, for_backward, err)) return false;
    LlavaStep *st = m->step;
    LlamaBatch lb = {.B = b->B, .T = b->T, .inputs_embeds = st->x0, .attention_mask = b->attention_mask,
                     .labels = b->labels};
    if (!llama_logps_forward(&m->lm, &lb, for_backward, logp, err)) return false;
    st->ready = for_backward;
    return true;
}

void llava_logps_backward(LlavaModel *m, const float *dlogp, float *dpixels) {
    LlavaStep *st = m->step;
    LPOI_ASSERT(st && st->ready);
    LPOI_ASSERT(!dpixels || st->vis_bwd);   // d pixel_values needs grad_pixels in the forward
    Backend *be = m->be;
    const LlavaConfig *c = &m->cfg;
    const int C = c->text.C, K = st->K;
    const bool on = st->lora_on;
    llama_logps_backward(&m->lm, dlogp, st->proj_bwd ? st->dx0 : NULL);
    if (st->proj_bwd) {
        be->embedding_forward(be, st->dy2, st->img_pos, st->dx0, K, C);   // d image rows = d x0 at the image positions
        linear_backward(be, &m->proj[LLAVA_PROJ_2], st->da1, false, st->dy2, st->a1, st->xa2, st->dxa, K, on);
        be->gelu_backward(be, st->dy1, st->da1, st->y1, (size_t)K * C, c->proj_act);
        linear_backward(be, &m->proj[LLAVA_PROJ_1], st->vis_bwd ? st->dfeat : NULL, false, st->dy1, st->feat, st->xa1,
                        st->dxa, K, on);
        if (st->vis_bwd) clip_features_backward(&m->vision, st->dfeat, dpixels);
    }
    st->ready = false;
}

bool llava_logits(LlavaModel *m, const LlavaBatch *b, float *logits, LpoiErr *err) {
    if (m->step) m->step->ready = false;
    if (!prepare(m, b, false, err)) return false;
    LlamaBatch lb = {.B = b->B, .T = b->T, .inputs_embeds = m->step->x0, .attention_mask = b->attention_mask};
    return llama_logits(&m->lm, &lb, logits, err);
}

const float *llava_inputs_embeds(const LlavaModel *m) { return m->step ? m->step->x0 : NULL; }
const float *llava_image_features(const LlavaModel *m) {
    return m->step && m->step->K ? m->step->src + (size_t)m->step->BT * m->cfg.text.C : NULL;
}

int llava_generate(LlavaModel *m, const int32_t *ids, int n, int n_images, const float *pixel_values,
                   const LlamaGenOpts *o, int32_t *out, LpoiErr *err) {
    if (m->step) m->step->ready = false;
    LlavaBatch b = {.B = 1, .T = n, .input_ids = ids, .n_images = n_images, .pixel_values = pixel_values};
    if (!prepare(m, &b, false, err)) return -1;
    return llama_generate_embeds(&m->lm, m->step->x0, n, o, out, err);
}
