// golden_idefics2.c — runners for the Idefics2 golden cases (tools/golden_idefics2.py).
// Contract (config fields; tensors):
//   image.idefics2  {processor (a preprocessor_config.json object), samples B,
//                    images: [{sample, width, height, channels, image?}, ...] in sample order}
//                   in.image.<i> U8 [height, width, channels] (channels 1 L, 2 LA, 3 RGB, 4 RGBA;
//                   absent when `image` names a PNG, relative to the case file, decoded to RGB)
//                   -> out.pixel_values F32 [B, N, 3, H, W], out.pixel_attention_mask I64 [B, N, H, W]
//                      (optional: HF gives none without do_pad; lpoi's is then all ones)
//                   or out.sizes I64 [n, 2] (H, W of every processed image, in order) and
//                      out.resized.<j> U8 [h, w, 3] (processed image j before the rescale; optional)
//   model.siglip    the Idefics2VisionConfig + "lora": {r, lora_alpha, target_modules}
//                   param.<HF name>, lora.<PEFT name> (base_model.model.encoder.layers.N.*)
//                   in.pixel_values [n,3,H,W], in.patch_attention_mask [n,H/p,W/p] (0/1), in.dout [n,P,C]
//                   -> out.last_hidden_state [n,P,C], grad.<PEFT name>, grad.pixel_values of
//                      L = Σ dout·last_hidden_state; the backward runs twice (kept activations, then
//                      per-layer recomputation: LoRA gradients accumulate, d pixel_values is overwritten)
//   model.idefics2_connector  the Idefics2Config + "lora" (a PEFT regex over the connector's Linears)
//                   param.connector.<HF name>, lora.<PEFT name> (base_model.model.connector.*)
//                   in.image_hidden_states [n,P,Cv], in.patch_attention_mask [n,P] (0/1), in.dout [n,M,C]
//                   -> out.image_features [n,M,C], grad.<PEFT name>, grad.image_hidden_states of
//                      L = Σ dout·image_features (the backward runs twice: LoRA gradients accumulate)
//   model.idefics2  the Idefics2Config + "lora"; param.<HF name>, lora.<PEFT name>;
//                   in.input_ids, in.attention_mask, in.labels [B,T], in.pixel_values [B,N,3,H,W],
//                   in.pixel_attention_mask [B,N,H,W] (0/1), in.dlogp [B]
//                   -> out.logits [B,T,V], out.logps [B], out.logps_ref [B] (adapters off),
//                      out.image_features [K,C], grad.<PEFT name> of L = Σ dlogp·logps (twice: the second
//                      pass with per-layer recomputation, LoRA gradients accumulate), out.generated
//                      [golden.max_new_tokens] greedy ids (adapters on) from sample 0's prompt (its ids
//                      before the first scored label) and its images
// Image work is host code: inputs go through gr_in_int_host (range-checked, consumed), the result
// is compared on the host.
#include "check/golden_idefics2.h"
#include "image/idefics2_preprocess.h"
#include "image/preprocess.h"
#include "models/siglip.h"
#include "models/idefics2.h"
#include "base/check.h"
#include <string.h>

#define SHAPE GR_SHAPE
#define MAX_IMAGES 64

// Image i of the case as RGB (converted as transformers' convert_to_rgb does), or false after an error.
static bool load_image(GoldenRun *r, const JsonValue *entry, int i, int w, int h, int channels, Image *out) {
    *out = (Image){0};
    const char *rel = json_get_str(entry, "image");
    LpoiErr err = {{0}};
    if (rel) {
        const char *path = gr_case(r)->path, *slash = strrchr(path, '/');
        char full[4096];
        if (channels != 3) return gr_error(r, "config.images[%d]: an image file is decoded to RGB; channels must be 3", i);
        if ((size_t)snprintf(full, sizeof full, "%.*s%s", slash ? (int)(slash - path + 1) : 0, path, rel) >= sizeof full)
            return gr_error(r, "config.images[%d]: image path too long", i);
        if (!image_decode_file(out, full, NULL, &err)) return gr_error(r, "%s", err.msg);
        if (out->w != w || out->h != h) {
            image_free(out);
            return gr_error(r, "%s is not %dx%d as the case says", full, w, h);
        }
        return true;
    }
    char name[32];
    snprintf(name, sizeof name, "in.image.%d", i);
    int32_t *tmp = gr_in_int_host(r, name, SHAPE(h, w, channels), 0, 255);
    if (!tmp) return false;
    size_t n = (size_t)w * (size_t)h * (size_t)channels;
    uint8_t *px = malloc_check(n);
    for (size_t k = 0; k < n; k++) px[k] = (uint8_t)tmp[k];
    free(tmp);
    bool ok = preprocess_to_rgb(out, px, w, h, channels, &err);
    free(px);
    return ok || gr_error(r, "%s: %s", name, err.msg);
}

static void expect_u8(GoldenRun *r, const Image *img, const char *name) {
    size_t n = (size_t)img->w * (size_t)img->h * 3;
    float *f = malloc_check(n * sizeof *f + sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = img->data[i];
    gr_expect_host(r, f, name, SHAPE(img->h, img->w, 3));
    free(f);
}

// out.sizes and out.resized.<j>: the processed uint8 images one by one.
static void expect_steps(GoldenRun *r, const Idefics2ImageConfig *cfg, Image *const *rows, const int *counts, int B) {
    Image parts[MAX_IMAGES * IDEFICS2_SPLIT_COUNT];
    float sizes[2 * MAX_IMAGES * IDEFICS2_SPLIT_COUNT + 1];
    int n = 0;
    LpoiErr err = {{0}};
    for (int b = 0; b < B; b++)
        for (int i = 0; i < counts[b]; i++) {
            int k;
            if (!idefics2_image_u8(cfg, &rows[b][i], &parts[n], &k, &err)) { gr_error(r, "%s", err.msg); goto done; }
            n += k;
        }
    for (int j = 0; j < n; j++) {
        sizes[2 * j] = (float)parts[j].h;
        sizes[2 * j + 1] = (float)parts[j].w;
        char name[32];
        snprintf(name, sizeof name, "out.resized.%d", j);
        if (gr_has(r, name)) expect_u8(r, &parts[j], name);
    }
    gr_expect_host(r, sizes, "out.sizes", SHAPE(n, 2));
done:
    for (int j = 0; j < n; j++) image_free(&parts[j]);
}

void golden_run_image_idefics2(GoldenRun *r) {
    const JsonValue *cfgv = gr_case(r)->config, *proc = json_get(cfgv, "processor"), *list = json_get(cfgv, "images");
    int B = gr_cfg_int(r, "samples", 1, MAX_IMAGES);
    if (!gr_ready(r)) return;
    if (!list || list->type != JSON_ARRAY || list->count > MAX_IMAGES) { gr_error(r, "config.images: expected a list of at most %d", MAX_IMAGES); return; }
    Idefics2ImageConfig cfg;
    LpoiErr err = {{0}};
    if (!idefics2_image_config_from_json(&cfg, proc, "config.processor", &err)) { gr_error(r, "%s", err.msg); return; }
    Image imgs[MAX_IMAGES] = {{0}};
    Image *rows[MAX_IMAGES] = {0};
    int counts[MAX_IMAGES] = {0};
    int n = (int)list->count, last = 0;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        const JsonValue *e = list->items[i];
        int64_t s, w, h, c;
        if (!json_get_i64(e, "sample", &s) || !json_get_i64(e, "width", &w) || !json_get_i64(e, "height", &h) ||
            !json_get_i64(e, "channels", &c) || s < last || s >= B || w < 1 || h < 1 || w > 4096 || h > 4096 || c < 1 || c > 4) {
            ok = gr_error(r, "config.images[%d]: needs sample (ascending, < samples), width, height (1..4096), channels (1..4)", i);
            break;
        }
        last = (int)s;
        if (!rows[s]) rows[s] = &imgs[i];
        counts[s]++;
        ok = load_image(r, e, i, (int)w, (int)h, (int)c, &imgs[i]);
    }
    if (ok && gr_has(r, "out.sizes")) {
        expect_steps(r, &cfg, rows, counts, B);
    } else if (ok) {
        Idefics2Pixels px;
        if (!idefics2_preprocess(&cfg, (const Image *const *)rows, counts, B, &px, &err)) {
            gr_error(r, "%s", err.msg);
        } else {
            gr_expect_host(r, px.pixel_values, "out.pixel_values", SHAPE(B, px.n_images, 3, px.h, px.w));
            size_t nm = (size_t)B * (size_t)px.n_images * (size_t)px.h * (size_t)px.w;
            float *mask = malloc_check(nm * sizeof *mask + sizeof *mask);
            for (size_t k = 0; k < nm; k++) mask[k] = px.pixel_attention_mask[k];
            if (gr_has(r, "out.pixel_attention_mask"))
                gr_expect_host(r, mask, "out.pixel_attention_mask", SHAPE(B, px.n_images, px.h, px.w));
            free(mask);
            idefics2_pixels_free(&px);
        }
    }
    for (int i = 0; i < n; i++) image_free(&imgs[i]);
}

// ---- model.siglip ----------------------------------------------------------------------------------
void golden_run_model_siglip(GoldenRun *r) {   // the harness checked GOLDEN_SIGLIP_OPS
    const GoldenCase *gc = gr_case(r);
    SiglipConfig cfg;
    LpoiErr err = {{0}};
    if (!siglip_config_parse(&cfg, gc->config, "config", &err)) { gr_error(r, "%s", err.msg); return; }
    GrLora spec;
    if (!gr_lora_config(r, &spec)) return;
    static const LoraModules *const PARTS[1] = {&CLIP_LORA_MODULES};
    static const char *const QUALS[1] = {"vision_model."}, *const NAMES[1] = {"vision_model."};
    const LoraTargetSpace ts = {.model = "SigLIP", .parts = PARTS, .quals = QUALS, .prefixes = NAMES,
                                .n_layers = &cfg.n_layer, .nparts = 1};
    unsigned targets;
    if (!lora_parse_targets(spec.targets, &ts, &targets, &err)) { gr_error(r, "config: %s", err.msg); return; }
    const StTensor *pt = st_find(&gc->st, "in.pixel_values");
    if (!pt || pt->ndim != 4 || pt->shape[0] < 1 || pt->shape[0] > 64 || pt->shape[1] != (uint64_t)cfg.ch ||
        pt->shape[2] < (uint64_t)cfg.p || pt->shape[3] < (uint64_t)cfg.p || pt->shape[2] > 4096 || pt->shape[3] > 4096) {
        gr_error(r, "in.pixel_values must be [n<=64, %d, H, W] with %d <= H, W <= 4096", cfg.ch, cfg.p);
        return;
    }
    const int n = (int)pt->shape[0], H = (int)pt->shape[2], W = (int)pt->shape[3], Gh = H / cfg.p, Gw = W / cfg.p;
    const int P = Gh * Gw, C = cfg.C;
    SiglipModel m;
    WeightPlan plan;
    char msg[480];
    WeightSource wsrc = {.file = &gc->st, .prefix = "param.", .what = gc->path};
    if (!siglip_plan(&m, &cfg, "", &wsrc, &plan, msg, sizeof msg)) { gr_error(r, "%s", msg); return; }
    if (!siglip_bind(&m, gr_backend(r), &plan, &err)) { gr_error(r, "%s", err.msg); return; }
    siglip_lora_create(&m, spec.rank, spec.alpha, targets);
    WeightSource lsrc = {.file = &gc->st, .prefix = "lora.", .what = gc->path};
    if (!siglip_lora_load(&m, &lsrc, "", &err)) { gr_error(r, "%s", err.msg); siglip_free(&m); return; }
    gr_consume_weights(r);
    const float *pix = gr_in(r, "in.pixel_values", SHAPE(n, cfg.ch, H, W));
    const float *dout = gr_in(r, "in.dout", SHAPE(n, P, C));
    int32_t *mask32 = gr_in_int_host(r, "in.patch_attention_mask", SHAPE(n, Gh, Gw), 0, 1);
    float *dpix = gr_out(r, "grad.pixel_values", (size_t)n * cfg.ch * H * W);
    uint8_t *mask = malloc_check((size_t)n * P);
    for (int k = 0; mask32 && k < n * P; k++) mask[k] = (uint8_t)mask32[k];
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        m.recompute = pass == 2;
        if (!siglip_forward(&m, pix, n, H, W, mask, true, &err)) { gr_error(r, "%s", err.msg); break; }
        if (pass == 1) gr_expect_dev(r, siglip_output(&m), "out.last_hidden_state", SHAPE(n, P, C), 1);
        siglip_backward(&m, dout, dpix);
        gr_expect(r, dpix, "grad.pixel_values", SHAPE(n, cfg.ch, H, W), 1, pass == 2 ? "(recompute: must overwrite)" : NULL);
        for (size_t i = 0; i < lora_count(&m.lora) && gr_ready(r); i++) {
            char name[256];
            int64_t shape[2];
            float *grad;
            lora_tensor(&m.lora, i, "", name, sizeof name, shape, NULL, &grad);
            gr_expect_lora_grad(r, name, grad, shape, pass);
        }
    }
    free(mask);
    free(mask32);
    siglip_free(&m);
}

// ---- model.idefics2_connector -----------------------------------------------------------------------
void golden_run_model_idefics2_connector(GoldenRun *r) {   // the harness checked GOLDEN_CONNECTOR_OPS
    const GoldenCase *gc = gr_case(r);
    Idefics2Config cfg;
    LpoiErr err = {{0}};
    if (!idefics2_config_parse(&cfg, gc->config, "config", &err)) { gr_error(r, "%s", err.msg); return; }
    GrLora spec;
    if (!gr_lora_config(r, &spec)) return;
    static const LoraModules *const PARTS[2] = {&MODALITY_LORA_MODULES, &PERCEIVER_LORA_MODULES};
    static const char *const QUALS[2] = {"modality_projection.", "perceiver_resampler."};
    static const char *const NAMES[2] = {"connector.modality_projection.", "connector.perceiver_resampler."};
    const int n_layer[2] = {1, cfg.perceiver.n_layer};
    const LoraTargetSpace ts = {.model = "Idefics2 connector", .parts = PARTS, .quals = QUALS, .prefixes = NAMES,
                                .n_layers = n_layer, .nparts = 2};
    unsigned bits[2];
    if (!lora_parse_targets(spec.targets, &ts, bits, &err)) {
        gr_error(r, "config: %s", err.msg);
        return;
    }
    const StTensor *ft = st_find(&gc->st, "in.image_hidden_states");
    if (!ft || ft->ndim != 3 || ft->shape[0] < 1 || ft->shape[0] > 64 || ft->shape[1] < 1 || ft->shape[1] > 4096 ||
        ft->shape[2] != (uint64_t)cfg.vision.C) {
        gr_error(r, "in.image_hidden_states must be [n<=64, P<=4096, %d]", cfg.vision.C);
        return;
    }
    const int n = (int)ft->shape[0], P = (int)ft->shape[1], M = cfg.perceiver.M, C = cfg.text.C;
    Idefics2Connector c;
    WeightPlan plan;
    char msg[480];
    WeightSource wsrc = {.file = &gc->st, .prefix = "param.", .what = gc->path};
    if (!idefics2_connector_plan(&c, &cfg, "connector.", &wsrc, &plan, msg, sizeof msg)) { gr_error(r, "%s", msg); return; }
    if (!idefics2_connector_bind(&c, gr_backend(r), &plan, &err)) { gr_error(r, "%s", err.msg); return; }
    idefics2_connector_lora_create(&c, spec.rank, spec.alpha, bits[0], bits[1]);
    WeightSource lsrc = {.file = &gc->st, .prefix = "lora.", .what = gc->path};
    WeightPlan lp[2];
    bool ok = true;
    LoraSet *sets[2] = {&c.mproj_lora, &c.lora};
    for (int k = 0; k < 2; k++) {
        if (!sets[k]->r) continue;
        lora_plan(sets[k], &lsrc, NAMES[k], NULL, &lp[k]);
        ok = ok && lora_load_planned(sets[k], &lp[k], &lsrc, "the connector's LoRA adapter", &err);
    }
    if (!ok) { gr_error(r, "%s", err.msg); idefics2_connector_free(&c); return; }
    gr_consume_weights(r);
    const float *feat = gr_in(r, "in.image_hidden_states", SHAPE(n, P, cfg.vision.C));
    const float *dout = gr_in(r, "in.dout", SHAPE(n, M, C));
    int32_t *mask32 = gr_in_int_host(r, "in.patch_attention_mask", SHAPE(n, P), 0, 1);
    float *out = gr_out(r, "out.image_features", (size_t)n * M * C);
    float *dfeat = gr_out(r, "grad.image_hidden_states", (size_t)n * P * cfg.vision.C);
    uint8_t *mask = malloc_check((size_t)n * P);
    for (int k = 0; mask32 && k < n * P; k++) mask[k] = (uint8_t)mask32[k];
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        if (!idefics2_connector_forward(&c, feat, mask, n, P, true, out, &err)) { gr_error(r, "%s", err.msg); break; }
        if (pass == 1) gr_expect(r, out, "out.image_features", SHAPE(n, M, C), 1, NULL);
        idefics2_connector_backward(&c, dout, dfeat);
        gr_expect(r, dfeat, "grad.image_hidden_states", SHAPE(n, P, cfg.vision.C), 1, pass == 2 ? "(must overwrite)" : NULL);
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i < lora_count(sets[k]) && gr_ready(r); i++) {
                char name[256];
                int64_t shape[2];
                float *grad;
                lora_tensor(sets[k], i, NAMES[k], name, sizeof name, shape, NULL, &grad);
                gr_expect_lora_grad(r, name, grad, shape, pass);
            }
    }
    free(mask);
    free(mask32);
    idefics2_connector_free(&c);
}

// ---- model.idefics2 ----------------------------------------------------------------------------------
void golden_run_model_idefics2(GoldenRun *r) {   // the harness checked GOLDEN_IDEFICS2_OPS
    const GoldenCase *gc = gr_case(r);
    Idefics2Config cfg;
    LpoiErr err = {{0}};
    if (!idefics2_config_parse(&cfg, gc->config, "config", &err)) { gr_error(r, "%s", err.msg); return; }
    GrLora spec;
    Idefics2LoraTargets targets;
    if (!gr_lora_config(r, &spec)) return;
    if (!idefics2_lora_parse_targets(spec.targets, &cfg, &targets, &err)) { gr_error(r, "config: %s", err.msg); return; }
    const StTensor *pt = st_find(&gc->st, "in.pixel_values");
    if (!pt || pt->ndim != 5 || pt->shape[1] < 1 || pt->shape[1] > 16 || pt->shape[2] != 3 || pt->shape[3] < 1 ||
        pt->shape[3] > 1024 || pt->shape[4] < 1 || pt->shape[4] > 1024) {
        gr_error(r, "in.pixel_values must be [B, N<=16, 3, H<=1024, W<=1024]");
        return;
    }
    Idefics2Model m;
    WeightSource wsrc = {.file = &gc->st, .prefix = "param.", .what = gc->path};
    if (!idefics2_load(&m, gr_backend(r), &cfg, &wsrc, &err)) { gr_error(r, "%s", err.msg); return; }
    idefics2_lora_create(&m, spec.rank, spec.alpha, &targets);
    WeightSource lsrc = {.file = &gc->st, .prefix = "lora.", .what = gc->path};
    if (!idefics2_lora_load(&m, &lsrc, &err)) { gr_error(r, "%s", err.msg); idefics2_free(&m); return; }
    gr_consume_weights(r);
    GrTextBatch tb;
    if (!gr_text_batch(r, cfg.text.V, true, &tb)) { idefics2_free(&m); return; }
    const int B = tb.B, T = tb.T, V = cfg.text.V, C = cfg.text.C;
    const int N = (int)pt->shape[1], H = (int)pt->shape[3], W = (int)pt->shape[4];
    if ((int)pt->shape[0] != B) gr_error(r, "in.pixel_values holds %d samples, the batch %d", (int)pt->shape[0], B);
    float *pix = gr_in_host(r, "in.pixel_values", SHAPE(B, N, 3, H, W));
    int32_t *mask32 = gr_in_int_host(r, "in.pixel_attention_mask", SHAPE(B, N, H, W), 0, 1);
    float *dlogp = gr_in_host(r, "in.dlogp", SHAPE(B));
    float *logits = gr_out(r, "out.logits", (size_t)B * T * V);
    size_t nm = (size_t)B * N * H * W;
    uint8_t *pmask = malloc_check(nm);
    for (size_t k = 0; mask32 && k < nm; k++) pmask[k] = (uint8_t)mask32[k];
    Idefics2Batch batch = {.B = B, .T = T, .input_ids = tb.ids, .attention_mask = tb.mask, .labels = tb.labels,
                           .N = N, .H = H, .W = W, .pixel_values = pix, .pixel_mask = pmask};
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        m.vision.recompute = m.lm.recompute = pass == 2;
        idefics2_set_lora(&m, true);
        if (!idefics2_logps_forward(&m, &batch, true, tb.logp, &err)) { gr_error(r, "%s", err.msg); break; }
        gr_expect_host(r, tb.logp, "out.logps", SHAPE(B));
        int rows;
        const float *feat = idefics2_image_features(&m, &rows);
        if (pass == 1) gr_expect_dev(r, feat, "out.image_features", SHAPE(rows, C), 1);
        idefics2_logps_backward(&m, dlogp);
        for (size_t i = 0; i < idefics2_lora_count(&m) && gr_ready(r); i++) {
            char name[256];
            int64_t shape[2];
            float *grad;
            idefics2_lora_tensor(&m, i, name, sizeof name, shape, NULL, &grad);
            gr_expect_lora_grad(r, name, grad, shape, pass);
        }
    }
    if (gr_ready(r)) {
        if (!idefics2_logits(&m, &batch, logits, &err)) gr_error(r, "%s", err.msg);
        else gr_expect(r, logits, "out.logits", SHAPE(B, T, V), 1, NULL);
    }
    if (gr_ready(r)) {
        idefics2_set_lora(&m, false);   // the reference model
        if (!idefics2_logps_forward(&m, &batch, false, tb.logp, &err)) gr_error(r, "%s", err.msg);
        else gr_expect_host(r, tb.logp, "out.logps_ref", SHAPE(B));
    }
    const JsonValue *gold = json_get(gc->config, "golden");
    int64_t max_new = 0;
    if (gr_ready(r) && (!json_get_i64(gold, "max_new_tokens", &max_new) || max_new < 1 || max_new > 256))
        gr_error(r, "config: \"golden\": {\"max_new_tokens\": 1..256} is required");
    if (gr_ready(r)) {   // greedy generation from sample 0's prompt
        int n_prompt = 0;
        while (n_prompt < T && tb.labels[n_prompt] == -100) n_prompt++;
        idefics2_set_lora(&m, true);
        Idefics2Batch one = batch;
        one.B = 1;
        int32_t out[256];
        float gen[257];
        LlamaGenOpts o = {.max_new = (int)max_new};
        int k = idefics2_generate(&m, tb.ids, n_prompt, &one, &o, out, &err);
        if (k < 0) gr_error(r, "%s", err.msg);
        for (int i = 0; i < k; i++) gen[i] = (float)out[i];
        if (k >= 0) gr_expect_host(r, gen, "out.generated", SHAPE(k));
    }
    free(pmask);
    free(mask32);
    free(pix);
    free(dlogp);
    gr_text_batch_free(&tb);
    idefics2_free(&m);
}
