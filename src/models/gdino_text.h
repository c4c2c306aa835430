// gdino_text.h — Grounding DINO's text inputs as transformers 5.24 builds them: the caption, its
// token ids, the block-diagonal text self-attention mask, the per-phrase position ids and the
// text position embedding of the encoder layers.
//
//   caption   GroundingDinoProcessor._merge_candidate_labels_text: each phrase str.strip()ped and
//             lower-cased, joined with ". ", ending with "." (["A cat", "a dog"] → "a cat. a dog.");
//             a caption given as one string is used as it is (the tokenizer lower-cases anyway).
//   ids       the BERT WordPiece ids with [CLS]/[SEP] (text/wordpiece.h); at most max_text_len (256):
//             HF would cut a longer caption silently (and its [SEP] with it), lpoi refuses it.
//   masks     generate_masks_with_special_tokens_and_transfer_map: the delimiters are the ids of
//             [CLS] 101, [SEP] 102, "." 1012 and "?" 1029 (SPECIAL_TOKENS). A token belongs to the
//             block closed by the next delimiter at or after it; tokens attend within their block,
//             except blocks closed at position 0, at T−1 or by none (those attend to themselves
//             only); every token attends to itself. position id = distance past the previous
//             delimiter − 1, 0 outside valid blocks (so each phrase restarts at 0).
//   position embedding   GroundingDinoEncoderLayer.get_text_position_embeddings: sine embedding
//             (num_pos_feats = d_model, temperature 10000) of position_ids[..., None].to(features'
//             dtype), ending in .to(that dtype). In 5.24 the ids are cast to float32 BEFORE the
//             embedding, so the final cast keeps float32 and nothing is truncated to integers (the
//             golden calls that method itself and checks the dtype).
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"
#include "text/wordpiece.h"

#define GDINO_MAX_TEXT_LEN 256
#define GDINO_N_DELIMITERS 4
extern const int32_t GDINO_DELIMITERS[GDINO_N_DELIMITERS];   // 101, 102, 1012, 1029

// The caption of n phrases (malloc'ed, NUL-terminated). false + err for no phrase, a phrase that
// is empty after stripping, holds a "." (HF would not merge the list) or is not valid UTF-8.
// Lower-casing is Python's str.lower() (tables measured from it, final-sigma rule included), so the
// caption and its ids equal HF's for any phrase.
char *gdino_caption_from_phrases(const char *const *phrases, size_t n, LpoiErr *err);

// [CLS] caption [SEP] into out (cleared first). false + err for a caption with no tokens or with
// more than max_len (≤ GDINO_MAX_TEXT_LEN) ids in all.
bool gdino_caption_ids(const WordPiece *wp, const char *caption, size_t max_len, TokIds *out, LpoiErr *err);

// For B rows of T ids (row-major): mask[B, T, T] (1 = may attend) and position_ids[B, T].
void gdino_text_masks(const int32_t *ids, size_t B, size_t T, uint8_t *mask, int32_t *position_ids);

// out[N, d_model] for N position ids (float32, as HF computes it; d_model even).
void gdino_text_position_embedding(const int32_t *position_ids, size_t N, int d_model, float *out);
