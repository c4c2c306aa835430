// idefics2_test.c — Idefics2: the config (the real idefics2-8b file, HF's defaults and the perceiver
// hidden-size override, every refusal) and the spec table against the real tensor inventory
// (testdata/idefics2/idefics2_8b_tensors.txt: 763 names and shapes that transformers 5.24 builds
// from that config on the meta device, written by tools/golden_idefics2.py --inventory).
#include "models/idefics2.h"
#include "models/model_fixture_test.h"
#include "test/test.h"
#include "base/check.h"
#include "base/file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDEFICS2_DIR "../shared/data/hf/HuggingFaceM4__idefics2-8b"
#define INVENTORY "idefics2/idefics2_8b_tensors.txt"   // under testdata

static bool parse(void *c, const JsonValue *root, const char *what, LpoiErr *err) { return idefics2_config_parse(c, root, what, err); }

TEST(idefics2_config_real) {
    if (access(IDEFICS2_DIR "/config.json", R_OK)) { test_skip(IDEFICS2_DIR " is absent"); return; }
    Idefics2Config c;
    LpoiErr err = {{0}};
    EXPECT_MSG(idefics2_config_load(&c, IDEFICS2_DIR, &err), "%s", err.msg);
    EXPECT_EQ_INT(c.image_token, 32001);
    EXPECT_EQ_INT(c.vision.C, 1152);
    EXPECT_EQ_INT(c.vision.n_layer, 27);
    EXPECT_EQ_INT(c.vision.H, 16);
    EXPECT_EQ_INT(c.vision.F, 4304);
    EXPECT_EQ_INT(c.vision.p, 14);
    EXPECT_EQ_INT(c.vision.G, 70);
    EXPECT_EQ_INT(c.vision.act, GELU_TANH);
    EXPECT(c.vision.eps == 1e-6f);
    EXPECT_EQ_INT(c.perceiver.C, 4096);
    EXPECT_EQ_INT(c.perceiver.M, 64);
    EXPECT_EQ_INT(c.perceiver.n_layer, 3);
    EXPECT_EQ_INT(c.perceiver.H, 16);
    EXPECT_EQ_INT(c.perceiver.KVH, 4);
    EXPECT_EQ_INT(c.perceiver.D, 96);
    EXPECT(c.perceiver.eps == 1e-6f);   // the perceiver's own default: hidden sizes agree, no override
    EXPECT_EQ_INT(c.text.arch, LLAMA_ARCH_MISTRAL);
    EXPECT_EQ_INT(c.text.V, 32003);
    EXPECT_EQ_INT(c.text.KVH, 8);
    EXPECT(c.text.eps == 1e-5f && !c.text.tie);
    EXPECT_EQ_INT(c.proj_F, 14336);
}

TEST(idefics2_config_defaults_and_refusals) {
    Idefics2Config c;
    LpoiErr err = {{0}};
    // A small text model: the perceiver takes its hidden size and rms_norm_eps (HF's __post_init__).
    EXPECT_MSG(mt_parse(parse, "{\"model_type\": \"idefics2\", \"text_config\": {\"vocab_size\": 40000, \"hidden_size\": 64,"
                        " \"intermediate_size\": 96, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
                        " \"num_hidden_layers\": 1, \"rms_norm_eps\": 1e-4}}", &c, &err), "%s", err.msg);
    EXPECT_EQ_INT(c.perceiver.C, 64);
    EXPECT(c.perceiver.eps == 1e-4f);
    EXPECT_EQ_INT(c.perceiver.F, 256);
    EXPECT_EQ_INT(c.vision.C, 768);    // Idefics2VisionConfig defaults
    EXPECT_EQ_INT(c.vision.p, 32);
    EXPECT_EQ_INT(c.vision.G, 7);
    EXPECT_EQ_INT(c.image_token, 32001);
    EXPECT_EQ_INT(c.proj_F, 96);
#define T40K "\"text_config\": {\"vocab_size\": 40000}"
    static const MtRefusal bad[] = {
        {"{\"model_type\": \"llava\", " T40K "}", "not an Idefics2 config"},
        {"{\"model_type\": \"idefics2\"}", "outside the text vocabulary"},   // MistralConfig's 32000 tokens
        {"{\"model_type\": \"idefics2\", \"image_token_id\": 40000, " T40K "}", "image_token_id"},
        {"{\"model_type\": \"idefics2\", \"vision_config\": 3, " T40K "}", "vision_config: must be an object"},
        {"{\"model_type\": \"idefics2\", \"vision_config\": {\"hidden_act\": \"relu\"}, " T40K "}", "hidden_act"},
        {"{\"model_type\": \"idefics2\", \"vision_config\": {\"patch_size\": [14, 14]}, " T40K "}", "patch_size"},
        {"{\"model_type\": \"idefics2\", \"vision_config\": {\"hidden_size\": 100}, " T40K "}", "multiple of num_attention_heads"},
        {"{\"model_type\": \"idefics2\", \"vision_config\": {\"attention_dropout\": 0.1}, " T40K "}", "attention_dropout"},
        {"{\"model_type\": \"idefics2\", \"perceiver_config\": {\"hidden_act\": \"gelu\"}, " T40K "}", "perceiver_config"},
        {"{\"model_type\": \"idefics2\", \"perceiver_config\": {\"num_key_value_heads\": 32}, " T40K "}", "at most"},
        {"{\"model_type\": \"idefics2\", \"perceiver_config\": {\"num_key_value_heads\": 3}, " T40K "}", "not a multiple"},
        {"{\"model_type\": \"idefics2\", \"perceiver_config\": {\"resampler_n_latents\": 0}, " T40K "}", "resampler_n_latents"},
        {"{\"model_type\": \"idefics2\", \"perceiver_config\": [], " T40K "}", "perceiver_config: must be an object"},
        {"{\"model_type\": \"idefics2\", \"text_config\": {\"vocab_size\": 40000, \"hidden_act\": \"gelu\"}}", "hidden_act"},
    };
#undef T40K
    Idefics2Config refused;
    MT_EXPECT_REFUSALS(parse, &refused, bad, NULL);
}

// ---- the real inventory -------------------------------------------------------------------------
static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const StTensor *const *)a)->name, (*(const StTensor *const *)b)->name);
}

// The inventory as a tensor-less StFile (F16, shapes only); names point into *text. NULL + a test
// failure when the file is unreadable or malformed.
static bool read_inventory(StFile *f, char **text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", test_data_dir(), INVENTORY);
    size_t size;
    LpoiErr err = {{0}};
    *text = file_read_all(path, 1 << 20, &size, &err);
    EXPECT_MSG(*text, "%s", err.msg);
    if (!*text) return false;
    memset(f, 0, sizeof *f);
    f->tensors = calloc_check(1024, sizeof *f->tensors);
    f->by_name = calloc_check(1024, sizeof *f->by_name);
    for (char *line = strtok(*text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char *sp = strchr(line, ' ');
        if (!sp || f->count == 1024) { EXPECT_MSG(0, "%s: malformed line %s", path, line); return false; }
        *sp = '\0';
        StTensor *t = &f->tensors[f->count];
        t->name = line;
        t->dtype = DTYPE_F16;
        t->numel = 1;
        for (char *d = sp + 1; *d && t->ndim < 4; t->ndim++) {
            t->shape[t->ndim] = strtoull(d, &d, 10);
            t->numel *= t->shape[t->ndim];
            if (*d == ',') d++;
        }
        f->by_name[f->count] = t;
        f->count++;
    }
    qsort(f->by_name, f->count, sizeof *f->by_name, cmp_name);
    return true;
}

// Every name and shape transformers builds from the real config is in our spec table, and the
// table holds nothing else.
TEST(idefics2_real_inventory_binds) {
    if (access(IDEFICS2_DIR "/config.json", R_OK)) { test_skip(IDEFICS2_DIR " is absent"); return; }
    Idefics2Config c;
    LpoiErr err = {{0}};
    if (!idefics2_config_load(&c, IDEFICS2_DIR, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    StFile f;
    char *text;
    if (!read_inventory(&f, &text)) { free(text); return; }
    EXPECT_EQ_INT(f.count, 763);
    WeightPlan plan = {0};
    idefics2_weight_specs(&c, &plan.specs);
    EXPECT_EQ_INT(plan.specs.n, 763);
    WeightSource src = {.file = &f, .prefix = "", .what = INVENTORY};
    WeightRules every = {.owned = {""}};
    char msg[480];
    EXPECT_MSG(weights_plan(&plan, &src, &every), "%s", weights_errors_text(&plan.errors, msg, sizeof msg));
    // A damaged inventory is reported: one shape off, one name gone.
    ((StTensor *)f.by_name[5])->shape[0] += 1;
    const char *gone = f.by_name[300]->name;
    ((StTensor *)f.by_name[300])->name = "zzz.unknown";
    EXPECT(!weights_plan(&plan, &src, &every));
    weights_errors_text(&plan.errors, msg, sizeof msg);
    EXPECT_MSG(strstr(msg, "1 missing") && strstr(msg, gone) && strstr(msg, "1 unexpected (zzz.unknown)") &&
               strstr(msg, "1 mis-shaped"), "%s", msg);
    weights_plan_free(&plan);
    free(f.tensors);
    free(f.by_name);
    free(text);
}

// ---- LoRA targets (PEFT semantics over the four parts) ------------------------------------------------
TEST(idefics2_lora_targets) {
    Idefics2LoraTargets t;
    LpoiErr err = {{0}};
    EXPECT_MSG(idefics2_lora_parse_targets("all-linear", NULL, &t, &err), "%s", err.msg);
    EXPECT(t.vision == CLIP_LORA_ALL && t.modality == 7 && t.perceiver == (1u << PERC_NPROJ) - 1 && t.text == LLAMA_LORA_ALL);
    // A name adapts every module that ends with it: q_proj is the vision, perceiver and text q_proj.
    EXPECT_MSG(idefics2_lora_parse_targets("q_proj,gate_proj", NULL, &t, &err), "%s", err.msg);
    EXPECT(t.vision == 1u << CLIP_Q && t.modality == 1u << I2_GATE &&
           t.perceiver == ((1u << PERC_Q) | (1u << PERC_GATE)) && t.text == ((1u << LLAMA_Q) | (1u << LLAMA_GATE)));
    EXPECT_MSG(idefics2_lora_parse_targets("perceiver_resampler.o_proj,vision_model.fc1", NULL, &t, &err), "%s", err.msg);
    EXPECT(t.vision == 1u << CLIP_FC1 && t.modality == 0 && t.perceiver == 1u << PERC_O && t.text == 0);
    Idefics2Config layers = {.vision = {.n_layer = 2}, .perceiver = {.n_layer = 3}, .text = {.n_layer = 2}};
    EXPECT_MSG(idefics2_lora_parse_targets("model\\.text_model\\..*\\.(q_proj|v_proj)", &layers, &t, &err), "%s", err.msg);
    EXPECT(t.vision == 0 && t.modality == 0 && t.perceiver == 0 && t.text == ((1u << LLAMA_Q) | (1u << LLAMA_V)));
    EXPECT(!idefics2_lora_parse_targets("qkv", NULL, &t, &err));
}

// ---- binding: every problem of every part in one error ---------------------------------------------
static const char *const TINY_MODEL =
    "{\"model_type\": \"idefics2\", \"image_token_id\": 5, \"vision_config\": {\"hidden_size\": 8, \"intermediate_size\": 6,"
    " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"image_size\": 14, \"patch_size\": 7},"
    " \"perceiver_config\": {\"resampler_n_latents\": 2, \"resampler_depth\": 1, \"resampler_n_heads\": 2,"
    " \"resampler_head_dim\": 2, \"num_key_value_heads\": 1}, \"text_config\": {\"vocab_size\": 16, \"hidden_size\": 8,"
    " \"intermediate_size\": 10, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1}}";

static bool load(void *m, Backend *be, const void *c, const WeightSource *s, LpoiErr *err) { return idefics2_load(m, be, c, s, err); }
static float unit(const WeightSpec *s, Rng *rng) { (void)s; return rng_normal(rng); }

TEST(idefics2_bind_reports_every_problem_once) {
    Idefics2Config c;
    LpoiErr err = {{0}};
    if (!mt_parse(parse, TINY_MODEL, &c, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    WeightSpecs specs = {0};
    idefics2_weight_specs(&c, &specs);
    Backend *be = backend_cpu_create();
    Idefics2Model m;
    EXPECT_MSG(mt_load_random("idefics2", load, &m, be, &c, &specs, NULL, unit, 3, &err), "%s", err.msg);
    idefics2_free(&m);
    MtDamage d = {.drop = "model.connector.perceiver_resampler.layers.0.self_attn.k_proj.weight",
                  .extra = "model.other.weight", .reshape = "model.vision_model.post_layernorm.bias"};
    EXPECT(!mt_load_random("idefics2", load, &m, be, &c, &specs, &d, unit, 3, &err));
    EXPECT_ERR_HAS(err, "connector: ");
    EXPECT_ERR_HAS(err, "1 missing (model.connector.perceiver_resampler.layers.0.self_attn.k_proj.weight)");
    EXPECT_ERR_HAS(err, "vision model: ");
    EXPECT_ERR_HAS(err, "model.vision_model.post_layernorm.bias is [9], expected [8]");
    EXPECT_ERR_HAS(err, "not part of an Idefics2 model: 1 unexpected (model.other.weight)");
    EXPECT(!strchr(err.msg, '\n'));
    specs_free(&specs);
    backend_destroy(be);
}
