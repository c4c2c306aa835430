// siglip_load.c — SiglipConfig from an Idefics2 vision_config, the encoder's spec table (CLIP's layer
// tensors under "encoder.layers.N.", plus the biased patch conv, the position table and the post
// layernorm) and its LoRA set (CLIP's module paths).
// Defaults (Idefics2VisionConfig, transformers 5.24): hidden_size 768, intermediate_size 3072,
// num_hidden_layers 12, num_attention_heads 12, num_channels 3, image_size 224, patch_size 32,
// hidden_act gelu_pytorch_tanh, layer_norm_eps 1e-6, attention_dropout 0.
#include "models/siglip.h"
#include "models/model.h"
#include "models/vit_layer.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool siglip_config_parse(SiglipConfig *out, const JsonValue *o, const char *what, LpoiErr *err) {
    JsonValue empty = {.type = JSON_OBJECT};
    JsonCfg c;
    if (!json_cfg_open(&c, o ? o : &empty, what, err)) return false;
    SiglipConfig cfg = {0};
    cfg.C = (int)json_cfg_int(&c, "hidden_size", 768, 1, 1 << 16);
    cfg.F = (int)json_cfg_int(&c, "intermediate_size", 3072, 1, 1 << 18);
    cfg.n_layer = (int)json_cfg_int(&c, "num_hidden_layers", 12, 0, 1024);
    cfg.H = (int)json_cfg_int(&c, "num_attention_heads", 12, 1, 1 << 12);
    cfg.ch = (int)json_cfg_int(&c, "num_channels", 3, 1, 64);
    // Idefics2VisionEmbeddings divides image_size by patch_size: a [h, w] pair fails in HF too.
    cfg.S = (int)json_cfg_int(&c, "image_size", 224, 1, 1 << 14);
    cfg.p = (int)json_cfg_int(&c, "patch_size", 32, 1, 1 << 10);
    cfg.eps = (float)json_cfg_num(&c, "layer_norm_eps", 1e-6);
    cfg.act = clip_read_act(&c, "hidden_act", "gelu_pytorch_tanh");
    if (c.ok && json_cfg_num(&c, "attention_dropout", 0.0) != 0.0)
        json_cfg_fail(&c, "\"attention_dropout\" other than 0 is not supported (no dropout is implemented)");
    if (c.ok && !(cfg.eps >= 0 && cfg.eps < 1)) json_cfg_fail(&c, "\"layer_norm_eps\" must be in [0, 1)");
    if (!c.ok) return false;
    if (cfg.C % cfg.H) return err_set(err, "%s: hidden_size %d is not a multiple of num_attention_heads %d", what, cfg.C, cfg.H);
    if (cfg.p > cfg.S) return err_set(err, "%s: patch_size %d is larger than image_size %d", what, cfg.p, cfg.S);
    cfg.D = cfg.C / cfg.H;
    cfg.G = cfg.S / cfg.p;
    cfg.n_pos = cfg.G * cfg.G;
    if ((int64_t)cfg.n_pos * cfg.C > (1 << 28)) return err_set(err, "%s: %d positions x %d channels is too large", what, cfg.n_pos, cfg.C);
    *out = cfg;
    return true;
}

// ---- the spec table -------------------------------------------------------------------------
void siglip_weight_specs(const SiglipConfig *c, const char *prefix, SiglipModel *m, WeightSpecs *out) {
#define AT(field) (m ? &(field) : NULL)
    specs_add(out, AT(m->patch_w), 4, (const int64_t[]){c->C, c->ch, c->p, c->p}, "%sembeddings.patch_embedding.weight", prefix);
    SPEC1(out, AT(m->patch_b), c->C, "%sembeddings.patch_embedding.bias", prefix);
    SPEC2(out, AT(m->pos_emb), c->n_pos, c->C, "%sembeddings.position_embedding.weight", prefix);
    for (int l = 0; l < c->n_layer; l++) vit_layer_specs(out, prefix, l, c->C, c->F, m ? &m->layers[l] : NULL);
    SPEC1(out, AT(m->post_w), c->C, "%spost_layernorm.weight", prefix);
    SPEC1(out, AT(m->post_b), c->C, "%spost_layernorm.bias", prefix);
#undef AT
}

// ---- binding --------------------------------------------------------------------------------
bool siglip_plan(SiglipModel *m, const SiglipConfig *cfg, const char *prefix, const WeightSource *src, WeightPlan *p,
                 char *msg, size_t cap) {
    memset(m, 0, sizeof *m);
    memset(p, 0, sizeof *p);
    m->cfg = *cfg;
    m->layers = calloc_check((size_t)LPOI_MAX(cfg->n_layer, 1), sizeof *m->layers);
    siglip_weight_specs(cfg, prefix, m, &p->specs);
    WeightRules rules = {.owned = {prefix}};
    return model_plan_or_text(p, src, &rules, "the SigLIP vision weights", prefix, msg, cap) || (siglip_free(m), false);
}

bool siglip_bind(SiglipModel *m, Backend *be, WeightPlan *p, LpoiErr *err) {
    m->be = be;
    m->weights_mem = weights_upload(be, p, &m->weights_floats, err);
    weights_plan_free(p);
    m->lora_on = true;
    return m->weights_mem || (siglip_free(m), false);
}

void siglip_step_free(SiglipModel *m);   // siglip.c

void siglip_free(SiglipModel *m) {
    if (m->be) siglip_step_free(m);
    model_mem_free(m->be, &m->weights_mem, &m->lora, &m->acts_mem);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

void siglip_lora_create(SiglipModel *m, int r, float alpha, unsigned targets) {
    LPOI_ASSERT(m->lora.r == 0);
    lora_create(&m->lora, m->be, &CLIP_LORA_MODULES, m->layers[0].proj, sizeof(ClipLayer), m->cfg.n_layer, r, alpha,
                targets);
}

bool siglip_lora_load(SiglipModel *m, const WeightSource *src, const char *module, LpoiErr *err) {
    LPOI_ASSERT(m->lora.r > 0);
    WeightPlan p;
    lora_plan(&m->lora, src, module, NULL, &p);
    return lora_load_planned(&m->lora, &p, src, "the SigLIP LoRA adapter", err);
}
