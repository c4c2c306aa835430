// chat_template.h — chat templates built in C, byte-identical to the HF jinja templates of the
// models we train (checked against renders of the real template in testdata/tokenizer/chat_llava15.json).
//
// llava-1.5 (llava-hf/llava-1.5-7b-hf chat_template.json), per message in order:
//   role != "system"  -> ROLE.upper() + ": "
//   each image item   -> "<image>\n"          (all images of the message first)
//   each text item    -> text + " "           (same for every role; {% generation %} only marks it)
// then "ASSISTANT:" when add_generation_prompt. So one image + question renders as
//   "USER: <image>\n{q} ASSISTANT:"   and a training pair splits into
//   prompt "USER: <image>\n{q} "  and response "ASSISTANT: {answer} "
// (LPOI's trainer scores the response including the role prefix; EOS is appended by the trainer).
// Note there is no system prompt by default: LLaVA's original "A chat between a curious human..."
// preamble is not part of the HF template. Each <image> is later expanded to 576 image tokens by
// the processor, not here.
#pragma once
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *role;   // "user", "assistant", "system", ... (ASCII letters are upper-cased as .upper() does)
    int n_images;       // image items in the message's content
    const char *text;   // its text item, or NULL for none
} ChatMessage;

// Renders messages with the llava-1.5 template. Returns a malloc'ed NUL-terminated string.
char *chat_render_llava15(const ChatMessage *msgs, size_t n, bool add_generation_prompt);
// "USER: <image>\n{question} ASSISTANT:" — one image and a question, ready for generation.
char *chat_llava15_prompt(const char *question);
// The two parts of a one-turn training example: *prompt = "USER: <image>\n{question} ",
// *response = "ASSISTANT: {answer} " (their concatenation is the full render). Both malloc'ed.
void chat_llava15_pair(const char *question, const char *answer, char **prompt, char **response);
