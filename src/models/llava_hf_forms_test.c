// llava_hf_forms_test.c — what transformers and PEFT accept for a LLaVA, accepted here too:
// a config.json with tie_word_embeddings true at the root and false in text_config ties the head
// (transformers 5.24 LlavaConfig.__post_init__ ORs the two flags), and PEFT's target_modules as dotted
// module paths (list semantics: the module name ends with ".<entry>") or as a regex string that
// full-matches the module names. The expected selections are what PEFT 0.21.2 selects on
// testdata/tiny_llava for the same target_modules (get_peft_model, listed by lora_A names; the
// layer-count cases from tools/peft_targets_reference.py).
#include "models/llava.h"
#include "test/test.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include "base/safetensors.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define V(k) (1u << CLIP_##k)
#define T(k) (1u << LLAMA_##k)
#define P(k) (1u << LLAVA_PROJ_##k)

TEST(llava_lora_targets_peft_forms) {
    static const struct { const char *spec; unsigned vision, projector, text; } CASES[] = {
        {"self_attn.q_proj", V(Q), 0, T(Q)},
        {"mlp.fc1,linear_2", V(FC1), P(2), 0},
        {"model\\.language_model\\.layers\\.\\d+\\.(self_attn\\.(q_proj|v_proj)|mlp\\.down_proj)", 0, 0, T(Q) | T(V) | T(DOWN)},
        {".*\\.(q_proj|k_proj)", V(Q) | V(K), 0, T(Q) | T(K)},
        {".*vision_tower.*(fc1|fc2)", V(FC1) | V(FC2), 0, 0},
        {".*language_model.*\\.(q_proj|v_proj)", 0, 0, T(Q) | T(V)},
        {"model\\.multi_modal_projector\\.linear_\\d", 0, P(1) | P(2), 0},
        {"(?:.*\\.)+?o_proj", 0, 0, T(O)},
        // Python-equivalent spellings of cases above with escapes inside [...] (re reads [\d] as \d,
        // [\.] as \.; module names are word characters and dots), so PEFT selects the same: the
        // translation to POSIX, where a backslash in a class is literal, silently changed them.
        {"model\\.language_model\\.layers\\.[\\d]+\\.(self_attn\\.(q_proj|v_proj)|mlp\\.down_proj)", 0, 0, T(Q) | T(V) | T(DOWN)},
        {".*[\\.](q_proj|k_proj)", V(Q) | V(K), 0, T(Q) | T(K)},
        {"[\\w.]*vision_tower[\\w.]*(fc1|fc2)", V(FC1) | V(FC2), 0, 0},
        {"model\\.multi_modal_projector\\.linear_[\\d]", 0, P(1) | P(2), 0},
        // the forms lpoi had before stay as they were
        {"language_model.q_proj,v_proj", V(V), 0, T(Q) | T(V)},
        // every layer of this model named one by one (2 text, 3 vision layers; lpoi counted 256)
        {"model\\.language_model\\.layers\\.(0|1)\\.self_attn\\.q_proj", 0, 0, T(Q)},
        {"model\\.vision_tower\\.encoder\\.layers\\.[0-2]\\.mlp\\.fc1", V(FC1), 0, 0},
    };
    LlavaConfig cfg;   // the layer counts of testdata/tiny_llava, where PEFT selected these
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tiny_llava", test_data_dir());
    LpoiErr cerr = {{0}};
    EXPECT_MSG(llava_config_load(&cfg, dir, &cerr), "%s", cerr.msg);
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        LlavaLoraTargets t;
        LpoiErr err = {{0}};
        bool ok = llava_lora_parse_targets(CASES[i].spec, &cfg, &t, &err);
        EXPECT_MSG(ok, "%s: %s", CASES[i].spec, err.msg);
        EXPECT_MSG(!ok || (t.vision == CASES[i].vision && t.projector == CASES[i].projector && t.text == CASES[i].text),
                   "%s: vision %#x projector %#x text %#x", CASES[i].spec, t.vision, t.projector, t.text);
    }
    static const struct { const char *spec, *why; } BAD[] = {
        {"layers.0.self_attn.q_proj", "some layers only"},
        {"model\\.language_model\\.layers\\.0\\..*", "some layers only"},
        {"model\\.vision_tower\\.encoder\\.layers\\.[01]\\.mlp\\.fc1", "some layers only (2 of 3)"},
        {"(.*language_model.*\\.v_proj|lm_head)", "also selects lm_head, which lpoi does not adapt"},   // PEFT adapts the head
        {"(?!.*vision).*q_proj", "not supported"},
        {".*lm_head", "full-matches no LLaVA Linear"},
        {"self_attn.qq_proj", "names no LLaVA Linear"},
        {"(q_proj", "LoRA target regex"},
        {".*[\\D]_proj", "inside [...] is not supported"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        LlavaLoraTargets t;
        LpoiErr err = {{0}};
        EXPECT_MSG(!llava_lora_parse_targets(BAD[i].spec, &cfg, &t, &err), "%s accepted", BAD[i].spec);
        EXPECT_MSG(strstr(err.msg, BAD[i].why) != NULL, "%s: %s", BAD[i].spec, err.msg);
    }
}

static bool parse_cfg(const char *json, LlavaConfig *c, LpoiErr *err) {
    JsonDoc *doc = json_parse(json, strlen(json), err);
    if (!doc) return false;
    bool ok = llava_config_parse(c, json_root(doc), "config.json", err);
    json_free(doc);
    return ok;
}

// testdata/tiny_llava's config with the root tie flag set to `root` (text_config keeps false).
static char *tiny_config_with_root_tie(const char *root) {
    char *text = test_read_text("testdata/tiny_llava/config.json");
    if (!text) return NULL;
    const char *key = "\n  \"tie_word_embeddings\": false";   // the root one: two spaces of indent
    char *at = strstr(text, key);
    if (!at) { free(text); return NULL; }
    size_t n = strlen(text) + 16;
    char *out = malloc_check(n);
    snprintf(out, n, "%.*s\n  \"tie_word_embeddings\": %s%s", (int)(at - text), text, root, at + strlen(key));
    free(text);
    return out;
}

TEST(llava_config_tie_root_or_text) {
    if (access("testdata/tiny_llava/config.json", R_OK)) { test_skip("testdata/tiny_llava not found"); return; }
    LlavaConfig c;
    LpoiErr err = {{0}};
    char *cfg = tiny_config_with_root_tie("true");
    EXPECT(cfg != NULL);
    if (!cfg) return;
    EXPECT(strstr(cfg, "\"tie_word_embeddings\": true") != NULL);
    EXPECT_MSG(parse_cfg(cfg, &c, &err), "%s", err.msg);
    EXPECT(c.text.tie);   // root true, text false: tied
    EXPECT(parse_cfg("{\"model_type\": \"llava\", \"text_config\": {\"vocab_size\": 40000, \"tie_word_embeddings\": true}}", &c, &err));
    EXPECT(c.text.tie);   // root absent, text true
    EXPECT(parse_cfg("{\"model_type\": \"llava\", \"tie_word_embeddings\": false, \"text_config\": {\"vocab_size\": 40000}}", &c, &err));
    EXPECT(!c.text.tie);

    // The folder save_pretrained writes for such a model has no lm_head: it loads, with the head tied.
    char dir[64];
    test_tmp_dir(dir, sizeof dir, "llava_tie");
    EXPECT(test_write_text(test_path(dir, "config.json"), cfg));
    free(cfg);
    StFile f;
    EXPECT_MSG(st_open(&f, "testdata/tiny_llava/model.safetensors", &err), "%s", err.msg);
    StWriter *w = st_writer_new();
    for (size_t i = 0; i < f.count; i++)
        if (!strstr(f.tensors[i].name, "lm_head"))
            st_writer_add(w, f.tensors[i].name, f.tensors[i].dtype, f.tensors[i].ndim, f.tensors[i].shape, f.tensors[i].data);
    EXPECT_MSG(st_writer_write(w, test_path(dir, "model.safetensors"), &err), "%s", err.msg);
    st_writer_free(w);
    st_close(&f);
    Backend *be = backend_open("cpu", &err);
    LlavaModel m;
    bool ok = llava_open(&m, be, dir, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (ok) {
        EXPECT(m.lm.lm_head == m.lm.embed);
        llava_free(&m);
    }
    backend_destroy(be);
    file_rmtree(dir);
}
