// siglip_test.c — the Idefics2 vision encoder: the bucketised position ids (values from torch
// 2.15's arange + bucketize, including a grid where plain float rounding of the boundaries buckets a
// patch differently), binding errors, and finite differences of d pixel_values and every LoRA A/B
// on a padded batch of two image sizes (padded patches are keys of nobody), with recomputation
// bit-identical. Parity with HF is the model.siglip golden cases' job.
#include "models/siglip.h"
#include "models/vision_fixture_test.h"
#include "test/test.h"
#include "test/gradcheck.h"
#include "base/check.h"
#include <stdlib.h>
#include <string.h>

TEST(siglip_position_ids_match_torch) {
    SiglipConfig c = {.G = 20};
    int32_t pos[25 * 2];
    // torch: bucketize(clamp(arange(25) · (1/25), max=1−1e-6), arange(1/20, 1, 1/20), right=True)
    static const int want20[25] = {0, 0, 1, 2, 3, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 12, 13, 14, 15, 15, 16, 17, 18, 19};
    siglip_position_ids(&c, NULL, 25, 1, pos);
    for (int y = 0; y < 25; y++) EXPECT_MSG(pos[y] == want20[y] * 20, "row %d: %d, expected %d", y, pos[y], want20[y] * 20);
    c.G = 70;   // idefics2-8b: 27 patch rows of a 378-px side
    static const int want70[27] = {0, 2, 5, 7, 10, 12, 15, 18, 20, 23, 25, 28, 31, 33, 36, 38, 41, 44, 46, 49, 51, 54, 57,
                                   59, 62, 64, 67};
    siglip_position_ids(&c, NULL, 1, 27, pos);
    for (int x = 0; x < 27; x++) EXPECT_EQ_INT(pos[x], want70[x]);
    // A padded grid: real 2 x 1 of 3 x 2; the padded patches take position 0.
    c.G = 4;
    const uint8_t mask[6] = {1, 0, 1, 0, 0, 0};
    siglip_position_ids(&c, mask, 3, 2, pos);
    static const int want_pad[6] = {0, 0, 2 * 4, 0, 0, 0};
    for (int k = 0; k < 6; k++) EXPECT_EQ_INT(pos[k], want_pad[k]);
}

// ---- a tiny random encoder ---------------------------------------------------------------------
// 8 wide, 2 heads, 2 layers, position table 3 x 3 (image 12 / patch 4), gelu tanh.
static const char *const TINY = "{\"hidden_size\": 8, \"intermediate_size\": 12, \"num_hidden_layers\": 2,"
                                " \"num_attention_heads\": 2, \"image_size\": 12, \"patch_size\": 4}";

typedef struct {
    Backend *be;
    SiglipConfig cfg;
    SiglipModel m;
    MtScratch s;
} Tiny;

static bool load(void *m, Backend *be, const void *c, const WeightSource *src, LpoiErr *err) {
    WeightPlan p;
    char msg[480];
    if (!siglip_plan(m, c, "model.vision_model.", src, &p, msg, sizeof msg)) return err_set(err, "%s", msg);
    return siglip_bind(m, be, &p, err);
}

static bool tiny_open(Tiny *t, const MtDamage *d, uint64_t seed, LpoiErr *err) {
    *t = (Tiny){.be = backend_cpu_create()};
    t->s.be = t->be;
    JsonDoc *doc = mt_json(TINY);
    LpoiErr e = {{0}};
    if (!siglip_config_parse(&t->cfg, json_root(doc), "tiny", &e)) LPOI_DIE("%s", e.msg);
    json_free(doc);
    WeightSpecs specs = {0};
    siglip_weight_specs(&t->cfg, "model.vision_model.", NULL, &specs);
    bool ok = vt_load_random("siglip", load, &t->m, t->be, &t->cfg, &specs, d, seed, err);
    specs_free(&specs);
    return ok;
}

static void tiny_close(Tiny *t) {
    siglip_free(&t->m);
    mt_scratch_free(&t->s);
    backend_destroy(t->be);
}

TEST(siglip_bind_reports_every_problem_once) {
    Tiny t;
    LpoiErr err = {{0}};
    MtDamage d = {.drop = "model.vision_model.embeddings.patch_embedding.bias",
                  .extra = "model.vision_model.encoder.layers.5.mlp.fc1.bias",
                  .reshape = "model.vision_model.embeddings.position_embedding.weight"};
    EXPECT(!tiny_open(&t, &d, 3, &err));
    EXPECT_ERR_HAS(err, "1 missing (model.vision_model.embeddings.patch_embedding.bias)");
    EXPECT_ERR_HAS(err, "1 unexpected (model.vision_model.encoder.layers.5.mlp.fc1.bias)");
    EXPECT_ERR_HAS(err, "position_embedding.weight is [10,8], expected [9,8]");
    backend_destroy(t.be);
}

// ---- finite differences ---------------------------------------------------------------------------
// Two images in a 14 x 18 pixel batch (3 x 4 patches, 2 px past the last patch each way); the second
// has 2 x 3 real patches.
enum { N_IMG = 2, HPX = 14, WPX = 18, GH = 3, GW = 4 };
static const uint8_t MASK[N_IMG * GH * GW] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                              1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0};

typedef struct {
    Tiny *t;
    const float *pix;
    const float *dout;    // host [n, P, C]
} Fd;

static double fd_loss(void *p) {
    Fd *c = p;
    LpoiErr err = {{0}};
    if (!siglip_forward(&c->t->m, c->pix, N_IMG, HPX, WPX, MASK, false, &err)) LPOI_DIE("%s", err.msg);
    size_t cnt = (size_t)N_IMG * GH * GW * c->t->cfg.C;
    float *h = mt_fetch(c->t->be, siglip_output(&c->t->m), cnt);
    double L = 0;
    for (size_t i = 0; i < cnt; i++) L += (double)c->dout[i] * h[i];
    free(h);
    return L;
}

TEST(siglip_fd_lora_and_pixels_padded_batch) {
    Tiny t;
    LpoiErr err = {{0}};
    if (!tiny_open(&t, NULL, 8, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    const SiglipConfig *c = &t.cfg;
    siglip_lora_create(&t.m, 3, 6.0f, CLIP_LORA_ALL);
    mt_lora_randomize((const LoraSet *[]){&t.m.lora}, 1, 4);
    size_t np = (size_t)N_IMG * c->ch * HPX * WPX, nh = (size_t)N_IMG * GH * GW * c->C;
    float *hpix, *pix = mt_scratch_random(&t.s, np, 3, &hpix), *dout;
    float *ddev = mt_scratch_random(&t.s, nh, 4, &dout), *dpix = mt_scratch(&t.s, np);
    EXPECT(siglip_forward(&t.m, pix, N_IMG, HPX, WPX, MASK, true, &err));
    EXPECT_EQ_INT(siglip_tokens(&t.m), GH * GW);
    siglip_backward(&t.m, ddev, dpix);
    float *g = mt_fetch(t.be, dpix, np), *lg = mt_fetch(t.be, t.m.lora.grad, t.m.lora.floats);
    Fd ctx = {&t, pix, dout};
    MT_CHECK_FD("d pixel_values", t.be, fd_loss, &ctx, pix, np, g);
    for (int i = 0; i < N_IMG * c->ch; i++)   // pixels past the last whole patch never reach the output
        for (int y = 0; y < HPX; y++)
            for (int x = 0; x < WPX; x++)
                if (y >= GH * c->p || x >= GW * c->p) EXPECT(g[((size_t)i * HPX + y) * WPX + x] == 0.0f);
    for (size_t i = 0; i < lora_count(&t.m.lora); i++) {
        char name[200];
        int64_t shape[2];
        float *p, *gr;
        lora_tensor(&t.m.lora, i, "model.vision_model.", name, sizeof name, shape, &p, &gr);
        MT_CHECK_FD(name, t.be, fd_loss, &ctx, p, (size_t)(shape[0] * shape[1]), lg + (gr - t.m.lora.grad));
    }
    // Recomputation: the same gradients, bit for bit, with less memory.
    lora_zero_grad(&t.m.lora);
    t.m.recompute = true;
    EXPECT(siglip_forward(&t.m, pix, N_IMG, HPX, WPX, MASK, true, &err));
    siglip_backward(&t.m, ddev, dpix);
    float *g2 = mt_fetch(t.be, dpix, np), *lg2 = mt_fetch(t.be, t.m.lora.grad, t.m.lora.floats);
    EXPECT(gc_same_bits(g, g2, np * sizeof(float)));
    EXPECT(gc_same_bits(lg, lg2, t.m.lora.floats * sizeof(float)));
    size_t rec = siglip_step_bytes(&t.m, N_IMG, GH, GW, true);
    t.m.recompute = false;
    EXPECT(rec < siglip_step_bytes(&t.m, N_IMG, GH, GW, true));
    // A padded patch is nobody's key: changing its pixels (image 1, patch row 0, column 3) leaves
    // every real patch's output bit-identical.
    const size_t P = GH * GW, C = (size_t)c->C;
    EXPECT(siglip_forward(&t.m, pix, N_IMG, HPX, WPX, MASK, false, &err));
    float *before = mt_fetch(t.be, siglip_output(&t.m), nh);
    for (int ch = 0; ch < c->ch; ch++)
        for (int y = 0; y < c->p; y++)
            for (int x = 3 * c->p; x < 4 * c->p; x++) hpix[(((size_t)1 * c->ch + ch) * HPX + y) * WPX + x] += 5.0f;
    t.be->upload(t.be, pix, hpix, np * sizeof *hpix);
    EXPECT(siglip_forward(&t.m, pix, N_IMG, HPX, WPX, MASK, false, &err));
    float *after = mt_fetch(t.be, siglip_output(&t.m), nh);
    for (size_t k = 0; k < P; k++)
        if (MASK[P + k]) EXPECT(gc_same_bits(before + (P + k) * C, after + (P + k) * C, C * sizeof(float)));
    EXPECT(!gc_same_bits(before + (P + 3) * C, after + (P + 3) * C, C * sizeof(float)));   // its own row moves
    // Bad shapes are refused.
    EXPECT(!siglip_forward(&t.m, pix, N_IMG, 3, WPX, NULL, false, &err) && strstr(err.msg, "too small"));
    uint8_t no_corner[GH * GW];   // a real region that does not start at the top-left patch
    memcpy(no_corner, MASK, sizeof no_corner);
    no_corner[0] = 0;
    EXPECT(!siglip_forward(&t.m, pix, 1, HPX, WPX, no_corner, false, &err) && strstr(err.msg, "top-left"));
    free(before);
    free(after);
    free(hpix);
    free(g);
    free(g2);
    free(lg);
    free(lg2);
    free(dout);
    tiny_close(&t);
}
