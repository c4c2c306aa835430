// llava.h — HF LlavaForConditionalGeneration (LLaVA-1.5): the CLIP vision tower (models/clip.h),
// the multimodal projector and the LLaMA language model (models/llama.h), with LoRA on any of the
// three exactly as PEFT applies it, sequence log-probs and their backward down to every LoRA A/B
// and, on request, d pixel_values. All compute goes through the backend op table.
//
// Forward (K = n_images · N image features, N = P (default strategy) or P + 1 (full)):
//   feat [K, Cv]  = clip hidden_states[vision_feature_layer] of each image, CLS row dropped (default)
//   img  [K, C]   = linear_2(GELU_erf(linear_1(feat)))             (projector_hidden_act, with bias)
//   x0   [B·T, C] = embed_tokens(input_ids), then the rows whose id is image_token_index are
//                   overwritten in order (batch-major, as torch masked_scatter) by the rows of img
//   logp [B]      = llama sequence log-probs of x0 (TRL get_batch_logps)
// The merge is a gather from [text rows; image rows] (embedding_forward); its backward is a
// gather of d x0 at the image positions.
//
// Image tokens: as in HF transformers 5, the model takes input_ids in which every `<image>` has
// ALREADY been expanded to N copies of image_token_index (the processor's job: N = 576 for
// llava-1.5's 336 px / patch 14 and the default strategy). llava_expand_image_tokens does that
// expansion for ids that hold one image token per image. A batch whose image-token count does not
// match the images (missing `<image>`, too many or too few images, a run of image tokens that is
// not a multiple of N) is a clear error, never a silent misalignment.
//
// Adapter switch: `lora_on` (llava_set_lora) applies to all three parts; off = the reference model.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "base/arena.h"
#include "base/error.h"
#include "base/json.h"
#include "models/clip.h"
#include "models/llama.h"
#include "nn/linear.h"

typedef struct {
    ClipConfig vision;
    LlamaConfig text;
    int image_token;             // image_token_index (alias image_token_id), default 32000
    int feature_layer;           // vision_feature_layer as given (-2)
    int feature_k;               // the hidden_states index it selects (0..vision.n_layer)
    ClipSelect select;           // vision_feature_select_strategy "default" (drop CLS) / "full"
    GeluKind proj_act;           // projector_hidden_act "gelu" (erf)
    bool proj_bias;              // multimodal_projector_bias
    int tokens_per_image;        // N: image tokens each image fills
    int image_seq_length;        // config.image_seq_length (informational; the processor's count)
} LlavaConfig;

// Reads a LlavaConfig (model_type "llava") with transformers' defaults for missing keys; the
// vision and text parts through clip_config_parse / llama_config_parse. A list-valued
// vision_feature_layer (concatenated layers) and unknown strategies are refused by name.
bool llava_config_parse(LlavaConfig *c, const JsonValue *root, const char *what, LpoiErr *err);
bool llava_config_load(LlavaConfig *c, const char *path, LpoiErr *err);   // a config.json or a folder

// ---- weights ----
// Projector spellings: "multi_modal_projector." (hub) / "model.multi_modal_projector." (>= 4.52).
extern const char *const LLAVA_PROJECTOR_PREFIXES[2];
typedef enum { LLAVA_PROJ_1, LLAVA_PROJ_2, LLAVA_NPROJ } LlavaProj;
extern const LoraModules LLAVA_PROJ_LORA_MODULES;   // linear_1, linear_2 (no layers)

typedef struct {
    LlavaConfig cfg;
    Backend *be;
    ClipModel vision;
    LlamaModel lm;
    const char *proj_prefix;         // the projector spelling that was bound
    float *proj_mem;                 // backend: linear_1 w,b then linear_2 w,b
    size_t proj_floats;
    Linear proj[LLAVA_NPROJ];        // linear_1 [C, Cv], linear_2 [C, C]
    LoraSet proj_lora;               // targets: bit per LlavaProj
    bool lora_on;
    Arena acts;                      // merge + projector activations
    void *acts_mem;
    struct LlavaStep *step;
} LlavaModel;

// Binds every tensor: the vision tower (any CLIP_PREFIXES LLaVA spelling), the projector and the
// language model (llama_load); every problem of every part, and every tensor that belongs to none,
// in ONE error. Both checkpoint layouts are accepted (and a transformers-5 save_pretrained file).
bool llava_load(LlavaModel *m, Backend *be, const LlavaConfig *cfg, const WeightSource *src, LpoiErr *err);
bool llava_open(LlavaModel *m, Backend *be, const char *dir, LpoiErr *err);
void llava_free(LlavaModel *m);

// Every tensor name the config implies under the hub layout (vision_tower.vision_model.*,
// multi_modal_projector.*, language_model.model.*, language_model.lm_head.weight) with its shape:
// appended to out. (For the real-inventory test.)
void llava_weight_specs(const LlavaConfig *c, WeightSpecs *out);

// ---- LoRA ----
typedef struct {
    unsigned vision;       // bits (1 << ClipProj)
    unsigned projector;    // bits (1 << LlavaProj)
    unsigned text;         // bits (1 << LlamaProj)
} LlavaLoraTargets;
// "all-linear" (PEFT: every Linear but lm_head: vision q/k/v/out_proj, fc1, fc2; linear_1/2; the
// decoder's q/k/v/o/gate/up/down), or a comma-separated list of module names with PEFT's list
// semantics (a name adapts every module that ends with it: "q_proj" is the vision AND the text
// q_proj), each optionally restricted to one part: "vision_tower.q_proj", "language_model.q_proj",
// "multi_modal_projector.linear_1". PEFT's other forms work too: dotted module paths with list semantics
// ("self_attn.q_proj": every module whose name ends with it), and a regex string that full-matches
// transformers 5's module names ("model\.language_model\..*\.(q_proj|v_proj)"); those two need cfg
// (the layer counts: a target selects a kind in every layer of its part or in none). cfg NULL: names.
bool llava_lora_parse_targets(const char *spec, const LlavaConfig *cfg, LlavaLoraTargets *t, LpoiErr *err);
// Zeroed adapters (rank r, scale alpha / r) on the targets, zeroed gradients.
void llava_lora_create(LlavaModel *m, int r, float alpha, const LlavaLoraTargets *t);
// Loads a PEFT adapter (names in any of the spellings above); every adapted module must be there
// with its shape, and every tensor of src must be one of ours.
bool llava_lora_load(LlavaModel *m, const WeightSource *src, LpoiErr *err);
void llava_lora_init(LlavaModel *m, uint64_t seed);   // PEFT init: A ~ U(±1/√in), B = 0
void llava_lora_zero_grad(LlavaModel *m);
// Removes every adapter (lora_remove on all three parts): the model is the base again.
void llava_lora_remove(LlavaModel *m);
void llava_set_lora(LlavaModel *m, bool on);
// Adapter tensors in storage order (vision, projector, language model) with their PEFT names as
// transformers 5 + PEFT save them ("base_model.model.model.vision_tower.encoder.layers.0.self_attn.
// q_proj.lora_A.weight", "...model.multi_modal_projector.linear_1...", "...model.language_model.layers..."),
// shape, parameter and gradient pointers (backend memory).
size_t llava_lora_count(const LlavaModel *m);
void llava_lora_tensor(const LlavaModel *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param,
                       float **grad);

// ---- a step ----
typedef struct {
    int B, T;
    const int32_t *input_ids;        // host [B,T], image tokens already expanded (N per image)
    const int32_t *attention_mask;   // host [B,T] (NULL = all tokens)
    const int32_t *labels;           // host [B,T], -100 = not scored
    int n_images;                    // images, in the order their tokens appear (batch-major)
    const float *pixel_values;       // backend [n_images, ch, S, S]
    bool grad_pixels;                // keep what d pixel_values needs (llava_logps_backward's dpixels)
} LlavaBatch;

// Checks the image tokens of ids [B,T] against n_images (the errors described above).
bool llava_check_image_tokens(const LlavaConfig *c, const int32_t *ids, int B, int T, int n_images, LpoiErr *err);
// Expands each lone image token of ids[n] into N copies (runs that are already a multiple of N
// long are kept). Returns the new length (<= cap), or -1 + err (a run of another length, or cap).
int llava_expand_image_tokens(const LlavaConfig *c, const int32_t *ids, int n, int32_t *out, int cap, LpoiErr *err);

// logp [B] (host). for_backward keeps what llava_logps_backward needs.
bool llava_logps_forward(LlavaModel *m, const LlavaBatch *b, bool for_backward, float *logp, LpoiErr *err);
// From dlogp [B] (host): LoRA gradients += in every part whose adapters were on; d pixel_values
// (backend [n_images, ch, S, S], =) into dpixels when non-NULL (needs grad_pixels in the forward).
void llava_logps_backward(LlavaModel *m, const float *dlogp, float *dpixels);
// Logits of every position, backend [B,T,V].
bool llava_logits(LlavaModel *m, const LlavaBatch *b, float *logits, LpoiErr *err);
// The merged input embeddings of the last forward (backend [B·T, C]) and the projected image
// features (backend [K, C]).
const float *llava_inputs_embeds(const LlavaModel *m);
const float *llava_image_features(const LlavaModel *m);

// Greedy / sampled decoding of one sequence: ids[n] (image tokens expanded) with n_images images
// (backend [n_images, ch, S, S]) → the merged embeddings prefill the KV cache (llama_generate_embeds).
// Returns the number of new ids written to out, or -1 + err.
int llava_generate(LlavaModel *m, const int32_t *ids, int n, int n_images, const float *pixel_values,
                   const LlamaGenOpts *o, int32_t *out, LpoiErr *err);
