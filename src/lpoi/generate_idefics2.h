// generate_idefics2.h — Idefics2 generation behind `lpoi generate --image` and `--batch` when the
// folder's config.json says model_type "idefics2": the same session interface as LLaVA's
// (generate_llava.h: LlavaGenArgs in, LlavaAnswer out), so llava_session_* hand an Idefics2 folder
// over to these and --batch works unchanged.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "lpoi/generate_llava.h"
#include "image/idefics2_preprocess.h"
#include "text/tokenizer.h"
#include "base/error.h"

// True when dir/config.json (or dir as a config.json) has model_type "idefics2"; false when it does
// not or cannot be read (the LLaVA loader then says why).
bool model_dir_is_idefics2(const char *dir);

// One example as Idefics2Processor makes it: the image at `image` through the image processor ic
// (pixel values + mask in *px), and `text` (holding one "<image>") expanded to image_seq_len image
// tokens per (split) image and encoded with BOS into *ids. *fail says which input was bad.
bool idefics2_encode_example(const Tokenizer *tok, const Idefics2ImageConfig *ic, int image_seq_len, const char *image,
                             const char *text, TokIds *ids, Idefics2Pixels *px, LlavaFail *fail, LpoiErr *err);
// The text a prompt becomes: as is when it holds "<image>", else the idefics2 chat template with
// the image first and the generation prompt ("User:<image>{prompt}<end_of_utterance>\nAssistant:").
char *idefics2_prompt_text(const char *prompt);

// ---- load once, answer many (as LlavaSession) ----
// The tokenizer (its <image> must be the config's image_token_id), the image processor
// (preprocessor_config.json or processor_config.json), the backend and the model of an Idefics2
// folder, with the PEFT adapter folder `adapter` on (NULL: the base model). Generation stops at the
// text config's eos ids, generation_config.json's eos_token_id and the tokenizer's EOS.
typedef struct Idefics2Session Idefics2Session;
Idefics2Session *idefics2_session_open(const char *model_dir, const char *device, const char *adapter, LpoiErr *err);
void idefics2_session_close(Idefics2Session *s);
bool idefics2_session_answer(Idefics2Session *s, const LlavaGenArgs *a, LlavaAnswer *ans, LlavaFail *fail, LpoiErr *err);
