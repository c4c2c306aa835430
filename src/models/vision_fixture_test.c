// vision_fixture_test.c — see vision_fixture_test.h.
#include "models/vision_fixture_test.h"
#include "test/gradcheck.h"
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

JsonDoc *vt_json(const char *text) {
    LpoiErr err = {{0}};
    JsonDoc *doc = json_parse(text, strlen(text), &err);
    if (!doc) LPOI_DIE("bad test JSON: %s", err.msg);
    return doc;
}

static float rnd_val(Rng *r, const char *name, const WeightSpec *s) {
    bool weight = strstr(name, ".weight") != NULL;
    if ((strstr(name, "norm") || strstr(name, "layrnorm")) && weight) return 1.0f + 0.2f * rng_normal(r);
    if (strstr(name, ".bias")) return 0.1f * rng_normal(r);
    if (strstr(name, "class_embedding") || strstr(name, "position_embedding")) return 0.5f * rng_normal(r);
    if (strstr(name, "embed_tokens")) return rng_normal(r);
    int64_t fan_in = 1;
    for (int d = 1; d < s->ndim; d++) fan_in *= s->shape[d];
    return rng_normal(r) / sqrtf((float)fan_in);
}

void vt_write_specs(const char *path, const WeightSpecs *all, const VtDamage *d, uint64_t seed) {
    const WeightSpec *specs = all->v;
    size_t n = all->n;
    static const VtDamage none = {0};
    if (!d) d = &none;
    StWriter *w = st_writer_new();
    Rng rng;
    rng_seed(&rng, seed);
    float **bufs = calloc_check(n + 1, sizeof *bufs);
    char (*names)[200] = calloc_check(n + 1, sizeof *names);
    for (size_t i = 0; i <= n; i++) {
        WeightSpec s;
        if (i == n) {
            if (!d->extra) break;
            memset(&s, 0, sizeof s);
            snprintf(s.name, sizeof s.name, "%s", d->extra);
            s.ndim = 1;
            s.shape[0] = 3;
        } else {
            s = specs[i];
        }
        if (d->drop && !strcmp(s.name, d->drop)) continue;
        if (d->reshape && !strcmp(s.name, d->reshape)) s.shape[0] += 1;
        snprintf(names[i], sizeof names[i], "%s", s.name);
        for (int k = 0; k < 4 && d->rename_from[k]; k++) {
            size_t len = strlen(d->rename_from[k]);
            if (!strncmp(s.name, d->rename_from[k], len)) {
                snprintf(names[i], sizeof names[i], "%s%s", d->rename_to[k], s.name + len);
                break;
            }
        }
        size_t cnt = 1;
        uint64_t shape[4];
        for (int k = 0; k < s.ndim; k++) { cnt *= (size_t)s.shape[k]; shape[k] = (uint64_t)s.shape[k]; }
        bufs[i] = malloc_check(cnt * sizeof(float));
        for (size_t j = 0; j < cnt; j++) bufs[i][j] = rnd_val(&rng, s.name, &s);
        st_writer_add_f32(w, names[i], s.ndim, shape, bufs[i]);
    }
    LpoiErr err = {{0}};
    if (!st_writer_write(w, path, &err)) LPOI_DIE("%s", err.msg);
    st_writer_free(w);
    for (size_t i = 0; i <= n; i++) free(bufs[i]);
    free(bufs);
    free(names);
}

void vt_lora_randomize(Backend *be, const void *model, size_t n, VtLoraAt at, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int64_t shape[2];
        float *p;
        at(model, i, shape, &p);
        size_t k = (size_t)(shape[0] * shape[1]);
        float *h = malloc_check(k * sizeof *h);
        for (size_t j = 0; j < k; j++) h[j] = 0.5f * rng_normal(&r) / sqrtf((float)shape[1]);
        be->upload(be, p, h, k * sizeof *h);
        free(h);
    }
}

float *vt_fetch(Backend *be, const float *dev, size_t n) {
    float *h = malloc_check((n ? n : 1) * sizeof *h);
    be->download(be, h, dev, n * sizeof *h);
    return h;
}

typedef struct {
    Backend *be;
    VtLoss loss;
    void *ctx;
    float *dev, *host;
    double *x;
    size_t n;
} FdCtx;

static double fd_loss(void *p) {
    FdCtx *c = p;
    for (size_t i = 0; i < c->n; i++) c->host[i] = (float)c->x[i];
    c->be->upload(c->be, c->dev, c->host, c->n * sizeof(float));
    return c->loss(c->ctx);
}

void vt_check_fd_at(const char *file, int line, const char *what, Backend *be, VtLoss loss, void *ctx, float *dev,
                    size_t n, const float *analytic) {
    FdCtx c = {be, loss, ctx, dev, vt_fetch(be, dev, n), gc_alloc_f64(n), n};
    gc_f32_to_f64(c.x, c.host, n);
    double *num = gc_alloc_f64(n);
    gradcheck_numeric(fd_loss, &c, c.x, n, 1e-2, num);
    fd_loss(&c);   // restore the exact values
    double maxn = 0;
    for (size_t i = 0; i < n; i++) maxn = fmax(maxn, fabs(num[i]));
    GcResult res = gradcheck_compare(analytic, num, n, 1e-2 * maxn, 2e-2);
    if (res.bad)
        test_fail_at(file, line, "%s: %zu of %zu gradient elements off; worst [%zu] analytic %.6g numeric %.6g", what,
                     res.bad, n, res.worst, res.worst_analytic, res.worst_numeric);
    if (!(maxn > 1e-3)) test_fail_at(file, line, "%s: the gradient is (numerically) zero; the check tests nothing", what);
    free(c.host);
    free(c.x);
    free(num);
}
