// safetensors_test.c — reader on every file in testdata/bad (all refused, one-line reasons) and
// testdata/good (accepted, exact contents), overflow vectors from the reference tests, sharded
// folders good and bad (built under /tmp), the writer's layout and round trip, and atomicity.
#include "test/test.h"
#include "base/safetensors.h"
#include "base/file.h"
#include "base/json.h"
#include "base/check.h"
#include <dirent.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

// ---- helpers ----

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Sorted names of the *.safetensors files in dir (caller frees). NULL if dir is absent.
static char **list_safetensors(const char *dir, size_t *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char **names = NULL;
    size_t cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!ends_with(e->d_name, ".safetensors")) continue;
        if (*n == cap) { cap = cap ? 2 * cap : 64; names = realloc_check(names, cap * sizeof *names); }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[*n] = malloc_check(len);
        snprintf(names[(*n)++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

static void free_list(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

// Builds a safetensors file image: 8-byte length, header, data.
static unsigned char *make_st(const char *header, const void *data, size_t data_len, size_t *size) {
    size_t n = strlen(header);
    *size = 8 + n + data_len;
    unsigned char *b = malloc_check(*size);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, header, n);
    if (data_len) memcpy(b + 8 + n, data, data_len);
    return b;
}

static bool open_header(const char *header, size_t data_len, LpoiErr *err) {
    unsigned char *zeros = calloc_check(1, data_len + 1);
    size_t size;
    unsigned char *img = make_st(header, zeros, data_len, &size);
    StFile f;
    bool ok = st_open_memory(&f, img, size, "mem", err);
    st_close(&f);
    free(img);
    free(zeros);
    return ok;
}

static size_t count_entries(const char *dir) {
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static void expect_one_line_about(const char *file, int line, const LpoiErr *err, const char *prefix, const char *needle) {
    if (!err->msg[0]) { test_fail_at(file, line, "empty error message"); return; }
    if (strchr(err->msg, '\n')) test_fail_at(file, line, "message has a newline: %s", err->msg);
    if (prefix && strncmp(err->msg, prefix, strlen(prefix)) != 0)
        test_fail_at(file, line, "message does not start with \"%s\": %s", prefix, err->msg);
    if (needle && !strstr(err->msg, needle)) test_fail_at(file, line, "message lacks \"%s\": %s", needle, err->msg);
}
#define EXPECT_ERR(err, prefix, needle) expect_one_line_about(__FILE__, __LINE__, &(err), (prefix), (needle))

static float f32_at(const StTensor *t, size_t i) {
    float *v = malloc_check((size_t)t->numel * sizeof *v);
    LpoiErr err = {{0}};
    float x = st_read_f32(t, v, &err) && i < t->numel ? v[i] : NAN;
    free(v);
    return x;
}

// ---- malformed files ----

// The *.safetensors files of testdata/<sub> (dir gets the folder); NULL (the test skipped) when absent.
static char **list_testdata_or_skip(const char *sub, char *dir, size_t cap, size_t *n) {
    snprintf(dir, cap, "%s/%s", test_data_dir(), sub);
    char **files = list_safetensors(dir, n);
    if (!files) {
        char why[300];
        snprintf(why, sizeof why, "testdata/%s not found (run from the repository root)", sub);
        test_skip(why);
    }
    return files;
}

TEST(st_every_bad_file_is_refused) {
    char dir[256];
    size_t n;
    char **files = list_testdata_or_skip("bad", dir, sizeof dir, &n);
    if (!files) return;
    EXPECT_MSG(n >= 30, "only %zu malformed files in %s", n, dir);
    for (size_t i = 0; i < n; i++) {
        LpoiErr err = {{0}};
        StFile f;
        bool ok = st_open(&f, files[i], &err);
        EXPECT_MSG(!ok, "%s was accepted", files[i]);
        if (ok) { st_close(&f); continue; }
        EXPECT_ERR(err, files[i], NULL);
        EXPECT_MSG(strlen(err.msg) > strlen(files[i]) + 4, "no reason for %s: %s", files[i], err.msg);
        EXPECT(f.tensors == NULL && f.count == 0 && f.map == NULL);
        // the same bytes from memory give the same verdict
        size_t size;
        LpoiErr rerr = {{0}};
        char *bytes = file_read_all(files[i], 1 << 20, &size, &rerr);
        if (!bytes) continue;   // 0-byte files read fine; nothing here is > 1 MB
        LpoiErr merr = {{0}};
        EXPECT_MSG(!st_open_memory(&f, bytes, size, "mem", &merr), "%s accepted from memory", files[i]);
        EXPECT_ERR(merr, "mem: ", NULL);
        free(bytes);
    }
    free_list(files, n);
}

// Specific reasons for a few of the files: the message must name the tensor and the problem.
TEST(st_bad_file_reasons) {
    static const struct { const char *file, *needle; } cases[] = {
        {"empty", "empty file"},
        {"short_7_bytes", "7 bytes"},
        {"header_len_huge", "exceeds"},
        {"header_len_past_end", "past the end of the file"},
        {"header_bad_utf8", "not valid UTF-8"},
        {"header_only_open_brace", "header JSON: offset 1"},
        {"deep_nesting", "nesting"},
        {"metadata_number_value", "__metadata__[\"n\"] is a number"},
        {"duplicate_tensor_name", "duplicate key \"a\""},
        {"offsets_overlap", "tensor \"b\": data_offsets [0, 8] overlap tensor \"a\""},
        {"offsets_gap", "gap of 4 bytes"},
        {"offsets_past_end", "past the end of the 4-byte data buffer"},
        {"data_offsets_three_entries", "has 3 entries"},
        {"data_offsets_fractional", "data_offsets[1] is 8.0"},
        {"data_offsets_negative", "data_offsets[1] is -8"},
        {"shape_overflow_u64", "overflows 64 bits"},
        {"shape_overflow_i64", "overflows 64 bits"},
        {"shape_overflow_bits", "overflows 64 bits"},
        {"shape_negative", "shape[0] is -2"},
        {"size_mismatch", "span 4 bytes, but shape [2, 2] of I32 needs 16"},
        {"unknown_dtype", "unknown dtype \"F33\""},
        {"dtype_not_string", "\"dtype\" is a number"},
        {"trailing_bytes", "1 trailing byte after"},
        {"missing_2_bytes_at_end", "past the end"},
        {"tensor_name_nul", "NUL"},
        {"subbyte_not_whole_bytes", "whole number of bytes"},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/bad/%s.safetensors", test_data_dir(), cases[i].file);
        if (access(path, R_OK) != 0) { test_fail_at(__FILE__, __LINE__, "missing %s", path); continue; }
        LpoiErr err = {{0}};
        StFile f;
        EXPECT_MSG(!st_open(&f, path, &err), "%s accepted", path);
        EXPECT_ERR(err, path, cases[i].needle);
    }
}

TEST(st_overflow_and_reference_vectors) {
    LpoiErr err = {{0}};
    // from safetensors' tensor.rs tests
    EXPECT(!open_header("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,18446744073709551614],\"data_offsets\":[0,16]}}", 16, &err));
    EXPECT_ERR(err, "mem: ", "overflows");
    EXPECT(!open_header("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,9223372036854775807],\"data_offsets\":[0,16]}}", 16, &err));
    EXPECT_ERR(err, "mem: ", "overflows");
    EXPECT(!open_header("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", 4, &err));
    EXPECT(open_header("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,0],\"data_offsets\":[0,0]}}", 0, &err));
    // 2^42+1 x 2^22: a wrapped product would be tiny; F4 numel*4 bits overflow
    EXPECT(!open_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[4398046511105,4194304,1024],\"data_offsets\":[0,0]}}", 0, &err));
    EXPECT(!open_header("{\"t\":{\"dtype\":\"F4\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0, &err));
    EXPECT(!open_header("{\"t\":{\"dtype\":\"U8\",\"shape\":[1152921504606846976],\"data_offsets\":[0,1152921504606846976]}}", 8, &err));
    EXPECT_ERR(err, "mem: ", "past the end");
    // an offset near 2^64 with an overflowing begin+size never wraps into the buffer
    EXPECT(!open_header("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[18446744073709551615,0]}}", 1, &err));
    // sub-byte dtypes: whole bytes only
    EXPECT(open_header("{\"t\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1, &err));
    EXPECT(open_header("{\"t\":{\"dtype\":\"F6_E3M2\",\"shape\":[4],\"data_offsets\":[0,3]}}", 3, &err));
    EXPECT(!open_header("{\"t\":{\"dtype\":\"F6_E3M2\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, &err));
    // exactly ST_MAX_DIMS dimensions is fine
    EXPECT(open_header("{\"t\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,2],\"data_offsets\":[0,2]}}", 2, &err));
    // header length limits: bytes 0..7 set to 0xff, and exactly one byte over the limit
    unsigned char img[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    StFile f;
    EXPECT(!st_open_memory(&f, img, sizeof img, "m", &err));
    EXPECT_ERR(err, "m: ", "exceeds");
    EXPECT(!st_open_memory(&f, NULL, 0, NULL, &err));
    EXPECT_ERR(err, "<memory>: ", "empty");
}

// ---- valid files ----

TEST(st_every_good_file_is_accepted) {
    char dir[256];
    size_t n;
    char **files = list_testdata_or_skip("good", dir, sizeof dir, &n);
    if (!files) return;
    EXPECT(n >= 5);
    for (size_t i = 0; i < n; i++) {
        LpoiErr err = {{0}};
        StFile f;
        EXPECT_MSG(st_open(&f, files[i], &err), "%s refused: %s", files[i], err.msg);
        for (size_t t = 0; t < f.count; t++) {
            EXPECT(st_find(&f, f.tensors[t].name) == &f.tensors[t]);
            if (t) EXPECT(f.tensors[t].begin >= f.tensors[t - 1].end);   // sorted by offset
        }
        st_close(&f);
    }
    free_list(files, n);
}

static bool open_good(StFile *f, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/good/%s", test_data_dir(), name);
    LpoiErr err = {{0}};
    if (st_open(f, path, &err)) return true;
    test_fail_at(__FILE__, __LINE__, "%s", err.msg);
    return false;
}

TEST(st_good_unaligned_contents) {
    StFile f;
    if (!open_good(&f, "unaligned.safetensors")) return;
    EXPECT_EQ_INT(f.header_len % 8, 7);
    EXPECT_EQ_INT(f.count, 3);
    EXPECT_STREQ(f.tensors[0].name, "a");   // file order, although the header lists b first
    EXPECT_STREQ(f.tensors[1].name, "b");
    EXPECT_STREQ(f.tensors[2].name, "c");
    EXPECT_STREQ(st_meta(&f, "format"), "pt");
    EXPECT_STREQ(st_meta(&f, "note"), "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80");
    EXPECT(st_meta(&f, "absent") == NULL);
    const StTensor *a = st_find(&f, "a"), *b = st_find(&f, "b"), *c = st_find(&f, "c");
    EXPECT(a && b && c && !st_find(&f, "d") && !st_find(&f, ""));
    if (!a || !b || !c) { st_close(&f); return; }
    EXPECT(((uintptr_t)a->data & 3) != 0);   // really unaligned
    EXPECT(a->dtype == DTYPE_F32 && a->ndim == 1 && a->shape[0] == 3 && a->numel == 3);
    float v[3];
    LpoiErr err = {{0}};
    EXPECT(st_read_f32(a, v, &err));
    EXPECT(v[0] == 1.5f && v[1] == -2.25f && v[2] == 1e-3f);
    EXPECT(b->dtype == DTYPE_BF16 && f32_at(b, 0) == 3.0f && f32_at(b, 1) == -0.5f);
    EXPECT(c->dtype == DTYPE_F16 && c->ndim == 2 && c->shape[0] == 1 && c->shape[1] == 2);
    EXPECT(f32_at(c, 0) == 0.25f && f32_at(c, 1) == -65504.0f);
    EXPECT(b->begin == 12 && b->end == 16 && c->end == 20);
    st_close(&f);
}

TEST(st_good_scalar_zero_size_whitespace_names) {
    StFile f;
    if (open_good(&f, "scalar.safetensors")) {
        EXPECT(f.count == 1 && f.tensors[0].ndim == 0 && f.tensors[0].numel == 1);
        EXPECT(f32_at(&f.tensors[0], 0) == 3.5f);
        st_close(&f);
    }
    if (open_good(&f, "zero_size.safetensors")) {
        EXPECT_EQ_INT(f.count, 4);
        const StTensor *ea = st_find(&f, "empty_a"), *eb = st_find(&f, "empty_b"), *x = st_find(&f, "x"),
                       *ee = st_find(&f, "empty_end");
        EXPECT(ea && eb && x && ee);
        if (ea && eb && x && ee) {
            EXPECT(ea->numel == 0 && ea->begin == 0 && ea->end == 0 && eb->numel == 0);
            EXPECT(ee->begin == 8 && ee->end == 8);
            EXPECT(f32_at(x, 0) == -7.0f);
            float dummy;
            LpoiErr err = {{0}};
            EXPECT(st_read_f32(ea, &dummy, &err));   // zero elements: nothing written
        }
        st_close(&f);
    }
    if (open_good(&f, "whitespace_padded.safetensors")) {
        const StTensor *w = st_find(&f, "w");
        EXPECT(w && w->dtype == DTYPE_U8 && f32_at(w, 0) == 7.0f && f32_at(w, 1) == 9.0f);
        st_close(&f);
    }
    if (open_good(&f, "escaped_names.safetensors")) {
        const StTensor *e = st_find(&f, "caf\xc3\xa9"), *q = st_find(&f, "q\"uote\\"), *s = st_find(&f, "\xf0\x9f\x98\x80");
        EXPECT(e && q && s);
        if (e && q && s) EXPECT(f32_at(e, 0) == 1.0f && f32_at(q, 0) == 2.0f && f32_at(s, 0) == 3.0f);
        st_close(&f);
    }
    if (open_good(&f, "empty_header_object.safetensors")) {
        EXPECT(f.count == 0 && f.meta_count == 0 && f.header_len == 2);
        st_close(&f);
    }
}

TEST(st_good_all_dtypes) {
    StFile f;
    if (!open_good(&f, "all_dtypes.safetensors")) return;
    EXPECT_EQ_INT(f.count, DTYPE_COUNT);
    bool seen[DTYPE_COUNT] = {0};
    for (size_t i = 0; i < f.count; i++) seen[f.tensors[i].dtype] = true;
    for (int t = 0; t < DTYPE_COUNT; t++) EXPECT_MSG(seen[t], "dtype %s missing", dtype_name((Dtype)t));
    static const struct { const char *name; float v0, v1; } want[] = {
        {"bool", 1, 0}, {"u8", 0, 255}, {"i8", -128, 127}, {"i16", -2, 300}, {"f16", 1, -2}, {"bf16", 1, -2},
        {"i32", -100000, 7}, {"f32", 0.5f, -8}, {"i64", -1099511627776.0f, NAN}, {"f64", 0.125f, NAN},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(want); i++) {
        const StTensor *t = st_find(&f, want[i].name);
        EXPECT_MSG(t && dtype_usable(t->dtype), "%s", want[i].name);
        if (!t) continue;
        EXPECT_MSG(f32_at(t, 0) == want[i].v0, "%s[0] = %g", want[i].name, f32_at(t, 0));
        if (!isnan(want[i].v1)) EXPECT_MSG(f32_at(t, 1) == want[i].v1, "%s[1] = %g", want[i].name, f32_at(t, 1));
    }
    // listed but not convertible: a clear error, no abort
    const StTensor *u16 = st_find(&f, "u16"), *f4 = st_find(&f, "f4"), *f6 = st_find(&f, "f6_e2m3");
    EXPECT(u16 && f4 && f6);
    if (u16 && f4 && f6) {
        EXPECT(f4->numel == 2 && f4->end - f4->begin == 1 && f6->numel == 4 && f6->end - f6->begin == 3);
        float out[4];
        LpoiErr err = {{0}};
        EXPECT(!st_read_f32(u16, out, &err));
        EXPECT_ERR(err, "tensor \"u16\"", "U16");
    }
    st_close(&f);
}

TEST(st_open_non_files) {
    LpoiErr err = {{0}};
    StFile f;
    EXPECT(!st_open(&f, "/nonexistent/x.safetensors", &err));
    EXPECT_ERR(err, "/nonexistent/x.safetensors: ", "No such file");
    EXPECT(!st_open(&f, "/tmp", &err));
    EXPECT_ERR(err, "/tmp: ", "folder");
    EXPECT(!st_open(&f, "/dev/null", &err));
    EXPECT_ERR(err, "/dev/null: ", "regular file");
    char dir[64], fifo[96];
    test_tmp_dir(dir, sizeof dir, "st_test");
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    if (mkfifo(fifo, 0600) == 0) {   // must be refused at once, not block waiting for a writer
        EXPECT(!st_open(&f, fifo, &err));
        EXPECT_ERR(err, fifo, "regular file");
    }
    file_rmtree(dir);
}

// ---- sharded ----

TEST(st_model_sharded_good) {
    char path[256];
    snprintf(path, sizeof path, "%s/good/sharded", test_data_dir());
    for (int as_index = 0; as_index < 2; as_index++) {
        if (as_index) snprintf(path, sizeof path, "%s/good/sharded/model.safetensors.index.json", test_data_dir());
        StModel m;
        LpoiErr err = {{0}};
        EXPECT_MSG(st_model_open(&m, path, &err), "%s", err.msg);
        EXPECT_EQ_INT(m.nshards, 2);
        EXPECT_EQ_INT(m.count, 3);
        const StTensor *a = st_model_find(&m, "a"), *b = st_model_find(&m, "b"), *c = st_model_find(&m, "c");
        EXPECT(a && b && c && !st_model_find(&m, "d"));
        if (a && b && c) {
            EXPECT(f32_at(a, 1) == 2.0f && f32_at(b, 0) == 3.0f && f32_at(c, 1) == 5.0f);
            EXPECT(st_find(&m.shards[0], "a") == a && st_find(&m.shards[1], "c") == c);
        }
        st_model_close(&m);
    }
}

// Writes one shard file (via the writer) holding the named U8 scalars.
static void write_shard(const char *dir, const char *file, const char *const *names, size_t n) {
    static const uint8_t one = 1;
    StWriter *w = st_writer_new();
    for (size_t i = 0; i < n; i++) st_writer_add(w, names[i], DTYPE_U8, 0, NULL, &one);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    LpoiErr err = {{0}};
    if (!st_writer_write(w, path, &err)) LPOI_DIE("%s", err.msg);
    st_writer_free(w);
}

static void write_index(const char *dir, const char *weight_map_json) {
    char path[512], text[2048];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    snprintf(text, sizeof text, "{\"metadata\":{\"total_size\":99999999999},\"weight_map\":%s}", weight_map_json);
    test_write_text(path, text);
}

TEST(st_model_sharded_bad) {
    static const char *const AB[] = {"a", "b"}, *const C[] = {"c"}, *const BC[] = {"b", "c"};
    static const struct { const char *weight_map, *needle; } cases[] = {
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"s2\"}", NULL},                     // the valid baseline
        {"{\"a\":\"s1\",\"c\":\"s2\"}", "\"b\" is not in the weight_map"},    // b in a shard, not mapped
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"s1\"}", "no such tensor"},        // c mapped to the wrong shard
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"s2\",\"d\":\"s2\"}", "\"d\" in shard \"s2\", which has no such tensor"},
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"s3\"}", "No such file"},
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"../s2\"}", "plain file name"},
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"/tmp/s2\"}", "plain file name"},
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"sub\\\\s2\"}", "plain file name"},
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"..\"}", "plain file name"},
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"\"}", "plain file name"},
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":2}", "not a file name"},
        {"{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"s2\",\"c\":\"s2\"}", "duplicate key"},
        {"{}", "empty"},
        {"[]", "weight_map"},
        {"{\"a\":\"s1\",", "offset"},
    };
    char dir[64];
    test_tmp_dir(dir, sizeof dir, "st_test");
    write_shard(dir, "s1", AB, 2);
    write_shard(dir, "s2", C, 1);
    char index[128];
    snprintf(index, sizeof index, "%s/model.safetensors.index.json", dir);
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        write_index(dir, cases[i].weight_map);
        StModel m;
        LpoiErr err = {{0}};
        bool ok = st_model_open(&m, dir, &err);
        if (!cases[i].needle) { EXPECT_MSG(ok && m.count == 3, "%s", err.msg); st_model_close(&m); continue; }
        EXPECT_MSG(!ok, "accepted weight_map %s", cases[i].weight_map);
        EXPECT_ERR(err, "/tmp/lpoi_st_test_", cases[i].needle);
        EXPECT(m.shards == NULL && m.by_name == NULL && m.count == 0);
    }
    // the same tensor in two shards, the map naming one of them
    write_shard(dir, "s2", BC, 2);
    write_index(dir, "{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"s2\"}");
    StModel m;
    LpoiErr err = {{0}};
    EXPECT(!st_model_open(&m, dir, &err));
    EXPECT_ERR(err, "/tmp/lpoi_st_test_", "tensor \"b\" is also in shard \"s1\"");
    // a shard that is itself malformed: its own path and reason
    test_write_text(index, "{\"weight_map\":{\"a\":\"s1\",\"b\":\"s1\",\"c\":\"s2\"}}");
    char s2[128];
    snprintf(s2, sizeof s2, "%s/s2", dir);
    test_write_text(s2, "garbage");
    EXPECT(!st_model_open(&m, index, &err));
    EXPECT_ERR(err, s2, "too short");
    // no model files at all
    file_rmtree(dir);
    test_tmp_dir(dir, sizeof dir, "st_test");
    snprintf(index, sizeof index, "%s/model.safetensors.index.json", dir);
    EXPECT(!st_model_open(&m, dir, &err));
    EXPECT_ERR(err, dir, "neither");
    // a single model.safetensors is preferred, like transformers
    write_shard(dir, "model.safetensors", AB, 2);
    test_write_text(index, "not json");
    EXPECT_MSG(st_model_open(&m, dir, &err), "%s", err.msg);
    EXPECT(m.nshards == 1 && m.count == 2 && st_model_find(&m, "b") && !st_model_find(&m, "c"));
    st_model_close(&m);
    file_rmtree(dir);
    EXPECT(!st_model_open(&m, "/nonexistent_folder", &err));
    EXPECT_ERR(err, "/nonexistent_folder: ", NULL);
}

// ---- writer ----

TEST(st_writer_round_trip) {
    char dir[64], path[128];
    test_tmp_dir(dir, sizeof dir, "st_test");
    snprintf(path, sizeof path, "%s/out.safetensors", dir);
    float w32[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
    float src16[5] = {1.0f, -2.5f, 65504.0f, 6e-8f, 0.1f};
    uint16_t h16[5], b16[5];
    dtype_from_f32(h16, DTYPE_F16, src16, 5);
    dtype_from_f32(b16, DTYPE_BF16, src16, 5);
    int64_t ids[3] = {-1, 0, 1ll << 50};
    uint8_t mask[3] = {1, 0, 1};
    float scalar = 42.0f;
    uint64_t s23[2] = {2, 3}, s5[1] = {5}, s3[1] = {3}, s0[2] = {0, 4};
    StWriter *w = st_writer_new();
    st_writer_add(w, "u8.mask", DTYPE_U8, 1, s3, mask);          // added in no particular order
    st_writer_add(w, "h", DTYPE_F16, 1, s5, h16);
    st_writer_add_f32(w, "w", 2, s23, w32);
    st_writer_add(w, "bf", DTYPE_BF16, 1, s5, b16);
    st_writer_add(w, "ids", DTYPE_I64, 1, s3, ids);
    st_writer_add_f32(w, "scalar", 0, NULL, &scalar);
    st_writer_add(w, "empty", DTYPE_F32, 2, s0, NULL);
    st_writer_meta(w, "kind", "op.test");
    st_writer_meta(w, "config", "{\"a\": \"line\\nbreak\xc3\xa9\"}");
    LpoiErr err = {{0}};
    EXPECT_MSG(st_writer_write(w, path, &err), "%s", err.msg);
    st_writer_free(w);

    StFile f;
    EXPECT_MSG(st_open(&f, path, &err), "%s", err.msg);
    EXPECT_EQ_INT(f.header_len % 8, 0);
    EXPECT_EQ_INT(count_entries(dir), 1);   // no temp file left behind
    EXPECT_STREQ(st_meta(&f, "format"), "pt");
    EXPECT_STREQ(st_meta(&f, "kind"), "op.test");
    EXPECT_STREQ(st_meta(&f, "config"), "{\"a\": \"line\\nbreak\xc3\xa9\"}");
    // reference layout: element size descending, then name
    static const char *order[] = {"ids", "empty", "scalar", "w", "bf", "h", "u8.mask"};
    EXPECT_EQ_INT(f.count, 7);
    for (size_t i = 0; i < f.count && i < 7; i++) {
        EXPECT_STREQ(f.tensors[i].name, order[i]);
        int bytes = dtype_bits(f.tensors[i].dtype) / 8;
        EXPECT_MSG(((uintptr_t)f.tensors[i].data) % (uintptr_t)bytes == 0, "%s unaligned", f.tensors[i].name);
    }
    const StTensor *t;
    EXPECT((t = st_find(&f, "w")) && t->ndim == 2 && t->shape[1] == 3 && memcmp(t->data, w32, sizeof w32) == 0);
    EXPECT((t = st_find(&f, "h")) && t->dtype == DTYPE_F16 && memcmp(t->data, h16, sizeof h16) == 0);
    EXPECT((t = st_find(&f, "bf")) && t->dtype == DTYPE_BF16 && memcmp(t->data, b16, sizeof b16) == 0);
    EXPECT((t = st_find(&f, "ids")) && memcmp(t->data, ids, sizeof ids) == 0);
    EXPECT((t = st_find(&f, "u8.mask")) && memcmp(t->data, mask, sizeof mask) == 0);
    EXPECT((t = st_find(&f, "scalar")) && t->ndim == 0 && f32_at(t, 0) == 42.0f);
    EXPECT((t = st_find(&f, "empty")) && t->numel == 0 && t->begin == t->end);
    // values through the converters: F16/BF16 round-to-nearest
    if ((t = st_find(&f, "h"))) {
        float back[5];
        EXPECT(st_read_f32(t, back, &err));
        EXPECT(back[0] == 1.0f && back[1] == -2.5f && back[2] == 65504.0f);
        EXPECT_NEAR(back[3], 6e-8, 3e-8, 0);   // F16 subnormal
        EXPECT_NEAR(back[4], 0.1, 0, 1e-3);
    }
    if ((t = st_find(&f, "bf"))) {
        float back[5];
        EXPECT(st_read_f32(t, back, &err));
        EXPECT(back[0] == 1.0f && back[1] == -2.5f && back[2] == 65536.0f);   // 65504 rounds up in bf16
        EXPECT_NEAR(back[4], 0.1, 0, 4e-3);
    }
    st_close(&f);

    // writing again over the existing file replaces it completely
    w = st_writer_new();
    st_writer_add(w, "only", DTYPE_U8, 1, s3, mask);
    EXPECT(st_writer_write(w, path, &err));
    st_writer_free(w);
    EXPECT(st_open(&f, path, &err) && f.count == 1 && st_find(&f, "only"));
    st_close(&f);
    EXPECT_EQ_INT(count_entries(dir), 1);
    file_rmtree(dir);
}

// A failed write never touches an existing file and leaves no temp files.
TEST(st_writer_failures_leave_old_file) {
    char dir[64], path[128];
    test_tmp_dir(dir, sizeof dir, "st_test");
    snprintf(path, sizeof path, "%s/keep.safetensors", dir);
    test_write_text(path, "old contents");
    uint8_t x = 1;
    uint64_t s1[1] = {1}, s9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, huge[2] = {1ull << 62, 8};
    for (int c = 0; c < 7; c++) {
        StWriter *w = st_writer_new();
        const char *needle = NULL;
        switch (c) {
        case 0: st_writer_add(w, "a", DTYPE_U8, 1, s1, &x); st_writer_add(w, "a", DTYPE_U8, 1, s1, &x); needle = "twice"; break;
        case 1: st_writer_add(w, "bad\xff", DTYPE_U8, 1, s1, &x); needle = "UTF-8"; break;
        case 2: st_writer_add(w, "__metadata__", DTYPE_U8, 1, s1, &x); needle = "__metadata__"; break;
        case 3: st_writer_add(w, "a", DTYPE_U8, 9, s9, &x); needle = "dimensions"; break;
        case 4: st_writer_add(w, "a", DTYPE_INVALID, 1, s1, &x); needle = "dtype"; break;
        case 5: st_writer_add(w, "a", DTYPE_U8, 1, s1, NULL); needle = "no data"; break;
        case 6: st_writer_add(w, "a", DTYPE_F64, 2, huge, &x); needle = "64"; break;
        }
        LpoiErr err = {{0}};
        EXPECT_MSG(!st_writer_write(w, path, &err), "case %d written", c);
        EXPECT_ERR(err, path, needle);
        st_writer_free(w);
        char *text = test_read_text(path);
        EXPECT(text && strcmp(text, "old contents") == 0);
        free(text);
        EXPECT_EQ_INT(count_entries(dir), 1);
    }
    // a folder that does not exist: clean failure naming the path
    StWriter *w = st_writer_new();
    st_writer_add(w, "a", DTYPE_U8, 1, s1, &x);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/folder/x.safetensors", dir);
    LpoiErr err = {{0}};
    EXPECT(!st_writer_write(w, missing, &err));
    EXPECT_ERR(err, missing, "No such file");
    // the target is a folder: rename fails, the folder and its contents stay, the temp file goes
    char sub[128], inner[160];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0700);
    snprintf(inner, sizeof inner, "%s/inner", sub);
    test_write_text(inner, "x");
    EXPECT(!st_writer_write(w, sub, &err));
    EXPECT_ERR(err, sub, "rename");
    EXPECT_EQ_INT(count_entries(dir), 2);
    EXPECT_EQ_INT(count_entries(sub), 1);
    st_writer_free(w);
    remove(inner);
    file_rmtree(dir);
}

TEST(file_atomic_write_and_read_all) {
    char dir[64], path[128];
    test_tmp_dir(dir, sizeof dir, "st_test");
    snprintf(path, sizeof path, "%s/f.bin", dir);
    LpoiErr err = {{0}};
    EXPECT(file_write_atomic(path, "hello\0world", 11, &err));
    size_t n = 0;
    char *text = file_read_all(path, 100, &n, &err);
    EXPECT(text && n == 11 && memcmp(text, "hello\0world", 12) == 0);   // NUL-terminated too
    free(text);
    EXPECT(file_read_all(path, 10, &n, &err) == NULL);
    EXPECT_ERR(err, path, "limit");
    EXPECT(file_read_all(dir, 100, &n, &err) == NULL);
    EXPECT_ERR(err, dir, "folder");
    EXPECT(file_read_all("/nonexistent/f", 100, &n, &err) == NULL);
    EXPECT_ERR(err, "/nonexistent/f: ", NULL);
    EXPECT(file_write_atomic(path, "", 0, &err));
    text = file_read_all(path, 100, &n, &err);
    EXPECT(text && n == 0 && text[0] == '\0');
    free(text);
    EXPECT_EQ_INT(count_entries(dir), 1);
    file_rmtree(dir);
}
