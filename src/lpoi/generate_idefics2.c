// generate_idefics2.c — Idefics2 generation (generate_idefics2.h). The steps HF's Idefics2Processor +
// Idefics2ForConditionalGeneration.generate take, in C:
//   image   decode (preprocess_load_image: RGB, alpha onto white) → idefics2_preprocess with the
//           folder's image processor (image splitting as its config says) → pixel_values + mask
//   text    the chat template (chat_render_idefics2) unless the prompt holds "<image>", the
//           processor's image-token expansion (chat_idefics2_expand_images), the tokenizer with BOS
//   decode  idefics2_generate: the merged embeddings prefill the KV cache, then greedy / sampled
//           tokens until an EOS id or --max-new; printed with special tokens skipped.
#include "lpoi/generate_idefics2.h"
#include "lpoi/adapter_io.h"
#include "models/idefics2.h"
#include "image/preprocess.h"
#include "text/chat_idefics2.h"
#include "base/check.h"
#include "base/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool model_dir_is_idefics2(const char *dir) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? "%s/config.json" : "%s", dir);
    LpoiErr err = {{0}};
    JsonDoc *doc = json_load_file(path, 1u << 24, &err);
    if (!doc) return false;
    const char *type = json_root(doc)->type == JSON_OBJECT ? json_get_str(json_root(doc), "model_type") : NULL;
    bool yes = type && !strcmp(type, "idefics2");
    json_free(doc);
    return yes;
}

char *idefics2_prompt_text(const char *prompt) {
    if (strstr(prompt, "<image>")) {
        char *t = strdup(prompt);
        if (!t) LPOI_DIE("out of memory");
        return t;
    }
    const char *items[2] = {NULL, prompt};
    Idefics2ChatMessage msg = {"user", items, 2};
    return chat_render_idefics2(&msg, 1, true);
}

bool idefics2_encode_example(const Tokenizer *tok, const Idefics2ImageConfig *ic, int image_seq_len, const char *image,
                             const char *text, TokIds *ids, Idefics2Pixels *px, LlavaFail *fail, LpoiErr *err) {
    memset(px, 0, sizeof *px);
    *fail = LLAVA_FAIL_IMAGE;
    Image rgb = {0};
    bool ok = preprocess_load_image(&rgb, image, NULL, err);
    if (ok) {
        const Image *row[1] = {&rgb};
        int one = 1;
        ok = idefics2_preprocess(ic, row, &one, 1, px, err);
        if (!ok) err_prefix(err, "%s", image);
    }
    image_free(&rgb);
    if (!ok) return false;
    *fail = LLAVA_FAIL_PROMPT;
    int n_images = 0;
    for (const char *p = text; (p = strstr(p, "<image>")); p += 7) n_images++;
    if (n_images != 1) {
        idefics2_pixels_free(px);
        return err_set(err, "prompt: %d <image> in the text, but one image was given", n_images);
    }
    char *expanded = chat_idefics2_expand_images(text, image_seq_len, ic->do_image_splitting);
    ok = tokenizer_encode(tok, expanded, strlen(expanded), true, ids, err);
    free(expanded);
    if (!ok) {
        err_prefix(err, "prompt");
        idefics2_pixels_free(px);
        return false;
    }
    *fail = LLAVA_FAIL_NONE;
    return true;
}

struct Idefics2Session {
    char *model_dir;
    Tokenizer *tok;
    Idefics2ImageConfig ic;
    Backend *be;
    Idefics2Model m;
    bool have_model;
    int32_t stops[2 * LLAMA_MAX_EOS + 1];
    int nstop;
};

void idefics2_session_close(Idefics2Session *s) {
    if (!s) return;
    if (s->have_model) idefics2_free(&s->m);
    if (s->be) backend_destroy(s->be);
    tokenizer_free(s->tok);
    free(s->model_dir);
    free(s);
}

static void add_stop(Idefics2Session *s, int64_t id) {
    if (id < 0 || s->nstop >= (int)(sizeof s->stops / sizeof *s->stops)) return;
    for (int i = 0; i < s->nstop; i++)
        if (s->stops[i] == id) return;
    s->stops[s->nstop++] = (int32_t)id;
}

// generation_config.json's eos_token_id (an id or a list), which HF generate stops at; absent: none.
static bool read_generation_eos(Idefics2Session *s, LpoiErr *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/generation_config.json", s->model_dir);
    struct stat st;
    if (stat(path, &st) != 0) return true;
    JsonDoc *doc = json_load_file(path, 1u << 20, err);
    if (!doc) return false;
    const JsonValue *eos = json_root(doc)->type == JSON_OBJECT ? json_get(json_root(doc), "eos_token_id") : NULL;
    int64_t id;
    if (eos && eos->type == JSON_ARRAY) {
        for (size_t i = 0; i < eos->count; i++)
            if (json_as_i64(eos->items[i], &id)) add_stop(s, id);
    } else if (eos && json_as_i64(eos, &id)) {
        add_stop(s, id);
    }
    json_free(doc);
    return true;
}

Idefics2Session *idefics2_session_open(const char *model_dir, const char *device, const char *adapter, LpoiErr *err) {
    Idefics2Session *s = calloc_check(1, sizeof *s);
    s->model_dir = strdup(model_dir);
    if (!s->model_dir) LPOI_DIE("out of memory");
    if (!(s->tok = tokenizer_load_dir(model_dir, err))) goto fail;
    if (!idefics2_image_config_load_dir(&s->ic, model_dir, err)) goto fail;
    if (!(s->be = backend_open(device, err))) goto fail;
    if (!idefics2_open(&s->m, s->be, model_dir, err)) goto fail;
    s->have_model = true;
    if (adapter) {
        if (!adapter_load_idefics2_dir(&s->m, adapter, err)) goto fail;
        idefics2_set_lora(&s->m, true);
    }
    const Idefics2Config *c = &s->m.cfg;
    int32_t image_id = tokenizer_token_to_id(s->tok, "<image>", 7);
    if (image_id != c->image_token) {
        err_set(err, "%s: the tokenizer's <image> is id %d but image_token_id is %d", model_dir, image_id, c->image_token);
        goto fail;
    }
    for (int i = 0; i < c->text.n_eos; i++) add_stop(s, c->text.eos_ids[i]);
    if (!read_generation_eos(s, err)) goto fail;
    add_stop(s, tokenizer_eos_id(s->tok));
    return s;
fail:
    idefics2_session_close(s);
    return NULL;
}

bool idefics2_session_answer(Idefics2Session *s, const LlavaGenArgs *a, LlavaAnswer *ans, LlavaFail *fail, LpoiErr *err) {
    memset(ans, 0, sizeof *ans);
    LlavaFail f = LLAVA_FAIL_PROMPT;
    TokIds ids = {0};
    Idefics2Pixels px = {0};
    char *text = idefics2_prompt_text(a->prompt);
    bool ok = false;
    if (!text) { err_set(err, "prompt: cannot be rendered with the chat template"); goto done; }
    if (!idefics2_encode_example(s->tok, &s->ic, s->m.cfg.perceiver.M, a->image, text, &ids, &px, &f, err)) goto done;
    f = LLAVA_FAIL_GENERATE;
    ans->n_prompt = (int)ids.count;
    ans->prompt_ids = malloc_check((ids.count ? ids.count : 1) * sizeof *ans->prompt_ids);
    memcpy(ans->prompt_ids, ids.ids, ids.count * sizeof *ids.ids);
    Idefics2Batch b = {.B = 1, .N = px.n_images, .H = px.h, .W = px.w, .pixel_values = px.pixel_values,
                       .pixel_mask = px.pixel_attention_mask};
    LlamaGenOpts o = {.max_new = a->max_new, .temperature = a->temperature, .top_p = a->top_p, .seed = a->seed,
                      .stop_ids = s->stops, .n_stop = s->nstop};
    ans->ids = malloc_check((size_t)(a->max_new > 0 ? a->max_new : 1) * sizeof *ans->ids);
    ans->n = idefics2_generate(&s->m, ans->prompt_ids, ans->n_prompt, &b, &o, ans->ids, err);
    if (ans->n < 0) goto done;
    ans->text = tokenizer_decode(s->tok, ans->ids, (size_t)ans->n, true, &ans->text_len);
    ok = true;
    f = LLAVA_FAIL_NONE;
done:
    idefics2_pixels_free(&px);
    tok_ids_free(&ids);
    free(text);
    if (!ok) llava_answer_free(ans);
    if (fail) *fail = f;
    return ok;
}
