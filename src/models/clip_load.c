// clip_load.c — ClipConfig from config.json, the CLIP vision tower's spec table (bound through
// nn/weights.h) and its LoRA modules (nn/lora.h).
// Defaults (transformers 5.x):
//                      CLIPVisionConfig   LlavaConfig without vision_config (CLIP ViT-L/14-336)
//   hidden_size        768                1024
//   intermediate_size  3072               4096
//   num_hidden_layers  12                 24
//   num_attention_heads 12                16
//   image_size         224                336
//   patch_size         32                 14
//   num_channels 3, hidden_act quick_gelu, layer_norm_eps 1e-5, attention_dropout 0 (both)
#include "models/clip.h"
#include "models/model.h"
#include "models/vit_layer.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const CLIP_PROJ_PATH[CLIP_NPROJ] = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2",
};
const LoraModules CLIP_LORA_MODULES = {CLIP_PROJ_PATH, CLIP_NPROJ, "encoder.layers.%d."};

const char *const CLIP_PREFIXES[] = {
    "model.vision_tower.vision_model.", "vision_tower.vision_model.", "model.vision_tower.", "vision_tower.",
    "vision_model.", "",
};
const size_t CLIP_NPREFIXES = LPOI_ARRAY_LEN(CLIP_PREFIXES);

// ---- config --------------------------------------------------------------------------------
GeluKind clip_read_act(JsonCfg *c, const char *key, const char *def) {
    static const char *const NAMES[] = {"quick_gelu", "gelu", "gelu_pytorch_tanh", "gelu_new"};
    static const GeluKind KINDS[] = {GELU_QUICK, GELU_ERF, GELU_TANH, GELU_TANH};
    int d = 0;
    while (strcmp(NAMES[d], def)) d++;
    return KINDS[json_cfg_enum(c, key, d, NAMES, 4)];
}

// image_size / patch_size: an integer or a [h, w] pair of equal integers.
static int read_square(JsonCfg *c, const char *key, int def, int64_t hi) {
    const JsonValue *v = json_get(c->obj, key);
    if (c->ok && v && v->type == JSON_ARRAY) {
        int64_t a, b;
        if (v->count != 2 || !json_as_i64(v->items[0], &a) || !json_as_i64(v->items[1], &b) || a != b || a < 1 || a > hi)
            return json_cfg_fail(c, "\"%s\" must be an integer or a pair of equal integers (only square images are supported)",
                                 key), def;
        return (int)a;
    }
    return (int)json_cfg_int(c, key, def, 1, hi);
}

static bool parse_vision(ClipConfig *out, const JsonValue *o, bool llava_defaults, const char *what, LpoiErr *err) {
    JsonValue empty = {.type = JSON_OBJECT};
    JsonCfg c;
    if (!json_cfg_open(&c, o ? o : &empty, what, err)) return false;
    const char *type = json_cfg_str(&c, "model_type", "clip_vision_model");
    if (c.ok && strcmp(type, "clip_vision_model") != 0)
        json_cfg_fail(&c, "model_type \"%s\" is not supported (the vision tower must be \"clip_vision_model\")", type);
    ClipConfig cfg = {0};
    cfg.C = (int)json_cfg_int(&c, "hidden_size", llava_defaults ? 1024 : 768, 1, 1 << 16);
    cfg.F = (int)json_cfg_int(&c, "intermediate_size", llava_defaults ? 4096 : 3072, 1, 1 << 18);
    cfg.n_layer = (int)json_cfg_int(&c, "num_hidden_layers", llava_defaults ? 24 : 12, 0, 1024);
    cfg.H = (int)json_cfg_int(&c, "num_attention_heads", llava_defaults ? 16 : 12, 1, 1 << 12);
    cfg.ch = (int)json_cfg_int(&c, "num_channels", 3, 1, 64);
    cfg.S = read_square(&c, "image_size", llava_defaults ? 336 : 224, 1 << 14);
    cfg.p = read_square(&c, "patch_size", llava_defaults ? 14 : 32, 1 << 10);
    cfg.eps = (float)json_cfg_num(&c, "layer_norm_eps", 1e-5);
    cfg.act = clip_read_act(&c, "hidden_act", "quick_gelu");
    if (c.ok && json_cfg_num(&c, "attention_dropout", 0.0) != 0.0)
        json_cfg_fail(&c, "\"attention_dropout\" other than 0 is not supported (no dropout is implemented)");
    if (c.ok && !(cfg.eps >= 0 && cfg.eps < 1)) json_cfg_fail(&c, "\"layer_norm_eps\" must be in [0, 1)");
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
    bool absent = !vc || vc->type == JSON_NULL;
    char sub[300];
    snprintf(sub, sizeof sub, "%s: vision_config", what);
    if (type && (!strcmp(type, "llava") || !strcmp(type, "clip"))) {
        if (!absent && vc->type != JSON_OBJECT) return err_set(err, "%s: must be an object", sub);
        return parse_vision(c, absent ? NULL : vc, !strcmp(type, "llava") && absent, sub, err);
    }
    if (type && strcmp(type, "clip_vision_model") != 0)
        return err_set(err, "%s: model_type \"%s\" is not supported (clip_vision_model, clip, or llava)", what, type);
    return parse_vision(c, root, false, what, err);
}

int clip_feature_index(const ClipConfig *c, int feature_layer) {
    int k = feature_layer < 0 ? c->n_layer + 1 + feature_layer : feature_layer;
    return k >= 0 && k <= c->n_layer ? k : -1;
}

// ---- the spec table -------------------------------------------------------------------------
void clip_weight_specs(const ClipConfig *c, const char *prefix, ClipModel *m, WeightSpecs *out) {
#define AT(field) (m ? &(field) : NULL)
    SPEC1(out, AT(m->class_emb), c->C, "%sembeddings.class_embedding", prefix);
    specs_add(out, AT(m->patch_w), 4, (const int64_t[]){c->C, c->ch, c->p, c->p}, "%sembeddings.patch_embedding.weight", prefix);
    SPEC2(out, AT(m->pos_emb), c->T, c->C, "%sembeddings.position_embedding.weight", prefix);
    SPEC1(out, AT(m->pre_w), c->C, "%spre_layrnorm.weight", prefix);
    SPEC1(out, AT(m->pre_b), c->C, "%spre_layrnorm.bias", prefix);
    for (int l = 0; l < c->n_layer; l++) vit_layer_specs(out, prefix, l, c->C, c->F, m ? &m->layers[l] : NULL);
    SPEC1(out, AT(m->post_w), c->C, "%spost_layernorm.weight", prefix);
    SPEC1(out, AT(m->post_b), c->C, "%spost_layernorm.bias", prefix);
#undef AT
}

// ---- binding --------------------------------------------------------------------------------
bool clip_plan(ClipModel *m, const ClipConfig *cfg, const WeightSource *src, WeightPlan *p, char *msg, size_t cap) {
    memset(m, 0, sizeof *m);
    memset(p, 0, sizeof *p);
    const char *const *found = ws_detect(src, CLIP_PREFIXES, CLIP_NPREFIXES, sizeof *CLIP_PREFIXES, "embeddings.patch_embedding.weight");
    const char *prefix = found ? *found : NULL;
    if (!prefix)
        return snprintf(msg, cap, "no CLIP vision tower (embeddings.patch_embedding.weight under vision_tower.vision_model., "
                        "model.vision_tower., vision_tower., vision_model. or no prefix)"), false;
    m->cfg = *cfg;
    m->prefix = prefix;
    m->layers = calloc_check((size_t)LPOI_MAX(cfg->n_layer, 1), sizeof *m->layers);
    clip_weight_specs(cfg, prefix, m, &p->specs);
    WeightRules rules = {.owned = {prefix}};   // every tensor under the tower's prefix is ours
    return model_plan_or_text(p, src, &rules, "the CLIP vision weights", prefix, msg, cap) || (clip_free(m), false);
}

bool clip_bind(ClipModel *m, Backend *be, WeightPlan *p, LpoiErr *err) {
    m->be = be;
    m->weights_mem = weights_upload(be, p, &m->weights_floats, err);
    weights_plan_free(p);
    m->lora_on = true;
    return m->weights_mem || (clip_free(m), false);
}

static bool plan(void *m, const void *c, const WeightSource *s, WeightPlan *p, char *msg, size_t cap) { return clip_plan(m, c, s, p, msg, cap); }
static bool bind(void *m, Backend *be, WeightPlan *p, LpoiErr *err) { return clip_bind(m, be, p, err); }
static bool load(void *m, Backend *be, const void *c, const WeightSource *s, LpoiErr *err) { return clip_load(m, be, c, s, err); }
static bool parse(void *c, const JsonValue *root, const char *what, LpoiErr *err) { return clip_config_parse(c, root, what, err); }

bool clip_load(ClipModel *m, Backend *be, const ClipConfig *cfg, const WeightSource *src, LpoiErr *err) {
    return model_load(plan, bind, m, be, cfg, src, err);
}

bool clip_open(ClipModel *m, Backend *be, const char *dir, LpoiErr *err) {
    ClipConfig cfg;   // config.json: a CLIPVisionConfig, CLIPConfig or LlavaConfig
    return model_config_read(dir, parse, &cfg, err) && model_open_dir(load, m, be, &cfg, dir, err);
}

void clip_step_free(ClipModel *m);   // clip.c

void clip_free(ClipModel *m) {
    if (m->be) clip_step_free(m);
    model_mem_free(m->be, &m->weights_mem, &m->lora, &m->acts_mem);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

// ---- LoRA -----------------------------------------------------------------------------------
void clip_lora_create(ClipModel *m, int r, float alpha, unsigned targets) {
    LPOI_ASSERT(m->lora.r == 0);
    lora_create(&m->lora, m->be, &CLIP_LORA_MODULES, m->layers[0].proj, sizeof(ClipLayer), m->cfg.n_layer, r, alpha,
                targets);
}

size_t clip_lora_count(const ClipModel *m) { return lora_count(&m->lora); }
void clip_lora_zero_grad(ClipModel *m) { lora_zero_grad(&m->lora); }

void clip_lora_tensor(const ClipModel *m, size_t i, const char *module, char *name, size_t cap, int64_t shape[2],
                      float **param, float **grad) {
    lora_tensor(&m->lora, i, module ? module : m->prefix, name, cap, shape, param, grad);
}

bool clip_lora_load(ClipModel *m, const WeightSource *src, const char *const *modules, LpoiErr *err) {
    LPOI_ASSERT(m->lora.r > 0);
    WeightPlan p;
    lora_plan(&m->lora, src, lora_find_module(&m->lora, src, modules), NULL, &p);
    return lora_load_planned(&m->lora, &p, src, "the vision LoRA adapter", err);
}
