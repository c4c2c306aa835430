// wordpiece.h — BERT's WordPiece tokenizer (bert-base-uncased; the text encoder of Grounding DINO),
// encoding and decoding exactly as HF tokenizers 0.23 / transformers 5.24 do (tested id for id
// against them on hostile strings, tools/golden_gdino_text.py). The pipeline, in HF's order:
//   1. the special tokens ([PAD] [UNK] [CLS] [SEP] [MASK], normalized=false) are split out of the
//      raw text, leftmost-longest, so "[CLS]" in a caption is id 101 (and "[cls]" is not);
//   2. BertNormalizer on each remaining segment: clean_text (control and format characters
//      removed, whitespace → ' '), handle_chinese_chars (CJK ideographs padded with spaces),
//      strip_accents (NFD, nonspacing marks removed; the surviving combining marks are put in
//      canonical order across characters) and lowercase (per character, Rust char::to_lowercase:
//      no final-sigma rule). The character tables are measured from tokenizers itself
//      (wordpiece_unicode.c, generated);
//   3. BertPreTokenizer: split on whitespace, every punctuation character a word of its own;
//   4. WordPiece: greedy longest match from the left, continuations prefixed "##"; a word with no
//      match, or over max_input_chars_per_word (100) characters, becomes [UNK] as a whole;
//   5. [CLS] … [SEP] when add_special; truncation as truncation=True, max_length=M (the words are
//      cut to M − 2 before [CLS]/[SEP] are added).
// Decoding is transformers' decode(skip_special_tokens=False): ids without a token dropped, the
// WordPiece decoder ("##" glued, else a space; its per-token cleanup), then transformers'
// clean_up_tokenization when tokenizer_config.json asks for it (grounding-dino-tiny does).
// Refused with a one-line reason instead of half-supported: other normalizers (cased BERT),
// pre-tokenizers, models, added tokens that are not plain special vocab tokens, truncation and
// padding sections. Text must be valid UTF-8. A loaded WordPiece is read-only (thread-safe).
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"
#include "text/tokenizer.h"   // TokIds

typedef struct WordPiece WordPiece;

#define WORDPIECE_MAX_TEXT ((size_t)1 << 24)   // bytes of input text per encode call

// Loads a tokenizer.json with a WordPiece model, or a BERT vocab.txt (one token a line, id = line
// number; a path ending in ".txt"), which gets BertTokenizer's defaults. NULL + "<path>: reason".
WordPiece *wordpiece_load(const char *path, LpoiErr *err);
// dir/tokenizer.json, else dir/vocab.txt; then dir/tokenizer_config.json when present
// (clean_up_tokenization_spaces; do_lower_case false is refused).
WordPiece *wordpiece_load_dir(const char *dir, LpoiErr *err);
void wordpiece_free(WordPiece *wp);

// Appends the ids of len bytes of UTF-8 text to out. add_special: [CLS] … [SEP]. max_length > 0:
// HF's truncation to that many ids in all (special ones included). false + err (out unchanged)
// for invalid UTF-8 or text over WORDPIECE_MAX_TEXT.
bool wordpiece_encode(const WordPiece *wp, const char *text, size_t len, bool add_special, size_t max_length,
                      TokIds *out, LpoiErr *err);
// BertNormalizer alone (malloc'ed, NUL-terminated; *out_len its length). text must be valid UTF-8.
char *wordpiece_normalize(const char *text, size_t len, size_t *out_len);
// transformers' decode(ids, skip_special_tokens=False): malloc'ed, NUL-terminated.
char *wordpiece_decode(const WordPiece *wp, const int32_t *ids, size_t n, size_t *len_out);

size_t      wordpiece_vocab_size(const WordPiece *wp);                          // max id + 1
int32_t     wordpiece_token_to_id(const WordPiece *wp, const char *s, size_t len);   // -1 if none
const char *wordpiece_id_to_token(const WordPiece *wp, int32_t id, size_t *len);     // NULL if none
int32_t     wordpiece_cls_id(const WordPiece *wp);
int32_t     wordpiece_sep_id(const WordPiece *wp);
int32_t     wordpiece_pad_id(const WordPiece *wp);   // -1 when the vocabulary has no [PAD]

// Python's string rules that HF processors apply to text before the tokenizer (a caption's phrases:
// t.strip().lower()). s must be valid UTF-8.
// str.strip(): the [*start, *end) byte span without leading/trailing str.isspace() characters.
void py_str_strip(const char *s, size_t len, size_t *start, size_t *end);
// str.lower(): the mappings of Python's Unicode tables (measured from it), with the final-sigma rule
// (U+03A3 → ς after a cased letter and not before one, case-ignorable characters skipped).
// malloc'ed, NUL-terminated; *out_len its length when non-NULL.
char *py_str_lower(const char *s, size_t len, size_t *out_len);
