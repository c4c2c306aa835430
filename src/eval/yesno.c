// yesno.c — see yesno.h for the rule and why.
#include "eval/yesno.h"
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

static bool word_is(const char *w, size_t n, const char *const *list) {
    for (; *list; list++)
        if (strlen(*list) == n && !strncasecmp(w, *list, n)) return true;
    return false;
}

// Letters, the apostrophe, and UTF-8 bytes (so a curly apostrophe stays inside "isn’t").
static bool letter(unsigned char c) { return isalpha(c) || c == '\'' || c >= 0x80; }

// Phrases that say the model does not know; their negation is no "No".
static bool uncertain(const char *s, size_t len) {
    static const char *const PHRASES[] = {"not sure", "not certain", "n't know", "not know", "cannot tell", "n't tell",
                                          "cannot determine", "n't determine", "unclear", "unsure", "impossible to tell",
                                          "cannot be determined", NULL};
    for (const char *const *p = PHRASES; *p; p++) {
        size_t l = strlen(*p);
        for (size_t i = 0; i + l <= len; i++)
            if (!strncasecmp(s + i, *p, l)) return true;
    }
    return false;
}

YesNo yesno_read(const char *s, size_t len) {
    static const char *const YES_FIRST[] = {"yes", "yeah", "yep", "correct", "true", "sure", NULL};
    static const char *const NO_FIRST[] = {"no", "nope", "not", "none", "never", "false", "incorrect", NULL};
    static const char *const NEGATIONS[] = {"no", "not", "none", "nothing", "nobody", "neither", "nor", "never",
                                            "cannot", "without", NULL};
    bool first = true, yes = false, neg = false;
    YesNo first_word = YESNO_UNKNOWN;
    for (size_t i = 0; i < len;) {
        if (!letter((unsigned char)s[i])) { i++; continue; }
        size_t j = i;
        while (j < len && letter((unsigned char)s[j])) j++;
        const char *w = s + i;
        size_t n = j - i;
        while (n && w[0] == '\'') { w++; n--; }        // quotes around a word are no part of it
        while (n && w[n - 1] == '\'') n--;
        if (n) {
            if (first) {
                if (word_is(w, n, YES_FIRST)) first_word = YESNO_YES;
                else if (word_is(w, n, NO_FIRST)) first_word = YESNO_NO;
                first = false;
            }
            if (word_is(w, n, NEGATIONS) || (n > 3 && !strncasecmp(w + n - 3, "n't", 3)) ||
                (n > 5 && !memcmp(w + n - 5, "n\xe2\x80\x99t", 5)))
                neg = true;
            if (n == 3 && !strncasecmp(w, "yes", 3)) yes = true;
        }
        i = j;
    }
    if (first_word != YESNO_UNKNOWN) return first_word;
    if (uncertain(s, len)) return YESNO_UNKNOWN;   // "I'm not sure", "I cannot tell": no answer at all
    if (neg) return YESNO_NO;
    if (yes) return YESNO_YES;
    return YESNO_UNKNOWN;
}

const char *yesno_name(YesNo a) { return a == YESNO_YES ? "Yes" : a == YESNO_NO ? "No" : "?"; }
