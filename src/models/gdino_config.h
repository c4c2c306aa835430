// gdino_config.h — HF GroundingDinoConfig (transformers 5.24) for GroundingDinoForObjectDetection:
// the detector's own keys, its Swin backbone_config and its BERT text_config, with HF's class
// defaults where config.json leaves a key out (grounding-dino-tiny's file gives only a few Swin
// keys and model_type "bert" for the text).
//
// Shapes that follow (C = swin_dim·2^stage, d = d_model):
//   Swin      patch embedding conv [C0, 3, p, p]; per stage s: depth[s] blocks of window attention with
//             heads[s] heads and a relative position table [(2·window − 1)², heads[s]]; patch merging
//             [2C, 4C] between stages; a LayerNorm (hidden_states_norms.stageK) on each output stage;
//   BERT      text_hidden (768), text_layers (12), text_heads, text_ffn, text_vocab, text_max_pos;
//   encoder   enc_layers of (text enhancer: self-attention with enc_heads/2 heads and an FFN of
//             enc_ffn/2; fusion: bi-attention of enc_ffn/2 channels and enc_heads/2 heads;
//             deformable self-attention: enc_heads heads, levels, enc_points, FFN enc_ffn);
//   decoder   dec_layers of (self-attention, text cross-attention, deformable cross-attention with
//             dec_points, FFN dec_ffn), dec_heads heads; num_queries queries of query_dim 4.
// Values lpoi does not implement (a "learned" position embedding, two_stage false, a timm backbone,
// activations other than relu/gelu, ...) are refused by name, one line: "<file>: \"key\" ...".
#pragma once
#include <stdbool.h>
#include "base/error.h"
#include "base/json.h"

#define GDINO_MAX_STAGES 8
#define GDINO_MAX_LEVELS 8

typedef struct {
    // Swin backbone (backbone_config)
    int swin_dim;                     // embed_dim, 96
    int n_stages;                     // len(depths), 4
    int depth[GDINO_MAX_STAGES];      // [2, 2, 6, 2]
    int swin_heads[GDINO_MAX_STAGES]; // [3, 6, 12, 24]
    int window;                       // window_size, 7
    int patch;                        // patch_size, 4
    int channels;                     // num_channels, 3
    double mlp_ratio;                 // 4.0: a stage's MLP is int(mlp_ratio · C) wide
    float swin_eps;                   // layer_norm_eps, 1e-5
    int n_outs;                       // output stages (out_indices), 3
    int out_stage[GDINO_MAX_STAGES];  // 1-based stage indices, [2, 3, 4]
    // BERT text encoder (text_config)
    int text_vocab, text_hidden, text_layers, text_heads, text_ffn, text_max_pos, text_type_vocab;
    float text_eps;                   // 1e-12
    // the detector
    int d_model;                      // 256
    int enc_layers, dec_layers;       // 6, 6
    int enc_heads, dec_heads;         // 8, 8
    int enc_ffn, dec_ffn;             // 2048, 2048
    int enc_points, dec_points;       // 4, 4
    int levels;                       // num_feature_levels, 4
    int num_queries;                  // 900
    int max_text_len;                 // 256
    int query_dim;                    // 4
    bool decoder_bbox_embed_share;    // true: one bbox_embed for every decoder layer
    bool two_stage_bbox_embed_share;  // false: the encoder's box head is its own
    float temperature;                // positional_embedding_temperature, 20
    float eps;                        // layer_norm_eps, 1e-5
} GdinoConfig;

// Parses a config.json root (model_type "grounding-dino"); what names the file in errors. Another
// model type (another detector) is refused: "<what>: model_type \"detr\" is not Grounding DINO ...".
bool gdino_config_parse(GdinoConfig *c, const JsonValue *root, const char *what, LpoiErr *err);
// <dir>/config.json (or the file itself).
bool gdino_config_load(GdinoConfig *c, const char *path, LpoiErr *err);
// Swin stage s (0-based): channels and the MLP hidden size.
static inline int gdino_stage_dim(const GdinoConfig *c, int s) { return c->swin_dim << s; }
int gdino_stage_mlp(const GdinoConfig *c, int s);
