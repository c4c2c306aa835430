// dataset_test.c — preference records: every bad record is "FILE:LINE: field: reason" (and
// --skip-bad counts them), the JSON-array release layout with mDPO prompts, the negatives manifest
// join, TRL's tokenize_row split (ids checked against HF's tokenizer on tiny_llava) and keep_end
// truncation, corrupt images, and the mDPO crop.
#include "test/test.h"
#include "lpoi/dataset.h"
#include "base/file.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static const char *tmp_path(const char *name) { return test_path(tmpdir, name); }

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lpoi_dataset_test_%d", (int)getpid());
    mkdir(tmpdir, 0755);
    Image img = image_new(40, 30);
    for (size_t i = 0; i < (size_t)40 * 30 * 3; i++) img.data[i] = (uint8_t)(i * 7);
    LpoiErr err;
    EXPECT(image_write_png(&img, tmp_path("a.png"), &err));
    image_free(&img);
    FILE *f = fopen(tmp_path("corrupt.png"), "wb");
    fputs("\x89PNG\r\n\x1a\nnot really", f);
    fclose(f);
}

static bool load(Dataset *d, const char *text, bool skip, int L, const char *manifest, LpoiErr *err) {
    test_write_text(tmp_path("d.jsonl"), text);
    DatasetOptions o = {.skip_bad = skip, .list_size = L, .manifest = manifest, .check_files = true};
    return dataset_load(d, tmp_path("d.jsonl"), &o, err);
}

#define GOOD "{\"img_path\": \"a.png\", \"prompt\": \"q?\", \"chosen\": \"yes\", \"rejected\": \"no\", \"boxes\": [[1, 2, 10, 12]]}\n"

TEST(dataset_errors_name_file_line_field) {
    setup();
    struct { const char *line; const char *want; } cases[] = {
        {"{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\"", ":2: json: "},
        {"{\"img_path\": \"a.png\", \"prompt\": \"q\", \"rejected\": \"r\"}", ":2: chosen: missing"},
        {"{\"img_path\": \"a.png\", \"prompt\": 3, \"chosen\": \"c\", \"rejected\": \"r\"}", ":2: prompt: must be a string"},
        {"{\"img_path\": \"nope.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\"}", ":2: img_path: "},
        {"{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"\", \"rejected\": \"r\"}", ":2: chosen: is empty"},
        {"{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\", \"boxes\": [[1, 2, 3]]}",
         ":2: boxes[0]: must be an array of 4"},
        {"{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\", \"boxes\": [[5, 2, 3, 9]]}",
         ":2: boxes[0]: "},
        {"[1, 2]", ":2: json: a record must be a JSON object"},
        {"{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\"}", ":2: boxes: missing"},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        char text[1024];
        snprintf(text, sizeof text, GOOD "%s\n\n" GOOD, cases[i].line);
        Dataset d;
        LpoiErr err = {{0}};
        EXPECT_MSG(!load(&d, text, false, 5, NULL, &err), "case %zu loaded", i);
        EXPECT_MSG(strstr(err.msg, "d.jsonl") && strstr(err.msg, cases[i].want), "case %zu: \"%s\" lacks \"%s\"", i,
                   err.msg, cases[i].want);
        // --skip-bad: the bad line is counted, the blank line ignored, line numbers kept.
        EXPECT(load(&d, text, true, 5, NULL, &err));
        EXPECT_EQ_INT(d.n, 2);
        EXPECT_EQ_INT(d.skipped, 1);
        if (d.n == 2) { EXPECT_EQ_INT(d.rec[0].line, 1); EXPECT_EQ_INT(d.rec[1].line, 4); }
        dataset_free(&d);
    }
    // Without a list (dpo), no box is needed.
    Dataset d;
    LpoiErr err = {{0}};
    EXPECT(load(&d, "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\"}", false, 0, NULL, &err));
    dataset_free(&d);
    // Everything bad: an error even with --skip-bad.
    EXPECT(!load(&d, "{}\n", true, 0, NULL, &err));
    EXPECT(strstr(err.msg, "no usable records") != NULL);
    file_rmtree(tmpdir);
}

TEST(dataset_release_array_and_mdpo_prompt) {
    setup();
    const char *text = "[\n  {\"img_path\": \"a.png\",\n   \"prompt\": \"A chat between a curious human and an AI. USER: <image>\\n"
                       "What is red? ASSISTANT:\", \"chosen\": \"c\", \"rejected\": \"r\"},\n"
                       "  {\"image\": \"a.png\", \"prompt\": \"Bare question?\", \"chosen\": \"c\", \"rejected\": \"r\"}\n]\n";
    Dataset d;
    LpoiErr err = {{0}};
    EXPECT_MSG(load(&d, text, false, 0, NULL, &err), "%s", err.msg);
    EXPECT_EQ_INT(d.n, 2);
    if (d.n == 2) {
        EXPECT_STREQ(d.rec[0].question, "What is red?");
        EXPECT(d.rec[0].prompt_reduced);
        EXPECT_EQ_INT(d.rec[0].line, 2);
        EXPECT_STREQ(d.rec[1].question, "Bare question?");
        EXPECT_EQ_INT(d.rec[1].line, 4);
        EXPECT_EQ_INT(d.reduced, 1);
    }
    dataset_free(&d);
    EXPECT(!load(&d, "[{\"img_path\": \"a.png\", \"prompt\": \"q\",\n \"chosen\": }]", false, 0, NULL, &err));
    EXPECT_MSG(strstr(err.msg, "d.jsonl:2: json:") != NULL, "%s", err.msg);
    file_rmtree(tmpdir);
}

TEST(dataset_negatives_manifest_join) {
    setup();
    char man[1024];
    snprintf(man, sizeof man,
             "{\"index\": 0, \"line\": 1, \"img_path\": \"a.png\", \"images\": [\"a.png\", \"a.png\", \"a.png\"]}\n"
             "{\"index\": 1, \"line\": 2, \"img_path\": \"other.png\", \"images\": [\"a.png\", \"a.png\", \"a.png\"]}\n");
    test_write_text(tmp_path("manifest.jsonl"), man);
    const char *rec = "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\"}\n";
    char text[1024];
    snprintf(text, sizeof text, "%s%s%s", rec, rec, rec);
    Dataset d;
    LpoiErr err = {{0}};
    EXPECT(!load(&d, text, false, 3, tmp_path("manifest.jsonl"), &err));
    EXPECT_MSG(strstr(err.msg, ":2: negatives: ") && strstr(err.msg, "other.png"), "%s", err.msg);
    EXPECT(load(&d, text, true, 3, tmp_path("manifest.jsonl"), &err));
    EXPECT_EQ_INT(d.n, 1);
    EXPECT_EQ_INT(d.skipped, 2);   // line 2: other image; line 3: no list
    if (d.n == 1) {
        EXPECT_EQ_INT(d.rec[0].n_list, 3);
        EXPECT(strstr(d.rec[0].list[2], "a.png") != NULL);
    }
    EXPECT_EQ_INT(d.from_manifest, 1);
    dataset_free(&d);
    // Found by fuzz/fuzz_dataset.c: an empty manifest sorted / searched a NULL array (UB that the
    // sanitizer build of this suite reports). It is simply a manifest without the record's list.
    test_write_text(tmp_path("empty_manifest.jsonl"), "\n");
    EXPECT(!load(&d, text, false, 3, tmp_path("empty_manifest.jsonl"), &err));
    EXPECT_MSG(strstr(err.msg, ":1: negatives: ") && strstr(err.msg, "has no list for this line"), "%s", err.msg);
    EXPECT(!load(&d, text, false, 4, tmp_path("manifest.jsonl"), &err));   // list size mismatch
    EXPECT_MSG(strstr(err.msg, ":1: negatives: ") && strstr(err.msg, "lists of 4"), "%s", err.msg);
}

static Tokenizer *tiny_tok(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tiny_llava", test_data_dir());
    LpoiErr err = {{0}};
    Tokenizer *t = tokenizer_load_dir(dir, &err);
    EXPECT_MSG(t != NULL, "%s", err.msg);
    return t;
    file_rmtree(tmpdir);
}

TEST(dataset_tokenize_matches_trl_split) {
    Tokenizer *tok = tiny_tok();
    if (!tok) return;
    DataRecord r = {.line = 1, .question = "What is in the picture?", .chosen = "A red box.", .rejected = "A cat."};
    DataTokLimits lim = {.max_length = 512, .max_prompt_length = 128, .image_token = 702};
    DataTokens t;
    LpoiErr err = {{0}};
    EXPECT_MSG(data_tokenize(&r, tok, &lim, &t, &err), "%s", err.msg);
    // HF (transformers 5.24) tokenizer(prompt + answer) split as TRL build_tokenized_answer does.
    static const int32_t want[] = {1, 329, 555, 329, 702, 329, 13, 293, 631, 391, 374, 364, 369, 641, 280,
                                   421, 554, 421, 480, 299, 387, 680, 268, 329, 2};
    EXPECT_EQ_INT(t.chosen.n, (int)LPOI_ARRAY_LEN(want));
    EXPECT_EQ_INT(t.chosen.n_prompt, 15);
    if (t.chosen.n == (int)LPOI_ARRAY_LEN(want)) EXPECT(!memcmp(t.chosen.ids, want, sizeof want));
    EXPECT(!t.truncated);
    EXPECT_EQ_INT(t.rejected.n_prompt, 15);
    EXPECT_EQ_INT(t.rejected.ids[t.rejected.n - 1], 2);
    data_tokens_free(&t);
    tokenizer_free(tok);
}

TEST(dataset_tokenize_keep_end_truncation) {
    Tokenizer *tok = tiny_tok();
    if (!tok) return;
    char q[4000] = "";
    for (int i = 0; i < 60; i++) strcat(q, i % 2 ? "blue dog " : "red cat ");
    strcat(q, "END?");
    char longans[4000] = "";
    for (int i = 0; i < 40; i++) strcat(longans, "word ");
    DataRecord r = {.line = 7, .question = q, .chosen = longans, .rejected = "No."};
    DataTokLimits full = {.max_length = 100000, .max_prompt_length = 100000, .image_token = 702};
    DataTokLimits lim = {.max_length = 48, .max_prompt_length = 20, .image_token = 702};
    DataTokens a, t;
    LpoiErr err = {{0}};
    EXPECT_MSG(data_tokenize(&r, tok, &full, &a, &err), "%s", err.msg);
    EXPECT_MSG(data_tokenize(&r, tok, &lim, &t, &err), "%s", err.msg);
    EXPECT(!a.truncated);
    EXPECT(t.truncated);
    // Prompt: the head through <image> kept, then the LAST (20 - head) tokens of the full prompt.
    int head = 0;
    while (head < a.chosen.n_prompt && a.chosen.ids[head] != 702) head++;
    head++;
    EXPECT_EQ_INT(head, 5);   // <s> ▁ USER: ▁ <image>
    EXPECT_EQ_INT(t.chosen.n_prompt, 20);
    EXPECT(!memcmp(t.chosen.ids, a.chosen.ids, (size_t)head * 4));
    EXPECT(!memcmp(t.chosen.ids + head, a.chosen.ids + a.chosen.n_prompt - (20 - head), (size_t)(20 - head) * 4));
    // Responses: the first max_length - max_prompt_length = 28 tokens (TRL keeps the start).
    EXPECT_EQ_INT(t.chosen.n - t.chosen.n_prompt, 28);
    EXPECT(!memcmp(t.chosen.ids + 20, a.chosen.ids + a.chosen.n_prompt, 28 * 4));
    // The short rejected answer is untouched (only the prompt was cut for it).
    EXPECT_EQ_INT(t.rejected.n - t.rejected.n_prompt, a.rejected.n - a.rejected.n_prompt);
    data_tokens_free(&a);
    data_tokens_free(&t);
    tokenizer_free(tok);
}

TEST(dataset_pixels_corrupt_image_and_list) {
    setup();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tiny_llava", test_data_dir());
    PreprocessConfig pc = preprocess_config_default(PREPROCESS_CLIP);
    pc.shortest_edge = 28;
    pc.crop_h = pc.crop_w = 28;
    DataPixelCtx c = {.data_path = "x.jsonl", .pre = &pc, .neg = negatives_default_options(), .side = 28};
    char path[600];
    snprintf(path, sizeof path, "%s", tmp_path("corrupt.png"));
    DataRecord r = {.line = 9, .img_path = path};
    float *out = malloc_check((size_t)5 * 3 * 28 * 28 * sizeof *out);
    LpoiErr err = {{0}};
    EXPECT(!data_pixels(&c, &r, 1, out, &err));
    EXPECT_MSG(strstr(err.msg, "x.jsonl:9: img_path: ") != NULL, "%s", err.msg);
    snprintf(path, sizeof path, "%s", tmp_path("a.png"));
    r.has_box = true;
    double box[4] = {0, 0, 20, 30};
    memcpy(r.box, box, sizeof box);
    EXPECT_MSG(data_pixels(&c, &r, 5, out, &err), "%s", err.msg);
    // Image 1 is the original; every later image differs from it (the box is masked progressively).
    const size_t per = 3 * 28 * 28;
    for (int k = 1; k < 5; k++) EXPECT(memcmp(out, out + k * per, per * sizeof *out) != 0);
    free(out);
    file_rmtree(tmpdir);
}

TEST(dataset_random_resized_crop) {
    const int R = 28;
    float *in = malloc_check((size_t)3 * R * R * sizeof *in), *a = malloc_check(sizeof(float) * 3 * R * R),
          *b = malloc_check(sizeof(float) * 3 * R * R);
    for (int i = 0; i < 3 * R * R; i++) in[i] = (float)(i % R) + 100.0f * (float)(i / (R * R));   // value = x + 100 c
    Rng r1, r2;
    rng_seed(&r1, 5);
    rng_seed(&r2, 5);
    data_random_resized_crop(in, 3, R, &r1, a);
    data_random_resized_crop(in, 3, R, &r2, b);
    EXPECT(!memcmp(a, b, sizeof(float) * 3 * R * R));   // seeded: reproducible
    // A crop of 1-20% of the area spans at most ~52% of the side: the x range of the output shrinks.
    float lo = 1e9f, hi = -1e9f;
    for (int i = 0; i < R * R; i++) { lo = fminf(lo, a[i]); hi = fmaxf(hi, a[i]); }
    EXPECT(hi - lo < 0.6f * R);
    EXPECT(lo >= 0 && hi <= R - 1);
    for (int i = 0; i < R * R; i++) EXPECT_NEAR(a[R * R + i] - a[i], 100.0, 1e-3, 0);   // channels stay apart
    free(in);
    free(a);
    free(b);
}

TEST(dataset_released_negatives_layout) {
    setup();
    char p[700];
    snprintf(p, sizeof p, "%s/images", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/ours_cmask_until_list5", tmpdir);
    mkdir(p, 0755);
    Image img = image_new(8, 8);
    LpoiErr err = {{0}};
    snprintf(p, sizeof p, "%s/images/x.png", tmpdir);
    EXPECT(image_write_png(&img, p, &err));
    const int pct[4] = {25, 50, 75, 100};
    for (int k = 0; k < 3; k++) {   // 100 is missing at first
        snprintf(p, sizeof p, "%s/ours_cmask_until_list5/ours_cmask_until%d", tmpdir, pct[k]);
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/ours_cmask_until_list5/ours_cmask_until%d/x.png", tmpdir, pct[k]);
        EXPECT(image_write_png(&img, p, &err));
    }
    const char *rec = "{\"img_path\": \"images/x.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\"}\n";
    Dataset d;
    EXPECT(!load(&d, rec, false, 5, NULL, &err));
    EXPECT_MSG(strstr(err.msg, ":1: boxes: missing") != NULL, "%s", err.msg);
    snprintf(p, sizeof p, "%s/ours_cmask_until_list5/ours_cmask_until100", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/ours_cmask_until_list5/ours_cmask_until100/x.png", tmpdir);
    EXPECT(image_write_png(&img, p, &err));
    EXPECT_MSG(load(&d, rec, false, 5, NULL, &err), "%s", err.msg);
    EXPECT_EQ_INT(d.from_release, 1);
    if (d.n == 1 && d.rec[0].n_list == 5) EXPECT(strstr(d.rec[0].list[4], "ours_cmask_until100/x.png") != NULL);
    dataset_free(&d);
    image_free(&img);
    file_rmtree(tmpdir);
}

// The centre-crop check: sizes from PNG / baseline and progressive JPEG headers and (BMP) the whole
// file; a box near the long side's edge is cut, a central one is not, a record without a box is not
// a list to check; pad-to-square or a crop other than the shortest edge means no check.
TEST(dataset_crop_check_counts_cut_boxes) {
    setup();
    char cwd[400], text[4096];
    if (!getcwd(cwd, sizeof cwd)) LPOI_DIE("getcwd failed");
    const char *td = test_data_dir();
    // R = 11. a.png 40x30 → 14x11, crop x [1, 12) of the resized: x0 = 1 → 0.275 is cut, [15, 25) kept.
    // smooth_*.jpg 17x11 → crop x [3, 14): [0, 2) cut, [5, 12) kept (read as 11x17 it would be the
    // other way round). rgb.bmp 13x7 → 20x11, crop x [4, 15): [0, 2) → [0, 3.1) cut.
    snprintf(text, sizeof text,
             "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\", \"boxes\": [[1, 2, 10, 12]]}\n"
             "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\", \"boxes\": [[15, 0, 25, 30]]}\n"
             "{\"img_path\": \"%s/%s/images/smooth_420.jpg\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\", "
             "\"boxes\": [[0, 4, 2, 7]]}\n"
             "{\"img_path\": \"%s/%s/images/smooth_progressive.jpg\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": "
             "\"r\", \"boxes\": [[5, 0, 12, 11]]}\n"
             "{\"img_path\": \"%s/%s/images/rgb.bmp\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\", "
             "\"boxes\": [[0, 0, 2, 7]]}\n"
             "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\"}\n",
             cwd, td, cwd, td, cwd, td);
    Dataset d;
    LpoiErr err = {{0}};
    EXPECT_MSG(load(&d, text, false, 0, NULL, &err), "%s", err.msg);
    EXPECT_EQ_INT(d.n, 6);
    PreprocessConfig pc = preprocess_config_default(PREPROCESS_CLIP);
    pc.shortest_edge = pc.crop_h = pc.crop_w = 11;
    DataCropCheck cc;
    EXPECT(data_crop_check(&d, &pc, &cc));
    EXPECT_EQ_INT(cc.crop, 11);
    EXPECT_EQ_INT(cc.checked, 5);
    EXPECT_EQ_INT(cc.cut, 3);
    EXPECT_EQ_INT(cc.unreadable, 0);
    // No centre-crop geometry to check.
    PreprocessConfig pad = preprocess_config_default(PREPROCESS_LLAVA);
    pad.do_pad = true;
    pad.shortest_edge = pad.crop_h = pad.crop_w = 11;
    EXPECT(!data_crop_check(&d, &pad, &cc) && cc.cut == 0);
    PreprocessConfig other = pc;
    other.crop_h = other.crop_w = 8;
    EXPECT(!data_crop_check(&d, &other, &cc));
    other = pc;
    other.do_center_crop = false;
    EXPECT(!data_crop_check(&d, &other, &cc));
    // An image that went away after loading: counted as unreadable, not as cut.
    unlink(tmp_path("a.png"));
    EXPECT(data_crop_check(&d, &pc, &cc));
    EXPECT_EQ_INT(cc.checked, 3);
    EXPECT_EQ_INT(cc.cut, 2);
    EXPECT_EQ_INT(cc.unreadable, 2);
    dataset_free(&d);
    file_rmtree(tmpdir);
}

// Special-token strings inside training text are refused, naming the field and the token (HF would
// read them as control tokens: a second <image> breaks LLaVA, a "</s>" cuts the answer).
TEST(dataset_tokenize_refuses_special_token_text) {
    Tokenizer *tok = tiny_tok();
    if (!tok) return;
    DataTokLimits lim = {.max_length = 512, .max_prompt_length = 128, .image_token = 702};
    static const struct { const char *q, *c, *r, *want; } cases[] = {
        {"What is it?", "A <image> box.", "A cat.", "chosen: holds the special token \"<image>\""},
        {"What is it?", "A box.", "A cat</s> on a mat.", "rejected: holds the special token \"</s>\""},
        {"Compare <image> with this", "A box.", "A cat.", "prompt: holds the special token \"<image>\""},
        {"<s>What is it?", "A box.", "A cat.", "prompt: holds the special token \"<s>\""},
        {"What is it?", "<pad>", "A cat.", "chosen: holds the special token \"<pad>\""},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        DataRecord r = {.line = 1, .question = (char *)cases[i].q, .chosen = (char *)cases[i].c,
                        .rejected = (char *)cases[i].r};
        DataTokens t;
        LpoiErr err = {{0}};
        EXPECT_MSG(!data_tokenize(&r, tok, &lim, &t, &err), "case %zu was accepted", i);
        EXPECT_MSG(strstr(err.msg, cases[i].want) != NULL, "case %zu: %s", i, err.msg);
    }
    // Look-alikes are plain text: "<image" and "image>" are no tokens.
    DataRecord ok = {.line = 1, .question = "An <image without end?", .chosen = "image> here.", .rejected = "<im age>"};
    DataTokens t;
    LpoiErr err = {{0}};
    EXPECT_MSG(data_tokenize(&ok, tok, &lim, &t, &err), "%s", err.msg);
    data_tokens_free(&t);
    tokenizer_free(tok);
}
