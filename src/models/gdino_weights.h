// gdino_weights.h — where every tensor of HF GroundingDinoForObjectDetection goes, and the spec
// table (nn/weights.h) that binds them by name and shape from a GdinoConfig.
//
// Names are those of a checkpoint file: what transformers' save_pretrained writes (tied copies
// removed, renamings reverted) and what the hub's grounding-dino-tiny holds — Swin in its original
// layout ("...conv_encoder.model.encoder.layers.S.blocks.B.attention.self.query"). Files saved from
// a transformers 5 state_dict without that reversal ("...conv_encoder.model.swin.encoder...q_proj")
// bind too: gdino_detect_spelling picks the Swin spelling by probing the patch embedding.
// Accepted and skipped (WeightRules.ignored): Swin's relative_position_index buffers (older files),
// the unused swin.layernorm that transformers 5 adds, and the tied copies bbox_embed.N /
// model.decoder.bbox_embed.N (one shared head).
//
// Shapes (C_s = swin_dim·2^s, d = d_model, H/L/P = heads/levels/points, F = ffn):
//   Linear weight [out, in] (+ bias [out]); conv [out, in, k, k]; norms [dim].
//   deformable attention: sampling_offsets [H·L·P·2, d], attention_weights [H·L·P, d], value_proj and
//   output_proj [d, d]; fusion: vision/text_proj and values_* [F/2, d], out_* [d, F/2], the layer
//   scales vision_param / text_param [d].
#pragma once
#include <stdbool.h>
#include "models/gdino_config.h"
#include "nn/weights.h"

typedef struct { const float *w, *b; } GdLin;     // Linear / conv: weight, bias (NULL: none)
typedef struct { const float *w, *b; } GdNorm;    // LayerNorm / GroupNorm
typedef struct { GdLin q, k, v, o; } GdAttn;      // multi-head attention projections
typedef struct { GdLin sampling_offsets, attention_weights, value_proj, output_proj; } GdDeform;
typedef struct { GdLin l[3]; int n; } GdMlp;      // Linear-ReLU-...-Linear prediction heads (n layers)

typedef struct {
    GdNorm ln_before, ln_after;
    GdAttn attn;                  // q, k, v [C, C] with bias; o = attention.output.dense
    const float *rel_bias;        // relative_position_bias_table [(2·window − 1)², heads]
    GdLin fc1, fc2;               // intermediate.dense [mlp, C], output.dense [C, mlp]
} GdSwinBlock;

typedef struct {
    GdLin patch;                                  // [C0, 3, p, p] + bias
    GdNorm patch_norm;
    GdSwinBlock *blocks[GDINO_MAX_STAGES];        // [depth[s]]
    GdLin reduction[GDINO_MAX_STAGES];            // patch merging [2C, 4C], no bias (stages 0..n−2)
    GdNorm merge_norm[GDINO_MAX_STAGES];          // [4C]
    GdNorm out_norm[GDINO_MAX_STAGES];            // hidden_states_norms.stageK, per output (n_outs)
} GdSwin;

typedef struct {
    GdAttn attn;                  // attention.self.query/key/value, attention.output.dense
    GdNorm attn_ln;               // attention.output.LayerNorm
    GdLin fc1, fc2;               // intermediate.dense, output.dense
    GdNorm out_ln;                // output.LayerNorm
} GdBertLayer;

typedef struct {
    const float *word, *position, *token_type;    // [V, 768], [512, 768], [2, 768]
    GdNorm emb_ln;
    GdBertLayer *layers;                           // [text_layers]
} GdBert;

typedef struct {
    // text enhancer: self-attention (heads/2) + FFN (F/2), post-norm
    GdAttn text_attn; GdLin text_fc1, text_fc2; GdNorm text_ln_before, text_ln_after;
    // fusion (bi-attention between image and text)
    const float *vision_param, *text_param;       // [d] layer scales
    GdNorm fuse_ln_vision, fuse_ln_text;
    GdLin vision_proj, text_proj, values_vision_proj, values_text_proj, out_vision_proj, out_text_proj;
    // deformable self-attention over the image tokens
    GdDeform deform; GdNorm deform_ln; GdLin fc1, fc2; GdNorm final_ln;
} GdEncoderLayer;

typedef struct {
    GdAttn self_attn; GdNorm self_ln;             // query self-attention
    GdAttn text_attn; GdNorm text_ln;             // encoder_attn_text: queries → text
    GdDeform cross; GdNorm cross_ln;              // encoder_attn: deformable, queries → image
    GdLin fc1, fc2; GdNorm final_ln;
} GdDecoderLayer;

typedef struct {
    GdSwin swin;
    GdBert bert;
    GdLin text_projection;                        // [d, 768]
    GdLin input_proj[GDINO_MAX_LEVELS];           // conv 1×1 per backbone output, then 3×3 stride 2
    GdNorm input_norm[GDINO_MAX_LEVELS];          // GroupNorm(32, d)
    const float *level_embed;                     // [levels, d]
    const float *query_embed;                     // query_position_embeddings [num_queries, d]
    GdEncoderLayer *enc;                          // [enc_layers]
    GdDecoderLayer *dec;                          // [dec_layers]
    GdNorm dec_ln;                                // decoder.layer_norm
    GdMlp ref_head;                               // reference_points_head: 2 layers, [d, 2d] then [d, d]
    GdMlp bbox_embed[64];                         // 1 (shared) or dec_layers heads: [d, d], [d, d], [4, d]
    int n_bbox_embed;
    GdLin enc_output; GdNorm enc_output_norm;     // two-stage proposals
    GdMlp enc_bbox_embed;                         // encoder_output_bbox_embed (unbound when shared)
} GdinoWeights;

// The two-stage box head: bbox_embed.0 when two_stage_bbox_embed_share ties them.
static inline const GdMlp *gdino_enc_bbox_head(const GdinoWeights *w, const GdinoConfig *c) {
    return c->two_stage_bbox_embed_share ? &w->bbox_embed[0] : &w->enc_bbox_embed;
}

typedef enum { GDINO_SWIN_SAVED, GDINO_SWIN_V5 } GdinoSpelling;

// Allocates the per-layer arrays for c (zeroed); gdino_weights_free releases them (not the data).
void gdino_weights_init(GdinoWeights *w, const GdinoConfig *c);
void gdino_weights_free(GdinoWeights *w);
// Appends one spec per tensor, pointing into w (gdino_weights_init first).
void gdino_weight_specs(const GdinoConfig *c, GdinoSpelling sp, GdinoWeights *w, WeightSpecs *out);
// The Swin spelling of a source; GDINO_SWIN_SAVED when neither patch embedding is there (the
// plan then lists it missing).
GdinoSpelling gdino_detect_spelling(const WeightSource *src);
extern const WeightRules GDINO_WEIGHT_RULES;

// A checkpoint folder bound: config.json (another model type — another detector — is refused in one
// line) and its safetensors, every tensor checked (one line listing what is missing, unexpected or
// mis-shaped) before one fp32 backend block is filled. The model forward builds on this.
typedef struct {
    GdinoConfig cfg;
    GdinoWeights w;
    Backend *be;
    float *mem;              // the weights block (backend memory)
    size_t floats;
} GdinoCheckpoint;
bool gdino_checkpoint_open(GdinoCheckpoint *ck, Backend *be, const char *dir, LpoiErr *err);
void gdino_checkpoint_free(GdinoCheckpoint *ck);
