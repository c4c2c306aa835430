// llama_fixture_test.c — see llama_fixture_test.h.
#include "models/llama_fixture_test.h"
#include "base/check.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool lt_config_parse(void *c, const JsonValue *root, const char *what, LpoiErr *err) { return llama_config_parse(c, root, what, err); }
bool lt_parse_cfg(const char *json, LlamaConfig *c, LpoiErr *err) { return mt_parse(lt_config_parse, json, c, err); }

static float rnd_val(const WeightSpec *s, Rng *r) {
    if (strstr(s->name, "norm")) return 1.0f + 0.2f * rng_normal(r);
    if (strstr(s->name, "embed") || strstr(s->name, "lm_head")) return 0.7f * rng_normal(r);
    return rng_normal(r) / sqrtf((float)(s->ndim == 2 ? s->shape[1] : 1));
}

void lt_write_model(const char *path, const LlamaConfig *c, const LlamaSpelling *sp, const LtWriteOpts *o, uint64_t seed) {
    WeightSpecs all = {0};
    llama_weight_specs(c, sp, NULL, &all);
    if (c->tie && o->lm_head_when_tied) SPEC2(&all, NULL, c->V, c->C, "%s", sp->lm_head);
    if (o->foreign) SPEC1(&all, NULL, 5, "%s", o->foreign);
    if (o->inv_freq) SPEC1(&all, NULL, c->D / 2, "%slayers.0.self_attn.rotary_emb.inv_freq", sp->prefix);
    MtDamage d = {.drop = o->drop, .extra = o->extra, .reshape = o->reshape, .dtype = o->dtype};
    mt_write_specs(path, &all, &d, rnd_val, seed);
    specs_free(&all);
}

const char *const LT_TINY_LLAMA =
    "{\"model_type\": \"llama\", \"vocab_size\": 23, \"hidden_size\": 16, \"intermediate_size\": 20,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"rms_norm_eps\": 1e-5}";
#define TINY_MISTRAL(tie)                                                                                   \
    "{\"model_type\": \"mistral\", \"vocab_size\": 19, \"hidden_size\": 16, \"intermediate_size\": 12,"     \
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 1, \"head_dim\": 6,"   \
    " \"rms_norm_eps\": 1e-5, \"sliding_window\": 3, \"tie_word_embeddings\": " tie ", \"rope_theta\": 300.0}"
const char *const LT_TINY_MISTRAL = TINY_MISTRAL("true");
const char *const LT_TINY_MISTRAL_UNTIED = TINY_MISTRAL("false");

static bool load(void *m, Backend *be, const void *c, const WeightSource *s, LpoiErr *err) { return llama_load(m, be, c, s, err); }
bool lt_load_file(LlamaModel *m, Backend *be, const LlamaConfig *c, const char *path, LpoiErr *err) {
    return model_open_dir(load, m, be, c, path, err);
}

Backend *lt_random_model(LlamaModel *m, LlamaConfig *c, const char *cfg_json, uint64_t seed, int r, float alpha,
                         unsigned targets) {
    LpoiErr err = {{0}};
    if (!lt_parse_cfg(cfg_json, c, &err)) { EXPECT_MSG(0, "%s", err.msg); return NULL; }
    char path[] = "/tmp/lpoi_llama_XXXXXX";
    close(mkstemp(path));
    LtWriteOpts o = {0};
    lt_write_model(path, c, &LLAMA_SPELLINGS[0], &o, seed);
    Backend *be = backend_cpu_create();
    bool ok = lt_load_file(m, be, c, path, &err);
    remove(path);
    if (!ok) { EXPECT_MSG(0, "%s", err.msg); backend_destroy(be); return NULL; }
    if (r > 0) {
        llama_lora_create(m, r, alpha, targets);
        lt_lora_randomize(m, seed + 1);
    }
    return be;
}

void lt_tiny_batch(LtBatch *tb, int B, int T, int V, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    tb->B = B; tb->T = T;
    LPOI_ASSERT(B * T <= 64);
    for (int b = 0; b < B; b++) {
        int len = T - 2 * b, prompt = 2 + b % 2;
        for (int t = 0; t < T; t++) {
            int i = b * T + t;
            tb->ids[i] = t < len ? (int32_t)rng_below(&r, (uint64_t)V) : 0;
            tb->mask[i] = t < len;
            tb->labels[i] = t >= prompt && t < len ? tb->ids[i] : -100;
        }
    }
}

void lt_lora_randomize(LlamaModel *m, uint64_t seed) { mt_lora_randomize((const LoraSet *[]){&m->lora}, 1, seed); }
