// idefics2_connector_test.c — the connector by finite differences: d image features and every LoRA
// A/B of the modality projection and the perceiver, on two images with padded patches; a padded
// patch changes no output. Parity with HF is the model.idefics2_connector golden cases' job.
#include "models/idefics2.h"
#include "models/vision_fixture_test.h"
#include "test/test.h"
#include "test/gradcheck.h"
#include "base/check.h"
#include <stdlib.h>
#include <string.h>

// Vision 6 wide, text 8 wide (projection intermediate 10), perceiver 3 latents, 2 layers, 4 heads of
// 3 over 2 kv heads (its hidden size taken from the text config).
static const char *const TINY =
    "{\"model_type\": \"idefics2\", \"image_token_id\": 5, \"vision_config\": {\"hidden_size\": 6, \"num_attention_heads\": 2},"
    " \"perceiver_config\": {\"resampler_n_latents\": 3, \"resampler_depth\": 2, \"resampler_n_heads\": 4,"
    " \"resampler_head_dim\": 3, \"num_key_value_heads\": 2}, \"text_config\": {\"vocab_size\": 16, \"hidden_size\": 8,"
    " \"intermediate_size\": 10, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1}}";

enum { N_IMG = 2, P = 5 };
static const uint8_t MASK[N_IMG * P] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

static bool load(void *m, Backend *be, const void *cfg, const WeightSource *src, LpoiErr *err) {
    WeightPlan p;
    char msg[480];
    if (!idefics2_connector_plan(m, cfg, "model.connector.", src, &p, msg, sizeof msg)) return err_set(err, "%s", msg);
    return idefics2_connector_bind(m, be, &p, err);
}

typedef struct {
    Idefics2Connector *c;
    const float *feat;
    float *out;
    const float *dout;   // host [n, M, C]
    size_t n_out;
} Fd;

static double fd_loss(void *p) {
    Fd *f = p;
    LpoiErr err = {{0}};
    if (!idefics2_connector_forward(f->c, f->feat, MASK, N_IMG, P, false, f->out, &err)) LPOI_DIE("%s", err.msg);
    float *h = mt_fetch(f->c->be, f->out, f->n_out);
    double L = 0;
    for (size_t i = 0; i < f->n_out; i++) L += (double)f->dout[i] * h[i];
    free(h);
    return L;
}

TEST(idefics2_connector_fd_lora_and_features) {
    Backend *be = backend_cpu_create();
    MtScratch s = {.be = be};
    Idefics2Config cfg;
    LpoiErr err = {{0}};
    JsonDoc *doc = mt_json(TINY);
    if (!idefics2_config_parse(&cfg, json_root(doc), "tiny", &err)) LPOI_DIE("%s", err.msg);
    json_free(doc);
    WeightSpecs specs = {0};
    idefics2_connector_specs(&cfg, "model.connector.", NULL, &specs);
    Idefics2Connector c;
    bool ok = vt_load_random("connector", load, &c, be, &cfg, &specs, NULL, 11, &err);
    specs_free(&specs);
    EXPECT_MSG(ok, "%s", err.msg);
    if (!ok) { backend_destroy(be); return; }
    idefics2_connector_lora_create(&c, 2, 4.0f, lora_all(&MODALITY_LORA_MODULES), lora_all(&PERCEIVER_LORA_MODULES));
    mt_lora_randomize((const LoraSet *[]){&c.mproj_lora, &c.lora}, 2, 5);
    const int M = cfg.perceiver.M, C = cfg.text.C, Cv = cfg.vision.C;
    size_t nf = (size_t)N_IMG * P * Cv, no = (size_t)N_IMG * M * C;
    float *hfeat, *feat = mt_scratch_random(&s, nf, 1, &hfeat), *dout;
    float *ddev = mt_scratch_random(&s, no, 2, &dout), *out = mt_scratch(&s, no), *dfeat = mt_scratch(&s, nf);
    EXPECT(idefics2_connector_forward(&c, feat, MASK, N_IMG, P, true, out, &err));
    idefics2_connector_backward(&c, ddev, dfeat);
    float *g = mt_fetch(be, dfeat, nf);
    Fd ctx = {&c, feat, out, dout, no};
    MT_CHECK_FD("d image features", be, fd_loss, &ctx, feat, nf, g);
    for (size_t k = (size_t)(P + 3) * Cv; k < (size_t)2 * P * Cv; k++) EXPECT(g[k] == 0.0f);   // padded patches
    const LoraSet *sets[2] = {&c.mproj_lora, &c.lora};
    for (int k = 0; k < 2; k++) {
        float *lg = mt_fetch(be, sets[k]->grad, sets[k]->floats);
        for (size_t i = 0; i < lora_count(sets[k]); i++) {
            char name[200];
            int64_t shape[2];
            float *p, *gr;
            lora_tensor(sets[k], i, k ? "model.connector.perceiver_resampler." : "model.connector.modality_projection.",
                        name, sizeof name, shape, &p, &gr);
            MT_CHECK_FD(name, be, fd_loss, &ctx, p, (size_t)(shape[0] * shape[1]), lg + (gr - sets[k]->grad));
        }
        free(lg);
    }
    // A padded patch's features change nothing.
    EXPECT(idefics2_connector_forward(&c, feat, MASK, N_IMG, P, false, out, &err));
    float *before = mt_fetch(be, out, no);
    for (int j = 0; j < Cv; j++) hfeat[(size_t)(P + 4) * Cv + j] += 3.0f;
    be->upload(be, feat, hfeat, nf * sizeof *hfeat);
    EXPECT(idefics2_connector_forward(&c, feat, MASK, N_IMG, P, false, out, &err));
    float *after = mt_fetch(be, out, no);
    EXPECT(gc_same_bits(before, after, no * sizeof(float)));
    free(before);
    free(after);
    free(g);
    free(hfeat);
    free(dout);
    idefics2_connector_free(&c);
    mt_scratch_free(&s);
    backend_destroy(be);
}
