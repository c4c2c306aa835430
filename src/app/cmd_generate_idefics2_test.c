// cmd_generate_idefics2_test.c — `lpoi generate --image` and `--batch` on an Idefics2 folder
// (testdata/tiny_idefics2, tools/make_tiny_idefics2.py): the type comes from config.json, and the
// prompt and generated ids equal HF's Idefics2Processor + greedy generate (expected_generate.json);
// --batch gives each line the answer --image gives it.
#include "test/test.h"
#include "app/commands.h"
#include "base/file.h"
#include "base/json.h"
#include "base/safetensors.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TINY "testdata/tiny_idefics2"

// The ids after `label` on its line of printed, compared with the JSON list want.
static bool printed_ids_match(const char *printed, const char *label, const JsonValue *want) {
    const char *p = strstr(printed, label);
    if (!p || !want) return false;
    p += strlen(label);
    for (size_t i = 0; i < want->count; i++) {
        char *end;
        long v = strtol(p, &end, 10);
        int64_t w;
        if (end == p || !json_as_i64(want->items[i], &w) || v != w) return false;
        p = end;
    }
    while (*p == ' ') p++;
    return *p == '\n' || *p == 0;
}

static JsonDoc *load_expected(void) {
    LpoiErr err = {{0}};
    if (access(TINY "/expected_generate.json", R_OK)) return NULL;
    return json_load_file(TINY "/expected_generate.json", 1 << 20, &err);
}

TEST(generate_idefics2_matches_hf_generate) {
    JsonDoc *doc = load_expected();
    if (!doc) { test_skip(TINY "/expected_generate.json not found"); return; }
    const JsonValue *root = json_root(doc), *cases = json_get(root, "cases");
    int64_t max_new = 0;
    json_get_i64(root, "max_new", &max_new);
    char mn[16];
    snprintf(mn, sizeof mn, "%d", (int)max_new);
    EXPECT(cases && cases->count == 2);
    for (size_t c = 0; cases && c < cases->count; c++) {
        const JsonValue *cs = cases->items[c];
        char *argv[] = {"generate", "--model", TINY, "--image", (char *)json_get_str(root, "image"), "--prompt",
                        (char *)json_get_str(cs, "question"), "--max-new", mn, "--ids", "--device", "cpu"};
        char *printed = NULL;
        int rc = test_run_command(cmd_generate, (int)(sizeof argv / sizeof *argv), argv, &printed);
        EXPECT_MSG(rc == 0, "exit %d: %s", rc, printed);
        EXPECT_MSG(printed_ids_match(printed, "prompt ids:", json_get(cs, "prompt_ids")), "case %zu: prompt ids: %s", c, printed);
        EXPECT_MSG(printed_ids_match(printed, "generated ids:", json_get(cs, "generated_ids")), "case %zu: generated ids: %s", c,
                   printed);
        free(printed);
    }
    json_free(doc);
}

// The template already applied by the caller (the prompt holds <image>) gives the same ids.
TEST(generate_idefics2_prompt_with_image_is_used_as_is) {
    JsonDoc *doc = load_expected();
    if (!doc) { test_skip(TINY "/expected_generate.json not found"); return; }
    const JsonValue *root = json_root(doc), *cs = json_get(root, "cases")->items[0];
    char *argv[] = {"generate", "--model", TINY, "--image", (char *)json_get_str(root, "image"), "--prompt",
                    (char *)json_get_str(cs, "text"), "--max-new", "3", "--ids", "--device", "cpu"};
    char *printed = NULL;
    int rc = test_run_command(cmd_generate, (int)(sizeof argv / sizeof *argv), argv, &printed);
    EXPECT_MSG(rc == 0, "exit %d: %s", rc, printed);
    EXPECT_MSG(printed_ids_match(printed, "prompt ids:", json_get(cs, "prompt_ids")), "%s", printed);
    free(printed);
    // Two <image> for one image: refused, naming the prompt.
    char *argv2[] = {"generate", "--model", TINY, "--image", (char *)json_get_str(root, "image"), "--prompt",
                     "<image><image>Hi", "--device", "cpu"};
    rc = test_run_command(cmd_generate, (int)(sizeof argv2 / sizeof *argv2), argv2, &printed);
    EXPECT_EQ_INT(rc, 1);
    EXPECT_MSG(printed && strstr(printed, "prompt: 2 <image>"), "%s", printed);
    free(printed);
    json_free(doc);
}

TEST(generate_idefics2_batch_answers_as_image) {
    JsonDoc *doc = load_expected();
    if (!doc) { test_skip(TINY "/expected_generate.json not found"); return; }
    const JsonValue *root = json_root(doc), *cases = json_get(root, "cases");
    char dir[128], line[10000] = "";
    test_tmp_dir(dir, sizeof dir, "gen_idefics2");
    char image[4200];
    EXPECT(realpath(json_get_str(root, "image"), image) != NULL);
    for (size_t c = 0; c < cases->count; c++) {
        size_t n = strlen(line);
        snprintf(line + n, sizeof line - n, "{\"image\": \"%s\", \"prompt\": \"%s\", \"id\": %zu}\n", image,
                 json_get_str(cases->items[c], "question"), c);
    }
    const char *batch = test_path(dir, "in.jsonl"), *out = test_path(dir, "out.jsonl");
    EXPECT(test_write_text(batch, line));
    char *argv[] = {"generate", "--model", TINY, "--batch", (char *)batch, "--out", (char *)out, "--max-new", "10",
                    "--device", "cpu"};
    char *printed = NULL;
    int rc = test_run_command(cmd_generate, (int)(sizeof argv / sizeof *argv), argv, &printed);
    EXPECT_MSG(rc == 0, "exit %d: %s", rc, printed);
    free(printed);
    char *got = test_read_text(out);
    EXPECT(got != NULL);
    // Each line's answer is what --image prints for it (its first output line).
    const char *at = got;
    for (size_t c = 0; got && c < cases->count; c++) {
        char *argv1[] = {"generate", "--model", TINY, "--image", image, "--prompt",
                         (char *)json_get_str(cases->items[c], "question"), "--max-new", "10", "--device", "cpu"};
        rc = test_run_command(cmd_generate, (int)(sizeof argv1 / sizeof *argv1), argv1, &printed);
        EXPECT_EQ_INT(rc, 0);
        const char *nl = strchr(at, '\n');
        EXPECT(nl != NULL);
        if (!nl || !printed) { free(printed); break; }
        LpoiErr err = {{0}};
        JsonDoc *ld = json_parse(at, (size_t)(nl - at), &err);
        EXPECT_MSG(ld, "%s", err.msg);
        const char *answer = ld ? json_get_str(json_root(ld), "answer") : NULL;
        size_t alen = answer ? strlen(answer) : 0;
        EXPECT_MSG(answer && !strncmp(printed, answer, alen) && printed[alen] == '\n', "batch %s vs --image %s",
                   answer ? answer : "(none)", printed);
        json_free(ld);
        free(printed);
        at = nl + 1;
    }
    free(got);
    file_rmtree(dir);
    json_free(doc);
}

// `--adapter` with a PEFT-written Idefics2 adapter (testdata/idefics2_step/adapter, all-linear, random
// non-zero A and B): the ids of HF + PeftModel greedy generate (tools/golden_idefics2_step.py).
TEST(generate_idefics2_peft_adapter_matches_hf) {
    const char *step = "testdata/idefics2_step/step.safetensors";
    if (access(step, R_OK) || access(TINY "/config.json", R_OK)) { test_skip("testdata/idefics2_step not found"); return; }
    LpoiErr err = {{0}};
    StFile f;
    EXPECT_MSG(st_open(&f, step, &err), "%s", err.msg);
    const StTensor *t = st_find(&f, "out.generated_ids");
    EXPECT(t && t->ndim == 1 && t->shape[0] <= 16);
    if (!t) { st_close(&f); return; }
    float want[16];
    EXPECT(st_read_f32(t, want, &err));
    char mn[16], expect[256] = "generated ids:";
    snprintf(mn, sizeof mn, "%d", (int)t->shape[0]);
    for (uint64_t i = 0; i < t->shape[0]; i++) {
        size_t n = strlen(expect);
        snprintf(expect + n, sizeof expect - n, " %d", (int)want[i]);
    }
    strncat(expect, "\n", sizeof expect - strlen(expect) - 1);
    char *argv[] = {"generate", "--model", TINY, "--adapter", "testdata/idefics2_step/adapter", "--image",
                    "testdata/images/photos/chelsea.png", "--prompt", "What is in the picture?", "--max-new", mn, "--ids",
                    "--device", "cpu"};
    char *printed = NULL;
    int rc = test_run_command(cmd_generate, (int)(sizeof argv / sizeof *argv), argv, &printed);
    EXPECT_MSG(rc == 0, "exit %d: %s", rc, printed);
    EXPECT_MSG(printed && strstr(printed, expect), "want \"%s\" in: %s", expect, printed ? printed : "");
    free(printed);
    st_close(&f);
}

// Without --image only the language model runs: an adapter of the whole Idefics2 is refused with
// what to do, not as a stray LLaMA tensor.
TEST(generate_idefics2_adapter_without_image_says_why) {
    if (access("testdata/idefics2_step/adapter/adapter_config.json", R_OK)) { test_skip("testdata/idefics2_step not found"); return; }
    char *argv[] = {"generate", "--model", TINY, "--adapter", "testdata/idefics2_step/adapter", "--prompt", "Hi",
                    "--device", "cpu"};
    char *printed = NULL;
    int rc = test_run_command(cmd_generate, (int)(sizeof argv / sizeof *argv), argv, &printed);
    EXPECT_EQ_INT(rc, 1);
    EXPECT_MSG(printed && strstr(printed, "an adapter of an Idefics2's vision model or connector; give an image"), "%s",
               printed ? printed : "");
    free(printed);
}
