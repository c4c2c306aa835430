// llama_test.c — config defaults and refusals, the real llava-1.5 / Mistral configs and the real
// llava tensor inventory, and weight binding (spellings, dtypes, one error listing every problem).
// The real files are read from ../shared/data/hf; those tests are skipped where it is absent.
// Gradients, recomputation, memory and generation: llama_grad_test.c.
#include "models/llama.h"
#include "models/llama_fixture_test.h"
#include "test/test.h"
#include "base/check.h"
#include "base/file.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LLAVA_DIR "../shared/data/hf/llava-hf__llava-1.5-7b-hf"
#define MISTRAL_DIR "../shared/data/hf/mistralai__Mistral-7B-v0.1"

TEST(llama_config_defaults) {
    LlamaConfig c;
    LpoiErr err = {{0}};
    EXPECT(lt_parse_cfg("{\"model_type\": \"llama\"}", &c, &err));
    EXPECT_EQ_INT(c.arch, LLAMA_ARCH_LLAMA);
    EXPECT_EQ_INT(c.V, 32000); EXPECT_EQ_INT(c.C, 4096); EXPECT_EQ_INT(c.F, 11008); EXPECT_EQ_INT(c.n_layer, 32);
    EXPECT_EQ_INT(c.H, 32); EXPECT_EQ_INT(c.KVH, 32); EXPECT_EQ_INT(c.D, 128); EXPECT_EQ_INT(c.window, 0);
    EXPECT_EQ_INT(c.max_pos, 2048); EXPECT(!c.tie); EXPECT_EQ_INT(c.bos_id, 1); EXPECT_EQ_INT(c.n_eos, 1);
    EXPECT_EQ_INT(c.eos_ids[0], 2); EXPECT_EQ_INT(c.pad_id, -1);
    EXPECT_NEAR(c.eps, 1e-6, 0, 1e-7); EXPECT_NEAR(c.rope_theta, 10000, 0, 0);
    EXPECT(lt_parse_cfg("{\"model_type\": \"mistral\"}", &c, &err));
    EXPECT_EQ_INT(c.arch, LLAMA_ARCH_MISTRAL);
    EXPECT_EQ_INT(c.KVH, 8); EXPECT_EQ_INT(c.F, 14336); EXPECT_EQ_INT(c.window, 4096); EXPECT_EQ_INT(c.max_pos, 131072);
    EXPECT(lt_parse_cfg("{\"model_type\": \"mistral\", \"sliding_window\": null, \"num_key_value_heads\": null}", &c, &err));
    EXPECT_EQ_INT(c.window, 0); EXPECT_EQ_INT(c.KVH, 32);
    // transformers 5 rope_parameters, 4.x rope_theta / rope_scaling null, explicit head_dim, eos lists
    EXPECT(lt_parse_cfg("{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 64, \"num_attention_heads\": 4,"
                     "\"head_dim\": 24, \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 500000.0},"
                     "\"eos_token_id\": [7, 9], \"pad_token_id\": 0, \"tie_word_embeddings\": true}", &c, &err));
    EXPECT_EQ_INT(c.D, 24); EXPECT_NEAR(c.rope_theta, 500000, 0, 0); EXPECT_EQ_INT(c.n_eos, 2);
    EXPECT_EQ_INT(c.eos_ids[1], 9); EXPECT_EQ_INT(c.pad_id, 0); EXPECT(c.tie);
    EXPECT(lt_parse_cfg("{\"model_type\": \"llama\", \"rope_theta\": 1000000.0, \"rope_scaling\": null}", &c, &err));
    EXPECT_NEAR(c.rope_theta, 1e6, 0, 0);
    // LLaVA without a text_config: LlamaConfig() defaults
    EXPECT(lt_parse_cfg("{\"model_type\": \"llava\"}", &c, &err));
    EXPECT_EQ_INT(c.C, 4096); EXPECT_EQ_INT(c.arch, LLAMA_ARCH_LLAMA);
}

TEST(llama_config_refuses_unsupported) {
    static const MtRefusal bad[] = {
        {"{\"model_type\": \"llama\", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}}", "\"linear\""},
        {"{\"model_type\": \"llama\", \"rope_parameters\": {\"rope_type\": \"llama3\", \"factor\": 8.0}}", "\"llama3\""},
        {"{\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"yarn\"}}", "\"yarn\""},
        {"{\"model_type\": \"llama\", \"partial_rotary_factor\": 0.5}", "partial_rotary_factor"},
        {"{\"model_type\": \"llama\", \"attention_bias\": true}", "attention_bias"},
        {"{\"model_type\": \"llama\", \"mlp_bias\": true}", "mlp_bias"},
        {"{\"model_type\": \"llama\", \"hidden_act\": \"gelu\"}", "hidden_act \"gelu\""},
        {"{\"model_type\": \"llama\", \"attention_dropout\": 0.1}", "attention_dropout"},
        {"{\"model_type\": \"mistral\", \"layer_types\": [\"full_attention\"]}", "layer_types"},
        {"{\"model_type\": \"llama\", \"quantization_config\": {\"quant_method\": \"bitsandbytes\"}}", "quantization_config"},
        {"{\"model_type\": \"gpt2\"}", "\"gpt2\" is not supported"},
        {"{\"model_type\": \"llama\", \"num_attention_heads\": 6, \"num_key_value_heads\": 4, \"hidden_size\": 48}", "multiple of num_key_value_heads"},
        {"{\"model_type\": \"llama\", \"hidden_size\": 100, \"num_attention_heads\": 8}", "not a multiple"},
        {"{\"model_type\": \"llama\", \"hidden_size\": 96, \"num_attention_heads\": 32}", "even"},
        {"{\"model_type\": \"llama\", \"vocab_size\": -5}", "vocab_size"},
        {"{\"model_type\": \"llama\", \"rms_norm_eps\": \"small\"}", "rms_norm_eps"},
        {"{\"model_type\": \"llama\", \"num_hidden_layers\": 2.5}", "num_hidden_layers"},
        {"{\"model_type\": \"llava\", \"text_config\": {\"model_type\": \"llama\", \"mlp_bias\": true}}", "text_config"},
        {"{\"model_type\": \"blip\", \"text_config\": {}}", "blip"},
        {"[1, 2]", "object"},
    };
    LlamaConfig refused;
    MT_EXPECT_REFUSALS(lt_config_parse, &refused, bad, "config.json");
}

TEST(llama_config_real_llava_and_mistral) {
    if (access(LLAVA_DIR "/config.json", R_OK) || access(MISTRAL_DIR "/config.json", R_OK)) {
        test_skip("../shared/data/hf is absent");
        return;
    }
    LlamaConfig c;
    LpoiErr err = {{0}};
    // The real llava text_config gives only vocab 32064, max_position 4096 and eps 1e-5: the rest
    // are LlamaConfig defaults, which must resolve to Vicuna-7B's shapes.
    EXPECT_MSG(llama_config_load(&c, LLAVA_DIR, &err), "%s", err.msg);
    EXPECT_EQ_INT(c.arch, LLAMA_ARCH_LLAMA);
    EXPECT_EQ_INT(c.V, 32064); EXPECT_EQ_INT(c.C, 4096); EXPECT_EQ_INT(c.n_layer, 32); EXPECT_EQ_INT(c.H, 32);
    EXPECT_EQ_INT(c.KVH, 32); EXPECT_EQ_INT(c.D, 128); EXPECT_EQ_INT(c.F, 11008); EXPECT_EQ_INT(c.window, 0);
    EXPECT_EQ_INT(c.max_pos, 4096); EXPECT(!c.tie);
    EXPECT_NEAR(c.eps, 1e-5, 0, 1e-6); EXPECT_NEAR(c.rope_theta, 10000, 0, 0);
    EXPECT_MSG(llama_config_load(&c, MISTRAL_DIR "/config.json", &err), "%s", err.msg);
    EXPECT_EQ_INT(c.arch, LLAMA_ARCH_MISTRAL);
    EXPECT_EQ_INT(c.V, 32000); EXPECT_EQ_INT(c.C, 4096); EXPECT_EQ_INT(c.n_layer, 32); EXPECT_EQ_INT(c.H, 32);
    EXPECT_EQ_INT(c.KVH, 8); EXPECT_EQ_INT(c.D, 128); EXPECT_EQ_INT(c.F, 14336); EXPECT_EQ_INT(c.window, 4096);
    EXPECT_NEAR(c.eps, 1e-5, 0, 1e-6); EXPECT(!c.tie);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

// Every language-model tensor of the real llava-1.5-7b inventory binds, under the hub spelling,
// with the shape the config implies; nothing the config implies is missing from it.
TEST(llama_real_llava_index_binds) {
    LlamaConfig c;
    JsonDoc *doc;
    const JsonValue *map = mt_real_llava_index(lt_config_parse, &c, &doc);
    if (!map) return;
    const LlamaSpelling *sp = &LLAMA_SPELLINGS[1];
    EXPECT_STREQ(sp->prefix, "language_model.model.");
    WeightSpecs all = {0};
    llama_weight_specs(&c, sp, NULL, &all);
    size_t n = all.n;
    EXPECT_EQ_INT(n, 3 + 9 * 32);
    const WeightSpec *specs = all.v;
    const char **ours = malloc_check(map->count * sizeof *ours);
    size_t k = 0, other = 0;
    for (size_t i = 0; i < map->count; i++) {
        if (!strncmp(map->keys[i], "language_model.", 15)) ours[k++] = map->keys[i];
        else other++;
    }
    EXPECT_EQ_INT(k, n);                 // 291 language-model tensors
    EXPECT_EQ_INT(other, 686 - 291);     // vision tower + projector, left to the LLaVA loader
    qsort(ours, k, sizeof *ours, cmp_str);
    for (size_t i = 0; i < n; i++) {
        const char *key = specs[i].name;
        EXPECT_MSG(bsearch(&key, ours, k, sizeof *ours, cmp_str) != NULL, "%s is not in the real index", key);
        // Shapes: Vicuna-7B (vocab 32064 with the <image>/<pad> rows and padding).
        const WeightSpec *s = &specs[i];
        int64_t d0 = s->shape[0], d1 = s->ndim == 2 ? s->shape[1] : 0;
        if (strstr(key, "embed_tokens") || strstr(key, "lm_head")) EXPECT(d0 == 32064 && d1 == 4096);
        else if (strstr(key, "norm")) EXPECT(s->ndim == 1 && d0 == 4096);
        else if (strstr(key, "gate_proj") || strstr(key, "up_proj")) EXPECT(d0 == 11008 && d1 == 4096);
        else if (strstr(key, "down_proj")) EXPECT(d0 == 4096 && d1 == 11008);
        else EXPECT_MSG(d0 == 4096 && d1 == 4096, "%s: [%lld,%lld]", key, (long long)d0, (long long)d1);
    }
    free(ours);
    specs_free(&all);
    json_free(doc);
}

// A CPU backend, the tiny LLaMA config and a scratch file (path: a mkstemp template) for binding tests.
static Backend *bind_setup(LlamaConfig *c, char *path) {
    LpoiErr err = {{0}};
    if (!lt_parse_cfg(LT_TINY_LLAMA, c, &err)) LPOI_DIE("%s", err.msg);
    close(mkstemp(path));
    return backend_cpu_create();
}

// Every damaged checkpoint fails with ONE error that names the file and all its problems.
TEST(llama_bind_reports_every_problem_once) {
    static const struct { LtWriteOpts opts; int n_layer; const char *needles[3]; } cases[] = {
        {{.drop = "model.layers.1.mlp.up_proj.weight", .extra = "model.layers.0.self_attn.q_norm.weight",
          .reshape = "model.layers.0.self_attn.k_proj.weight"}, 0,
         {"1 missing (model.layers.1.mlp.up_proj.weight)", "1 unexpected (model.layers.0.self_attn.q_norm.weight)",
          "model.layers.0.self_attn.k_proj.weight is [9,16], expected [8,16]"}},
        // A plain causal-LM file owns every tensor: a foreign one is unexpected too.
        {{.foreign = "vision_tower.patch.weight"}, 0, {"unexpected (vision_tower.patch.weight)"}},
        // A config that does not match the file (more layers): every missing layer listed, with a count.
        {{0}, 3, {"9 missing (model.layers.2."}},
        // Not a LLaMA file at all.
        {{.drop = "model.embed_tokens.weight"}, 0, {"no embed_tokens.weight"}},
        // Integer weights are refused by name.
        {{.dtype = DTYPE_I32}, 0, {"not F32/F16/BF16 (model.embed_tokens.weight is I32"}},
    };
    LlamaConfig c;
    char path[] = "/tmp/lpoi_llama_bind_XXXXXX";
    Backend *be = bind_setup(&c, path);
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        LlamaConfig want = c;
        if (cases[i].n_layer) want.n_layer = cases[i].n_layer;
        lt_write_model(path, &c, &LLAMA_SPELLINGS[0], &cases[i].opts, 1);
        LlamaModel m;
        LpoiErr err = {{0}};
        EXPECT(!lt_load_file(&m, be, &want, path, &err));
        EXPECT_ERR_HAS(err, path);
        for (int k = 0; k < 3 && cases[i].needles[k]; k++) EXPECT_ERR_HAS(err, cases[i].needles[k]);
    }
    remove(path);
    backend_destroy(be);
}

TEST(llama_bind_spellings_and_dtypes) {
    LlamaConfig c;
    char path[] = "/tmp/lpoi_llama_sp_XXXXXX";
    Backend *be = bind_setup(&c, path);
    LpoiErr err = {{0}};
    LtBatch tb;
    lt_tiny_batch(&tb, 2, 7, c.V, 3);
    LlamaBatch batch = {.B = tb.B, .T = tb.T, .input_ids = tb.ids, .attention_mask = tb.mask, .labels = tb.labels};
    float want[2] = {0}, got[2];
    // The same weights (same seed) under every spelling give the same log-probs; LLaVA files keep
    // their vision tensors for another loader; rotary inv_freq buffers are ignored.
    for (size_t s = 0; s < LLAMA_NSPELLINGS; s++) {
        LtWriteOpts o = {.foreign = s ? "vision_tower.vision_model.post_layernorm.weight" : NULL, .inv_freq = true};
        lt_write_model(path, &c, &LLAMA_SPELLINGS[s], &o, 7);
        LlamaModel m;
        EXPECT_MSG(lt_load_file(&m, be, &c, path, &err), "spelling %s: %s", LLAMA_SPELLINGS[s].prefix, err.msg);
        if (!m.be) continue;
        EXPECT(m.spelling == &LLAMA_SPELLINGS[s]);
        EXPECT(llama_logps_forward(&m, &batch, false, s ? got : want, &err));
        if (s) EXPECT(got[0] == want[0] && got[1] == want[1]);
        llama_free(&m);
    }
    EXPECT(want[0] < 0 && want[1] < 0);
    // BF16 and F16 storage: converted exactly (bf16 -> f32 is exact), close to the f32 result.
    Dtype dts[2] = {DTYPE_BF16, DTYPE_F16};
    for (int d = 0; d < 2; d++) {
        LtWriteOpts o = {.dtype = dts[d]};
        lt_write_model(path, &c, &LLAMA_SPELLINGS[0], &o, 7);
        LlamaModel m;
        EXPECT_MSG(lt_load_file(&m, be, &c, path, &err), "%s", err.msg);
        if (!m.be) continue;
        float *emb = mt_fetch(be, m.embed, 4);
        for (int j = 0; j < 4; j++) {   // the stored value, re-rounded, is itself
            uint16_t h;
            dtype_from_f32(&h, dts[d], &emb[j], 1);
            float back;
            dtype_to_f32(&back, &h, dts[d], 1);
            EXPECT(back == emb[j]);
        }
        free(emb);
        EXPECT(llama_logps_forward(&m, &batch, false, got, &err));
        EXPECT_NEAR(got[0], want[0], 0, d == 0 ? 5e-2 : 5e-3);
        llama_free(&m);
    }
    // Tied: a stored lm_head is accepted and ignored (the embedding is the head).
    LlamaConfig ct;
    lt_parse_cfg(LT_TINY_MISTRAL, &ct, &err);
    LtWriteOpts o = {.lm_head_when_tied = true};
    lt_write_model(path, &ct, &LLAMA_SPELLINGS[0], &o, 9);
    LlamaModel m;
    EXPECT_MSG(lt_load_file(&m, be, &ct, path, &err), "%s", err.msg);
    if (m.be) { EXPECT(m.lm_head == m.embed); llama_free(&m); }
    remove(path);
    backend_destroy(be);
}
