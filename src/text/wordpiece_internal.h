// wordpiece_internal.h — the character classes of BertNormalizer / BertPreTokenizer and of Python's
// str.lower(), as tables tools/golden_gdino_text.py measures from HF tokenizers and from Python
// (wordpiece_unicode.c, generated), and their lookups (wordpiece_chars.c). Not for use outside src/text/.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct { const uint32_t (*v)[2]; size_t n; } WpRanges;           // sorted inclusive ranges
typedef struct { uint32_t cp, off, len; } WpMapEntry;
typedef struct { const WpMapEntry *v; size_t n; const char *text; } WpMap;   // sorted cp → UTF-8 in text

extern const WpRanges wp_deleted;    // clean_text removes it (control/format/unassigned), or it is an accent
extern const WpRanges wp_to_space;   // whitespace clean_text turns into ' '
extern const WpRanges wp_chinese;    // padded with spaces (after its own mapping)
extern const WpRanges wp_punct;      // BertPreTokenizer isolates it
extern const WpRanges wp_white;      // BertPreTokenizer splits on it
extern const WpRanges wp_combining;  // {cp, class}: marks NFD reorders (the survivors of strip_accents)
extern const WpMap wp_mapping;       // lower-cased, decomposed form (accents removed) when it differs;
                                     // Hangul syllables are decomposed by the algorithm instead
extern const WpRanges py_ignorable;  // Python's Case_Ignorable
extern const WpRanges py_cased;      // Python's Cased, less the case-ignorable
extern const WpMap py_lower;         // chr(cp).lower() when it differs (U+03A3 aside: final sigma)

bool wp_in(const WpRanges *r, uint32_t cp);
int wp_class_of(const WpRanges *pairs, uint32_t cp);        // the value paired with cp, 0 if none
const char *wp_map(const WpMap *m, uint32_t cp, size_t *len);   // NULL when cp maps to itself
