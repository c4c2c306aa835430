// json.c — strict RFC 8259 parser into a read-only tree (see json.h for the contract).
// Memory: every node, string and child array lives in a block arena owned by the JsonDoc, so a
// 10 MB tokenizer.json costs a few dozen mallocs, not a million. Children of an open container
// wait on one shared scratch stack and are copied into the arena when the container closes.
// Limits: nesting depth JSON_MAX_DEPTH; memory is O(input size). Every error is
// "offset N: reason" with N the byte offset in the input, never an abort.
#include "json.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 128

// ---------------------------------------------------------------------------------------------
// block arena

typedef struct Block { struct Block *next; size_t cap, used; } Block;   // payload follows

struct JsonDoc {
    Block *blocks;          // newest first; the head is the one being filled
    size_t next_block_size; // grows x2 up to 4 MB so small documents stay small
    JsonValue *root;
};

static void *doc_alloc(JsonDoc *d, size_t n) {
    n = (n + 15) & ~(size_t)15;   // keeps every node and pointer array aligned
    Block *b = d->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = d->next_block_size;
        if (n > cap / 2) cap = n;                       // big request: its own block
        else if (d->next_block_size < (4u << 20)) d->next_block_size *= 2;
        b = malloc_check(sizeof(Block) + 15 + cap);
        b->cap = cap;
        b->used = 0;
        if (n == cap && d->blocks) { b->next = d->blocks->next; d->blocks->next = b; }  // keep filling the head
        else { b->next = d->blocks; d->blocks = b; }
    }
    char *base = (char *)(((uintptr_t)(b + 1) + 15) & ~(uintptr_t)15);
    void *p = base + b->used;
    b->used += n;
    return p;
}

// ---------------------------------------------------------------------------------------------
// UTF-8

// Length of the valid UTF-8 sequence at s (avail bytes left), or 0 if it is invalid:
// overlong forms, surrogates (U+D800..DFFF) and code points above U+10FFFF are all invalid.
static size_t utf8_seq_len(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;   // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c == 0xED) { n = 3; hi = 0x9F; }       // excludes surrogates
    else if (c >= 0xE1 && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) { n = 4; hi = 0x8F; }       // <= U+10FFFF
    else return 0;                                   // 0x80..0xC1 and 0xF5..0xFF never start one
    if (avail < n || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return n;
}

size_t utf8_first_invalid(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (u[i] < 0x80) { i++; continue; }
        size_t n = utf8_seq_len(u + i, len - i);
        if (!n) return i;
        i += n;
    }
    return len;
}

bool utf8_valid(const char *s, size_t len) { return utf8_first_invalid(s, len) == len; }

static size_t utf8_encode(char *out, uint32_t cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | cp >> 6); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

// ---------------------------------------------------------------------------------------------
// parser

typedef struct {            // a child waiting for its container to close
    JsonValue *value;
    const char *key;        // objects only
    size_t key_len, key_offset;
} Pending;

typedef struct {
    const unsigned char *s;
    size_t len, pos;
    JsonDoc *doc;
    Pending *stack;
    size_t stack_len, stack_cap;
    size_t *slots, slots_cap;   // hash set scratch for duplicate-key checks of large objects
    int depth;
    LpoiErr *err;
} Parser;

static bool fail(Parser *p, size_t offset, const char *reason) {
    return err_set(p->err, "offset %zu: %s", offset, reason);
}

static bool fail_char(Parser *p, const char *expected) {
    if (p->pos >= p->len) return err_set(p->err, "offset %zu: unexpected end of input, expected %s", p->pos, expected);
    unsigned c = p->s[p->pos];
    if (c >= 0x21 && c < 0x7F)
        return err_set(p->err, "offset %zu: unexpected character '%c', expected %s", p->pos, (char)c, expected);
    return err_set(p->err, "offset %zu: unexpected byte 0x%02X, expected %s", p->pos, c, expected);
}

static void skip_ws(Parser *p) {
    while (p->pos < p->len) {
        unsigned c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static JsonValue *new_value(Parser *p, JsonType type, size_t offset) {
    JsonValue *v = doc_alloc(p->doc, sizeof *v);
    memset(v, 0, sizeof *v);
    v->type = type;
    v->offset = offset;
    return v;
}

static int hex_digit(unsigned c) {
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

// Reads the 4 hex digits of a \u escape at s[at..at+3].
static bool read_hex4(Parser *p, size_t at, uint32_t *out) {
    if (p->len - at < 4) return fail(p, at, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_digit(p->s[at + i]);
        if (h < 0) return fail(p, at + i, "invalid hex digit in \\u escape");
        v = v << 4 | (uint32_t)h;
    }
    *out = v;
    return true;
}

// Parses the string starting at the opening quote (p->pos); decoded bytes go into the arena.
static bool parse_string(Parser *p, char **out, size_t *out_len) {
    size_t start = ++p->pos, i = start;
    // Pass 1: find the closing quote (escapes only shrink, so its span bounds the decoded size).
    for (;;) {
        if (i >= p->len) return fail(p, start - 1, "unterminated string");
        unsigned c = p->s[i];
        if (c == '"') break;
        if (c == '\\') { i += 2; continue; }
        i++;
    }
    size_t end = i;
    char *dst = doc_alloc(p->doc, end - start + 1), *o = dst;
    // Pass 2: validate and decode.
    for (i = start; i < end;) {
        unsigned c = p->s[i];
        if (c >= 0x20 && c < 0x80 && c != '\\') { *o++ = (char)c; i++; continue; }
        if (c < 0x20) return fail(p, i, "control character in string (must be escaped)");
        if (c >= 0x80) {
            size_t n = utf8_seq_len(p->s + i, end - i);
            if (!n) return fail(p, i, "invalid UTF-8 in string");
            memcpy(o, p->s + i, n);
            o += n;
            i += n;
            continue;
        }
        // backslash escape
        unsigned e = p->s[i + 1];
        switch (e) {
        case '"': *o++ = '"'; i += 2; continue;
        case '\\': *o++ = '\\'; i += 2; continue;
        case '/': *o++ = '/'; i += 2; continue;
        case 'b': *o++ = '\b'; i += 2; continue;
        case 'f': *o++ = '\f'; i += 2; continue;
        case 'n': *o++ = '\n'; i += 2; continue;
        case 'r': *o++ = '\r'; i += 2; continue;
        case 't': *o++ = '\t'; i += 2; continue;
        case 'u': break;
        default: return fail(p, i, "invalid escape in string");
        }
        uint32_t cp;
        if (!read_hex4(p, i + 2, &cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(p, i, "lone low surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {   // must be followed by \uDC00..\uDFFF
            uint32_t lo;
            if (end - i < 12 || p->s[i + 6] != '\\' || p->s[i + 7] != 'u')
                return fail(p, i, "lone high surrogate in \\u escape");
            if (!read_hex4(p, i + 8, &lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return fail(p, i, "high surrogate not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        o += utf8_encode(o, cp);
        i += 6;
    }
    *o = '\0';
    p->pos = end + 1;
    *out = dst;
    *out_len = (size_t)(o - dst);
    return true;
}

static bool is_digit(unsigned c) { return c >= '0' && c <= '9'; }

static JsonValue *parse_number(Parser *p) {
    size_t start = p->pos, i = start;
    const unsigned char *s = p->s;
    bool integral = true;
    if (i < p->len && s[i] == '-') i++;
    if (i >= p->len || !is_digit(s[i])) { fail(p, start, "invalid number"); return NULL; }
    if (s[i] == '0') {
        i++;
        if (i < p->len && is_digit(s[i])) { fail(p, start, "invalid number (leading zero)"); return NULL; }
    } else {
        while (i < p->len && is_digit(s[i])) i++;
    }
    if (i < p->len && s[i] == '.') {
        integral = false;
        i++;
        if (i >= p->len || !is_digit(s[i])) { fail(p, start, "invalid number (no digit after '.')"); return NULL; }
        while (i < p->len && is_digit(s[i])) i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        integral = false;
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= p->len || !is_digit(s[i])) { fail(p, start, "invalid number (no digit in exponent)"); return NULL; }
        while (i < p->len && is_digit(s[i])) i++;
    }
    size_t n = i - start;
    JsonValue *v = new_value(p, JSON_NUMBER, start);
    v->str = doc_alloc(p->doc, n + 1);
    memcpy(v->str, s + start, n);
    v->str[n] = '\0';
    v->len = n;
    bool neg = s[start] == '-';
    if (integral && n - neg <= 15) {   // exact and much faster than strtod for ids and sizes
        int64_t x = 0;
        for (size_t k = start + neg; k < i; k++) x = x * 10 + (s[k] - '0');
        v->number = (double)(neg ? -x : x);
    } else {
        v->number = strtod(v->str, NULL);
    }
    p->pos = i;
    return v;
}

static void push_pending(Parser *p, Pending item) {
    if (p->stack_len == p->stack_cap) {
        p->stack_cap = p->stack_cap ? 2 * p->stack_cap : 256;
        p->stack = realloc_check(p->stack, p->stack_cap * sizeof *p->stack);
    }
    p->stack[p->stack_len++] = item;
}

static bool report_duplicate(Parser *p, const char *key, size_t len, size_t offset) {
    char shown[128];
    return err_set(p->err, "offset %zu: duplicate key %s", offset, json_quote_short(shown, sizeof shown, key, len));
}

static uint64_t hash_bytes(const char *s, size_t n) {   // FNV-1a
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

// Rejects duplicate keys among the n pending members (reporting the later one): pairwise for
// small objects, an open-addressing hash set for large ones (a 30k-entry vocab stays O(n)).
static bool check_duplicates(Parser *p, const Pending *m, size_t n) {
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (m[i].key_len == m[j].key_len && memcmp(m[i].key, m[j].key, m[i].key_len) == 0)
                    return report_duplicate(p, m[i].key, m[i].key_len, m[i].key_offset);
        return true;
    }
    size_t cap = 64;
    while (cap < 2 * n) cap *= 2;   // load factor <= 1/2
    if (cap > p->slots_cap) {
        free(p->slots);
        p->slots = malloc_check(cap * sizeof *p->slots);
        p->slots_cap = cap;
    }
    size_t *slots = p->slots, empty = (size_t)-1;
    memset(slots, 0xff, cap * sizeof *slots);
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)hash_bytes(m[i].key, m[i].key_len) & (cap - 1);
        for (; slots[h] != empty; h = (h + 1) & (cap - 1)) {
            const Pending *o = &m[slots[h]];
            if (o->key_len == m[i].key_len && memcmp(o->key, m[i].key, m[i].key_len) == 0)
                return report_duplicate(p, m[i].key, m[i].key_len, m[i].key_offset);
        }
        slots[h] = i;
    }
    return true;
}

// Moves the children pushed since `base` from the scratch stack into v (in the arena).
static bool close_container(Parser *p, JsonValue *v, size_t base) {
    size_t n = p->stack_len - base;
    const Pending *m = p->stack + base;
    if (v->type == JSON_OBJECT && !check_duplicates(p, m, n)) return false;
    v->count = n;
    if (n) {
        v->items = doc_alloc(p->doc, n * sizeof *v->items);
        for (size_t i = 0; i < n; i++) v->items[i] = m[i].value;
        if (v->type == JSON_OBJECT) {
            v->keys = doc_alloc(p->doc, n * sizeof *v->keys);
            v->key_lens = doc_alloc(p->doc, n * sizeof *v->key_lens);
            for (size_t i = 0; i < n; i++) { v->keys[i] = (char *)m[i].key; v->key_lens[i] = m[i].key_len; }
        }
    }
    p->stack_len = base;
    return true;
}

static JsonValue *parse_value(Parser *p);

static JsonValue *parse_container(Parser *p, bool object) {
    size_t open_at = p->pos, base = p->stack_len;
    if (++p->depth > JSON_MAX_DEPTH) {
        err_set(p->err, "offset %zu: nesting deeper than %d levels", open_at, JSON_MAX_DEPTH);
        return NULL;
    }
    JsonValue *v = new_value(p, object ? JSON_OBJECT : JSON_ARRAY, open_at);
    char close = object ? '}' : ']';
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            Pending item = {0};
            if (object) {
                if (p->pos >= p->len || p->s[p->pos] != '"') { fail_char(p, "a string key"); return NULL; }
                item.key_offset = p->pos;
                char *key;
                if (!parse_string(p, &key, &item.key_len)) return NULL;
                item.key = key;
                skip_ws(p);
                if (p->pos >= p->len || p->s[p->pos] != ':') { fail_char(p, "':' after an object key"); return NULL; }
                p->pos++;
            }
            item.value = parse_value(p);
            if (!item.value) return NULL;
            push_pending(p, item);
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                skip_ws(p);
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == close) { p->pos++; break; }
            fail_char(p, object ? "',' or '}' in object" : "',' or ']' in array");
            return NULL;
        }
    }
    p->depth--;
    return close_container(p, v, base) ? v : NULL;
}

static bool match_literal(Parser *p, const char *lit) {
    size_t n = strlen(lit);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, lit, n) != 0) return false;
    p->pos += n;
    return true;
}

static JsonValue *parse_value(Parser *p) {
    skip_ws(p);
    if (p->pos >= p->len) { fail_char(p, "a value"); return NULL; }
    size_t at = p->pos;
    unsigned c = p->s[at];
    switch (c) {
    case '{': return parse_container(p, true);
    case '[': return parse_container(p, false);
    case '"': {
        JsonValue *v = new_value(p, JSON_STRING, at);
        return parse_string(p, &v->str, &v->len) ? v : NULL;
    }
    case 't': case 'f': case 'n': {
        JsonValue *v = NULL;
        if (match_literal(p, "true")) { v = new_value(p, JSON_BOOL, at); v->boolean = true; }
        else if (match_literal(p, "false")) v = new_value(p, JSON_BOOL, at);
        else if (match_literal(p, "null")) v = new_value(p, JSON_NULL, at);
        else fail(p, at, "invalid literal (expected true, false or null)");
        return v;
    }
    default:
        if (c == '-' || is_digit(c)) return parse_number(p);
        fail_char(p, "a value");
        return NULL;
    }
}

JsonDoc *json_parse(const char *text, size_t len, LpoiErr *err) {
    JsonDoc *doc = calloc_check(1, sizeof *doc);
    doc->next_block_size = 64u << 10;
    Parser p = {.s = (const unsigned char *)text, .len = len, .doc = doc, .err = err};
    if (!text) p.len = 0;
    // never NULL, so `stack + base` is defined even for a document that is just "[]" (UBSan)
    p.stack_cap = 64;
    p.stack = malloc_check(p.stack_cap * sizeof *p.stack);
    JsonValue *root = parse_value(&p);
    if (root) {
        skip_ws(&p);
        if (p.pos != p.len) { fail(&p, p.pos, "unexpected data after the JSON value"); root = NULL; }
    }
    free(p.stack);
    free(p.slots);
    if (!root) { json_free(doc); return NULL; }
    doc->root = root;
    return doc;
}

JsonValue *json_root(JsonDoc *doc) { return doc ? doc->root : NULL; }

void json_free(JsonDoc *doc) {
    if (!doc) return;
    for (Block *b = doc->blocks, *next; b; b = next) { next = b->next; free(b); }
    free(doc);
}

// ---------------------------------------------------------------------------------------------
// lookups

JsonValue *json_get(const JsonValue *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT || !key) return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->count; i++)
        if (obj->key_lens[i] == n && memcmp(obj->keys[i], key, n) == 0) return obj->items[i];
    return NULL;
}

JsonValue *json_at(const JsonValue *arr, size_t i) {
    if (!arr || arr->type != JSON_ARRAY || i >= arr->count) return NULL;
    return arr->items[i];
}

const char *json_get_str(const JsonValue *obj, const char *key) {
    JsonValue *v = json_get(obj, key);
    return v && v->type == JSON_STRING ? v->str : NULL;
}

// Exact magnitude of a number's text: value = digits(int part ++ frac part) * 10^(exp - frac_len).
// False if the value is not an integer or its magnitude exceeds UINT64_MAX. No floating point.
static bool number_to_u64_magnitude(const char *t, bool *neg, uint64_t *mag) {
    *neg = *t == '-';
    if (*neg) t++;
    const char *int_digits = t;
    while (is_digit((unsigned char)*t)) t++;
    size_t int_len = (size_t)(t - int_digits), frac_len = 0;
    const char *frac_digits = t;
    if (*t == '.') { frac_digits = ++t; while (is_digit((unsigned char)*t)) t++; frac_len = (size_t)(t - frac_digits); }
    int64_t exp10 = 0;
    if (*t == 'e' || *t == 'E') {
        t++;
        bool eneg = *t == '-';
        if (*t == '+' || *t == '-') t++;
        for (; is_digit((unsigned char)*t); t++)
            if (exp10 < 1000000) exp10 = exp10 * 10 + (*t - '0');   // saturate: the value is out of range anyway
        if (eneg) exp10 = -exp10;
    }
#define DIGIT(k) ((k) < int_len ? int_digits[k] : frac_digits[(k) - int_len])
    size_t total = int_len + frac_len, first = 0, last = total;
    while (first < total && DIGIT(first) == '0') first++;
    if (first == total) { *mag = 0; return true; }          // 0, 0.0, 0e99, -0 ...
    while (DIGIT(last - 1) == '0') last--;                   // trailing zeros raise the exponent
    int64_t e = exp10 - (int64_t)frac_len + (int64_t)(total - last);
    if (e < 0 || last - first > 20) return false;           // a fraction remains, or > 20 digits
    uint64_t v = 0;
    for (size_t k = first; k < last; k++)
        if (!u64_mul_ok(v, 10, &v) || !u64_add_ok(v, (uint64_t)(DIGIT(k) - '0'), &v)) return false;
#undef DIGIT
    for (int64_t k = 0; k < e; k++)
        if (!u64_mul_ok(v, 10, &v)) return false;
    *mag = v;
    return true;
}

bool json_as_u64(const JsonValue *v, uint64_t *out) {
    if (!v || v->type != JSON_NUMBER || v->str[0] == '-') return false;
    bool neg;
    uint64_t mag;
    if (!number_to_u64_magnitude(v->str, &neg, &mag)) return false;
    *out = mag;
    return true;
}

bool json_as_i64(const JsonValue *v, int64_t *out) {
    if (!v || v->type != JSON_NUMBER) return false;
    bool neg;
    uint64_t mag;
    if (!number_to_u64_magnitude(v->str, &neg, &mag)) return false;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1) return false;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)mag;
    }
    return true;
}

bool json_get_i64(const JsonValue *obj, const char *key, int64_t *out) { return json_as_i64(json_get(obj, key), out); }

bool json_get_f64(const JsonValue *obj, const char *key, double *out) {
    JsonValue *v = json_get(obj, key);
    if (!v || v->type != JSON_NUMBER) return false;
    *out = v->number;
    return true;
}

bool json_get_bool(const JsonValue *obj, const char *key, bool *out) {
    JsonValue *v = json_get(obj, key);
    if (!v || v->type != JSON_BOOL) return false;
    *out = v->boolean;
    return true;
}

// ---------------------------------------------------------------------------------------------
// writing

size_t json_escape(char *buf, size_t cap, const char *s, size_t len) {
    size_t n = 0;
#define EMIT(ch) do { if (n + 1 < cap) buf[n] = (ch); n++; } while (0)
    EMIT('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default: break;
        }
        if (esc) { EMIT(esc[0]); EMIT(esc[1]); }
        else if (c < 0x20 || c == 0x7F) {
            static const char hex[] = "0123456789abcdef";
            EMIT('\\'); EMIT('u'); EMIT('0'); EMIT('0'); EMIT(hex[c >> 4]); EMIT(hex[c & 15]);
        } else EMIT((char)c);
    }
    EMIT('"');
#undef EMIT
    if (cap) buf[n < cap ? n : cap - 1] = '\0';
    return n;
}

const char *json_quote_short(char *buf, size_t cap, const char *s, size_t len) {
    if (cap < 8) { if (cap) buf[0] = '\0'; return buf; }
    size_t n = LPOI_MIN(len, cap);                        // each byte needs >= 1 output byte
    while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    while (json_escape(NULL, 0, s, n) + 1 > cap - 3) {   // leave room for "..."
        n = n > 16 ? n - n / 4 : n - 1;                   // shrink fast, then byte by byte
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;   // stay on a character boundary
    }
    json_escape(buf, cap, s, n);
    if (n < len) strcat(buf, "...");
    return buf;
}
