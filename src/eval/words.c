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

// Punkt's word tokenizer splits these off the front of a word (they cannot start one: WordStart) and
// ends a word before these (NonWord).
#define PUNKT_NOT_WORD_START "(\"`{[:;&#*@)}]-,"
#define PUNKT_NON_WORD ")\";}]*:@'({[!?"

typedef struct { const char *s; size_t n; } Span;

// Punkt's word tokens of a short context (_word_tokenize_fmt): characters that cannot start a word
// alone; a word runs until whitespace, NonWord punctuation, "--" or "..", or a comma that ends it.
static int punkt_words(const char *s, size_t n, Span *out, int max) {
    int k = 0;
    for (size_t i = 0; i < n && k < max;) {
        if (is_space((unsigned char)s[i])) { i++; continue; }
        size_t j = i;
        if ((s[i] == '-' && i + 1 < n && s[i + 1] == '-') || (s[i] == '.' && i + 1 < n && s[i + 1] == '.')) {
            while (j < n && s[j] == s[i]) j++;                   // MultiChar
        } else if (strchr(PUNKT_NOT_WORD_START, s[i])) {
            j = i + 1;
        } else {
            j = i + 1;
            while (j < n && !is_space((unsigned char)s[j]) && !strchr(PUNKT_NON_WORD, s[j]) &&
                   !(s[j] == '-' && j + 1 < n && s[j + 1] == '-') && !(s[j] == '.' && j + 1 < n && s[j + 1] == '.') &&
                   !(s[j] == ',' && (j + 1 == n || is_space((unsigned char)s[j + 1]) || strchr(PUNKT_NON_WORD, s[j + 1]))))
                j++;
        }
        out[k++] = (Span){s + i, j - i};
        i = j;
    }
    return k;
}

// text_contains_sentbreak with no trained parameters: does a token of the context break the sentence
// with another token after it? First pass: . ? ! alone and any word ending in a single period break;
// "..", "..." never do (with no sentence starters learned). Second pass (the orthographic heuristic with
// no statistics): before ; : , . ! ? or a lowercase word, an initial ("A.") or a number ("1.") does not
// break; an initial before a capital does not either.
static bool punkt_context_breaks(const char *s, size_t n) {
    Span t[64];
    int k = punkt_words(s, n, t, 64);
    for (int i = 0; i + 1 < k; i++) {
        const char *w = t[i].s;
        size_t l = t[i].n;
        bool end_char = l == 1 && strchr(".?!", w[0]);
        bool ellipsis = l >= 2 && w[0] == '.' && w[l - 1] == '.';
        for (size_t c = 0; ellipsis && c < l; c++) ellipsis = w[c] == '.';
        bool period_final = l >= 1 && w[l - 1] == '.' && !(l >= 2 && w[l - 2] == '.');
        unsigned char nc = (unsigned char)t[i + 1].s[0];
        bool next_punct = t[i + 1].n == 1 && strchr(";:,.!?", (char)nc);
        bool brk = end_char || (period_final && !ellipsis);
        if (!end_char && period_final) {
            bool initial = l == 2 && (isalpha((unsigned char)w[0]) || (unsigned char)w[0] >= 0x80);
            bool number = punkt_number(w, l - 1);
            if ((initial || number) && (next_punct || islower(nc))) brk = false;
            if (initial && isupper(nc)) brk = false;   // "unknown" sentence starter after an initial
        }
        if (brk) return true;
    }
    return false;
}

// The next sentence break at or after `from`, as an untrained Punkt finds it (_slices_from_text):
// candidates are matches of \S*[.?!](?=NonWord|\s+\S+), each judged on its context (the match plus
// what follows); returns the end of the sentence and sets *next_start to where the next one begins.
static size_t next_sentence_end(const char *s, size_t n, size_t from, size_t *next_start) {
    size_t i = from;
    while (i < n) {
        while (i < n && is_space((unsigned char)s[i])) i++;
        size_t run_end = i;
        while (run_end < n && !is_space((unsigned char)s[run_end])) run_end++;
        size_t t = run_end;
        while (t < n && is_space((unsigned char)s[t])) t++;
        // The greedy \S*: the last end character in the run whose lookahead holds.
        size_t p = n;
        for (size_t c = i; c < run_end; c++) {
            if (!strchr(".?!", s[c]) || !s[c]) continue;
            bool nonword = c + 1 < run_end && strchr(PUNKT_NON_WORD, s[c + 1]);
            bool next_tok = c + 1 == run_end && t > run_end && t < n;
            if (nonword || next_tok) p = c;
        }
        if (p == n) { i = run_end; continue; }
        bool nonword = p + 1 < run_end;
        size_t ctx_end = nonword ? p + 2 : t;
        while (!nonword && ctx_end < n && !is_space((unsigned char)s[ctx_end])) ctx_end++;
        if (!punkt_context_breaks(s + i, ctx_end - i)) { i = p + 1; continue; }
        size_t end = p + 1, next = nonword ? p + 1 : t;
        // _realign_boundaries: closing quotes/brackets that start the next sentence, followed by
        // whitespace, "--" or the end, move to this one (with the whitespace before them).
        size_t r = next;
        while (r < n && s[r] && strchr("\"')]}", s[r])) r++;
        if (r > next && (r == n || is_space((unsigned char)s[r]) || (s[r] == '-' && r + 1 < n && s[r + 1] == '-'))) {
            end = r;
            while (r < n && is_space((unsigned char)s[r])) r++;
            next = r;
        }
        *next_start = next;
        return end;
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
