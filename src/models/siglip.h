// siglip.h — HF Idefics2VisionTransformer (SigLIP adapted to variable image sizes, NaViT style): the
// vision encoder of Idefics2. Config from a vision_config, weights bound by their HF names (the
// layer type is CLIP's: same tensors, same LoRA module paths), forward to last_hidden_state and the
// analytic backward from it down to every LoRA A/B and, on request, to pixel_values. All compute
// goes through the backend op table.
//
// Differences from CLIP (clip.h): no class token, no pre-layernorm, a conv bias, gelu-tanh by
// default, a post_layernorm on EVERY output row, and images of any size (a batch shares one padded
// H x W): Gh = H / p, Gw = W / p patches per side (floor), P = Gh·Gw tokens per image.
//
// Embeddings (n images, G = image_size / p positions per side, table [G², C]):
//   patches [n·P, ch·p·p] = im2col(pixel_values [n,ch,H,W])       (rows py·Gw + px, columns (c, kh, kw))
//   x [n·P, C] = patches · W_patchᵀ + b + position_embedding[pos_id]
// pos_id: from the patch mask of image i (host [n, Gh, Gw], 1 = a real patch; the valid region is a
// top-left rectangle): nh = Σ mask[:, 0], nw = Σ mask[0, :]; in float32 as torch does,
//   fh = min(py · (1/nh), 1 − 1e-6), bh = #{boundaries ≤ fh} (torch.bucketize right=True over
//   boundaries = arange(1/G, 1, 1/G)), likewise bw; pos_id = bh·G + bw for a real patch, 0 otherwise.
// Encoder layers as CLIP's (pre-LN, attention non-causal with the padded patches masked out as KEYS,
// fc1 → act → fc2, all with bias); out = post_layernorm(x) [n, P, C]. Padded rows still get an
// output (they attend to the real patches, as in HF); callers mask them out downstream.
//
// Memory follows clip.h: weights in one fp32 block, LoRA in one set, a per-step activation arena
// sized before the step; `recompute` keeps each layer's input only.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "base/arena.h"
#include "base/error.h"
#include "base/json.h"
#include "models/clip.h"
#include "nn/weights.h"
#include "nn/linear.h"
#include "nn/lora.h"

typedef struct {
    int C;                   // hidden_size
    int n_layer;             // num_hidden_layers
    int H, D;                // num_attention_heads, head dim C / H
    int F;                   // intermediate_size
    int S;                   // image_size (the position table's extent: G = S / p per side)
    int p;                   // patch_size
    int ch;                  // num_channels
    int G, n_pos;            // S / p, G²
    float eps;               // layer_norm_eps
    GeluKind act;            // hidden_act (gelu_pytorch_tanh)
} SiglipConfig;

// Reads an Idefics2VisionConfig object (missing keys take its defaults: 768/3072/12 layers/12 heads/
// 3 channels/224/32/gelu_pytorch_tanh/1e-6); its model_type is ignored (Idefics2Config drops it).
// Options we do not implement are refused by name (attention_dropout, a list-valued size).
bool siglip_config_parse(SiglipConfig *c, const JsonValue *obj, const char *what, LpoiErr *err);

typedef struct SiglipModel SiglipModel;
// The spec table: every tensor under `prefix` (patch weight and bias, position table, n_layer
// CLIP-shaped layers, post_layernorm: 3 + 16 n_layer + 2), appended to out; with m wired to it.
void siglip_weight_specs(const SiglipConfig *c, const char *prefix, SiglipModel *m, WeightSpecs *out);

typedef struct SiglipStep SiglipStep;   // what a forward saved for its backward (siglip.c)

struct SiglipModel {
    SiglipConfig cfg;
    Backend *be;
    float *weights_mem;
    size_t weights_floats;
    const float *patch_w, *patch_b;  // [C, ch·p·p], [C]
    const float *pos_emb;            // [G², C]
    const float *post_w, *post_b;    // [C] post_layernorm
    ClipLayer *layers;               // [n_layer]
    LoraSet lora;                    // targets: bit (1 << ClipProj), modules CLIP_LORA_MODULES
    bool lora_on;
    bool recompute;
    Arena acts;
    void *acts_mem;
    SiglipStep *step;
};

// Pass 1 under `prefix` (nothing uploaded; false + msg) and pass 2 (uploads, frees the plan).
bool siglip_plan(SiglipModel *m, const SiglipConfig *cfg, const char *prefix, const WeightSource *src, WeightPlan *p,
                 char *msg, size_t cap);
bool siglip_bind(SiglipModel *m, Backend *be, WeightPlan *p, LpoiErr *err);
void siglip_free(SiglipModel *m);

// ---- LoRA ----
void siglip_lora_create(SiglipModel *m, int r, float alpha, unsigned targets);
// Every adapter tensor from src under the PEFT module path `module` (e.g. "model.vision_model."), as
// lora_tensor names them; missing / mis-shaped tensors are one error (unexpected ones are the caller's).
bool siglip_lora_load(SiglipModel *m, const WeightSource *src, const char *module, LpoiErr *err);

// ---- a step ----
// The position ids of image i's patches (host, [Gh·Gw]) from its patch mask (host [Gh, Gw], NULL = all real).
void siglip_position_ids(const SiglipConfig *c, const uint8_t *mask, int Gh, int Gw, int32_t *pos);
// Runs the embeddings, every layer and the post-layernorm on pixels (backend [n, ch, H, W]) with the
// patch mask (host [n, Gh, Gw], NULL = every patch real). With for_backward the step keeps what
// siglip_backward needs. false + err on a bad shape (an image without a real patch, too small).
bool siglip_forward(SiglipModel *m, const float *pixels, int n, int H, int W, const uint8_t *patch_mask,
                    bool for_backward, LpoiErr *err);
// last_hidden_state of the last forward, backend [n, P, C] (valid until the next forward), and P.
const float *siglip_output(const SiglipModel *m);
int siglip_tokens(const SiglipModel *m);
// From d last_hidden_state (backend [n, P, C]): LoRA gradients += (when the adapters were on) and,
// when dpixels is non-NULL, d pixel_values (backend [n, ch, H, W], =).
void siglip_backward(SiglipModel *m, const float *dout, float *dpixels);
size_t siglip_step_bytes(const SiglipModel *m, int n, int Gh, int Gw, bool backward);
