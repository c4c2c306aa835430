// adapter_idefics2_test.c — Idefics2 adapters written and read back by lpoi without Python (the PEFT
// side is tools/test_peft_roundtrip_idefics2.py): every tensor comes back bit for bit under the same
// targets, target_modules is PEFT's list form when list semantics give the targets and a regex
// otherwise, and an adapter tensor of no Idefics2 part is refused naming the file and the tensor.
#include "lpoi/adapter_io.h"
#include "test/test.h"
#include "base/check.h"
#include "base/file.h"
#include "base/rng.h"
#include "base/safetensors.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TINY "testdata/tiny_idefics2"

// Random non-zero values in every adapter tensor (lora_B starts at zero).
static void fill_random(Idefics2Model *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (size_t i = 0; i < idefics2_lora_count(m); i++) {
        int64_t shape[2];
        float *param;
        idefics2_lora_tensor(m, i, NULL, 0, shape, &param, NULL);
        size_t n = (size_t)(shape[0] * shape[1]);
        float *h = malloc_check(n * sizeof *h);
        for (size_t k = 0; k < n; k++) h[k] = 0.3f * rng_normal(&rng);
        m->be->upload(m->be, param, h, n * sizeof *h);
        free(h);
    }
}

static void round_trip(const char *spec, const char *want_targets_prefix) {
    LpoiErr err = {{0}};
    Backend *be = backend_cpu_create();
    Idefics2Model a, b;
    bool ok = idefics2_open(&a, be, TINY, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (!ok) { backend_destroy(be); return; }
    Idefics2LoraTargets t;
    EXPECT_MSG(idefics2_lora_parse_targets(spec, &a.cfg, &t, &err), "%s", err.msg);
    idefics2_lora_create(&a, 4, 8.0f, &t);
    fill_random(&a, 7);
    char dir[128];
    test_tmp_dir(dir, sizeof dir, "i2_adapter");
    EXPECT_MSG(adapter_save_idefics2_dir(&a, dir, TINY, 4, 8.0, &err), "%s", err.msg);
    char *cfg = test_read_text(test_path(dir, "adapter_config.json"));
    EXPECT_MSG(cfg && strstr(cfg, want_targets_prefix), "%s: target_modules: %s", spec, cfg ? cfg : "(none)");
    EXPECT(cfg && strstr(cfg, "\"base_model_name_or_path\": \"" TINY "\""));
    free(cfg);
    ok = idefics2_open(&b, be, TINY, &err) && adapter_load_idefics2_dir(&b, dir, &err);
    EXPECT_MSG(ok, "%s: %s", spec, err.msg);
    if (ok) {
        EXPECT_EQ_INT(b.vision.lora.targets, t.vision);
        EXPECT_EQ_INT(b.connector.mproj_lora.targets, t.modality);
        EXPECT_EQ_INT(b.connector.lora.targets, t.perceiver);
        EXPECT_EQ_INT(b.lm.lora.targets, t.text);
        EXPECT_EQ_INT((int)idefics2_lora_count(&b), (int)idefics2_lora_count(&a));
        for (size_t i = 0; i < idefics2_lora_count(&a) && i < idefics2_lora_count(&b); i++) {
            char na[256], nb[256];
            int64_t sa[2], sb[2];
            float *pa, *pb;
            idefics2_lora_tensor(&a, i, na, sizeof na, sa, &pa, NULL);
            idefics2_lora_tensor(&b, i, nb, sizeof nb, sb, &pb, NULL);
            EXPECT_STREQ(na, nb);
            size_t n = (size_t)(sa[0] * sa[1]);
            EXPECT(sa[0] == sb[0] && sa[1] == sb[1]);
            EXPECT_MSG(!memcmp(pa, pb, n * sizeof(float)), "%s differs after the round trip", na);
        }
    }
    idefics2_free(&b);
    idefics2_free(&a);
    file_rmtree(dir);
    backend_destroy(be);
}

TEST(idefics2_adapter_all_linear_round_trip_as_list) {
    if (access(TINY "/config.json", R_OK)) { test_skip(TINY " not found"); return; }
    round_trip("all-linear", "\"target_modules\": [\"down_proj\", \"fc1\", \"fc2\", \"gate_proj\", \"k_proj\", \"o_proj\", "
                             "\"out_proj\", \"q_proj\", \"up_proj\", \"v_proj\"]");
}

TEST(idefics2_adapter_one_part_targets_round_trip_as_regex) {
    if (access(TINY "/config.json", R_OK)) { test_skip(TINY " not found"); return; }
    // text_model.q_proj alone: the list ["q_proj"] would also adapt SigLIP's and the perceiver's q_proj.
    round_trip("text_model.q_proj,modality_projection.up_proj",
               "\"target_modules\": \"(model\\\\.connector\\\\.modality_projection\\\\.(up_proj)|"
               "model\\\\.text_model\\\\..*\\\\.(q_proj))\"");
}

TEST(idefics2_adapter_stray_part_is_refused) {
    if (access(TINY "/config.json", R_OK)) { test_skip(TINY " not found"); return; }
    const char *names[] = {"base_model.model.model.text_model.layers.0.self_attn.q_proj.lora_A.weight",
                           "base_model.model.model.vision_tower.encoder.layers.0.mlp.fc1.lora_A.weight"};
    Idefics2LoraTargets t;
    LpoiErr err = {{0}};
    EXPECT(!adapter_idefics2_targets_from_names(names, 2, NULL, &t, &err));
    EXPECT_MSG(strstr(err.msg, "vision_tower.encoder.layers.0.mlp.fc1.lora_A.weight: belongs to no part of Idefics2"), "%s",
               err.msg);
    const char *kind[] = {"base_model.model.model.connector.perceiver_resampler.layers.0.self_attn.out_proj.lora_B.weight"};
    EXPECT(!adapter_idefics2_targets_from_names(kind, 1, NULL, &t, &err));
    EXPECT_MSG(strstr(err.msg, "\"out_proj\" is no Linear of the perceiver_resampler."), "%s", err.msg);
}
