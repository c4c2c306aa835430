// clip.h — HF CLIPVisionModel (the vision tower of LLaVA-1.5): config from a vision_config, weights
// bound by their HF names, forward to every hidden state, and the analytic backward from the
// hidden state LLaVA selects down to every LoRA A/B of the vision linears and, on request, to
// pixel_values. All compute goes through the backend op table.
//
// Embeddings (n images, G = image/patch, P = G² patches, T = P + 1 tokens, C = hidden):
//   patches [n·P, 3·p·p] = im2col(pixel_values [n,3,S,S])   (a gather: rows (c, kh, kw) per patch,
//                                                            patch order py·G + px, as conv.flatten(2))
//   e [n·P, C] = patches · W_patchᵀ                          (Conv2d kernel = stride = p, no bias)
//   x [n,T,C]  = [class_embedding; e] + position_embedding[0..T-1]
//   hs[0]      = pre_layrnorm(x)                             (HF's spelling "pre_layrnorm")
// One encoder layer (pre-LN, q/k/v/out_proj and fc1/fc2 with bias, quick_gelu):
//   h1 = LN1(x); a = attention(q(h1), k(h1), v(h1); non-causal, scale D^-½); xm = x + out_proj(a)
//   h2 = LN2(xm); x' = xm + fc2(act(fc1(h2)))
// hidden_states = (hs[0], hs[1] = layer 1's output, ..., hs[n_layer]); pooler = post_layernorm(hs[n_layer][:, 0]).
// LLaVA's vision_feature_layer f selects hs[f] (f < 0 counts from the end: -2 → hs[n_layer-1]); only the
// layers up to it run (HF still runs the unused last layer, whose output nothing reads). The
// "default" strategy drops the CLS row (P features per image), "full" keeps it (T).
//
// The patch convolution is a gather + one GEMM: clip builds, once per image size, an index that maps
// each row of g = gcd(p, S) floats of the patch matrix to its row in the pixel buffer, so im2col is
// the op table's embedding_forward and its transpose (col2im, for d pixel_values) embedding_backward —
// no host access to device memory. Pixels past the last whole patch (S % p) get zero gradient, as
// in the convolution.
//
// Memory follows llama.c: weights (fp32, one block), LoRA parameters and gradients (one block
// each, per layer per target A then B), and a per-step activation arena sized before the step from
// (n, layers run, backward). With `recompute` only each layer's input is kept and the layer is
// recomputed during the backward.
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

typedef struct {
    int C;                   // hidden_size
    int n_layer;                   // num_hidden_layers
    int H, D;                // num_attention_heads, head dim C / H
    int F;                   // intermediate_size
    int S;                   // image_size (square; HF refuses other sizes without interpolate_pos_encoding)
    int p;                   // patch_size
    int ch;                  // num_channels
    int G, P, T;             // S / p, G², P + 1
    float eps;               // layer_norm_eps
    GeluKind act;            // hidden_act: quick_gelu (CLIP), gelu (erf), gelu_pytorch_tanh
} ClipConfig;

// Reads a CLIPVisionConfig object (model_type "clip_vision_model"; missing keys take
// CLIPVisionConfig's defaults: 768/3072/12 layers/12 heads/224/32/quick_gelu/1e-5), or the
// vision_config of a "clip" or "llava" config. A LlavaConfig without vision_config takes LLaVA's own
// defaults (CLIP-L/336: 1024/4096/24/16/336/14). Options we do not implement are refused by name.
bool clip_config_parse(ClipConfig *c, const JsonValue *root, const char *what, LpoiErr *err);
// hidden_act / projector_hidden_act: quick_gelu, gelu (erf), gelu_pytorch_tanh / gelu_new (def when absent).
GeluKind clip_read_act(JsonCfg *c, const char *key, const char *def);
// hidden_states index (0..n_layer) of a vision_feature_layer (negative counts from the end), or -1.
int clip_feature_index(const ClipConfig *c, int feature_layer);

// ---- weights ----
typedef enum { CLIP_Q, CLIP_K, CLIP_V, CLIP_O, CLIP_FC1, CLIP_FC2, CLIP_NPROJ } ClipProj;
extern const char *const CLIP_PROJ_PATH[CLIP_NPROJ];   // "self_attn.q_proj", ..., "mlp.fc2"
#define CLIP_LORA_ALL ((1u << CLIP_NPROJ) - 1)          // PEFT "all-linear" on the vision tower
extern const LoraModules CLIP_LORA_MODULES;             // the above under "encoder.layers.%d."

// Where the vision tower's tensors sit, most specific first: "model.vision_tower.vision_model."
// (transformers 4.52-4.x), "vision_tower.vision_model." (the hub's LLaVA files),
// "model.vision_tower." (transformers 5 in memory / PEFT module paths), "vision_tower." (what
// transformers 5 save_pretrained writes), "vision_model." (hub CLIPVisionModel), "" (transformers 5
// CLIPVisionModel).
extern const char *const CLIP_PREFIXES[];
extern const size_t CLIP_NPREFIXES;

typedef struct ClipModel ClipModel;
// The spec table: every tensor of the tower under `prefix` (embeddings, pre_layrnorm, n_layer layers,
// post_layernorm: 5 + 16 n_layer + 2), appended to out; with m (layers allocated) wired to its fields.
void clip_weight_specs(const ClipConfig *c, const char *prefix, ClipModel *m, WeightSpecs *out);

typedef struct {
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;   // [C]
    Linear proj[CLIP_NPROJ];                      // q/k/v/o [C,C], fc1 [F,C], fc2 [C,F], all with bias
} ClipLayer;

typedef struct ClipStep ClipStep;   // what a forward saved for its backward (clip.c)

struct ClipModel {
    ClipConfig cfg;
    Backend *be;
    const char *prefix;              // the spelling the weights were bound under (CLIP_PREFIXES entry)
    float *weights_mem;
    size_t weights_floats;
    const float *patch_w;            // [C, ch·p·p] (Conv2d weight [C,ch,p,p] flattened)
    const float *class_emb;          // [C]
    const float *pos_emb;            // [T, C]
    const float *pre_w, *pre_b;      // [C] pre_layrnorm
    const float *post_w, *post_b;    // [C] post_layernorm (pooler only)
    ClipLayer *layers;               // [n_layer]
    LoraSet lora;                    // r == 0: none; targets: bit (1 << ClipProj)
    bool lora_on;                    // false: adapters bypassed (the reference model)
    bool recompute;
    Arena acts;
    void *acts_mem;
    ClipStep *step;
};

// Binds every tensor the config implies from src under the first CLIP_PREFIXES entry that holds
// "embeddings.patch_embedding.weight" (fp32/f16/bf16 → fp32, uploaded). One error lists every
// missing, unexpected (under the detected prefix), mis-shaped or non-float tensor.
bool clip_load(ClipModel *m, Backend *be, const ClipConfig *cfg, const WeightSource *src, LpoiErr *err);
// Its two passes (see llama_plan / llama_bind).
bool clip_plan(ClipModel *m, const ClipConfig *cfg, const WeightSource *src, WeightPlan *p, char *msg, size_t cap);
bool clip_bind(ClipModel *m, Backend *be, WeightPlan *p, LpoiErr *err);
// dir/config.json (a CLIPVisionConfig, CLIPConfig or LlavaConfig) + its safetensors.
bool clip_open(ClipModel *m, Backend *be, const char *dir, LpoiErr *err);
void clip_free(ClipModel *m);

// ---- LoRA ----
// Attaches zeroed adapters of rank r (scale alpha / r) on targets of every layer, zeroed gradients.
void clip_lora_create(ClipModel *m, int r, float alpha, unsigned targets);
size_t clip_lora_count(const ClipModel *m);   // 2 · n_layer · targets
// Adapter tensor i (storage order): PEFT name "base_model.model.<module>encoder.layers.N.<proj>.lora_A.weight"
// with `module` the module path (e.g. "model.vision_tower."), shape, parameter and gradient pointers.
void clip_lora_tensor(const ClipModel *m, size_t i, const char *module, char *name, size_t cap, int64_t shape[2],
                      float **param, float **grad);
// Loads every adapter tensor from src under the first of `modules` (NULL-terminated list of module
// paths) that holds layer 0's first adapter; missing / mis-shaped tensors are one error. Unexpected
// names are the caller's business (a LLaVA adapter holds other parts too).
bool clip_lora_load(ClipModel *m, const WeightSource *src, const char *const *modules, LpoiErr *err);
void clip_lora_zero_grad(ClipModel *m);

// ---- a step ----
// Runs the embeddings and the first `layers` encoder layers (0..n_layer) on pixels (backend [n,ch,S,S]).
// With for_backward the step keeps what clip_backward needs. false + err on a bad shape.
bool clip_forward(ClipModel *m, const float *pixels, int n, int layers, bool for_backward, LpoiErr *err);
// hidden_states[k] of the last forward, backend [n,T,C], k in 0..layers (valid until the next forward).
const float *clip_hidden(const ClipModel *m, int k);
// pooler_output: post_layernorm(hidden_states[n_layer][:, 0]) into out (backend [n,C]); needs layers == n_layer.
void clip_pooled(ClipModel *m, float *out);
// From d hidden_states[layers] (backend [n,T,C]): LoRA gradients += (when the adapters were on) and,
// when dpixels is non-NULL, d pixel_values (backend [n,ch,S,S], =).
void clip_backward(ClipModel *m, const float *dhidden, float *dpixels);

// LLaVA's image features: hidden_states[k] without (default) or with (full) the CLS row →
// feat (backend [n, P or T, C]); the backward scatters dfeat back into hidden_states[k].
typedef enum { CLIP_SELECT_DEFAULT, CLIP_SELECT_FULL } ClipSelect;
int clip_features_per_image(const ClipConfig *c, ClipSelect sel);   // P or T
bool clip_features_forward(ClipModel *m, const float *pixels, int n, int k, ClipSelect sel, bool for_backward,
                           float *feat, LpoiErr *err);
void clip_features_backward(ClipModel *m, const float *dfeat, float *dpixels);

// Bytes of activation arena a step needs (an upper bound).
size_t clip_step_bytes(const ClipModel *m, int n, int layers, bool backward);
