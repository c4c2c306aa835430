// llama_load.c — binding HF tensors to a LlamaModel, and the LoRA adapters (PEFT names).
// Binding is two passes: resolve (find every tensor the config implies under the detected
// spelling, check dtype and shape, find every tensor of ours that the config does not imply) and,
// only when all of that is clean, upload (convert to fp32, one backend block). A bad checkpoint is
// therefore one error that lists all its problems, and never a half-loaded model.
#include "models/llama.h"
#include "base/check.h"
#include "base/rng.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const LLAMA_PROJ_PATH[LLAMA_NPROJ] = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
};

const LlamaSpelling LLAMA_SPELLINGS[] = {
    {"model.", "lm_head.weight", true},                                   // LlamaForCausalLM / MistralForCausalLM
    {"language_model.model.", "language_model.lm_head.weight", false},    // LLaVA checkpoints as stored on the hub
    {"model.language_model.", "lm_head.weight", false},                   // LLaVA as transformers >= 4.52 names it
    {"model.text_model.", "lm_head.weight", false},                       // Idefics2
};
const size_t LLAMA_NSPELLINGS = LPOI_ARRAY_LEN(LLAMA_SPELLINGS);

// Per-layer tensors in spec order (after embed_tokens): the two norms, then the seven projections.
#define LAYER_SPECS 9

static void proj_shape(const LlamaConfig *c, int p, int *out, int *in) {
    int HD = c->H * c->D, KD = c->KVH * c->D;
    switch (p) {
    case LLAMA_Q: *out = HD; *in = c->C; break;
    case LLAMA_K: case LLAMA_V: *out = KD; *in = c->C; break;
    case LLAMA_O: *out = c->C; *in = HD; break;
    case LLAMA_GATE: case LLAMA_UP: *out = c->F; *in = c->C; break;
    default: *out = c->C; *in = c->F; break;
    }
}

static void spec_set(LlamaWeightSpec *s, int ndim, int64_t d0, int64_t d1, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void spec_set(LlamaWeightSpec *s, int ndim, int64_t d0, int64_t d1, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    s->ndim = ndim;
    s->shape[0] = d0;
    s->shape[1] = d1;
}

size_t llama_weight_specs(const LlamaConfig *c, const LlamaSpelling *sp, LlamaWeightSpec *out, size_t cap) {
    size_t n = 0;
    LlamaWeightSpec tmp;
#define PUT(...) do { spec_set(n < cap ? &out[n] : &tmp, __VA_ARGS__); n++; } while (0)
    PUT(2, c->V, c->C, "%sembed_tokens.weight", sp->prefix);
    for (int l = 0; l < c->n_layer; l++) {
        PUT(1, c->C, 0, "%slayers.%d.input_layernorm.weight", sp->prefix, l);
        PUT(1, c->C, 0, "%slayers.%d.post_attention_layernorm.weight", sp->prefix, l);
        for (int p = 0; p < LLAMA_NPROJ; p++) {
            int o, i;
            proj_shape(c, p, &o, &i);
            PUT(2, o, i, "%slayers.%d.%s.weight", sp->prefix, l, LLAMA_PROJ_PATH[p]);
        }
    }
    PUT(1, c->C, 0, "%snorm.weight", sp->prefix);
    if (!c->tie) PUT(2, c->V, c->C, "%s", sp->lm_head);
#undef PUT
    return n;
}

// ---- sources --------------------------------------------------------------------------------
static const char *src_prefix(const WeightSource *s) { return s->prefix ? s->prefix : ""; }

static size_t src_count(const WeightSource *s) { return s->model ? s->model->count : s->file->count; }

static const char *src_name_at(const WeightSource *s, size_t i) {
    return s->model ? s->model->by_name[i]->name : s->file->tensors[i].name;
}

// The tensor named prefix + name, or NULL.
static const StTensor *src_find(const WeightSource *s, const char *name) {
    char full[512];
    if ((size_t)snprintf(full, sizeof full, "%s%s", src_prefix(s), name) >= sizeof full) return NULL;
    return s->model ? st_model_find(s->model, full) : st_find(s->file, full);
}

// Name i without the source prefix, or NULL when it does not carry the prefix.
static const char *src_local(const WeightSource *s, size_t i) {
    const char *n = src_name_at(s, i), *p = src_prefix(s);
    size_t k = strlen(p);
    return strncmp(n, p, k) ? NULL : n + k;
}

static bool starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

// ---- error lists: "3 missing (a, b, c)", at most a few names each ---------------------------
typedef struct { char text[200]; size_t len; int n; } NameList;

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
        memcpy(l->text + l->len, l->n > 1 ? ", " : "", l->n > 1 ? 2 : 0);
        l->len += l->n > 1 ? 2 : 0;
        memcpy(l->text + l->len, item, k + 1);
        l->len += k;
    }
}

static void list_append(char *msg, size_t cap, const NameList *l, const char *what) {
    if (!l->n) return;
    size_t k = strlen(msg);
    snprintf(msg + k, cap - k, "%s%d %s (%s%s)", k ? "; " : "", l->n, what, l->text,
             l->n > 3 ? ", ..." : "");
}

static void fmt_dims(char *buf, size_t cap, int ndim, const int64_t *d) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)d[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static bool float_dtype(Dtype t) { return t == DTYPE_F32 || t == DTYPE_F16 || t == DTYPE_BF16 || t == DTYPE_F64; }

static int cmp_spec(const void *a, const void *b) {
    return strcmp(((const LlamaWeightSpec *)a)->name, ((const LlamaWeightSpec *)b)->name);
}

// A stored rotary buffer of old checkpoints: <prefix>layers.N.self_attn.rotary_emb.inv_freq.
static bool ignorable(const char *local, const LlamaSpelling *sp) {
    const char *tail = strstr(local, ".self_attn.rotary_emb.inv_freq");
    return tail && starts_with(local, sp->prefix) && tail[strlen(".self_attn.rotary_emb.inv_freq")] == 0;
}

static const LlamaSpelling *detect_spelling(const WeightSource *src) {
    for (size_t s = 0; s < LLAMA_NSPELLINGS; s++) {
        char name[160];
        snprintf(name, sizeof name, "%sembed_tokens.weight", LLAMA_SPELLINGS[s].prefix);
        if (src_find(src, name)) return &LLAMA_SPELLINGS[s];
    }
    return NULL;
}

// Resolves every spec: fills found[] and returns true, or one error listing every problem.
static bool resolve(const LlamaConfig *c, const LlamaSpelling *sp, const WeightSource *src, LlamaWeightSpec *specs,
                    size_t n, const StTensor **found, LpoiErr *err) {
    NameList missing = {0}, shape = {0}, dtype = {0}, unexpected = {0};
    for (size_t i = 0; i < n; i++) {
        const StTensor *t = src_find(src, specs[i].name);
        found[i] = t;
        if (!t) { list_add(&missing, "%s", specs[i].name); continue; }
        bool same = t->ndim == specs[i].ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == (uint64_t)specs[i].shape[d];
        if (!same) {
            int64_t have[ST_MAX_DIMS];
            for (int d = 0; d < t->ndim; d++) have[d] = (int64_t)t->shape[d];
            char a[64], b[64];
            fmt_dims(a, sizeof a, t->ndim, have);
            fmt_dims(b, sizeof b, specs[i].ndim, specs[i].shape);
            list_add(&shape, "%s is %s, expected %s", specs[i].name, a, b);
        } else if (!float_dtype(t->dtype)) {
            list_add(&dtype, "%s is %s", specs[i].name, dtype_name(t->dtype));
        }
    }
    // Tensors of ours that the config does not imply.
    LlamaWeightSpec *sorted = malloc_check(n * sizeof *sorted);
    memcpy(sorted, specs, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_spec);
    for (size_t i = 0; i < src_count(src); i++) {
        const char *local = src_local(src, i);
        if (!local) continue;
        bool ours = sp->owns_all || starts_with(local, sp->prefix) || !strcmp(local, sp->lm_head);
        if (!ours || ignorable(local, sp) || (c->tie && !strcmp(local, sp->lm_head))) continue;
        LlamaWeightSpec key;
        snprintf(key.name, sizeof key.name, "%s", local);
        if (strlen(local) >= sizeof key.name || !bsearch(&key, sorted, n, sizeof *sorted, cmp_spec))
            list_add(&unexpected, "%s", local);
    }
    free(sorted);
    if (!missing.n && !shape.n && !dtype.n && !unexpected.n) return true;
    char msg[480] = "";
    list_append(msg, sizeof msg, &missing, "missing");
    list_append(msg, sizeof msg, &unexpected, "unexpected");
    list_append(msg, sizeof msg, &shape, "mis-shaped");
    list_append(msg, sizeof msg, &dtype, "not F32/F16/BF16");
    return err_set(err, "%s: the %s weights do not match the config (names under \"%s\"): %s", src->what ? src->what : "?",
                   c->arch == LLAMA_ARCH_MISTRAL ? "Mistral" : "LLaMA", sp->prefix, msg);
}

bool llama_load(LlamaModel *m, Backend *be, const LlamaConfig *cfg, const WeightSource *src, LpoiErr *err) {
    memset(m, 0, sizeof *m);
    const char *what = src->what ? src->what : "weights";
    const LlamaSpelling *sp = detect_spelling(src);
    if (!sp)
        return err_set(err, "%s: no embed_tokens.weight under any known name (model., language_model.model., "
                       "model.language_model., model.text_model.)", what);
    size_t n = llama_weight_specs(cfg, sp, NULL, 0);
    LlamaWeightSpec *specs = malloc_check(n * sizeof *specs);
    llama_weight_specs(cfg, sp, specs, n);
    const StTensor **found = malloc_check(n * sizeof *found);
    if (!resolve(cfg, sp, src, specs, n, found, err)) { free(specs); free(found); return false; }

    size_t total = 0, biggest = 0;
    for (size_t i = 0; i < n; i++) {
        total += (size_t)found[i]->numel;
        if (found[i]->numel > biggest) biggest = (size_t)found[i]->numel;
    }
    m->cfg = *cfg;
    m->be = be;
    m->spelling = sp;
    m->weights_floats = total;
    m->weights_mem = be->alloc(be, total * sizeof(float));
    float *host = malloc_check(biggest * sizeof(float));
    const float **ptr = malloc_check(n * sizeof *ptr);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (!st_read_f32(found[i], host, err)) {   // cannot fail after resolve (float dtypes only)
            free(host); free(ptr); free(specs); free(found);
            be->free(be, m->weights_mem);
            memset(m, 0, sizeof *m);
            return err_prefix(err, "%s", what);
        }
        be->upload(be, m->weights_mem + off, host, (size_t)found[i]->numel * sizeof(float));
        ptr[i] = m->weights_mem + off;
        off += (size_t)found[i]->numel;
    }
    free(host);

    // Wire the pointers in spec order (llama_weight_specs).
    const LlamaConfig *c = cfg;
    m->embed = ptr[0];
    m->layers = calloc_check((size_t)c->n_layer, sizeof *m->layers);
    for (int l = 0; l < c->n_layer; l++) {
        const float **p = ptr + 1 + (size_t)l * LAYER_SPECS;
        LlamaLayer *ly = &m->layers[l];
        ly->ln1 = p[0];
        ly->ln2 = p[1];
        for (int k = 0; k < LLAMA_NPROJ; k++) {
            Linear *lin = &ly->proj[k];
            proj_shape(c, k, &lin->OC, &lin->C);
            lin->w = p[2 + k];
        }
    }
    m->norm = ptr[1 + (size_t)c->n_layer * LAYER_SPECS];
    m->lm_head = c->tie ? m->embed : ptr[2 + (size_t)c->n_layer * LAYER_SPECS];
    m->lora_on = true;
    m->logits_chunk = 256;
    free(ptr);
    free(specs);
    free(found);
    return true;
}

bool llama_open(LlamaModel *m, Backend *be, const char *dir, LpoiErr *err) {
    LlamaConfig cfg;
    if (!llama_config_load(&cfg, dir, err)) return false;
    StModel st;
    if (!st_model_open(&st, dir, err)) return false;
    WeightSource src = {.model = &st, .prefix = "", .what = dir};
    bool ok = llama_load(m, be, &cfg, &src, err);
    st_model_close(&st);
    return ok;
}

void llama_step_free(LlamaModel *m);   // llama.c

void llama_free(LlamaModel *m) {
    Backend *be = m->be;
    if (!be) return;
    llama_step_free(m);
    if (m->weights_mem) be->free(be, m->weights_mem);
    if (m->lora_mem) be->free(be, m->lora_mem);
    if (m->lora_grad) be->free(be, m->lora_grad);
    if (m->acts_mem) be->free(be, m->acts_mem);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

// ---- LoRA ------------------------------------------------------------------------------------
bool llama_lora_parse_targets(const char *spec, unsigned *targets, LpoiErr *err) {
    if (!strcmp(spec, "all-linear")) { *targets = LLAMA_LORA_ALL; return true; }
    unsigned t = 0;
    const char *s = spec;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t k = e ? (size_t)(e - s) : strlen(s);
        int found = -1;
        for (int p = 0; p < LLAMA_NPROJ; p++) {
            const char *short_name = strchr(LLAMA_PROJ_PATH[p], '.') + 1;   // "q_proj"
            if (strlen(short_name) == k && !strncmp(s, short_name, k)) found = p;
        }
        if (found < 0)
            return err_set(err, "LoRA target \"%.*s\" is not a LLaMA projection (q_proj k_proj v_proj o_proj gate_proj "
                           "up_proj down_proj, or all-linear)", (int)(k > 64 ? 64 : k), s);
        t |= 1u << found;
        s += k + (e ? 1 : 0);
    }
    if (!t) return err_set(err, "no LoRA target given");
    *targets = t;
    return true;
}

void llama_lora_create(LlamaModel *m, int r, float alpha, unsigned targets) {
    LPOI_ASSERT(r > 0 && m->lora_r == 0 && (targets & ~LLAMA_LORA_ALL) == 0);
    Backend *be = m->be;
    const LlamaConfig *c = &m->cfg;
    size_t total = 0;
    for (int p = 0; p < LLAMA_NPROJ; p++)
        if (targets & (1u << p)) {
            int o, i;
            proj_shape(c, p, &o, &i);
            total += (size_t)r * ((size_t)o + (size_t)i) * (size_t)c->n_layer;
        }
    m->lora_r = r;
    m->lora_alpha = alpha;
    m->lora_targets = targets;
    m->lora_floats = total;
    m->lora_mem = be->alloc(be, total * sizeof(float));
    m->lora_grad = be->alloc(be, total * sizeof(float));
    be->fill_zero(be, m->lora_mem, total * sizeof(float));
    be->fill_zero(be, m->lora_grad, total * sizeof(float));
    size_t off = 0;
    for (int l = 0; l < c->n_layer; l++)
        for (int p = 0; p < LLAMA_NPROJ; p++) {
            if (!(targets & (1u << p))) continue;
            off += linear_lora_attach(&m->layers[l].proj[p], r, alpha, m->lora_mem + off, m->lora_grad + off);
        }
    LPOI_ASSERT(off == total);
}

size_t llama_lora_count(const LlamaModel *m) {
    return 2 * (size_t)m->cfg.n_layer * (size_t)__builtin_popcount(m->lora_targets);
}

static void lora_name(const LlamaModel *m, const char *module_prefix, int l, int p, bool is_b, char *name, size_t cap) {
    snprintf(name, cap, "base_model.model.%slayers.%d.%s.lora_%c.weight", module_prefix, l, LLAMA_PROJ_PATH[p],
             is_b ? 'B' : 'A');
    (void)m;
}

// The i-th adapter tensor: layer, projection and A/B.
static void lora_at(const LlamaModel *m, size_t i, int *l, int *p, bool *is_b) {
    int per = __builtin_popcount(m->lora_targets);
    size_t pair = i / 2;
    *is_b = i % 2;
    *l = (int)(pair / (size_t)per);
    int k = (int)(pair % (size_t)per);
    for (int q = 0; q < LLAMA_NPROJ; q++)
        if (m->lora_targets & (1u << q)) { if (k-- == 0) { *p = q; return; } }
    LPOI_ASSERT(0);
}

void llama_lora_tensor(const LlamaModel *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param,
                       float **grad) {
    LPOI_ASSERT(i < llama_lora_count(m));
    int l, p;
    bool is_b;
    lora_at(m, i, &l, &p, &is_b);
    const Linear *lin = &m->layers[l].proj[p];
    if (name) lora_name(m, m->spelling->prefix, l, p, is_b, name, cap);
    shape[0] = is_b ? lin->OC : lin->r;
    shape[1] = is_b ? lin->r : lin->C;
    if (param) *param = (float *)(is_b ? lin->lora_b : lin->lora_a);
    if (grad) *grad = is_b ? lin->dlora_b : lin->dlora_a;
}

void llama_lora_init(LlamaModel *m, uint64_t seed) {
    Backend *be = m->be;
    Rng rng;
    rng_seed(&rng, seed);
    size_t n = llama_lora_count(m);
    for (size_t i = 0; i < n; i++) {
        int64_t shape[2];
        float *param;
        llama_lora_tensor(m, i, NULL, 0, shape, &param, NULL);
        size_t k = (size_t)(shape[0] * shape[1]);
        float *h = malloc_check(k * sizeof *h);
        bool is_b = i % 2;
        float bound = 1.0f / sqrtf((float)shape[1]);   // A: [r, in], fan_in = in
        for (size_t j = 0; j < k; j++) h[j] = is_b ? 0.0f : bound * (2.0f * rng_uniform(&rng) - 1.0f);
        be->upload(be, param, h, k * sizeof *h);
        free(h);
    }
}

void llama_lora_zero_grad(LlamaModel *m) {
    if (m->lora_grad) m->be->fill_zero(m->be, m->lora_grad, m->lora_floats * sizeof(float));
}

bool llama_lora_load(LlamaModel *m, const WeightSource *src, LpoiErr *err) {
    LPOI_ASSERT(m->lora_r > 0);
    const char *what = src->what ? src->what : "adapter";
    // The module path of the decoder as the adapter names it: the model's own spelling, or (LLaVA)
    // the other one, which recent PEFT also accepts.
    const char *cands[3] = {m->spelling->prefix, NULL, NULL};
    if (!strcmp(m->spelling->prefix, "language_model.model.")) cands[1] = "model.language_model.";
    if (!strcmp(m->spelling->prefix, "model.language_model.")) cands[1] = "language_model.model.";
    const char *module = cands[0];
    int l0, p0;
    bool b0;
    lora_at(m, 0, &l0, &p0, &b0);
    for (int k = 0; k < 2 && cands[k]; k++) {
        char name[256];
        lora_name(m, cands[k], l0, p0, false, name, sizeof name);
        if (src_find(src, name)) { module = cands[k]; break; }
    }
    size_t n = llama_lora_count(m);
    NameList missing = {0}, shape = {0}, dtype = {0}, unexpected = {0};
    char (*names)[192] = malloc_check(n * sizeof *names);
    const StTensor **found = malloc_check(n * sizeof *found);
    for (size_t i = 0; i < n; i++) {
        int l, p;
        bool is_b;
        lora_at(m, i, &l, &p, &is_b);
        lora_name(m, module, l, p, is_b, names[i], sizeof names[i]);
        int64_t want[2];
        llama_lora_tensor(m, i, NULL, 0, want, NULL, NULL);
        const StTensor *t = found[i] = src_find(src, names[i]);
        if (!t) { list_add(&missing, "%s", names[i]); continue; }
        if (t->ndim != 2 || t->shape[0] != (uint64_t)want[0] || t->shape[1] != (uint64_t)want[1]) {
            int64_t have[ST_MAX_DIMS];
            for (int d = 0; d < t->ndim; d++) have[d] = (int64_t)t->shape[d];
            char a[64], b[64];
            fmt_dims(a, sizeof a, t->ndim, have);
            fmt_dims(b, sizeof b, 2, want);
            list_add(&shape, "%s is %s, expected %s", names[i], a, b);
        } else if (!float_dtype(t->dtype)) {
            list_add(&dtype, "%s is %s", names[i], dtype_name(t->dtype));
        }
    }
    for (size_t i = 0; i < src_count(src); i++) {
        const char *local = src_local(src, i);
        if (!local) continue;
        // A LLaVA adapter also holds the vision tower's and the projector's tensors: in a multimodal
        // spelling only names under the decoder's module paths are ours (the caller checks the rest).
        bool decoder = m->spelling->owns_all;
        for (int k = 0; k < 2 && cands[k] && !decoder; k++) {
            char head[128];
            snprintf(head, sizeof head, "base_model.model.%s", cands[k]);
            decoder = starts_with(local, head);
        }
        if (!decoder) continue;
        bool known = false;
        for (size_t j = 0; j < n && !known; j++) known = !strcmp(local, names[j]);
        if (!known) list_add(&unexpected, "%s", local);
    }
    bool ok = !missing.n && !shape.n && !dtype.n && !unexpected.n;
    if (!ok) {
        char msg[480] = "";
        list_append(msg, sizeof msg, &missing, "missing");
        list_append(msg, sizeof msg, &unexpected, "unexpected");
        list_append(msg, sizeof msg, &shape, "mis-shaped");
        list_append(msg, sizeof msg, &dtype, "not F32/F16/BF16");
        err_set(err, "%s: the LoRA adapter (r=%d) does not match the model: %s", what, m->lora_r, msg);
    }
    for (size_t i = 0; ok && i < n; i++) {
        int64_t shp[2];
        float *param;
        llama_lora_tensor(m, i, NULL, 0, shp, &param, NULL);
        float *h = malloc_check((size_t)(shp[0] * shp[1]) * sizeof *h);
        ok = st_read_f32(found[i], h, err);
        if (ok) m->be->upload(m->be, param, h, (size_t)(shp[0] * shp[1]) * sizeof *h);
        free(h);
    }
    free(names);
    free(found);
    return ok;
}
