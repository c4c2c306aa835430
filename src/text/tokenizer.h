// tokenizer.h — HF `tokenizer.json` BPE tokenizers (LLaMA/Vicuna as in llava-1.5, Mistral as in
// Idefics2) that encode and decode exactly as HF `tokenizers` does (tested id for id against it,
// tools/golden_tokenizer.py). The pipeline, in HF's order:
//   1. added tokens with normalized=false are split out of the raw text (leftmost-longest match;
//      single_word / lstrip / rstrip as HF applies them);
//   2. each remaining segment is normalized on its own (Prepend "▁", Replace " "→"▁"), then added
//      tokens with normalized=true are split out of the normalized text;
//   3. the pre-tokenizer (none, or Metaspace with prepend_scheme always/first/never and split)
//      cuts segments into words;
//   4. the BPE model (byte_fallback, unk/fuse_unk, ignore_merges) turns each word into ids;
//   5. the post-processor template (e.g. "<s> $A") adds BOS/EOS when add_special is true.
// Decoding runs the tokenizer.json decoder chain (Replace, ByteFallback, Fuse, Strip, Metaspace).
// What is refused with a clear error instead of half-supported: other normalizer / pre-tokenizer
// / decoder / model types, regex patterns, BPE dropout, truncation and padding sections.
// Text must be valid UTF-8 (HF takes Rust strings); anything else is an error, not a crash.
// A loaded Tokenizer is read-only: encode/decode may run on many threads at once.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"

typedef struct Tokenizer Tokenizer;

// A growable list of token ids; encode appends to it. Zero-initialise, free with tok_ids_free.
typedef struct { int32_t *ids; size_t count, cap; } TokIds;
void tok_ids_push(TokIds *v, int32_t id);
void tok_ids_free(TokIds *v);

// Loads tokenizer.json. Every id, count and string is checked; a malformed file gives NULL and
// err = "<path>: <field>: reason".
Tokenizer *tokenizer_load(const char *path, LpoiErr *err);
// Same from memory; `name` is used in error messages.
Tokenizer *tokenizer_load_json(const char *text, size_t len, const char *name, LpoiErr *err);
// Applies what transformers takes from tokenizer_config.json (LlamaTokenizerFast conventions):
// added_tokens_decoder entries missing from tokenizer.json are added in id order (how the
// Idefics2 tokens sit on top of Mistral's); bos/eos/pad/unk token names; and add_bos_token /
// add_eos_token, which replace the post-processor template with "[bos] $A [eos]" as
// LlamaTokenizerFast.update_post_processor does.
bool tokenizer_apply_config(Tokenizer *t, const char *config_path, LpoiErr *err);
// dir/tokenizer.json, then dir/tokenizer_config.json when that file exists.
Tokenizer *tokenizer_load_dir(const char *dir, LpoiErr *err);
void tokenizer_free(Tokenizer *t);

// Encodes len bytes of UTF-8 text, appending ids to out. add_special applies the post-processor
// template (BOS for LLaMA/Mistral). False + err (and out unchanged) only for invalid UTF-8, text
// over 256 MiB (or over 512 MiB once normalized), or an unknown character when the named unk
// token is missing from the vocab.
bool tokenizer_encode(const Tokenizer *t, const char *text, size_t len, bool add_special, TokIds *out,
                      LpoiErr *err);
// Decodes like HF Tokenizer.decode: ids without a token are dropped, special added tokens are
// dropped when skip_special, then the decoder chain. Returns a malloc'ed NUL-terminated UTF-8
// string (invalid byte-fallback runs become U+FFFD per byte); *len_out gets its length if non-NULL.
char *tokenizer_decode(const Tokenizer *t, const int32_t *ids, size_t n, bool skip_special, size_t *len_out);

// Max id + 1 over the model vocab and the added tokens (HF get_vocab_size(True) for the usual
// dense vocabularies; llava-1.5: 32002 — the embedding matrix has more rows, 32064).
size_t      tokenizer_vocab_size(const Tokenizer *t);
int32_t     tokenizer_token_to_id(const Tokenizer *t, const char *s, size_t len);   // -1 if none
// The token string of an id as HF id_to_token gives it (an added token with normalized=true shows
// its normalized form, e.g. "▁hello▁world", and decodes as that); NULL if no token has the id.
const char *tokenizer_id_to_token(const Tokenizer *t, int32_t id, size_t *len);
bool        tokenizer_is_special(const Tokenizer *t, int32_t id);
// From tokenizer_config.json (tokenizer_apply_config); -1 when unknown. unk from model.unk_token.
int32_t tokenizer_bos_id(const Tokenizer *t);
int32_t tokenizer_eos_id(const Tokenizer *t);
int32_t tokenizer_pad_id(const Tokenizer *t);
int32_t tokenizer_unk_id(const Tokenizer *t);

// Adds an added token as HF AddedVocabulary::add_tokens does: the id is the model's id when the
// content is in the model vocab, else one past the largest id. If expect_id >= 0 and HF would
// give another id, that is an error (we never silently renumber). Returns the id or -1 + err.
typedef struct { bool special, normalized, single_word, lstrip, rstrip; } TokAddedFlags;
int32_t tokenizer_add_token(Tokenizer *t, const char *content, size_t len, TokAddedFlags flags,
                            int64_t expect_id, LpoiErr *err);
// Sets the post-processor to "[bos] $A [eos]" (ids < 0 leave that side out).
bool tokenizer_set_template(Tokenizer *t, int32_t bos_id, int32_t eos_id, LpoiErr *err);
