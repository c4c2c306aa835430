// model_fixture_test.c — see model_fixture_test.h.
#include "models/model_fixture_test.h"
#include "test/gradcheck.h"
#include "base/check.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

JsonDoc *mt_json(const char *text) {
    LpoiErr err = {{0}};
    JsonDoc *doc = json_parse(text, strlen(text), &err);
    if (!doc) LPOI_DIE("bad test JSON: %s", err.msg);
    return doc;
}

bool mt_parse(ModelConfigParse parse, const char *json, void *cfg, LpoiErr *err) {
    JsonDoc *doc = mt_json(json);
    bool ok = parse(cfg, json_root(doc), "config.json", err);
    json_free(doc);
    return ok;
}

const JsonValue *mt_real_llava_index(ModelConfigParse parse, void *cfg, JsonDoc **doc) {
    *doc = NULL;
    if (access(MT_LLAVA_DIR "/model.safetensors.index.json", R_OK)) { test_skip("../shared/data/hf is absent"); return NULL; }
    LpoiErr err = {{0}};
    if (!model_config_read(MT_LLAVA_DIR, parse, cfg, &err) ||
        !(*doc = json_load_file(MT_LLAVA_DIR "/model.safetensors.index.json", 16 << 20, &err))) {
        test_fail_at(__FILE__, __LINE__, "%s", err.msg);
        return NULL;
    }
    const JsonValue *map = json_get(json_root(*doc), "weight_map");
    if (map && map->type == JSON_OBJECT && map->count == 686) return map;
    test_fail_at(__FILE__, __LINE__, "%s: the weight_map is not the 686 names of llava-1.5-7b", MT_LLAVA_DIR);
    json_free(*doc);
    *doc = NULL;
    return NULL;
}

void mt_expect_refusals_at(const char *file, int line, ModelConfigParse parse, void *cfg, const MtRefusal *cases,
                           size_t n, const char *also) {
    for (size_t i = 0; i < n; i++) {
        LpoiErr err = {{0}};
        if (mt_parse(parse, cases[i].json, cfg, &err)) test_fail_at(file, line, "accepted: %s", cases[i].json);
        else if (!strstr(err.msg, cases[i].needle) || (also && !strstr(err.msg, also)))
            test_fail_at(file, line, "error \"%s\" does not mention \"%s\"%s%s", err.msg, cases[i].needle, also ? " and " : "",
                         also ? also : "");
    }
}

void mt_write_specs(const char *path, const WeightSpecs *specs, const MtDamage *d, MtValue value, uint64_t seed) {
    static const MtDamage none = {0};
    if (!d) d = &none;
    WeightSpecs all = {0};
    for (size_t i = 0; i < specs->n; i++) {
        const WeightSpec *s = &specs->v[i];
        specs_add(&all, NULL, s->ndim, s->shape, "%s", s->name);
    }
    if (d->extra) SPEC1(&all, NULL, 3, "%s", d->extra);
    Dtype dt = d->dtype ? d->dtype : DTYPE_F32;
    StWriter *w = st_writer_new();
    Rng rng;
    rng_seed(&rng, seed);
    void **bufs = calloc_check(all.n + 1, sizeof *bufs);
    char (*names)[200] = calloc_check(all.n + 1, sizeof *names);
    for (size_t i = 0; i < all.n; i++) {
        WeightSpec *s = &all.v[i];
        if (d->drop && !strcmp(s->name, d->drop)) continue;
        if (d->reshape && !strcmp(s->name, d->reshape)) s->shape[0] += 1;
        snprintf(names[i], sizeof names[i], "%s", s->name);
        for (int k = 0; k < 4 && d->rename_from[k]; k++)
            if (str_starts(s->name, d->rename_from[k])) {
                snprintf(names[i], sizeof names[i], "%s%s", d->rename_to[k], s->name + strlen(d->rename_from[k]));
                break;
            }
        size_t cnt = 1;
        uint64_t shape[WEIGHT_MAX_DIMS];
        for (int k = 0; k < s->ndim; k++) { cnt *= (size_t)s->shape[k]; shape[k] = (uint64_t)s->shape[k]; }
        float *f = malloc_check(cnt * sizeof *f);
        for (size_t j = 0; j < cnt; j++) f[j] = value(s, &rng);
        bufs[i] = malloc_check(cnt * 4);
        if (dt == DTYPE_I32) for (size_t j = 0; j < cnt; j++) ((int32_t *)bufs[i])[j] = (int32_t)f[j];
        else dtype_from_f32(bufs[i], dt, f, cnt);
        free(f);
        st_writer_add(w, names[i], dt, s->ndim, shape, bufs[i]);
    }
    LpoiErr err = {{0}};
    if (!st_writer_write(w, path, &err)) LPOI_DIE("%s", err.msg);
    st_writer_free(w);
    for (size_t i = 0; i < all.n; i++) free(bufs[i]);
    free(bufs);
    free(names);
    specs_free(&all);
}

bool mt_load_random(const char *name, ModelLoad load, void *m, Backend *be, const void *cfg, const WeightSpecs *specs,
                    const MtDamage *d, MtValue value, uint64_t seed, LpoiErr *err) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/lpoi_%s_XXXXXX", name);
    close(mkstemp(path));
    mt_write_specs(path, specs, d, value, seed);
    bool ok = model_open_dir(load, m, be, cfg, path, err);
    remove(path);
    return ok;
}

void mt_lora_randomize(const LoraSet *const *sets, int n, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (int s = 0; s < n; s++)
        for (size_t i = 0; i < lora_count(sets[s]); i++) {
            int64_t shape[2];
            float *p;
            lora_tensor(sets[s], i, "", NULL, 0, shape, &p, NULL);
            size_t k = (size_t)(shape[0] * shape[1]);
            float *h = malloc_check(k * sizeof *h);
            for (size_t j = 0; j < k; j++) h[j] = 0.5f * rng_normal(&r) / sqrtf((float)shape[1]);
            sets[s]->be->upload(sets[s]->be, p, h, k * sizeof *h);
            free(h);
        }
}

float *mt_fetch(Backend *be, const float *dev, size_t n) {
    float *h = malloc_check((n ? n : 1) * sizeof *h);
    be->download(be, h, dev, n * sizeof *h);
    return h;
}

float *mt_scratch(MtScratch *s, size_t n) {
    LPOI_ASSERT(s->n < (int)LPOI_ARRAY_LEN(s->bufs));
    return s->bufs[s->n++] = s->be->alloc(s->be, (n ? n : 1) * sizeof(float));
}

float *mt_scratch_random(MtScratch *s, size_t n, uint64_t seed, float **host) {
    float *h = malloc_check((n ? n : 1) * sizeof *h), *d = mt_scratch(s, n);
    TestRng r = trng_seed(seed);
    trng_fill_normal(&r, h, n, 1.0);
    s->be->upload(s->be, d, h, n * sizeof(float));
    if (host) *host = h;
    else free(h);
    return d;
}

void mt_scratch_free(MtScratch *s) {
    for (int i = 0; i < s->n; i++) s->be->free(s->be, s->bufs[i]);
    s->n = 0;
}

double mt_logp_loss(void *ctx) {
    MtLogpLoss *c = ctx;
    float logp[16];
    LpoiErr err = {{0}};
    LPOI_ASSERT(c->B <= 16);
    if (!c->logps(c->model, c->batch, logp, &err)) LPOI_DIE("%s", err.msg);
    double L = 0;
    for (int b = 0; b < c->B; b++) L += (double)c->dlogp[b] * logp[b];
    return L;
}

typedef struct {
    Backend *be;
    MtLoss loss;
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

void mt_check_fd_at(const char *file, int line, const char *what, Backend *be, MtLoss loss, void *ctx, float *dev,
                    size_t n, const float *analytic) {
    FdCtx c = {be, loss, ctx, dev, mt_fetch(be, dev, n), gc_alloc_f64(n), n};
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
