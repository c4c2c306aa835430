// json_config.c — json_load_file and JsonCfg, the typed "key, else default" reader every config
// reader uses (config.json of each model, adapter_config.json, `lpoi train --config`).
#include "json.h"
#include "file.h"   // file_read_all
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

JsonDoc *json_load_file(const char *path, size_t max_bytes, LpoiErr *err) {
    size_t size;
    char *text = file_read_all(path, max_bytes, &size, err);
    if (!text) return NULL;
    LpoiErr e = {{0}};
    JsonDoc *doc = json_parse(text, size, &e);
    free(text);
    if (!doc) err_set(err, "%s: %s", path, e.msg);
    return doc;
}

bool json_cfg_open(JsonCfg *c, const JsonValue *obj, const char *what, LpoiErr *err) {
    *c = (JsonCfg){obj, what, err, true};
    if (!obj || obj->type != JSON_OBJECT) return json_cfg_fail(c, "expected a JSON object");
    return true;
}

bool json_cfg_fail(JsonCfg *c, const char *fmt, ...) {
    if (!c->ok) return false;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_set(c->err, "%s: %s", c->what, msg);
    c->ok = false;
    return false;
}

// The value of key, or NULL when absent, null, or the reader has already failed.
static const JsonValue *value(const JsonCfg *c, const char *key) {
    const JsonValue *v = c->ok ? json_get(c->obj, key) : NULL;
    return v && v->type != JSON_NULL ? v : NULL;
}

bool json_cfg_has(const JsonCfg *c, const char *key) {
    const JsonValue *v = json_get(c->obj, key);
    return v && v->type != JSON_NULL;
}

bool json_cfg_need(JsonCfg *c, const char *key) {
    return !c->ok ? false : json_cfg_has(c, key) || json_cfg_fail(c, "\"%s\" is missing", key);
}

int64_t json_cfg_int(JsonCfg *c, const char *key, int64_t def, int64_t lo, int64_t hi) {
    const JsonValue *v = value(c, key);
    if (!v) return def;
    int64_t x;
    if (!json_as_i64(v, &x)) return json_cfg_fail(c, "\"%s\" must be an integer", key), def;
    if (x < lo || x > hi)
        return json_cfg_fail(c, "\"%s\" must be an integer in [%lld, %lld] (got %lld)", key, (long long)lo, (long long)hi,
                             (long long)x), def;
    return x;
}

double json_cfg_num(JsonCfg *c, const char *key, double def) {
    const JsonValue *v = value(c, key);
    if (!v) return def;
    if (v->type != JSON_NUMBER || !isfinite(v->number)) return json_cfg_fail(c, "\"%s\" must be a finite number", key), def;
    return v->number;
}

bool json_cfg_bool(JsonCfg *c, const char *key, bool def) {
    const JsonValue *v = value(c, key);
    if (!v) return def;
    if (v->type != JSON_BOOL) return json_cfg_fail(c, "\"%s\" must be true or false", key), def;
    return v->boolean;
}

const char *json_cfg_str(JsonCfg *c, const char *key, const char *def) {
    const JsonValue *v = value(c, key);
    if (!v) return def;
    if (v->type != JSON_STRING) return json_cfg_fail(c, "\"%s\" must be a string", key), def;
    return v->str;
}

int json_cfg_enum(JsonCfg *c, const char *key, int def, const char *const *names, int n) {
    const char *s = json_cfg_str(c, key, NULL);
    if (!s) return def;
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        if (!strcmp(s, names[i])) return i;
        size_t k = strlen(list);
        snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", names[i]);
    }
    return json_cfg_fail(c, "%s \"%s\" is not supported (%s)", key, s, list), def;
}

void json_cfg_refuse_true(JsonCfg *c, const char *key, const char *why) {
    if (json_cfg_bool(c, key, false)) json_cfg_fail(c, "\"%s\": true is not supported (%s)", key, why);
}
