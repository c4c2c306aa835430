// llama.h — HF LlamaForCausalLM / MistralForCausalLM (the language model of LLaVA-1.5 and Idefics2):
// config from config.json, weights bound by their HF tensor names, LoRA with PEFT semantics, and the
// sequence log-probabilities that DPO-style objectives consume, with their analytic backward down to
// every LoRA A/B and the input embeddings. All compute goes through the backend op table.
//
// One decoder layer (pre-norm, N = B*T rows, q/k/v in HF's [B,T,heads,D] layout):
//   h1 = rmsnorm(x; input_layernorm)            q = rope(h1·Wqᵀ) [N,H*D], k = rope(h1·Wkᵀ), v = h1·Wvᵀ [N,KVH*D]
//   a  = attention(q, k, v; causal, GQA, sliding window, key mask)          xm = x + a·Woᵀ
//   h2 = rmsnorm(xm; post_attention_layernorm)  x' = xm + (silu(h2·Wgateᵀ) * h2·Wupᵀ)·Wdownᵀ
// then the final norm and lm_head (tied to embed_tokens when tie_word_embeddings). Positions are
// 0..T-1 in every row (HF's default position_ids); the attention mask only masks keys, so right
// padding never changes the real tokens' outputs.
//
// Sequence log-probs, exactly TRL's get_batch_logps (logits[:, :-1] against labels[:, 1:]):
//   logp[b] = Σ_{t < T-1, labels[b,t+1] != -100} log_softmax(logits[b,t])[labels[b,t+1]]
// lm_head and the log-softmax run only at those scored positions, chunked over rows so that fp32
// logits are never held for more than `logits_chunk` rows at once.
//
// Memory: weights (fp32, uploaded once), LoRA parameters and gradients (fp32, one block each, in
// a fixed order so one AdamW call updates them), and a per-step activation arena sized from
// (B, T, scored rows) before the step. With `recompute`, a step keeps only each layer's input and
// recomputes the layer during the backward (peak ≈ one layer's activations instead of n_layer).
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "base/arena.h"
#include "base/error.h"
#include "base/json.h"
#include "base/safetensors.h"
#include "nn/weights.h"
#include "nn/linear.h"
#include "nn/lora.h"

typedef enum { LLAMA_ARCH_LLAMA, LLAMA_ARCH_MISTRAL } LlamaArch;

#define LLAMA_MAX_EOS 8

typedef struct {
    LlamaArch arch;          // model_type "llama" / "mistral"
    int V;                   // vocab_size
    int C;                   // hidden_size
    int n_layer;                   // num_hidden_layers
    int H;                   // num_attention_heads
    int KVH;                 // num_key_value_heads (H % KVH == 0)
    int D;                   // head_dim (default C / H; even)
    int F;                   // intermediate_size
    float eps;               // rms_norm_eps
    float rope_theta;        // rope_parameters.rope_theta / rope_theta (default 10000)
    int window;              // Mistral sliding_window; 0 = off (null, or a Llama model)
    bool tie;                // tie_word_embeddings
    int max_pos;             // max_position_embeddings (informational: default RoPE has no limit)
    int bos_id, pad_id;      // -1 when absent
    int eos_ids[LLAMA_MAX_EOS], n_eos;
} LlamaConfig;

// Reads a LlamaForCausalLM / MistralForCausalLM config object with transformers' defaults for
// missing keys (LlamaConfig / MistralConfig, transformers 5.x), or a LLaVA (text_config, default
// model_type "llama") / Idefics2 (text_config, default "mistral") config, whose text part it reads.
// Options we do not implement are refused by name: rope scaling types other than "default",
// partial_rotary_factor, attention_bias, mlp_bias, hidden_act other than silu, attention_dropout,
// per-layer layer_types, quantization_config. `what` names the file in errors.
bool llama_config_parse(LlamaConfig *c, const JsonValue *root, const char *what, LpoiErr *err);
// path: a config.json, or a model folder holding one.
bool llama_config_load(LlamaConfig *c, const char *path, LpoiErr *err);

// ---- weights ----
typedef enum { LLAMA_Q, LLAMA_K, LLAMA_V, LLAMA_O, LLAMA_GATE, LLAMA_UP, LLAMA_DOWN, LLAMA_NPROJ } LlamaProj;
extern const char *const LLAMA_PROJ_PATH[LLAMA_NPROJ];   // "self_attn.q_proj", ..., "mlp.down_proj"
#define LLAMA_LORA_ALL ((1u << LLAMA_NPROJ) - 1)          // PEFT "all-linear" (every Linear but lm_head)
extern const LoraModules LLAMA_LORA_MODULES;              // the above under "layers.%d."

// Where the decoder's tensors sit in a checkpoint (the "spelling").
typedef struct {
    const char *prefix;      // "model." / "language_model.model." / "model.language_model." / "model.text_model."
    const char *lm_head;     // "lm_head.weight" / "language_model.lm_head.weight"
    bool owns_all;           // a plain causal-LM file: every tensor must be ours
} LlamaSpelling;
extern const LlamaSpelling LLAMA_SPELLINGS[];             // the above, plain first
extern const size_t LLAMA_NSPELLINGS;

typedef struct LlamaModel LlamaModel;
// The spec table: every tensor the model binds under a spelling (3 + 9 n_layer entries; lm_head
// only when untied), appended to out; with m (its layers allocated) each spec points at its field.
void llama_weight_specs(const LlamaConfig *c, const LlamaSpelling *sp, LlamaModel *m, WeightSpecs *out);

typedef struct {
    const float *ln1;            // [C]  input_layernorm
    const float *ln2;            // [C]  post_attention_layernorm
    Linear proj[LLAMA_NPROJ];    // q [H*D,C], k/v [KVH*D,C], o [C,H*D], gate/up [F,C], down [C,F]
} LlamaLayer;

typedef struct LlamaStep LlamaStep;   // what a forward saved for its backward (llama.c)

struct LlamaModel {
    LlamaConfig cfg;
    Backend *be;
    const LlamaSpelling *spelling;   // how the loaded checkpoint named the decoder
    float *weights_mem;              // backend memory, every base weight
    size_t weights_floats;
    const float *embed;              // [V,C] embed_tokens
    const float *norm;               // [C]   final norm
    const float *lm_head;            // [V,C] (== embed when tied)
    LlamaLayer *layers;              // [n_layer]
    LoraSet lora;                    // r == 0: none; targets: bit (1 << LlamaProj)
    bool lora_on;                    // false: adapters bypassed (the reference model)
    // per-step activations
    bool recompute;                  // per-layer recomputation in the backward
    int logits_chunk;                // rows of [rows, V] fp32 logits computed at once (default 256)
    Arena acts;
    void *acts_mem;
    LlamaStep *step;
};

// Binds every weight from src (fp32/f16/bf16 converted to fp32, uploaded): detects the spelling,
// and reports every missing, unexpected, mis-shaped or non-float tensor in ONE error. Tensors of
// other models in the same file (a LLaVA checkpoint's vision tower) are left alone; stored rotary
// inv_freq buffers are ignored, as HF does; a tied model accepts and ignores a stored lm_head.
bool llama_load(LlamaModel *m, Backend *be, const LlamaConfig *cfg, const WeightSource *src, LpoiErr *err);
// llama_load's two passes, for a model that binds several parts (LLaVA): plan (nothing uploaded;
// false + msg without the file name, m left empty) and bind (uploads; frees the plan).
bool llama_plan(LlamaModel *m, const LlamaConfig *cfg, const WeightSource *src, WeightPlan *p, char *msg, size_t cap);
bool llama_bind(LlamaModel *m, Backend *be, WeightPlan *p, LpoiErr *err);
// dir/config.json + dir's safetensors (single or sharded).
bool llama_open(LlamaModel *m, Backend *be, const char *dir, LpoiErr *err);
void llama_free(LlamaModel *m);

// ---- LoRA ----
// "all-linear", or a comma-separated list of q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj;
// with cfg (its n_layer), also PEFT's dotted paths and regex strings on LlamaForCausalLM's module
// names ("model\.layers\.\d+\.self_attn\.q_proj"), every layer or none (lora.h).
bool llama_lora_parse_targets(const char *spec, const LlamaConfig *cfg, unsigned *targets, LpoiErr *err);
// Attaches zeroed adapters of rank r (scale alpha / r) on targets, with zeroed gradients.
void llama_lora_create(LlamaModel *m, int r, float alpha, unsigned targets);
// PEFT's init: A ~ kaiming_uniform(a=√5) = U(-1/√in, 1/√in), B = 0 (the adapter starts as identity).
void llama_lora_init(LlamaModel *m, uint64_t seed);
// Loads A/B from PEFT adapter names ("base_model.model.<module>.lora_A.weight"; the LLaVA module
// path in either spelling); every adapted module must be there with its shape, nothing else.
bool llama_lora_load(LlamaModel *m, const WeightSource *src, LpoiErr *err);
// The module paths an adapter may use for the decoder, its own spelling first, NULL-terminated.
void llama_lora_modules(const LlamaModel *m, const char *modules[3]);
void llama_lora_zero_grad(LlamaModel *m);
// Enumerates the adapter tensors (i < 2 * layers * targets) in storage order: PEFT name (with the
// model's own module path), shape [rows, cols], parameter and gradient pointers (backend memory).
size_t llama_lora_count(const LlamaModel *m);
void llama_lora_tensor(const LlamaModel *m, size_t i, char *name, size_t cap, int64_t shape[2],
                       float **param, float **grad);

// ---- a step ----
typedef struct {
    int B, T;
    const int32_t *input_ids;       // host [B,T], or NULL when inputs_embeds is given
    const float *inputs_embeds;     // backend [B,T,C] (read only; e.g. text + projected image features)
    const int32_t *attention_mask;  // host [B,T]: 1 token, 0 padding (NULL = all tokens)
    const int32_t *labels;          // host [B,T]: next-token targets, -100 = not scored
} LlamaBatch;

// logp [B] (host) as above. With `for_backward` the step keeps what llama_logps_backward needs
// (until the next forward). false + err on an id or label out of range, or a bad shape.
bool llama_logps_forward(LlamaModel *m, const LlamaBatch *batch, bool for_backward, float *logp, LpoiErr *err);
// From dlogp [B] (host): LoRA gradients += (when the adapters were on), and d(inputs_embeds)
// [B,T,C] (backend, =) into d_embeds when non-NULL.
void llama_logps_backward(LlamaModel *m, const float *dlogp, float *d_embeds);
// Logits for every position, [B,T,V] into backend memory (tests, generation).
bool llama_logits(LlamaModel *m, const LlamaBatch *batch, float *logits, LpoiErr *err);

// Bytes the activation arena needs for a step of this shape (S scored rows; backward or not).
size_t llama_step_bytes(const LlamaModel *m, int B, int T, int S, bool backward);
// High-water mark of the activation arena during the last step (forward + backward), in bytes.
size_t llama_step_peak_bytes(const LlamaModel *m);

// ---- generation (llama_generate.c) ----
typedef struct {
    int max_new;                 // tokens to generate at most (>= 1)
    float temperature;           // <= 0: greedy (argmax; ties -> the lowest id, as torch.argmax)
    float top_p;                 // nucleus sampling when sampling: (0, 1], 1 = off
    uint64_t seed;               // sampling RNG
    const int32_t *stop_ids;     // stop after generating one of these (it is kept in out)
    int n_stop;
} LlamaGenOpts;
// Decodes one sequence after prompt[n_prompt] with a KV cache (the prompt in one prefill pass,
// then one token per step: the attention op's Tq < Tk form). LoRA applies as in the forward
// (lora_on). out[max_new] receives the new ids; returns how many, or -1 + err.
int llama_generate(LlamaModel *m, const int32_t *prompt, int n_prompt, const LlamaGenOpts *o, int32_t *out,
                   LpoiErr *err);
// The same from the prompt's input embeddings (backend [n_prompt, C], e.g. LLaVA's text + image
// rows); the generated tokens are embedded with embed_tokens as usual.
int llama_generate_embeds(LlamaModel *m, const float *prompt_embeds, int n_prompt, const LlamaGenOpts *o, int32_t *out,
                          LpoiErr *err);
