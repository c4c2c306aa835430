// idefics2_load.c — Idefics2Config from config.json, the connector's spec table (modality projection
// and perceiver resampler) and LoRA sets, and the whole model's tensor inventory.
// Defaults (transformers 5.24):
//   Idefics2Config           image_token_id 32001, tie_word_embeddings false, text_config MistralConfig
//                            (max_position_embeddings 32768, rms_norm_eps 1e-5, pad_token_id 0)
//   Idefics2PerceiverConfig  hidden_act silu, hidden_size 4096, rms_norm_eps 1e-6, resampler_n_latents 64,
//                            resampler_depth 3, resampler_n_heads 16, resampler_head_dim 96,
//                            num_key_value_heads 4, attention_dropout 0
//   vision_config            siglip_config_parse (Idefics2VisionConfig)
// When the perceiver's hidden_size differs from the text one, HF overwrites it AND its rms_norm_eps
// with the text config's (Idefics2Config.__post_init__); so do we.
#include "models/idefics2.h"
#include "models/model.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const PERCEIVER_PROJ_PATH[PERC_NPROJ] = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
};
const LoraModules PERCEIVER_LORA_MODULES = {PERCEIVER_PROJ_PATH, PERC_NPROJ, "layers.%d."};
static const char *const MLP_PATH[I2_NMLP] = {"gate_proj", "up_proj", "down_proj"};
const LoraModules MODALITY_LORA_MODULES = {MLP_PATH, I2_NMLP, ""};

// ---- config --------------------------------------------------------------------------------
// The sub-config `key` of root: NULL when absent or null (class defaults), false + err when not an object.
static bool sub_object(const JsonValue *root, const char *key, const char *what, const JsonValue **out, char *sub,
                       size_t cap, LpoiErr *err) {
    const JsonValue *v = json_get(root, key);
    snprintf(sub, cap, "%s: %s", what, key);
    *out = v && v->type != JSON_NULL ? v : NULL;
    return !*out || v->type == JSON_OBJECT || err_set(err, "%s: must be an object", sub);
}

static bool parse_perceiver(Idefics2PerceiverConfig *out, const JsonValue *o, const LlamaConfig *text, const char *what,
                            LpoiErr *err) {
    JsonValue empty = {.type = JSON_OBJECT};
    JsonCfg c;
    if (!json_cfg_open(&c, o ? o : &empty, what, err)) return false;
    Idefics2PerceiverConfig p = {0};
    static const char *const ACTS[] = {"silu", "swish"};   // ACT2FN: both are SiLU
    json_cfg_enum(&c, "hidden_act", 0, ACTS, 2);
    p.C = (int)json_cfg_int(&c, "hidden_size", 4096, 1, 1 << 16);
    p.eps = (float)json_cfg_num(&c, "rms_norm_eps", 1e-6);
    p.M = (int)json_cfg_int(&c, "resampler_n_latents", 64, 1, 1 << 16);
    p.n_layer = (int)json_cfg_int(&c, "resampler_depth", 3, 0, 1024);
    p.H = (int)json_cfg_int(&c, "resampler_n_heads", 16, 1, 1 << 12);
    p.D = (int)json_cfg_int(&c, "resampler_head_dim", 96, 1, 1 << 12);
    p.KVH = (int)json_cfg_int(&c, "num_key_value_heads", 4, 1, 1 << 12);
    if (c.ok && json_cfg_num(&c, "attention_dropout", 0.0) != 0.0)
        json_cfg_fail(&c, "\"attention_dropout\" other than 0 is not supported (no dropout is implemented)");
    if (c.ok && !(p.eps >= 0 && p.eps < 1)) json_cfg_fail(&c, "\"rms_norm_eps\" must be in [0, 1)");
    if (c.ok && p.KVH > p.H)
        json_cfg_fail(&c, "num_key_value_heads %d must be at most resampler_n_heads %d", p.KVH, p.H);
    if (c.ok && p.H % p.KVH)
        json_cfg_fail(&c, "resampler_n_heads %d is not a multiple of num_key_value_heads %d", p.H, p.KVH);
    if (!c.ok) return false;
    if (p.C != text->C) {   // Idefics2Config.__post_init__
        p.C = text->C;
        p.eps = text->eps;
    }
    p.F = 4 * p.C;
    *out = p;
    return true;
}

bool idefics2_config_parse(Idefics2Config *out, const JsonValue *root, const char *what, LpoiErr *err) {
    if (!root || root->type != JSON_OBJECT) return err_set(err, "%s: expected a JSON object", what);
    const char *type = json_get_str(root, "model_type");
    if (!type || strcmp(type, "idefics2") != 0)
        return err_set(err, "%s: model_type \"%s\" is not an Idefics2 config (expected \"idefics2\")", what, type ? type : "(none)");
    Idefics2Config cfg = {0};
    char sub[300];
    const JsonValue *o;
    if (!llama_config_parse(&cfg.text, root, what, err)) return false;
    if (!sub_object(root, "vision_config", what, &o, sub, sizeof sub, err) || !siglip_config_parse(&cfg.vision, o, sub, err))
        return false;
    if (!sub_object(root, "perceiver_config", what, &o, sub, sizeof sub, err) ||
        !parse_perceiver(&cfg.perceiver, o, &cfg.text, sub, err))
        return false;
    JsonCfg j;
    json_cfg_open(&j, root, what, err);
    if (!json_cfg_has(&j, "image_token_id") && cfg.text.V <= 32001)
        return err_set(err, "%s: the default image_token_id 32001 is outside the text vocabulary (%d)", what, cfg.text.V);
    cfg.image_token = (int)json_cfg_int(&j, "image_token_id", 32001, 0, cfg.text.V - 1);
    if (!j.ok) return false;
    cfg.proj_F = cfg.text.F;
    *out = cfg;
    return true;
}

static bool parse(void *c, const JsonValue *root, const char *what, LpoiErr *err) { return idefics2_config_parse(c, root, what, err); }
bool idefics2_config_load(Idefics2Config *c, const char *path, LpoiErr *err) { return model_config_read(path, parse, c, err); }

// ---- the connector's spec table -------------------------------------------------------------------
static void perceiver_shape(const Idefics2PerceiverConfig *p, int k, int *o, int *i) {
    int HD = p->H * p->D, KD = p->KVH * p->D;
    switch (k) {
    case PERC_Q: *o = HD; *i = p->C; break;
    case PERC_K: case PERC_V: *o = KD; *i = p->C; break;
    case PERC_O: *o = p->C; *i = HD; break;
    case PERC_GATE: case PERC_UP: *o = p->F; *i = p->C; break;
    default: *o = p->C; *i = p->F; break;
    }
}

void idefics2_connector_specs(const Idefics2Config *cfg, const char *prefix, Idefics2Connector *c, WeightSpecs *out) {
#define AT(field) (c ? &(field) : NULL)
    const Idefics2PerceiverConfig *p = &cfg->perceiver;
    for (int k = 0; k < I2_NMLP; k++) {
        int o = k == I2_DOWN ? cfg->text.C : cfg->proj_F, i = k == I2_DOWN ? cfg->proj_F : cfg->vision.C;
        if (c) c->mproj[k] = (Linear){.C = i, .OC = o};
        SPEC2(out, AT(c->mproj[k].w), o, i, "%smodality_projection.%s.weight", prefix, MLP_PATH[k]);
    }
    SPEC2(out, AT(c->latents), p->M, p->C, "%sperceiver_resampler.latents", prefix);
    for (int l = 0; l < p->n_layer; l++) {
        PerceiverLayer *ly = c ? &c->layers[l] : NULL;
        SPEC1(out, AT(ly->latents_norm), p->C, "%sperceiver_resampler.layers.%d.input_latents_norm.weight", prefix, l);
        SPEC1(out, AT(ly->context_norm), p->C, "%sperceiver_resampler.layers.%d.input_context_norm.weight", prefix, l);
        for (int k = 0; k < PERC_NPROJ; k++) {
            int o, i;
            perceiver_shape(p, k, &o, &i);
            if (ly) ly->proj[k] = (Linear){.C = i, .OC = o};
            SPEC2(out, AT(ly->proj[k].w), o, i, "%sperceiver_resampler.layers.%d.%s.weight", prefix, l, PERCEIVER_PROJ_PATH[k]);
        }
        SPEC1(out, AT(ly->post_norm), p->C, "%sperceiver_resampler.layers.%d.post_attention_layernorm.weight", prefix, l);
    }
    SPEC1(out, AT(c->norm), p->C, "%sperceiver_resampler.norm.weight", prefix);
#undef AT
}

bool idefics2_connector_plan(Idefics2Connector *c, const Idefics2Config *cfg, const char *prefix, const WeightSource *src,
                             WeightPlan *p, char *msg, size_t cap) {
    memset(c, 0, sizeof *c);
    memset(p, 0, sizeof *p);
    c->cfg = *cfg;
    c->layers = calloc_check((size_t)LPOI_MAX(cfg->perceiver.n_layer, 1), sizeof *c->layers);
    idefics2_connector_specs(cfg, prefix, c, &p->specs);
    WeightRules rules = {.owned = {prefix}};
    return model_plan_or_text(p, src, &rules, "the Idefics2 connector weights", prefix, msg, cap) ||
           (idefics2_connector_free(c), false);
}

bool idefics2_connector_bind(Idefics2Connector *c, Backend *be, WeightPlan *p, LpoiErr *err) {
    c->be = be;
    c->weights_mem = weights_upload(be, p, &c->weights_floats, err);
    weights_plan_free(p);
    c->lora_on = true;
    return c->weights_mem || (idefics2_connector_free(c), false);
}

void idefics2_connector_step_free(Idefics2Connector *c);   // idefics2_connector.c

void idefics2_connector_free(Idefics2Connector *c) {
    if (c->be) {
        idefics2_connector_step_free(c);
        lora_free(&c->mproj_lora);
    }
    model_mem_free(c->be, &c->weights_mem, &c->lora, &c->acts_mem);
    free(c->layers);
    memset(c, 0, sizeof *c);
}

void idefics2_connector_lora_create(Idefics2Connector *c, int r, float alpha, unsigned mproj_targets, unsigned targets) {
    LPOI_ASSERT(c->lora.r == 0 && c->mproj_lora.r == 0);
    if (mproj_targets) lora_create(&c->mproj_lora, c->be, &MODALITY_LORA_MODULES, c->mproj, 0, 1, r, alpha, mproj_targets);
    if (targets)
        lora_create(&c->lora, c->be, &PERCEIVER_LORA_MODULES, c->layers[0].proj, sizeof(PerceiverLayer),
                    c->cfg.perceiver.n_layer, r, alpha, targets);
}

// ---- the whole model ------------------------------------------------------------------------------
void idefics2_weight_specs(const Idefics2Config *c, WeightSpecs *out) {
    siglip_weight_specs(&c->vision, "model.vision_model.", NULL, out);
    idefics2_connector_specs(c, "model.connector.", NULL, out);
    for (size_t i = 0; i < LLAMA_NSPELLINGS; i++)   // model.text_model., lm_head.weight
        if (!strcmp(LLAMA_SPELLINGS[i].prefix, "model.text_model.")) llama_weight_specs(&c->text, &LLAMA_SPELLINGS[i], NULL, out);
}
