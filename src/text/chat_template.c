// chat_template.c — see chat_template.h for the template text and the conventions it encodes.
#include "text/chat_template.h"
#include "base/check.h"
#include "base/strbuf.h"
#include <string.h>

char *chat_render_llava15(const ChatMessage *msgs, size_t n, bool add_generation_prompt) {
    StrBuf s = {0};
    strbuf_str(&s, "");
    for (size_t i = 0; i < n; i++) {
        const ChatMessage *m = &msgs[i];
        const char *role = m->role ? m->role : "";
        if (strcmp(role, "system") != 0) {
            size_t rl = strlen(role);
            char *up = malloc_check(rl + 3);
            for (size_t k = 0; k < rl; k++) {
                char c = role[k];
                up[k] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
            }
            memcpy(up + rl, ": ", 3);
            strbuf_str(&s, up);
            free(up);
        }
        for (int k = 0; k < m->n_images; k++) strbuf_str(&s, "<image>\n");
        if (m->text) {
            strbuf_str(&s, m->text);
            strbuf_str(&s, " ");
        }
    }
    if (add_generation_prompt) strbuf_str(&s, "ASSISTANT:");
    return s.s;
}

char *chat_llava15_prompt(const char *question) {
    ChatMessage m = {"user", 1, question};
    return chat_render_llava15(&m, 1, true);
}

void chat_llava15_pair(const char *question, const char *answer, char **prompt, char **response) {
    ChatMessage u = {"user", 1, question}, a = {"assistant", 0, answer};
    *prompt = chat_render_llava15(&u, 1, false);
    *response = chat_render_llava15(&a, 1, false);
}
