// tokenizer_test.c — the BPE tokenizer against HF tokenizers, id for id and string for string.
// testdata/tokenizer/expected_*.json (written by tools/golden_tokenizer.py) hold, per tokenizer,
// an edge-case corpus + seeded random strings with HF's ids (with and without special tokens)
// and HF's decodes of them, and random id lists with HF's decodes. The tiny tokenizers live in
// testdata/tokenizer/; the real llava-1.5 / Mistral ones are read from ../shared/data/hf (tests
// skip when that folder is absent). Also: malformed files refused with the right message,
// invalid UTF-8, API details, and load/encode speed on the real llava tokenizer.
#include "test/test.h"
#include "text/tokenizer.h"
#include "text/tokenizer_internal.h"   // max_word, to test the blow-up guard cheaply
#include "base/json.h"
#include "base/file.h"
#include "base/rng.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LLAVA_DIR "../shared/data/hf/llava-hf__llava-1.5-7b-hf"
#define MISTRAL_DIR "../shared/data/hf/mistralai__Mistral-7B-v0.1"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static JsonDoc *read_json(const char *path) {
    LpoiErr err = {{0}};
    size_t n;
    char *text = file_read_all(path, (size_t)1 << 28, &n, &err);
    if (!text) { test_fail_at(__FILE__, __LINE__, "%s", err.msg); return NULL; }
    JsonDoc *d = json_parse(text, n, &err);
    free(text);
    if (!d) test_fail_at(__FILE__, __LINE__, "%s: %s", path, err.msg);
    return d;
}

// The tokenizer of a folder under ../shared/data/hf; NULL (the test skipped, or failed) when it is
// absent or does not load.
static Tokenizer *load_dir_or_skip(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (access(path, F_OK) != 0) { test_skip("../shared/data/hf is absent"); return NULL; }
    LpoiErr err = {{0}};
    Tokenizer *t = tokenizer_load_dir(dir, &err);
    EXPECT_MSG(t, "%s", err.msg);
    return t;
}

static bool ids_equal(const TokIds *got, const JsonValue *want) {
    if (!want || want->type != JSON_ARRAY || want->count != got->count) return false;
    for (size_t i = 0; i < got->count; i++) {
        int64_t v;
        if (!json_as_i64(want->items[i], &v) || v != got->ids[i]) return false;
    }
    return true;
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "    %s:", what);
    for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "%s\n", n > 40 ? " ..." : "");
}

// Compares a decode with the expected JSON string (null: HF panics there, nothing to compare).
static bool decode_matches(const Tokenizer *t, const int32_t *ids, size_t n, bool skip, const JsonValue *want) {
    if (!want || want->type == JSON_NULL) return true;
    size_t len;
    char *got = tokenizer_decode(t, ids, n, skip, &len);
    bool ok = want->type == JSON_STRING && want->len == len && memcmp(got, want->str, len) == 0;
    if (!ok) {
        char a[160], b[160];
        fprintf(stderr, "    decode(skip_special=%d): got %s, want %s\n", skip, json_quote_short(a, sizeof a, got, len),
                want->type == JSON_STRING ? json_quote_short(b, sizeof b, want->str, want->len) : "?");
    }
    free(got);
    return ok;
}

static TokIds ids_from_json(const JsonValue *arr) {
    TokIds v = {0};
    for (size_t i = 0; arr && i < arr->count; i++) {
        int64_t x = -1;
        json_as_i64(arr->items[i], &x);
        tok_ids_push(&v, (int32_t)x);
    }
    return v;
}

// Runs one expected_<name>.json; returns false (test skipped) when its tokenizer is absent.
static void run_expected(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer/expected_%s.json", test_data_dir(), name);
    JsonDoc *doc = read_json(path);
    if (!doc) return;
    const JsonValue *root = json_root(doc);
    const char *tok_path = json_get_str(root, "tokenizer"), *cfg_path = json_get_str(root, "config");
    EXPECT(tok_path != NULL);
    if (!tok_path || access(tok_path, F_OK) != 0) {
        json_free(doc);
        test_skip("../shared/data/hf is absent");
        return;
    }
    LpoiErr err = {{0}};
    Tokenizer *t = tokenizer_load(tok_path, &err);
    EXPECT_MSG(t, "%s", err.msg);
    if (t && cfg_path) EXPECT_MSG(tokenizer_apply_config(t, cfg_path, &err), "%s", err.msg);
    if (!t) { json_free(doc); return; }
    int64_t vs;
    EXPECT(json_get_i64(root, "vocab_size", &vs) && (size_t)vs == tokenizer_vocab_size(t));

    const JsonValue *id2tok = json_get(root, "id_to_token");
    EXPECT(id2tok && id2tok->count > 3);
    for (size_t i = 0; id2tok && i < id2tok->count; i++) {
        const JsonValue *pair = id2tok->items[i], *want = json_at(pair, 1);
        int64_t id = -1;
        json_as_i64(json_at(pair, 0), &id);
        size_t len = 0;
        const char *got = tokenizer_id_to_token(t, (int32_t)id, &len);
        bool same = want->type == JSON_NULL ? got == NULL : got && len == want->len && memcmp(got, want->str, len) == 0;
        EXPECT_MSG(same, "%s: id_to_token(%lld) = %s", name, (long long)id, got ? got : "(null)");
    }
    const JsonValue *enc = json_get(root, "encode"), *dec = json_get(root, "decode");
    EXPECT(enc && enc->count > 100 && dec && dec->count > 30);
    size_t bad = 0, n_enc = enc ? enc->count : 0, n_dec = dec ? dec->count : 0;
    for (size_t i = 0; i < n_enc; i++) {
        const JsonValue *c = enc->items[i], *text = json_get(c, "text");
        for (int special = 1; special >= 0; special--) {
            TokIds ids = {0};
            bool ok = tokenizer_encode(t, text->str, text->len, special, &ids, &err);
            const JsonValue *want = json_get(c, special ? "ids" : "ids_plain");
            bool same = ok && ids_equal(&ids, want);
            if (same && special) {   // decode(encode(s)) as HF decodes it
                same = decode_matches(t, ids.ids, ids.count, true, json_get(c, "decoded")) &&
                       decode_matches(t, ids.ids, ids.count, false, json_get(c, "decoded_special"));
            }
            if (!same && bad++ < 5) {
                char q[200];
                fprintf(stderr, "  %s: encode[%zu] %s (add_special=%d)%s%s\n", name, i,
                        json_quote_short(q, sizeof q, text->str, text->len), special, ok ? "" : ": ", ok ? "" : err.msg);
                print_ids("got ", ids.ids, ids.count);
                TokIds w = ids_from_json(want);
                print_ids("want", w.ids, w.count);
                tok_ids_free(&w);
            }
            tok_ids_free(&ids);
        }
    }
    for (size_t i = 0; i < n_dec; i++) {
        const JsonValue *c = dec->items[i];
        TokIds ids = ids_from_json(json_get(c, "ids"));
        bool same = decode_matches(t, ids.ids, ids.count, true, json_get(c, "text")) &&
                    decode_matches(t, ids.ids, ids.count, false, json_get(c, "text_special"));
        if (!same && bad++ < 5) {
            fprintf(stderr, "  %s: decode[%zu]\n", name, i);
            print_ids("ids", ids.ids, ids.count);
        }
        tok_ids_free(&ids);
    }
    EXPECT_MSG(bad == 0, "%s: %zu of %zu strings / %zu id lists differ from HF tokenizers", name, bad, n_enc, n_dec);
    tokenizer_free(t);
    json_free(doc);
}

TEST(tokenizer_tiny_llama_matches_hf) { run_expected("tiny_llama"); }
TEST(tokenizer_tiny_mistral_matches_hf) { run_expected("tiny_mistral"); }
TEST(tokenizer_tiny_always_matches_hf) { run_expected("tiny_always"); }
TEST(tokenizer_tiny_never_matches_hf) { run_expected("tiny_never"); }
TEST(tokenizer_tiny_raw_matches_hf) { run_expected("tiny_raw"); }
TEST(tokenizer_llava15_matches_hf) { run_expected("llava15"); }
TEST(tokenizer_mistral7b_matches_hf) { run_expected("mistral7b"); }
TEST(tokenizer_idefics2_on_mistral_matches_hf) { run_expected("idefics2_on_mistral"); }

// ---------------------------------------------------------------------------------------------

TEST(tokenizer_bad_files_refused) {
    static const struct { const char *file, *msg; } cases[] = {
        {"not_json", "offset"},
        {"root_array", "expected a JSON object"},
        {"no_model", "model: expected an object"},
        {"model_wordpiece", "model.type: \"WordPiece\" is not supported"},
        {"vocab_not_object", "model.vocab: expected an object"},
        {"vocab_negative_id", "\"zz\": id must be an integer"},
        {"vocab_fractional_id", "\"zz\": id must be an integer"},
        {"vocab_huge_id", "\"zz\": id must be an integer"},
        {"vocab_sparse_id", "largest id 100000 for 12 entries"},
        {"vocab_duplicate_id", "have the same id 5"},
        {"vocab_byte_token_not_hex", "\"<0xZZ>\": byte tokens must be <0xHH>"},
        {"vocab_byte_token_minus", "\"<0x-1>\": byte tokens must be <0xHH>"},
        {"merge_piece_missing", "piece \"nothere\" is not in model.vocab"},
        {"merge_result_missing", "merged piece \"<0x41><0x42>\" is not in model.vocab"},
        {"merge_three_parts", "\"a b c\" is not two pieces separated by one space"},
        {"merge_mixed_forms", "like the first entry"},
        {"merge_pair_of_three", "expected a pair of two strings"},
        {"dropout", "model.dropout: BPE dropout is random"},
        {"fuse_unk_string", "model.fuse_unk: expected true or false"},
        {"subword_prefix", "model.continuing_subword_prefix: not supported"},
        {"normalizer_nfkc", "normalizer.type: \"NFKC\" is not supported"},
        {"normalizer_regex", "normalizer.normalizers[1].pattern: Regex patterns are not supported"},
        {"normalizer_no_type", "normalizer.type: missing"},
        {"pre_tokenizer_bytelevel", "pre_tokenizer.type: \"ByteLevel\" is not supported"},
        {"metaspace_bad_scheme", "pre_tokenizer.prepend_scheme: \"sometimes\""},
        {"metaspace_two_char_replacement", "pre_tokenizer.replacement: expected exactly one character"},
        {"decoder_bytelevel", "decoder.type: \"ByteLevel\" is not supported"},
        {"decoder_strip_negative", "decoder.decoders[3]: start and stop"},
        {"post_processor_bert", "post_processor.type: \"BertProcessing\" is not supported"},
        {"template_id_out_of_range", "ids[0] is not the id of a token"},
        {"template_unknown_special", "\"<nope>\": missing"},
        {"added_token_wrong_id", "has id 5, but tokenizers gives it id 11"},
        {"added_token_no_content", "added_tokens[3].content: missing"},
        {"added_token_empty", "added_tokens[3]: empty content"},
        {"added_token_duplicate", "\"<image>\" is already an added token"},
        {"added_token_byte_shape", "\"<0x+F>\": byte tokens must be <0xHH>"},
        {"truncation_set", "truncation: not supported"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tokenizer/bad/%s.json", test_data_dir(), cases[i].file);
        LpoiErr err = {{0}};
        Tokenizer *t = tokenizer_load(path, &err);
        EXPECT_MSG(!t, "%s: accepted", path);
        tokenizer_free(t);
        EXPECT_MSG(strncmp(err.msg, path, strlen(path)) == 0 && strstr(err.msg, cases[i].msg) && !strchr(err.msg, '\n'),
                   "%s: message \"%s\" lacks \"%s\"", cases[i].file, err.msg, cases[i].msg);
    }
    LpoiErr err = {{0}};
    EXPECT(!tokenizer_load("testdata/tokenizer/does_not_exist.json", &err) && strstr(err.msg, "cannot open"));
}

// Truncations of a valid file must all be refused cleanly (no crash, one-line message).
TEST(tokenizer_truncated_files_refused) {
    size_t n;
    LpoiErr err = {{0}};
    char *text = file_read_all("testdata/tokenizer/tiny_raw.json", 1 << 20, &n, &err);
    EXPECT_MSG(text, "%s", err.msg);
    if (!text) return;
    for (size_t cut = 0; cut + 2 < n; cut += 7) {
        Tokenizer *t = tokenizer_load_json(text, cut, "cut.json", &err);
        EXPECT_MSG(!t && strncmp(err.msg, "cut.json: ", 10) == 0, "cut at %zu: %s", cut, t ? "accepted" : err.msg);
        tokenizer_free(t);
    }
    free(text);
}

TEST(tokenizer_invalid_utf8_refused) {
    LpoiErr err = {{0}};
    Tokenizer *t = tokenizer_load("testdata/tokenizer/tiny_llama.json", &err);
    EXPECT_MSG(t, "%s", err.msg);
    if (!t) return;
    static const char *bad[] = {"\xff", "ab\xc3", "\xc0\xaf", "\xed\xa0\x80", "a\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        TokIds ids = {0};
        tok_ids_push(&ids, 7);
        EXPECT(!tokenizer_encode(t, bad[i], strlen(bad[i]), true, &ids, &err));
        EXPECT(strstr(err.msg, "not valid UTF-8") != NULL);
        EXPECT(ids.count == 1 && ids.ids[0] == 7);   // nothing appended on failure
        tok_ids_free(&ids);
    }
    // encode appends
    TokIds ids = {0};
    EXPECT(tokenizer_encode(t, "a", 1, true, &ids, &err) && tokenizer_encode(t, "a", 1, true, &ids, &err));
    EXPECT(ids.count >= 4 && ids.ids[0] == 1 && ids.ids[ids.count / 2] == 1);
    tok_ids_free(&ids);
    tokenizer_free(t);
}

TEST(tokenizer_llava15_api_and_config) {
    Tokenizer *t = load_dir_or_skip(LLAVA_DIR);
    if (!t) return;
    LpoiErr err = {{0}};
    EXPECT_EQ_INT(tokenizer_vocab_size(t), 32002);
    EXPECT_EQ_INT(tokenizer_token_to_id(t, "<image>", 7), 32000);
    EXPECT_EQ_INT(tokenizer_token_to_id(t, "<pad>", 5), 32001);
    EXPECT_EQ_INT(tokenizer_token_to_id(t, "<0x0A>", 6), 13);
    EXPECT_EQ_INT(tokenizer_token_to_id(t, "nope-nope", 9), -1);
    EXPECT_EQ_INT(tokenizer_bos_id(t), 1);
    EXPECT_EQ_INT(tokenizer_eos_id(t), 2);
    EXPECT_EQ_INT(tokenizer_pad_id(t), 32001);
    EXPECT_EQ_INT(tokenizer_unk_id(t), 0);
    EXPECT(tokenizer_is_special(t, 32000) && tokenizer_is_special(t, 1) && !tokenizer_is_special(t, 13));
    size_t len;
    const char *s = tokenizer_id_to_token(t, 29871, &len);
    EXPECT(s && len == 3 && memcmp(s, "\xe2\x96\x81", 3) == 0);
    EXPECT(tokenizer_id_to_token(t, 32002, &len) == NULL && tokenizer_id_to_token(t, -1, &len) == NULL);
    // the ids transformers' integration tests quote for the llava prompt
    static const int32_t want[] = {1, 3148, 1001, 29901, 29871, 32000, 29871, 13, 5618, 338, 445, 29973, 319, 1799,
                                   9047, 13566, 29901};
    const char *prompt = "USER: <image>\nWhat is this? ASSISTANT:";
    TokIds ids = {0};
    EXPECT(tokenizer_encode(t, prompt, strlen(prompt), true, &ids, &err));
    EXPECT(ids.count == sizeof want / sizeof want[0] && memcmp(ids.ids, want, sizeof want) == 0);
    char *text = tokenizer_decode(t, ids.ids, ids.count, true, NULL);
    EXPECT_STREQ(text, "USER:  \nWhat is this? ASSISTANT:");
    free(text);
    // add_eos_token as LlamaTokenizerFast.update_post_processor would set it
    EXPECT(tokenizer_set_template(t, 1, 2, &err));
    ids.count = 0;
    EXPECT(tokenizer_encode(t, "hi", 2, true, &ids, &err));
    EXPECT(ids.count == 3 && ids.ids[0] == 1 && ids.ids[2] == 2);
    EXPECT(!tokenizer_set_template(t, 40000, -1, &err));
    tok_ids_free(&ids);
    tokenizer_free(t);
}

// Load time of the real 3.6 MB llava tokenizer.json and encode throughput on a long mixed text.
TEST(tokenizer_speed_llava15) {
    if (access(LLAVA_DIR "/tokenizer.json", F_OK) != 0) { test_skip("../shared/data/hf is absent"); return; }
    LpoiErr err = {{0}};
    double t0 = now_s();
    Tokenizer *t = tokenizer_load(LLAVA_DIR "/tokenizer.json", &err);
    double t_load = now_s() - t0;
    EXPECT_MSG(t, "%s", err.msg);
    if (!t) return;
    static const char *parts[] = {
        "USER: <image>\nDescribe the image in detail. ASSISTANT: The image shows a busy street with cars, ",
        "buses and people walking on the sidewalk; a red traffic light hangs above the crossing. ",
        "Le chat est assis sur la chaise. 猫が椅子の上に座っています。 😀 12345 ",
        "supercalifragilisticexpialidocious antidisestablishmentarianism\n\t"};
    size_t cap = 1 << 20, n = 0;
    char *text = malloc(cap + 256);
    for (size_t i = 0; n < cap; i++) {
        size_t l = strlen(parts[i % 4]);
        memcpy(text + n, parts[i % 4], l);
        n += l;
    }
    TokIds ids = {0};
    t0 = now_s();
    EXPECT(tokenizer_encode(t, text, n, true, &ids, &err));
    double t_enc = now_s() - t0;
    // one 64 KiB "word" without spaces: the merge loop must stay O(n log n)
    memset(text, 'a', 1 << 16);
    TokIds one = {0};
    t0 = now_s();
    EXPECT(tokenizer_encode(t, text, 1 << 16, false, &one, &err));
    double t_word = now_s() - t0;
    fprintf(stderr, "  llava-1.5 tokenizer.json: load %.0f ms; encode %.1f MB/s (%zu tokens from %.1f MB); "
                    "one 64 KiB word %.1f ms\n",
            t_load * 1e3, n / t_enc / 1e6, ids.count, n / 1e6, t_word * 1e3);
    EXPECT_MSG(t_load < 2.0, "load took %.2f s", t_load);   // ~0.1-0.3 s; loose for a busy machine
    EXPECT_MSG(t_word < 1.0, "a 64 KiB word took %.2f s", t_word);
    tok_ids_free(&ids);
    tok_ids_free(&one);
    free(text);
    tokenizer_free(t);
}

TEST(tokenizer_mistral_config_and_added_tokens) {
    Tokenizer *t = load_dir_or_skip(MISTRAL_DIR);
    if (!t) return;
    LpoiErr err = {{0}};
    EXPECT_EQ_INT(tokenizer_vocab_size(t), 32000);
    EXPECT_EQ_INT(tokenizer_bos_id(t), 1);
    EXPECT_EQ_INT(tokenizer_pad_id(t), -1);
    TokAddedFlags f = {.special = true};
    EXPECT_EQ_INT(tokenizer_add_token(t, "<image>", 7, f, 32000, &err), 32000);
    EXPECT_EQ_INT(tokenizer_add_token(t, "<x>", 3, f, 7, &err), -1);            // would be 32001
    EXPECT(strstr(err.msg, "gives it id 32001") != NULL);
    EXPECT_EQ_INT(tokenizer_add_token(t, "<image>", 7, f, -1, &err), -1);        // already there
    EXPECT_EQ_INT(tokenizer_add_token(t, "\xe2\x96\x81the", 6, f, -1, &err), 272);   // in the model vocab
    TokIds ids = {0};
    EXPECT(tokenizer_encode(t, "a<image>b the", 13, false, &ids, &err));
    EXPECT(ids.count >= 3 && ids.ids[1] == 32000);
    tok_ids_free(&ids);
    tokenizer_free(t);
}

// Random byte edits of valid files (deterministic): every result is refused with a one-line
// message or loads and then encodes/decodes without trouble (run under LPOI_SANITIZE=1 for teeth).
TEST(tokenizer_mutated_files_never_crash) {
    static const char *files[] = {"testdata/tokenizer/tiny_raw.json", "testdata/tokenizer/tiny_always.json"};
    static const char alphabet[] = "0123456789-+.eE\"{}[],: <>xab\\u\xe2\x96\x81";
    static const char *texts[] = {"", " a b <image>  [X] c\n", "\xc3\xa9\xe4\xb8\xad \xf0\x9f\x98\x80 hello world",
                                  "<W>x <R> <L> dog"};
    Rng rng;
    rng_seed(&rng, 1);
    size_t loaded = 0, refused = 0;
    for (size_t f = 0; f < 2; f++) {
        LpoiErr err = {{0}};
        size_t n;
        char *orig = file_read_all(files[f], 1 << 20, &n, &err);
        EXPECT_MSG(orig, "%s", err.msg);
        if (!orig) return;
        char *buf = malloc(n + 64);
        int iters = f == 0 ? 3000 : 300;
        for (int it = 0; it < iters; it++) {
            memcpy(buf, orig, n);
            size_t len = n;
            int edits = 1 + (int)rng_below(&rng, 3);
            for (int e = 0; e < edits && len > 1; e++) {
                size_t pos = (size_t)rng_below(&rng, len);
                switch (rng_below(&rng, 4)) {
                case 0: case 1: buf[pos] = alphabet[rng_below(&rng, sizeof alphabet - 1)]; break;
                case 2: memmove(buf + pos, buf + pos + 1, len - pos - 1); len--; break;   // delete
                default:                                                                     // duplicate
                    if (len < n + 60) { memmove(buf + pos + 1, buf + pos, len - pos); len++; }
                }
            }
            Tokenizer *t = tokenizer_load_json(buf, len, "mut.json", &err);
            if (!t) {
                refused++;
                EXPECT_MSG(strncmp(err.msg, "mut.json: ", 10) == 0 && !strchr(err.msg, '\n'), "%s", err.msg);
                continue;
            }
            loaded++;
            for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
                TokIds ids = {0};
                if (tokenizer_encode(t, texts[k], strlen(texts[k]), true, &ids, &err)) {
                    for (size_t j = 0; j < ids.count; j++)
                        EXPECT(ids.ids[j] >= 0 && (size_t)ids.ids[j] < tokenizer_vocab_size(t));
                    tok_ids_push(&ids, -5);
                    tok_ids_push(&ids, (int32_t)tokenizer_vocab_size(t) + 3);
                    free(tokenizer_decode(t, ids.ids, ids.count, k & 1, NULL));
                }
                tok_ids_free(&ids);
            }
            tokenizer_free(t);
        }
        free(buf);
        free(orig);
    }
    EXPECT(loaded > 50 && refused > 500);
}

static Tokenizer *load_inline(const char *json) {
    LpoiErr err = {{0}};
    Tokenizer *t = tokenizer_load_json(json, strlen(json), "inline.json", &err);
    EXPECT_MSG(t, "%s", err.msg);
    return t;
}

// Failures that only show at encode time: a named unk token missing from the vocab (HF loads such
// a file and fails only when a character needs unk), and a Replace chain that blows text up.
TEST(tokenizer_encode_time_errors) {
    Tokenizer *t = load_inline("{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<zz>\", \"vocab\": {\"a\": 0, \"b\": 1, "
                               "\"ab\": 2}, \"merges\": [\"a b\"]}}");
    LpoiErr err = {{0}};
    TokIds ids = {0};
    if (t) {
        EXPECT(tokenizer_encode(t, "abab", 4, true, &ids, &err) && ids.count == 2 && ids.ids[0] == 2);
        EXPECT(!tokenizer_encode(t, "aq", 2, true, &ids, &err) && strstr(err.msg, "\"<zz>\" is not in model.vocab"));
        EXPECT(ids.count == 2);
        char *s = tokenizer_decode(t, ids.ids, ids.count, false, NULL);   // no decoder: joined with " "
        EXPECT_STREQ(s, "ab ab");
        free(s);
    }
    tokenizer_free(t);
    char json[1024];
    snprintf(json, sizeof json, "{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": ["
             "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"%s\"},"
             "{\"type\": \"Replace\", \"pattern\": {\"String\": \"x\"}, \"content\": \"%s\"},"
             "{\"type\": \"Replace\", \"pattern\": {\"String\": \"x\"}, \"content\": \"%s\"},"
             "{\"type\": \"Replace\", \"pattern\": {\"String\": \"x\"}, \"content\": \"%s\"}]},"
             "\"model\": {\"type\": \"BPE\", \"vocab\": {\"x\": 0, \"y\": 1}, \"merges\": []}}",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    t = load_inline(json);
    if (t) {   // each space becomes 120^4 bytes; with the limit at 1 MiB: refused, not a crash
        t->max_word = 1 << 20;
        ids.count = 0;
        EXPECT(tokenizer_encode(t, "y", 1, false, &ids, &err) && ids.count == 1 && ids.ids[0] == 1);
        EXPECT(!tokenizer_encode(t, " ", 1, false, &ids, &err) && strstr(err.msg, "over the 1048576-byte limit"));
    }
    tokenizer_free(t);
    tok_ids_free(&ids);
}

// Found by fuzz/fuzz_tokenizer.c: decoding zero ids computed NULL + 0 (UB; UBSan reports it in the
// sanitizer build of this suite). It must give "".
TEST(tokenizer_decode_nothing) {
    LpoiErr err = {{0}};
    Tokenizer *t = tokenizer_load("testdata/tokenizer/tiny_llama.json", &err);
    EXPECT_MSG(t != NULL, "%s", err.msg);
    if (!t) return;
    for (int skip = 0; skip < 2; skip++) {
        size_t n = 7;
        char *s = tokenizer_decode(t, NULL, 0, skip, &n);
        EXPECT(s && n == 0 && s[0] == 0);
        free(s);
    }
    tokenizer_free(t);
}
