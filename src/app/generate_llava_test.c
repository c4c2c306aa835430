// generate_llava_test.c — `lpoi generate --image` on testdata/tiny_llava (a tiny random LLaVA-1.5
// folder written by HF save_pretrained, tools/make_tiny_llava.py): the expanded prompt ids and the
// greedy continuation must equal HF's (expected_generate.json), id for id; and the failures a user
// meets get clear errors.
#include "app/generate_llava.h"
#include "test/test.h"
#include "base/check.h"
#include "base/json.h"
#include "base/safetensors.h"
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
