// wordpiece_impl.h — the WordPiece struct shared by wordpiece_load.c (files → tables) and
// wordpiece.c (encode, decode). Not for use outside src/text/. Read-only once loaded.
#pragma once
#include "text/wordpiece.h"
#include "text/tokenizer_internal.h"   // TokPool, TokPiece, TokStrMap, UTF-8 helpers

#define WP_MAX_ADDED 16

typedef struct { const char *s; uint32_t len; int32_t id; } WpAdded;   // matched in the raw text

struct WordPiece {
    char name[256];            // the file it came from (errors)
    TokPool pool;
    TokPiece *tokens;          // [n_ids]: the vocab string of each id (s NULL: no token)
    size_t n_ids;
    TokStrMap vocab;           // string → id over tokens[]
    char prefix[16];           // continuing_subword_prefix, "##"
    size_t prefix_len;
    size_t max_chars;          // max_input_chars_per_word, 100
    int32_t unk_id, cls_id, sep_id, pad_id;
    WpAdded added[WP_MAX_ADDED];   // special tokens split out before normalization
    size_t n_added;
    bool decoder_cleanup;      // the WordPiece decoder's cleanup (per token)
    bool cleanup_spaces;       // transformers' clean_up_tokenization_spaces (tokenizer_config.json)
};
