// gdino_config.c — GroundingDinoConfig from config.json (gdino_config.h), with transformers 5.24's
// defaults: GroundingDinoConfig; SwinConfig (embed_dim 96, depths [2, 2, 6, 2], heads [3, 6, 12, 24],
// window 7, patch 4, mlp_ratio 4, gelu, eps 1e-5; out_indices [2, 3, 4] when backbone_config is
// absent, the last stage when a backbone_config names no outputs); BertConfig (30522/768/12
// layers/12 heads/3072/512 positions/2 types/eps 1e-12).
#include "models/gdino_config.h"
#include "models/model.h"
#include "base/check.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

// An int array key (depths, num_heads, out_indices); absent/null keeps out. false when refused.
static bool read_ints(JsonCfg *c, const char *key, int *out, int *n, int cap, int lo, int hi) {
    const JsonValue *v = json_get(c->obj, key);
    if (!c->ok || !v || v->type == JSON_NULL) return c->ok;
    if (v->type != JSON_ARRAY || v->count == 0 || v->count > (size_t)cap)
        return json_cfg_fail(c, "\"%s\" must be a list of 1 to %d integers", key, cap);
    for (size_t i = 0; i < v->count; i++) {
        int64_t x;
        if (!json_as_i64(v->items[i], &x) || x < lo || x > hi)
            return json_cfg_fail(c, "\"%s\"[%zu] must be an integer in [%d, %d]", key, i, lo, hi);
        out[i] = (int)x;
    }
    *n = (int)v->count;
    return true;
}

static void refuse_unless(JsonCfg *c, const char *key, const char *want, const char *why) {
    const char *s = json_cfg_str(c, key, want);
    if (c->ok && strcmp(s, want) != 0) json_cfg_fail(c, "\"%s\": \"%s\" is not supported (%s)", key, s, why);
}

static void parse_swin(GdinoConfig *g, const JsonValue *o, const char *what, JsonCfg *top) {
    static const int depth[] = {2, 2, 6, 2}, heads[] = {3, 6, 12, 24};
    g->n_stages = 4;
    memcpy(g->depth, depth, sizeof depth);
    memcpy(g->swin_heads, heads, sizeof heads);
    g->n_outs = 3;
    for (int i = 0; i < 3; i++) g->out_stage[i] = i + 2;
    g->swin_dim = 96; g->window = 7; g->patch = 4; g->channels = 3; g->mlp_ratio = 4.0; g->swin_eps = 1e-5f;
    if (!o || o->type == JSON_NULL) return;
    char sub[600];
    snprintf(sub, sizeof sub, "%s: backbone_config", what);
    JsonCfg c;
    if (!json_cfg_open(&c, o, sub, top->err)) { top->ok = false; return; }
    refuse_unless(&c, "model_type", "swin", "lpoi implements the Swin backbone of grounding-dino-tiny/base");
    g->swin_dim = (int)json_cfg_int(&c, "embed_dim", 96, 1, 4096);
    int nd = 4, nh = 4;
    read_ints(&c, "depths", g->depth, &nd, GDINO_MAX_STAGES, 1, 64);
    read_ints(&c, "num_heads", g->swin_heads, &nh, GDINO_MAX_STAGES, 1, 256);
    if (c.ok && nd != nh) json_cfg_fail(&c, "\"depths\" and \"num_heads\" must have the same length (%d and %d)", nd, nh);
    g->n_stages = nd;
    g->window = (int)json_cfg_int(&c, "window_size", 7, 1, 64);
    g->patch = (int)json_cfg_int(&c, "patch_size", 4, 1, 64);
    g->channels = (int)json_cfg_int(&c, "num_channels", 3, 3, 3);
    g->mlp_ratio = json_cfg_num(&c, "mlp_ratio", 4.0);
    if (c.ok && !(g->mlp_ratio > 0 && g->mlp_ratio <= 64)) json_cfg_fail(&c, "\"mlp_ratio\" must be in (0, 64]");
    g->swin_eps = (float)json_cfg_num(&c, "layer_norm_eps", 1e-5);
    if (c.ok && !(g->swin_eps > 0 && g->swin_eps < 1)) json_cfg_fail(&c, "\"layer_norm_eps\" must be in (0, 1)");
    if (c.ok && !json_cfg_bool(&c, "qkv_bias", true)) json_cfg_fail(&c, "\"qkv_bias\": false is not supported");
    json_cfg_refuse_true(&c, "use_absolute_embeddings", "the Swin of Grounding DINO has none");
    refuse_unless(&c, "hidden_act", "gelu", "the Swin MLP is GELU (erf)");
    for (int s = 0; s < g->n_stages && c.ok; s++) {
        int dim = gdino_stage_dim(g, s);
        if (dim > 65536 || dim % g->swin_heads[s])
            json_cfg_fail(&c, "stage %d: %d channels do not split over %d heads", s + 1, dim, g->swin_heads[s]);
    }
    // out_indices (1-based stages; 0 would be the stem) or out_features ("stage2", ...): at least one,
    // and the two must agree when both are given.
    int oi[GDINO_MAX_STAGES], n_oi = 0, of[GDINO_MAX_STAGES], n_of = 0;
    read_ints(&c, "out_indices", oi, &n_oi, GDINO_MAX_STAGES, 1, g->n_stages);
    const JsonValue *feats = json_get(o, "out_features");
    if (c.ok && feats && feats->type != JSON_NULL) {
        if (feats->type != JSON_ARRAY || feats->count == 0 || feats->count > GDINO_MAX_STAGES) {
            json_cfg_fail(&c, "\"out_features\" must be a list of stage names");
        } else {
            for (size_t i = 0; i < feats->count && c.ok; i++) {
                int k = 0;
                const JsonValue *f = feats->items[i];
                if (f->type != JSON_STRING || sscanf(f->str, "stage%d", &k) != 1 || k < 1 || k > g->n_stages)
                    json_cfg_fail(&c, "\"out_features\"[%zu] must name a stage \"stage1\" .. \"stage%d\"", i, g->n_stages);
                of[n_of++] = k;
            }
        }
    }
    if (c.ok && n_oi && n_of && (n_oi != n_of || memcmp(oi, of, (size_t)n_oi * sizeof *oi)))
        json_cfg_fail(&c, "\"out_indices\" and \"out_features\" name different stages");
    if (c.ok && !n_oi && !n_of) {   // SwinConfig's default: the last stage only
        oi[0] = g->n_stages;
        n_oi = 1;
    }
    if (c.ok) {
        g->n_outs = n_oi ? n_oi : n_of;
        memcpy(g->out_stage, n_oi ? oi : of, (size_t)g->n_outs * sizeof *oi);
        for (int i = 1; i < g->n_outs && c.ok; i++)
            if (g->out_stage[i] <= g->out_stage[i - 1]) json_cfg_fail(&c, "\"out_indices\" must increase");
    }
    top->ok = c.ok;
}

static void parse_bert(GdinoConfig *g, const JsonValue *o, const char *what, JsonCfg *top) {
    g->text_vocab = 30522; g->text_hidden = 768; g->text_layers = 12; g->text_heads = 12; g->text_ffn = 3072;
    g->text_max_pos = 512; g->text_type_vocab = 2; g->text_eps = 1e-12f;
    if (!o || o->type == JSON_NULL) return;
    char sub[600];
    snprintf(sub, sizeof sub, "%s: text_config", what);
    JsonCfg c;
    if (!json_cfg_open(&c, o, sub, top->err)) { top->ok = false; return; }
    refuse_unless(&c, "model_type", "bert", "the text encoder is BERT");
    g->text_vocab = (int)json_cfg_int(&c, "vocab_size", 30522, 1, 1 << 24);
    g->text_hidden = (int)json_cfg_int(&c, "hidden_size", 768, 1, 65536);
    g->text_layers = (int)json_cfg_int(&c, "num_hidden_layers", 12, 1, 256);
    g->text_heads = (int)json_cfg_int(&c, "num_attention_heads", 12, 1, 1024);
    g->text_ffn = (int)json_cfg_int(&c, "intermediate_size", 3072, 1, 1 << 20);
    g->text_max_pos = (int)json_cfg_int(&c, "max_position_embeddings", 512, 1, 1 << 20);
    g->text_type_vocab = (int)json_cfg_int(&c, "type_vocab_size", 2, 1, 1024);
    g->text_eps = (float)json_cfg_num(&c, "layer_norm_eps", 1e-12);
    refuse_unless(&c, "hidden_act", "gelu", "BERT's GELU (erf)");
    refuse_unless(&c, "position_embedding_type", "absolute", "BERT's absolute position embeddings");
    json_cfg_refuse_true(&c, "is_decoder", "the text encoder is an encoder");
    json_cfg_refuse_true(&c, "add_cross_attention", "no cross-attention in the text encoder");
    if (c.ok && g->text_hidden % g->text_heads) json_cfg_fail(&c, "\"hidden_size\" %d does not split over %d heads", g->text_hidden, g->text_heads);
    if (c.ok && !(g->text_eps > 0 && g->text_eps < 1)) json_cfg_fail(&c, "\"layer_norm_eps\" must be in (0, 1)");
    top->ok = c.ok;
}

bool gdino_config_parse(GdinoConfig *g, const JsonValue *root, const char *what, LpoiErr *err) {
    memset(g, 0, sizeof *g);
    JsonCfg c;
    if (!json_cfg_open(&c, root, what, err)) return false;
    const char *type = json_cfg_str(&c, "model_type", NULL);
    if (c.ok && (!type || strcmp(type, "grounding-dino") != 0))
        return json_cfg_fail(&c, "model_type \"%s\" is not Grounding DINO (lpoi reads \"grounding-dino\" checkpoints, "
                                 "GroundingDinoForObjectDetection)", type ? type : "(missing)");
    const JsonValue *arch = json_at(json_get(root, "architectures"), 0);
    if (c.ok && arch && arch->type == JSON_STRING && strcmp(arch->str, "GroundingDinoForObjectDetection") != 0)
        return json_cfg_fail(&c, "architectures: \"%s\" is not supported (GroundingDinoForObjectDetection)", arch->str);
    json_cfg_refuse_true(&c, "use_timm_backbone", "the Swin backbone is built in");
    if (c.ok && json_cfg_has(&c, "backbone")) json_cfg_fail(&c, "\"backbone\": a named (timm/hub) backbone is not supported");
    const JsonValue *bk = json_get(root, "backbone_kwargs");
    if (c.ok && bk && bk->type != JSON_NULL && !(bk->type == JSON_OBJECT && bk->count == 0))
        json_cfg_fail(&c, "\"backbone_kwargs\" is not supported");
    if (c.ok) parse_swin(g, json_get(root, "backbone_config"), what, &c);
    if (c.ok) parse_bert(g, json_get(root, "text_config"), what, &c);
    g->d_model = (int)json_cfg_int(&c, "d_model", 256, 2, 65536);
    g->enc_layers = (int)json_cfg_int(&c, "encoder_layers", 6, 1, 256);
    g->dec_layers = (int)json_cfg_int(&c, "decoder_layers", 6, 1, 256);
    g->enc_heads = (int)json_cfg_int(&c, "encoder_attention_heads", 8, 2, 1024);
    g->dec_heads = (int)json_cfg_int(&c, "decoder_attention_heads", 8, 1, 1024);
    g->enc_ffn = (int)json_cfg_int(&c, "encoder_ffn_dim", 2048, 2, 1 << 20);
    g->dec_ffn = (int)json_cfg_int(&c, "decoder_ffn_dim", 2048, 1, 1 << 20);
    g->enc_points = (int)json_cfg_int(&c, "encoder_n_points", 4, 1, 64);
    g->dec_points = (int)json_cfg_int(&c, "decoder_n_points", 4, 1, 64);
    g->levels = (int)json_cfg_int(&c, "num_feature_levels", 4, 1, GDINO_MAX_LEVELS);
    g->num_queries = (int)json_cfg_int(&c, "num_queries", 900, 1, 100000);
    g->max_text_len = (int)json_cfg_int(&c, "max_text_len", 256, 3, 256);
    g->query_dim = (int)json_cfg_int(&c, "query_dim", 4, 4, 4);
    g->decoder_bbox_embed_share = json_cfg_bool(&c, "decoder_bbox_embed_share", true);
    g->two_stage_bbox_embed_share = json_cfg_bool(&c, "two_stage_bbox_embed_share", false);
    g->temperature = (float)json_cfg_num(&c, "positional_embedding_temperature", 20);
    g->eps = (float)json_cfg_num(&c, "layer_norm_eps", 1e-5);
    refuse_unless(&c, "activation_function", "relu", "the deformable layers' activation is ReLU");
    refuse_unless(&c, "position_embedding_type", "sine", "the \"learned\" image position embedding is not implemented");
    if (c.ok && !json_cfg_bool(&c, "two_stage", true)) json_cfg_fail(&c, "\"two_stage\": false is not supported (grounding-dino's query selection is two-stage)");
    if (c.ok && !json_cfg_bool(&c, "embedding_init_target", true)) json_cfg_fail(&c, "\"embedding_init_target\": false is not supported");
    if (!c.ok) return false;
    // what HF's layers require of the sizes (its modules raise on these)
    if (g->two_stage_bbox_embed_share && !g->decoder_bbox_embed_share)
        return json_cfg_fail(&c, "\"two_stage_bbox_embed_share\" needs \"decoder_bbox_embed_share\" (HF refuses it too)");
    if (g->d_model % g->enc_heads || g->d_model % g->dec_heads || g->d_model % 2)
        return json_cfg_fail(&c, "\"d_model\" %d must split over %d encoder and %d decoder heads", g->d_model, g->enc_heads, g->dec_heads);
    if (g->enc_heads % 2 || g->enc_ffn % 2 || (g->enc_ffn / 2) % (g->enc_heads / 2))
        return json_cfg_fail(&c, "the fusion layer's %d channels must split over %d heads (encoder_ffn_dim/2 over "
                                 "encoder_attention_heads/2)", g->enc_ffn / 2, g->enc_heads / 2);
    if (g->levels < g->n_outs)
        return json_cfg_fail(&c, "\"num_feature_levels\" %d is below the %d backbone outputs", g->levels, g->n_outs);
    if (!(g->temperature > 0) || !(g->eps > 0 && g->eps < 1)) return json_cfg_fail(&c, "temperature and layer_norm_eps must be positive");
    if (g->max_text_len > g->text_max_pos) return json_cfg_fail(&c, "\"max_text_len\" %d exceeds the text encoder's %d positions", g->max_text_len, g->text_max_pos);
    return true;
}

static bool parse_any(void *c, const JsonValue *root, const char *what, LpoiErr *err) { return gdino_config_parse(c, root, what, err); }

bool gdino_config_load(GdinoConfig *c, const char *path, LpoiErr *err) { return model_config_read(path, parse_any, c, err); }

int gdino_stage_mlp(const GdinoConfig *c, int s) { return (int)(c->mlp_ratio * gdino_stage_dim(c, s)); }
