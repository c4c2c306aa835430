// chat_template.c — see chat_template.h for the template text and the conventions it encodes.
#include "text/chat_template.h"
#include "base/check.h"
#include <string.h>

typedef struct { char *p; size_t len, cap; } Str;

static void str_put(Str *s, const char *t) {
    size_t n = strlen(t);
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < s->len + n + 1) {
            LPOI_ASSERT(cap < ((size_t)1 << 40));
            cap *= 2;
        }
        s->p = realloc_check(s->p, cap);
        s->cap = cap;
    }
    memcpy(s->p + s->len, t, n + 1);
    s->len += n;
}

char *chat_render_llava15(const ChatMessage *msgs, size_t n, bool add_generation_prompt) {
    Str s = {0};
    str_put(&s, "");
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
            str_put(&s, up);
            free(up);
        }
        for (int k = 0; k < m->n_images; k++) str_put(&s, "<image>\n");
        if (m->text) {
            str_put(&s, m->text);
            str_put(&s, " ");
        }
    }
    if (add_generation_prompt) str_put(&s, "ASSISTANT:");
    return s.p;
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
