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
