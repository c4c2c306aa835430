// wordpiece_python.c — Python's str.strip() and str.lower() on UTF-8 (wordpiece.h), for the text
// rules HF processors apply before the tokenizer.
#include "text/wordpiece.h"
#include "text/wordpiece_internal.h"
#include "text/tokenizer_internal.h"   // UTF-8 helpers
#include "base/check.h"
#include "base/strbuf.h"

// str.isspace(): Unicode White_Space plus the separators U+001C..U+001F.
static bool py_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

void py_str_strip(const char *s, size_t len, size_t *start, size_t *end) {
    size_t a = 0, b = len, n;
    while (a < len && py_space(tok_utf8_decode(s + a, &n))) a += n;
    while (b > a) {
        size_t p = b - 1;
        while (p > a && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
        if (!py_space(tok_utf8_decode(s + p, &n))) break;
        b = p;
    }
    *start = a;
    *end = b;
}

char *py_str_lower(const char *s, size_t len, size_t *out_len) {
    size_t n = 0, k;
    uint32_t *cp = malloc_check((len ? len : 1) * sizeof *cp);
    for (size_t i = 0; i < len; i += k) cp[n++] = tok_utf8_decode(s + i, &k);
    StrBuf o = {0};
    strbuf_put(&o, "", 0);
    for (size_t i = 0; i < n; i++) {
        char u[4];
        size_t ml;
        const char *m;
        uint32_t c = cp[i];
        if (c == 0x3A3) {   // Python's handle_capital_sigma
            size_t j = i;
            while (j > 0 && wp_in(&py_ignorable, cp[j - 1])) j--;
            bool final = j > 0 && wp_in(&py_cased, cp[j - 1]);
            for (j = i + 1; final && j < n && wp_in(&py_ignorable, cp[j]); j++) {}
            c = final && (j >= n || !wp_in(&py_cased, cp[j])) ? 0x3C2 : 0x3C3;
        } else if ((m = wp_map(&py_lower, c, &ml))) {
            strbuf_put(&o, m, ml);
            continue;
        }
        strbuf_put(&o, u, tok_utf8_encode(c, u));
    }
    free(cp);
    if (out_len) *out_len = o.len;
    return o.s;
}
