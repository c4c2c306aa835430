// llama_fixture_test.h — helpers shared by the LLaMA unit tests (llama_test.c, llama_grad_test.c):
// tiny random checkpoints written to /tmp under any spelling and dtype, damaged on request, and
// small right-padded batches. The model-independent part is model_fixture_test.h.
#pragma once
#include "models/llama.h"
#include "models/model_fixture_test.h"

// Parses a config JSON text (a test's own literal) with llama_config_parse ("config.json" in errors).
bool lt_parse_cfg(const char *json, LlamaConfig *c, LpoiErr *err);
bool lt_config_parse(void *c, const JsonValue *root, const char *what, LpoiErr *err);   // ModelConfigParse

// Options to damage a checkpoint: drop one tensor, add one, change one's shape, extra foreign names.
typedef struct {
    const char *drop, *extra, *reshape;
    const char *foreign;           // a tensor that is not ours (e.g. a vision tower weight)
    bool inv_freq;                 // add layers.0.self_attn.rotary_emb.inv_freq
    bool lm_head_when_tied;
    Dtype dtype;                   // storage dtype of the weights
} LtWriteOpts;

// Writes every tensor the config implies under spelling sp (random values: norms ~1, embeddings
// ~0.7 N(0,1), linears N(0, 1/in)), modified by o, as a single safetensors file.
void lt_write_model(const char *path, const LlamaConfig *c, const LlamaSpelling *sp, const LtWriteOpts *o, uint64_t seed);
bool lt_load_file(LlamaModel *m, Backend *be, const LlamaConfig *c, const char *path, LpoiErr *err);
// A CPU backend with a random model of cfg_json (plain spelling, seed) loaded, and when r > 0 random
// adapters (seed + 1) of rank r on targets. NULL (and a test failure) when it does not load.
Backend *lt_random_model(LlamaModel *m, LlamaConfig *c, const char *cfg_json, uint64_t seed, int r, float alpha,
                         unsigned targets);

extern const char *const LT_TINY_LLAMA;            // GQA 4q/2kv, untied
extern const char *const LT_TINY_MISTRAL;          // GQA 4q/1kv, head_dim 6, sliding window 3, tied, theta 300
extern const char *const LT_TINY_MISTRAL_UNTIED;   // the same with its own lm_head

// A small right-padded batch: lengths T, T-2, ..., prompts of 2..3 tokens labelled -100.
typedef struct { int B, T; int32_t ids[64], mask[64], labels[64]; } LtBatch;
void lt_tiny_batch(LtBatch *tb, int B, int T, int V, uint64_t seed);
// Random A and B (both non-zero) for every adapter tensor.
void lt_lora_randomize(LlamaModel *m, uint64_t seed);
