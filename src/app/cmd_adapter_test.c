// cmd_adapter_test.c — using a trained adapter without Python: `lpoi generate --adapter` (LLaVA with an
// image, and the language model alone) and `lpoi merge`, against what HF + PEFT do with the same
// PEFT-written adapters (testdata/tiny_llava_peft, tools/make_peft_fixture.py): the generated ids are
// equal id for id, and the merged weights equal PEFT's merge_and_unload() (fp32, to rounding), every
// other tensor byte for byte.
#include "app/commands.h"
#include "lpoi/generate_llava.h"
#include "test/test.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include "base/safetensors.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TINY "testdata/tiny_llava"
#define PEFT "testdata/tiny_llava_peft"

// expected.json, its case `key` and max_new as text; NULL when the file cannot be read.
static JsonDoc *load_expected(const char *key, const JsonValue **c, char max_new[16]) {
    size_t size;
    LpoiErr err = {{0}};
    char *text = file_read_all(PEFT "/expected.json", 1 << 20, &size, &err);
    JsonDoc *doc = text ? json_parse(text, size, &err) : NULL;
    free(text);
    int64_t mn = 0;
    if (!doc || !(*c = json_get(json_root(doc), key)) || !json_get_i64(json_root(doc), "max_new", &mn)) {
        json_free(doc);
        return NULL;
    }
    snprintf(max_new, 16, "%lld", (long long)mn);
    return doc;
}

// "generated ids: 1 2 3" of a --ids print equals the JSON array.
static bool printed_ids_equal(const char *printed, const char *label, const JsonValue *want) {
    const char *p = strstr(printed, label);
    if (!p || !want || want->type != JSON_ARRAY) return false;
    p += strlen(label);
    for (size_t i = 0; i < want->count; i++) {
        char *end;
        long v = strtol(p, &end, 10);
        int64_t w;
        if (end == p || !json_as_i64(want->items[i], &w) || v != w) return false;
        p = end;
    }
    return *p == '\n';
}

TEST(generate_adapter_image_equals_peft) {
    if (access(PEFT "/expected.json", R_OK)) { test_skip(PEFT " not found (run from the repository root)"); return; }
    const JsonValue *c;
    char max_new[16];
    JsonDoc *doc = load_expected("image_case", &c, max_new);
    EXPECT(doc != NULL);
    if (!doc) return;
    char *argv[] = {"generate", "--model", TINY, "--adapter", PEFT "/all_linear", "--image",
                    (char *)json_get_str(json_root(doc), "image"), "--prompt", (char *)json_get_str(c, "prompt"),
                    "--max-new", max_new, "--ids"};
    char *printed = NULL;
    int rc = test_run_command(cmd_generate, 12, argv, &printed);
    EXPECT_EQ_INT(rc, 0);
    EXPECT_MSG(printed && printed_ids_equal(printed, "generated ids:", json_get(c, "generated_ids")), "%s", printed);
    free(printed);
    // Without the adapter the answer differs (the fixture asserts that for HF too).
    char *argv2[] = {"generate", "--model", TINY, "--image", (char *)json_get_str(json_root(doc), "image"), "--prompt",
                     (char *)json_get_str(c, "prompt"), "--max-new", max_new, "--ids"};
    rc = test_run_command(cmd_generate, 10, argv2, &printed);
    EXPECT(rc == 0 && !printed_ids_equal(printed, "generated ids:", json_get(c, "generated_ids")));
    free(printed);
    json_free(doc);
}

TEST(generate_adapter_text_equals_peft) {
    if (access(PEFT "/expected.json", R_OK)) { test_skip(PEFT " not found (run from the repository root)"); return; }
    const JsonValue *c;
    char max_new[16];
    JsonDoc *doc = load_expected("text_case", &c, max_new);
    EXPECT(doc != NULL);
    if (!doc) return;
    char *argv[] = {"generate", "--model", TINY, "--adapter", PEFT "/text_regex", "--prompt",
                    (char *)json_get_str(c, "prompt"), "--max-new", max_new, "--ids"};
    char *printed = NULL;
    int rc = test_run_command(cmd_generate, 10, argv, &printed);
    EXPECT_EQ_INT(rc, 0);
    EXPECT_MSG(printed && printed_ids_equal(printed, "prompt ids:", json_get(c, "prompt_ids")), "%s", printed);
    EXPECT_MSG(printed && printed_ids_equal(printed, "generated ids:", json_get(c, "generated_ids")), "%s", printed);
    free(printed);
    // A LLaVA adapter that also adapts the vision tower needs an image.
    char *argv2[] = {"generate", "--model", TINY, "--adapter", PEFT "/all_linear", "--prompt", "hi", "--max-new", "2"};
    rc = test_run_command(cmd_generate, 9, argv2, &printed);
    EXPECT_EQ_INT(rc, 1);
    EXPECT_MSG(printed && strstr(printed, "--image"), "%s", printed);
    free(printed);
    json_free(doc);
}

// The batch path takes the adapter too: its answer equals the single-image one with the adapter.
TEST(generate_adapter_batch_uses_adapter) {
    if (access(PEFT "/expected.json", R_OK)) { test_skip(PEFT " not found (run from the repository root)"); return; }
    char dir[64];
    test_tmp_dir(dir, sizeof dir, "gen_adapter");
    char cwd[4096], line[8192];
    EXPECT(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(line, sizeof line, "{\"image\": \"%s/testdata/images/photos/chelsea.png\", \"prompt\": \"What is in the picture?\"}\n", cwd);
    EXPECT(test_write_text(test_path(dir, "in.jsonl"), line));
    LlavaBatchArgs b = {.model_dir = TINY, .device = "cpu", .batch = test_path(dir, "in.jsonl"),
                        .out = test_path(dir, "out.jsonl"), .adapter = PEFT "/all_linear", .max_new = 10};
    LlavaBatchStats st;
    LpoiErr err = {{0}};
    EXPECT_MSG(llava_batch(&b, &st, &err), "%s", err.msg);
    LlavaGenArgs a = {.model_dir = TINY, .image = "testdata/images/photos/chelsea.png", .prompt = "What is in the picture?",
                      .device = "cpu", .adapter = PEFT "/all_linear", .max_new = 10};
    LlavaAnswer ans;
    EXPECT_MSG(llava_answer(&a, &ans, &err), "%s", err.msg);
    char *out = test_read_text(test_path(dir, "out.jsonl"));
    JsonDoc *doc = out ? json_parse(out, strlen(out) - 1, &err) : NULL;
    EXPECT_MSG(doc && !strcmp(json_get_str(json_root(doc), "answer"), ans.text), "%s", out ? out : "(no output)");
    json_free(doc);
    free(out);
    llava_answer_free(&ans);
    file_rmtree(dir);
}

static bool same_bytes(const StTensor *a, const StTensor *b) {
    return a->dtype == b->dtype && a->ndim == b->ndim && !memcmp(a->shape, b->shape, sizeof a->shape) &&
           a->end - a->begin == b->end - b->begin && !memcmp(a->data, b->data, a->end - a->begin);
}

TEST(merge_equals_peft_merge_and_unload) {
    if (access(PEFT "/merged_text_regex.safetensors", R_OK)) { test_skip(PEFT " not found (run from the repository root)"); return; }
    char dir[64];
    test_tmp_dir(dir, sizeof dir, "merge");
    const char *out = test_path(dir, "merged");
    char *argv[] = {"merge", "--model", TINY, "--adapter", PEFT "/text_regex", "--out", (char *)out};
    EXPECT_COMMAND_EXIT(cmd_merge, 0, 7, argv);
    StFile got, base, want;
    LpoiErr err = {{0}};
    bool ok = st_open(&got, test_path(out, "model.safetensors"), &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (!ok) { file_rmtree(dir); return; }
    EXPECT(st_open(&base, TINY "/model.safetensors", &err) && st_open(&want, PEFT "/merged_text_regex.safetensors", &err));
    EXPECT_EQ_INT(got.count, base.count);
    int merged = 0;
    for (size_t i = 0; i < base.count; i++) {
        const StTensor *b = &base.tensors[i], *g = st_find(&got, b->name), *w = st_find(&want, b->name);
        EXPECT_MSG(g != NULL, "%s missing from the merged file", b->name);
        if (!g) continue;
        if (!w) { EXPECT_MSG(same_bytes(b, g), "%s changed but the adapter does not touch it", b->name); continue; }
        merged++;
        EXPECT(g->dtype == DTYPE_F32 && w->dtype == DTYPE_F32 && g->numel == w->numel && !same_bytes(b, g));
        float *gv = malloc_check(g->numel * sizeof *gv), *wv = malloc_check(w->numel * sizeof *wv);
        st_read_f32(g, gv, &err);
        st_read_f32(w, wv, &err);
        EXPECT_CLOSE_F32(b->name, gv, wv, g->numel, 1e-6, 1e-6);   // fp32 sums of r = 4 products, in another order
        free(gv);
        free(wv);
    }
    EXPECT_EQ_INT(merged, 6);
    st_close(&got);
    st_close(&base);
    st_close(&want);
    // The side files are copied unchanged.
    char *a = test_read_text(TINY "/tokenizer.json"), *b = test_read_text(test_path(out, "tokenizer.json"));
    EXPECT(a && b && !strcmp(a, b));
    free(a);
    free(b);
    EXPECT(access(test_path(out, "config.json"), R_OK) == 0 && access(test_path(out, "processor_config.json"), R_OK) == 0);
    // A second merge into the same folder is refused and leaves it as it was; a failed merge leaves nothing.
    char *printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_merge, 7, argv, &printed), 1);
    EXPECT_MSG(printed && strstr(printed, "not an empty folder"), "%s", printed);
    free(printed);
    const char *out2 = test_path(dir, "merged2");
    char *argv2[] = {"merge", "--model", TINY, "--adapter", TINY, "--out", (char *)out2};
    EXPECT_EQ_INT(test_run_command(cmd_merge, 7, argv2, &printed), 1);
    free(printed);
    struct stat sb;
    EXPECT(stat(out2, &sb) != 0);
    int entries = 0;   // only "merged": no temp folder left behind
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) entries += e->d_name[0] != '.';
    if (d) closedir(d);
    EXPECT_EQ_INT(entries, 1);
    // "--out DIR/" into an existing empty folder: the temporary folder went inside DIR, and the
    // merge failed with "cannot replace: Directory not empty".
    char out3[600];
    snprintf(out3, sizeof out3, "%s/", test_path(dir, "merged3"));
    EXPECT(mkdir(test_path(dir, "merged3"), 0755) == 0);
    char *argv3[] = {"merge", "--model", TINY, "--adapter", PEFT "/text_regex", "--out", out3};
    EXPECT_EQ_INT(test_run_command(cmd_merge, 7, argv3, &printed), 0);
    free(printed);
    EXPECT(access(test_path(dir, "merged3/model.safetensors"), R_OK) == 0);
    file_rmtree(dir);
}
