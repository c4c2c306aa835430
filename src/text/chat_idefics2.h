// chat_idefics2.h — Idefics2's prompt text, byte-identical to what HF builds (checked against
// Idefics2Processor in testdata/idefics2/chat_expected.json):
//
// 1. The chat template of HuggingFaceM4/idefics2-8b, per message in order:
//      role.capitalize()  ("user" → "User"; the rest of the role lower-cased)
//      ":" when the first content item is an image, else ": "
//      each item: its text, or "<image>"
//      "<end_of_utterance>\n"
//    then "Assistant:" when add_generation_prompt. So one image + question renders as
//      "User:<image>{q}<end_of_utterance>\nAssistant:"
// 2. The processor's expansion (Idefics2Processor.__call__): every "<image>" becomes
//      "<fake_token_around_image>" + "<image>" × image_seq_len + "<fake_token_around_image>"
//    (five times over with do_image_splitting), then every "<fake_token_around_image>" pair is
//    merged into one (adjacent images share their fake token), then a space is inserted after a
//    fake token followed by anything but whitespace (Python's \s) or '<'. That space is why
//    "<image>What" tokenises as "... ▁What".
// The tokenizer (Mistral's with idefics2's added tokens) then adds BOS.
#pragma once
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *role;              // "user", "assistant", "system", ...
    const char *const *items;      // [n_items] content in order: a text, or NULL for an image
    size_t n_items;                // >= 1 (HF's template reads content[0])
} Idefics2ChatMessage;

// Renders messages with the idefics2-8b template (malloc'ed), or NULL when a message has no content
// item (HF's template fails on it).
char *chat_render_idefics2(const Idefics2ChatMessage *msgs, size_t n, bool add_generation_prompt);
// The processor's expansion of every "<image>" in text (malloc'ed).
char *chat_idefics2_expand_images(const char *text, int image_seq_len, bool image_splitting);
// The two parts of a one-turn training example with one image before the question:
// *prompt = "User:<image>{question}<end_of_utterance>\n", *response = "Assistant: {answer}<end_of_utterance>\n"
// (their concatenation is the full render; expand before tokenising). Both malloc'ed.
void chat_idefics2_pair(const char *question, const char *answer, char **prompt, char **response);
