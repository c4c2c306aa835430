// tokenizer_load.c — tokenizer.json → Tokenizer tables (tokenizer_config.json: tokenizer_config.c).
// The file is hostile input: every field is type-checked, every id bounds-checked (< 2^24, no id
// used twice in model.vocab, ids nearly dense — max id < 2·entries + 1024 — so tables stay
// proportionate to the file, template ids must name a token), every merge piece must be in the
// vocab, byte tokens "<0x..>" must carry exactly two hex digits; anything we do not implement
// (other model / normalizer / pre-tokenizer / decoder / post-processor types, regex patterns,
// dropout, truncation, padding) is refused by name. Errors read "<file>: <field>: reason".
// Semantics follow HF tokenizers' deserializers: missing BPE flags default to false, Metaspace's
// prepend_scheme defaults to "always" and split to true, "#version" merge lines are skipped,
// added tokens get their ids the way AddedVocabulary assigns them (we refuse a file whose
// stored ids disagree instead of renumbering silently as HF does with a warning).
#include "text/tokenizer_internal.h"
#include "base/check.h"
#include "base/json.h"
#include "base/file.h"
#include <stdio.h>
#include <string.h>

static const char *q(char buf[96], const char *s, size_t len) { return json_quote_short(buf, 96, s, len); }

// "<0x" + 2 chars + ">" that are not two hex digits: refused (HF would keep them as plain pieces
// and its decoder would even read "<0x+F>" as a byte; strictness keeps decode unambiguous).
static bool bad_byte_shape(const char *s, size_t len) {
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return false;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return true;
    }
    return false;
}

static void ensure_ids(Tokenizer *t, size_t n) {
    if (n <= t->n_ids) return;
    t->pieces = realloc_check(t->pieces, n * sizeof *t->pieces);
    t->tokens = realloc_check(t->tokens, n * sizeof *t->tokens);
    t->id_flags = realloc_check(t->id_flags, n);
    memset(t->pieces + t->n_ids, 0, (n - t->n_ids) * sizeof *t->pieces);
    memset(t->tokens + t->n_ids, 0, (n - t->n_ids) * sizeof *t->tokens);
    memset(t->id_flags + t->n_ids, 0, n - t->n_ids);
    t->n_ids = n;
}

// Optional bool member (absent or null -> def).
bool tok_get_opt_bool(const JsonValue *o, const char *key, bool def, bool *out, const char *path,
                         const char *name, LpoiErr *err) {
    const JsonValue *v = json_get(o, key);
    if (!v || v->type == JSON_NULL) { *out = def; return true; }
    if (v->type != JSON_BOOL) return err_set(err, "%s: %s.%s: expected true or false", name, path, key);
    *out = v->boolean;
    return true;
}

// Optional string member: NULL when absent or null.
bool tok_get_opt_str(const JsonValue *o, const char *key, const JsonValue **out, const char *path,
                        const char *name, LpoiErr *err) {
    const JsonValue *v = json_get(o, key);
    *out = NULL;
    if (!v || v->type == JSON_NULL) return true;
    if (v->type != JSON_STRING) return err_set(err, "%s: %s.%s: expected a string", name, path, key);
    *out = v;
    return true;
}

static bool get_type(const JsonValue *o, const char *path, const char **type, const char *name, LpoiErr *err) {
    if (!o || o->type != JSON_OBJECT) return err_set(err, "%s: %s: expected an object", name, path);
    *type = json_get_str(o, "type");
    if (!*type) return err_set(err, "%s: %s.type: missing (expected a string)", name, path);
    return true;
}

// One Unicode scalar given as a JSON string (Metaspace replacement, Strip content).
static bool get_one_char(const JsonValue *o, const char *key, uint32_t *cp, const char *path, const char *name,
                         LpoiErr *err) {
    const JsonValue *v = json_get(o, key);
    if (!v || v->type != JSON_STRING) return err_set(err, "%s: %s.%s: expected a one-character string", name, path, key);
    size_t n = 0;
    if (v->len == 0 || (*cp = tok_utf8_decode(v->str, &n), n != v->len))
        return err_set(err, "%s: %s.%s: expected exactly one character", name, path, key);
    return true;
}

static bool get_prepend_scheme(const JsonValue *o, TokPrependScheme *out, const char *path, const char *name,
                               LpoiErr *err) {
    const JsonValue *s;
    bool add_prefix = true;
    if (!tok_get_opt_str(o, "prepend_scheme", &s, path, name, err)) return false;
    if (!tok_get_opt_bool(o, "add_prefix_space", true, &add_prefix, path, name, err)) return false;
    if (!s) {   // legacy files: add_prefix_space only; HF refuses false without a scheme
        if (!add_prefix)
            return err_set(err, "%s: %s.add_prefix_space: false without prepend_scheme (tokenizers refuses this)", name, path);
        *out = TOK_PREPEND_ALWAYS;
        return true;
    }
    if (strcmp(s->str, "always") == 0) *out = TOK_PREPEND_ALWAYS;
    else if (strcmp(s->str, "first") == 0) *out = TOK_PREPEND_FIRST;
    else if (strcmp(s->str, "never") == 0) *out = TOK_PREPEND_NEVER;
    else {
        char b[96];
        return err_set(err, "%s: %s.prepend_scheme: %s is not always, first or never", name, path, q(b, s->str, s->len));
    }
    return true;
}

// {"String": "..."} (Regex patterns are refused).
static bool get_string_pattern(const JsonValue *o, const JsonValue **out, const char *path, const char *name,
                               LpoiErr *err) {
    const JsonValue *p = json_get(o, "pattern");
    if (!p || p->type != JSON_OBJECT) return err_set(err, "%s: %s.pattern: expected {\"String\": ...}", name, path);
    if (json_get(p, "Regex")) return err_set(err, "%s: %s.pattern: Regex patterns are not supported", name, path);
    const JsonValue *s = json_get(p, "String");
    if (!s || s->type != JSON_STRING || p->count != 1)
        return err_set(err, "%s: %s.pattern: expected {\"String\": ...}", name, path);
    if (s->len == 0) return err_set(err, "%s: %s.pattern.String: empty pattern", name, path);
    *out = s;
    return true;
}

// ---------------------------------------------------------------------------------------------
// model

static bool load_merges(Tokenizer *t, const JsonValue *merges, LpoiErr *err) {
    const char *name = t->name;
    if (!merges || merges->type != JSON_ARRAY) return err_set(err, "%s: model.merges: expected an array", name);
    if (merges->count > TOK_MAX_IDS) return err_set(err, "%s: model.merges: %zu entries, over the limit", name, merges->count);
    tok_mergemap_init(&t->merges, merges->count);
    JsonType form = merges->count ? merges->items[0]->type : JSON_STRING;
    char *cat = NULL;
    size_t cat_cap = 0;
    bool ok = true;
    int32_t rank = 0;
    char b1[96], b2[96];
    for (size_t i = 0; ok && i < merges->count; i++) {
        const JsonValue *m = merges->items[i];
        const char *a, *b;
        size_t al, bl;
        if (m->type != form || (form != JSON_STRING && form != JSON_ARRAY)) {
            ok = err_set(err, "%s: model.merges[%zu]: expected %s, like the first entry", name, i,
                         form == JSON_ARRAY ? "a [\"a\", \"b\"] pair" : "an \"a b\" string");
            break;
        }
        if (form == JSON_STRING) {
            if (m->len >= 8 && memcmp(m->str, "#version", 8) == 0) continue;
            const char *sp = memchr(m->str, ' ', m->len);
            if (!sp || memchr(sp + 1, ' ', m->len - (size_t)(sp + 1 - m->str))) {
                ok = err_set(err, "%s: model.merges[%zu]: %s is not two pieces separated by one space", name, i,
                             q(b1, m->str, m->len));
                break;
            }
            a = m->str; al = (size_t)(sp - m->str);
            b = sp + 1; bl = m->len - al - 1;
        } else {
            if (m->count != 2 || m->items[0]->type != JSON_STRING || m->items[1]->type != JSON_STRING) {
                ok = err_set(err, "%s: model.merges[%zu]: expected a pair of two strings", name, i);
                break;
            }
            a = m->items[0]->str; al = m->items[0]->len;
            b = m->items[1]->str; bl = m->items[1]->len;
        }
        int32_t ia = tok_vocab_get(t, a, al), ib = tok_vocab_get(t, b, bl);
        if (ia < 0 || ib < 0) {
            ok = err_set(err, "%s: model.merges[%zu]: piece %s is not in model.vocab", name, i,
                         ia < 0 ? q(b1, a, al) : q(b2, b, bl));
            break;
        }
        if (al + bl > cat_cap) { cat_cap = al + bl; cat = realloc_check(cat, cat_cap); }
        memcpy(cat, a, al);
        memcpy(cat + al, b, bl);
        int32_t im = tok_vocab_get(t, cat, al + bl);
        if (im < 0) {
            ok = err_set(err, "%s: model.merges[%zu]: merged piece %s is not in model.vocab", name, i, q(b1, cat, al + bl));
            break;
        }
        tok_mergemap_put(&t->merges, ia, ib, rank++, im);
    }
    free(cat);
    return ok;
}

static bool load_model(Tokenizer *t, const JsonValue *model, LpoiErr *err) {
    const char *name = t->name;
    char b1[96], b2[96];
    if (!model || model->type != JSON_OBJECT) return err_set(err, "%s: model: expected an object", name);
    const char *type = json_get_str(model, "type");
    const JsonValue *tv = json_get(model, "type");
    if (tv && !type) return err_set(err, "%s: model.type: expected a string", name);
    if (type && strcmp(type, "BPE") != 0)
        return err_set(err, "%s: model.type: %s is not supported (BPE only)", name, q(b1, type, strlen(type)));
    if (!type && !json_get(model, "merges")) return err_set(err, "%s: model.type: missing", name);

    const JsonValue *dropout = json_get(model, "dropout");
    if (dropout && dropout->type != JSON_NULL && !(dropout->type == JSON_NUMBER && dropout->number == 0.0))
        return err_set(err, "%s: model.dropout: BPE dropout is random and not supported (must be null)", name);
    const char *affix_keys[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int k = 0; k < 2; k++) {
        const JsonValue *v;
        if (!tok_get_opt_str(model, affix_keys[k], &v, "model", name, err)) return false;
        if (v && v->len) return err_set(err, "%s: model.%s: not supported (must be null)", name, affix_keys[k]);
    }
    if (!tok_get_opt_bool(model, "fuse_unk", false, &t->fuse_unk, "model", name, err)) return false;
    if (!tok_get_opt_bool(model, "byte_fallback", false, &t->byte_fallback, "model", name, err)) return false;
    if (!tok_get_opt_bool(model, "ignore_merges", false, &t->ignore_merges, "model", name, err)) return false;

    const JsonValue *vocab = json_get(model, "vocab");
    if (!vocab || vocab->type != JSON_OBJECT) return err_set(err, "%s: model.vocab: expected an object", name);
    if (vocab->count > TOK_MAX_IDS) return err_set(err, "%s: model.vocab: %zu entries, over the limit", name, vocab->count);
    size_t max_id = 0;
    for (size_t i = 0; i < vocab->count; i++) {
        uint64_t id;
        if (!json_as_u64(vocab->items[i], &id) || id >= TOK_MAX_IDS)
            return err_set(err, "%s: model.vocab: %s: id must be an integer in [0, %u)", name,
                           q(b1, vocab->keys[i], vocab->key_lens[i]), TOK_MAX_IDS);
        if (vocab->key_lens[i] > TOK_MAX_PIECE)
            return err_set(err, "%s: model.vocab: piece of %zu bytes, over the limit", name, vocab->key_lens[i]);
        if (bad_byte_shape(vocab->keys[i], vocab->key_lens[i]))
            return err_set(err, "%s: model.vocab: %s: byte tokens must be <0xHH> with two hex digits", name,
                           q(b1, vocab->keys[i], vocab->key_lens[i]));
        if (id + 1 > max_id) max_id = (size_t)id + 1;
    }
    // ids index dense tables: keep them proportionate to the file (real vocabularies are dense)
    if (max_id > 2 * vocab->count + 1024)
        return err_set(err, "%s: model.vocab: largest id %zu for %zu entries; ids must be nearly dense", name,
                       max_id - 1, vocab->count);
    ensure_ids(t, max_id);
    t->model_vocab_count = vocab->count;
    tok_strmap_init(&t->vocab, vocab->count);
    for (size_t i = 0; i < vocab->count; i++) {
        uint64_t id;
        json_as_u64(vocab->items[i], &id);
        TokPiece *p = &t->pieces[id];
        if (p->s)
            return err_set(err, "%s: model.vocab: %s and %s have the same id %llu", name, q(b1, p->s, p->len),
                           q(b2, vocab->keys[i], vocab->key_lens[i]), (unsigned long long)id);
        p->s = tok_pool_dup(&t->pool, vocab->keys[i], vocab->key_lens[i]);
        p->len = (uint32_t)vocab->key_lens[i];
        t->tokens[id] = *p;
        t->id_flags[id] |= TOK_ID_MODEL;
        // (duplicate keys were already refused by the JSON parser)
        tok_strmap_put(&t->vocab, t->pieces, (int32_t)id);
    }
    for (int b = 0; b < 256; b++) {
        char s[8];
        snprintf(s, sizeof s, "<0x%02X>", b);
        t->byte_id[b] = tok_vocab_get(t, s, 6);
    }
    for (int c = 0; c < 128; c++) {
        char s = (char)c;
        t->ascii_id[c] = tok_vocab_get(t, &s, 1);
    }
    const JsonValue *unk;
    if (!tok_get_opt_str(model, "unk_token", &unk, "model", name, err)) return false;
    t->unk_id = -1;
    if (unk) {
        t->unk_id = tok_vocab_get(t, unk->str, unk->len);
        if (t->unk_id < 0) t->unk_id = -2;   // HF fails only when an unknown char needs it
        json_quote_short(t->unk_name, sizeof t->unk_name, unk->str, unk->len);
        size_t n = strlen(t->unk_name);   // without the quotes
        if (n >= 2) { memmove(t->unk_name, t->unk_name + 1, n - 2); t->unk_name[n - 2] = 0; }
    }
    return load_merges(t, json_get(model, "merges"), err);
}

// ---------------------------------------------------------------------------------------------
// normalizer, pre-tokenizer, decoder, post-processor

// The "type" of one normalizer or decoder at `path`: *type NULL for JSON null (none); false + err
// when it is nested too deep or has no type.
static bool step_type(const Tokenizer *t, const JsonValue *v, const char *path, int depth, const char **type,
                      LpoiErr *err) {
    *type = NULL;
    if (!v || v->type == JSON_NULL) return true;
    if (depth > 4) return err_set(err, "%s: %s: Sequence nested too deep", t->name, path);
    return get_type(v, path, type, t->name, err);
}

// {"type": "Sequence", key: [step, ...]} of normalizers or decoders: each step loaded with `load`
// one level deeper, its path "PATH.key[i]".
typedef bool (*LoadStep)(Tokenizer *t, const JsonValue *step, const char *path, int depth, LpoiErr *err);
static bool load_sequence(Tokenizer *t, const JsonValue *v, const char *key, const char *path, int depth, LoadStep load,
                          LpoiErr *err) {
    const JsonValue *list = json_get(v, key);
    if (!list || list->type != JSON_ARRAY) return err_set(err, "%s: %s.%s: expected an array", t->name, path, key);
    for (size_t i = 0; i < list->count; i++) {
        char sub[128];
        snprintf(sub, sizeof sub, "%s.%s[%zu]", path, key, i);
        if (!load(t, list->items[i], sub, depth + 1, err)) return false;
    }
    return true;
}

static bool load_normalizer(Tokenizer *t, const JsonValue *n, const char *path, int depth, LpoiErr *err) {
    const char *name = t->name, *type;
    char b1[96];
    if (!step_type(t, n, path, depth, &type, err)) return false;
    if (!type) return true;   // null: none
    if (strcmp(type, "Sequence") == 0) return load_sequence(t, n, "normalizers", path, depth, load_normalizer, err);
    if (t->n_norm == TOK_MAX_OPS) return err_set(err, "%s: %s: more than %d normalizers", name, path, TOK_MAX_OPS);
    TokNormOp *op = &t->norm[t->n_norm];
    if (strcmp(type, "Prepend") == 0) {
        const JsonValue *s;
        if (!tok_get_opt_str(n, "prepend", &s, path, name, err)) return false;
        if (!s) return err_set(err, "%s: %s.prepend: missing", name, path);
        *op = (TokNormOp){TOK_NORM_PREPEND, tok_pool_dup(&t->pool, s->str, s->len), s->len, NULL, 0};
    } else if (strcmp(type, "Replace") == 0) {
        const JsonValue *pat, *content;
        if (!get_string_pattern(n, &pat, path, name, err)) return false;
        if (!tok_get_opt_str(n, "content", &content, path, name, err)) return false;
        if (!content) return err_set(err, "%s: %s.content: missing", name, path);
        *op = (TokNormOp){TOK_NORM_REPLACE, tok_pool_dup(&t->pool, pat->str, pat->len), pat->len,
                          tok_pool_dup(&t->pool, content->str, content->len), content->len};
    } else {
        return err_set(err, "%s: %s.type: %s is not supported (Sequence, Prepend, Replace)", name, path,
                       q(b1, type, strlen(type)));
    }
    t->n_norm++;
    return true;
}

static bool load_metaspace_fields(Tokenizer *t, const JsonValue *o, const char *path, uint32_t *cp,
                                  TokPrependScheme *scheme, bool *split, LpoiErr *err) {
    return get_one_char(o, "replacement", cp, path, t->name, err) &&
           get_prepend_scheme(o, scheme, path, t->name, err) &&
           tok_get_opt_bool(o, "split", true, split, path, t->name, err);
}

static bool load_pre_tokenizer(Tokenizer *t, const JsonValue *p, const char *path, LpoiErr *err) {
    const char *name = t->name, *type;
    char b1[96];
    if (!p || p->type == JSON_NULL) return true;
    if (!get_type(p, path, &type, name, err)) return false;
    if (strcmp(type, "Sequence") == 0) {   // accepted when it holds at most one Metaspace
        const JsonValue *list = json_get(p, "pretokenizers");
        if (!list || list->type != JSON_ARRAY) return err_set(err, "%s: %s.pretokenizers: expected an array", name, path);
        if (list->count > 1) return err_set(err, "%s: %s: a Sequence of several pre-tokenizers is not supported", name, path);
        return list->count == 0 || load_pre_tokenizer(t, list->items[0], "pre_tokenizer.pretokenizers[0]", err);
    }
    if (strcmp(type, "Metaspace") != 0)
        return err_set(err, "%s: %s.type: %s is not supported (Metaspace or null)", name, path, q(b1, type, strlen(type)));
    uint32_t cp;
    if (!load_metaspace_fields(t, p, path, &cp, &t->ms_scheme, &t->ms_split, err)) return false;
    t->ms_rep_len = tok_utf8_encode(cp, t->ms_rep);
    t->ms_rep[t->ms_rep_len] = 0;
    t->metaspace = true;
    return true;
}

static bool load_decoder(Tokenizer *t, const JsonValue *d, const char *path, int depth, LpoiErr *err) {
    const char *name = t->name, *type;
    char b1[96];
    if (!step_type(t, d, path, depth, &type, err)) return false;
    if (!type) return true;   // null: none
    t->has_decoder = true;
    if (strcmp(type, "Sequence") == 0) return load_sequence(t, d, "decoders", path, depth, load_decoder, err);
    if (t->n_dec == TOK_MAX_OPS) return err_set(err, "%s: %s: more than %d decoders", name, path, TOK_MAX_OPS);
    TokDecOp *op = &t->dec[t->n_dec];
    *op = (TokDecOp){0};
    if (strcmp(type, "Replace") == 0) {
        const JsonValue *pat, *content;
        if (!get_string_pattern(d, &pat, path, name, err)) return false;
        if (!tok_get_opt_str(d, "content", &content, path, name, err)) return false;
        if (!content) return err_set(err, "%s: %s.content: missing", name, path);
        op->kind = TOK_DEC_REPLACE;
        op->a = tok_pool_dup(&t->pool, pat->str, pat->len); op->a_len = pat->len;
        op->b = tok_pool_dup(&t->pool, content->str, content->len); op->b_len = content->len;
    } else if (strcmp(type, "ByteFallback") == 0) {
        op->kind = TOK_DEC_BYTE_FALLBACK;
    } else if (strcmp(type, "Fuse") == 0) {
        op->kind = TOK_DEC_FUSE;
    } else if (strcmp(type, "Strip") == 0) {
        op->kind = TOK_DEC_STRIP;
        uint64_t start, stop;
        if (!get_one_char(d, "content", &op->ch, path, name, err)) return false;
        if (!json_as_u64(json_get(d, "start"), &start) || !json_as_u64(json_get(d, "stop"), &stop) ||
            start > (1u << 20) || stop > (1u << 20))
            return err_set(err, "%s: %s: start and stop must be small non-negative integers", name, path);
        op->start = (size_t)start;
        op->stop = (size_t)stop;
    } else if (strcmp(type, "Metaspace") == 0) {
        bool split;
        op->kind = TOK_DEC_METASPACE;
        if (!load_metaspace_fields(t, d, path, &op->ch, &op->scheme, &split, err)) return false;
        char rep[5];
        op->a_len = tok_utf8_encode(op->ch, rep);
        op->a = tok_pool_dup(&t->pool, rep, op->a_len);
    } else {
        return err_set(err, "%s: %s.type: %s is not supported (Sequence, Replace, ByteFallback, Fuse, Strip, Metaspace)",
                       name, path, q(b1, type, strlen(type)));
    }
    t->n_dec++;
    return true;
}

static bool load_post_processor(Tokenizer *t, const JsonValue *p, LpoiErr *err) {
    const char *name = t->name, *type;
    char b1[96];
    if (!p || p->type == JSON_NULL) return true;
    if (!get_type(p, "post_processor", &type, name, err)) return false;
    if (strcmp(type, "TemplateProcessing") != 0)
        return err_set(err, "%s: post_processor.type: %s is not supported (TemplateProcessing or null)", name,
                       q(b1, type, strlen(type)));
    const JsonValue *single = json_get(p, "single"), *specials = json_get(p, "special_tokens");
    if (!single || single->type != JSON_ARRAY) return err_set(err, "%s: post_processor.single: expected an array", name);
    if (!specials || specials->type != JSON_OBJECT)
        return err_set(err, "%s: post_processor.special_tokens: expected an object", name);
    bool seen_a = false;
    for (size_t i = 0; i < single->count; i++) {
        const JsonValue *it = single->items[i], *sp = json_get(it, "SpecialToken"), *seq = json_get(it, "Sequence");
        if ((!sp) == (!seq) || it->count != 1)
            return err_set(err, "%s: post_processor.single[%zu]: expected {\"SpecialToken\": ...} or {\"Sequence\": ...}", name, i);
        const char *id = json_get_str(sp ? sp : seq, "id");
        if (!id) return err_set(err, "%s: post_processor.single[%zu]: missing id", name, i);
        if (seq) {
            if (strcmp(id, "A") != 0 || seen_a)
                return err_set(err, "%s: post_processor.single[%zu]: the single template takes sequence A once", name, i);
            seen_a = true;
            continue;
        }
        const JsonValue *def = json_get(specials, id), *ids = def ? json_get(def, "ids") : NULL;
        if (!ids || ids->type != JSON_ARRAY)
            return err_set(err, "%s: post_processor.special_tokens: %s: missing or without an ids array", name,
                           q(b1, id, strlen(id)));
        for (size_t k = 0; k < ids->count; k++) {
            uint64_t v;
            if (!json_as_u64(ids->items[k], &v) || v >= t->n_ids || !t->tokens[v].s)
                return err_set(err, "%s: post_processor.special_tokens: %s: ids[%zu] is not the id of a token", name,
                               q(b1, id, strlen(id)), k);
            int32_t *dst = seen_a ? t->tpl_suffix : t->tpl_prefix;
            size_t *n = seen_a ? &t->n_suffix : &t->n_prefix;
            if (*n == TOK_MAX_TEMPLATE) return err_set(err, "%s: post_processor.single: too many special tokens", name);
            dst[(*n)++] = (int32_t)v;
        }
    }
    if (!seen_a) return err_set(err, "%s: post_processor.single: no Sequence A", name);
    return true;
}

// ---------------------------------------------------------------------------------------------
// added tokens

int32_t tok_added_index(const Tokenizer *t, const char *s, size_t len) {
    return tok_strmap_get(&t->added_map, t->added_keys, s, len);
}

int32_t tokenizer_add_token(Tokenizer *t, const char *content, size_t len, TokAddedFlags f, int64_t expect_id,
                            LpoiErr *err) {
    int32_t id = tok_add_token(t, content, len, f, expect_id, err);
    if (id >= 0) tok_rebuild_match_index(t);
    return id;
}

int32_t tok_add_token(Tokenizer *t, const char *content, size_t len, TokAddedFlags f, int64_t expect_id,
                      LpoiErr *err) {
    char b1[96];
    if (len == 0) return err_set(err, "empty content"), -1;
    if (len > TOK_MAX_PIECE) return err_set(err, "content of %zu bytes, over the limit", len), -1;
    if (!utf8_valid(content, len)) return err_set(err, "content is not valid UTF-8"), -1;
    if (bad_byte_shape(content, len))
        return err_set(err, "%s: byte tokens must be <0xHH> with two hex digits", q(b1, content, len)), -1;
    if (tok_added_index(t, content, len) >= 0)
        return err_set(err, "%s is already an added token", q(b1, content, len)), -1;
    // AddedVocabulary::add_tokens: the model's id if the content is in the vocab, else one past
    // the largest added id (or the model vocab size when that is larger).
    int32_t id = tok_vocab_get(t, content, len);
    if (id < 0) {
        int64_t max = t->max_added_id;
        int64_t vs = (int64_t)t->model_vocab_count;
        int64_t nid = max < 0 ? vs : (max >= vs || vs == 0) ? max + 1 : vs;
        if (nid >= TOK_MAX_IDS) return err_set(err, "id %lld is over the limit", (long long)nid), -1;
        id = (int32_t)nid;
        if ((size_t)id < t->n_ids && t->tokens[id].s)
            return err_set(err, "%s would get id %d, which %s already has", q(b1, content, len), id,
                           "a model.vocab piece"), -1;
    }
    if (expect_id >= 0 && expect_id != id)
        return err_set(err, "%s has id %lld, but tokenizers gives it id %d (the model's id, else the next free "
                       "one in file order); refusing to renumber", q(b1, content, len), (long long)expect_id, id), -1;
    TokAdded a = {.id = id, .single_word = f.single_word, .lstrip = f.lstrip, .rstrip = f.rstrip,
                  .normalized = f.normalized, .special = f.special};
    a.content = tok_pool_dup(&t->pool, content, len);
    a.len = (uint32_t)len;
    a.pattern = a.content;
    a.pattern_len = a.len;
    if (f.normalized && t->n_norm) {
        size_t pl;
        char *pat = tok_normalize_string(t, content, len, &pl);
        if (!pat || pl == 0 || pl > TOK_MAX_PIECE) {
            free(pat);
            return err_set(err, "%s: normalizes to an unusable pattern", q(b1, content, len)), -1;
        }
        a.pattern = tok_pool_dup(&t->pool, pat, pl);
        a.pattern_len = (uint32_t)pl;
        free(pat);
    }
    ensure_ids(t, (size_t)id + 1);
    t->tokens[id] = (TokPiece){a.pattern, a.pattern_len};   // HF decodes the normalized form
    t->id_flags[id] |= TOK_ID_ADDED | (f.special ? TOK_ID_SPECIAL : 0);
    if (t->n_added == t->cap_added) {
        t->cap_added = t->cap_added ? 2 * t->cap_added : 16;
        t->added = realloc_check(t->added, t->cap_added * sizeof *t->added);
        t->added_keys = realloc_check(t->added_keys, t->cap_added * sizeof *t->added_keys);
    }
    t->added_keys[t->n_added] = (TokPiece){a.content, a.len};
    t->added[t->n_added] = a;
    tok_strmap_put(&t->added_map, t->added_keys, (int32_t)t->n_added);
    t->n_added++;
    if (id > t->max_added_id) t->max_added_id = id;
    return id;
}

bool tok_get_added_flags(const JsonValue *o, TokAddedFlags *f, const char *path, const char *name, LpoiErr *err) {
    // AddedToken's serde defaults: normalized true, the rest false
    return tok_get_opt_bool(o, "special", false, &f->special, path, name, err) &&
           tok_get_opt_bool(o, "normalized", true, &f->normalized, path, name, err) &&
           tok_get_opt_bool(o, "single_word", false, &f->single_word, path, name, err) &&
           tok_get_opt_bool(o, "lstrip", false, &f->lstrip, path, name, err) &&
           tok_get_opt_bool(o, "rstrip", false, &f->rstrip, path, name, err);
}

static bool load_added_tokens(Tokenizer *t, const JsonValue *list, LpoiErr *err) {
    const char *name = t->name;
    if (!list || list->type == JSON_NULL) return true;
    if (list->type != JSON_ARRAY) return err_set(err, "%s: added_tokens: expected an array", name);
    if (list->count > TOK_MAX_IDS) return err_set(err, "%s: added_tokens: too many", name);
    for (size_t i = 0; i < list->count; i++) {
        const JsonValue *o = list->items[i], *content;
        char path[64];
        snprintf(path, sizeof path, "added_tokens[%zu]", i);
        if (o->type != JSON_OBJECT) return err_set(err, "%s: %s: expected an object", name, path);
        TokAddedFlags f;
        uint64_t id;
        if (!tok_get_opt_str(o, "content", &content, path, name, err)) return false;
        if (!content) return err_set(err, "%s: %s.content: missing", name, path);
        if (!json_as_u64(json_get(o, "id"), &id) || id >= TOK_MAX_IDS)
            return err_set(err, "%s: %s.id: expected an integer in [0, %u)", name, path, TOK_MAX_IDS);
        if (!tok_get_added_flags(o, &f, path, name, err)) return false;
        if (tok_add_token(t, content->str, content->len, f, (int64_t)id, err) < 0)
            return err_prefix(err, "%s: %s", name, path);
    }
    tok_rebuild_match_index(t);
    return true;
}

// ---------------------------------------------------------------------------------------------
// entry points

static Tokenizer *tokenizer_new(const char *name) {
    Tokenizer *t = calloc_check(1, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->unk_id = t->bos_id = t->eos_id = t->pad_id = -1;
    t->max_added_id = -1;
    t->max_word = TOK_MAX_WORD;
    for (int i = 0; i < 256; i++) t->byte_id[i] = -1;
    for (int i = 0; i < 128; i++) t->ascii_id[i] = -1;
    tok_rebuild_match_index(t);
    return t;
}

void tokenizer_free(Tokenizer *t) {
    if (!t) return;
    tok_pool_free(&t->pool);
    free(t->pieces);
    free(t->tokens);
    free(t->id_flags);
    tok_strmap_free(&t->vocab);
    tok_mergemap_free(&t->merges);
    free(t->added);
    free(t->added_keys);
    tok_strmap_free(&t->added_map);
    free(t->match_order[0]);
    free(t->match_order[1]);
    free(t);
}

static bool check_null(const JsonValue *root, const char *key, const char *name, LpoiErr *err) {
    const JsonValue *v = json_get(root, key);
    if (v && v->type != JSON_NULL) return err_set(err, "%s: %s: not supported (must be null)", name, key);
    return true;
}

Tokenizer *tokenizer_load_json(const char *text, size_t len, const char *name, LpoiErr *err) {
    JsonDoc *doc = json_parse(text, len, err);
    if (!doc) { err_prefix(err, "%s", name); return NULL; }
    const JsonValue *root = json_root(doc);
    Tokenizer *t = tokenizer_new(name);
    bool ok = root->type == JSON_OBJECT ? true : err_set(err, "%s: expected a JSON object", name);
    ok = ok && check_null(root, "truncation", name, err) && check_null(root, "padding", name, err);
    ok = ok && load_model(t, json_get(root, "model"), err);
    ok = ok && load_normalizer(t, json_get(root, "normalizer"), "normalizer", 0, err);
    ok = ok && load_pre_tokenizer(t, json_get(root, "pre_tokenizer"), "pre_tokenizer", err);
    ok = ok && load_decoder(t, json_get(root, "decoder"), "decoder", 0, err);
    ok = ok && load_added_tokens(t, json_get(root, "added_tokens"), err);   // needs the normalizer
    ok = ok && load_post_processor(t, json_get(root, "post_processor"), err);
    json_free(doc);
    if (!ok) { tokenizer_free(t); return NULL; }
    return t;
}

Tokenizer *tokenizer_load(const char *path, LpoiErr *err) {
    size_t size;
    char *text = file_read_all(path, TOK_MAX_FILE, &size, err);
    if (!text) return NULL;
    Tokenizer *t = tokenizer_load_json(text, size, path, err);
    free(text);
    return t;
}
