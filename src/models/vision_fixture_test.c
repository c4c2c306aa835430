// vision_fixture_test.c — see vision_fixture_test.h.
#include "models/vision_fixture_test.h"
#include "base/check.h"
#include "base/rng.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const VT_TINY_CLIP =
    "{\"model_type\": \"clip_vision_model\", \"hidden_size\": 8, \"intermediate_size\": 12, \"num_hidden_layers\": 3,"
    " \"num_attention_heads\": 2, \"image_size\": 14, \"patch_size\": 4, \"layer_norm_eps\": 1e-5}";

const char *const VT_TINY_LLAVA =
    "{\"model_type\": \"llava\", \"image_token_index\": 37, \"vision_feature_layer\": -2,"
    " \"vision_config\": {\"model_type\": \"clip_vision_model\", \"hidden_size\": 8, \"intermediate_size\": 12,"
    "   \"num_hidden_layers\": 3, \"num_attention_heads\": 2, \"image_size\": 12, \"patch_size\": 4},"
    " \"text_config\": {\"model_type\": \"llama\", \"vocab_size\": 40, \"hidden_size\": 16, \"intermediate_size\": 20,"
    "   \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"rms_norm_eps\": 1e-5}}";

static float rnd_val(const WeightSpec *s, Rng *r) {
    const char *name = s->name;
    bool weight = strstr(name, ".weight") != NULL;
    if ((strstr(name, "norm") || strstr(name, "layrnorm")) && weight) return 1.0f + 0.2f * rng_normal(r);
    if (strstr(name, ".bias")) return 0.1f * rng_normal(r);
    if (strstr(name, "class_embedding") || strstr(name, "position_embedding")) return 0.5f * rng_normal(r);
    if (strstr(name, "embed_tokens")) return rng_normal(r);
    int64_t fan_in = 1;
    for (int d = 1; d < s->ndim; d++) fan_in *= s->shape[d];
    return rng_normal(r) / sqrtf((float)fan_in);
}

void vt_write_specs(const char *path, const WeightSpecs *specs, const MtDamage *d, uint64_t seed) {
    mt_write_specs(path, specs, d, rnd_val, seed);
}

bool vt_load_random(const char *name, ModelLoad load, void *m, Backend *be, const void *cfg, const WeightSpecs *specs,
                    const MtDamage *d, uint64_t seed, LpoiErr *err) {
    return mt_load_random(name, load, m, be, cfg, specs, d, rnd_val, seed, err);
}
