// wordpiece_test.c — BERT WordPiece against HF, id for id and string for string.
// testdata/gdino/wordpiece_*.json (tools/golden_gdino_text.py) hold, for grounding-dino-tiny's
// tokenizer.json and bert-base-uncased's vocab.txt (read from ../shared/data/hf; the tests skip
// when it is absent): a hostile corpus + seeded random strings with transformers' ids (plain, with
// [CLS]/[SEP], truncated to 256) and random id lists with its decodes. Also: malformed files and
// inputs refused with a one-line reason, and the normalizer's character rules on their own.
#include "test/test.h"
#include "text/wordpiece.h"
#include "base/json.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HF_DIR "../shared/data/hf/"
#define GDINO_DIR HF_DIR "IDEA-Research__grounding-dino-tiny"

static JsonDoc *read_json(const char *path) {
    LpoiErr err = {{0}};
    JsonDoc *d = json_load_file(path, (size_t)1 << 28, &err);
    if (!d) test_fail_at(__FILE__, __LINE__, "%s", err.msg);
    return d;
}

// A JSON list of ids (anything else: -1, which no encode produces).
static TokIds ids_from_json(const JsonValue *arr) {
    TokIds v = {0};
    for (size_t i = 0; arr && i < arr->count; i++)
        tok_ids_push(&v, arr->items[i]->type == JSON_NUMBER ? (int32_t)arr->items[i]->number : -1);
    return v;
}

static void check_encode(const WordPiece *wp, const JsonValue *row, bool special, size_t max_len, const JsonValue *want,
                         int *bad) {
    const JsonValue *text = json_get(row, "text");
    TokIds got = {0}, exp = ids_from_json(want);
    LpoiErr err = {{0}};
    bool ok = wordpiece_encode(wp, text->str, text->len, special, max_len, &got, &err);
    if (!ok || !want || got.count != exp.count || (got.count && memcmp(got.ids, exp.ids, got.count * sizeof *got.ids))) {
        if ((*bad)++ < 5) {
            char q[200];
            test_fail_at(__FILE__, __LINE__, "encode(%s, special=%d, max=%zu): %s (got %zu ids, want %zu)",
                         json_quote_short(q, sizeof q, text->str, text->len), special, max_len, ok ? "ids differ" : err.msg,
                         got.count, exp.count);
        }
    }
    tok_ids_free(&got);
    tok_ids_free(&exp);
}

static void run_expected(const char *file, const char *load_as) {
    char path[512];
    snprintf(path, sizeof path, "%s/gdino/%s", test_data_dir(), file);
    JsonDoc *doc = read_json(path);
    if (!doc) return;
    const JsonValue *root = json_root(doc);
    const char *label = json_get_str(root, "tokenizer");
    char src[512];
    snprintf(src, sizeof src, HF_DIR "%s", label ? label : "?");
    if (access(src, F_OK) != 0) { json_free(doc); test_skip("../shared/data/hf is absent"); return; }
    LpoiErr err = {{0}};
    // load_as: a folder (with tokenizer_config.json, as from_pretrained reads it) or the file alone
    WordPiece *wp = load_as ? wordpiece_load_dir(load_as, &err) : wordpiece_load(src, &err);
    EXPECT_MSG(wp, "%s", err.msg);
    if (!wp) { json_free(doc); return; }
    EXPECT_EQ_INT(wordpiece_vocab_size(wp), 30522);
    const JsonValue *enc = json_get(root, "encode"), *dec = json_get(root, "decode");
    EXPECT(enc && enc->count > 700 && dec && dec->count > 100);
    int bad = 0;
    size_t truncated = 0;
    for (size_t i = 0; enc && i < enc->count; i++) {
        const JsonValue *row = enc->items[i], *trunc = json_get(row, "ids_trunc256");
        check_encode(wp, row, false, 0, json_get(row, "ids"), &bad);
        check_encode(wp, row, true, 0, json_get(row, "ids_special"), &bad);
        check_encode(wp, row, true, 256, trunc ? trunc : json_get(row, "ids_special"), &bad);
        truncated += trunc != NULL;
    }
    EXPECT(truncated >= 2);
    for (size_t i = 0; dec && i < dec->count; i++) {
        const JsonValue *row = dec->items[i], *want = json_get(row, "text");
        TokIds ids = ids_from_json(json_get(row, "ids"));
        size_t len;
        char *got = wordpiece_decode(wp, ids.ids, ids.count, &len);
        if (!(want && want->len == len && !memcmp(got, want->str, len)) && bad++ < 5) {
            char a[160], b[160];
            test_fail_at(__FILE__, __LINE__, "decode %zu: got %s, want %s", i, json_quote_short(a, sizeof a, got, len),
                         want ? json_quote_short(b, sizeof b, want->str, want->len) : "?");
        }
        free(got);
        tok_ids_free(&ids);
    }
    EXPECT_EQ_INT(bad, 0);
    wordpiece_free(wp);
    json_free(doc);
}

TEST(wordpiece_gdino_tokenizer_json_matches_hf) { run_expected("wordpiece_gdino.json", GDINO_DIR); }
TEST(wordpiece_bert_vocab_txt_matches_hf) { run_expected("wordpiece_bert_vocab.json", NULL); }

// The character rules, independent of any vocabulary (values from Python's tokenizers by hand).
TEST(wordpiece_normalizer_rules) {
    static const struct { const char *in, *want; } cases[] = {
        {"Crème BRÛLÉE", "creme brulee"}, {"a\tb\nc\x01\xc2\xad" "d", "a b cd"}, {"猫x", " 猫 x"},
        {"\xea\xb0\x81", "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"},   // 각 → ᄀ ᅡ ᆨ
        {"ΣΑΣ", "σασ"}, {"İ", "i"}, {"ﬁ", "ﬁ"}, {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        char *got = wordpiece_normalize(cases[i].in, strlen(cases[i].in), &n);
        EXPECT_STREQ(got, cases[i].want);
        free(got);
    }
}

static void expect_load_error(const char *name, const char *text, const char *needle) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "wp");
    const char *path = test_path(dir, name);
    EXPECT(test_write_text(path, text));
    LpoiErr err = {{0}};
    WordPiece *wp = wordpiece_load(path, &err);
    EXPECT_MSG(!wp && strstr(err.msg, needle) && !strchr(err.msg, '\n'), "%s: got \"%s\", want \"%s\"", name, err.msg, needle);
    wordpiece_free(wp);
    unlink(path);
    rmdir(dir);
}

#define TJ_HEAD "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,"
#define TJ_NORM "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true},"
#define TJ_PRE "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
#define TJ_POST "\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",3],\"cls\":[\"[CLS]\",2]},"
#define TJ_DEC "\"decoder\":{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true},"
#define TJ_ADDED "\"added_tokens\":[{\"id\":2,\"content\":\"[CLS]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
#define TJ_MODEL "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":5,\"vocab\":{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"a\":4,\"##b\":5,\"ab\":6,\"c\":7,\".\":8}}}"

TEST(wordpiece_small_tokenizer_json) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "wp");
    const char *path = test_path(dir, "tokenizer.json");
    EXPECT(test_write_text(path, TJ_HEAD TJ_NORM TJ_PRE TJ_POST TJ_DEC TJ_ADDED TJ_MODEL));
    LpoiErr err = {{0}};
    WordPiece *wp = wordpiece_load(path, &err);
    EXPECT_MSG(wp, "%s", err.msg);
    if (wp) {
        // longest match first, "##" continuation, unknown piece → the whole word [UNK], over 5 chars → [UNK]
        static const struct { const char *text; int32_t want[8]; size_t n; } cases[] = {
            {"abb.", {2, 6, 5, 8, 3}, 5}, {"A C", {2, 4, 7, 3}, 4}, {"abx c", {2, 1, 7, 3}, 4},
            {"abbbbb", {2, 1, 3}, 3}, {"abbbb", {2, 6, 5, 5, 5, 3}, 6}, {"[CLS]a", {2, 2, 4, 3}, 4}, {"", {2, 3}, 2},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            TokIds got = {0};
            EXPECT(wordpiece_encode(wp, cases[i].text, strlen(cases[i].text), true, 0, &got, &err));
            EXPECT_MSG(got.count == cases[i].n && !memcmp(got.ids, cases[i].want, got.count * sizeof(int32_t)), "case %zu", i);
            tok_ids_free(&got);
        }
        TokIds got = {0};
        EXPECT(!wordpiece_encode(wp, "a\xff", 2, true, 0, &got, &err) && strstr(err.msg, "UTF-8") && got.count == 0);
        EXPECT(!wordpiece_encode(wp, "a", 1, true, 1, &got, &err) && strstr(err.msg, "max_length"));
        EXPECT(wordpiece_encode(wp, "a c a", 5, true, 3, &got, &err) && got.count == 3 && got.ids[1] == 4 && got.ids[2] == 3);
        tok_ids_free(&got);
        int32_t ids[] = {2, 6, 5, 8, 99, 3, 4};
        char *s = wordpiece_decode(wp, ids, 7, NULL);
        EXPECT_STREQ(s, "[CLS] abb. [SEP] a");
        free(s);
        wordpiece_free(wp);
    }
    unlink(path);
    rmdir(dir);
}

TEST(wordpiece_refuses_what_it_does_not_implement) {
    expect_load_error("t.json", "[1]", "expected a JSON object");
    expect_load_error("t.json", "{", "invalid JSON");
    expect_load_error("t.json", TJ_HEAD "\"normalizer\":{\"type\":\"BertNormalizer\",\"lowercase\":false}," TJ_PRE TJ_POST TJ_DEC TJ_MODEL,
                      "uncased BertNormalizer");
    expect_load_error("t.json", TJ_HEAD TJ_NORM "\"pre_tokenizer\":{\"type\":\"Metaspace\"}," TJ_POST TJ_DEC TJ_MODEL,
                      "pre_tokenizer: \"Metaspace\" is not supported");
    expect_load_error("t.json", TJ_HEAD TJ_NORM TJ_PRE TJ_POST TJ_DEC
                      "\"added_tokens\":[{\"id\":9,\"content\":\"<x>\",\"normalized\":false}]," TJ_MODEL, "is not that vocab entry");
    expect_load_error("t.json", TJ_HEAD TJ_NORM TJ_PRE TJ_POST TJ_DEC
                      "\"added_tokens\":[{\"id\":2,\"content\":\"[CLS]\",\"lstrip\":true}]," TJ_MODEL, "not supported");
    expect_load_error("t.json", "{\"truncation\":{\"max_length\":5}," TJ_NORM TJ_PRE TJ_POST TJ_DEC TJ_MODEL, "truncation: must be null");
    expect_load_error("t.json", TJ_HEAD TJ_NORM TJ_PRE TJ_POST TJ_DEC "\"model\":{\"type\":\"BPE\",\"vocab\":{}}}", "model: \"BPE\"");
    expect_load_error("t.json", TJ_HEAD TJ_NORM TJ_PRE TJ_POST TJ_DEC
                      "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"a\":0,\"b\":0}}}", "used twice");
    expect_load_error("t.json", TJ_HEAD TJ_NORM TJ_PRE TJ_POST TJ_DEC
                      "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[CLS]\":2,\"[SEP]\":3}}}", "unk token");
    expect_load_error("vocab.txt", "[PAD]\n[UNK]\n[SEP]\n[MASK]\n", "[CLS] is not in the vocabulary");
    expect_load_error("vocab.txt", "[PAD]\n\xff\n", "not valid UTF-8");
}

TEST(wordpiece_vocab_txt_lines) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "wp");
    const char *path = test_path(dir, "vocab.txt");
    // \r\n and \r end lines (Python text mode); a repeated token keeps its last id
    EXPECT(test_write_text(path, "[PAD]\r\n[UNK]\r[CLS]\n[SEP]\n[MASK]\nab\nab\n##c"));
    LpoiErr err = {{0}};
    WordPiece *wp = wordpiece_load(path, &err);
    EXPECT_MSG(wp, "%s", err.msg);
    if (wp) {
        EXPECT_EQ_INT(wordpiece_vocab_size(wp), 8);
        EXPECT_EQ_INT(wordpiece_token_to_id(wp, "ab", 2), 6);
        EXPECT(wordpiece_id_to_token(wp, 5, NULL) == NULL);
        EXPECT_EQ_INT(wordpiece_cls_id(wp), 2);
        TokIds got = {0};
        EXPECT(wordpiece_encode(wp, "ABC", 3, true, 0, &got, &err));
        EXPECT(got.count == 4 && got.ids[1] == 6 && got.ids[2] == 7);
        tok_ids_free(&got);
        wordpiece_free(wp);
    }
    unlink(path);
    rmdir(dir);
}

// Load and encode speed on grounding-dino-tiny's tokenizer.json (printed; the bounds only catch a
// pathological slowdown on a loaded 2-core machine).
TEST(wordpiece_real_speed) {
    if (access(GDINO_DIR "/tokenizer.json", F_OK) != 0) { test_skip("../shared/data/hf is absent"); return; }
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    LpoiErr err = {{0}};
    WordPiece *wp = wordpiece_load_dir(GDINO_DIR, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    EXPECT_MSG(wp, "%s", err.msg);
    if (!wp) return;
    const char *caption = "a person. a bicycle. a car. a motorcycle. an airplane. a bus. a train. a truck. a boat. "
                          "a traffic light. a fire hydrant. a stop sign. a parking meter. a bench. a bird. a cat.";
    TokIds ids = {0};
    for (int i = 0; i < 1000; i++) {
        ids.count = 0;
        EXPECT(wordpiece_encode(wp, caption, strlen(caption), true, 256, &ids, &err));
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    double load_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) * 1e-6;
    double enc_us = ((t2.tv_sec - t1.tv_sec) * 1e6 + (t2.tv_nsec - t1.tv_nsec) * 1e-3) / 1000;
    fprintf(stderr, "    grounding-dino-tiny tokenizer: load %.1f ms, encode %zu ids in %.1f us\n", load_ms, ids.count, enc_us);
    EXPECT(load_ms < 2000 && enc_us < 20000);
    tok_ids_free(&ids);
    wordpiece_free(wp);
}
