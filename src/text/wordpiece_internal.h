// wordpiece_internal.h — the character classes of BertNormalizer / BertPreTokenizer, looked up in
// the tables tools/golden_gdino_text.py measures from HF tokenizers (wordpiece_unicode.c).
// Not for use outside src/text/.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool wp_is_deleted(uint32_t cp);     // clean_text removes it (control/format/unassigned), or it is an accent
bool wp_is_to_space(uint32_t cp);    // whitespace clean_text turns into ' '
bool wp_is_chinese(uint32_t cp);     // padded with spaces (after its own mapping)
bool wp_is_punct(uint32_t cp);       // BertPreTokenizer isolates it
bool wp_is_white(uint32_t cp);       // BertPreTokenizer splits on it
int  wp_combining_class(uint32_t cp);   // > 0 for marks NFD reorders (the survivors of strip_accents)
// Lower-cased, decomposed form (accents removed) of cp when it differs from cp; NULL otherwise.
// Hangul syllables are decomposed by the algorithm in wordpiece.c, not listed.
const char *wp_mapping(uint32_t cp, size_t *len);
