// tiny_model_test.c — the demo's tiny LLaVA folder: it loads with lpoi's own loaders (config,
// every tensor bound, tokenizer, image processor), the tokenizer gives every demo word one token,
// writing is deterministic in the seed, and the logits check runs (the HF comparison is
// tools/test_demo_model_loads.py).
#include "test/test.h"
#include "demo/tiny_model.h"
#include "demo/synth.h"
#include "lpoi/trainer.h"
#include "base/check.h"
#include "base/safetensors.h"
#include "base/file.h"
#include "image/preprocess.h"
#include "models/llava.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(tiny_model_tokenizer_whole_words) {
    int image_id, pad_id, V;
    char *json = tiny_model_tokenizer_json(SYNTH_WORDS, &image_id, &pad_id, &V);
    LpoiErr err = {{0}};
    Tokenizer *t = tokenizer_load_json(json, strlen(json), "tiny tokenizer", &err);
    EXPECT_MSG(t, "%s", err.msg);
    free(json);
    if (!t) return;
    EXPECT_EQ_INT(tokenizer_token_to_id(t, "<image>", 7), image_id);
    EXPECT_EQ_INT(tokenizer_token_to_id(t, "<pad>", 5), pad_id);
    EXPECT_EQ_INT((int)tokenizer_vocab_size(t), V);
    EXPECT_EQ_INT(pad_id, image_id + 1);
    char *prompt, *response;
    chat_llava15_pair(SYNTH_PROMPT, "A purple triangle.", &prompt, &response);
    char text[256];
    snprintf(text, sizeof text, "%s%s", prompt, response);
    TokIds ids = {0};
    EXPECT_MSG(tokenizer_encode(t, text, strlen(text), true, &ids, &err), "%s", err.msg);
    // "USER: <image>\nWhat is in the image? ASSISTANT: A purple triangle. "
    const char *want[] = {"<s>", "\xE2\x96\x81USER", ":", "\xE2\x96\x81", "<image>", "\xE2\x96\x81", "<0x0A>", "What",
                          "\xE2\x96\x81is", "\xE2\x96\x81in", "\xE2\x96\x81the", "\xE2\x96\x81image", "?",
                          "\xE2\x96\x81" "ASSISTANT", ":", "\xE2\x96\x81" "A", "\xE2\x96\x81purple", "\xE2\x96\x81triangle",
                          ".", "\xE2\x96\x81"};
    EXPECT_EQ_INT(ids.count, LPOI_ARRAY_LEN(want));
    for (size_t i = 0; i < ids.count && i < LPOI_ARRAY_LEN(want); i++) {
        size_t len;
        const char *s = tokenizer_id_to_token(t, ids.ids[i], &len);
        EXPECT_MSG(s && len == strlen(want[i]) && !memcmp(s, want[i], len), "token %zu is \"%.*s\", expected \"%s\"", i,
                   s ? (int)len : 6, s ? s : "(null)", want[i]);
    }
    char *back = tokenizer_decode(t, ids.ids, ids.count, true, NULL);
    EXPECT_STREQ(back, "USER:  \nWhat is in the image? ASSISTANT: A purple triangle. ");
    free(back);
    // Text outside the vocabulary still encodes (characters, then byte fallback).
    TokIds other = {0};
    EXPECT(tokenizer_encode(t, "Zebra \xC3\xA9!", 9, false, &other, &err));
    char *dec = tokenizer_decode(t, other.ids, other.count, true, NULL);
    EXPECT_STREQ(dec, "Zebra \xC3\xA9!");
    free(dec);
    tok_ids_free(&other);
    tok_ids_free(&ids);
    free(prompt);
    free(response);
    tokenizer_free(t);
}

TEST(tiny_model_folder_loads_and_is_deterministic) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "tiny_model");
    TinyModelOptions o = tiny_model_default();
    o.words = SYNTH_WORDS;
    o.image_size = 32;
    o.patch_size = 8;
    LpoiErr err = {{0}};
    char m1[300], m2[300];
    snprintf(m1, sizeof m1, "%s/a", dir);
    snprintf(m2, sizeof m2, "%s/b", dir);
    EXPECT_MSG(tiny_model_write(&o, m1, &err), "%s", err.msg);
    EXPECT_MSG(tiny_model_write(&o, m2, &err), "%s", err.msg);
    // Same seed, same bytes; another seed, other weights.
    char p1[400], p2[400];
    snprintf(p1, sizeof p1, "%s/model.safetensors", m1);
    snprintf(p2, sizeof p2, "%s/model.safetensors", m2);
    size_t n1 = 0, n2 = 0;
    char *b1 = file_read_all(p1, 64 << 20, &n1, &err), *b2 = file_read_all(p2, 64 << 20, &n2, &err);
    EXPECT(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1));
    free(b2);
    o.seed = 2;
    EXPECT_MSG(tiny_model_write(&o, m2, &err), "%s", err.msg);
    b2 = file_read_all(p2, 64 << 20, &n2, &err);
    EXPECT(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) != 0);
    free(b1);
    free(b2);

    // lpoi's loaders: config, every tensor (llava_load reports missing/unexpected/mis-shaped ones),
    // tokenizer (+ tokenizer_config.json), the image processor.
    LlavaConfig cfg;
    EXPECT_MSG(llava_config_load(&cfg, m1, &err), "%s", err.msg);
    EXPECT_EQ_INT(cfg.tokens_per_image, 16);
    EXPECT_EQ_INT(cfg.image_seq_length, 16);
    EXPECT_EQ_INT(cfg.vision.S, 32);
    Tokenizer *t = tokenizer_load_dir(m1, &err);
    EXPECT_MSG(t, "%s", err.msg);
    if (t) {
        EXPECT_EQ_INT(tokenizer_token_to_id(t, "<image>", 7), cfg.image_token);
        EXPECT_EQ_INT((int)tokenizer_vocab_size(t), cfg.text.V);
        EXPECT_EQ_INT(tokenizer_bos_id(t), 1);
        EXPECT_EQ_INT(tokenizer_eos_id(t), 2);
        EXPECT_EQ_INT(tokenizer_pad_id(t), cfg.text.pad_id);
        tokenizer_free(t);
    }
    PreprocessConfig pc;
    EXPECT_MSG(preprocess_config_load(&pc, m1, &err), "%s", err.msg);
    EXPECT(pc.crop_h == 32 && pc.crop_w == 32 && pc.shortest_edge == 32);
    Backend *be = backend_open("cpu", &err);
    EXPECT_MSG(be, "%s", err.msg);
    if (be) {
        LlavaModel m;
        bool ok = llava_open(&m, be, m1, &err);
        EXPECT_MSG(ok, "%s", err.msg);
        if (ok) llava_free(&m);
        backend_destroy(be);
    }

    // The logits check: one synthetic image through the whole pipeline, finite logits.
    SynthOptions so = synth_options_default();
    so.image_size = 32;
    SynthExample ex;
    synth_example(&so, SYNTH_HELDOUT, 0, &ex);
    char img[400], out[400];
    snprintf(img, sizeof img, "%s/x.png", dir);
    snprintf(out, sizeof out, "%s/check.safetensors", dir);
    EXPECT_MSG(image_write_png(&ex.image, img, &err), "%s", err.msg);
    TrainDumpArgs da = {.model_dir = m1, .image = img, .prompt = SYNTH_PROMPT, .answer = ex.chosen, .out = out, .device = "cpu"};
    bool ok = train_dump_logits(&da, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (ok) {
        StFile f;
        EXPECT_MSG(st_open(&f, out, &err), "%s", err.msg);
        const StTensor *lg = st_find(&f, "logits"), *ids = st_find(&f, "input_ids");
        EXPECT(lg && ids && lg->shape[1] == ids->shape[1] && (int)lg->shape[2] == cfg.text.V);
        EXPECT(ids && ids->shape[1] == 16 + 19);   // 16 image tokens + the 20 text tokens less <image>
        if (lg) {
            float *v = malloc_check(lg->numel * sizeof(float));
            EXPECT(st_read_f32(lg, v, &err));
            int bad = 0;
            for (uint64_t i = 0; i < lg->numel; i++) bad += !isfinite(v[i]);
            EXPECT_EQ_INT(bad, 0);
            free(v);
        }
        st_close(&f);
    }
    synth_example_free(&ex);
    file_rmtree(dir);
}
