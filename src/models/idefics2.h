// idefics2.h — HF Idefics2ForConditionalGeneration (transformers 5.24): the SigLIP vision encoder
// (models/siglip.h), the connector (a SwiGLU modality projection and a perceiver resampler) and the
// Mistral language model (models/llama.h). Config, the spec table of every tensor, and the connector's
// forward and analytic backward.
//
// Connector (per image i of n; P patch rows, M = resampler_n_latents, C = text hidden size):
//   ctx [n, P, C]  = down(silu(gate(feat)) · up(feat))          modality_projection, no biases,
//                                                               intermediate = text intermediate_size
//   lat [n, M, C]  = latents (broadcast)
//   each of `resampler_depth` layers (RMSNorm weights, no biases):
//     l = rmsnorm(lat; input_latents_norm), c = rmsnorm(ctx; input_context_norm)
//     kv = [c; l] [P + M rows]; q = l·Wqᵀ [M, H·D], k = kv·Wkᵀ, v = kv·Wvᵀ [P + M, KVH·D]
//     a = attention(q, k, v; non-causal, GQA, scale D^-½, keys of padded patches masked out)
//     lat = lat + a·Woᵀ;  lat = lat + down(silu(gate(m)) · up(m)), m = rmsnorm(lat; post_attention_layernorm)
//                         (perceiver MLP intermediate = 4 C)
//   out [n·M, C]   = rmsnorm(lat; norm)                         → M image tokens per image
// The context norm is recomputed per layer from the same ctx (HF does the same).
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "base/arena.h"
#include "base/error.h"
#include "base/json.h"
#include "models/llama.h"
#include "models/siglip.h"
#include "nn/weights.h"
#include "nn/linear.h"
#include "nn/lora.h"

typedef struct {
    int C;                   // hidden_size (= the text hidden size; HF overwrites it when they differ)
    int M;                   // resampler_n_latents
    int n_layer;             // resampler_depth
    int H, KVH, D;           // resampler_n_heads, num_key_value_heads, resampler_head_dim
    int F;                   // MLP intermediate: 4 C
    float eps;               // rms_norm_eps (the text one when hidden_size was overwritten)
} Idefics2PerceiverConfig;

typedef struct {
    SiglipConfig vision;
    Idefics2PerceiverConfig perceiver;
    LlamaConfig text;        // Mistral (text_config; MistralConfig defaults plus Idefics2's own)
    int image_token;         // image_token_id (32001)
    int proj_F;              // modality projection intermediate: text intermediate_size
} Idefics2Config;

// Reads an Idefics2Config (model_type "idefics2"): vision_config, perceiver_config and text_config
// with transformers 5.24's defaults for missing keys (text: llama_config_parse). Values lpoi cannot
// reproduce (another activation, attention dropout, num_key_value_heads not dividing the heads, an
// image token outside the vocabulary) are refused with "<what>: <sub-config>: \"key\" ...".
bool idefics2_config_parse(Idefics2Config *c, const JsonValue *root, const char *what, LpoiErr *err);
bool idefics2_config_load(Idefics2Config *c, const char *path, LpoiErr *err);   // a config.json or a folder

// ---- the connector ----
typedef enum { I2_GATE, I2_UP, I2_DOWN, I2_NMLP } Idefics2Mlp;        // a SwiGLU MLP's three Linears
typedef enum { PERC_Q, PERC_K, PERC_V, PERC_O, PERC_GATE, PERC_UP, PERC_DOWN, PERC_NPROJ } PerceiverProj;
extern const char *const PERCEIVER_PROJ_PATH[PERC_NPROJ];  // "self_attn.q_proj", ..., "mlp.down_proj"
extern const LoraModules PERCEIVER_LORA_MODULES;           // the above under "layers.%d."
extern const LoraModules MODALITY_LORA_MODULES;            // gate_proj, up_proj, down_proj (no layers)

typedef struct {
    const float *latents_norm, *context_norm, *post_norm;   // [C] input_latents_norm, input_context_norm,
                                                            //     post_attention_layernorm
    Linear proj[PERC_NPROJ];                                // q [H·D, C], k/v [KVH·D, C], o [C, H·D],
                                                            // gate/up [4C, C], down [C, 4C]
} PerceiverLayer;

typedef struct Idefics2ConnStep Idefics2ConnStep;

typedef struct {
    Idefics2Config cfg;      // vision.C, text.C, proj_F and perceiver are read
    Backend *be;
    float *weights_mem;
    size_t weights_floats;
    Linear mproj[I2_NMLP];   // modality_projection: gate/up [proj_F, Cv], down [C, proj_F]
    const float *latents;    // [M, C]
    PerceiverLayer *layers;  // [perceiver.n_layer]
    const float *norm;       // [C]
    LoraSet mproj_lora, lora;   // modality projection; perceiver layers
    bool lora_on;
    Arena acts;
    void *acts_mem;
    Idefics2ConnStep *step;
} Idefics2Connector;

// The spec table of the connector under `prefix` ("model.connector."): modality_projection.*,
// perceiver_resampler.{latents, layers.N.*, norm.weight} (3 + 1 + 10 depth + 1), with c wired when non-NULL.
void idefics2_connector_specs(const Idefics2Config *cfg, const char *prefix, Idefics2Connector *c, WeightSpecs *out);
bool idefics2_connector_plan(Idefics2Connector *c, const Idefics2Config *cfg, const char *prefix, const WeightSource *src,
                             WeightPlan *p, char *msg, size_t cap);
bool idefics2_connector_bind(Idefics2Connector *c, Backend *be, WeightPlan *p, LpoiErr *err);
void idefics2_connector_free(Idefics2Connector *c);
// Zeroed adapters of rank r on the modality projection (bits 1 << Idefics2Mlp) and the perceiver
// layers (bits 1 << PerceiverProj).
void idefics2_connector_lora_create(Idefics2Connector *c, int r, float alpha, unsigned mproj_targets, unsigned targets);

// feat: backend [n, P, Cv] (the vision encoder's output), patch_mask host [n, P] (1 = real patch,
// NULL = all real); out: backend [n, M, C]. for_backward keeps what the backward needs.
bool idefics2_connector_forward(Idefics2Connector *c, const float *feat, const uint8_t *patch_mask, int n, int P,
                                bool for_backward, float *out, LpoiErr *err);
// From dout (backend [n, M, C]): LoRA gradients += (adapters on), d feat (backend [n, P, Cv], =)
// into dfeat when non-NULL.
void idefics2_connector_backward(Idefics2Connector *c, const float *dout, float *dfeat);

// ---- the whole model's tensors ----
// Every tensor name of Idefics2ForConditionalGeneration (transformers 5.24 names: model.vision_model.*,
// model.connector.*, model.text_model.*, lm_head.weight unless tied) with its shape: appended to out.
void idefics2_weight_specs(const Idefics2Config *c, WeightSpecs *out);

// ---- the whole model ----------------------------------------------------------------------------
// Forward (as Idefics2Model.get_image_features + inputs_merger, transformers 5.24):
//   real images   the images of pixel_values [B, N, 3, H, W] that are not entirely 0.0 (HF drops the
//                 processor's padding images by that test), in batch-major order
//   patch mask    a patch is real when all p x p of its pixels are real in pixel_attention_mask
//   feat          siglip(real images, patch mask) [n, P, Cv]; img = connector(feat) [n·M, C]
//   x0 [B·T, C]   embed_tokens(input_ids), the rows whose id is image_token_id replaced in order by img
//   logp [B]      the Mistral decoder's sequence log-probs of x0 (TRL get_batch_logps)
// input_ids must hold the expanded image tokens (the processor's job: M per image, and M per split
// image with do_image_splitting); a count that does not match the real images is an error.
typedef struct Idefics2Step Idefics2Step;

typedef struct {
    Idefics2Config cfg;
    Backend *be;
    SiglipModel vision;
    Idefics2Connector connector;
    LlamaModel lm;
    bool lora_on;
    Arena acts;
    void *acts_mem;
    Idefics2Step *step;
} Idefics2Model;

// Binds every tensor (vision model.vision_model.*, connector model.connector.*, decoder
// model.text_model.* + lm_head.weight): every problem of every part, and every tensor of none, in
// ONE error; nothing uploaded unless all is clean.
bool idefics2_load(Idefics2Model *m, Backend *be, const Idefics2Config *cfg, const WeightSource *src, LpoiErr *err);
bool idefics2_open(Idefics2Model *m, Backend *be, const char *dir, LpoiErr *err);
void idefics2_free(Idefics2Model *m);

// ---- LoRA ----
typedef struct {
    unsigned vision;       // bits (1 << ClipProj)
    unsigned modality;     // bits (1 << Idefics2Mlp)
    unsigned perceiver;    // bits (1 << PerceiverProj)
    unsigned text;         // bits (1 << LlamaProj)
} Idefics2LoraTargets;
// PEFT target_modules over the four parts: "all-linear" (every Linear but lm_head), names with list
// semantics ("q_proj" adapts the vision, perceiver and text q_proj), qualified names
// ("vision_model.fc1", "perceiver_resampler.o_proj", "modality_projection.up_proj", "text_model.q_proj"),
// dotted paths, or a regex over transformers 5's module names ("model.text_model.layers.0.self_attn.q_proj").
// cfg gives the layer counts for dotted paths and regexes; NULL accepts kind names only.
bool idefics2_lora_parse_targets(const char *spec, const Idefics2Config *cfg, Idefics2LoraTargets *t, LpoiErr *err);
void idefics2_lora_create(Idefics2Model *m, int r, float alpha, const Idefics2LoraTargets *t);
// Loads a PEFT adapter saved from Idefics2ForConditionalGeneration ("base_model.model.model.<part>...").
bool idefics2_lora_load(Idefics2Model *m, const WeightSource *src, LpoiErr *err);
void idefics2_set_lora(Idefics2Model *m, bool on);
// Adapter tensors in storage order (vision, modality projection, perceiver, text) with their PEFT names.
size_t idefics2_lora_count(const Idefics2Model *m);
void idefics2_lora_tensor(const Idefics2Model *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param,
                          float **grad);

// ---- a step ----
typedef struct {
    int B, T;
    const int32_t *input_ids;        // host [B,T], image tokens expanded
    const int32_t *attention_mask;   // host [B,T] (NULL = all tokens)
    const int32_t *labels;           // host [B,T], -100 = not scored
    int N, H, W;                     // images per sample (padded count) and their padded size; N = 0: none
    const float *pixel_values;       // host [B, N, 3, H, W] (Idefics2Pixels)
    const uint8_t *pixel_mask;       // host [B, N, H, W] (NULL = every pixel real)
} Idefics2Batch;

bool idefics2_logps_forward(Idefics2Model *m, const Idefics2Batch *b, bool for_backward, float *logp, LpoiErr *err);
// From dlogp [B] (host): LoRA gradients += in every part whose adapters were on.
void idefics2_logps_backward(Idefics2Model *m, const float *dlogp);
bool idefics2_logits(Idefics2Model *m, const Idefics2Batch *b, float *logits, LpoiErr *err);   // backend [B,T,V]
// Greedy / sampled decoding of one sequence: ids[n] (image tokens expanded) with its images
// (b->B must be 1; b->input_ids, labels and attention_mask are ignored) → the merged embeddings
// prefill the KV cache (llama_generate_embeds). Returns the number of new ids written to out, or -1 + err.
int idefics2_generate(Idefics2Model *m, const int32_t *ids, int n, const Idefics2Batch *images, const LlamaGenOpts *o,
                      int32_t *out, LpoiErr *err);
// The image features of the last forward (backend [n_real·M, C]) and their count n_real·M.
const float *idefics2_image_features(const Idefics2Model *m, int *rows);
