// strbuf.c — see strbuf.h.
#include "strbuf.h"
#include "check.h"
#include "json.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

// Room for `extra` more bytes and the NUL.
static void reserve(StrBuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        LPOI_ASSERT(cap < ((size_t)1 << 40));
        cap *= 2;
    }
    b->s = realloc_check(b->s, cap);
    b->cap = cap;
}

void strbuf_put(StrBuf *b, const void *data, size_t n) {
    reserve(b, n);
    if (n) memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = 0;
}

void strbuf_str(StrBuf *b, const char *s) { strbuf_put(b, s, strlen(s)); }

void strbuf_printf(StrBuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    LPOI_ASSERT(n >= 0);
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void strbuf_json_string(StrBuf *b, const char *s, size_t len) {
    size_t need = json_escape(NULL, 0, s, len);
    reserve(b, need);
    json_escape(b->s + b->len, need + 1, s, len);
    b->len += need;
}

void strbuf_json_str(StrBuf *b, const char *s) { strbuf_json_string(b, s, strlen(s)); }

void strbuf_json_text(StrBuf *b, const char *s, size_t len) {
    if (utf8_valid(s, len)) { strbuf_json_string(b, s, len); return; }
    StrBuf clean = {0};
    for (size_t i = 0; i < len;) {
        size_t ok = utf8_first_invalid(s + i, len - i);
        strbuf_put(&clean, s + i, ok);
        i += ok;
        if (i < len) { strbuf_put(&clean, "\xEF\xBF\xBD", 3); i++; }
    }
    strbuf_json_string(b, clean.s, clean.len);
    free(clean.s);
}
