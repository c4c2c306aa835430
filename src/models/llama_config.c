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
#include "base/check.h"
#include "base/file.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const JsonValue *o;
    const char *what;     // "<file>: text_config" etc.
    LpoiErr *err;
    bool ok;
} Cfg;

static bool cfg_fail(Cfg *c, const char *fmt, const char *a, const char *b) {
    if (!c->ok) return false;
    char msg[400];
    snprintf(msg, sizeof msg, fmt, a, b);
    err_set(c->err, "%s: %s", c->what, msg);
    c->ok = false;
    return false;
}

static bool is_null_or_absent(const JsonValue *v) { return !v || v->type == JSON_NULL; }

// An integer in [lo, hi]; absent or null -> def.
static int cfg_int(Cfg *c, const char *key, int64_t def, int64_t lo, int64_t hi) {
    const JsonValue *v = json_get(c->o, key);
    if (!c->ok) return (int)def;
    if (is_null_or_absent(v)) return (int)def;
    int64_t x;
    if (!json_as_i64(v, &x)) { cfg_fail(c, "\"%s\" must be an integer%s", key, ""); return (int)def; }
    if (x < lo || x > hi) {
        char range[96];
        snprintf(range, sizeof range, " in [%lld, %lld] (got %lld)", (long long)lo, (long long)hi, (long long)x);
        cfg_fail(c, "\"%s\" must be an integer%s", key, range);
        return (int)def;
    }
    return (int)x;
}

static double cfg_num(Cfg *c, const JsonValue *o, const char *key, double def) {
    const JsonValue *v = json_get(o, key);
    if (!c->ok || is_null_or_absent(v)) return def;
    if (v->type != JSON_NUMBER || !isfinite(v->number)) { cfg_fail(c, "\"%s\" must be a finite number%s", key, ""); return def; }
    return v->number;
}

static bool cfg_bool(Cfg *c, const JsonValue *o, const char *key, bool def) {
    const JsonValue *v = json_get(o, key);
    if (!c->ok || is_null_or_absent(v)) return def;
    if (v->type != JSON_BOOL) { cfg_fail(c, "\"%s\" must be true or false%s", key, ""); return def; }
    return v->boolean;
}

static const char *cfg_str(Cfg *c, const JsonValue *o, const char *key, const char *def) {
    const JsonValue *v = json_get(o, key);
    if (!c->ok || is_null_or_absent(v)) return def;
    if (v->type != JSON_STRING) { cfg_fail(c, "\"%s\" must be a string%s", key, ""); return def; }
    return v->str;
}

// Token ids: an integer, null (none), or a list (eos_token_id may be one).
static void cfg_token_ids(Cfg *c, const char *key, int def, int *ids, int *n, int cap) {
    const JsonValue *v = json_get(c->o, key);
    *n = 0;
    if (!c->ok) return;
    if (!v) { if (def >= 0) ids[(*n)++] = def; return; }
    if (v->type == JSON_NULL) return;
    if (v->type == JSON_ARRAY) {
        for (size_t i = 0; i < v->count && c->ok; i++) {
            int64_t x;
            if (!json_as_i64(v->items[i], &x) || x < 0 || x > INT32_MAX) { cfg_fail(c, "\"%s\" must hold token ids%s", key, ""); return; }
            if (*n < cap) ids[(*n)++] = (int)x;
        }
        return;
    }
    int64_t x;
    if (!json_as_i64(v, &x) || x < 0 || x > INT32_MAX) { cfg_fail(c, "\"%s\" must be a token id, a list of them, or null%s", key, ""); return; }
    ids[(*n)++] = (int)x;
}

static void refuse_true(Cfg *c, const char *key, const char *why) {
    if (cfg_bool(c, c->o, key, false)) cfg_fail(c, "\"%s\": true is not supported (%s)", key, why);
}

// rope_parameters (transformers 5) or rope_scaling (4.x): only the default RoPE.
static float read_rope(Cfg *c) {
    const JsonValue *rp = json_get(c->o, "rope_parameters");
    if (is_null_or_absent(rp) || (rp->type == JSON_OBJECT && rp->count == 0)) rp = json_get(c->o, "rope_scaling");
    double theta = cfg_num(c, c->o, "rope_theta", 10000.0);
    double partial = cfg_num(c, c->o, "partial_rotary_factor", 1.0);
    if (!is_null_or_absent(rp) && c->ok) {
        if (rp->type != JSON_OBJECT) { cfg_fail(c, "\"rope_parameters\"/\"rope_scaling\" must be an object or null%s%s", "", ""); return 0; }
        const char *type = cfg_str(c, rp, "rope_type", NULL);
        if (!type) type = cfg_str(c, rp, "type", "default");
        if (c->ok && strcmp(type, "default") != 0)
            cfg_fail(c, "rope scaling type \"%s\" is not supported (only \"default\" RoPE is implemented)%s", type, "");
        for (size_t i = 0; i < rp->count && c->ok; i++)
            if (rp->items[i]->type == JSON_OBJECT)
                cfg_fail(c, "per-layer-type rope parameters (\"%s\") are not supported%s", rp->keys[i], "");
        theta = cfg_num(c, rp, "rope_theta", theta);
        partial = cfg_num(c, rp, "partial_rotary_factor", partial);
    }
    if (c->ok && partial != 1.0) cfg_fail(c, "\"partial_rotary_factor\" other than 1 is not supported%s%s", "", "");
    if (c->ok && !(theta > 1.0 && theta < 1e12)) cfg_fail(c, "\"rope_theta\" must be > 1%s%s", "", "");
    return (float)theta;
}

// The text model's config object (model_type llama or mistral).
static bool parse_text(LlamaConfig *out, const JsonValue *o, const char *default_type, int tie_default,
                       const char *what, LpoiErr *err) {
    Cfg c = {o, what, err, true};
    if (!o || o->type != JSON_OBJECT) return err_set(err, "%s: expected a JSON object", what);
    const char *type = cfg_str(&c, o, "model_type", NULL);
    if (c.ok && !type) {
        const JsonValue *arch = json_get(o, "architectures");
        const JsonValue *a0 = arch ? json_at(arch, 0) : NULL;
        if (a0 && a0->type == JSON_STRING && !strcmp(a0->str, "LlamaForCausalLM")) type = "llama";
        else if (a0 && a0->type == JSON_STRING && !strcmp(a0->str, "MistralForCausalLM")) type = "mistral";
        else type = default_type;
    }
    if (!c.ok) return false;
    if (!type) return err_set(err, "%s: no \"model_type\" (expected \"llama\" or \"mistral\")", what);
    LlamaConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    bool mistral = !strcmp(type, "mistral");
    if (!mistral && strcmp(type, "llama") != 0)
        return err_set(err, "%s: model_type \"%s\" is not supported (expected \"llama\" or \"mistral\")", what, type);
    cfg.arch = mistral ? LLAMA_ARCH_MISTRAL : LLAMA_ARCH_LLAMA;

    const char *act = cfg_str(&c, o, "hidden_act", "silu");
    if (c.ok && strcmp(act, "silu") != 0)
        cfg_fail(&c, "hidden_act \"%s\" is not supported (the SwiGLU MLP is implemented with silu only)%s", act, "");
    refuse_true(&c, "attention_bias", "q/k/v/o projections without bias only");
    refuse_true(&c, "mlp_bias", "gate/up/down projections without bias only");
    if (c.ok && cfg_num(&c, o, "attention_dropout", 0.0) != 0.0)
        cfg_fail(&c, "\"attention_dropout\" other than 0 is not supported (no dropout is implemented)%s%s", "", "");
    if (c.ok && !is_null_or_absent(json_get(o, "layer_types")))
        cfg_fail(&c, "\"layer_types\" (per-layer attention kinds) is not supported%s%s", "", "");
    if (c.ok && !is_null_or_absent(json_get(o, "quantization_config")))
        cfg_fail(&c, "\"quantization_config\": quantized checkpoints are not supported%s%s", "", "");

    cfg.V = cfg_int(&c, "vocab_size", 32000, 1, 1 << 24);
    cfg.C = cfg_int(&c, "hidden_size", 4096, 1, 1 << 20);
    cfg.F = cfg_int(&c, "intermediate_size", mistral ? 14336 : 11008, 1, 1 << 22);
    cfg.L = cfg_int(&c, "num_hidden_layers", 32, 1, 4096);
    cfg.H = cfg_int(&c, "num_attention_heads", 32, 1, 1 << 14);
    const JsonValue *kv = json_get(o, "num_key_value_heads");
    cfg.KVH = kv ? cfg_int(&c, "num_key_value_heads", cfg.H, 1, 1 << 14) : (mistral ? 8 : cfg.H);
    if (!c.ok) return false;
    if (!json_get(o, "head_dim") || json_get(o, "head_dim")->type == JSON_NULL) {
        if (cfg.C % cfg.H) return err_set(err, "%s: hidden_size %d is not a multiple of num_attention_heads %d", what, cfg.C, cfg.H);
        cfg.D = cfg.C / cfg.H;
    } else {
        cfg.D = cfg_int(&c, "head_dim", 0, 1, 1 << 16);
    }
    if (!c.ok) return false;
    if (cfg.D % 2) return err_set(err, "%s: head_dim %d must be even (RoPE rotates pairs)", what, cfg.D);
    if (cfg.H % cfg.KVH)
        return err_set(err, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", what, cfg.H, cfg.KVH);
    if ((int64_t)cfg.H * cfg.D > (1 << 20)) return err_set(err, "%s: num_attention_heads x head_dim is too large", what);
    cfg.eps = (float)cfg_num(&c, o, "rms_norm_eps", 1e-6);
    if (c.ok && !(cfg.eps >= 0 && cfg.eps < 1)) cfg_fail(&c, "\"rms_norm_eps\" must be in [0, 1)%s%s", "", "");
    cfg.rope_theta = read_rope(&c);
    cfg.max_pos = cfg_int(&c, "max_position_embeddings", mistral ? 4096 * 32 : 2048, 1, INT32_MAX);
    cfg.window = 0;
    if (mistral) {
        const JsonValue *sw = json_get(o, "sliding_window");
        if (!sw) cfg.window = 4096;
        else if (sw->type != JSON_NULL) cfg.window = cfg_int(&c, "sliding_window", 0, 1, INT32_MAX);
    }
    const JsonValue *tie = json_get(o, "tie_word_embeddings");
    cfg.tie = tie ? cfg_bool(&c, o, "tie_word_embeddings", false) : tie_default > 0;
    int ids[LLAMA_MAX_EOS], n;
    cfg_token_ids(&c, "bos_token_id", 1, ids, &n, 1);
    cfg.bos_id = n ? ids[0] : -1;
    cfg_token_ids(&c, "pad_token_id", -1, ids, &n, 1);
    cfg.pad_id = n ? ids[0] : -1;
    cfg_token_ids(&c, "eos_token_id", 2, cfg.eos_ids, &cfg.n_eos, LLAMA_MAX_EOS);
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
        return parse_text(c, text, !strcmp(type, "llava") ? "llama" : "mistral", tie, sub, err);
    }
    if (text && !(type && (!strcmp(type, "llama") || !strcmp(type, "mistral"))))
        return err_set(err, "%s: model_type \"%s\" with a text_config is not supported (llava, idefics2, or a plain "
                       "llama/mistral config)", what, type ? type : "(none)");
    return parse_text(c, root, NULL, -1, what, err);
}

bool llama_config_load(LlamaConfig *c, const char *path, LpoiErr *err) {
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
    bool ok = llama_config_parse(c, json_root(doc), buf, err);
    json_free(doc);
    return ok;
}
