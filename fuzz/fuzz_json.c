// fuzz_json.c — libFuzzer target for the strict JSON parser.
// Beyond "no crash": every decoded string is valid UTF-8, escaping it and parsing the result gives
// the same bytes back, every object key is found by json_get (keys are unique), and the exact
// integer readers agree with each other. Build and run: see fuzz/README.md.
#include "base/json.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s\n", #c); abort(); } } while (0)

static void check_string(const char *s, size_t len) {
    FUZZ_ASSERT(utf8_valid(s, len) && s[len] == '\0');
    size_t need = json_escape(NULL, 0, s, len);
    char *lit = malloc(need + 1);
    FUZZ_ASSERT(lit && json_escape(lit, need + 1, s, len) == need);
    LpoiErr err = {{0}};
    JsonDoc *d = json_parse(lit, need, &err);
    FUZZ_ASSERT(d && json_root(d)->type == JSON_STRING && json_root(d)->len == len &&
                memcmp(json_root(d)->str, s, len) == 0);
    json_free(d);
    free(lit);
    char q[64];
    json_quote_short(q, sizeof q, s, len);
    FUZZ_ASSERT(strlen(q) < sizeof q && strchr(q, '\n') == NULL);
}

static void walk(const JsonValue *v, int depth) {
    FUZZ_ASSERT(depth <= 130);
    switch (v->type) {
    case JSON_STRING: check_string(v->str, v->len); break;
    case JSON_NUMBER: {
        uint64_t u;
        int64_t i;
        bool is_u = json_as_u64(v, &u), is_i = json_as_i64(v, &i);
        if (is_u && is_i) FUZZ_ASSERT((uint64_t)i == u);
        if (is_i && i >= 0 && v->str[0] != '-') FUZZ_ASSERT(is_u);
        if (is_u && u < (1ull << 53)) FUZZ_ASSERT(v->number == (double)u);
        break;
    }
    case JSON_ARRAY:
    case JSON_OBJECT:
        for (size_t k = 0; k < v->count; k++) {
            if (v->type == JSON_OBJECT) {
                check_string(v->keys[k], v->key_lens[k]);
                if (strlen(v->keys[k]) == v->key_lens[k]) FUZZ_ASSERT(json_get(v, v->keys[k]) == v->items[k]);
            } else {
                FUZZ_ASSERT(json_at(v, k) == v->items[k]);
            }
            walk(v->items[k], depth + 1);
        }
        break;
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    LpoiErr err = {{0}};
    JsonDoc *d = json_parse((const char *)data, size, &err);
    if (!d) {
        FUZZ_ASSERT(strncmp(err.msg, "offset ", 7) == 0 && strchr(err.msg, '\n') == NULL);
        return 0;
    }
    walk(json_root(d), 0);
    json_free(d);
    return 0;
}
