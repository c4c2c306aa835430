// llava_test.c — LLaVA-1.5: config (the real llava-1.5-7b config and its 686-tensor inventory,
// read from ../shared/data/hf and skipped where absent), binding in both key layouts with every
// problem in one error, image-token checks and expansion, the merge, LoRA target parsing and
// adapter loading, the adapter switch, and finite-difference checks of the projector, vision and
// language-model LoRA gradients and of d pixel_values through the whole model.
#include "models/llava.h"
#include "models/vision_fixture_test.h"
#include "test/test.h"
#include "test/gradcheck.h"
#include "base/check.h"
#include "base/file.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define V32064 "\"text_config\": {\"vocab_size\": 32064}"
#define LLAVA_DIR "../shared/data/hf/llava-hf__llava-1.5-7b-hf"

static bool parse(void *c, const JsonValue *root, const char *what, LpoiErr *err) { return llava_config_parse(c, root, what, err); }
static bool parse_llava(const char *json, LlavaConfig *c, LpoiErr *err) { return mt_parse(parse, json, c, err); }

TEST(llava_config_real) {
    if (access(LLAVA_DIR "/config.json", R_OK)) { test_skip("../shared/data/hf is absent"); return; }
    LlavaConfig c;
    LpoiErr err = {{0}};
    EXPECT_MSG(llava_config_load(&c, LLAVA_DIR, &err), "%s", err.msg);
    EXPECT_EQ_INT(c.image_token, 32000);
    EXPECT_EQ_INT(c.feature_layer, -2);
    EXPECT_EQ_INT(c.feature_k, 23);
    EXPECT_EQ_INT(c.select, CLIP_SELECT_DEFAULT);
    EXPECT_EQ_INT(c.proj_act, GELU_ERF);
    EXPECT(c.proj_bias);
    EXPECT_EQ_INT(c.tokens_per_image, 576);   // (336 / 14)² with the CLS row dropped, as the processor counts
    EXPECT_EQ_INT(c.image_seq_length, 576);
    EXPECT_EQ_INT(c.text.V, 32064);
    EXPECT_EQ_INT(c.text.C, 4096);
    EXPECT_EQ_INT(c.vision.C, 1024);
    EXPECT_EQ_INT(c.vision.n_layer, 24);
}

TEST(llava_config_refusals) {
    static const MtRefusal bad[] = {
        {"{\"model_type\": \"llava\", \"vision_feature_layer\": [-2, -5], " V32064 "}", "list-valued"},
        {"{\"model_type\": \"llava\", \"vision_feature_layer\": -30, " V32064 "}", "outside"},
        {"{\"model_type\": \"llava\", \"vision_feature_select_strategy\": \"cls\", " V32064 "}", "cls"},
        {"{\"model_type\": \"llava\", \"projector_hidden_act\": \"relu\", " V32064 "}", "relu"},
        {"{\"model_type\": \"llava\", \"image_token_index\": 32000}", "image_token_index"},   // default vocab 32000
        {"{\"model_type\": \"llava\"}", "outside the text vocabulary"},   // HF's bare LlavaConfig() cannot embed it either
        {"{\"model_type\": \"llava\", \"text_config\": {\"vocab_size\": 100}}", "32000"},
        {"{\"model_type\": \"llava\", \"multimodal_projector_bias\": 1, " V32064 "}", "multimodal_projector_bias"},
        {"{\"model_type\": \"llama\"}", "not a LLaVA config"},
    };
    LlavaConfig refused;
    MT_EXPECT_REFUSALS(parse, &refused, bad, NULL);
    LlavaConfig c;
    LpoiErr err = {{0}};
    EXPECT_MSG(parse_llava("{\"model_type\": \"llava\", \"image_token_id\": 5, \"vision_feature_select_strategy\": \"full\","
                           " \"vision_feature_layer\": 3}", &c, &err), "%s", err.msg);
    EXPECT_EQ_INT(c.image_token, 5);
    EXPECT_EQ_INT(c.tokens_per_image, 577);
    EXPECT_EQ_INT(c.feature_k, 3);
}

// ---- the real inventory -------------------------------------------------------------------------
static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const StTensor *const *)a)->name, (*(const StTensor *const *)b)->name);
}

// llava-1.5-7b's shapes, written down from the model card (CLIP ViT-L/14-336 + Vicuna-7B), not
// from our spec code: the independent side of the binding test.
static int real_shape(const char *n, uint64_t *s) {
    const uint64_t Cv = 1024, Fv = 4096, C = 4096, F = 11008, V = 32064;
#define SET1(a) (s[0] = (a), 1)
#define SET2(a, b) (s[0] = (a), s[1] = (b), 2)
    if (strstr(n, "patch_embedding")) { s[0] = Cv; s[1] = 3; s[2] = 14; s[3] = 14; return 4; }
    if (strstr(n, "position_embedding")) return SET2(577, Cv);
    if (strstr(n, "vision_tower.")) {
        if (strstr(n, "fc1.weight")) return SET2(Fv, Cv);
        if (strstr(n, "fc1.bias")) return SET1(Fv);
        if (strstr(n, "fc2.weight")) return SET2(Cv, Fv);
        if (strstr(n, "_proj.weight")) return SET2(Cv, Cv);
        return SET1(Cv);   // biases, layer norms, class embedding
    }
    if (strstr(n, "linear_1.weight")) return SET2(C, Cv);
    if (strstr(n, "linear_2.weight")) return SET2(C, C);
    if (strstr(n, "multi_modal_projector")) return SET1(C);
    if (strstr(n, "embed_tokens") || strstr(n, "lm_head")) return SET2(V, C);
    if (strstr(n, "norm")) return SET1(C);
    if (strstr(n, "gate_proj") || strstr(n, "up_proj")) return SET2(F, C);
    if (strstr(n, "down_proj")) return SET2(C, F);
    return SET2(C, C);
#undef SET1
#undef SET2
}

// Every one of the 686 real tensor names binds with the shape the real config implies, and the
// config implies nothing else: resolved by the binder itself over the real names (F16, no data).
TEST(llava_real_index_binds) {
    LlavaConfig c;
    JsonDoc *doc;
    const JsonValue *map = mt_real_llava_index(parse, &c, &doc);
    if (!map) return;
    StFile f;
    memset(&f, 0, sizeof f);
    f.count = map->count;
    f.tensors = calloc_check(f.count, sizeof *f.tensors);
    f.by_name = calloc_check(f.count, sizeof *f.by_name);
    for (size_t i = 0; i < f.count; i++) {
        StTensor *t = &f.tensors[i];
        t->name = map->keys[i];
        t->dtype = DTYPE_F16;
        t->ndim = real_shape(t->name, t->shape);
        t->numel = 1;
        for (int d = 0; d < t->ndim; d++) t->numel *= t->shape[d];
        f.by_name[i] = t;
    }
    qsort(f.by_name, f.count, sizeof *f.by_name, cmp_name);
    WeightPlan plan = {0};
    llava_weight_specs(&c, &plan.specs);
    EXPECT_EQ_INT(plan.specs.n, 686);
    WeightSource src = {.file = &f, .prefix = "", .what = "index"};
    WeightRules every = {.owned = {""}};
    char msg[480];
    EXPECT_MSG(weights_plan(&plan, &src, &every), "%s", weights_errors_text(&plan.errors, msg, sizeof msg));
    // The parts find their spellings in it.
    EXPECT(st_find(&f, "vision_tower.vision_model.embeddings.patch_embedding.weight"));
    EXPECT(st_find(&f, "vision_tower.vision_model.post_layernorm.weight"));   // bound, unused by LLaVA
    EXPECT(st_find(&f, "multi_modal_projector.linear_2.bias"));
    EXPECT(st_find(&f, "language_model.lm_head.weight"));
    // A damaged inventory is reported: one shape off, one name gone.
    ((StTensor *)f.by_name[7])->shape[0] += 1;   // test-owned memory
    const char *gone = f.by_name[100]->name;
    ((StTensor *)f.by_name[100])->name = "zzz.unknown";
    EXPECT(!weights_plan(&plan, &src, &every));
    weights_errors_text(&plan.errors, msg, sizeof msg);
    EXPECT_MSG(strstr(msg, "1 missing") && strstr(msg, gone) && strstr(msg, "1 unexpected (zzz.unknown)") &&
               strstr(msg, "1 mis-shaped"), "%s", msg);
    weights_plan_free(&plan);
    free(f.tensors);
    free(f.by_name);
    json_free(doc);
}

// ---- a tiny random LLaVA --------------------------------------------------------------------------
typedef struct {
    Backend *be;
    LlavaConfig cfg;
    LlavaModel m;
    MtScratch s;    // the test's backend buffers, freed by tiny_close
} Tiny;

static const MtDamage TO_NEW = {.rename_from = {"vision_tower.vision_model.", "multi_modal_projector.",
                                                "language_model.model.", "language_model.lm_head."},
                                .rename_to = {"model.vision_tower.", "model.multi_modal_projector.",
                                              "model.language_model.", "lm_head."}};

static bool load(void *m, Backend *be, const void *c, const WeightSource *s, LpoiErr *err) { return llava_load(m, be, c, s, err); }

// VT_TINY_LLAVA with random weights in the hub layout, damaged (or renamed) by d.
static bool tiny_open(Tiny *t, const MtDamage *d, uint64_t seed, LpoiErr *err) {
    *t = (Tiny){.be = backend_cpu_create()};
    t->s.be = t->be;
    LpoiErr e = {{0}};
    if (!parse_llava(VT_TINY_LLAVA, &t->cfg, &e)) LPOI_DIE("%s", e.msg);
    WeightSpecs specs = {0};
    llava_weight_specs(&t->cfg, &specs);
    bool ok = vt_load_random("llava", load, &t->m, t->be, &t->cfg, &specs, d, seed, err);
    specs_free(&specs);
    return ok;
}

static void tiny_close(Tiny *t) {
    llava_free(&t->m);
    mt_scratch_free(&t->s);
    backend_destroy(t->be);
}

// Random adapters on every part, in storage order (llava_lora_tensor's).
static void lora_randomize(LlavaModel *m, uint64_t seed) {
    mt_lora_randomize((const LoraSet *[]){&m->vision.lora, &m->proj_lora, &m->lm.lora}, 3, seed);
}

// Two right-padded sequences: [bos, 9 image, 4 text] and [bos, 9 image, text, 9 image, 3 text]:
// 3 images; the scored tokens are the text after the first text token.
#define IMG 37
typedef struct { int B, T, n_images; int32_t ids[2 * 23], mask[2 * 23], labels[2 * 23]; } Batch;
static void tiny_batch(Batch *b) {
    static const int32_t s0[] = {1, IMG, IMG, IMG, IMG, IMG, IMG, IMG, IMG, IMG, 5, 9, 13, 2};
    static const int32_t s1[] = {1, IMG, IMG, IMG, IMG, IMG, IMG, IMG, IMG, IMG, 21, IMG, IMG, IMG, IMG, IMG, IMG, IMG,
                                 IMG, IMG, 30, 3, 17};
    b->B = 2;
    b->T = 23;
    b->n_images = 3;
    const int32_t *s[2] = {s0, s1};
    int len[2] = {(int)LPOI_ARRAY_LEN(s0), (int)LPOI_ARRAY_LEN(s1)};
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < b->T; t++) {
            int k = i * b->T + t;
            b->ids[k] = t < len[i] ? s[i][t] : 0;
            b->mask[k] = t < len[i];
            b->labels[k] = t < len[i] && t > (i ? 20 : 10) ? s[i][t] : -100;
        }
}

TEST(llava_bind_reports_every_problem_once) {
    Tiny t;
    LpoiErr err = {{0}};
    MtDamage d = {.drop = "vision_tower.vision_model.encoder.layers.2.layer_norm2.bias",
                  .extra = "multi_modal_projector.linear_3.weight",
                  .reshape = "language_model.model.layers.1.mlp.down_proj.weight"};
    EXPECT(!tiny_open(&t, &d, 1, &err));
    EXPECT_ERR_HAS(err, "vision tower: ");
    EXPECT_ERR_HAS(err, "1 missing (vision_tower.vision_model.encoder.layers.2.layer_norm2.bias)");
    EXPECT_ERR_HAS(err, "projector: 1 unexpected (multi_modal_projector.linear_3.weight)");
    EXPECT_ERR_HAS(err, "language model: ");
    EXPECT_ERR_HAS(err, "language_model.model.layers.1.mlp.down_proj.weight is [17,20], expected [16,20]");
    backend_destroy(t.be);
    MtDamage d2 = {.extra = "image_newline"};
    EXPECT(!tiny_open(&t, &d2, 1, &err));
    EXPECT_ERR_HAS(err, "not part of a LLaVA model: 1 unexpected (image_newline)");
    backend_destroy(t.be);
}

TEST(llava_image_tokens_checked_and_expanded) {
    LlavaConfig c;
    LpoiErr err = {{0}};
    if (!parse_llava(VT_TINY_LLAVA, &c, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    EXPECT_EQ_INT(c.tokens_per_image, 9);
    Batch b;
    tiny_batch(&b);
    EXPECT_MSG(llava_check_image_tokens(&c, b.ids, b.B, b.T, 3, &err), "%s", err.msg);
    EXPECT(!llava_check_image_tokens(&c, b.ids, b.B, b.T, 4, &err));
    EXPECT_ERR_HAS(err, "too many images");
    EXPECT(!llava_check_image_tokens(&c, b.ids, b.B, b.T, 2, &err));
    EXPECT_ERR_HAS(err, "too few images");
    EXPECT(!llava_check_image_tokens(&c, b.ids, b.B, b.T, 0, &err));
    EXPECT_ERR_HAS(err, "no image was given");
    int32_t text[4] = {1, 5, 6, 7};
    EXPECT(!llava_check_image_tokens(&c, text, 1, 4, 1, &err));
    EXPECT_ERR_HAS(err, "no <image> token (id 37)");
    int32_t lone[4] = {1, IMG, 6, 7};
    EXPECT(!llava_check_image_tokens(&c, lone, 1, 4, 1, &err));
    EXPECT_ERR_HAS(err, "llava_expand_image_tokens");
    // Expansion: a lone <image> becomes 9; whole expanded runs stay; other runs are refused.
    int32_t in[] = {1, IMG, 6, IMG, IMG, IMG, IMG, IMG, IMG, IMG, IMG, IMG, 8, IMG};
    int32_t out[64];
    int n = llava_expand_image_tokens(&c, in, (int)LPOI_ARRAY_LEN(in), out, 64, &err);
    EXPECT_EQ_INT(n, 1 + 9 + 1 + 9 + 1 + 9);
    EXPECT_MSG(llava_check_image_tokens(&c, out, 1, n, 3, &err), "%s", err.msg);
    EXPECT_EQ_INT(out[10], 6);
    EXPECT_EQ_INT(out[20], 8);
    EXPECT_EQ_INT(llava_expand_image_tokens(&c, in, (int)LPOI_ARRAY_LEN(in), out, 20, &err), -1);
    EXPECT_ERR_HAS(err, "more than 20");
    int32_t odd[] = {IMG, IMG, 4};
    EXPECT_EQ_INT(llava_expand_image_tokens(&c, odd, 3, out, 64, &err), -1);
    EXPECT_ERR_HAS(err, "run of 2 image tokens");
}

TEST(llava_lora_targets) {
    LlavaLoraTargets t;
    LpoiErr err = {{0}};
    EXPECT(llava_lora_parse_targets("all-linear", NULL, &t, &err));
    EXPECT_EQ_INT(t.vision, CLIP_LORA_ALL); EXPECT_EQ_INT(t.projector, 3); EXPECT_EQ_INT(t.text, LLAMA_LORA_ALL);
    EXPECT(llava_lora_parse_targets("q_proj,linear_2", NULL, &t, &err));   // PEFT list semantics: both q_proj
    EXPECT_EQ_INT(t.vision, 1u << CLIP_Q); EXPECT_EQ_INT(t.projector, 2); EXPECT_EQ_INT(t.text, 1u << LLAMA_Q);
    EXPECT(llava_lora_parse_targets("vision_tower.q_proj,language_model.down_proj,out_proj,fc2", NULL, &t, &err));
    EXPECT_EQ_INT(t.vision, (1u << CLIP_Q) | (1u << CLIP_O) | (1u << CLIP_FC2));
    EXPECT_EQ_INT(t.projector, 0); EXPECT_EQ_INT(t.text, 1u << LLAMA_DOWN);
    EXPECT(!llava_lora_parse_targets("lm_head", NULL, &t, &err));
    EXPECT_ERR_HAS(err, "lm_head");
    EXPECT(!llava_lora_parse_targets("language_model.fc1", NULL, &t, &err));
    EXPECT(!llava_lora_parse_targets("q_proj,,v_proj", NULL, &t, &err));
}

// Both key layouts bind the same numbers; the merge puts the image rows, in order, at the image
// positions and the token embeddings everywhere else.
TEST(llava_layouts_and_merge) {
    Tiny a, b;
    LpoiErr err = {{0}};
    if (!tiny_open(&a, NULL, 2, &err) || !tiny_open(&b, &TO_NEW, 2, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    EXPECT_STREQ(a.m.vision.prefix, "vision_tower.vision_model.");
    EXPECT_STREQ(b.m.vision.prefix, "model.vision_tower.");
    EXPECT_STREQ(a.m.proj_prefix, "multi_modal_projector.");
    EXPECT_STREQ(b.m.proj_prefix, "model.multi_modal_projector.");
    Batch bt;
    tiny_batch(&bt);
    const ClipConfig *vc = &a.cfg.vision;
    size_t np = (size_t)bt.n_images * vc->ch * vc->S * vc->S;
    float *pa = mt_scratch_random(&a.s, np, 3, NULL), *pb = mt_scratch_random(&b.s, np, 3, NULL);
    LlavaBatch ba = {.B = bt.B, .T = bt.T, .input_ids = bt.ids, .attention_mask = bt.mask, .labels = bt.labels,
                     .n_images = bt.n_images, .pixel_values = pa};
    LlavaBatch bb = ba;
    bb.pixel_values = pb;
    float la[2], lb[2];
    EXPECT_MSG(llava_logps_forward(&a.m, &ba, false, la, &err), "%s", err.msg);
    EXPECT_MSG(llava_logps_forward(&b.m, &bb, false, lb, &err), "%s", err.msg);
    EXPECT(la[0] == lb[0] && la[1] == lb[1]);
    EXPECT(la[0] < 0 && la[1] < 0);
    const int C = a.cfg.text.C, BT = bt.B * bt.T, K = bt.n_images * a.cfg.tokens_per_image;
    float *x0 = mt_fetch(a.be, llava_inputs_embeds(&a.m), (size_t)BT * C);
    float *img = mt_fetch(a.be, llava_image_features(&a.m), (size_t)K * C);
    float *emb = mt_fetch(a.be, a.m.lm.embed, (size_t)a.cfg.text.V * C);
    int k = 0;
    for (int i = 0; i < BT; i++) {
        const float *want = bt.ids[i] == IMG ? img + (size_t)k++ * C : emb + (size_t)bt.ids[i] * C;
        EXPECT_MSG(gc_same_bits(x0 + (size_t)i * C, want, (size_t)C * 4), "row %d", i);
    }
    EXPECT_EQ_INT(k, K);
    // A wrong image count is refused before anything runs.
    ba.n_images = 2;
    EXPECT(!llava_logps_forward(&a.m, &ba, false, la, &err));
    EXPECT_ERR_HAS(err, "too few images");
    free(x0);
    free(img);
    free(emb);
    tiny_close(&a);
    tiny_close(&b);
}

static bool logps(void *m, const void *batch, float *logp, LpoiErr *err) { return llava_logps_forward(m, batch, false, logp, err); }

// LoRA all-linear with A and B random: d pixel_values through the LM, merge, projector and vision
// tower, and every projector A/B, plus layer-0 vision and LM adapters, against finite differences;
// the adapter switch; the adapter written under old module paths loads back.
TEST(llava_fd_lora_and_pixels) {
    Tiny t;
    LpoiErr err = {{0}};
    if (!tiny_open(&t, NULL, 4, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    LlavaLoraTargets tg;
    EXPECT(llava_lora_parse_targets("all-linear", NULL, &tg, &err));
    llava_lora_create(&t.m, 2, 4.0f, &tg);
    size_t nl = llava_lora_count(&t.m);
    EXPECT_EQ_INT(nl, 2 * (3 * 6 + 2 + 2 * 7));
    lora_randomize(&t.m, 5);
    Batch bt;
    tiny_batch(&bt);
    const ClipConfig *vc = &t.cfg.vision;
    size_t np = (size_t)bt.n_images * vc->ch * vc->S * vc->S;
    float *pix = mt_scratch_random(&t.s, np, 6, NULL), *dpix = mt_scratch(&t.s, np);
    LlavaBatch b = {.B = bt.B, .T = bt.T, .input_ids = bt.ids, .attention_mask = bt.mask, .labels = bt.labels,
                    .n_images = bt.n_images, .pixel_values = pix, .grad_pixels = true};
    float dlogp[2] = {0.8f, -1.1f}, logp[2];
    EXPECT_MSG(llava_logps_forward(&t.m, &b, true, logp, &err), "%s", err.msg);
    llava_logps_backward(&t.m, dlogp, dpix);
    MtLogpLoss ctx = {logps, &t.m, &b, dlogp, b.B};
    float *g = mt_fetch(t.be, dpix, np);
    MT_CHECK_FD("d pixel_values", t.be, mt_logp_loss, &ctx, pix, np, g);
    free(g);
    for (size_t i = 0; i < nl; i++) {
        char name[256];
        int64_t shape[2];
        float *p, *gr;
        llava_lora_tensor(&t.m, i, name, sizeof name, shape, &p, &gr);
        bool vision = strstr(name, "vision_tower") != NULL, proj = strstr(name, "projector") != NULL;
        EXPECT_MSG(!strncmp(name, "base_model.model.model.", 23), "%s", name);
        size_t cnt = (size_t)(shape[0] * shape[1]);
        float *a = mt_fetch(t.be, gr, cnt);
        if (vision && strstr(name, "layers.2.")) {   // after the selected layer: never run
            for (size_t j = 0; j < cnt; j++) EXPECT(a[j] == 0.0f);
        } else if (proj || strstr(name, "layers.0.") || (vision && strstr(name, "layers.1.fc"))) {
            MT_CHECK_FD(name, t.be, mt_logp_loss, &ctx, p, cnt, a);
        }
        free(a);
    }
    // Adapter switch: off == the same model without adapters.
    llava_set_lora(&t.m, false);
    float off[2], base[2];
    EXPECT(llava_logps_forward(&t.m, &b, false, off, &err));
    Tiny plain;
    EXPECT(tiny_open(&plain, NULL, 4, &err));
    LlavaBatch pb = b;
    float *pix2 = mt_scratch(&plain.s, np);
    float *h = mt_fetch(t.be, pix, np);
    plain.be->upload(plain.be, pix2, h, np * sizeof(float));
    free(h);
    pb.pixel_values = pix2;
    EXPECT(llava_logps_forward(&plain.m, &pb, false, base, &err));
    EXPECT(off[0] == base[0] && off[1] == base[1]);
    EXPECT(off[0] != logp[0]);
    llava_set_lora(&t.m, true);

    // Save the adapter under the old (hub) module paths and load it into a fresh model.
    char path[] = "/tmp/lpoi_llava_lora_XXXXXX";
    close(mkstemp(path));
    StWriter *w = st_writer_new();
    float **bufs = calloc_check(nl, sizeof *bufs);
    char (*names)[256] = calloc_check(nl, sizeof *names);
    for (size_t i = 0; i < nl; i++) {
        int64_t shape[2];
        float *p;
        char name[256];
        llava_lora_tensor(&t.m, i, name, sizeof name, shape, &p, NULL);
        static const char *const from[] = {"base_model.model.model.vision_tower.", "base_model.model.model.multi_modal_projector.",
                                           "base_model.model.model.language_model."};
        static const char *const to[] = {"base_model.model.vision_tower.vision_model.", "base_model.model.multi_modal_projector.",
                                         "base_model.model.language_model.model."};
        for (int k = 0; k < 3; k++)
            if (!strncmp(name, from[k], strlen(from[k]))) snprintf(names[i], 256, "%s%s", to[k], name + strlen(from[k]));
        bufs[i] = mt_fetch(t.be, p, (size_t)(shape[0] * shape[1]));
        uint64_t s[2] = {(uint64_t)shape[0], (uint64_t)shape[1]};
        st_writer_add_f32(w, names[i], 2, s, bufs[i]);
    }
    EXPECT(st_writer_write(w, path, &err));
    st_writer_free(w);
    llava_lora_create(&plain.m, 2, 4.0f, &tg);
    StFile f;
    EXPECT(st_open(&f, path, &err));
    WeightSource src = {.file = &f, .prefix = "", .what = path};
    EXPECT_MSG(llava_lora_load(&plain.m, &src, &err), "%s", err.msg);
    st_close(&f);
    float again[2];
    EXPECT(llava_logps_forward(&plain.m, &pb, false, again, &err));
    EXPECT(again[0] == logp[0] && again[1] == logp[1]);
    // A stray tensor in the adapter is refused.
    w = st_writer_new();
    for (size_t i = 0; i < nl; i++) {
        int64_t shape[2];
        llava_lora_tensor(&t.m, i, NULL, 0, shape, NULL, NULL);
        uint64_t s[2] = {(uint64_t)shape[0], (uint64_t)shape[1]};
        st_writer_add_f32(w, names[i], 2, s, bufs[i]);
    }
    uint64_t one = 1;
    st_writer_add_f32(w, "base_model.model.image_newline.lora_A.weight", 1, &one, bufs[0]);
    EXPECT(st_writer_write(w, path, &err));
    st_writer_free(w);
    EXPECT(st_open(&f, path, &err));
    EXPECT(!llava_lora_load(&plain.m, &src, &err));
    EXPECT_ERR_HAS(err, "1 unexpected (base_model.model.image_newline.lora_A.weight)");
    st_close(&f);
    remove(path);
    for (size_t i = 0; i < nl; i++) free(bufs[i]);
    free(bufs);
    free(names);
    tiny_close(&plain);
    tiny_close(&t);
}

// LoRA on the language model only (the usual recipe): the vision tower runs forward-only (its arena
// is sized for that) and no vision or projector backward runs; the LM gradients still check out.
TEST(llava_lm_only_skips_vision_backward) {
    Tiny t;
    LpoiErr err = {{0}};
    if (!tiny_open(&t, NULL, 7, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    LlavaLoraTargets tg = {.text = LLAMA_LORA_ALL};
    llava_lora_create(&t.m, 2, 4.0f, &tg);
    lora_randomize(&t.m, 8);
    Batch bt;
    tiny_batch(&bt);
    const ClipConfig *vc = &t.cfg.vision;
    size_t np = (size_t)bt.n_images * vc->ch * vc->S * vc->S;
    float *pix = mt_scratch_random(&t.s, np, 9, NULL);
    LlavaBatch b = {.B = bt.B, .T = bt.T, .input_ids = bt.ids, .attention_mask = bt.mask, .labels = bt.labels,
                    .n_images = bt.n_images, .pixel_values = pix};
    float dlogp[2] = {1.0f, 0.5f}, logp[2];
    EXPECT(llava_logps_forward(&t.m, &b, true, logp, &err));
    EXPECT(t.m.vision.step && t.m.vision.acts.capacity > 0);
    size_t vision_arena = t.m.vision.acts.capacity;
    EXPECT(vision_arena <= clip_step_bytes(&t.m.vision, bt.n_images, t.cfg.feature_k, false));   // forward-only plan
    llava_logps_backward(&t.m, dlogp, NULL);
    MtLogpLoss ctx = {logps, &t.m, &b, dlogp, b.B};
    for (size_t i = 0; i < 2; i++) {
        char name[256];
        int64_t shape[2];
        float *p, *gr;
        llava_lora_tensor(&t.m, i, name, sizeof name, shape, &p, &gr);
        float *a = mt_fetch(t.be, gr, (size_t)(shape[0] * shape[1]));
        MT_CHECK_FD(name, t.be, mt_logp_loss, &ctx, p, (size_t)(shape[0] * shape[1]), a);
        free(a);
    }
    tiny_close(&t);
}
