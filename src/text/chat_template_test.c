// chat_template_test.c — the C llava-1.5 template against renders of the real jinja template
// (testdata/tokenizer/chat_llava15.json, tools/golden_tokenizer.py), and the prompt/response split.
#include "test/test.h"
#include "text/chat_template.h"
#include "base/json.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>

TEST(chat_llava15_matches_jinja) {
    LpoiErr err = {{0}};
    size_t n;
    char *text = file_read_all("testdata/tokenizer/chat_llava15.json", 1 << 20, &n, &err);
    EXPECT_MSG(text, "%s", err.msg);
    if (!text) return;
    JsonDoc *doc = json_parse(text, n, &err);
    free(text);
    EXPECT_MSG(doc, "%s", err.msg);
    if (!doc) return;
    const JsonValue *cases = json_get(json_root(doc), "cases");
    EXPECT(cases && cases->count >= 8);
    for (size_t i = 0; cases && i < cases->count; i++) {
        const JsonValue *c = cases->items[i], *msgs = json_get(c, "messages");
        ChatMessage m[8] = {{0}};
        size_t nm = msgs->count < 8 ? msgs->count : 8;
        for (size_t k = 0; k < nm; k++) {
            const JsonValue *content = json_get(msgs->items[k], "content");
            m[k].role = json_get_str(msgs->items[k], "role");
            for (size_t j = 0; j < content->count; j++) {
                const char *type = json_get_str(content->items[j], "type");
                if (strcmp(type, "image") == 0) m[k].n_images++;
                else m[k].text = json_get_str(content->items[j], "text");
            }
        }
        bool gen = false;
        json_get_bool(c, "add_generation_prompt", &gen);
        char *got = chat_render_llava15(m, nm, gen);
        EXPECT_STREQ(got, json_get_str(c, "text"));
        free(got);
    }
    json_free(doc);
}

TEST(chat_llava15_prompt_and_pair) {
    char *p = chat_llava15_prompt("What is this?");
    EXPECT_STREQ(p, "USER: <image>\nWhat is this? ASSISTANT:");
    free(p);
    char *prompt, *response;
    chat_llava15_pair("Q?", "A cat.", &prompt, &response);
    EXPECT_STREQ(prompt, "USER: <image>\nQ? ");
    EXPECT_STREQ(response, "ASSISTANT: A cat. ");
    free(prompt);
    free(response);
}
