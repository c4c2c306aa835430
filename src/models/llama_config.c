// llama_config.c — LlamaConfig from config.json, with transformers 5.x defaults for missing keys.
// Defaults (LlamaConfig / MistralConfig class attributes):
//                      llama      mistral
//   vocab_size         32000      32000
//   hidden_size        4096       4096
//   intermediate_size  11008      14336
//   num_hidden_layers  32         32
//   num_attention_heads 32        32
//   num_key_value_heads = heads   8        (null: = heads)
//   head_dim           hidden/heads (null too)
//   rms_norm_eps       1e-6       1e-6
//   rope_theta         10000 (RotaryEmbeddingConfigMixin.default_theta)
//   max_position_embeddings 2048  131072
//   sliding_window     -          4096     (null: off)
//   tie_word_embeddings false, bos 1, eos 2, pad null
// The real llava-1.5-7b config gives only vocab_size 32064, max_position 4096 and rms_norm_eps 1e-5
// for its text model; everything else comes from these defaults (= Vicuna-7B: 4096/11008/32/32).
// Anything that would change the math and that we do not implement is refused by name.
#include "models/llama.h"
#include "models/model.h"
#include "base/check.h"
#include "base/file.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

// Token ids: an integer, null (none), or a list (eos_token_id may be one); absent -> def (none if < 0).
static void read_token_ids(JsonCfg *c, const char *key, int def, int *ids, int *n, int cap) {
    const JsonValue *v = json_get(c->obj, key);
    *n = 0;
    if (!c->ok) return;
    if (!v) { if (def >= 0) ids[(*n)++] = def; return; }
    if (v->type == JSON_NULL) return;
    if (v->type == JSON_ARRAY) {
        for (size_t i = 0; i < v->count && c->ok; i++) {
            int64_t x;
            if (!json_as_i64(v->items[i], &x) || x < 0 || x > INT32_MAX) { json_cfg_fail(c, "\"%s\" must hold token ids", key); return; }
            if (*n < cap) ids[(*n)++] = (int)x;
        }
        return;
    }
    int64_t x;
    if (!json_as_i64(v, &x) || x < 0 || x > INT32_MAX) { json_cfg_fail(c, "\"%s\" must be a token id, a list of them, or null", key); return; }
    ids[(*n)++] = (int)x;
}

// rope_parameters (transformers 5) or rope_scaling (4.x): only the default RoPE.
static float read_rope(JsonCfg *c) {
    const JsonValue *rp = json_get(c->obj, "rope_parameters");
    if (!json_cfg_has(c, "rope_parameters") || (rp->type == JSON_OBJECT && rp->count == 0)) rp = json_get(c->obj, "rope_scaling");
    double theta = json_cfg_num(c, "rope_theta", 10000.0);
    double partial = json_cfg_num(c, "partial_rotary_factor", 1.0);
    if (rp && rp->type != JSON_NULL && c->ok) {
        if (rp->type != JSON_OBJECT) { json_cfg_fail(c, "\"rope_parameters\"/\"rope_scaling\" must be an object or null"); return 0; }
        JsonCfg r = {rp, c->what, c->err, true};
        const char *type = json_cfg_str(&r, "rope_type", NULL);
        if (!type) type = json_cfg_str(&r, "type", "default");
        if (r.ok && strcmp(type, "default") != 0)
            json_cfg_fail(&r, "rope scaling type \"%s\" is not supported (only \"default\" RoPE is implemented)", type);
        for (size_t i = 0; i < rp->count && r.ok; i++)
            if (rp->items[i]->type == JSON_OBJECT)
                json_cfg_fail(&r, "per-layer-type rope parameters (\"%s\") are not supported", rp->keys[i]);
        theta = json_cfg_num(&r, "rope_theta", theta);
        partial = json_cfg_num(&r, "partial_rotary_factor", partial);
        c->ok = r.ok;
    }
    if (c->ok && partial != 1.0) json_cfg_fail(c, "\"partial_rotary_factor\" other than 1 is not supported");
    if (c->ok && !(theta > 1.0 && theta < 1e12)) json_cfg_fail(c, "\"rope_theta\" must be > 1");
    return (float)theta;
}

// The text model's config object (model_type llama or mistral).
static bool parse_text(LlamaConfig *out, const JsonValue *o, const char *default_type, int tie_default,
                       const char *what, LpoiErr *err) {
    JsonCfg c;
    if (!json_cfg_open(&c, o, what, err)) return false;
    const char *type = json_cfg_str(&c, "model_type", NULL);
    if (c.ok && !type) {
        const JsonValue *a0 = json_at(json_get(o, "architectures"), 0);
        if (a0 && a0->type == JSON_STRING && !strcmp(a0->str, "LlamaForCausalLM")) type = "llama";
        else if (a0 && a0->type == JSON_STRING && !strcmp(a0->str, "MistralForCausalLM")) type = "mistral";
        else type = default_type;
    }
    if (!c.ok) return false;
    if (!type) return err_set(err, "%s: no \"model_type\" (expected \"llama\" or \"mistral\")", what);
    bool mistral = !strcmp(type, "mistral");
    if (!mistral && strcmp(type, "llama") != 0)
        return err_set(err, "%s: model_type \"%s\" is not supported (expected \"llama\" or \"mistral\")", what, type);
    LlamaConfig cfg = {.arch = mistral ? LLAMA_ARCH_MISTRAL : LLAMA_ARCH_LLAMA};

    const char *act = json_cfg_str(&c, "hidden_act", "silu");
    if (c.ok && strcmp(act, "silu") != 0)
        json_cfg_fail(&c, "hidden_act \"%s\" is not supported (the SwiGLU MLP is implemented with silu only)", act);
    json_cfg_refuse_true(&c, "attention_bias", "q/k/v/o projections without bias only");
    json_cfg_refuse_true(&c, "mlp_bias", "gate/up/down projections without bias only");
    if (c.ok && json_cfg_num(&c, "attention_dropout", 0.0) != 0.0)
        json_cfg_fail(&c, "\"attention_dropout\" other than 0 is not supported (no dropout is implemented)");
    if (c.ok && json_cfg_has(&c, "layer_types")) json_cfg_fail(&c, "\"layer_types\" (per-layer attention kinds) is not supported");
    if (c.ok && json_cfg_has(&c, "quantization_config"))
        json_cfg_fail(&c, "\"quantization_config\": quantized checkpoints are not supported");

    cfg.V = (int)json_cfg_int(&c, "vocab_size", 32000, 1, 1 << 24);
    cfg.C = (int)json_cfg_int(&c, "hidden_size", 4096, 1, 1 << 20);
    cfg.F = (int)json_cfg_int(&c, "intermediate_size", mistral ? 14336 : 11008, 1, 1 << 22);
    cfg.n_layer = (int)json_cfg_int(&c, "num_hidden_layers", 32, 1, 4096);
    cfg.H = (int)json_cfg_int(&c, "num_attention_heads", 32, 1, 1 << 14);
    // num_key_value_heads: absent -> the class default (Mistral 8), null -> num_attention_heads.
    bool kv_given = json_get(o, "num_key_value_heads") != NULL;
    cfg.KVH = (int)json_cfg_int(&c, "num_key_value_heads", kv_given || !mistral ? cfg.H : 8, 1, 1 << 14);
    if (!c.ok) return false;
    if (!json_cfg_has(&c, "head_dim")) {
        if (cfg.C % cfg.H) return err_set(err, "%s: hidden_size %d is not a multiple of num_attention_heads %d", what, cfg.C, cfg.H);
        cfg.D = cfg.C / cfg.H;
    } else {
        cfg.D = (int)json_cfg_int(&c, "head_dim", 0, 1, 1 << 16);
    }
    if (!c.ok) return false;
    if (cfg.D % 2) return err_set(err, "%s: head_dim %d must be even (RoPE rotates pairs)", what, cfg.D);
    if (cfg.H % cfg.KVH)
        return err_set(err, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", what, cfg.H, cfg.KVH);
    if ((int64_t)cfg.H * cfg.D > (1 << 20)) return err_set(err, "%s: num_attention_heads x head_dim is too large", what);
    cfg.eps = (float)json_cfg_num(&c, "rms_norm_eps", 1e-6);
    if (c.ok && !(cfg.eps >= 0 && cfg.eps < 1)) json_cfg_fail(&c, "\"rms_norm_eps\" must be in [0, 1)");
    cfg.rope_theta = read_rope(&c);
    cfg.max_pos = (int)json_cfg_int(&c, "max_position_embeddings", mistral ? 4096 * 32 : 2048, 1, INT32_MAX);
    // Mistral's sliding_window: absent -> 4096, null -> off.
    if (mistral) cfg.window = (int)json_cfg_int(&c, "sliding_window", json_get(o, "sliding_window") ? 0 : 4096, 1, INT32_MAX);
    // tie_word_embeddings: absent -> the outer config's (LLaVA / Idefics2 root) or false; null -> false.
    cfg.tie = json_cfg_bool(&c, "tie_word_embeddings", !json_get(o, "tie_word_embeddings") && tie_default > 0);
    int ids[LLAMA_MAX_EOS], n;
    read_token_ids(&c, "bos_token_id", 1, ids, &n, 1);
    cfg.bos_id = n ? ids[0] : -1;
    read_token_ids(&c, "pad_token_id", -1, ids, &n, 1);
    cfg.pad_id = n ? ids[0] : -1;
    read_token_ids(&c, "eos_token_id", 2, cfg.eos_ids, &cfg.n_eos, LLAMA_MAX_EOS);
    if (!c.ok) return false;
    *out = cfg;
    return true;
}

bool llama_config_parse(LlamaConfig *c, const JsonValue *root, const char *what, LpoiErr *err) {
    if (!root || root->type != JSON_OBJECT) return err_set(err, "%s: expected a JSON object", what);
    const JsonValue *mt = json_get(root, "model_type");
    const char *type = mt && mt->type == JSON_STRING ? mt->str : NULL;
    const JsonValue *text = json_get(root, "text_config");
    if (type && (!strcmp(type, "llava") || !strcmp(type, "idefics2"))) {
        // LlavaConfig / Idefics2Config: text_config (defaults: LlamaConfig() / MistralConfig()).
        char sub[300];
        snprintf(sub, sizeof sub, "%s: text_config", what);
        JsonValue empty = {.type = JSON_OBJECT};
        if (text && text->type != JSON_OBJECT && text->type != JSON_NULL)
            return err_set(err, "%s: must be an object", sub);
        if (!text || text->type == JSON_NULL) text = &empty;
        int tie = -1;
        const JsonValue *t = json_get(root, "tie_word_embeddings");
        if (t && t->type == JSON_BOOL) tie = t->boolean;
        bool ok = parse_text(c, text, !strcmp(type, "llava") ? "llama" : "mistral", tie, sub, err);
        if (ok && tie > 0 && !strcmp(type, "llava")) c->tie = true;   // LlavaConfig ORs the root and text flags
        return ok;
    }
    if (text && !(type && (!strcmp(type, "llama") || !strcmp(type, "mistral"))))
        return err_set(err, "%s: model_type \"%s\" with a text_config is not supported (llava, idefics2, or a plain "
                       "llama/mistral config)", what, type ? type : "(none)");
    return parse_text(c, root, NULL, -1, what, err);
}

static bool parse(void *c, const JsonValue *root, const char *what, LpoiErr *err) { return llama_config_parse(c, root, what, err); }
bool llama_config_load(LlamaConfig *c, const char *path, LpoiErr *err) { return model_config_read(path, parse, c, err); }
