// llava_load.c — LlavaConfig from config.json, binding a LLaVA checkpoint (vision tower, projector,
// language model) in either key layout, and the LoRA adapters of all three parts (PEFT names).
// Defaults (LlavaConfig, transformers 5.x): image_token_index 32000, vision_feature_layer -2,
// vision_feature_select_strategy "default", projector_hidden_act "gelu", multimodal_projector_bias
// true, image_seq_length 576; vision_config / text_config as clip_config_parse / llama_config_parse.
#include "models/llava.h"
#include "base/check.h"
#include "base/rng.h"
#include "base/file.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const LLAVA_PROJECTOR_PREFIXES[2] = {"model.multi_modal_projector.", "multi_modal_projector."};
static const char *const PROJ_NAME[LLAVA_NPROJ] = {"linear_1", "linear_2"};

// Module paths of each part as PEFT adapters name them (after "base_model.model."), the
// transformers 5 one first (it is what llava_lora_tensor writes).
static const char *const VISION_MODULES[] = {"model.vision_tower.", "model.vision_tower.vision_model.",
                                             "vision_tower.vision_model.", "vision_tower.", NULL};
static const char *const PROJ_MODULES[] = {"model.multi_modal_projector.", "multi_modal_projector.", NULL};
static const char *const TEXT_MODULES[] = {"model.language_model.", "language_model.model.", NULL};

// ---- config --------------------------------------------------------------------------------
bool llava_config_parse(LlavaConfig *c, const JsonValue *root, const char *what, LpoiErr *err) {
    if (!root || root->type != JSON_OBJECT) return err_set(err, "%s: expected a JSON object", what);
    const char *type = json_get_str(root, "model_type");
    if (!type || strcmp(type, "llava") != 0)
        return err_set(err, "%s: model_type \"%s\" is not a LLaVA config (expected \"llava\")", what, type ? type : "(none)");
    LlavaConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    if (!clip_config_parse(&cfg.vision, root, what, err)) return false;
    if (!llama_config_parse(&cfg.text, root, what, err)) return false;
    int64_t x;
    const JsonValue *v = json_get(root, "image_token_index");
    const char *key = "image_token_index";
    if (!v || v->type == JSON_NULL) { v = json_get(root, "image_token_id"); key = "image_token_id"; }
    cfg.image_token = 32000;
    if (v && v->type != JSON_NULL) {
        if (!json_as_i64(v, &x) || x < 0 || x >= cfg.text.V)
            return err_set(err, "%s: \"%s\" must be a token id in [0, %d) (the text vocabulary)", what, key, cfg.text.V);
        cfg.image_token = (int)x;
    } else if (cfg.image_token >= cfg.text.V) {
        return err_set(err, "%s: the default image_token_index 32000 is outside the text vocabulary (%d)", what, cfg.text.V);
    }
    v = json_get(root, "vision_feature_layer");
    cfg.feature_layer = -2;
    if (v && v->type == JSON_ARRAY)
        return err_set(err, "%s: a list-valued \"vision_feature_layer\" (concatenated layers) is not supported", what);
    if (v && v->type != JSON_NULL) {
        if (!json_as_i64(v, &x) || x < -1024 || x > 1024) return err_set(err, "%s: \"vision_feature_layer\" must be an integer", what);
        cfg.feature_layer = (int)x;
    }
    cfg.feature_k = clip_feature_index(&cfg.vision, cfg.feature_layer);
    if (cfg.feature_k < 0)
        return err_set(err, "%s: vision_feature_layer %d is outside the %d hidden states of the vision tower", what,
                       cfg.feature_layer, cfg.vision.L + 1);
    v = json_get(root, "vision_feature_select_strategy");
    const char *sel = v && v->type == JSON_STRING ? v->str : "default";
    if (v && v->type != JSON_STRING && v->type != JSON_NULL)
        return err_set(err, "%s: \"vision_feature_select_strategy\" must be a string", what);
    if (!strcmp(sel, "default")) cfg.select = CLIP_SELECT_DEFAULT;
    else if (!strcmp(sel, "full")) cfg.select = CLIP_SELECT_FULL;
    else return err_set(err, "%s: vision_feature_select_strategy \"%s\" is not supported (\"default\" or \"full\")", what, sel);
    v = json_get(root, "projector_hidden_act");
    const char *act = v && v->type == JSON_STRING ? v->str : "gelu";
    if (v && v->type != JSON_STRING && v->type != JSON_NULL)
        return err_set(err, "%s: \"projector_hidden_act\" must be a string", what);
    if (!strcmp(act, "gelu")) cfg.proj_act = GELU_ERF;
    else if (!strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_new")) cfg.proj_act = GELU_TANH;
    else if (!strcmp(act, "quick_gelu")) cfg.proj_act = GELU_QUICK;
    else return err_set(err, "%s: projector_hidden_act \"%s\" is not supported (gelu, gelu_pytorch_tanh, quick_gelu)", what, act);
    cfg.proj_bias = true;
    v = json_get(root, "multimodal_projector_bias");
    if (v && v->type != JSON_NULL) {
        if (v->type != JSON_BOOL) return err_set(err, "%s: \"multimodal_projector_bias\" must be true or false", what);
        cfg.proj_bias = v->boolean;
    }
    cfg.image_seq_length = 576;
    v = json_get(root, "image_seq_length");
    if (v && v->type != JSON_NULL) {
        if (!json_as_i64(v, &x) || x < 1 || x > (1 << 24)) return err_set(err, "%s: \"image_seq_length\" must be a positive integer", what);
        cfg.image_seq_length = (int)x;
    }
    cfg.tokens_per_image = clip_features_per_image(&cfg.vision, cfg.select);
    *c = cfg;
    return true;
}

bool llava_config_load(LlavaConfig *c, const char *path, LpoiErr *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n >= 5 && !strcmp(path + n - 5, ".json")) snprintf(buf, sizeof buf, "%s", path);
    else snprintf(buf, sizeof buf, "%s/config.json", path);
    size_t size;
    char *text = file_read_all(buf, 16u << 20, &size, err);
    if (!text) return false;
    LpoiErr jerr = {{0}};
    JsonDoc *doc = json_parse(text, size, &jerr);
    free(text);
    if (!doc) return err_set(err, "%s: %s", buf, jerr.msg);
    bool ok = llava_config_parse(c, json_root(doc), buf, err);
    json_free(doc);
    return ok;
}

// ---- specs ---------------------------------------------------------------------------------
static size_t proj_specs(const LlavaConfig *c, const char *prefix, ClipWeightSpec *out, size_t cap) {
    size_t n = 0;
    for (int p = 0; p < LLAVA_NPROJ; p++) {
        int64_t in = p == LLAVA_PROJ_1 ? c->vision.C : c->text.C;
        for (int b = 0; b < (c->proj_bias ? 2 : 1); b++, n++) {
            if (n >= cap) continue;
            snprintf(out[n].name, sizeof out[n].name, "%s%s.%s", prefix, PROJ_NAME[p], b ? "bias" : "weight");
            out[n].ndim = b ? 1 : 2;
            out[n].shape[0] = c->text.C;
            out[n].shape[1] = b ? 0 : in;
        }
    }
    return n;
}

size_t llava_weight_specs(const LlavaConfig *c, ClipWeightSpec *out, size_t cap) {
    size_t n = clip_weight_specs(&c->vision, "vision_tower.vision_model.", out, cap);
    n += proj_specs(c, "multi_modal_projector.", n < cap ? out + n : NULL, n < cap ? cap - n : 0);
    const LlamaSpelling *sp = &LLAMA_SPELLINGS[1];
    size_t k = llama_weight_specs(&c->text, sp, NULL, 0);
    LlamaWeightSpec *ls = malloc_check(k * sizeof *ls);
    llama_weight_specs(&c->text, sp, ls, k);
    for (size_t i = 0; i < k; i++, n++) {
        if (n >= cap) continue;
        snprintf(out[n].name, sizeof out[n].name, "%s", ls[i].name);
        out[n].ndim = ls[i].ndim;
        out[n].shape[0] = ls[i].shape[0];
        out[n].shape[1] = ls[i].ndim == 2 ? ls[i].shape[1] : 0;
    }
    free(ls);
    return n;
}

// ---- loading ---------------------------------------------------------------------------------
static const StTensor *src_find(const WeightSource *s, const char *name) {
    char full[512];
    const char *p = s->prefix ? s->prefix : "";
    if ((size_t)snprintf(full, sizeof full, "%s%s", p, name) >= sizeof full) return NULL;
    return s->model ? st_model_find(s->model, full) : st_find(s->file, full);
}
static size_t src_count(const WeightSource *s) { return s->model ? s->model->count : s->file->count; }
static const char *src_local(const WeightSource *s, size_t i) {
    const char *n = s->model ? s->model->by_name[i]->name : s->file->tensors[i].name;
    const char *p = s->prefix ? s->prefix : "";
    return strncmp(n, p, strlen(p)) ? NULL : n + strlen(p);
}
static bool starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

// Appends "part: msg" to out (one line, truncated to fit).
static void add_part(char *out, size_t cap, const char *part, const char *msg) {
    size_t k = strlen(out);
    if (k + 4 < cap) snprintf(out + k, cap - k, "%s%s: %s", k ? "; " : "", part, msg);
}

// A sub-loader's message without its leading "<what>: " (the caller names the file once).
static const char *strip_what(const char *msg, const char *what) {
    size_t k = strlen(what);
    return !strncmp(msg, what, k) && !strncmp(msg + k, ": ", 2) ? msg + k + 2 : msg;
}

static bool bind_projector(LlavaModel *m, const WeightSource *src, char *msg, size_t cap) {
    const LlavaConfig *c = &m->cfg;
    const char *prefix = NULL;
    for (int i = 0; i < 2 && !prefix; i++) {
        char name[128];
        snprintf(name, sizeof name, "%slinear_1.weight", LLAVA_PROJECTOR_PREFIXES[i]);
        if (src_find(src, name)) prefix = LLAVA_PROJECTOR_PREFIXES[i];
    }
    if (!prefix) {
        snprintf(msg, cap, "no multi_modal_projector.linear_1.weight (or model.multi_modal_projector.linear_1.weight)");
        return false;
    }
    ClipWeightSpec specs[4];
    size_t n = proj_specs(c, prefix, specs, 4);
    const StTensor *found[4];
    if (!clip_resolve_specs(src, specs, n, prefix, found, msg, cap)) return false;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += (size_t)found[i]->numel;
    Backend *be = m->be;
    m->proj_prefix = prefix;
    m->proj_mem = be->alloc(be, total * sizeof(float));
    size_t off = 0;
    const float *ptr[4] = {0};
    for (size_t i = 0; i < n; i++) {
        float *h = malloc_check((size_t)found[i]->numel * sizeof *h);
        LpoiErr e = {{0}};
        if (!st_read_f32(found[i], h, &e)) LPOI_ASSERT(0);   // float dtypes only after resolve
        be->upload(be, m->proj_mem + off, h, (size_t)found[i]->numel * sizeof *h);
        free(h);
        ptr[i] = m->proj_mem + off;
        off += (size_t)found[i]->numel;
    }
    int per = c->proj_bias ? 2 : 1;
    for (int p = 0; p < LLAVA_NPROJ; p++) {
        Linear *l = &m->proj[p];
        memset(l, 0, sizeof *l);
        l->C = p == LLAVA_PROJ_1 ? c->vision.C : c->text.C;
        l->OC = c->text.C;
        l->w = ptr[p * per];
        l->b = c->proj_bias ? ptr[p * per + 1] : NULL;
    }
    return true;
}

bool llava_load(LlavaModel *m, Backend *be, const LlavaConfig *cfg, const WeightSource *src, LpoiErr *err) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->be = be;
    const char *what = src->what ? src->what : "weights";
    char msg[1200] = "", part[480];
    LpoiErr e = {{0}};
    bool vis_ok = clip_load(&m->vision, be, &cfg->vision, src, &e);
    if (!vis_ok) add_part(msg, sizeof msg, "vision tower", strip_what(e.msg, what));
    bool proj_ok = bind_projector(m, src, part, sizeof part);
    if (!proj_ok) add_part(msg, sizeof msg, "projector", part);
    bool lm_ok = llama_load(&m->lm, be, &cfg->text, src, &e);
    if (!lm_ok) add_part(msg, sizeof msg, "language model", strip_what(e.msg, what));
    // Tensors that belong to no part.
    int stray = 0;
    char stray_names[200] = "";
    for (size_t i = 0; i < src_count(src); i++) {
        const char *local = src_local(src, i);
        if (!local) continue;
        bool ours = starts_with(local, "vision_tower.") || starts_with(local, "model.vision_tower.") ||
                    starts_with(local, "multi_modal_projector.") || starts_with(local, "model.multi_modal_projector.") ||
                    starts_with(local, "language_model.") || starts_with(local, "model.language_model.") ||
                    !strcmp(local, "lm_head.weight");
        if (ours) continue;
        if (stray++ < 3) {
            size_t k = strlen(stray_names);
            snprintf(stray_names + k, sizeof stray_names - k, "%s%s", k ? ", " : "", local);
        }
    }
    if (stray) {
        snprintf(part, sizeof part, "%d unexpected (%s%s)", stray, stray_names, stray > 3 ? ", ..." : "");
        add_part(msg, sizeof msg, "not part of a LLaVA model", part);
    }
    if (vis_ok && proj_ok && lm_ok && !stray) {
        m->lora_on = true;
        return true;
    }
    if (vis_ok) clip_free(&m->vision);
    if (m->proj_mem) be->free(be, m->proj_mem);
    if (lm_ok) llama_free(&m->lm);
    memset(m, 0, sizeof *m);
    return err_set(err, "%s: the LLaVA weights do not match the config: %s", what, msg);
}

bool llava_open(LlavaModel *m, Backend *be, const char *dir, LpoiErr *err) {
    LlavaConfig cfg;
    if (!llava_config_load(&cfg, dir, err)) return false;
    StModel st;
    if (!st_model_open(&st, dir, err)) return false;
    WeightSource src = {.model = &st, .prefix = "", .what = dir};
    bool ok = llava_load(m, be, &cfg, &src, err);
    st_model_close(&st);
    return ok;
}

void llava_step_free(LlavaModel *m);   // llava.c

void llava_free(LlavaModel *m) {
    Backend *be = m->be;
    if (!be) return;
    llava_step_free(m);
    clip_free(&m->vision);
    llama_free(&m->lm);
    if (m->proj_mem) be->free(be, m->proj_mem);
    if (m->proj_lora_mem) be->free(be, m->proj_lora_mem);
    if (m->proj_lora_grad) be->free(be, m->proj_lora_grad);
    if (m->acts_mem) be->free(be, m->acts_mem);
    memset(m, 0, sizeof *m);
}

// ---- LoRA -----------------------------------------------------------------------------------
static const char *const VISION_SHORT[CLIP_NPROJ] = {"q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"};
static const char *const TEXT_SHORT[LLAMA_NPROJ] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                    "down_proj"};

bool llava_lora_parse_targets(const char *spec, LlavaLoraTargets *t, LpoiErr *err) {
    memset(t, 0, sizeof *t);
    if (!strcmp(spec, "all-linear")) {
        t->vision = CLIP_LORA_ALL;
        t->projector = (1u << LLAVA_NPROJ) - 1;
        t->text = LLAMA_LORA_ALL;
        return true;
    }
    const char *s = spec;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t k = e ? (size_t)(e - s) : strlen(s);
        char item[96];
        if (k == 0 || k >= sizeof item) return err_set(err, "LoRA target list \"%.64s\" has an empty or overlong entry", spec);
        memcpy(item, s, k);
        item[k] = 0;
        // Optional part qualifier.
        int part = -1;   // -1: every part; 0 vision, 1 projector, 2 text
        const char *name = item;
        static const char *const QUAL[3] = {"vision_tower.", "multi_modal_projector.", "language_model."};
        for (int q = 0; q < 3; q++)
            if (starts_with(item, QUAL[q])) { part = q; name = item + strlen(QUAL[q]); }
        bool hit = false;
        for (int p = 0; p < CLIP_NPROJ; p++)
            if ((part < 0 || part == 0) && !strcmp(name, VISION_SHORT[p])) { t->vision |= 1u << p; hit = true; }
        for (int p = 0; p < LLAVA_NPROJ; p++)
            if ((part < 0 || part == 1) && !strcmp(name, PROJ_NAME[p])) { t->projector |= 1u << p; hit = true; }
        for (int p = 0; p < LLAMA_NPROJ; p++)
            if ((part < 0 || part == 2) && !strcmp(name, TEXT_SHORT[p])) { t->text |= 1u << p; hit = true; }
        if (!hit)
            return err_set(err, "LoRA target \"%s\" names no LLaVA Linear (vision q_proj k_proj v_proj out_proj fc1 fc2; "
                           "projector linear_1 linear_2; text q_proj k_proj v_proj o_proj gate_proj up_proj down_proj; "
                           "optionally after vision_tower. / multi_modal_projector. / language_model.; or all-linear)", item);
        s += k + (e ? 1 : 0);
    }
    if (!t->vision && !t->projector && !t->text) return err_set(err, "no LoRA target given");
    return true;
}

void llava_lora_create(LlavaModel *m, int r, float alpha, const LlavaLoraTargets *t) {
    LPOI_ASSERT(r > 0);
    Backend *be = m->be;
    if (t->vision) clip_lora_create(&m->vision, r, alpha, t->vision);
    if (t->text) llama_lora_create(&m->lm, r, alpha, t->text);
    if (t->projector) {
        size_t total = 0;
        for (int p = 0; p < LLAVA_NPROJ; p++)
            if (t->projector & (1u << p)) total += (size_t)r * ((size_t)m->proj[p].C + (size_t)m->proj[p].OC);
        m->proj_lora_targets = t->projector;
        m->proj_lora_floats = total;
        m->proj_lora_mem = be->alloc(be, total * sizeof(float));
        m->proj_lora_grad = be->alloc(be, total * sizeof(float));
        be->fill_zero(be, m->proj_lora_mem, total * sizeof(float));
        be->fill_zero(be, m->proj_lora_grad, total * sizeof(float));
        size_t off = 0;
        for (int p = 0; p < LLAVA_NPROJ; p++) {
            if (!(t->projector & (1u << p))) continue;
            off += linear_lora_attach(&m->proj[p], r, alpha, m->proj_lora_mem + off, m->proj_lora_grad + off);
        }
        LPOI_ASSERT(off == total);
    }
}

static size_t proj_lora_count(const LlavaModel *m) { return 2 * (size_t)__builtin_popcount(m->proj_lora_targets); }

size_t llava_lora_count(const LlavaModel *m) {
    return clip_lora_count(&m->vision) + proj_lora_count(m) + (m->lm.lora_r > 0 ? llama_lora_count(&m->lm) : 0);
}

// Projector adapter i: module linear_p, A or B.
static void proj_lora_tensor(const LlavaModel *m, size_t i, const char *module, char *name, size_t cap,
                             int64_t shape[2], float **param, float **grad) {
    int k = (int)(i / 2), p = -1;
    bool is_b = i % 2;
    for (int q = 0; q < LLAVA_NPROJ && p < 0; q++)
        if (m->proj_lora_targets & (1u << q)) { if (k-- == 0) p = q; }
    LPOI_ASSERT(p >= 0);
    const Linear *l = &m->proj[p];
    if (name) snprintf(name, cap, "base_model.model.%s%s.lora_%c.weight", module, PROJ_NAME[p], is_b ? 'B' : 'A');
    if (shape) {
        shape[0] = is_b ? l->OC : l->r;
        shape[1] = is_b ? l->r : l->C;
    }
    if (param) *param = (float *)(is_b ? l->lora_b : l->lora_a);
    if (grad) *grad = is_b ? l->dlora_b : l->dlora_a;
}

// A language-model adapter name in the transformers-5 module path, given `module`.
static void text_lora_name(const LlavaModel *m, size_t i, const char *module, char *name, size_t cap) {
    char raw[256];
    int64_t shape[2];
    llama_lora_tensor(&m->lm, i, raw, sizeof raw, shape, NULL, NULL);
    char head[128];
    snprintf(head, sizeof head, "base_model.model.%s", m->lm.spelling->prefix);
    LPOI_ASSERT(starts_with(raw, head));
    snprintf(name, cap, "base_model.model.%s%s", module, raw + strlen(head));
}

void llava_lora_tensor(const LlavaModel *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param,
                       float **grad) {
    size_t nv = clip_lora_count(&m->vision), np = proj_lora_count(m);
    if (i < nv) {
        clip_lora_tensor(&m->vision, i, VISION_MODULES[0], name, cap, shape, param, grad);
        return;
    }
    i -= nv;
    if (i < np) {
        proj_lora_tensor(m, i, PROJ_MODULES[0], name, cap, shape, param, grad);
        return;
    }
    i -= np;
    llama_lora_tensor(&m->lm, i, NULL, 0, shape, param, grad);
    if (name) text_lora_name(m, i, TEXT_MODULES[0], name, cap);
}

void llava_lora_zero_grad(LlavaModel *m) {
    clip_lora_zero_grad(&m->vision);
    if (m->lm.lora_r > 0) llama_lora_zero_grad(&m->lm);
    if (m->proj_lora_grad) m->be->fill_zero(m->be, m->proj_lora_grad, m->proj_lora_floats * sizeof(float));
}

void llava_set_lora(LlavaModel *m, bool on) {
    m->lora_on = on;
    m->vision.lora_on = on;
    m->lm.lora_on = on;
}

void llava_lora_init(LlavaModel *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    size_t nv = clip_lora_count(&m->vision), np = proj_lora_count(m);
    for (size_t i = 0; i < nv + np; i++) {
        int64_t shape[2];
        float *param;
        llava_lora_tensor(m, i, NULL, 0, shape, &param, NULL);
        size_t k = (size_t)(shape[0] * shape[1]);
        float *h = malloc_check(k * sizeof *h);
        float bound = 1.0f / sqrtf((float)shape[1]);
        for (size_t j = 0; j < k; j++) h[j] = i % 2 ? 0.0f : bound * (2.0f * rng_uniform(&rng) - 1.0f);
        m->be->upload(m->be, param, h, k * sizeof *h);
        free(h);
    }
    if (m->lm.lora_r > 0) llama_lora_init(&m->lm, seed ^ 0x9e3779b97f4a7c15ull);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

bool llava_lora_load(LlavaModel *m, const WeightSource *src, LpoiErr *err) {
    const char *what = src->what ? src->what : "adapter";
    char msg[1200] = "";
    LpoiErr e = {{0}};
    bool ok = true;
    if (m->vision.lora_r > 0 && !clip_lora_load(&m->vision, src, VISION_MODULES, &e)) {
        add_part(msg, sizeof msg, "vision tower", strip_what(e.msg, what));
        ok = false;
    }
    if (m->lm.lora_r > 0 && !llama_lora_load(&m->lm, src, &e)) {
        add_part(msg, sizeof msg, "language model", strip_what(e.msg, what));
        ok = false;
    }
    size_t np = proj_lora_count(m);
    if (np) {   // projector: the first module path that holds its first tensor
        const char *module = PROJ_MODULES[0];
        for (int k = 0; PROJ_MODULES[k]; k++) {
            char name[256];
            proj_lora_tensor(m, 0, PROJ_MODULES[k], name, sizeof name, NULL, NULL, NULL);
            if (src_find(src, name)) { module = PROJ_MODULES[k]; break; }
        }
        int missing = 0;
        char part[300] = "";
        for (size_t i = 0; i < np; i++) {
            char name[256];
            int64_t shape[2];
            float *param;
            proj_lora_tensor(m, i, module, name, sizeof name, shape, &param, NULL);
            const StTensor *t = src_find(src, name);
            size_t k = strlen(part);
            if (!t) {
                missing++;
                snprintf(part + k, sizeof part - k, "%smissing %s", k ? ", " : "", name);
            } else if (t->ndim != 2 || t->shape[0] != (uint64_t)shape[0] || t->shape[1] != (uint64_t)shape[1]) {
                missing++;
                snprintf(part + k, sizeof part - k, "%s%s is not [%lld,%lld]", k ? ", " : "", name, (long long)shape[0],
                         (long long)shape[1]);
            } else {
                float *h = malloc_check((size_t)(shape[0] * shape[1]) * sizeof *h);
                if (st_read_f32(t, h, &e)) m->be->upload(m->be, param, h, (size_t)(shape[0] * shape[1]) * sizeof *h);
                else { missing++; snprintf(part + k, sizeof part - k, "%s%.200s", k ? ", " : "", e.msg); }
                free(h);
            }
        }
        if (missing) { add_part(msg, sizeof msg, "projector", part); ok = false; }
    }
    // Every tensor of the adapter must be one of ours, under any accepted module path.
    size_t n = llava_lora_count(m), nv = clip_lora_count(&m->vision);
    size_t nnames = n * 4;
    char (*names)[256] = malloc_check((nnames ? nnames : 1) * sizeof *names);
    const char **sorted = malloc_check((nnames ? nnames : 1) * sizeof *sorted);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i < nv) {
            for (int j = 0; VISION_MODULES[j]; j++) clip_lora_tensor(&m->vision, i, VISION_MODULES[j], names[k++], 256, NULL, NULL, NULL);
        } else if (i < nv + np) {
            for (int j = 0; PROJ_MODULES[j]; j++) proj_lora_tensor(m, i - nv, PROJ_MODULES[j], names[k++], 256, NULL, NULL, NULL);
        } else {
            for (int j = 0; TEXT_MODULES[j]; j++) text_lora_name(m, i - nv - np, TEXT_MODULES[j], names[k++], 256);
        }
    }
    for (size_t i = 0; i < k; i++) sorted[i] = names[i];
    qsort(sorted, k, sizeof *sorted, cmp_str);
    int stray = 0;
    char stray_names[240] = "";
    for (size_t i = 0; i < src_count(src); i++) {
        const char *local = src_local(src, i);
        if (!local || bsearch(&local, sorted, k, sizeof *sorted, cmp_str)) continue;
        if (stray++ < 3) {
            size_t q = strlen(stray_names);
            snprintf(stray_names + q, sizeof stray_names - q, "%s%s", q ? ", " : "", local);
        }
    }
    free(names);
    free(sorted);
    if (stray) {
        char part[300];
        snprintf(part, sizeof part, "%d unexpected (%s%s)", stray, stray_names, stray > 3 ? ", ..." : "");
        add_part(msg, sizeof msg, "adapter", part);
        ok = false;
    }
    if (!ok) return err_set(err, "%s: the LoRA adapter does not match the model: %s", what, msg);
    return true;
}
