// generate_llava_test.c — `lpoi generate --image` on testdata/tiny_llava (a tiny random LLaVA-1.5
// folder written by HF save_pretrained, tools/make_tiny_llava.py): the expanded prompt ids and the
// greedy continuation must equal HF's (expected_generate.json), id for id; and the failures a user
// meets get clear errors. `--batch` (llava_batch): every answer equals the single-image answer for
// the same (image, prompt), greedy and sampled; a bad line is "FILE:LINE: field: reason" and leaves
// --out as it was; --skip-bad skips and counts.
#include "lpoi/generate_llava.h"
#include "test/test.h"
#include "base/check.h"
#include "base/json.h"
#include "base/file.h"
#include "image/image.h"
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TINY "testdata/tiny_llava"

static bool ids_equal(const JsonValue *arr, const int32_t *ids, int n) {
    if (!arr || arr->type != JSON_ARRAY || arr->count != (size_t)n) return false;
    for (int i = 0; i < n; i++) {
        int64_t v;
        if (!json_as_i64(arr->items[i], &v) || v != ids[i]) return false;
    }
    return true;
}

TEST(generate_llava_equals_hf_greedy) {
    if (access(TINY "/expected_generate.json", R_OK)) { test_skip(TINY " not found (run from the repository root)"); return; }
    LpoiErr err = {{0}};
    size_t size;
    char *text = file_read_all(TINY "/expected_generate.json", 1 << 20, &size, &err);
    EXPECT_MSG(text != NULL, "%s", err.msg);
    if (!text) return;
    JsonDoc *doc = json_parse(text, size, &err);
    free(text);
    EXPECT_MSG(doc != NULL, "%s", err.msg);
    if (!doc) return;
    const JsonValue *root = json_root(doc), *cases = json_get(root, "cases");
    const char *image = json_get_str(root, "image");
    int64_t max_new = 0;
    EXPECT(cases && cases->type == JSON_ARRAY && cases->count >= 1 && image && json_get_i64(root, "max_new", &max_new));
    for (size_t i = 0; cases && i < cases->count; i++) {
        const JsonValue *c = cases->items[i];
        LlavaGenArgs a = {.model_dir = TINY, .image = image, .prompt = json_get_str(c, "prompt"), .device = "cpu",
                          .max_new = (int)max_new, .temperature = 0, .top_p = 1};
        LlavaAnswer ans;
        if (!llava_answer(&a, &ans, &err)) { EXPECT_MSG(0, "%s", err.msg); continue; }
        EXPECT_MSG(ids_equal(json_get(c, "prompt_ids"), ans.prompt_ids, ans.n_prompt), "case %zu: prompt ids differ", i);
        EXPECT_MSG(ids_equal(json_get(c, "generated_ids"), ans.ids, ans.n), "case %zu: generated ids differ", i);
        EXPECT_STREQ(ans.text, json_get_str(c, "text"));
        llava_answer_free(&ans);
    }
    json_free(doc);
}

TEST(generate_llava_errors) {
    if (access(TINY "/config.json", R_OK)) { test_skip(TINY " not found (run from the repository root)"); return; }
    LpoiErr err = {{0}};
    LlavaAnswer ans;
    LlavaGenArgs a = {.model_dir = TINY, .image = "testdata/images/photos/chelsea.png", .prompt = "two <image> <image>",
                      .device = "cpu", .max_new = 4};
    EXPECT(!llava_answer(&a, &ans, &err));
    EXPECT_MSG(strstr(err.msg, "2 <image> tokens") != NULL, "%s", err.msg);
    a.prompt = "hi";
    a.image = "testdata/images/does_not_exist.png";
    EXPECT(!llava_answer(&a, &ans, &err));
    EXPECT_MSG(strstr(err.msg, "does_not_exist.png") != NULL, "%s", err.msg);
    a.image = "testdata/images/photos/chelsea.png";
    a.model_dir = "testdata/tokenizer";
    EXPECT(!llava_answer(&a, &ans, &err));
}

// ---- batch ----
typedef struct { char dir[64], jsonl[128], out[128], png[128]; } BatchDir;

// A temp folder with img.png (a small gradient written by the PNG writer); jsonl/out are paths in it.
static bool batch_dir_make(BatchDir *d) {
    test_tmp_dir(d->dir, sizeof d->dir, "gen_batch");
    snprintf(d->jsonl, sizeof d->jsonl, "%s/in.jsonl", d->dir);
    snprintf(d->out, sizeof d->out, "%s/out.jsonl", d->dir);
    snprintf(d->png, sizeof d->png, "%s/img.png", d->dir);
    Image img = {.w = 40, .h = 30};
    img.data = malloc_check((size_t)img.w * img.h * 3);
    for (int y = 0; y < img.h; y++)
        for (int x = 0; x < img.w; x++) {
            uint8_t *p = img.data + ((size_t)y * img.w + x) * 3;
            p[0] = (uint8_t)(x * 6), p[1] = (uint8_t)(y * 8), p[2] = (uint8_t)((x ^ y) * 9);
        }
    LpoiErr err = {{0}};
    bool ok = image_write_png(&img, d->png, &err);
    free(img.data);
    return ok;
}

static int count_tmp_files(const BatchDir *d) {
    int tmp = 0;
    DIR *dp = opendir(d->dir);
    if (!dp) return 0;
    struct dirent *e;
    while ((e = readdir(dp))) tmp += strstr(e->d_name, ".tmp.") != NULL;
    closedir(dp);
    return tmp;
}

// Removes the folder; returns how many files held ".tmp." (leftovers of an atomic write).
static int batch_dir_remove(BatchDir *d) {
    int tmp = count_tmp_files(d);
    file_rmtree(d->dir);
    return tmp;
}

// Lines of an output file parsed into docs[] (at most cap); returns the count, -1 if one is not JSON.
static int parse_lines(char *text, JsonDoc **docs, int cap) {
    int n = 0;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        if (!nl) return -1;   // every line ends with a newline
        if (n == cap) return -1;
        docs[n] = json_parse(p, (size_t)(nl - p), NULL);
        if (!docs[n]) return -1;
        n++;
        p = nl + 1;
    }
    return n;
}

TEST(generate_llava_batch_equals_single) {
    if (access(TINY "/config.json", R_OK)) { test_skip(TINY " not found (run from the repository root)"); return; }
    char chelsea[PATH_MAX];
    if (!realpath("testdata/images/photos/chelsea.png", chelsea)) { test_skip("testdata/images/photos/chelsea.png not found"); return; }
    BatchDir d;
    EXPECT(batch_dir_make(&d));
    // Relative (to the JSONL's folder) and absolute images, ids of both kinds and none, a blank line,
    // a prompt that needs escaping, and one that holds <image> itself.
    char jsonl[PATH_MAX + 512];
    snprintf(jsonl, sizeof jsonl,
             "{\"image\": \"img.png\", \"prompt\": \"What is in the picture?\", \"id\": 17}\n"
             "\n"
             "   \n"
             "{\"id\": \"b\", \"prompt\": \"say \\\"hi\\\"\\nnow\", \"image\": \"%s\"}\n"
             "{\"image\": \"img.png\", \"prompt\": \"USER: <image>\\nhello world ASSISTANT:\"}\n",
             chelsea);
    EXPECT(test_write_text(d.jsonl, jsonl));
    const char *want_image[3] = {"img.png", chelsea, "img.png"};
    const char *want_prompt[3] = {"What is in the picture?", "say \"hi\"\nnow", "USER: <image>\nhello world ASSISTANT:"};
    const char *single_image[3] = {d.png, chelsea, d.png};
    const int want_line[3] = {1, 4, 5};
    for (int sampled = 0; sampled < 2; sampled++) {
        LlavaBatchArgs a = {.model_dir = TINY, .device = "cpu", .batch = d.jsonl, .out = d.out, .max_new = 10,
                            .temperature = sampled ? 0.9f : 0, .top_p = sampled ? 0.95f : 1, .seed = 3};
        LlavaBatchStats st;
        LpoiErr err = {{0}};
        bool ok = llava_batch(&a, &st, &err);
        EXPECT_MSG(ok, "%s", err.msg);
        if (!ok) break;
        EXPECT_EQ_INT(st.answered, 3);
        EXPECT_EQ_INT(st.skipped, 0);
        char *text = test_read_text(d.out);
        EXPECT(text != NULL);
        if (!text) break;
        JsonDoc *docs[8];
        int n = parse_lines(text, docs, 8);
        EXPECT_EQ_INT(n, 3);
        for (int i = 0; i < n && i < 3; i++) {
            const JsonValue *r = json_root(docs[i]);
            int64_t line = 0;
            EXPECT(json_get_i64(r, "line", &line) && line == want_line[i]);
            EXPECT_STREQ(json_get_str(r, "image"), want_image[i]);
            EXPECT_STREQ(json_get_str(r, "prompt"), want_prompt[i]);
            const JsonValue *id = json_get(r, "id");
            int64_t idn = 0;
            if (i == 0) EXPECT(id && json_as_i64(id, &idn) && idn == 17);
            else if (i == 1) EXPECT_STREQ(json_get_str(r, "id"), "b");
            else EXPECT(id && id->type == JSON_NULL);
            LlavaGenArgs g = {.model_dir = TINY, .image = single_image[i], .prompt = want_prompt[i], .device = "cpu",
                              .max_new = a.max_new, .temperature = a.temperature, .top_p = a.top_p, .seed = a.seed};
            LlavaAnswer ans;
            if (!llava_answer(&g, &ans, &err)) { EXPECT_MSG(0, "%s", err.msg); continue; }
            const JsonValue *got = json_get(r, "answer");
            EXPECT_MSG(got && got->type == JSON_STRING && got->len == ans.text_len && !memcmp(got->str, ans.text, ans.text_len),
                       "%s line %d: batch answer differs from the single-image answer",
                       sampled ? "sampled" : "greedy", want_line[i]);
            llava_answer_free(&ans);
        }
        for (int i = 0; i < n; i++) json_free(docs[i]);
        free(text);
    }
    EXPECT_EQ_INT(batch_dir_remove(&d), 0);
}

// Two good lines (1 and 10), a blank one and 7 bad ones: the first bad line is 3.
static const char BAD_LINES[] =
    "{\"image\": \"img.png\", \"prompt\": \"one\"}\n"
    "\n"
    "{\"image\": \"missing.png\", \"prompt\": \"two\"}\n"
    "{\"image\": \"img.png\"}\n"
    "{\"image\": \"img.png\", \"prompt\": 5}\n"
    "{\"image\": \"img.png\", \"prompt\": \"<image> and <image>\"}\n"
    "{\"image\": \"img.png\", \"prompt\": \"x\", \"id\": {}}\n"
    "[\"img.png\", \"x\"]\n"
    "{\"image\": \"img.png\", \"prompt\": \"trailing\",}\n"
    "{\"image\": \"img.png\", \"prompt\": \"last\", \"id\": 9}\n";

TEST(generate_llava_batch_bad_lines) {
    if (access(TINY "/config.json", R_OK)) { test_skip(TINY " not found (run from the repository root)"); return; }
    BatchDir d;
    EXPECT(batch_dir_make(&d));
    EXPECT(test_write_text(d.jsonl, BAD_LINES));
    EXPECT(test_write_text(d.out, "old contents\n"));
    LlavaBatchArgs a = {.model_dir = TINY, .device = "cpu", .batch = d.jsonl, .out = d.out, .max_new = 4};
    LlavaBatchStats st;
    LpoiErr err = {{0}};
    char want[256];

    // Without --skip-bad the first bad line (3) fails the run, and OUT is untouched.
    EXPECT(!llava_batch(&a, &st, &err));
    snprintf(want, sizeof want, "%s:3: image: %s/missing.png", d.jsonl, d.dir);
    EXPECT_MSG(!strncmp(err.msg, want, strlen(want)), "got '%s', want it to start with '%s'", err.msg, want);
    char *text = test_read_text(d.out);
    EXPECT_STREQ(text, "old contents\n");
    free(text);
    EXPECT_EQ_INT(count_tmp_files(&d), 0);

    // Each kind of bad line, alone after a good one: its own file:line and field.
    static const struct { const char *line, *want; } cases[] = {
        {"{\"image\": \"img.png\"}", "prompt: missing"},
        {"{\"image\": \"img.png\", \"prompt\": 5}", "prompt: must be a string"},
        {"{\"prompt\": \"p\"}", "image: missing"},
        {"{\"image\": \"\", \"prompt\": \"p\"}", "image: empty"},
        {"{\"image\": \"img.png\", \"prompt\": \"<image> and <image>\"}", "prompt: 2 <image> tokens"},
        {"{\"image\": \"img.png\", \"prompt\": \"x\", \"id\": {}}", "id: must be a string or a number"},
        {"[\"img.png\", \"x\"]", "json: not an object"},
        {"{\"image\": \"img.png\", \"prompt\": \"p\",}", "json: offset"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"image\": \"img.png\", \"prompt\": \"ok\"}\n%s\n", cases[i].line);
        EXPECT(test_write_text(d.jsonl, body));
        EXPECT(!llava_batch(&a, &st, &err));
        snprintf(want, sizeof want, "%s:2: %s", d.jsonl, cases[i].want);
        EXPECT_MSG(!strncmp(err.msg, want, strlen(want)), "case %zu: got '%s', want '%s...'", i, err.msg, want);
    }
    text = test_read_text(d.out);
    EXPECT_STREQ(text, "old contents\n");
    free(text);
    EXPECT_EQ_INT(count_tmp_files(&d), 0);

    // --skip-bad: the 7 bad lines are counted, the 2 good ones answered (their line numbers kept).
    EXPECT(test_write_text(d.jsonl, BAD_LINES));
    a.skip_bad = true;
    bool ok = llava_batch(&a, &st, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    EXPECT_EQ_INT(st.answered, 2);
    EXPECT_EQ_INT(st.skipped, 7);
    text = test_read_text(d.out);
    JsonDoc *docs[4];
    int n = text ? parse_lines(text, docs, 4) : -1;
    EXPECT_EQ_INT(n, 2);
    int64_t l0 = 0, l1 = 0;
    if (n == 2) {
        EXPECT(json_get_i64(json_root(docs[0]), "line", &l0) && l0 == 1);
        EXPECT(json_get_i64(json_root(docs[1]), "line", &l1) && l1 == 10);
        EXPECT_STREQ(json_get_str(json_root(docs[1]), "prompt"), "last");
    }
    for (int i = 0; i < n; i++) json_free(docs[i]);
    free(text);

    // Nothing to answer is an error, with or without --skip-bad, and OUT keeps the last good run.
    EXPECT(test_write_text(d.jsonl, "{\"image\": \"missing.png\", \"prompt\": \"p\"}\n"));
    EXPECT(!llava_batch(&a, &st, &err));
    EXPECT_MSG(strstr(err.msg, "no line could be answered") != NULL, "%s", err.msg);
    EXPECT(test_write_text(d.jsonl, "\n  \n"));
    EXPECT(!llava_batch(&a, &st, &err));
    EXPECT_MSG(strstr(err.msg, "no examples") != NULL, "%s", err.msg);
    snprintf(want, sizeof want, "%s/nope.jsonl", d.dir);
    a.batch = want;
    EXPECT(!llava_batch(&a, &st, &err));
    EXPECT_MSG(strstr(err.msg, "nope.jsonl: cannot open") != NULL, "%s", err.msg);
    text = test_read_text(d.out);
    EXPECT(text && strstr(text, "\"prompt\": \"last\"") != NULL);
    free(text);
    EXPECT_EQ_INT(batch_dir_remove(&d), 0);
}
