// golden_vision.c — the model.clip and model.llava runners: a tiny HF CLIPVisionModel /
// LlavaForConditionalGeneration with a PEFT adapter, replayed through src/models/clip.c and llava.c.
// Contract with tools/golden_llava.py (see its docstring for how each tensor is made):
//   config    the HF config.json + "lora": {r, lora_alpha, target_modules} (+ for model.clip
//             "golden": {feature_layer})
//   param.*   base weights by HF name (bound by clip_load / llava_load from the case file, prefix "param.")
//   lora.*    the adapter by PEFT name (prefix "lora.")
//   model.clip   in.pixel_values [n,ch,S,S], in.dout [n,T,C]; out.hidden_states.K [n,T,C] (K = 0..L),
//                out.pooler_output [n,C]; grad.<PEFT name>, grad.pixel_values of L = Σ dout·hidden_states[f]
//   model.llava  in.input_ids, in.attention_mask, in.labels [B,T], in.pixel_values [n,ch,S,S], in.dlogp [B];
//                out.logits [B,T,V], out.logps [B], out.logps_ref [B], out.image_features [K,C];
//                grad.<PEFT name> (transformers-5 module paths), grad.pixel_values of L = Σ dlogp·logps
// Each backward case runs twice, first keeping every layer's activations, then with per-layer
// recomputation: LoRA gradients accumulate (compared doubled), d pixel_values is overwritten.
#include "check/golden_vision.h"
#include "models/clip.h"
#include "models/llava.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHAPE GR_SHAPE

// The adapter of a case: the config member "lora", its targets split by model part (PEFT list semantics).
typedef struct { GrLora spec; LlavaLoraTargets t; } Adapter;

static bool adapter_config(GoldenRun *r, Adapter *a) {
    if (!gr_lora_config(r, &a->spec)) return false;
    LpoiErr err = {{0}};
    if (!llava_lora_parse_targets(a->spec.targets, NULL, &a->t, &err)) return gr_error(r, "config: %s", err.msg);
    return true;
}

// [n, ch, S, S] pixel_values: n from the file, the rest from the config.
static int image_count(GoldenRun *r, const ClipConfig *c) {
    const StTensor *t = st_find(&gr_case(r)->st, "in.pixel_values");
    if (!t || t->ndim != 4 || t->shape[0] < 1 || t->shape[0] > 64 || t->shape[1] != (uint64_t)c->ch ||
        t->shape[2] != (uint64_t)c->S || t->shape[3] != (uint64_t)c->S) {
        gr_error(r, "in.pixel_values must be [n<=64, %d, %d, %d]", c->ch, c->S, c->S);
        return 0;
    }
    return (int)t->shape[0];
}

// ---- model.clip ----------------------------------------------------------------------------------
void golden_run_model_clip(GoldenRun *r) {   // the harness checked GOLDEN_CLIP_OPS
    const GoldenCase *gc = gr_case(r);
    ClipConfig cfg;
    LpoiErr err = {{0}};
    if (!clip_config_parse(&cfg, gc->config, "config", &err)) { gr_error(r, "%s", err.msg); return; }
    const JsonValue *gold = json_get(gc->config, "golden");
    int64_t fl;
    if (!gold || !json_get_i64(gold, "feature_layer", &fl) || clip_feature_index(&cfg, (int)fl) < 0) {
        gr_error(r, "config: \"golden\": {\"feature_layer\": f} with f a hidden_states index is required");
        return;
    }
    const int k = clip_feature_index(&cfg, (int)fl);
    Adapter lora;
    if (!adapter_config(r, &lora)) return;
    ClipModel m;
    WeightSource wsrc = {.file = &gc->st, .prefix = "param.", .what = gc->path};
    if (!clip_load(&m, gr_backend(r), &cfg, &wsrc, &err)) { gr_error(r, "%s", err.msg); return; }
    if (lora.t.vision) {
        clip_lora_create(&m, lora.spec.rank, lora.spec.alpha, lora.t.vision);
        static const char *const modules[] = {"", "vision_model.", NULL};
        WeightSource lsrc = {.file = &gc->st, .prefix = "lora.", .what = gc->path};
        if (!clip_lora_load(&m, &lsrc, modules, &err)) { gr_error(r, "%s", err.msg); clip_free(&m); return; }
    }
    gr_consume_weights(r);
    const int n = image_count(r, &cfg), T = cfg.T, C = cfg.C;
    const float *pix = gr_in(r, "in.pixel_values", SHAPE(n, cfg.ch, cfg.S, cfg.S));
    const float *dout = gr_in(r, "in.dout", SHAPE(n, T, C));
    float *pooled = gr_out(r, "out.pooler_output", (size_t)n * C);
    float *dpix = gr_out(r, "grad.pixel_values", (size_t)n * cfg.ch * cfg.S * cfg.S);
    if (gr_ready(r)) {
        m.lora_on = true;
        if (!clip_forward(&m, pix, n, cfg.n_layer, false, &err)) gr_error(r, "%s", err.msg);
        for (int j = 0; j <= cfg.n_layer && gr_ready(r); j++) {
            char name[64];
            snprintf(name, sizeof name, "out.hidden_states.%d", j);
            gr_expect_dev(r, clip_hidden(&m, j), name, SHAPE(n, T, C), 1);
        }
        if (gr_ready(r)) {
            clip_pooled(&m, pooled);
            gr_expect(r, pooled, "out.pooler_output", SHAPE(n, C), 1, NULL);
        }
    }
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        m.recompute = pass == 2;
        if (!clip_forward(&m, pix, n, k, true, &err)) { gr_error(r, "%s", err.msg); break; }
        clip_backward(&m, dout, dpix);
        gr_expect(r, dpix, "grad.pixel_values", SHAPE(n, cfg.ch, cfg.S, cfg.S), 1,
                  pass == 2 ? "(recompute: must overwrite)" : NULL);
        for (size_t i = 0; i < clip_lora_count(&m) && gr_ready(r); i++) {
            char name[256];
            int64_t shape[2];
            float *grad;
            clip_lora_tensor(&m, i, "", name, sizeof name, shape, NULL, &grad);
            gr_expect_lora_grad(r, name, grad, shape, pass);
        }
    }
    clip_free(&m);
}

// ---- model.llava ---------------------------------------------------------------------------------
void golden_run_model_llava(GoldenRun *r) {   // the harness checked GOLDEN_LLAVA_OPS
    const GoldenCase *gc = gr_case(r);
    LlavaConfig cfg;
    LpoiErr err = {{0}};
    if (!llava_config_parse(&cfg, gc->config, "config", &err)) { gr_error(r, "%s", err.msg); return; }
    Adapter lora;
    if (!adapter_config(r, &lora)) return;
    LlavaModel m;
    WeightSource wsrc = {.file = &gc->st, .prefix = "param.", .what = gc->path};
    if (!llava_load(&m, gr_backend(r), &cfg, &wsrc, &err)) { gr_error(r, "%s", err.msg); return; }
    llava_lora_create(&m, lora.spec.rank, lora.spec.alpha, &lora.t);
    WeightSource lsrc = {.file = &gc->st, .prefix = "lora.", .what = gc->path};
    if (!llava_lora_load(&m, &lsrc, &err)) { gr_error(r, "%s", err.msg); llava_free(&m); return; }
    gr_consume_weights(r);

    GrTextBatch tb;
    if (!gr_text_batch(r, cfg.text.V, true, &tb)) { llava_free(&m); return; }
    const int B = tb.B, T = tb.T, V = cfg.text.V, C = cfg.text.C;
    float *logp = tb.logp;
    const ClipConfig *vc = &cfg.vision;
    const int n = image_count(r, vc), K = n * cfg.tokens_per_image;
    const float *pix = gr_in(r, "in.pixel_values", SHAPE(n, vc->ch, vc->S, vc->S));
    float *dlogp = gr_in_host(r, "in.dlogp", SHAPE(B));
    float *logits = gr_out(r, "out.logits", (size_t)B * T * V);
    float *dpix = gr_out(r, "grad.pixel_values", (size_t)n * vc->ch * vc->S * vc->S);
    LlavaBatch batch = {.B = B, .T = T, .input_ids = tb.ids, .attention_mask = tb.mask, .labels = tb.labels,
                        .n_images = n, .pixel_values = pix, .grad_pixels = true};
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        m.vision.recompute = m.lm.recompute = pass == 2;
        llava_set_lora(&m, true);
        if (!llava_logps_forward(&m, &batch, true, logp, &err)) { gr_error(r, "%s", err.msg); break; }
        gr_expect_host(r, logp, "out.logps", SHAPE(B));
        if (pass == 1) gr_expect_dev(r, llava_image_features(&m), "out.image_features", SHAPE(K, C), 1);
        llava_logps_backward(&m, dlogp, dpix);
        gr_expect(r, dpix, "grad.pixel_values", SHAPE(n, vc->ch, vc->S, vc->S), 1,
                  pass == 2 ? "(recompute: must overwrite)" : NULL);
        for (size_t i = 0; i < llava_lora_count(&m) && gr_ready(r); i++) {
            char name[256];
            int64_t shape[2];
            float *grad;
            llava_lora_tensor(&m, i, name, sizeof name, shape, NULL, &grad);
            gr_expect_lora_grad(r, name, grad, shape, pass);
        }
    }
    if (gr_ready(r)) {
        llava_set_lora(&m, true);
        if (!llava_logits(&m, &batch, logits, &err)) gr_error(r, "%s", err.msg);
        else gr_expect(r, logits, "out.logits", SHAPE(B, T, V), 1, NULL);
    }
    if (gr_ready(r)) {
        llava_set_lora(&m, false);   // the reference model
        if (!llava_logps_forward(&m, &batch, false, logp, &err)) gr_error(r, "%s", err.msg);
        else gr_expect_host(r, logp, "out.logps_ref", SHAPE(B));
    }
    free(dlogp);
    gr_text_batch_free(&tb);
    llava_free(&m);
}
