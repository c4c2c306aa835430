// wordpiece_load.c — tokenizer.json (WordPiece model) or vocab.txt → a WordPiece (wordpiece_impl.h).
// Every section of tokenizer.json is checked against what wordpiece.c implements; anything else is
// refused with "<file>: <field>: reason".
#include "text/wordpiece_impl.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WP_MAX_FILE ((size_t)1 << 28)
#define WP_MAX_IDS (1u << 24)

static WordPiece *wp_new(const char *name) {
    WordPiece *wp = calloc_check(1, sizeof *wp);
    snprintf(wp->name, sizeof wp->name, "%s", name);
    memcpy(wp->prefix, "##", 3);
    wp->prefix_len = 2;
    wp->max_chars = 100;
    wp->unk_id = wp->cls_id = wp->sep_id = wp->pad_id = -1;
    wp->decoder_cleanup = true;
    return wp;
}

void wordpiece_free(WordPiece *wp) {
    if (!wp) return;
    tok_pool_free(&wp->pool);
    tok_strmap_free(&wp->vocab);
    free(wp->tokens);
    free(wp);
}

// Sets token `id` (ids grow the table); a later string for the same id replaces the earlier one
// in neither direction: ids are checked unique by the callers.
static void set_token(WordPiece *wp, int32_t id, const char *s, size_t len, size_t *cap) {
    if ((size_t)id >= *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c <= (size_t)id) c *= 2;
        wp->tokens = realloc_check(wp->tokens, c * sizeof *wp->tokens);
        memset(wp->tokens + *cap, 0, (c - *cap) * sizeof *wp->tokens);
        *cap = c;
    }
    wp->tokens[id] = (TokPiece){tok_pool_dup(&wp->pool, s, len), (uint32_t)len};
    if ((size_t)id >= wp->n_ids) wp->n_ids = (size_t)id + 1;
}

static int32_t vocab_id(const WordPiece *wp, const char *s) { return tok_strmap_get(&wp->vocab, wp->tokens, s, strlen(s)); }

static bool add_special(WordPiece *wp, const char *content, size_t len, int32_t id, LpoiErr *err) {
    if (wp->n_added == WP_MAX_ADDED) return err_set(err, "%s: more than %d added tokens", wp->name, WP_MAX_ADDED);
    char q[96];
    if (len == 0) return err_set(err, "%s: added_tokens: an empty token", wp->name);
    if (tok_strmap_get(&wp->vocab, wp->tokens, content, len) != id)
        return err_set(err, "%s: added_tokens: %s (id %d) is not that vocab entry (lpoi implements added tokens that "
                            "are vocab tokens, as BERT's special tokens are)", wp->name, json_quote_short(q, sizeof q, content, len), id);
    wp->added[wp->n_added++] = (WpAdded){wp->tokens[id].s, wp->tokens[id].len, id};
    return true;
}

static bool finish(WordPiece *wp, LpoiErr *err) {
    if (wp->unk_id < 0) return err_set(err, "%s: the unk token is not in the vocabulary", wp->name);
    if (wp->cls_id < 0 || wp->sep_id < 0) return err_set(err, "%s: no [CLS]/[SEP] ids", wp->name);
    wp->pad_id = vocab_id(wp, "[PAD]");
    return true;
}

// ---- vocab.txt ------------------------------------------------------------------------------------

// transformers' load_vocab: Python text mode (universal newlines: \n, \r\n and \r end a line), the
// line number is the id, and a repeated token keeps its last id.
static WordPiece *load_vocab_txt(const char *path, const char *text, size_t n, LpoiErr *err) {
    if (!utf8_valid(text, n)) {
        err_set(err, "%s: not valid UTF-8 (byte %zu)", path, utf8_first_invalid(text, n));
        return NULL;
    }
    WordPiece *wp = wp_new(path);
    size_t cap = 0, line = 0;
    for (size_t i = 0; i < n; line++) {
        size_t e = i;
        while (e < n && text[e] != '\n' && text[e] != '\r') e++;
        if (line >= WP_MAX_IDS) { err_set(err, "%s: more than %u lines", path, WP_MAX_IDS); goto fail; }
        set_token(wp, (int32_t)line, text + i, e - i, &cap);
        i = e < n && text[e] == '\r' && e + 1 < n && text[e + 1] == '\n' ? e + 2 : e + 1;
    }
    // The dict keeps a repeated token's last id: insert from the last line up; an earlier line
    // whose token is taken loses it (no id maps back to it, as in HF's vocab_r).
    for (size_t k = wp->n_ids; k-- > 0;)
        if (tok_strmap_put(&wp->vocab, wp->tokens, (int32_t)k) >= 0) wp->tokens[k].s = NULL;
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (size_t k = 0; k < LPOI_ARRAY_LEN(specials); k++) {
        int32_t id = vocab_id(wp, specials[k]);
        if (id < 0) { err_set(err, "%s: %s is not in the vocabulary (BertTokenizer would append it)", path, specials[k]); goto fail; }
        if (!add_special(wp, specials[k], strlen(specials[k]), id, err)) goto fail;
    }
    wp->unk_id = vocab_id(wp, "[UNK]");
    wp->cls_id = vocab_id(wp, "[CLS]");
    wp->sep_id = vocab_id(wp, "[SEP]");
    if (finish(wp, err)) return wp;
fail:
    wordpiece_free(wp);
    return NULL;
}

// ---- tokenizer.json -------------------------------------------------------------------------------

static bool want_type(const JsonValue *v, const char *field, const char *type, const char *name, LpoiErr *err) {
    const char *t = v && v->type == JSON_OBJECT ? json_get_str(v, "type") : NULL;
    char q[96];
    if (!t || strcmp(t, type) != 0)
        return err_set(err, "%s: %s: %s is not supported (lpoi implements %s)", name, field,
                       t ? json_quote_short(q, sizeof q, t, strlen(t)) : "(none)", type);
    return true;
}

static bool want_bool(const JsonValue *o, const char *key, bool def, bool *out, const char *path, const char *name,
                      LpoiErr *err) {
    const JsonValue *v = json_get(o, key);
    if (!v || v->type == JSON_NULL) { *out = def; return true; }
    if (v->type != JSON_BOOL) return err_set(err, "%s: %s.%s: expected true or false", name, path, key);
    *out = v->boolean;
    return true;
}

static bool read_normalizer(const JsonValue *n, const char *name, LpoiErr *err) {
    if (!want_type(n, "normalizer", "BertNormalizer", name, err)) return false;
    bool clean = true, chinese = true, lower = true, strip = true;
    if (!want_bool(n, "clean_text", true, &clean, "normalizer", name, err) ||
        !want_bool(n, "handle_chinese_chars", true, &chinese, "normalizer", name, err) ||
        !want_bool(n, "lowercase", true, &lower, "normalizer", name, err) ||
        !want_bool(n, "strip_accents", lower, &strip, "normalizer", name, err))
        return false;
    if (!clean || !chinese || !lower || !strip)
        return err_set(err, "%s: normalizer: lpoi implements the uncased BertNormalizer (clean_text, handle_chinese_chars, "
                            "lowercase and strip_accents all on)", name);
    return true;
}

static bool special_id(const JsonValue *st, const char *tok, int32_t *id, const char *name, LpoiErr *err) {
    const JsonValue *e = json_get(st, tok), *ids = e ? json_get(e, "ids") : NULL;
    int64_t v;
    if (!ids || ids->type != JSON_ARRAY || ids->count != 1 || !json_as_i64(ids->items[0], &v) || v < 0 || v >= WP_MAX_IDS)
        return err_set(err, "%s: post_processor.special_tokens: %s must have one id", name, tok);
    *id = (int32_t)v;
    return true;
}

// [CLS] $A [SEP]: TemplateProcessing's single template, or BertProcessing.
static bool read_post(WordPiece *wp, const JsonValue *p, LpoiErr *err) {
    const char *name = wp->name, *type = p && p->type == JSON_OBJECT ? json_get_str(p, "type") : NULL;
    int64_t a, b;
    if (type && !strcmp(type, "BertProcessing")) {
        const JsonValue *cls = json_get(p, "cls"), *sep = json_get(p, "sep");
        if (!cls || !sep || cls->type != JSON_ARRAY || sep->type != JSON_ARRAY || cls->count != 2 || sep->count != 2 ||
            !json_as_i64(cls->items[1], &a) || !json_as_i64(sep->items[1], &b) || a < 0 || b < 0 || a >= WP_MAX_IDS || b >= WP_MAX_IDS)
            return err_set(err, "%s: post_processor: BertProcessing needs cls and sep as [token, id]", name);
        wp->cls_id = (int32_t)a;
        wp->sep_id = (int32_t)b;
    } else if (type && !strcmp(type, "TemplateProcessing")) {
        const JsonValue *single = json_get(p, "single"), *st = json_get(p, "special_tokens");
        const JsonValue *s0 = json_at(single, 0), *s1 = json_at(single, 1), *s2 = json_at(single, 2);
        const JsonValue *t0 = s0 ? json_get(s0, "SpecialToken") : NULL, *t1 = s1 ? json_get(s1, "Sequence") : NULL;
        const JsonValue *t2 = s2 ? json_get(s2, "SpecialToken") : NULL;
        const char *c = t0 ? json_get_str(t0, "id") : NULL, *sq = t1 ? json_get_str(t1, "id") : NULL;
        const char *e = t2 ? json_get_str(t2, "id") : NULL;
        if (!single || single->type != JSON_ARRAY || single->count != 3 || !c || !sq || strcmp(sq, "A") || !e || !st)
            return err_set(err, "%s: post_processor.single: lpoi implements the template \"[CLS] $A [SEP]\"", name);
        if (!special_id(st, c, &wp->cls_id, name, err) || !special_id(st, e, &wp->sep_id, name, err)) return false;
    } else {
        char q[96];
        return err_set(err, "%s: post_processor: %s is not supported (TemplateProcessing \"[CLS] $A [SEP]\" or BertProcessing)",
                       name, type ? json_quote_short(q, sizeof q, type, strlen(type)) : "(none)");
    }
    if ((size_t)wp->cls_id >= wp->n_ids || !wp->tokens[wp->cls_id].s || (size_t)wp->sep_id >= wp->n_ids || !wp->tokens[wp->sep_id].s)
        return err_set(err, "%s: post_processor: the [CLS]/[SEP] ids are not in the vocabulary", name);
    return true;
}

static bool read_model(WordPiece *wp, const JsonValue *m, LpoiErr *err) {
    const char *name = wp->name;
    if (!want_type(m, "model", "WordPiece", name, err)) return false;
    const JsonValue *v = json_get(m, "continuing_subword_prefix");
    if (v && v->type != JSON_NULL) {
        if (v->type != JSON_STRING || v->len == 0 || v->len >= sizeof wp->prefix || memchr(v->str, 0, v->len))
            return err_set(err, "%s: model.continuing_subword_prefix: expected a short non-empty string", name);
        memcpy(wp->prefix, v->str, v->len + 1);
        wp->prefix_len = v->len;
    }
    int64_t mc = 100;
    if ((v = json_get(m, "max_input_chars_per_word")) && v->type != JSON_NULL && (!json_as_i64(v, &mc) || mc < 1 || mc > 1000000))
        return err_set(err, "%s: model.max_input_chars_per_word: expected an integer in [1, 1000000]", name);
    wp->max_chars = (size_t)mc;
    const JsonValue *vocab = json_get(m, "vocab");
    if (!vocab || vocab->type != JSON_OBJECT || vocab->count == 0) return err_set(err, "%s: model.vocab: expected a non-empty object", name);
    size_t cap = 0;
    for (size_t i = 0; i < vocab->count; i++) {
        int64_t id;
        char q[96];
        const char *key = vocab->keys[i];
        if (!json_as_i64(vocab->items[i], &id) || id < 0 || id >= WP_MAX_IDS)
            return err_set(err, "%s: model.vocab[%s]: expected an id in [0, %u)", name, json_quote_short(q, sizeof q, key, vocab->key_lens[i]), WP_MAX_IDS);
        if ((size_t)id < wp->n_ids && wp->tokens[id].s)
            return err_set(err, "%s: model.vocab[%s]: id %lld is used twice", name, json_quote_short(q, sizeof q, key, vocab->key_lens[i]), (long long)id);
        set_token(wp, (int32_t)id, key, vocab->key_lens[i], &cap);
        tok_strmap_put(&wp->vocab, wp->tokens, (int32_t)id);   // keys are unique (the JSON parser refuses duplicates)
    }
    const char *unk = json_get_str(m, "unk_token");
    if (!unk) return err_set(err, "%s: model.unk_token: expected a string", name);
    wp->unk_id = vocab_id(wp, unk);
    return true;
}

static bool read_decoder(WordPiece *wp, const JsonValue *d, LpoiErr *err) {
    if (!want_type(d, "decoder", "WordPiece", wp->name, err)) return false;
    const char *pre = json_get_str(d, "prefix");
    if (pre && strcmp(pre, wp->prefix) != 0) return err_set(err, "%s: decoder.prefix differs from the model's continuing_subword_prefix", wp->name);
    return want_bool(d, "cleanup", true, &wp->decoder_cleanup, "decoder", wp->name, err);
}

static bool read_added(WordPiece *wp, const JsonValue *arr, LpoiErr *err) {
    if (!arr || arr->type == JSON_NULL) return true;
    if (arr->type != JSON_ARRAY) return err_set(err, "%s: added_tokens: expected an array", wp->name);
    for (size_t i = 0; i < arr->count; i++) {
        const JsonValue *a = arr->items[i], *content = json_get(a, "content");
        int64_t id;
        bool sw = false, ls = false, rs = false, norm = false;
        if (!content || content->type != JSON_STRING || !json_get_i64(a, "id", &id) || id < 0 || id >= WP_MAX_IDS)
            return err_set(err, "%s: added_tokens[%zu]: expected an id and a content string", wp->name, i);
        if (!want_bool(a, "single_word", false, &sw, "added_tokens", wp->name, err) ||
            !want_bool(a, "lstrip", false, &ls, "added_tokens", wp->name, err) ||
            !want_bool(a, "rstrip", false, &rs, "added_tokens", wp->name, err) ||
            !want_bool(a, "normalized", false, &norm, "added_tokens", wp->name, err))
            return false;
        if (sw || ls || rs || norm)
            return err_set(err, "%s: added_tokens[%zu]: single_word/lstrip/rstrip/normalized are not supported", wp->name, i);
        if (!add_special(wp, content->str, content->len, (int32_t)id, err)) return false;
    }
    return true;
}

static WordPiece *load_json(const char *path, const char *text, size_t n, LpoiErr *err) {
    LpoiErr jerr = {{0}};
    JsonDoc *doc = json_parse(text, n, &jerr);
    if (!doc) { err_set(err, "%s: invalid JSON: %s", path, jerr.msg); return NULL; }
    const JsonValue *root = json_root(doc);
    WordPiece *wp = wp_new(path);
    bool ok = root->type == JSON_OBJECT || err_set(err, "%s: expected a JSON object", path);
    static const char *const absent[] = {"truncation", "padding"};
    for (size_t i = 0; ok && i < LPOI_ARRAY_LEN(absent); i++) {
        const JsonValue *v = json_get(root, absent[i]);
        if (v && v->type != JSON_NULL) ok = err_set(err, "%s: %s: must be null (lpoi truncates on request, never pads)", path, absent[i]);
    }
    ok = ok && read_model(wp, json_get(root, "model"), err) && read_normalizer(json_get(root, "normalizer"), path, err) &&
         want_type(json_get(root, "pre_tokenizer"), "pre_tokenizer", "BertPreTokenizer", path, err) &&
         read_post(wp, json_get(root, "post_processor"), err) && read_decoder(wp, json_get(root, "decoder"), err) &&
         read_added(wp, json_get(root, "added_tokens"), err) && finish(wp, err);
    json_free(doc);
    if (ok) return wp;
    wordpiece_free(wp);
    return NULL;
}

static bool ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

WordPiece *wordpiece_load(const char *path, LpoiErr *err) {
    size_t n = 0;
    char *text = file_read_all(path, WP_MAX_FILE, &n, err);
    if (!text) return NULL;
    WordPiece *wp = ends_with(path, ".txt") ? load_vocab_txt(path, text, n, err) : load_json(path, text, n, err);
    free(text);
    return wp;
}

// tokenizer_config.json: transformers' decode cleanup flag; BertTokenizer options we do not implement.
static bool apply_config(WordPiece *wp, const char *path, LpoiErr *err) {
    JsonDoc *doc = json_load_file(path, (size_t)16 << 20, err);
    if (!doc) return false;
    JsonCfg c;
    bool ok = json_cfg_open(&c, json_root(doc), path, err);
    if (ok) {
        wp->cleanup_spaces = json_cfg_bool(&c, "clean_up_tokenization_spaces", false);
        if (c.ok && !json_cfg_bool(&c, "do_lower_case", true)) json_cfg_fail(&c, "\"do_lower_case\": false is not supported (uncased BERT only)");
        if (c.ok && !json_cfg_bool(&c, "tokenize_chinese_chars", true)) json_cfg_fail(&c, "\"tokenize_chinese_chars\": false is not supported");
        if (c.ok && json_cfg_has(&c, "strip_accents") && !json_cfg_bool(&c, "strip_accents", true))
            json_cfg_fail(&c, "\"strip_accents\": false is not supported");
        ok = c.ok;
    }
    json_free(doc);
    return ok;
}

WordPiece *wordpiece_load_dir(const char *dir, LpoiErr *err) {
    char *json = file_path_join(dir, "tokenizer.json"), *txt = file_path_join(dir, "vocab.txt");
    char *cfg = file_path_join(dir, "tokenizer_config.json");
    WordPiece *wp = NULL;
    if (access(json, F_OK) == 0) wp = wordpiece_load(json, err);
    else if (access(txt, F_OK) == 0) wp = wordpiece_load(txt, err);
    else err_set(err, "%s: no tokenizer.json or vocab.txt", dir);
    if (wp && access(cfg, F_OK) == 0 && !apply_config(wp, cfg, err)) {
        wordpiece_free(wp);
        wp = NULL;
    }
    free(json);
    free(txt);
    free(cfg);
    return wp;
}
