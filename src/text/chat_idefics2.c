// chat_idefics2.c — see chat_idefics2.h for the template, the expansion and their HF sources.
#include "text/chat_idefics2.h"
#include "base/check.h"
#include "base/strbuf.h"
#include <string.h>

#define FAKE "<fake_token_around_image>"
#define IMAGE "<image>"

char *chat_render_idefics2(const Idefics2ChatMessage *msgs, size_t n, bool add_generation_prompt) {
    StrBuf s = {0};
    strbuf_str(&s, "");
    for (size_t i = 0; i < n; i++) {
        const Idefics2ChatMessage *m = &msgs[i];
        if (m->n_items == 0) { free(s.s); return NULL; }
        const char *role = m->role ? m->role : "";
        for (size_t k = 0; role[k]; k++) {   // str.capitalize() on ASCII letters
            char c = role[k];
            if (k == 0 && c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
            if (k > 0 && c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
            strbuf_put(&s, &c, 1);
        }
        strbuf_str(&s, m->items[0] ? ": " : ":");
        for (size_t k = 0; k < m->n_items; k++) strbuf_str(&s, m->items[k] ? m->items[k] : IMAGE);
        strbuf_str(&s, "<end_of_utterance>\n");
    }
    if (add_generation_prompt) strbuf_str(&s, "Assistant:");
    return s.s;
}

// Python str.replace: every non-overlapping occurrence of `from`, left to right.
static char *replace_all(const char *text, const char *from, const char *to) {
    StrBuf s = {0};
    strbuf_str(&s, "");
    size_t fl = strlen(from);
    for (const char *p = text, *hit; *p; p = hit + fl) {
        hit = strstr(p, from);
        if (!hit) { strbuf_str(&s, p); break; }
        strbuf_put(&s, p, (size_t)(hit - p));
        strbuf_str(&s, to);
    }
    return s.s;
}

// Python's \s for str patterns (str.isspace()) on the code point that starts at p (UTF-8).
static bool py_space_at(const unsigned char *p) {
    unsigned cp = p[0];
    if (cp >= 0xC0 && cp < 0xE0) cp = (cp & 0x1F) << 6 | (p[1] & 0x3F);
    else if (cp >= 0xE0 && cp < 0xF0) cp = (cp & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    else if (cp >= 0xF0) return false;   // nothing above U+FFFF is whitespace
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

char *chat_idefics2_expand_images(const char *text, int image_seq_len, bool image_splitting) {
    StrBuf one = {0};
    strbuf_str(&one, FAKE);
    for (int i = 0; i < image_seq_len; i++) strbuf_str(&one, IMAGE);
    strbuf_str(&one, FAKE);
    StrBuf image_str = {0};
    for (int k = 0; k < (image_splitting ? 5 : 1); k++) strbuf_str(&image_str, one.s);
    free(one.s);
    char *a = replace_all(text, IMAGE, image_str.s);
    free(image_str.s);
    char *b = replace_all(a, FAKE FAKE, FAKE);
    free(a);
    // re.sub(FAKE + r"(?=[^\s<])", FAKE + " ")
    StrBuf s = {0};
    strbuf_str(&s, "");
    const size_t fl = strlen(FAKE);
    for (const char *p = b, *hit; *p; p = hit + fl) {
        hit = strstr(p, FAKE);
        if (!hit) { strbuf_str(&s, p); break; }
        strbuf_put(&s, p, (size_t)(hit - p) + fl);
        const char *next = hit + fl;
        if (*next && *next != '<' && !py_space_at((const unsigned char *)next)) strbuf_str(&s, " ");
    }
    free(b);
    return s.s;
}

void chat_idefics2_pair(const char *question, const char *answer, char **prompt, char **response) {
    const char *user[2] = {NULL, question}, *assistant[1] = {answer};
    Idefics2ChatMessage u = {"user", user, 2}, a = {"assistant", assistant, 1};
    *prompt = chat_render_idefics2(&u, 1, false);
    *response = chat_render_idefics2(&a, 1, false);
}
