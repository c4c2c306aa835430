// record_fields.c — image and text fields in the LPOI, mDPO, LLaVA and TRL layouts (record_fields.h).
#include "lpoi/record_fields.h"
#include "base/check.h"
#include "base/strbuf.h"
#include <stdlib.h>
#include <string.h>

static bool plain_string(const JsonValue *v, const char *key, bool allow_empty, char **out, LpoiErr *err) {
    if (strlen(v->str) != v->len) return err_set(err, "%s: contains a NUL character", key);
    if (!allow_empty && v->len == 0) return err_set(err, "%s: is empty", key);
    *out = strdup(v->str);
    if (!*out) LPOI_DIE("out of memory");
    return true;
}

bool record_image(const JsonValue *obj, const char *name, char **path, const char **field, LpoiErr *err) {
    static const char *const KEYS[] = {"img_path", "image", "images"};
    const JsonValue *v = NULL;
    for (int k = 0; k < 3 && !v; k++)
        if ((v = json_get(obj, KEYS[k]))) *field = KEYS[k];
    if (!v) return err_set(err, "%s: missing (give the image as \"img_path\", \"image\" or \"images\": [path])", name);
    if (!strcmp(*field, "images")) {
        if (v->type != JSON_ARRAY) return err_set(err, "images: must be a list holding one image path");
        if (v->count != 1) return err_set(err, "images: holds %zu images; lpoi takes one image per record", v->count);
        v = v->items[0];
        if (v->type == JSON_OBJECT) {
            const JsonValue *p = json_get(v, "path");
            if (!p || p->type != JSON_STRING)
                return err_set(err, "images[0]: an object needs a \"path\" string (embedded image bytes are not read)");
            v = p;
        }
        if (v->type != JSON_STRING) return err_set(err, "images[0]: must be a path string or {\"path\": ...}");
    }
    if (v->type != JSON_STRING) return err_set(err, "%s: must be a string", *field);
    if (strlen(v->str) != v->len) return err_set(err, "%s: contains a NUL character", *field);
    if (v->len == 0) return err_set(err, "%s: empty", *field);
    *path = strdup(v->str);
    if (!*path) LPOI_DIE("out of memory");
    return true;
}

// The text parts of one message's content, joined, into b; image parts counted.
static bool content_text(const JsonValue *content, const char *key, StrBuf *b, int *images, LpoiErr *err) {
    if (content->type == JSON_STRING) {
        if (strlen(content->str) != content->len) return err_set(err, "%s: contains a NUL character", key);
        strbuf_put(b, content->str, content->len);
        return true;
    }
    if (content->type != JSON_ARRAY) return err_set(err, "%s: content must be a string or a list of parts", key);
    for (size_t i = 0; i < content->count; i++) {
        const JsonValue *part = content->items[i];
        const char *type = part->type == JSON_OBJECT ? json_get_str(part, "type") : NULL;
        if (!type) return err_set(err, "%s: content[%zu]: must be an object with a \"type\"", key, i);
        if (!strcmp(type, "image")) { (*images)++; continue; }
        const JsonValue *t = json_get(part, "text");
        if (strcmp(type, "text") || !t || t->type != JSON_STRING)
            return err_set(err, "%s: content[%zu]: type \"%s\" (only {\"type\": \"text\", \"text\": ...} and "
                           "{\"type\": \"image\"} parts)", key, i, type);
        if (strlen(t->str) != t->len) return err_set(err, "%s: contains a NUL character", key);
        strbuf_put(b, t->str, t->len);
    }
    return true;
}

bool record_text(const JsonValue *obj, const char *key, const char *role, bool allow_empty, char **text,
                 int *n_image_parts, LpoiErr *err) {
    int images = 0;
    if (n_image_parts) *n_image_parts = 0;
    const JsonValue *v = json_get(obj, key);
    if (!v) return err_set(err, "%s: missing", key);
    if (v->type == JSON_STRING) return plain_string(v, key, allow_empty, text, err);
    if (v->type != JSON_ARRAY)
        return err_set(err, "%s: must be a string or a list of chat messages [{\"role\": \"%s\", \"content\": ...}]", key, role);
    const JsonValue *msg = NULL;
    for (size_t i = 0; i < v->count; i++) {
        const JsonValue *m = v->items[i];
        const char *r = m->type == JSON_OBJECT ? json_get_str(m, "role") : NULL;
        if (!r) return err_set(err, "%s[%zu]: a chat message needs a \"role\" string", key, i);
        if (strcmp(r, role) != 0)
            return err_set(err, "%s[%zu]: role \"%s\": lpoi takes one \"%s\" message here (the llava-1.5 template has "
                           "no system or multi-turn form)", key, i, r, role);
        if (msg) return err_set(err, "%s: %zu messages; lpoi takes one \"%s\" message", key, v->count, role);
        msg = m;
    }
    if (!msg) return err_set(err, "%s: an empty message list", key);
    const JsonValue *content = json_get(msg, "content");
    if (!content) return err_set(err, "%s[0]: content: missing", key);
    StrBuf b = {0};
    strbuf_put(&b, "", 0);
    if (!content_text(content, key, &b, &images, err)) { free(b.s); return false; }
    if (!allow_empty && b.len == 0) { free(b.s); return err_set(err, "%s: is empty", key); }
    *text = b.s;
    if (n_image_parts) *n_image_parts = images;
    return true;
}
