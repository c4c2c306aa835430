// gdino_text_test.c — Grounding DINO's caption rules, text masks, position ids and text position
// embedding against transformers 5.24 (testdata/gdino/captions.json, tools/golden_gdino_text.py).
// The masks and the embedding need no tokenizer; the caption → ids step reads grounding-dino-tiny's
// tokenizer from ../shared/data/hf (skipped when absent).
#include "test/test.h"
#include "models/gdino_text.h"
#include "base/json.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GDINO_DIR "../shared/data/hf/IDEA-Research__grounding-dino-tiny"

static JsonDoc *captions_json(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/gdino/captions.json", test_data_dir());
    LpoiErr err = {{0}};
    JsonDoc *d = json_load_file(path, (size_t)1 << 26, &err);
    if (!d) test_fail_at(__FILE__, __LINE__, "%s", err.msg);
    return d;
}

static size_t int_list(const JsonValue *arr, int32_t *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; arr && i < arr->count && n < cap; i++) {
        int64_t v = -1;
        json_as_i64(arr->items[i], &v);
        out[n++] = (int32_t)v;
    }
    return n;
}

// Checks HF's mask rows ("0110...") and position ids for B rows of T ids.
static void check_masks(const int32_t *ids, size_t B, size_t T, const JsonValue *mask, const JsonValue *pos, size_t at) {
    uint8_t *m = malloc(B * T * T);
    int32_t *p = malloc(B * T * sizeof *p);
    gdino_text_masks(ids, B, T, m, p);
    for (size_t b = 0; b < B; b++) {
        const JsonValue *rows = B == 1 && mask->count == T && mask->items[0]->type == JSON_STRING ? mask : json_at(mask, b);
        const JsonValue *prow = B == 1 && json_at(pos, 0)->type == JSON_NUMBER ? pos : json_at(pos, b);
        int32_t want[GDINO_MAX_TEXT_LEN];
        EXPECT_EQ_INT(int_list(prow, want, GDINO_MAX_TEXT_LEN), T);
        EXPECT_MSG(!memcmp(p + b * T, want, T * sizeof *p), "case %zu row %zu: position ids differ", at, b);
        for (size_t i = 0; i < T; i++) {
            const JsonValue *r = json_at(rows, i);
            for (size_t j = 0; r && j < T; j++)
                if ((r->str[j] == '1') != m[b * T * T + i * T + j]) {
                    test_fail_at(__FILE__, __LINE__, "case %zu row %zu: mask[%zu][%zu] differs", at, b, i, j);
                    i = T;
                    break;
                }
        }
    }
    free(m);
    free(p);
}

TEST(gdino_text_masks_match_hf) {
    JsonDoc *doc = captions_json();
    if (!doc) return;
    const JsonValue *root = json_root(doc), *cases = json_get(root, "cases"), *batches = json_get(root, "batches");
    EXPECT(cases && cases->count >= 10 && batches && batches->count >= 2);
    for (size_t c = 0; cases && c < cases->count; c++) {
        int32_t ids[GDINO_MAX_TEXT_LEN];
        size_t T = int_list(json_get(cases->items[c], "ids"), ids, GDINO_MAX_TEXT_LEN);
        check_masks(ids, 1, T, json_get(cases->items[c], "mask"), json_get(cases->items[c], "position_ids"), c);
    }
    for (size_t c = 0; batches && c < batches->count; c++) {
        const JsonValue *rows = json_get(batches->items[c], "ids");
        size_t B = rows->count, T = rows->items[0]->count;
        int32_t *ids = malloc(B * T * sizeof *ids);
        for (size_t b = 0; b < B; b++) EXPECT_EQ_INT(int_list(rows->items[b], ids + b * T, T), T);
        check_masks(ids, B, T, json_get(batches->items[c], "mask"), json_get(batches->items[c], "position_ids"), 100 + c);
        free(ids);
    }
    json_free(doc);
}

TEST(gdino_text_position_embedding_matches_hf) {
    JsonDoc *doc = captions_json();
    if (!doc) return;
    const JsonValue *pe = json_get(json_root(doc), "text_position_embedding");
    int32_t pos[GDINO_MAX_TEXT_LEN];
    size_t N = int_list(json_get(pe, "position_ids"), pos, GDINO_MAX_TEXT_LEN);
    const JsonValue *emb = json_get(pe, "embedding");
    EXPECT(N > 5 && emb && emb->count == N * 256);
    float *got = malloc(N * 256 * sizeof *got), *want = malloc(N * 256 * sizeof *want);
    gdino_text_position_embedding(pos, N, 256, got);
    for (size_t i = 0; i < N * 256; i++) want[i] = (float)emb->items[i]->number;
    // the same float32 steps; torch's vectorised sin/cos/pow differ by an ulp on 59 of 2816 values
    EXPECT_CLOSE_F32("text position embedding", got, want, N * 256, 3e-7, 0);
    free(got);
    free(want);
    json_free(doc);
}

TEST(gdino_caption_rules_match_hf) {
    JsonDoc *doc = captions_json();
    if (!doc) return;
    const JsonValue *cases = json_get(json_root(doc), "cases");
    LpoiErr err = {{0}};
    WordPiece *wp = NULL;
    if (access(GDINO_DIR "/tokenizer.json", F_OK) == 0) EXPECT_MSG((wp = wordpiece_load_dir(GDINO_DIR, &err)), "%s", err.msg);
    for (size_t c = 0; cases && c < cases->count; c++) {
        const JsonValue *row = cases->items[c], *phrases = json_get(row, "phrases");
        const char *caption = json_get_str(row, "caption");
        char *mine = NULL;
        if (phrases) {
            const char *list[16];
            for (size_t i = 0; i < phrases->count && i < 16; i++) list[i] = phrases->items[i]->str;
            mine = gdino_caption_from_phrases(list, phrases->count, &err);
            EXPECT_MSG(mine && !strcmp(mine, caption), "case %zu: caption \"%s\", want \"%s\"", c, mine ? mine : err.msg, caption);
        }
        if (wp) {
            TokIds ids = {0};
            int32_t want[GDINO_MAX_TEXT_LEN];
            size_t n = int_list(json_get(row, "ids"), want, GDINO_MAX_TEXT_LEN);
            bool ok = gdino_caption_ids(wp, mine ? mine : caption, GDINO_MAX_TEXT_LEN, &ids, &err);
            EXPECT_MSG(ok && ids.count == n && !memcmp(ids.ids, want, n * sizeof *want), "case %zu: ids differ (%s)", c, ok ? "" : err.msg);
            tok_ids_free(&ids);
        }
        free(mine);
    }
    if (wp) {   // bad captions: empty, only whitespace/punctuation-free noise, over 256 tokens
        TokIds ids = {0};
        EXPECT(!gdino_caption_ids(wp, "", GDINO_MAX_TEXT_LEN, &ids, &err) && strstr(err.msg, "empty"));
        EXPECT(!gdino_caption_ids(wp, " \t\x01 ", GDINO_MAX_TEXT_LEN, &ids, &err) && strstr(err.msg, "empty"));
        char *big = malloc(2000);
        for (int i = 0; i < 1000; i++) memcpy(big + 2 * i, "a ", 2);
        big[1999] = 0;
        EXPECT(!gdino_caption_ids(wp, big, GDINO_MAX_TEXT_LEN, &ids, &err) && strstr(err.msg, "1002 tokens") && strstr(err.msg, "256"));
        big[2 * 254 - 1] = 0;   // 254 words + [CLS] + [SEP] = 256: fits
        EXPECT_MSG(gdino_caption_ids(wp, big, GDINO_MAX_TEXT_LEN, &ids, &err) && ids.count == 256, "%s", err.msg);
        EXPECT(!gdino_caption_ids(wp, "a\xff", GDINO_MAX_TEXT_LEN, &ids, &err) && strstr(err.msg, "UTF-8"));
        free(big);
        tok_ids_free(&ids);
        wordpiece_free(wp);
    } else {
        test_skip("../shared/data/hf is absent (caption → ids not checked)");
    }
    json_free(doc);
}

TEST(gdino_caption_refusals) {
    LpoiErr err = {{0}};
    EXPECT(!gdino_caption_from_phrases(NULL, 0, &err) && strstr(err.msg, "no phrases"));
    const char *dot[] = {"a cat", "a. dog"}, *empty[] = {"a", " \t "}, *bad[] = {"\xc3"};
    EXPECT(!gdino_caption_from_phrases(dot, 2, &err) && strstr(err.msg, "phrase 2") && strstr(err.msg, "'.'"));
    EXPECT(!gdino_caption_from_phrases(empty, 2, &err) && strstr(err.msg, "phrase 2 is empty"));
    EXPECT(!gdino_caption_from_phrases(bad, 1, &err) && strstr(err.msg, "UTF-8"));
    const char *ok[] = {"\xe3\x80\x80 A Cat\xc2\xa0", "DOG"};
    char *c = gdino_caption_from_phrases(ok, 2, &err);
    EXPECT_STREQ(c, "a cat. dog.");
    free(c);
}
