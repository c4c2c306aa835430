// wordnet_lemma.c — see wordnet_lemmas.h: a binary search of the generated table.
#include "eval/wordnet_lemmas.h"
#include <string.h>

const char *wordnet_lemma(const char *token) {
    int lo = 0, hi = WORDNET_N_LEMMAS - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(WORDNET_LEMMAS[mid][0], token);
        if (c == 0) return WORDNET_LEMMAS[mid][1];
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return token;
}
