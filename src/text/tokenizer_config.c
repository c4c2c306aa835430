// tokenizer_config.c — what transformers takes from tokenizer_config.json on top of tokenizer.json
// (added_tokens_decoder, special token names, add_bos_token / add_eos_token → the post-processor
// template, as LlamaTokenizerFast.update_post_processor builds it), and tokenizer_load_dir.
#include "text/tokenizer_internal.h"
#include "base/check.h"
#include "base/json.h"
#include "base/file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *q(char buf[96], const char *s, size_t len) { return json_quote_short(buf, 96, s, len); }

bool tokenizer_set_template(Tokenizer *t, int32_t bos_id, int32_t eos_id, LpoiErr *err) {
    int32_t ids[2] = {bos_id, eos_id};
    for (int k = 0; k < 2; k++)
        if (ids[k] >= 0 && ((size_t)ids[k] >= t->n_ids || !t->tokens[ids[k]].s))
            return err_set(err, "%s: template: %d is not the id of a token", t->name, ids[k]);
    t->n_prefix = t->n_suffix = 0;
    if (bos_id >= 0) t->tpl_prefix[t->n_prefix++] = bos_id;
    if (eos_id >= 0) t->tpl_suffix[t->n_suffix++] = eos_id;
    return true;
}

// tokenizer_config.json token names: "..." or {"content": "...", ...} or null.
static bool config_token(const Tokenizer *t, const JsonValue *root, const char *key, int32_t *out, const char *name,
                         LpoiErr *err) {
    const JsonValue *v = json_get(root, key);
    char b1[96];
    if (!v || v->type == JSON_NULL) return true;
    if (v->type == JSON_OBJECT) v = json_get(v, "content");
    if (!v || v->type != JSON_STRING) return err_set(err, "%s: %s: expected a string or {\"content\": ...}", name, key);
    int32_t id = tokenizer_token_to_id(t, v->str, v->len);
    if (id < 0) return err_set(err, "%s: %s: %s is not a token of this tokenizer", name, key, q(b1, v->str, v->len));
    *out = id;
    return true;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

bool tokenizer_apply_config(Tokenizer *t, const char *path, LpoiErr *err) {
    size_t size;
    char *text = file_read_all(path, TOK_MAX_FILE, &size, err);
    if (!text) return false;
    JsonDoc *doc = json_parse(text, size, err);
    free(text);
    if (!doc) return err_prefix(err, "%s", path);
    const JsonValue *root = json_root(doc);
    bool ok = root->type == JSON_OBJECT ? true : err_set(err, "%s: expected a JSON object", path);
    const JsonValue *dec = ok ? json_get(root, "added_tokens_decoder") : NULL;
    if (ok && dec && dec->type != JSON_NULL) {
        if (dec->type != JSON_OBJECT || dec->count > TOK_MAX_IDS) {
            ok = err_set(err, "%s: added_tokens_decoder: expected an object", path);
        } else {   // transformers adds them sorted by id; key (id << 24 | index) sorts that way
            uint64_t *order = malloc_check((dec->count + 1) * sizeof *order);
            for (size_t i = 0; ok && i < dec->count; i++) {
                char *end;
                unsigned long long id = strtoull(dec->keys[i], &end, 10);
                if (dec->key_lens[i] == 0 || dec->key_lens[i] > 8 || *end || dec->keys[i][0] < '0' ||
                    dec->keys[i][0] > '9' || id >= TOK_MAX_IDS)
                    ok = err_set(err, "%s: added_tokens_decoder: key %s is not an id", path,
                                 q((char[96]){0}, dec->keys[i], dec->key_lens[i]));
                order[i] = ((uint64_t)id << 24) | i;
            }
            if (ok && dec->count > 1) qsort(order, dec->count, sizeof *order, cmp_u64);
            for (size_t k = 0; ok && k < dec->count; k++) {
                size_t i = (size_t)(order[k] & 0xFFFFFF);
                int64_t id = (int64_t)(order[k] >> 24);
                const JsonValue *o = dec->items[i], *content;
                char p[64];
                snprintf(p, sizeof p, "added_tokens_decoder.%lld", (long long)id);
                TokAddedFlags f;
                ok = o->type == JSON_OBJECT ? true : err_set(err, "%s: %s: expected an object", path, p);
                ok = ok && tok_get_opt_str(o, "content", &content, p, path, err);
                if (ok && !content) ok = err_set(err, "%s: %s.content: missing", path, p);
                ok = ok && tok_get_added_flags(o, &f, p, path, err);
                if (!ok) break;
                int32_t ai = tok_added_index(t, content->str, content->len);
                int32_t have = ai >= 0 ? t->added[ai].id : -1;
                if (have >= 0 && have != id)
                    ok = err_set(err, "%s: %s: the tokenizer already has this token with id %d", path, p, have);
                else if (have < 0 && tok_add_token(t, content->str, content->len, f, id, err) < 0)
                    ok = err_prefix(err, "%s: %s", path, p);
            }
            tok_rebuild_match_index(t);
            free(order);
        }
    }
    ok = ok && config_token(t, root, "bos_token", &t->bos_id, path, err);
    ok = ok && config_token(t, root, "eos_token", &t->eos_id, path, err);
    ok = ok && config_token(t, root, "pad_token", &t->pad_id, path, err);
    int32_t unk = -1;
    ok = ok && config_token(t, root, "unk_token", &unk, path, err);
    // LlamaTokenizerFast.update_post_processor: "[bos] $A [eos]" from add_bos_token / add_eos_token
    if (ok && (json_get(root, "add_bos_token") || json_get(root, "add_eos_token"))) {
        bool add_bos = true, add_eos = false;
        ok = tok_get_opt_bool(root, "add_bos_token", true, &add_bos, "tokenizer_config", path, err) &&
             tok_get_opt_bool(root, "add_eos_token", false, &add_eos, "tokenizer_config", path, err);
        if (ok && add_bos && t->bos_id < 0) ok = err_set(err, "%s: add_bos_token is true but bos_token is not set", path);
        if (ok && add_eos && t->eos_id < 0) ok = err_set(err, "%s: add_eos_token is true but eos_token is not set", path);
        ok = ok && tokenizer_set_template(t, add_bos ? t->bos_id : -1, add_eos ? t->eos_id : -1, err);
    }
    json_free(doc);
    return ok;
}

Tokenizer *tokenizer_load_dir(const char *dir, LpoiErr *err) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/tokenizer.json", dir) >= sizeof path) {
        err_set(err, "%s: path too long", dir);
        return NULL;
    }
    Tokenizer *t = tokenizer_load(path, err);
    if (!t) return NULL;
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (access(path, F_OK) == 0 && !tokenizer_apply_config(t, path, err)) {
        tokenizer_free(t);
        return NULL;
    }
    return t;
}
