// idefics2_e2e_test.c — the whole Idefics2 path on testdata/tiny_idefics2 (tools/make_tiny_idefics2.py),
// against what HF does with that folder: the photograph through the image processor (split into 5),
// the question through the chat template, the image-token expansion and the tokenizer (prompt ids
// identical), then greedy generation through SigLIP, the connector and Mistral (ids identical).
#include "models/idefics2.h"
#include "image/idefics2_preprocess.h"
#include "image/preprocess.h"
#include "text/chat_idefics2.h"
#include "text/tokenizer.h"
#include "test/test.h"
#include "base/check.h"
#include "base/file.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TINY "testdata/tiny_idefics2"

static bool ids_match(const int32_t *got, size_t n, const JsonValue *want) {
    if (!want || want->count != n) return false;
    for (size_t i = 0; i < n; i++) {
        int64_t w;
        if (!json_as_i64(want->items[i], &w) || w != got[i]) return false;
    }
    return true;
}

TEST(idefics2_tiny_generate_matches_hf) {
    LpoiErr err = {{0}};
    JsonDoc *doc = json_load_file(TINY "/expected_generate.json", 1 << 20, &err);
    EXPECT_MSG(doc, "%s", err.msg);
    if (!doc) return;
    Backend *be = backend_cpu_create();
    Idefics2Model m;
    Idefics2ImageConfig ic;
    Tokenizer *tok = tokenizer_load_dir(TINY, &err);
    Image rgb = {0};
    bool ok = tok && idefics2_open(&m, be, TINY, &err) && idefics2_image_config_load_dir(&ic, TINY, &err) &&
              preprocess_load_image(&rgb, json_get_str(json_root(doc), "image"), NULL, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    const JsonValue *cases = json_get(json_root(doc), "cases");
    int64_t max_new = 0;
    json_get_i64(json_root(doc), "max_new", &max_new);
    for (size_t c = 0; ok && cases && c < cases->count; c++) {
        const JsonValue *cs = cases->items[c];
        const char *items[2] = {NULL, json_get_str(cs, "question")};
        Idefics2ChatMessage msg = {"user", items, 2};
        char *text = chat_render_idefics2(&msg, 1, true);
        EXPECT_STREQ(text, json_get_str(cs, "text"));
        char *expanded = chat_idefics2_expand_images(text, m.cfg.perceiver.M, ic.do_image_splitting);
        TokIds ids = {0};
        EXPECT(tokenizer_encode(tok, expanded, strlen(expanded), true, &ids, &err));
        EXPECT_MSG(ids_match(ids.ids, ids.count, json_get(cs, "prompt_ids")), "case %zu: prompt ids differ", c);
        const Image *row[1] = {&rgb};
        int one = 1;
        Idefics2Pixels px;
        EXPECT_MSG(idefics2_preprocess(&ic, row, &one, 1, &px, &err), "%s", err.msg);
        double sum = 0, want_sum = 0;
        size_t n = (size_t)px.n_images * 3 * px.h * px.w;
        for (size_t i = 0; i < n; i++) sum += px.pixel_values[i];
        json_get_f64(cs, "pixel_values_sum", &want_sum);
        EXPECT_NEAR(sum, want_sum, 1e-6 * n, 0);
        Idefics2Batch b = {.B = 1, .N = px.n_images, .H = px.h, .W = px.w, .pixel_values = px.pixel_values,
                           .pixel_mask = px.pixel_attention_mask};
        int32_t out[64];
        LlamaGenOpts o = {.max_new = (int)max_new};
        int k = idefics2_generate(&m, ids.ids, (int)ids.count, &b, &o, out, &err);
        EXPECT_MSG(k >= 0, "%s", err.msg);
        EXPECT_MSG(k >= 0 && ids_match(out, (size_t)k, json_get(cs, "generated_ids")), "case %zu: generated ids differ", c);
        idefics2_pixels_free(&px);
        tok_ids_free(&ids);
        free(expanded);
        free(text);
    }
    if (ok) idefics2_free(&m);
    image_free(&rgb);
    tokenizer_free(tok);
    backend_destroy(be);
    json_free(doc);
}
