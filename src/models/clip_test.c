// clip_test.c — the CLIP vision tower: config defaults and refusals (incl. the real llava-1.5
// vision_config, read from ../shared/data/hf and skipped where absent), weight binding (every
// problem in one error, every key layout), finite-difference checks of d pixel_values through the
// patch embedding and pre_layrnorm alone and through encoder layers, of every LoRA A/B, the
// feature selection's backward, recomputation (bit-identical), and an opt-in timing
// (LPOI_CLIP_BENCH=1: images/s on the tiny config and a CLIP-ViT-B/16-sized one).
#include "models/clip.h"
#include "models/vision_fixture_test.h"
#include "test/test.h"
#include "test/gradcheck.h"
#include "base/check.h"
#include "base/rng.h"
#include "base/file.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LLAVA_DIR "../shared/data/hf/llava-hf__llava-1.5-7b-hf"

static bool parse(void *c, const JsonValue *root, const char *what, LpoiErr *err) { return clip_config_parse(c, root, what, err); }
static bool parse_clip(const char *json, ClipConfig *c, LpoiErr *err) { return mt_parse(parse, json, c, err); }

TEST(clip_config_defaults) {
    ClipConfig c;
    LpoiErr err = {{0}};
    EXPECT_MSG(parse_clip("{\"model_type\": \"clip_vision_model\"}", &c, &err), "%s", err.msg);
    EXPECT_EQ_INT(c.C, 768); EXPECT_EQ_INT(c.F, 3072); EXPECT_EQ_INT(c.n_layer, 12); EXPECT_EQ_INT(c.H, 12);
    EXPECT_EQ_INT(c.D, 64); EXPECT_EQ_INT(c.S, 224); EXPECT_EQ_INT(c.p, 32); EXPECT_EQ_INT(c.P, 49);
    EXPECT_EQ_INT(c.T, 50); EXPECT_EQ_INT(c.ch, 3); EXPECT_EQ_INT(c.act, GELU_QUICK);
    EXPECT_NEAR(c.eps, 1e-5, 0, 1e-6);
    // A LlavaConfig without vision_config: LLaVA's own defaults (CLIP ViT-L/14-336).
    EXPECT_MSG(parse_clip("{\"model_type\": \"llava\"}", &c, &err), "%s", err.msg);
    EXPECT_EQ_INT(c.C, 1024); EXPECT_EQ_INT(c.F, 4096); EXPECT_EQ_INT(c.n_layer, 24); EXPECT_EQ_INT(c.H, 16);
    EXPECT_EQ_INT(c.S, 336); EXPECT_EQ_INT(c.p, 14); EXPECT_EQ_INT(c.P, 576); EXPECT_EQ_INT(c.T, 577);
    // A vision_config that gives some keys: CLIPVisionConfig's defaults for the rest.
    EXPECT_MSG(parse_clip("{\"model_type\": \"llava\", \"vision_config\": {\"hidden_size\": 64, \"num_attention_heads\": 4,"
                          " \"image_size\": [28, 28], \"patch_size\": 14, \"hidden_act\": \"gelu\"}}", &c, &err), "%s", err.msg);
    EXPECT_EQ_INT(c.C, 64); EXPECT_EQ_INT(c.H, 4); EXPECT_EQ_INT(c.n_layer, 12); EXPECT_EQ_INT(c.F, 3072);
    EXPECT_EQ_INT(c.S, 28); EXPECT_EQ_INT(c.p, 14); EXPECT_EQ_INT(c.T, 5);
    EXPECT_EQ_INT(c.act, GELU_ERF);
    EXPECT_EQ_INT(clip_feature_index(&c, -2), 11);
    EXPECT_EQ_INT(clip_feature_index(&c, -1), 12);
    EXPECT_EQ_INT(clip_feature_index(&c, 0), 0);
    EXPECT_EQ_INT(clip_feature_index(&c, -14), -1);
    EXPECT_EQ_INT(clip_feature_index(&c, 13), -1);
}

TEST(clip_config_refusals) {
    static const MtRefusal bad[] = {
        {"{\"model_type\": \"siglip_vision_model\"}", "siglip_vision_model"},
        {"{\"model_type\": \"clip_vision_model\", \"hidden_act\": \"relu\"}", "relu"},
        {"{\"model_type\": \"clip_vision_model\", \"attention_dropout\": 0.1}", "attention_dropout"},
        {"{\"model_type\": \"clip_vision_model\", \"hidden_size\": 10, \"num_attention_heads\": 4}", "not a multiple"},
        {"{\"model_type\": \"clip_vision_model\", \"image_size\": [10, 12]}", "square"},
        {"{\"model_type\": \"clip_vision_model\", \"image_size\": 16, \"patch_size\": 20}", "larger than"},
        {"{\"model_type\": \"clip_vision_model\", \"num_hidden_layers\": -1}", "num_hidden_layers"},
        {"{\"model_type\": \"llava\", \"vision_config\": {\"model_type\": \"siglip_vision_model\"}}", "vision_config"},
        {"{\"model_type\": \"llava\", \"vision_config\": 3}", "vision_config"},
        {"{\"model_type\": \"bert\"}", "bert"},
    };
    ClipConfig refused;
    MT_EXPECT_REFUSALS(parse, &refused, bad, "config.json");
}

TEST(clip_config_real_llava) {
    if (access(LLAVA_DIR "/config.json", R_OK)) { test_skip("../shared/data/hf is absent"); return; }
    LpoiErr err = {{0}};
    ClipConfig c;
    EXPECT_MSG(model_config_read(LLAVA_DIR, parse, &c, &err), "%s", err.msg);
    EXPECT_EQ_INT(c.C, 1024); EXPECT_EQ_INT(c.F, 4096); EXPECT_EQ_INT(c.n_layer, 24); EXPECT_EQ_INT(c.H, 16);
    EXPECT_EQ_INT(c.D, 64); EXPECT_EQ_INT(c.S, 336); EXPECT_EQ_INT(c.p, 14); EXPECT_EQ_INT(c.G, 24);
    EXPECT_EQ_INT(c.P, 576); EXPECT_EQ_INT(c.T, 577); EXPECT_EQ_INT(c.act, GELU_QUICK);
    EXPECT_EQ_INT(clip_feature_index(&c, -2), 23);
    WeightSpecs specs = {0};
    clip_weight_specs(&c, "vision_tower.vision_model.", NULL, &specs);
    EXPECT_EQ_INT(specs.n, 5 + 16 * 24 + 2);
    specs_free(&specs);
}

// ---- a tiny random tower ------------------------------------------------------------------------
typedef struct {
    Backend *be;
    ClipConfig cfg;
    ClipModel m;
    MtScratch s;    // the test's backend buffers, freed by tiny_close
} Tiny;

static bool load(void *m, Backend *be, const void *c, const WeightSource *s, LpoiErr *err) { return clip_load(m, be, c, s, err); }

// VT_TINY_CLIP with random weights under prefix, damaged by d.
static bool tiny_open(Tiny *t, const char *prefix, const MtDamage *d, uint64_t seed, LpoiErr *err) {
    *t = (Tiny){.be = backend_cpu_create()};
    t->s.be = t->be;
    LpoiErr e = {{0}};
    if (!parse_clip(VT_TINY_CLIP, &t->cfg, &e)) LPOI_DIE("%s", e.msg);
    WeightSpecs specs = {0};
    clip_weight_specs(&t->cfg, prefix, NULL, &specs);
    bool ok = vt_load_random("clip", load, &t->m, t->be, &t->cfg, &specs, d, seed, err);
    specs_free(&specs);
    return ok;
}

static void tiny_close(Tiny *t) {
    clip_free(&t->m);
    mt_scratch_free(&t->s);
    backend_destroy(t->be);
}

TEST(clip_bind_reports_every_problem_once) {
    Tiny t;
    LpoiErr err = {{0}};
    MtDamage d = {.drop = "vision_model.encoder.layers.1.mlp.fc2.bias",
                  .extra = "vision_model.encoder.layers.7.self_attn.q_proj.weight",
                  .reshape = "vision_model.embeddings.position_embedding.weight"};
    EXPECT(!tiny_open(&t, "vision_model.", &d, 3, &err));
    EXPECT_ERR_HAS(err, "1 missing (vision_model.encoder.layers.1.mlp.fc2.bias)");
    EXPECT_ERR_HAS(err, "1 unexpected (vision_model.encoder.layers.7.self_attn.q_proj.weight)");
    EXPECT_ERR_HAS(err, "vision_model.embeddings.position_embedding.weight is [11,8], expected [10,8]");
    EXPECT_ERR_HAS(err, "/tmp/lpoi_clip_");
    backend_destroy(t.be);
    // No tower at all.
    MtDamage d2 = {.rename_from = {"vision_model."}, .rename_to = {"visual."}};
    EXPECT(!tiny_open(&t, "vision_model.", &d2, 3, &err));
    EXPECT_ERR_HAS(err, "no CLIP vision tower");
    backend_destroy(t.be);
}

// The same random weights under every key layout give bit-identical hidden states.
TEST(clip_bind_every_spelling) {
    float *ref = NULL;
    size_t n = 0;
    for (size_t s = 0; s < CLIP_NPREFIXES; s++) {
        Tiny t;
        LpoiErr err = {{0}};
        MtDamage d = {.rename_from = {"vision_model."}, .rename_to = {CLIP_PREFIXES[s]}};
        if (!tiny_open(&t, "vision_model.", &d, 5, &err)) { EXPECT_MSG(0, "%s: %s", CLIP_PREFIXES[s], err.msg); continue; }
        EXPECT_STREQ(t.m.prefix, CLIP_PREFIXES[s]);
        int N = 2;
        n = (size_t)N * t.cfg.T * t.cfg.C;
        size_t np = (size_t)N * 3 * t.cfg.S * t.cfg.S;
        float *pix = mt_scratch_random(&t.s, np, 9, NULL);
        EXPECT(clip_forward(&t.m, pix, N, t.cfg.n_layer, false, &err));
        float *h = mt_fetch(t.be, clip_hidden(&t.m, t.cfg.n_layer), n);
        if (!ref) ref = h;
        else { EXPECT(gc_same_bits(h, ref, n * sizeof(float))); free(h); }
        tiny_close(&t);
    }
    free(ref);
}

// ---- finite differences ---------------------------------------------------------------------------
typedef struct {
    Tiny *t;
    const float *pix;     // backend
    int n, k;
    const float *dout;    // host [n,T,C] or [n,P,C] (features)
    bool features;
    ClipSelect sel;
    float *feat;          // backend
} Fd;

static double fd_loss(void *p) {
    Fd *c = p;
    LpoiErr err = {{0}};
    const ClipConfig *cfg = &c->t->cfg;
    size_t cnt;
    float *h;
    if (c->features) {
        if (!clip_features_forward(&c->t->m, c->pix, c->n, c->k, c->sel, false, c->feat, &err)) LPOI_DIE("%s", err.msg);
        cnt = (size_t)c->n * clip_features_per_image(cfg, c->sel) * cfg->C;
        h = mt_fetch(c->t->be, c->feat, cnt);
    } else {
        if (!clip_forward(&c->t->m, c->pix, c->n, c->k, false, &err)) LPOI_DIE("%s", err.msg);
        cnt = (size_t)c->n * cfg->T * cfg->C;
        h = mt_fetch(c->t->be, clip_hidden(&c->t->m, c->k), cnt);
    }
    double L = 0;
    for (size_t i = 0; i < cnt; i++) L += (double)c->dout[i] * h[i];
    free(h);
    return L;
}

// Pixels past the last whole patch (image 14, patch 4: columns and rows 12, 13) never reach the
// output: their gradient must be exactly zero.
static void expect_leftover_zero(const ClipConfig *c, const float *dpix, int n) {
    for (int i = 0; i < n * c->ch; i++)
        for (int y = 0; y < c->S; y++)
            for (int x = 0; x < c->S; x++)
                if (y >= c->G * c->p || x >= c->G * c->p)
                    EXPECT(dpix[((size_t)i * c->S + y) * c->S + x] == 0.0f);
}

// hidden_states[0] = pre_layrnorm(patch conv + class + positions): d pixel_values alone.
TEST(clip_fd_patch_embedding_and_pre_layrnorm) {
    Tiny t;
    LpoiErr err = {{0}};
    if (!tiny_open(&t, "", NULL, 7, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    const ClipConfig *c = &t.cfg;
    const int n = 2;
    size_t np = (size_t)n * c->ch * c->S * c->S, nh = (size_t)n * c->T * c->C;
    float *pix = mt_scratch_random(&t.s, np, 1, NULL), *dout;
    float *ddev = mt_scratch_random(&t.s, nh, 2, &dout), *dpix = mt_scratch(&t.s, np);
    EXPECT(clip_forward(&t.m, pix, n, 0, true, &err));
    clip_backward(&t.m, ddev, dpix);
    float *g = mt_fetch(t.be, dpix, np);
    Fd ctx = {&t, pix, n, 0, dout, false, CLIP_SELECT_FULL, NULL};
    MT_CHECK_FD("d pixel_values (embeddings only)", t.be, fd_loss, &ctx, pix, np, g);
    expect_leftover_zero(c, g, n);
    free(g);
    free(dout);
    tiny_close(&t);
}

// Through 2 of 3 layers (feature layer -2), LoRA on everything: d pixel_values and every A/B; the
// unused last layer's adapters get exactly zero; recomputation gives bit-identical gradients.
TEST(clip_fd_layers_lora_and_pixels) {
    Tiny t;
    LpoiErr err = {{0}};
    if (!tiny_open(&t, "vision_tower.vision_model.", NULL, 8, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    const ClipConfig *c = &t.cfg;
    clip_lora_create(&t.m, 3, 6.0f, CLIP_LORA_ALL);
    mt_lora_randomize((const LoraSet *[]){&t.m.lora}, 1, 4);
    const int n = 2, k = clip_feature_index(c, -2);
    EXPECT_EQ_INT(k, 2);
    size_t np = (size_t)n * c->ch * c->S * c->S, nh = (size_t)n * c->T * c->C;
    float *pix = mt_scratch_random(&t.s, np, 3, NULL), *dout;
    float *ddev = mt_scratch_random(&t.s, nh, 4, &dout), *dpix = mt_scratch(&t.s, np);
    EXPECT(clip_forward(&t.m, pix, n, k, true, &err));
    clip_backward(&t.m, ddev, dpix);
    float *g = mt_fetch(t.be, dpix, np), *lg = mt_fetch(t.be, t.m.lora.grad, t.m.lora.floats);
    Fd ctx = {&t, pix, n, k, dout, false, CLIP_SELECT_FULL, NULL};
    MT_CHECK_FD("d pixel_values", t.be, fd_loss, &ctx, pix, np, g);
    expect_leftover_zero(c, g, n);
    for (size_t i = 0; i < clip_lora_count(&t.m); i++) {
        char name[200];
        int64_t shape[2];
        float *p, *gr;
        clip_lora_tensor(&t.m, i, "model.vision_tower.", name, sizeof name, shape, &p, &gr);
        size_t cnt = (size_t)(shape[0] * shape[1]);
        const float *a = lg + (gr - t.m.lora.grad);
        if (strstr(name, "layers.2.")) {
            for (size_t j = 0; j < cnt; j++) EXPECT(a[j] == 0.0f);
            continue;
        }
        MT_CHECK_FD(name, t.be, fd_loss, &ctx, p, cnt, a);
    }
    // Recomputation: the same gradients, bit for bit.
    clip_lora_zero_grad(&t.m);
    t.m.recompute = true;
    EXPECT(clip_forward(&t.m, pix, n, k, true, &err));
    clip_backward(&t.m, ddev, dpix);
    float *g2 = mt_fetch(t.be, dpix, np), *lg2 = mt_fetch(t.be, t.m.lora.grad, t.m.lora.floats);
    EXPECT(gc_same_bits(g, g2, np * sizeof(float)));
    EXPECT(gc_same_bits(lg, lg2, t.m.lora.floats * sizeof(float)));
    // Recomputation keeps one layer's activations, not every layer's.
    size_t rec_bytes = clip_step_bytes(&t.m, n, k, true);
    t.m.recompute = false;
    EXPECT(rec_bytes < clip_step_bytes(&t.m, n, k, true));
    // The adapter switch: off gives the base model (B ≠ 0 makes them differ).
    EXPECT(clip_forward(&t.m, pix, n, k, false, &err));
    float *on = mt_fetch(t.be, clip_hidden(&t.m, k), nh);
    t.m.lora_on = false;
    EXPECT(clip_forward(&t.m, pix, n, k, false, &err));
    float *off = mt_fetch(t.be, clip_hidden(&t.m, k), nh);
    EXPECT(!gc_same_bits(on, off, nh * sizeof(float)));
    free(on);
    free(off);
    free(g);
    free(g2);
    free(lg);
    free(lg2);
    free(dout);
    tiny_close(&t);
}

// LLaVA's feature selection: "default" is hidden_states[k] without the CLS rows, "full" all of
// them; the backward scatters into the right rows (finite differences on pixel_values).
TEST(clip_features_select_and_backward) {
    Tiny t;
    LpoiErr err = {{0}};
    if (!tiny_open(&t, "", NULL, 9, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    const ClipConfig *c = &t.cfg;
    const int n = 3, k = 1;
    size_t np = (size_t)n * c->ch * c->S * c->S;
    float *pix = mt_scratch_random(&t.s, np, 5, NULL);
    float *feat = mt_scratch(&t.s, (size_t)n * c->T * c->C);
    EXPECT_EQ_INT(clip_features_per_image(c, CLIP_SELECT_DEFAULT), c->P);
    EXPECT_EQ_INT(clip_features_per_image(c, CLIP_SELECT_FULL), c->T);
    EXPECT(clip_features_forward(&t.m, pix, n, k, CLIP_SELECT_DEFAULT, false, feat, &err));
    float *f = mt_fetch(t.be, feat, (size_t)n * c->P * c->C), *h = mt_fetch(t.be, clip_hidden(&t.m, k), (size_t)n * c->T * c->C);
    for (int i = 0; i < n; i++)
        EXPECT(gc_same_bits(f + (size_t)i * c->P * c->C, h + ((size_t)i * c->T + 1) * c->C, (size_t)c->P * c->C * 4));
    free(f);
    free(h);
    for (int s = 0; s < 2; s++) {
        ClipSelect sel = s ? CLIP_SELECT_FULL : CLIP_SELECT_DEFAULT;
        size_t nf = (size_t)n * clip_features_per_image(c, sel) * c->C;
        float *dout, *ddev = mt_scratch_random(&t.s, nf, 6 + s, &dout), *dpix = mt_scratch(&t.s, np);
        EXPECT(clip_features_forward(&t.m, pix, n, k, sel, true, feat, &err));
        clip_features_backward(&t.m, ddev, dpix);
        float *g = mt_fetch(t.be, dpix, np);
        Fd ctx = {&t, pix, n, k, dout, true, sel, feat};
        MT_CHECK_FD(s ? "d pixel_values (full)" : "d pixel_values (default)", t.be, fd_loss, &ctx, pix, np, g);
        free(g);
        free(dout);
    }
    EXPECT(!clip_forward(&t.m, pix, n, c->n_layer + 1, false, &err));
    EXPECT_ERR_HAS(err, "cannot run");
    EXPECT(!clip_forward(&t.m, pix, 0, 1, false, &err));
    tiny_close(&t);
}

// ---- timing (opt-in) ---------------------------------------------------------------------------
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Images/s of the full tower forward (all layers) for a config, random weights, batch n.
static void bench(const char *label, const char *json, int n, int reps) {
    Backend *be = backend_cpu_create();
    ClipConfig c;
    LpoiErr err = {{0}};
    if (!parse_clip(json, &c, &err)) { EXPECT_MSG(0, "%s", err.msg); backend_destroy(be); return; }
    WeightSpecs specs = {0};
    clip_weight_specs(&c, "", NULL, &specs);
    ClipModel m;
    EXPECT_MSG(vt_load_random("clip_bench", load, &m, be, &c, &specs, NULL, 1, &err), "%s", err.msg);
    specs_free(&specs);
    MtScratch s = {.be = be};
    size_t np = (size_t)n * c.ch * c.S * c.S;
    float *pix = mt_scratch_random(&s, np, 1, NULL);
    EXPECT(clip_forward(&m, pix, n, c.n_layer, false, &err));   // warm-up (arena sizing)
    double t0 = now_s();
    for (int i = 0; i < reps; i++) clip_forward(&m, pix, n, c.n_layer, false, &err);
    double fwd = (now_s() - t0) / reps;
    clip_lora_create(&m, 8, 16.0f, CLIP_LORA_ALL);
    float *dh = mt_scratch(&s, (size_t)n * c.T * c.C), *dpix = mt_scratch(&s, np);
    be->fill_zero(be, dh, (size_t)n * c.T * c.C * sizeof(float));
    t0 = now_s();
    for (int i = 0; i < reps; i++) {
        clip_forward(&m, pix, n, c.n_layer, true, &err);
        clip_backward(&m, dh, dpix);
    }
    double step = (now_s() - t0) / reps;
    printf("    %s (%s): forward %.2f images/s, forward+backward (LoRA r=8 all, d pixels) %.2f images/s\n", label,
           be->device, n / fwd, n / step);
    mt_scratch_free(&s);
    clip_free(&m);
    backend_destroy(be);
}

TEST(clip_bench_images_per_second) {
    if (!getenv("LPOI_CLIP_BENCH")) { test_skip("set LPOI_CLIP_BENCH=1 to time the vision tower"); return; }
    bench("tiny (golden llava_tiny vision: 32 wide, 3 layers, 28 px / 14)",
          "{\"model_type\": \"clip_vision_model\", \"hidden_size\": 32, \"intermediate_size\": 40,"
          " \"num_hidden_layers\": 3, \"num_attention_heads\": 4, \"image_size\": 28, \"patch_size\": 14}", 16, 50);
    bench("CLIP-ViT-B/16-sized (768 wide, 12 layers, 224 px / 16)",
          "{\"model_type\": \"clip_vision_model\", \"hidden_size\": 768, \"intermediate_size\": 3072,"
          " \"num_hidden_layers\": 12, \"num_attention_heads\": 12, \"image_size\": 224, \"patch_size\": 16}", 2, 2);
}
