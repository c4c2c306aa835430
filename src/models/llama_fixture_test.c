// llama_fixture_test.c — see llama_fixture_test.h.
#include "models/llama_fixture_test.h"
#include "test/test.h"
#include "base/check.h"
#include "base/json.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool lt_parse_cfg(const char *json, LlamaConfig *c, LpoiErr *err) {
    LpoiErr jerr = {{0}};
    JsonDoc *doc = json_parse(json, strlen(json), &jerr);
    if (!doc) { test_fail_at(__FILE__, __LINE__, "bad test JSON: %s", jerr.msg); return false; }
    bool ok = llama_config_parse(c, json_root(doc), "config.json", err);
    json_free(doc);
    return ok;
}


static float rnd_val(Rng *r, const char *name, int64_t in) {
    if (strstr(name, "norm")) return 1.0f + 0.2f * rng_normal(r);
    if (strstr(name, "embed") || strstr(name, "lm_head")) return 0.7f * rng_normal(r);
    return rng_normal(r) / sqrtf((float)in);
}

void lt_write_model(const char *path, const LlamaConfig *c, const LlamaSpelling *sp, const LtWriteOpts *o, uint64_t seed) {
    WeightSpecs all = {0};
    llama_weight_specs(c, sp, NULL, &all);
    if (c->tie && o->lm_head_when_tied) SPEC2(&all, NULL, c->V, c->C, "%s", sp->lm_head);
    if (o->extra) SPEC1(&all, NULL, 3, "%s", o->extra);
    if (o->foreign) SPEC1(&all, NULL, 5, "%s", o->foreign);
    if (o->inv_freq) SPEC1(&all, NULL, c->D / 2, "%slayers.0.self_attn.rotary_emb.inv_freq", sp->prefix);
    size_t n = all.n;
    WeightSpec *specs = all.v;
    StWriter *w = st_writer_new();
    Rng rng;
    rng_seed(&rng, seed);
    void **bufs = calloc_check(n, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        WeightSpec *s = &specs[i];
        if (o->drop && !strcmp(s->name, o->drop)) continue;
        if (o->reshape && !strcmp(s->name, o->reshape)) s->shape[0] += 1;
        size_t k = (size_t)s->shape[0] * (s->ndim == 2 ? (size_t)s->shape[1] : 1);
        float *f = malloc_check(k * sizeof *f);
        for (size_t j = 0; j < k; j++) f[j] = rnd_val(&rng, s->name, s->ndim == 2 ? s->shape[1] : 1);
        Dtype dt = o->dtype ? o->dtype : DTYPE_F32;
        bufs[i] = malloc_check(k * 4);
        if (dt == DTYPE_I32) for (size_t j = 0; j < k; j++) ((int32_t *)bufs[i])[j] = (int32_t)f[j];
        else dtype_from_f32(bufs[i], dt, f, k);
        free(f);
        uint64_t shape[2] = {(uint64_t)s->shape[0], (uint64_t)s->shape[1]};
        st_writer_add(w, s->name, dt, s->ndim, shape, bufs[i]);
    }
    LpoiErr err = {{0}};
    if (!st_writer_write(w, path, &err)) LPOI_DIE("%s", err.msg);
    st_writer_free(w);
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    specs_free(&all);
}

const char *const LT_TINY_LLAMA =
    "{\"model_type\": \"llama\", \"vocab_size\": 23, \"hidden_size\": 16, \"intermediate_size\": 20,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"rms_norm_eps\": 1e-5}";
const char *const LT_TINY_MISTRAL =
    "{\"model_type\": \"mistral\", \"vocab_size\": 19, \"hidden_size\": 16, \"intermediate_size\": 12,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 1, \"head_dim\": 6,"
    " \"rms_norm_eps\": 1e-5, \"sliding_window\": 3, \"tie_word_embeddings\": true, \"rope_theta\": 300.0}";

bool lt_load_file(LlamaModel *m, Backend *be, const LlamaConfig *c, const char *path, LpoiErr *err) {
    StFile f;
    if (!st_open(&f, path, err)) return false;
    WeightSource src = {.file = &f, .prefix = "", .what = path};
    bool ok = llama_load(m, be, c, &src, err);
    st_close(&f);
    return ok;
}

// Downloads n floats of backend memory.
float *lt_fetch(Backend *be, const float *dev, size_t n) {
    float *h = malloc_check(n * sizeof *h);
    be->download(be, h, dev, n * sizeof *h);
    return h;
}

// A small right-padded batch: lengths T, T-2, .., prompts of 2..3 tokens labelled -100.

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

void lt_lora_randomize(LlamaModel *m, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < llama_lora_count(m); i++) {
        int64_t shape[2];
        float *p;
        llama_lora_tensor(m, i, NULL, 0, shape, &p, NULL);
        size_t k = (size_t)(shape[0] * shape[1]);
        float *h = malloc_check(k * sizeof *h);
        for (size_t j = 0; j < k; j++) h[j] = 0.5f * rng_normal(&r) / sqrtf((float)shape[1]);
        m->be->upload(m->be, p, h, k * sizeof *h);
        free(h);
    }
}

