// json_test.c — strict JSON: grammar, UTF-8, \u escapes, depth, duplicates, exact integers,
// error offsets, escaping round-trip, and speed on a tokenizer.json-sized document.
#include "test/test.h"
#include "base/json.h"
#include "base/check.h"
#include "base/file.h"
#include <string.h>
#include <time.h>
#include <unistd.h>

static JsonDoc *parse_str(const char *s, LpoiErr *err) { return json_parse(s, strlen(s), err); }

// Parses s, which must be valid: the document, or NULL after a test failure.
static JsonDoc *parse_ok_at(const char *file, int line, const char *s) {
    LpoiErr err = {{0}};
    JsonDoc *d = parse_str(s, &err);
    if (!d) test_fail_at(file, line, "rejected valid JSON %s: %s", s, err.msg);
    return d;
}
#define PARSE_OK(s) parse_ok_at(__FILE__, __LINE__, (s))

// Expects s to be rejected with a message "offset <offset>: ..." (offset < 0: any offset).
static void expect_reject_at(const char *file, int line, const char *s, size_t len, long offset) {
    LpoiErr err = {{0}};
    JsonDoc *d = json_parse(s, len, &err);
    if (d) { test_fail_at(file, line, "accepted invalid JSON: %s", s); json_free(d); return; }
    if (strncmp(err.msg, "offset ", 7) != 0 || strchr(err.msg, '\n'))
        test_fail_at(file, line, "message not one 'offset N: reason' line: %s", err.msg);
    if (offset >= 0 && strtol(err.msg + 7, NULL, 10) != offset)
        test_fail_at(file, line, "for %s: expected offset %ld, got '%s'", s, offset, err.msg);
}
#define REJECT(s) expect_reject_at(__FILE__, __LINE__, (s), strlen(s), -1)
#define REJECT_AT(s, off) expect_reject_at(__FILE__, __LINE__, (s), strlen(s), (off))
#define REJECT_N(s, n) expect_reject_at(__FILE__, __LINE__, (s), (n), -1)

static void expect_accept_at(const char *file, int line, const char *s, size_t len) {
    LpoiErr err = {{0}};
    JsonDoc *d = json_parse(s, len, &err);
    if (!d) test_fail_at(file, line, "rejected valid JSON %s: %s", s, err.msg);
    json_free(d);
}
#define ACCEPT(s) expect_accept_at(__FILE__, __LINE__, (s), strlen(s))
#define ACCEPT_N(s, n) expect_accept_at(__FILE__, __LINE__, (s), (n))

TEST(json_values_and_lookups) {
    JsonDoc *d = PARSE_OK(" {\"a\": [1, -2.5e1, true, false, null, \"x\"], \"o\": {}, \"e\": [], \"n\": 7} ");
    if (!d) return;
    JsonValue *r = json_root(d);
    EXPECT(r->type == JSON_OBJECT && r->count == 4);
    JsonValue *a = json_get(r, "a");
    EXPECT(a && a->type == JSON_ARRAY && a->count == 6);
    EXPECT(json_at(a, 0)->type == JSON_NUMBER && json_at(a, 0)->number == 1);
    EXPECT_STREQ(json_at(a, 1)->str, "-2.5e1");
    EXPECT(json_at(a, 1)->number == -25.0);
    EXPECT(json_at(a, 2)->type == JSON_BOOL && json_at(a, 2)->boolean);
    EXPECT(json_at(a, 3)->type == JSON_BOOL && !json_at(a, 3)->boolean);
    EXPECT(json_at(a, 4)->type == JSON_NULL);
    EXPECT_STREQ(json_at(a, 5)->str, "x");
    EXPECT(json_at(a, 6) == NULL);
    EXPECT(json_at(r, 0) == NULL);           // not an array
    EXPECT(json_get(a, "a") == NULL);        // not an object
    EXPECT(json_get(r, "missing") == NULL);
    EXPECT(json_get(r, "o")->count == 0 && json_get(r, "e")->count == 0);
    EXPECT(json_get_str(r, "a") == NULL);
    int64_t i;
    double f;
    bool b;
    EXPECT(json_get_i64(r, "n", &i) && i == 7);
    EXPECT(!json_get_i64(r, "a", &i));
    EXPECT(json_get_f64(r, "n", &f) && f == 7.0);
    EXPECT(!json_get_bool(r, "n", &b));
    EXPECT(json_at(a, 0)->offset == 8);      // offsets point at the value in the source
    json_free(d);

    d = PARSE_OK("{\"t\": true, \"s\": \"str\"}");
    EXPECT(d && json_get_bool(json_root(d), "t", &b) && b);
    EXPECT_STREQ(json_get_str(json_root(d), "s"), "str");
    json_free(d);
    // scalars are valid documents (RFC 8259), with any JSON whitespace around them
    ACCEPT("[]"); ACCEPT("{}");   // fuzz finding: empty containers once did NULL + 0 (UBSan)
    ACCEPT("0"); ACCEPT("\"\""); ACCEPT(" \t\r\nnull \t\r\n"); ACCEPT("-0"); ACCEPT("1E+2"); ACCEPT("0.5e-3");
    json_free(NULL);
}

TEST(json_rejects_bad_syntax_with_offsets) {
    REJECT_AT("", 0);
    REJECT_AT("   ", 3);
    REJECT_AT("{", 1);
    REJECT_AT("[1,]", 3);
    REJECT_AT("{\"a\":1,}", 7);
    REJECT_AT("{\"a\" 1}", 5);
    REJECT_AT("{1:2}", 1);
    REJECT_AT("{'a':1}", 1);
    REJECT_AT("[1 2]", 3);
    REJECT_AT("{} x", 3);
    REJECT_AT("[] []", 3);
    REJECT_AT("[01]", 1);
    REJECT_AT("[-]", 1);
    REJECT_AT("[1.]", 1);
    REJECT_AT("[.5]", 1);
    REJECT_AT("[1e]", 1);
    REJECT_AT("[+1]", 1);
    REJECT_AT("[NaN]", 1);
    REJECT_AT("[Infinity]", 1);
    REJECT_AT("[tru]", 1);
    REJECT_AT("[nulll]", 5);
    REJECT_AT("\"abc", 0);
    REJECT_AT("\"a\\x\"", 2);
    REJECT_AT("\"a\\u12G4\"", 6);
    REJECT_AT("\"\\u12\"", 3);
    REJECT_AT("\"a\tb\"", 2);             // raw control characters must be escaped
    REJECT_AT("/* c */ {}", 0);
    expect_reject_at(__FILE__, __LINE__, "{\"a\":1}\x00", 8, 7);   // a NUL after the value
    expect_reject_at(__FILE__, __LINE__, "[\"a\x00\"]", 6, 3);     // a raw NUL inside a string
    REJECT("\"\\");
    REJECT("[");
    REJECT("]");
    REJECT("{\"a\"}");
    REJECT("{\"a\":}");
    REJECT("[,1]");
    REJECT("\xef\xbb\xbf{}");              // a BOM is not JSON whitespace
    REJECT("\x0c{}");                      // form feed is not JSON whitespace either
    // messages name the problem and stay on one line
    LpoiErr err = {{0}};
    EXPECT(!parse_str("[1,\n2,\n]", &err));
    EXPECT_MSG(strstr(err.msg, "offset 7") && !strchr(err.msg, '\n'), "%s", err.msg);
}

TEST(json_utf8_validation) {
    ACCEPT("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");   // é € 😀
    ACCEPT("\"\xf4\x8f\xbf\xbf\"");                       // U+10FFFF
    ACCEPT("\"\xef\xbf\xbf\"");                           // U+FFFF (a noncharacter, still valid UTF-8)
    REJECT_AT("\"\xc0\xaf\"", 1);                         // overlong '/'
    REJECT_AT("\"\xc1\xbf\"", 1);                         // overlong
    REJECT_AT("\"\xe0\x80\xaf\"", 1);                     // overlong 3-byte
    REJECT_AT("\"\xf0\x80\x80\xaf\"", 1);                 // overlong 4-byte
    REJECT_AT("\"\xed\xa0\x80\"", 1);                     // UTF-8-encoded surrogate U+D800
    REJECT_AT("\"\xed\xbf\xbf\"", 1);                     // U+DFFF
    REJECT_AT("\"\xf4\x90\x80\x80\"", 1);                 // U+110000
    REJECT_AT("\"\xf5\x80\x80\x80\"", 1);
    REJECT_AT("\"\xff\"", 1);
    REJECT_AT("\"a\x80\"", 2);                            // stray continuation byte
    REJECT_AT("\"\xe2\x82\"", 1);                         // truncated by the closing quote
    REJECT_AT("\"\xc3\"", 1);
    REJECT_AT("\"\xe2\x28\xa1\"", 1);                     // bad continuation
    REJECT_AT("[\xc3\xa9]", 1);                           // non-ASCII outside a string
    EXPECT(utf8_valid("", 0));
    EXPECT(utf8_valid("abc\xc3\xa9", 5));
    EXPECT(!utf8_valid("\xc3", 1));
    EXPECT(!utf8_valid("\xed\xa0\x80", 3));
    EXPECT_EQ_INT(utf8_first_invalid("ab\xc3\xa9\xff", 5), 4);
    EXPECT_EQ_INT(utf8_first_invalid("ab", 2), 2);
}

TEST(json_unicode_escapes) {
    JsonDoc *d = PARSE_OK("[\"\\u00e9\\u20AC\\ud83d\\ude00\", \"a\\u0000b\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]");
    if (!d) return;
    JsonValue *r = json_root(d);
    EXPECT_STREQ(json_at(r, 0)->str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    EXPECT_EQ_INT(json_at(r, 0)->len, 9);
    EXPECT_EQ_INT(json_at(r, 1)->len, 3);                 // embedded NUL kept, len says so
    EXPECT(memcmp(json_at(r, 1)->str, "a\0b", 4) == 0);
    EXPECT_STREQ(json_at(r, 2)->str, "\"\\/\b\f\n\r\t");
    json_free(d);
    REJECT_AT("\"\\ud800\"", 1);                           // lone high surrogate
    REJECT_AT("\"\\udc00\"", 1);                           // lone low surrogate
    REJECT_AT("\"x\\ud800\\u0041\"", 2);                   // high followed by a non-surrogate
    REJECT_AT("\"\\ud800\\ud800\"", 1);                    // high followed by high
    REJECT_AT("\"\\ud800\\n\"", 1);
    REJECT_AT("\"\\ud800x\"", 1);
    REJECT("\"\\udbff\\udfff\\udc00\"");                   // valid pair, then a lone low
    ACCEPT("\"\\udbff\\udfff\"");                          // U+10FFFF
}

TEST(json_depth_limit) {
    char buf[600];
    for (int depth = 127; depth <= 129; depth++) {
        int n = 0;
        for (int i = 0; i < depth; i++) buf[n++] = '[';
        for (int i = 0; i < depth; i++) buf[n++] = ']';
        if (depth <= 128) ACCEPT_N(buf, (size_t)n);
        else REJECT_N(buf, (size_t)n);
    }
    // objects count too, and the error names the depth
    LpoiErr err = {{0}};
    char obj[2000];
    int n = 0;
    for (int i = 0; i < 200; i++) n += snprintf(obj + n, sizeof obj - (size_t)n, "{\"a\":");
    EXPECT(!json_parse(obj, (size_t)n, &err));
    EXPECT_MSG(strstr(err.msg, "nesting"), "%s", err.msg);
}

TEST(json_duplicate_keys) {
    LpoiErr err = {{0}};
    EXPECT(!parse_str("{\"a\":1,\"b\":2,\"a\":3}", &err));
    EXPECT_MSG(strstr(err.msg, "offset 13: duplicate key \"a\""), "%s", err.msg);
    REJECT("{\"x\":{\"k\":1,\"k\":1}}");
    REJECT("{\"\\u0061\":1,\"a\":2}");                     // equal after unescaping
    ACCEPT("{\"a\":1,\"a\\u0000\":2,\"a\\u0000b\":3,\"A\":4}");   // NUL makes keys distinct
    ACCEPT("[{\"a\":1},{\"a\":1}]");                       // same key in sibling objects is fine
    // large objects take the sorted path
    char big[20000];
    int n = snprintf(big, sizeof big, "{");
    for (int i = 0; i < 1000; i++) n += snprintf(big + n, sizeof big - (size_t)n, "%s\"k%d\":%d", i ? "," : "", i, i);
    snprintf(big + n, sizeof big - (size_t)n, "}");
    ACCEPT(big);
    JsonDoc *d = parse_str(big, &err);
    int64_t v;
    EXPECT(d && json_get_i64(json_root(d), "k777", &v) && v == 777);
    json_free(d);
    snprintf(big + n, sizeof big - (size_t)n, ",\"k500\":0}");
    EXPECT(!parse_str(big, &err));
    EXPECT_MSG(strstr(err.msg, "duplicate key \"k500\""), "%s", err.msg);
}

// Parses text (a JSON scalar) and reads it as an exact u64 (u) or i64 (i; u NULL).
static bool int_of(const char *text, uint64_t *u, int64_t *i) {
    LpoiErr err = {{0}};
    JsonDoc *d = parse_str(text, &err);
    bool ok = d && (u ? json_as_u64(json_root(d), u) : json_as_i64(json_root(d), i));
    json_free(d);
    return ok;
}
#define u64_of(text, u) int_of((text), (u), NULL)
#define i64_of(text, i) int_of((text), NULL, (i))

TEST(json_exact_integers) {
    uint64_t u = 0;
    int64_t i = 0;
    EXPECT(u64_of("0", &u) && u == 0);
    EXPECT(u64_of("18446744073709551615", &u) && u == UINT64_MAX);
    EXPECT(!u64_of("18446744073709551616", &u));
    EXPECT(!u64_of("99999999999999999999999", &u));
    EXPECT(!u64_of("-1", &u));
    EXPECT(!u64_of("-0", &u));
    EXPECT(!u64_of("1.5", &u));
    EXPECT(!u64_of("1e-1", &u));
    EXPECT(!u64_of("1e20", &u));
    EXPECT(!u64_of("1e999999999999", &u));
    EXPECT(!u64_of("\"1\"", &u));
    EXPECT(!u64_of("true", &u));
    EXPECT(u64_of("1e19", &u) && u == 10000000000000000000ull);
    EXPECT(u64_of("1e3", &u) && u == 1000);
    EXPECT(u64_of("1.50e1", &u) && u == 15);
    EXPECT(u64_of("10.0", &u) && u == 10);
    EXPECT(u64_of("100e-2", &u) && u == 1);
    EXPECT(u64_of("0.000", &u) && u == 0);
    EXPECT(u64_of("0e999999999", &u) && u == 0);
    EXPECT(u64_of("184467440737095516.15e2", &u) && u == UINT64_MAX);
    EXPECT(i64_of("-9223372036854775808", &i) && i == INT64_MIN);
    EXPECT(i64_of("9223372036854775807", &i) && i == INT64_MAX);
    EXPECT(!i64_of("9223372036854775808", &i));
    EXPECT(!i64_of("-9223372036854775809", &i));
    EXPECT(i64_of("-0", &i) && i == 0);
    EXPECT(i64_of("-12", &i) && i == -12);
    EXPECT(i64_of("-1.2e1", &i) && i == -12);
    EXPECT(!i64_of("-1.25e1", &i));
    // doubles: exact path for short integers, strtod for the rest
    JsonDoc *d = PARSE_OK("[123456789012345, 1234567890123456789, 0.1, -0.0, 1e400]");
    if (!d) return;
    JsonValue *r = json_root(d);
    EXPECT(json_at(r, 0)->number == 123456789012345.0);
    EXPECT(json_at(r, 1)->number == 1234567890123456789.0);
    EXPECT(json_at(r, 2)->number == 0.1);
    EXPECT(json_at(r, 3)->number == 0.0 && signbit(json_at(r, 3)->number));
    EXPECT(isinf(json_at(r, 4)->number));
    EXPECT_STREQ(json_at(r, 4)->str, "1e400");
    json_free(d);
}

TEST(json_escape_round_trip) {
    char raw[256];
    for (int i = 0; i < 128; i++) raw[i] = (char)i;       // every ASCII byte, NUL included
    memcpy(raw + 128, "\xc3\xa9\xf0\x9f\x98\x80", 6);
    size_t len = 134;
    size_t need = json_escape(NULL, 0, raw, len);
    char *lit = malloc_check(need + 1);
    EXPECT_EQ_INT(json_escape(lit, need + 1, raw, len), need);
    EXPECT_EQ_INT(strlen(lit), need);
    LpoiErr err = {{0}};
    JsonDoc *d = json_parse(lit, need, &err);
    EXPECT_MSG(d, "%s", err.msg);
    if (d) {
        EXPECT_EQ_INT(json_root(d)->len, len);
        EXPECT(memcmp(json_root(d)->str, raw, len) == 0);
    }
    json_free(d);
    // snprintf semantics: truncates, always NUL-terminates, returns the full length
    char small[5];
    EXPECT_EQ_INT(json_escape(small, sizeof small, "abcdef", 6), 8);
    EXPECT_STREQ(small, "\"abc");
    free(lit);
    // short quoting for messages: one line, valid UTF-8, cut on a character boundary
    char q[32], longname[200];
    for (int i = 0; i < 66; i++) memcpy(longname + 3 * i, "\xe2\x82\xac", 3);
    json_quote_short(q, sizeof q, longname, 198);
    EXPECT(strlen(q) < sizeof q && strstr(q, "...") && utf8_valid(q, strlen(q)));
    json_quote_short(q, sizeof q, "a\nb", 3);
    EXPECT_STREQ(q, "\"a\\nb\"");
}

// A synthetic tokenizer.json of ~10 MB: a 200k-entry vocab object and a merges array.
TEST(json_large_document_is_fast) {
    size_t cap = 16u << 20, n = 0;
    char *buf = malloc_check(cap);
    n += (size_t)snprintf(buf + n, cap - n, "{\"model\":{\"vocab\":{");
    for (int i = 0; i < 200000; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s\"tok\\u00e9n_%d\\u2581x\":%d", i ? "," : "", i, i);
    n += (size_t)snprintf(buf + n, cap - n, "},\"merges\":[");
    for (int i = 0; i < 150000; i++) n += (size_t)snprintf(buf + n, cap - n, "%s[\"a%d\",\"b%d\"]", i ? "," : "", i, i);
    n += (size_t)snprintf(buf + n, cap - n, "]}}");
    EXPECT(n > 8u << 20);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    LpoiErr err = {{0}};
    JsonDoc *d = json_parse(buf, n, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    EXPECT_MSG(d, "%s", err.msg);
    if (d) {
        JsonValue *model = json_get(json_root(d), "model");
        EXPECT_EQ_INT(json_get(model, "vocab")->count, 200000);
        EXPECT_EQ_INT(json_get(model, "merges")->count, 150000);
        EXPECT_STREQ(json_get(model, "vocab")->keys[5], "tok\xc3\xa9n_5\xe2\x96\x81x");
    }
    EXPECT_MSG(s < 2.0, "parsing %zu bytes took %.2f s", n, s);   // ~0.1 s expected; generous for loaded CI
    json_free(d);
    free(buf);
}

// The real HF files (tokenizer.json up to 3.6 MB, configs, the 686-name llava index) all parse.
TEST(json_parses_real_hf_files) {
    static const char *files[] = {
        "llava-hf__llava-1.5-7b-hf/tokenizer.json", "llava-hf__llava-1.5-7b-hf/config.json",
        "llava-hf__llava-1.5-7b-hf/model.safetensors.index.json", "mistralai__Mistral-7B-v0.1/tokenizer.json",
        "IDEA-Research__grounding-dino-tiny/tokenizer.json", "IDEA-Research__grounding-dino-tiny/config.json",
        "HuggingFaceM4__idefics2-8b/config.json",
    };
    const char *root = "../shared/data/hf";
    if (access(root, R_OK) != 0) { test_skip("../shared/data/hf not present"); return; }
    for (size_t i = 0; i < LPOI_ARRAY_LEN(files); i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", root, files[i]);
        LpoiErr err = {{0}};
        size_t n;
        char *text = file_read_all(path, 64u << 20, &n, &err);
        if (!text) { test_fail_at(__FILE__, __LINE__, "%s", err.msg); continue; }
        JsonDoc *d = json_parse(text, n, &err);
        EXPECT_MSG(d, "%s: %s", path, err.msg);
        if (d && strstr(files[i], "index.json"))
            EXPECT_EQ_INT(json_get(json_root(d), "weight_map")->count, 686);
        if (d && strstr(files[i], "llava-hf__llava-1.5-7b-hf/tokenizer.json")) {
            JsonValue *model = json_get(json_root(d), "model");
            EXPECT_EQ_INT(json_get(model, "vocab")->count, 32000);
            EXPECT_STREQ(json_get_str(model, "type"), "BPE");
        }
        json_free(d);
        free(text);
    }
}

// JsonCfg: absent and null take the default, ranges and types are checked with "<what>: \"key\" ...",
// the first problem sticks; json_load_file names the file in its errors.
TEST(json_config_reader) {
    JsonDoc *d = PARSE_OK("{\"n\": 7, \"z\": null, \"f\": 0.5, \"b\": true, \"s\": \"gelu\", \"big\": 99}");
    if (!d) return;
    LpoiErr err = {{0}};
    JsonCfg c;
    EXPECT(json_cfg_open(&c, json_root(d), "cfg.json", &err));
    EXPECT_EQ_INT(json_cfg_int(&c, "n", 1, 0, 10), 7);
    EXPECT_EQ_INT(json_cfg_int(&c, "z", 3, 0, 10), 3);
    EXPECT_EQ_INT(json_cfg_int(&c, "absent", 4, 0, 10), 4);
    EXPECT(json_cfg_num(&c, "f", 0) == 0.5 && json_cfg_bool(&c, "b", false) && !json_cfg_has(&c, "z"));
    static const char *const ACTS[] = {"silu", "gelu"};
    EXPECT_EQ_INT(json_cfg_enum(&c, "s", 0, ACTS, 2), 1);
    EXPECT(c.ok && json_cfg_need(&c, "n"));
    EXPECT_EQ_INT(json_cfg_int(&c, "big", 5, 0, 10), 5);
    EXPECT(!c.ok);
    EXPECT_STREQ(err.msg, "cfg.json: \"big\" must be an integer in [0, 10] (got 99)");
    json_cfg_fail(&c, "later problems do not overwrite the first");
    EXPECT_STREQ(err.msg, "cfg.json: \"big\" must be an integer in [0, 10] (got 99)");
    static const struct { const char *key, *want; } bad[] = {
        {"s", "cfg.json: \"s\" must be true or false"}, {"n", "cfg.json: \"n\" must be a string"},
        {"missing", "cfg.json: \"missing\" is missing"}, {"f", "cfg.json: \"f\" must be an integer"},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(bad); i++) {
        json_cfg_open(&c, json_root(d), "cfg.json", &err);
        if (i == 0) json_cfg_bool(&c, bad[i].key, false);
        else if (i == 1) json_cfg_str(&c, bad[i].key, NULL);
        else if (i == 2) json_cfg_need(&c, bad[i].key);
        else json_cfg_int(&c, bad[i].key, 0, 0, 1);
        EXPECT_STREQ(err.msg, bad[i].want);
    }
    json_cfg_open(&c, json_root(d), "cfg.json", &err);
    json_cfg_enum(&c, "s", 0, ACTS, 1);
    EXPECT_STREQ(err.msg, "cfg.json: s \"gelu\" is not supported (silu)");
    EXPECT(!json_cfg_open(&c, json_at(json_get(json_root(d), "n"), 0), "cfg.json", &err));
    json_free(d);
    EXPECT(!json_load_file("/nonexistent/lpoi.json", 1 << 10, &err));
    EXPECT_MSG(strstr(err.msg, "/nonexistent/lpoi.json"), "%s", err.msg);
    char path[] = "/tmp/lpoi_json_XXXXXX";
    int fd = mkstemp(path);
    EXPECT(fd >= 0 && write(fd, "[1,]", 4) == 4);
    close(fd);
    EXPECT(!json_load_file(path, 1 << 10, &err));
    EXPECT_MSG(!strncmp(err.msg, path, strlen(path)) && strstr(err.msg, ": offset 3: "), "%s", err.msg);
    remove(path);
}
