// gdino_weights.c — the spec table of GroundingDinoForObjectDetection (gdino_weights.h).
#include "models/gdino_weights.h"
#include "models/model.h"
#include "base/check.h"
#include <string.h>

#define BACKBONE "model.backbone.conv_encoder.model."

const WeightRules GDINO_WEIGHT_RULES = {
    .owned = {""},
    .ignored = {"*relative_position_index", BACKBONE "swin.layernorm.*", "bbox_embed.*", "model.decoder.bbox_embed.*"},
};

void gdino_weights_init(GdinoWeights *w, const GdinoConfig *c) {
    memset(w, 0, sizeof *w);
    for (int s = 0; s < c->n_stages; s++) w->swin.blocks[s] = calloc_check((size_t)c->depth[s], sizeof(GdSwinBlock));
    w->bert.layers = calloc_check((size_t)c->text_layers, sizeof(GdBertLayer));
    w->enc = calloc_check((size_t)c->enc_layers, sizeof(GdEncoderLayer));
    w->dec = calloc_check((size_t)c->dec_layers, sizeof(GdDecoderLayer));
}

void gdino_weights_free(GdinoWeights *w) {
    for (int s = 0; s < GDINO_MAX_STAGES; s++) free(w->swin.blocks[s]);
    free(w->bert.layers);
    free(w->enc);
    free(w->dec);
    memset(w, 0, sizeof *w);
}

// ---- small builders: name = prefix + suffix -------------------------------------------------------

static void lin(WeightSpecs *s, GdLin *l, int out, int in, bool bias, const char *pre, const char *name) {
    SPEC2(s, &l->w, out, in, "%s%s.weight", pre, name);
    if (bias) SPEC1(s, &l->b, out, "%s%s.bias", pre, name);
}

static void conv(WeightSpecs *s, GdLin *l, int out, int in, int k, const char *pre, const char *name) {
    specs_add(s, &l->w, 4, (const int64_t[]){out, in, k, k}, "%s%s.weight", pre, name);
    SPEC1(s, &l->b, out, "%s%s.bias", pre, name);
}

static void norm(WeightSpecs *s, GdNorm *n, int dim, const char *pre, const char *name) {
    SPEC1(s, &n->w, dim, "%s%s.weight", pre, name);
    SPEC1(s, &n->b, dim, "%s%s.bias", pre, name);
}

// HF's GroundingDinoMultiheadAttention: query/key/value/out_proj [d, d].
static void attn(WeightSpecs *s, GdAttn *a, int d, const char *pre) {
    lin(s, &a->q, d, d, true, pre, "query");
    lin(s, &a->k, d, d, true, pre, "key");
    lin(s, &a->v, d, d, true, pre, "value");
    lin(s, &a->o, d, d, true, pre, "out_proj");
}

static void deform(WeightSpecs *s, GdDeform *a, int d, int heads, int levels, int points, const char *pre) {
    lin(s, &a->sampling_offsets, heads * levels * points * 2, d, true, pre, "sampling_offsets");
    lin(s, &a->attention_weights, heads * levels * points, d, true, pre, "attention_weights");
    lin(s, &a->value_proj, d, d, true, pre, "value_proj");
    lin(s, &a->output_proj, d, d, true, pre, "output_proj");
}

// The feed-forward tail of the deformable encoder layer and of the decoder layer.
static void ffn(WeightSpecs *s, GdLin *fc1, GdLin *fc2, GdNorm *ln, int d, int F, const char *pre) {
    lin(s, fc1, F, d, true, pre, "fc1");
    lin(s, fc2, d, F, true, pre, "fc2");
    norm(s, ln, d, pre, "final_layer_norm");
}

static void mlp(WeightSpecs *s, GdMlp *m, int n, int in, int hidden, int out, const char *pre) {
    m->n = n;
    char name[32];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "layers.%d", i);
        lin(s, &m->l[i], i == n - 1 ? out : hidden, i == 0 ? in : hidden, true, pre, name);
    }
}

// ---- the parts ------------------------------------------------------------------------------------

static void swin(const GdinoConfig *c, GdinoSpelling sp, GdSwin *w, WeightSpecs *s) {
    bool v5 = sp == GDINO_SWIN_V5;
    const char *root = v5 ? BACKBONE "swin." : BACKBONE;
    char pre[256];
    snprintf(pre, sizeof pre, "%sembeddings.", root);
    conv(s, &w->patch, c->swin_dim, c->channels, c->patch, pre, "patch_embeddings.projection");
    norm(s, &w->patch_norm, c->swin_dim, pre, "norm");
    int table = (2 * c->window - 1) * (2 * c->window - 1);
    for (int st = 0; st < c->n_stages; st++) {
        int C = gdino_stage_dim(c, st), M = gdino_stage_mlp(c, st);
        for (int b = 0; b < c->depth[st]; b++) {
            GdSwinBlock *k = &w->blocks[st][b];
            snprintf(pre, sizeof pre, "%sencoder.layers.%d.blocks.%d.", root, st, b);
            norm(s, &k->ln_before, C, pre, "layernorm_before");
            norm(s, &k->ln_after, C, pre, "layernorm_after");
            lin(s, &k->attn.q, C, C, true, pre, v5 ? "attention.q_proj" : "attention.self.query");
            lin(s, &k->attn.k, C, C, true, pre, v5 ? "attention.k_proj" : "attention.self.key");
            lin(s, &k->attn.v, C, C, true, pre, v5 ? "attention.v_proj" : "attention.self.value");
            lin(s, &k->attn.o, C, C, true, pre, v5 ? "attention.o_proj" : "attention.output.dense");
            SPEC2(s, &k->rel_bias, table, c->swin_heads[st], "%s%s", pre,
                  v5 ? "attention.relative_position_bias.relative_position_bias_table" : "attention.self.relative_position_bias_table");
            lin(s, &k->fc1, M, C, true, pre, v5 ? "mlp.fc1" : "intermediate.dense");
            lin(s, &k->fc2, C, M, true, pre, v5 ? "mlp.fc2" : "output.dense");
        }
        if (st + 1 < c->n_stages) {   // patch merging to the next stage
            snprintf(pre, sizeof pre, "%sencoder.layers.%d.downsample.", root, st);
            lin(s, &w->reduction[st], 2 * C, 4 * C, false, pre, "reduction");
            norm(s, &w->merge_norm[st], 4 * C, pre, "norm");
        }
    }
    for (int i = 0; i < c->n_outs; i++) {
        snprintf(pre, sizeof pre, BACKBONE "hidden_states_norms.stage%d", c->out_stage[i]);
        norm(s, &w->out_norm[i], gdino_stage_dim(c, c->out_stage[i] - 1), pre, "");
    }
}

static void bert(const GdinoConfig *c, GdBert *w, WeightSpecs *s) {
    const char *e = "model.text_backbone.embeddings.";
    int C = c->text_hidden;
    SPEC2(s, &w->word, c->text_vocab, C, "%sword_embeddings.weight", e);
    SPEC2(s, &w->position, c->text_max_pos, C, "%sposition_embeddings.weight", e);
    SPEC2(s, &w->token_type, c->text_type_vocab, C, "%stoken_type_embeddings.weight", e);
    norm(s, &w->emb_ln, C, e, "LayerNorm");
    char pre[128];
    for (int l = 0; l < c->text_layers; l++) {
        GdBertLayer *k = &w->layers[l];
        snprintf(pre, sizeof pre, "model.text_backbone.encoder.layer.%d.", l);
        lin(s, &k->attn.q, C, C, true, pre, "attention.self.query");
        lin(s, &k->attn.k, C, C, true, pre, "attention.self.key");
        lin(s, &k->attn.v, C, C, true, pre, "attention.self.value");
        lin(s, &k->attn.o, C, C, true, pre, "attention.output.dense");
        norm(s, &k->attn_ln, C, pre, "attention.output.LayerNorm");
        lin(s, &k->fc1, c->text_ffn, C, true, pre, "intermediate.dense");
        lin(s, &k->fc2, C, c->text_ffn, true, pre, "output.dense");
        norm(s, &k->out_ln, C, pre, "output.LayerNorm");
    }
}

static void encoder_layer(const GdinoConfig *c, GdEncoderLayer *k, int l, WeightSpecs *s) {
    int d = c->d_model, half = c->enc_ffn / 2;
    char pre[128];
    snprintf(pre, sizeof pre, "model.encoder.layers.%d.text_enhancer_layer.", l);
    char sub[160];
    snprintf(sub, sizeof sub, "%sself_attn.", pre);
    attn(s, &k->text_attn, d, sub);
    lin(s, &k->text_fc1, half, d, true, pre, "fc1");
    lin(s, &k->text_fc2, d, half, true, pre, "fc2");
    norm(s, &k->text_ln_before, d, pre, "layer_norm_before");
    norm(s, &k->text_ln_after, d, pre, "layer_norm_after");

    snprintf(pre, sizeof pre, "model.encoder.layers.%d.fusion_layer.", l);
    SPEC1(s, &k->vision_param, d, "%svision_param", pre);
    SPEC1(s, &k->text_param, d, "%stext_param", pre);
    norm(s, &k->fuse_ln_vision, d, pre, "layer_norm_vision");
    norm(s, &k->fuse_ln_text, d, pre, "layer_norm_text");
    lin(s, &k->vision_proj, half, d, true, pre, "attn.vision_proj");
    lin(s, &k->text_proj, half, d, true, pre, "attn.text_proj");
    lin(s, &k->values_vision_proj, half, d, true, pre, "attn.values_vision_proj");
    lin(s, &k->values_text_proj, half, d, true, pre, "attn.values_text_proj");
    lin(s, &k->out_vision_proj, d, half, true, pre, "attn.out_vision_proj");
    lin(s, &k->out_text_proj, d, half, true, pre, "attn.out_text_proj");

    snprintf(pre, sizeof pre, "model.encoder.layers.%d.deformable_layer.", l);
    snprintf(sub, sizeof sub, "%sself_attn.", pre);
    deform(s, &k->deform, d, c->enc_heads, c->levels, c->enc_points, sub);
    norm(s, &k->deform_ln, d, pre, "self_attn_layer_norm");
    ffn(s, &k->fc1, &k->fc2, &k->final_ln, d, c->enc_ffn, pre);
}

static void decoder_layer(const GdinoConfig *c, GdDecoderLayer *k, int l, WeightSpecs *s) {
    int d = c->d_model;
    char pre[128], sub[160];
    snprintf(pre, sizeof pre, "model.decoder.layers.%d.", l);
    snprintf(sub, sizeof sub, "%sself_attn.", pre);
    attn(s, &k->self_attn, d, sub);
    norm(s, &k->self_ln, d, pre, "self_attn_layer_norm");
    snprintf(sub, sizeof sub, "%sencoder_attn_text.", pre);
    attn(s, &k->text_attn, d, sub);
    norm(s, &k->text_ln, d, pre, "encoder_attn_text_layer_norm");
    snprintf(sub, sizeof sub, "%sencoder_attn.", pre);
    deform(s, &k->cross, d, c->dec_heads, c->levels, c->dec_points, sub);
    norm(s, &k->cross_ln, d, pre, "encoder_attn_layer_norm");
    ffn(s, &k->fc1, &k->fc2, &k->final_ln, d, c->dec_ffn, pre);
}

void gdino_weight_specs(const GdinoConfig *c, GdinoSpelling sp, GdinoWeights *w, WeightSpecs *s) {
    int d = c->d_model;
    swin(c, sp, &w->swin, s);
    bert(c, &w->bert, s);
    lin(s, &w->text_projection, d, c->text_hidden, true, "model.", "text_projection");
    char name[64];
    for (int l = 0; l < c->levels; l++) {   // backbone outputs: 1×1 conv; the extra levels: 3×3 stride 2
        bool extra = l >= c->n_outs;
        int in = !extra ? gdino_stage_dim(c, c->out_stage[l] - 1) : l == c->n_outs ? gdino_stage_dim(c, c->out_stage[c->n_outs - 1] - 1) : d;
        snprintf(name, sizeof name, "input_proj_vision.%d.0", l);
        conv(s, &w->input_proj[l], d, in, extra ? 3 : 1, "model.", name);
        snprintf(name, sizeof name, "input_proj_vision.%d.1", l);
        norm(s, &w->input_norm[l], d, "model.", name);
    }
    SPEC2(s, &w->level_embed, c->levels, d, "model.level_embed");
    SPEC2(s, &w->query_embed, c->num_queries, d, "model.query_position_embeddings.weight");
    for (int l = 0; l < c->enc_layers; l++) encoder_layer(c, &w->enc[l], l, s);
    for (int l = 0; l < c->dec_layers; l++) decoder_layer(c, &w->dec[l], l, s);
    norm(s, &w->dec_ln, d, "model.decoder.", "layer_norm");
    mlp(s, &w->ref_head, 2, c->query_dim / 2 * d, d, d, "model.decoder.reference_points_head.");
    // bbox_embed.N is the head of decoder layer N; model.decoder.bbox_embed is tied to it
    w->n_bbox_embed = c->decoder_bbox_embed_share ? 1 : c->dec_layers;
    LPOI_ASSERT(w->n_bbox_embed <= (int)LPOI_ARRAY_LEN(w->bbox_embed));
    for (int i = 0; i < w->n_bbox_embed; i++) {
        snprintf(name, sizeof name, "bbox_embed.%d.", i);
        mlp(s, &w->bbox_embed[i], 3, d, d, 4, name);
    }
    lin(s, &w->enc_output, d, d, true, "model.", "enc_output");
    norm(s, &w->enc_output_norm, d, "model.", "enc_output_norm");
    if (!c->two_stage_bbox_embed_share)   // else tied to bbox_embed.0 (gdino_enc_bbox_head)
        mlp(s, &w->enc_bbox_embed, 3, d, d, 4, "model.encoder_output_bbox_embed.");
}

GdinoSpelling gdino_detect_spelling(const WeightSource *src) {
    return ws_has(src, BACKBONE "swin.", "embeddings.patch_embeddings.projection.weight") ? GDINO_SWIN_V5 : GDINO_SWIN_SAVED;
}

// ---- opening a checkpoint -------------------------------------------------------------------------

static bool plan(void *m, const void *cfg, const WeightSource *src, WeightPlan *p, char *msg, size_t cap) {
    GdinoCheckpoint *ck = m;
    const GdinoConfig *c = cfg;
    memset(p, 0, sizeof *p);
    gdino_weight_specs(c, gdino_detect_spelling(src), &ck->w, &p->specs);
    return model_plan_or_text(p, src, &GDINO_WEIGHT_RULES, "Grounding DINO tensors", "", msg, cap);
}

static bool bind(void *m, Backend *be, WeightPlan *p, LpoiErr *err) {
    GdinoCheckpoint *ck = m;
    ck->mem = weights_upload(be, p, &ck->floats, err);
    weights_plan_free(p);
    return ck->mem != NULL;
}

static bool load(void *m, Backend *be, const void *cfg, const WeightSource *src, LpoiErr *err) {
    return model_load(plan, bind, m, be, cfg, src, err);
}

bool gdino_checkpoint_open(GdinoCheckpoint *ck, Backend *be, const char *dir, LpoiErr *err) {
    memset(ck, 0, sizeof *ck);
    if (!gdino_config_load(&ck->cfg, dir, err)) return false;
    ck->be = be;
    gdino_weights_init(&ck->w, &ck->cfg);
    if (model_open_dir(load, ck, be, &ck->cfg, dir, err)) return true;
    gdino_checkpoint_free(ck);
    return false;
}

void gdino_checkpoint_free(GdinoCheckpoint *ck) {
    if (ck->be && ck->mem) ck->be->free(ck->be, ck->mem);
    gdino_weights_free(&ck->w);
    memset(ck, 0, sizeof *ck);
}
