// generate_llava.h — `lpoi generate --image`: one image + a prompt through a LLaVA-1.5 checkpoint
// folder (config.json, safetensors, tokenizer.json, preprocessor_config.json).
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "base/error.h"

typedef struct {
    const char *model_dir, *image, *prompt, *device;
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
} LlavaAnswer;
void llava_answer_free(LlavaAnswer *ans);

// Runs the whole pipeline; false + err (naming the file or the step) when something cannot be used.
bool llava_answer(const LlavaGenArgs *a, LlavaAnswer *ans, LpoiErr *err);

// Prints llava_answer's text (and ids with print_ids). Returns the process exit code (0 ok, 1 when
// the model, image, tokenizer or prompt cannot be used).
int generate_llava(const LlavaGenArgs *a);
