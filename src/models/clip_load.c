// clip_load.c — ClipConfig from config.json, binding HF tensors to a ClipModel, LoRA adapters.
// Defaults (transformers 5.x):
//                      CLIPVisionConfig   LlavaConfig without vision_config (CLIP ViT-L/14-336)
//   hidden_size        768                1024
//   intermediate_size  3072               4096
//   num_hidden_layers  12                 24
//   num_attention_heads 12                16
//   image_size         224                336
//   patch_size         32                 14
//   num_channels 3, hidden_act quick_gelu, layer_norm_eps 1e-5, attention_dropout 0 (both)
// Binding is two passes, as in llama_load.c: resolve every tensor (names, shapes, dtypes, and the
// names under our prefix that the config does not imply), then upload only when all is clean.
#include "models/clip.h"
#include "base/check.h"
#include "base/rng.h"
#include "base/file.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const CLIP_PROJ_PATH[CLIP_NPROJ] = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2",
};

const char *const CLIP_PREFIXES[] = {
    "model.vision_tower.vision_model.", "vision_tower.vision_model.", "model.vision_tower.", "vision_tower.",
    "vision_model.", "",
};
const size_t CLIP_NPREFIXES = LPOI_ARRAY_LEN(CLIP_PREFIXES);

// ---- config --------------------------------------------------------------------------------
typedef struct {
    const JsonValue *o;
    const char *what;
    LpoiErr *err;
    bool ok;
} Cfg;

static void cfg_fail(Cfg *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cfg_fail(Cfg *c, const char *fmt, ...) {
    if (!c->ok) return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_set(c->err, "%s: %s", c->what, msg);
    c->ok = false;
}

static bool absent(const JsonValue *v) { return !v || v->type == JSON_NULL; }

static int cfg_int(Cfg *c, const char *key, int def, int64_t lo, int64_t hi) {
    const JsonValue *v = json_get(c->o, key);
    if (!c->ok || absent(v)) return def;
    int64_t x;
    if (!json_as_i64(v, &x) || x < lo || x > hi) {
        cfg_fail(c, "\"%s\" must be an integer in [%lld, %lld]", key, (long long)lo, (long long)hi);
        return def;
    }
    return (int)x;
}

// image_size / patch_size: an integer or a [h, w] pair of equal integers.
static int cfg_square(Cfg *c, const char *key, int def, int64_t hi) {
    const JsonValue *v = json_get(c->o, key);
    if (!c->ok || absent(v)) return def;
    if (v->type == JSON_ARRAY) {
        int64_t a, b;
        if (v->count != 2 || !json_as_i64(v->items[0], &a) || !json_as_i64(v->items[1], &b) || a != b || a < 1 || a > hi) {
            cfg_fail(c, "\"%s\" must be an integer or a pair of equal integers (only square images are supported)", key);
            return def;
        }
        return (int)a;
    }
    return cfg_int(c, key, def, 1, hi);
}

static double cfg_num(Cfg *c, const char *key, double def) {
    const JsonValue *v = json_get(c->o, key);
    if (!c->ok || absent(v)) return def;
    if (v->type != JSON_NUMBER || !isfinite(v->number)) { cfg_fail(c, "\"%s\" must be a finite number", key); return def; }
    return v->number;
}

static const char *cfg_str(Cfg *c, const char *key, const char *def) {
    const JsonValue *v = json_get(c->o, key);
    if (!c->ok || absent(v)) return def;
    if (v->type != JSON_STRING) { cfg_fail(c, "\"%s\" must be a string", key); return def; }
    return v->str;
}

static bool parse_vision(ClipConfig *out, const JsonValue *o, bool llava_defaults, const char *what, LpoiErr *err) {
    JsonValue empty = {.type = JSON_OBJECT};
    if (!o) o = &empty;
    if (o->type != JSON_OBJECT) return err_set(err, "%s: expected a JSON object", what);
    Cfg c = {o, what, err, true};
    const char *type = cfg_str(&c, "model_type", "clip_vision_model");
    if (c.ok && strcmp(type, "clip_vision_model") != 0)
        cfg_fail(&c, "model_type \"%s\" is not supported (the vision tower must be \"clip_vision_model\")", type);
    ClipConfig cfg = {0};
    cfg.C = cfg_int(&c, "hidden_size", llava_defaults ? 1024 : 768, 1, 1 << 16);
    cfg.F = cfg_int(&c, "intermediate_size", llava_defaults ? 4096 : 3072, 1, 1 << 18);
    cfg.L = cfg_int(&c, "num_hidden_layers", llava_defaults ? 24 : 12, 0, 1024);
    cfg.H = cfg_int(&c, "num_attention_heads", llava_defaults ? 16 : 12, 1, 1 << 12);
    cfg.ch = cfg_int(&c, "num_channels", 3, 1, 64);
    cfg.S = cfg_square(&c, "image_size", llava_defaults ? 336 : 224, 1 << 14);
    cfg.p = cfg_square(&c, "patch_size", llava_defaults ? 14 : 32, 1 << 10);
    cfg.eps = (float)cfg_num(&c, "layer_norm_eps", 1e-5);
    const char *act = cfg_str(&c, "hidden_act", "quick_gelu");
    if (c.ok) {
        if (!strcmp(act, "quick_gelu")) cfg.act = GELU_QUICK;
        else if (!strcmp(act, "gelu")) cfg.act = GELU_ERF;
        else if (!strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_new")) cfg.act = GELU_TANH;
        else cfg_fail(&c, "hidden_act \"%s\" is not supported (quick_gelu, gelu, gelu_pytorch_tanh)", act);
    }
    if (c.ok && cfg_num(&c, "attention_dropout", 0.0) != 0.0)
        cfg_fail(&c, "\"attention_dropout\" other than 0 is not supported (no dropout is implemented)");
    if (c.ok && !(cfg.eps >= 0 && cfg.eps < 1)) cfg_fail(&c, "\"layer_norm_eps\" must be in [0, 1)");
    if (!c.ok) return false;
    if (cfg.C % cfg.H)
        return err_set(err, "%s: hidden_size %d is not a multiple of num_attention_heads %d", what, cfg.C, cfg.H);
    if (cfg.p > cfg.S) return err_set(err, "%s: patch_size %d is larger than image_size %d", what, cfg.p, cfg.S);
    cfg.D = cfg.C / cfg.H;
    cfg.G = cfg.S / cfg.p;
    cfg.P = cfg.G * cfg.G;
    cfg.T = cfg.P + 1;
    if ((int64_t)cfg.T * cfg.C > (1 << 28)) return err_set(err, "%s: %d tokens x %d channels is too large", what, cfg.T, cfg.C);
    *out = cfg;
    return true;
}

bool clip_config_parse(ClipConfig *c, const JsonValue *root, const char *what, LpoiErr *err) {
    if (!root || root->type != JSON_OBJECT) return err_set(err, "%s: expected a JSON object", what);
    const char *type = json_get_str(root, "model_type");
    const JsonValue *vc = json_get(root, "vision_config");
    char sub[300];
    snprintf(sub, sizeof sub, "%s: vision_config", what);
    if (type && (!strcmp(type, "llava") || !strcmp(type, "clip"))) {
        if (vc && vc->type != JSON_OBJECT && vc->type != JSON_NULL) return err_set(err, "%s: must be an object", sub);
        bool llava = !strcmp(type, "llava");
        return parse_vision(c, absent(vc) ? NULL : vc, llava && absent(vc), sub, err);
    }
    if (type && strcmp(type, "clip_vision_model") != 0)
        return err_set(err, "%s: model_type \"%s\" is not supported (clip_vision_model, clip, or llava)", what, type);
    return parse_vision(c, root, false, what, err);
}

int clip_feature_index(const ClipConfig *c, int feature_layer) {
    int k = feature_layer < 0 ? c->L + 1 + feature_layer : feature_layer;
    return k >= 0 && k <= c->L ? k : -1;
}

static bool load_json(const char *path, JsonDoc **doc, char *used, size_t cap, LpoiErr *err) {
    size_t n = strlen(path);
    if (n >= 5 && !strcmp(path + n - 5, ".json")) snprintf(used, cap, "%s", path);
    else snprintf(used, cap, "%s/config.json", path);
    size_t size;
    char *text = file_read_all(used, 16u << 20, &size, err);
    if (!text) return false;
    LpoiErr jerr = {{0}};
    *doc = json_parse(text, size, &jerr);
    free(text);
    if (!*doc) return err_set(err, "%s: %s", used, jerr.msg);
    return true;
}

// ---- specs ---------------------------------------------------------------------------------
static void spec_set(ClipWeightSpec *s, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void spec_set(ClipWeightSpec *s, int ndim, const int64_t *shape, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    s->ndim = ndim;
    for (int d = 0; d < 4; d++) s->shape[d] = d < ndim ? shape[d] : 0;
}

static void proj_shape(const ClipConfig *c, int p, int *out, int *in) {
    *out = p == CLIP_FC1 ? c->F : c->C;
    *in = p == CLIP_FC2 ? c->F : c->C;
}

// Spec order (clip_load wires pointers by it): class_embedding, patch_embedding, position_embedding,
// pre_layrnorm w/b, then per layer ln1 w/b, ln2 w/b, 6 x (weight, bias), then post_layernorm w/b.
#define LAYER_SPECS 16
size_t clip_weight_specs(const ClipConfig *c, const char *prefix, ClipWeightSpec *out, size_t cap) {
    size_t n = 0;
    ClipWeightSpec tmp;
#define PUT(nd, sh, ...) do { spec_set(n < cap ? &out[n] : &tmp, (nd), (sh), __VA_ARGS__); n++; } while (0)
#define S1(a) ((const int64_t[]){(a)})
#define S2(a, b) ((const int64_t[]){(a), (b)})
    PUT(1, S1(c->C), "%sembeddings.class_embedding", prefix);
    PUT(4, ((const int64_t[]){c->C, c->ch, c->p, c->p}), "%sembeddings.patch_embedding.weight", prefix);
    PUT(2, S2(c->T, c->C), "%sembeddings.position_embedding.weight", prefix);
    PUT(1, S1(c->C), "%spre_layrnorm.weight", prefix);
    PUT(1, S1(c->C), "%spre_layrnorm.bias", prefix);
    for (int l = 0; l < c->L; l++) {
        PUT(1, S1(c->C), "%sencoder.layers.%d.layer_norm1.weight", prefix, l);
        PUT(1, S1(c->C), "%sencoder.layers.%d.layer_norm1.bias", prefix, l);
        PUT(1, S1(c->C), "%sencoder.layers.%d.layer_norm2.weight", prefix, l);
        PUT(1, S1(c->C), "%sencoder.layers.%d.layer_norm2.bias", prefix, l);
        for (int p = 0; p < CLIP_NPROJ; p++) {
            int o, i;
            proj_shape(c, p, &o, &i);
            PUT(2, S2(o, i), "%sencoder.layers.%d.%s.weight", prefix, l, CLIP_PROJ_PATH[p]);
            PUT(1, S1(o), "%sencoder.layers.%d.%s.bias", prefix, l, CLIP_PROJ_PATH[p]);
        }
    }
    PUT(1, S1(c->C), "%spost_layernorm.weight", prefix);
    PUT(1, S1(c->C), "%spost_layernorm.bias", prefix);
#undef PUT
#undef S1
#undef S2
    return n;
}

// ---- resolving ------------------------------------------------------------------------------
static const char *src_prefix(const WeightSource *s) { return s->prefix ? s->prefix : ""; }
static size_t src_count(const WeightSource *s) { return s->model ? s->model->count : s->file->count; }
static const char *src_name_at(const WeightSource *s, size_t i) {
    return s->model ? s->model->by_name[i]->name : s->file->tensors[i].name;
}
static const StTensor *src_find(const WeightSource *s, const char *name) {
    char full[512];
    if ((size_t)snprintf(full, sizeof full, "%s%s", src_prefix(s), name) >= sizeof full) return NULL;
    return s->model ? st_model_find(s->model, full) : st_find(s->file, full);
}

typedef struct { char text[220]; size_t len; int n; } NameList;

static void list_add(NameList *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void list_add(NameList *l, const char *fmt, ...) {
    char item[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof item, fmt, ap);
    va_end(ap);
    l->n++;
    size_t k = strlen(item);
    if (l->n <= 3 && l->len + k + 2 < sizeof l->text) {
        if (l->n > 1) { memcpy(l->text + l->len, ", ", 2); l->len += 2; }
        memcpy(l->text + l->len, item, k + 1);
        l->len += k;
    }
}

static void list_append(char *msg, size_t cap, const NameList *l, const char *what) {
    if (!l->n) return;
    size_t k = strlen(msg);
    snprintf(msg + k, cap - k, "%s%d %s (%s%s)", k ? "; " : "", l->n, what, l->text, l->n > 3 ? ", ..." : "");
}

static void fmt_dims(char *buf, size_t cap, int ndim, const int64_t *d) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)d[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static bool float_dtype(Dtype t) { return t == DTYPE_F32 || t == DTYPE_F16 || t == DTYPE_BF16 || t == DTYPE_F64; }

static int cmp_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

bool clip_resolve_specs(const WeightSource *src, const ClipWeightSpec *specs, size_t n, const char *owned,
                        const StTensor **found, char *msg, size_t cap) {
    NameList missing = {0}, shape = {0}, dtype = {0}, unexpected = {0};
    for (size_t i = 0; i < n; i++) {
        const StTensor *t = found[i] = src_find(src, specs[i].name);
        if (!t) { list_add(&missing, "%s", specs[i].name); continue; }
        bool same = t->ndim == specs[i].ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == (uint64_t)specs[i].shape[d];
        if (!same) {
            int64_t have[ST_MAX_DIMS];
            for (int d = 0; d < t->ndim; d++) have[d] = (int64_t)t->shape[d];
            char a[80], b[80];
            fmt_dims(a, sizeof a, t->ndim, have);
            fmt_dims(b, sizeof b, specs[i].ndim, specs[i].shape);
            list_add(&shape, "%s is %s, expected %s", specs[i].name, a, b);
        } else if (!float_dtype(t->dtype)) {
            list_add(&dtype, "%s is %s", specs[i].name, dtype_name(t->dtype));
        }
    }
    if (owned) {
        const char **names = malloc_check((n ? n : 1) * sizeof *names);
        for (size_t i = 0; i < n; i++) names[i] = specs[i].name;
        qsort(names, n, sizeof *names, cmp_name);
        const char *p = src_prefix(src);
        size_t kp = strlen(p), ko = strlen(owned);
        for (size_t i = 0; i < src_count(src); i++) {
            const char *full = src_name_at(src, i);
            if (strncmp(full, p, kp) || strncmp(full + kp, owned, ko)) continue;
            const char *local = full + kp;
            if (!bsearch(&local, names, n, sizeof *names, cmp_name)) list_add(&unexpected, "%s", local);
        }
        free(names);
    }
    msg[0] = 0;
    list_append(msg, cap, &missing, "missing");
    list_append(msg, cap, &unexpected, "unexpected");
    list_append(msg, cap, &shape, "mis-shaped");
    list_append(msg, cap, &dtype, "not F32/F16/BF16");
    return !missing.n && !shape.n && !dtype.n && !unexpected.n;
}

// ---- loading --------------------------------------------------------------------------------
bool clip_load(ClipModel *m, Backend *be, const ClipConfig *cfg, const WeightSource *src, LpoiErr *err) {
    memset(m, 0, sizeof *m);
    const char *what = src->what ? src->what : "weights";
    const char *prefix = NULL;
    for (size_t i = 0; i < CLIP_NPREFIXES && !prefix; i++) {
        char name[200];
        snprintf(name, sizeof name, "%sembeddings.patch_embedding.weight", CLIP_PREFIXES[i]);
        if (src_find(src, name)) prefix = CLIP_PREFIXES[i];
    }
    if (!prefix)
        return err_set(err, "%s: no CLIP vision tower (embeddings.patch_embedding.weight under vision_tower.vision_model., "
                       "model.vision_tower., vision_tower., vision_model. or no prefix)", what);
    size_t n = clip_weight_specs(cfg, prefix, NULL, 0);
    ClipWeightSpec *specs = malloc_check(n * sizeof *specs);
    clip_weight_specs(cfg, prefix, specs, n);
    const StTensor **found = malloc_check(n * sizeof *found);
    char msg[480];
    if (!clip_resolve_specs(src, specs, n, prefix, found, msg, sizeof msg)) {
        free(specs);
        free(found);
        return err_set(err, "%s: the CLIP vision weights do not match the config (names under \"%s\"): %s", what, prefix, msg);
    }
    size_t total = 0, biggest = 0;
    for (size_t i = 0; i < n; i++) {
        total += (size_t)found[i]->numel;
        biggest = LPOI_MAX(biggest, (size_t)found[i]->numel);
    }
    m->cfg = *cfg;
    m->be = be;
    m->prefix = prefix;
    m->weights_floats = total;
    m->weights_mem = be->alloc(be, total * sizeof(float));
    float *host = malloc_check(biggest * sizeof(float));
    const float **ptr = malloc_check(n * sizeof *ptr);
    size_t off = 0;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        ok = st_read_f32(found[i], host, err);   // cannot fail after resolve (float dtypes only)
        if (!ok) break;
        be->upload(be, m->weights_mem + off, host, (size_t)found[i]->numel * sizeof(float));
        ptr[i] = m->weights_mem + off;
        off += (size_t)found[i]->numel;
    }
    free(host);
    free(specs);
    free(found);
    if (!ok) {
        free(ptr);
        be->free(be, m->weights_mem);
        memset(m, 0, sizeof *m);
        return err_prefix(err, "%s", what);
    }
    const ClipConfig *c = cfg;
    m->class_emb = ptr[0];
    m->patch_w = ptr[1];
    m->pos_emb = ptr[2];
    m->pre_w = ptr[3];
    m->pre_b = ptr[4];
    m->layers = calloc_check((size_t)(c->L > 0 ? c->L : 1), sizeof *m->layers);
    for (int l = 0; l < c->L; l++) {
        const float **p = ptr + 5 + (size_t)l * LAYER_SPECS;
        ClipLayer *ly = &m->layers[l];
        ly->ln1_w = p[0];
        ly->ln1_b = p[1];
        ly->ln2_w = p[2];
        ly->ln2_b = p[3];
        for (int k = 0; k < CLIP_NPROJ; k++) {
            Linear *lin = &ly->proj[k];
            proj_shape(c, k, &lin->OC, &lin->C);
            lin->w = p[4 + 2 * k];
            lin->b = p[5 + 2 * k];
        }
    }
    m->post_w = ptr[5 + (size_t)c->L * LAYER_SPECS];
    m->post_b = ptr[6 + (size_t)c->L * LAYER_SPECS];
    m->lora_on = true;
    free(ptr);
    return true;
}

bool clip_open(ClipModel *m, Backend *be, const char *dir, LpoiErr *err) {
    JsonDoc *doc;
    char used[4200];
    if (!load_json(dir, &doc, used, sizeof used, err)) return false;
    ClipConfig cfg;
    bool ok = clip_config_parse(&cfg, json_root(doc), used, err);
    json_free(doc);
    if (!ok) return false;
    StModel st;
    if (!st_model_open(&st, dir, err)) return false;
    WeightSource src = {.model = &st, .prefix = "", .what = dir};
    ok = clip_load(m, be, &cfg, &src, err);
    st_model_close(&st);
    return ok;
}

void clip_step_free(ClipModel *m);   // clip.c

void clip_free(ClipModel *m) {
    Backend *be = m->be;
    if (!be) return;
    clip_step_free(m);
    if (m->weights_mem) be->free(be, m->weights_mem);
    if (m->lora_mem) be->free(be, m->lora_mem);
    if (m->lora_grad) be->free(be, m->lora_grad);
    if (m->acts_mem) be->free(be, m->acts_mem);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

// ---- LoRA -----------------------------------------------------------------------------------
void clip_lora_create(ClipModel *m, int r, float alpha, unsigned targets) {
    LPOI_ASSERT(r > 0 && m->lora_r == 0 && (targets & ~CLIP_LORA_ALL) == 0);
    Backend *be = m->be;
    const ClipConfig *c = &m->cfg;
    size_t total = 0;
    for (int p = 0; p < CLIP_NPROJ; p++)
        if (targets & (1u << p)) {
            int o, i;
            proj_shape(c, p, &o, &i);
            total += (size_t)r * ((size_t)o + (size_t)i) * (size_t)c->L;
        }
    m->lora_r = r;
    m->lora_alpha = alpha;
    m->lora_targets = targets;
    m->lora_floats = total;
    size_t bytes = (total ? total : 1) * sizeof(float);
    m->lora_mem = be->alloc(be, bytes);
    m->lora_grad = be->alloc(be, bytes);
    be->fill_zero(be, m->lora_mem, bytes);
    be->fill_zero(be, m->lora_grad, bytes);
    size_t off = 0;
    for (int l = 0; l < c->L; l++)
        for (int p = 0; p < CLIP_NPROJ; p++) {
            if (!(targets & (1u << p))) continue;
            off += linear_lora_attach(&m->layers[l].proj[p], r, alpha, m->lora_mem + off, m->lora_grad + off);
        }
    LPOI_ASSERT(off == total);
}

size_t clip_lora_count(const ClipModel *m) {
    return m->lora_r > 0 ? 2 * (size_t)m->cfg.L * (size_t)__builtin_popcount(m->lora_targets) : 0;
}

static void lora_at(const ClipModel *m, size_t i, int *l, int *p, bool *is_b) {
    int per = __builtin_popcount(m->lora_targets);
    size_t pair = i / 2;
    *is_b = i % 2;
    *l = (int)(pair / (size_t)per);
    int k = (int)(pair % (size_t)per);
    for (int q = 0; q < CLIP_NPROJ; q++)
        if (m->lora_targets & (1u << q)) { if (k-- == 0) { *p = q; return; } }
    LPOI_ASSERT(0);
}

static void lora_name(const char *module, int l, int p, bool is_b, char *name, size_t cap) {
    snprintf(name, cap, "base_model.model.%sencoder.layers.%d.%s.lora_%c.weight", module, l, CLIP_PROJ_PATH[p],
             is_b ? 'B' : 'A');
}

void clip_lora_tensor(const ClipModel *m, size_t i, const char *module, char *name, size_t cap, int64_t shape[2],
                      float **param, float **grad) {
    LPOI_ASSERT(i < clip_lora_count(m));
    int l, p;
    bool is_b;
    lora_at(m, i, &l, &p, &is_b);
    const Linear *lin = &m->layers[l].proj[p];
    if (name) lora_name(module ? module : m->prefix, l, p, is_b, name, cap);
    if (shape) {
        shape[0] = is_b ? lin->OC : lin->r;
        shape[1] = is_b ? lin->r : lin->C;
    }
    if (param) *param = (float *)(is_b ? lin->lora_b : lin->lora_a);
    if (grad) *grad = is_b ? lin->dlora_b : lin->dlora_a;
}

void clip_lora_zero_grad(ClipModel *m) {
    if (m->lora_grad) m->be->fill_zero(m->be, m->lora_grad, (m->lora_floats ? m->lora_floats : 1) * sizeof(float));
}

bool clip_lora_load(ClipModel *m, const WeightSource *src, const char *const *modules, LpoiErr *err) {
    LPOI_ASSERT(m->lora_r > 0);
    const char *what = src->what ? src->what : "adapter";
    size_t n = clip_lora_count(m);
    if (!n) return true;
    const char *module = modules[0];
    for (size_t k = 0; modules[k]; k++) {
        char name[256];
        clip_lora_tensor(m, 0, modules[k], name, sizeof name, NULL, NULL, NULL);
        if (src_find(src, name)) { module = modules[k]; break; }
    }
    NameList missing = {0}, shape = {0}, dtype = {0};
    const StTensor **found = malloc_check(n * sizeof *found);
    for (size_t i = 0; i < n; i++) {
        char name[256];
        int64_t want[2];
        clip_lora_tensor(m, i, module, name, sizeof name, want, NULL, NULL);
        const StTensor *t = found[i] = src_find(src, name);
        if (!t) { list_add(&missing, "%s", name); continue; }
        if (t->ndim != 2 || t->shape[0] != (uint64_t)want[0] || t->shape[1] != (uint64_t)want[1]) {
            int64_t have[ST_MAX_DIMS];
            for (int d = 0; d < t->ndim; d++) have[d] = (int64_t)t->shape[d];
            char a[64], b[64];
            fmt_dims(a, sizeof a, t->ndim, have);
            fmt_dims(b, sizeof b, 2, want);
            list_add(&shape, "%s is %s, expected %s", name, a, b);
        } else if (!float_dtype(t->dtype)) {
            list_add(&dtype, "%s is %s", name, dtype_name(t->dtype));
        }
    }
    bool ok = !missing.n && !shape.n && !dtype.n;
    if (!ok) {
        char msg[480] = "";
        list_append(msg, sizeof msg, &missing, "missing");
        list_append(msg, sizeof msg, &shape, "mis-shaped");
        list_append(msg, sizeof msg, &dtype, "not F32/F16/BF16");
        err_set(err, "%s: the vision LoRA adapter (r=%d) does not match the model: %s", what, m->lora_r, msg);
    }
    for (size_t i = 0; ok && i < n; i++) {
        int64_t shp[2];
        float *param;
        clip_lora_tensor(m, i, module, NULL, 0, shp, &param, NULL);
        size_t k = (size_t)(shp[0] * shp[1]);
        float *h = malloc_check(k * sizeof *h);
        ok = st_read_f32(found[i], h, err);
        if (ok) m->be->upload(m->be, param, h, k * sizeof *h);
        free(h);
    }
    free(found);
    return ok;
}
