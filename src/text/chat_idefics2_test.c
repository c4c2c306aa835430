// chat_idefics2_test.c — the idefics2 template, the processor's image-token expansion and the
// resulting input_ids against Idefics2Processor (testdata/idefics2/chat_expected.json, written by
// tools/golden_idefics2.py --chat; the ids need ../shared/data/hf and are skipped without it).
#include "test/test.h"
#include "text/chat_idefics2.h"
#include "text/tokenizer.h"
#include "base/json.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HF "../shared/data/hf/"
enum { MAX_MSG = 8, MAX_ITEMS = 8 };

TEST(chat_idefics2_matches_processor) {
    LpoiErr err = {{0}};
    size_t n;
    char *text = file_read_all("testdata/idefics2/chat_expected.json", 1 << 20, &n, &err);
    EXPECT_MSG(text, "%s", err.msg);
    if (!text) return;
    JsonDoc *doc = json_parse(text, n, &err);
    free(text);
    EXPECT_MSG(doc, "%s", err.msg);
    if (!doc) return;
    Tokenizer *tok = NULL;
    if (access(HF "mistralai__Mistral-7B-v0.1/tokenizer.json", R_OK) == 0) {
        tok = tokenizer_load(HF "mistralai__Mistral-7B-v0.1/tokenizer.json", &err);
        EXPECT_MSG(tok && tokenizer_apply_config(tok, HF "HuggingFaceM4__idefics2-8b/tokenizer_config.json", &err), "%s",
                   err.msg);
    }
    const JsonValue *cases = json_get(json_root(doc), "cases");
    EXPECT(cases && cases->count >= 5);
    for (size_t i = 0; cases && i < cases->count; i++) {
        const JsonValue *c = cases->items[i], *msgs = json_get(c, "messages");
        Idefics2ChatMessage m[MAX_MSG] = {{0}};
        const char *items[MAX_MSG][MAX_ITEMS];
        size_t nm = msgs->count < MAX_MSG ? msgs->count : MAX_MSG;
        for (size_t k = 0; k < nm; k++) {
            const JsonValue *content = json_get(msgs->items[k], "content");
            m[k].role = json_get_str(msgs->items[k], "role");
            m[k].items = items[k];
            for (size_t j = 0; j < content->count && j < MAX_ITEMS; j++, m[k].n_items++) {
                bool image = !strcmp(json_get_str(content->items[j], "type"), "image");
                items[k][j] = image ? NULL : json_get_str(content->items[j], "text");
            }
        }
        bool gen = false, split = false;
        int64_t seq = 0;
        json_get_bool(c, "add_generation_prompt", &gen);
        json_get_bool(c, "do_image_splitting", &split);
        json_get_i64(c, "image_seq_len", &seq);
        char *got = chat_render_idefics2(m, nm, gen);
        EXPECT_STREQ(got, json_get_str(c, "text"));
        char *expanded = chat_idefics2_expand_images(got ? got : "", (int)seq, split);
        EXPECT_MSG(!strcmp(expanded, json_get_str(c, "expanded")), "case %zu (%s): expansion differs:\n%s", i,
                   json_get_str(c, "about"), expanded);
        if (tok) {
            TokIds ids = {0};
            EXPECT(tokenizer_encode(tok, expanded, strlen(expanded), true, &ids, &err));
            const JsonValue *want = json_get(c, "input_ids");
            bool same = want && ids.count == want->count;
            for (size_t k = 0; same && k < ids.count; k++) {
                int64_t w;
                same = json_as_i64(want->items[k], &w) && w == ids.ids[k];
            }
            EXPECT_MSG(same, "case %zu (%s): input_ids differ from the processor's", i, json_get_str(c, "about"));
            tok_ids_free(&ids);
        }
        free(expanded);
        free(got);
    }
    if (!tok) test_skip(HF " is absent: the input_ids were not checked");
    tokenizer_free(tok);
    json_free(doc);
}

TEST(chat_idefics2_pair_and_empty_message) {
    char *prompt, *response;
    chat_idefics2_pair("What is it?", "A cat.", &prompt, &response);
    EXPECT_STREQ(prompt, "User:<image>What is it?<end_of_utterance>\n");
    EXPECT_STREQ(response, "Assistant: A cat.<end_of_utterance>\n");
    free(prompt);
    free(response);
    Idefics2ChatMessage empty = {"user", NULL, 0};
    EXPECT(chat_render_idefics2(&empty, 1, false) == NULL);
    char *e = chat_idefics2_expand_images("a<image>", 2, false);   // nothing after the closing fake token: no space
    EXPECT_STREQ(e, "a<fake_token_around_image><image><image><fake_token_around_image>");
    free(e);
}
