// json.h — a strict JSON (RFC 8259) parser into a read-only tree, for safetensors headers,
// config.json, tokenizer.json and JSONL records. No third-party code.
// Strict: valid UTF-8 only, no trailing commas, no comments, nesting depth limited, duplicate
// object keys rejected (the safetensors reference silently keeps the last one; we refuse).
// Numbers keep their source text so that integers can be read exactly (u64/i64) and
// fractional/negative values can be told apart from counts.
// All nodes and strings live in one JsonDoc; json_free releases everything.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "error.h"

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } JsonType;

typedef struct JsonValue JsonValue;
struct JsonValue {
    JsonType type;
    bool boolean;
    // JSON_STRING: decoded UTF-8 (NUL-terminated; may contain embedded NULs from \u0000, see len).
    // JSON_NUMBER: the number's source text (NUL-terminated).
    char *str;
    size_t len;
    double number;          // JSON_NUMBER: value as double
    // JSON_ARRAY / JSON_OBJECT: children in source order; keys[i] names items[i] for objects.
    JsonValue **items;
    char **keys;
    size_t *key_lens;
    size_t count;
    size_t offset;          // byte offset of the value in the source (for error messages)
};

typedef struct JsonDoc JsonDoc;   // owns the tree

// Parses [text, text+len). On error returns NULL and sets err to "offset N: reason".
JsonDoc   *json_parse(const char *text, size_t len, LpoiErr *err);
JsonValue *json_root(JsonDoc *doc);
void       json_free(JsonDoc *doc);

// Lookups (NULL / false when absent or of another type).
JsonValue  *json_get(const JsonValue *obj, const char *key);          // object member
JsonValue  *json_at(const JsonValue *arr, size_t i);                  // array element
const char *json_get_str(const JsonValue *obj, const char *key);      // string member or NULL
// Exact integer readers: false if not a JSON number that is an integer in range
// (no fraction, no exponent making it fractional, no sign for u64).
bool json_as_u64(const JsonValue *v, uint64_t *out);
bool json_as_i64(const JsonValue *v, int64_t *out);
bool json_get_i64(const JsonValue *obj, const char *key, int64_t *out);
bool json_get_f64(const JsonValue *obj, const char *key, double *out);
bool json_get_bool(const JsonValue *obj, const char *key, bool *out);

// Writes s as a JSON string literal (with quotes) into buf; returns the length it needs
// (like snprintf), so the writer can size buffers.
size_t json_escape(char *buf, size_t cap, const char *s, size_t len);

// Quotes s for an error message: JSON-escaped (so the message stays one line), cut at a
// character boundary with "..." when it does not fit in cap bytes. Returns buf.
const char *json_quote_short(char *buf, size_t cap, const char *s, size_t len);

// ---- files and typed config readers (json_config.c) ----
// Reads and parses a whole file of at most max_bytes; errors are "<path>: offset N: reason".
JsonDoc *json_load_file(const char *path, size_t max_bytes, LpoiErr *err);

// A typed reader over one config object: "key, else default D", with range checks. The first
// problem sets err to "<what>: \"key\" must be ..." (what = the file, or "file: text_config") and
// turns ok off; later reads then return their defaults, so a parser reads every field and checks
// ok once. Absent keys and JSON null take the default (transformers' convention).
typedef struct {
    const JsonValue *obj;    // a JSON object (json_cfg_open checks)
    const char *what;        // names the file (and the sub-object) in errors
    LpoiErr *err;
    bool ok;
} JsonCfg;

// false (and ok off) with "<what>: expected a JSON object" when obj is none.
bool json_cfg_open(JsonCfg *c, const JsonValue *obj, const char *what, LpoiErr *err);
bool json_cfg_fail(JsonCfg *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool json_cfg_has(const JsonCfg *c, const char *key);                 // present and not null
bool json_cfg_need(JsonCfg *c, const char *key);                      // has, else "\"key\" is missing"
int64_t json_cfg_int(JsonCfg *c, const char *key, int64_t def, int64_t lo, int64_t hi);
double json_cfg_num(JsonCfg *c, const char *key, double def);         // finite
bool json_cfg_bool(JsonCfg *c, const char *key, bool def);
const char *json_cfg_str(JsonCfg *c, const char *key, const char *def);
// The index of the string value in names[n] (def when absent); other strings fail, listing names.
int json_cfg_enum(JsonCfg *c, const char *key, int def, const char *const *names, int n);
// Refuses true ("\"key\": true is not supported (why)").
void json_cfg_refuse_true(JsonCfg *c, const char *key, const char *why);

// Checks that [s, s+len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool utf8_valid(const char *s, size_t len);
// Offset of the first byte that is not part of a valid UTF-8 sequence (len if all valid).
size_t utf8_first_invalid(const char *s, size_t len);
