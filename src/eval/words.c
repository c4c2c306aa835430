// words.c — nltk.word_tokenize in C: sentences (Punkt), then NLTKWordTokenizer's regex passes in their
// order, each as one rewrite of a byte string (the Python module applies re.sub to the whole sentence in
// the same order, so doing them one by one keeps the interactions between passes).
//
// Where this differs from nltk 3.9 (measured on the golden cases, testdata/eval/README.md):
//  * Punkt: the rule of an untrained PunktSentenceTokenizer (a token ending in . ? ! breaks the sentence;
//    a number or a single letter with a period does not when the next word is lowercase). The English
//    model's abbreviation list ("mr.", "p.m.") is not reproduced, and neither is the oracle's.
//  * \w, \s and \d are ASCII here; Python's are Unicode (a non-ASCII letter counts as a letter in both).
#include "eval/words.h"
#include "base/check.h"
#include "base/strbuf.h"
#include <ctype.h>
#include <string.h>

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_word(unsigned char c) { return isalnum(c) || c == '_' || c >= 0x80; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// The UTF-8 quote characters the tokenizer pads: opening « “ ‘ „ and closing » ” ’. Returns the length
// of the sequence at s (0 when none); *opening tells which group.
static int utf8_quote(const char *s, size_t n, bool *opening) {
    static const char *const OPEN[] = {"\xc2\xab", "\xe2\x80\x9c", "\xe2\x80\x98", "\xe2\x80\x9e"};
    static const char *const CLOSE[] = {"\xc2\xbb", "\xe2\x80\x9d", "\xe2\x80\x99"};
    for (int i = 0; i < 4; i++) {
        size_t l = strlen(OPEN[i]);
        if (n >= l && !memcmp(s, OPEN[i], l)) { *opening = true; return (int)l; }
    }
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(CLOSE[i]);
        if (n >= l && !memcmp(s, CLOSE[i], l)) { *opening = false; return (int)l; }
    }
    return 0;
}

typedef struct { StrBuf a, b; } Passes;   // a: current text; b: scratch for the next pass

static void swap(Passes *p) {
    StrBuf t = p->a;
    p->a = p->b;
    p->b = t;
    p->b.len = 0;
    if (p->b.s) p->b.s[0] = 0;
}

static void put(StrBuf *b, const char *s, size_t n) { strbuf_put(b, s, n); }
static void putc1(StrBuf *b, char c) { strbuf_put(b, &c, 1); }

// The trailing "final period" passes: ([^.])(.)([])}>"'<closers>]*)\s*$ → "\1 \2 \3 " (closers_space:
// the first PUNCTUATION rule, whose class also holds » ” ’ and a space) or "\1 \2\3 " (the later one).
static void final_period(Passes *p, bool first_rule) {
    const char *s = p->a.s;
    size_t n = p->a.len, end = n;
    while (end > 0 && is_space((unsigned char)s[end - 1])) end--;   // \s*$
    // Walk back over the closer class to find the period.
    size_t k = end;
    for (;;) {
        if (k == 0) break;
        unsigned char c = (unsigned char)s[k - 1];
        if (strchr("])}>\"'", c) && c) { k--; continue; }
        if (first_rule && c == ' ') { k--; continue; }
        bool open;
        if (first_rule && k >= 2 && c >= 0x80) {   // a closing UTF-8 quote ends at k
            size_t l = k >= 3 ? 3 : 2, found = 0;
            for (size_t t = 2; t <= l; t++)
                if (utf8_quote(s + k - t, t, &open) == (int)t && !open) found = t;
            if (found) { k -= found; continue; }
        }
        break;
    }
    // Backtracking detail: Python's regex takes the leftmost match; the closer run we skipped may
    // itself contain the period only as '.', which the class excludes, so k is where '.' must sit.
    if (k < 2 || s[k - 1] != '.' || s[k - 2] == '.') {
        // With a space in the class, the leftmost match may start earlier (a '.' before spaces is
        // covered by the walk above); nothing to do otherwise.
        return;
    }
    p->b.len = 0;
    put(&p->b, s, k - 1);
    put(&p->b, " .", 2);
    if (first_rule) putc1(&p->b, ' ');
    put(&p->b, s + k, end - k);
    putc1(&p->b, ' ');
    // \s*$ consumed the trailing spaces: the replacement ends with one space instead.
    swap(p);
}

// Pads every byte in set (and, with quotes, the UTF-8 quotes of one group) with spaces.
static void pad_chars(Passes *p, const char *set) {
    p->b.len = 0;
    for (size_t i = 0; i < p->a.len; i++) {
        char c = p->a.s[i];
        if (c && strchr(set, c)) { putc1(&p->b, ' '); putc1(&p->b, c); putc1(&p->b, ' '); }
        else putc1(&p->b, c);
    }
    swap(p);
}

static void pad_quotes(Passes *p, bool opening) {
    p->b.len = 0;
    const char *s = p->a.s;
    size_t n = p->a.len;
    for (size_t i = 0; i < n;) {
        bool open;
        int l = (unsigned char)s[i] >= 0x80 ? utf8_quote(s + i, n - i, &open) : 0;
        if (l && open == opening) { putc1(&p->b, ' '); put(&p->b, s + i, (size_t)l); putc1(&p->b, ' '); i += (size_t)l; continue; }
        if (opening && s[i] == '`') {   // [`]+ as one run
            size_t j = i;
            while (j < n && s[j] == '`') j++;
            putc1(&p->b, ' '); put(&p->b, s + i, j - i); putc1(&p->b, ' ');
            i = j;
            continue;
        }
        putc1(&p->b, s[i]);
        i++;
    }
    swap(p);
}

static bool ieq(const char *s, const char *lit) {   // case-insensitive prefix match
    for (; *lit; s++, lit++)
        if (tolower((unsigned char)*s) != *lit) return false;
    return true;
}

// One sentence through NLTKWordTokenizer.tokenize; tokens appended to w.
static void treebank(Words *w, const char *text, size_t len) {
    Passes p = {0};
    put(&p.a, text, len);
    if (!p.a.s) put(&p.a, "", 0);
    const char *s;
    size_t n;

    // STARTING_QUOTES
    pad_quotes(&p, true);                                   // ([«“‘„]|[`]+) → " \1 "
    if (p.a.len && p.a.s[0] == '"') {                       // ^\" → ``
        p.b.len = 0; put(&p.b, "``", 2); put(&p.b, p.a.s + 1, p.a.len - 1); swap(&p);
    }
    p.b.len = 0;                                            // (``) → " `` "
    for (size_t i = 0; i < p.a.len;) {
        if (i + 1 < p.a.len && p.a.s[i] == '`' && p.a.s[i + 1] == '`') { put(&p.b, " `` ", 4); i += 2; }
        else putc1(&p.b, p.a.s[i++]);
    }
    swap(&p);
    p.b.len = 0;                                            // ([ \(\[{<])(\"|\'{2}) → "\1 `` "
    s = p.a.s; n = p.a.len;
    for (size_t i = 0; i < n;) {
        if (strchr(" ([{<", s[i]) && s[i] && i + 1 < n && (s[i + 1] == '"' || (s[i + 1] == '\'' && i + 2 < n && s[i + 2] == '\''))) {
            putc1(&p.b, s[i]); put(&p.b, " `` ", 4);
            i += s[i + 1] == '"' ? 2 : 3;
        } else putc1(&p.b, s[i++]);
    }
    swap(&p);
    p.b.len = 0;                                            // (?i)(')(?!re|ve|ll|m|t|s|d|n)(\w)\b → "\1 \2"
    s = p.a.s; n = p.a.len;
    for (size_t i = 0; i < n; i++) {
        putc1(&p.b, s[i]);
        if (s[i] == '\'' && i + 1 < n && is_word((unsigned char)s[i + 1]) && (i + 2 >= n || !is_word((unsigned char)s[i + 2]))) {
            char c = (char)tolower((unsigned char)s[i + 1]);
            if (!strchr("mtsdn", c)) putc1(&p.b, ' ');
        }
    }
    swap(&p);

    // PUNCTUATION
    final_period(&p, true);
    p.b.len = 0;                                            // ([:,])([^\d]) → " \1 \2";  ([:,])$ → " \1 "
    s = p.a.s; n = p.a.len;
    for (size_t i = 0; i < n;) {
        if ((s[i] == ':' || s[i] == ',') && i + 1 < n && !is_digit((unsigned char)s[i + 1])) {
            putc1(&p.b, ' '); putc1(&p.b, s[i]); putc1(&p.b, ' '); putc1(&p.b, s[i + 1]);
            i += 2;
        } else if ((s[i] == ':' || s[i] == ',') && i + 1 == n) {
            putc1(&p.b, ' '); putc1(&p.b, s[i]); putc1(&p.b, ' ');
            i++;
        } else putc1(&p.b, s[i++]);
    }
    swap(&p);
    p.b.len = 0;                                            // \.{2,} → " \g<0> "
    s = p.a.s; n = p.a.len;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] == '.') j++;
        if (j - i >= 2) { putc1(&p.b, ' '); put(&p.b, s + i, j - i); putc1(&p.b, ' '); i = j; }
        else putc1(&p.b, s[i++]);
    }
    swap(&p);
    pad_chars(&p, ";@#$%&");
    final_period(&p, false);
    pad_chars(&p, "?!");
    p.b.len = 0;                                            // ([^'])' → "\1 ' "
    s = p.a.s; n = p.a.len;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\'' && i + 2 < n + 0 && s[i + 1] == '\'' && s[i + 2] == ' ') {
            putc1(&p.b, s[i]); put(&p.b, " ' ", 3);
            i += 3;
        } else putc1(&p.b, s[i++]);
    }
    swap(&p);
    pad_chars(&p, "*");
    pad_chars(&p, "][(){}<>");                              // PARENS_BRACKETS
    p.b.len = 0;                                            // DOUBLE_DASHES -- → " -- "
    s = p.a.s; n = p.a.len;
    for (size_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') { put(&p.b, " -- ", 4); i += 2; }
        else putc1(&p.b, s[i++]);
    }
    swap(&p);
    p.b.len = 0;                                            // text = " " + text + " "
    putc1(&p.b, ' '); put(&p.b, p.a.s, p.a.len); putc1(&p.b, ' ');
    swap(&p);

    // ENDING_QUOTES
    pad_quotes(&p, false);                                  // ([»”’]) → " \1 "
    p.b.len = 0;                                            // '' → " '' "; then " → " '' "
    s = p.a.s; n = p.a.len;
    for (size_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == '\'' && s[i + 1] == '\'') { put(&p.b, " '' ", 4); i += 2; }
        else putc1(&p.b, s[i++]);
    }
    swap(&p);
    p.b.len = 0;
    for (size_t i = 0; i < p.a.len; i++)
        if (p.a.s[i] == '"') put(&p.b, " '' ", 4); else putc1(&p.b, p.a.s[i]);
    swap(&p);
    p.b.len = 0;                                            // \s+ → " "
    s = p.a.s; n = p.a.len;
    for (size_t i = 0; i < n;) {
        if (is_space((unsigned char)s[i])) { while (i < n && is_space((unsigned char)s[i])) i++; putc1(&p.b, ' '); }
        else putc1(&p.b, s[i++]);
    }
    swap(&p);
    // ([^' ])('[sS]|'[mM]|'[dD]|') → "\1 \2 ", then ([^' ])('ll|'re|'ve|n't, either case) → "\1 \2 "
    for (int pass = 0; pass < 2; pass++) {
        p.b.len = 0;
        s = p.a.s; n = p.a.len;
        for (size_t i = 0; i < n;) {
            if (s[i] != '\'' && s[i] != ' ' && i + 1 < n) {
                size_t l = 0;
                const char *t = s + i + 1;
                size_t rest = n - i - 1;
                if (pass == 0) {
                    if (rest >= 3 && t[0] == '\'' && strchr("sSmMdD", t[1]) && t[1] && t[2] == ' ') l = 2;
                    else if (rest >= 2 && t[0] == '\'' && t[1] == ' ') l = 1;
                } else if (rest >= 4 && t[3] == ' ') {
                    static const char *const C[] = {"'ll", "'LL", "'re", "'RE", "'ve", "'VE", "n't", "N'T"};
                    for (int c = 0; c < 8; c++)
                        if (!memcmp(t, C[c], 3)) l = 3;
                }
                if (l) {
                    putc1(&p.b, s[i]); putc1(&p.b, ' '); put(&p.b, t, l); putc1(&p.b, ' ');
                    i += 1 + l + 1;   // the space after \2 was consumed by the match
                    continue;
                }
            }
            putc1(&p.b, s[i++]);
        }
        swap(&p);
    }
    // CONTRACTIONS2: (?i)\b(can)(not)\b and friends → " \1 \2 "; CONTRACTIONS3: (?i) ('t)(is|was)\b
    static const struct { const char *a, *b; bool ahead_space; } C2[] = {
        {"can", "not", false}, {"d", "'ye", false}, {"gim", "me", false}, {"gon", "na", false},
        {"got", "ta", false},  {"lem", "me", false}, {"more", "'n", false}, {"wan", "na", true},
    };
    for (size_t c = 0; c < LPOI_ARRAY_LEN(C2); c++) {
        size_t la = strlen(C2[c].a), lb = strlen(C2[c].b);
        p.b.len = 0;
        s = p.a.s; n = p.a.len;
        for (size_t i = 0; i < n;) {
            bool start = i == 0 || !is_word((unsigned char)s[i - 1]);
            if (start && i + la + lb <= n && ieq(s + i, C2[c].a) && ieq(s + i + la, C2[c].b)) {
                size_t e = i + la + lb;
                bool ok = C2[c].ahead_space ? (e < n && is_space((unsigned char)s[e]))
                                             : (e == n || !is_word((unsigned char)s[e]) || !is_word((unsigned char)s[e - 1]));
                if (ok) {
                    putc1(&p.b, ' '); put(&p.b, s + i, la); putc1(&p.b, ' '); put(&p.b, s + i + la, lb); putc1(&p.b, ' ');
                    i = e;
                    continue;
                }
            }
            putc1(&p.b, s[i++]);
        }
        swap(&p);
    }
    for (int c = 0; c < 2; c++) {
        const char *b = c == 0 ? "is" : "was";
        size_t lb = strlen(b);
        p.b.len = 0;
        s = p.a.s; n = p.a.len;
        for (size_t i = 0; i < n;) {
            if (s[i] == ' ' && i + 3 + lb <= n && s[i + 1] == '\'' && tolower((unsigned char)s[i + 2]) == 't' &&
                ieq(s + i + 3, b) && (i + 3 + lb == n || !is_word((unsigned char)s[i + 3 + lb]))) {
                put(&p.b, "  ", 2); put(&p.b, s + i + 1, 2); putc1(&p.b, ' '); put(&p.b, s + i + 3, lb); putc1(&p.b, ' ');
                i += 3 + lb;
                continue;
            }
            putc1(&p.b, s[i++]);
        }
        swap(&p);
    }

    // text.split()
    s = p.a.s; n = p.a.len;
    for (size_t i = 0; i < n;) {
        while (i < n && is_space((unsigned char)s[i])) i++;
        size_t j = i;
        while (j < n && !is_space((unsigned char)s[j])) j++;
        if (j > i) {
            if (w->n == w->cap) {
                w->cap = w->cap ? 2 * w->cap : 64;
                w->tok = realloc_check(w->tok, (size_t)w->cap * sizeof *w->tok);
            }
            size_t need = w->buf_len + (j - i) + 1;
            if (need > w->buf_cap) {
                size_t cap = w->buf_cap ? w->buf_cap : 1024;
                while (cap < need) cap *= 2;
                char *old = w->buf;
                w->buf = realloc_check(w->buf, cap);
                for (int t = 0; t < w->n; t++) w->tok[t] = w->buf + (w->tok[t] - old);
                w->buf_cap = cap;
            }
            memcpy(w->buf + w->buf_len, s + i, j - i);
            w->buf[w->buf_len + (j - i)] = 0;
            w->tok[w->n++] = w->buf + w->buf_len;
            w->buf_len = need;
        }
        i = j;
    }
    free(p.a.s);
    free(p.b.s);
}

// Punkt's number type (##number##: ^-?[\.,]?\d[\d,\.-]*\.?$) and initial ([^\W\d]\.) tests on a
// candidate token without its final period.
static bool punkt_number(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i < n && (s[i] == '.' || s[i] == ',')) i++;
    if (i >= n || !is_digit((unsigned char)s[i])) return false;
    for (i++; i < n; i++)
        if (!is_digit((unsigned char)s[i]) && !strchr(",.-", s[i])) return false;
    return true;
}

// Sentence ends (byte offsets just after them) as an untrained Punkt finds them; see the file comment.
static size_t next_sentence_end(const char *s, size_t n, size_t from, size_t *next_start) {
    for (size_t p = from; p < n; p++) {
        char c = s[p];
        if (c != '.' && c != '?' && c != '!') continue;
        size_t q = p + 1;
        bool nonword = q < n && strchr(")\";}]*:@'({[!?", s[q]) && s[q];
        size_t t = q;
        while (t < n && is_space((unsigned char)s[t])) t++;
        bool next_tok = t > q && t < n;
        if (!nonword && !next_tok) continue;
        if (nonword) {
            // The context is the token plus one punctuation character; Punkt breaks when a token follows
            // the period-final token inside it, which the punctuation is.
        }
        // The period-final token: the non-space run ending at p, without Punkt's leading punctuation.
        size_t b = p;
        while (b > from && !is_space((unsigned char)s[b - 1])) b--;
        while (b < p && strchr("?!)\";}]*:@'({[", s[b]) && s[b]) b++;
        bool brk = true;
        if (c == '.') {
            size_t k = p - b;   // token length without the period
            bool ellipsis = k >= 1 && s[p - 1] == '.';
            bool initial = k == 1 && (isalpha((unsigned char)s[b]) || (unsigned char)s[b] >= 0x80);
            bool number = punkt_number(s + b, k);
            if (ellipsis || initial || number) {
                // Orthographic heuristic with no statistics: a lowercase next word is no sentence starter.
                unsigned char nc = nonword ? (unsigned char)s[q] : (unsigned char)s[t];
                brk = isupper(nc) != 0;
                if (ellipsis && !isupper(nc)) brk = false;
            }
        }
        if (!brk) continue;
        // Realignment: closing quotes/brackets right after the period stay with this sentence.
        size_t e = q;
        while (e < n && strchr("\"')]}", s[e]) && s[e]) e++;
        size_t ns = e;
        while (ns < n && is_space((unsigned char)s[ns])) ns++;
        if (e > q && ns == e && ns < n) e = q;   // no whitespace after the closers: they belong to the next token
        *next_start = e > q ? ns : t;
        if (!nonword) *next_start = t;
        return e > q ? e : q;
    }
    *next_start = n;
    return n;
}

void words_tokenize(Words *w, const char *text, size_t len) {
    size_t start = 0;
    while (start < len && is_space((unsigned char)text[start])) start++;
    while (start < len) {
        size_t next;
        size_t end = next_sentence_end(text, len, start, &next);
        size_t e = end;
        while (e > start && is_space((unsigned char)text[e - 1])) e--;
        if (e > start) treebank(w, text + start, e - start);
        start = next > end ? next : end;
        while (start < len && is_space((unsigned char)text[start])) start++;
    }
}

void words_clear(Words *w) {
    w->n = 0;
    w->buf_len = 0;
}

void words_free(Words *w) {
    free(w->tok);
    free(w->buf);
    *w = (Words){0};
}
