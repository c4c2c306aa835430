// generate_llava.h — LLaVA-1.5 generation behind `lpoi generate --image`: one image + a prompt
// through a LLaVA-1.5 checkpoint folder (config.json, safetensors, tokenizer.json,
// preprocessor_config.json); and
// `lpoi generate --batch`: the same for every (image, prompt) line of a JSONL file, with the model,
// tokenizer and image processor loaded once (LlavaSession).
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "backend/backend.h"
#include "base/error.h"
#include "image/image.h"

typedef struct {
    const char *model_dir, *image, *prompt, *device;
    const char *adapter;             // a PEFT LoRA folder applied to the model, or NULL
    Precision precision;             // frozen Linear weight storage (backend.h; fp32 by default)
    int max_new;
    float temperature, top_p;
    uint64_t seed;
    bool print_ids;
} LlavaGenArgs;

typedef struct {
    int32_t *prompt_ids;     // [n_prompt] after <image> expansion
    int n_prompt;
    int32_t *ids;            // [n] generated
    int n;
    char *text;              // decoded, special tokens skipped (NUL-terminated)
    size_t text_len;         // bytes of text
} LlavaAnswer;
void llava_answer_free(LlavaAnswer *ans);

// Runs the whole pipeline (llava_session_open + llava_session_answer + llava_session_close); false +
// err (naming the file or the step) when something cannot be used.
bool llava_answer(const LlavaGenArgs *a, LlavaAnswer *ans, LpoiErr *err);

// ---- load once, answer many ----
// The tokenizer, the image-processor config, the backend and the model of one LLaVA-1.5 folder
// (checked against each other: the tokenizer's <image> id must be the config's image_token_index),
// with the PEFT LoRA adapter folder `adapter` loaded and on (NULL: the base model).
typedef struct LlavaSession LlavaSession;
LlavaSession *llava_session_open(const char *model_dir, const char *device, Precision precision, const char *adapter,
                                 LpoiErr *err);
void llava_session_close(LlavaSession *s);
// Swaps the adapter without reloading the model: the current one (if any) is removed, then the PEFT
// folder `adapter` is loaded (NULL: the base model). On failure the session is left on the base model.
bool llava_session_set_adapter(LlavaSession *s, const char *adapter, LpoiErr *err);

// Which input a failed llava_session_answer could not use.
typedef enum { LLAVA_FAIL_NONE, LLAVA_FAIL_IMAGE, LLAVA_FAIL_PROMPT, LLAVA_FAIL_GENERATE } LlavaFail;
// One example: a->image and a->prompt with a's sampling options (a->model_dir and a->device are not
// used). Every call starts from a->seed, so an example's answer does not depend on the examples
// answered before it. false + err (+ *fail when non-NULL) when the image or the prompt cannot be used.
bool llava_session_answer(LlavaSession *s, const LlavaGenArgs *a, LlavaAnswer *ans, LlavaFail *fail, LpoiErr *err);

// Scores continuations of a prompt (made as llava_session_answer makes it) with img (in memory,
// before preprocessing) as the image: logp[i] = log p(cont[i] | img, prompt), summed over the n_tok[i]
// tokens cont[i] adds when prompt text + cont[i] is tokenized whole (as training tokenizes an answer
// after its prompt; e.g. cont " Yes" after "ASSISTANT:", one token for LLaVA-1.5). One forward of
// prompt + continuation, shared by all one-token continuations. false + err when a continuation adds
// no token of its own.
bool llava_session_continuation_logps(LlavaSession *s, const Image *img, const char *prompt, const char *const *cont,
                                      int n_cont, double *logp, int *n_tok, LpoiErr *err);

// ---- batch ----
// Each non-blank line of `batch` is a JSON object {"image": path, "prompt": text, "id": optional
// string or number}; a relative image path is taken from the JSONL file's folder. Each answer is one
// output line {"line": N, "id": ... (null when absent), "image": as given, "prompt": ..., "answer":
// text}, in input order. With `out` the lines go to a temp file beside it that is renamed over `out`
// only when every line was answered (so a failure leaves `out` as it was); without it they go to
// stdout as they are made. A bad line (not a JSON object, a missing or mistyped field, an image that
// cannot be read, a prompt that cannot be used) fails the run with "FILE:LINE: field: reason", or with
// skip_bad is reported to `log` ("skipped: FILE:LINE: ...") and counted. A run that answers nothing
// (an empty file, every line skipped) is an error too.
typedef struct {
    const char *model_dir, *device, *batch, *out;   // out NULL: stdout
    const char *adapter;             // a PEFT LoRA folder, or NULL
    Precision precision;             // frozen Linear weight storage (backend.h; fp32 by default)
    bool skip_bad;
    int max_new;
    float temperature, top_p;
    uint64_t seed;                   // the seed of every example (see llava_session_answer)
    FILE *log;                       // where skipped lines are reported; NULL: quiet
    bool progress;                   // also a progress line on log every 10 answers (or 10 s), with examples/s
} LlavaBatchArgs;
typedef struct {
    int answered, skipped;
    double seconds;                  // wall time of the answering (model load excluded)
} LlavaBatchStats;
bool llava_batch(const LlavaBatchArgs *a, LlavaBatchStats *st, LpoiErr *err);
