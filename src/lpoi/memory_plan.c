// memory_plan.c — the memory estimate of a training run (memory_plan.h).
#include "lpoi/memory_plan.h"
#include "models/llava.h"
#include "backend/backend.h"
#include "base/check.h"
#include <stdlib.h>
#include <string.h>

// LoRA floats r·(in + out) of every targeted Linear (layers × kinds), per part.
static double lora_floats(const LlavaConfig *c, const LlavaLoraTargets *t, int r) {
    const LlamaConfig *x = &c->text;
    const ClipConfig *v = &c->vision;
    const double text_io[LLAMA_NPROJ][2] = {
        {x->C, (double)x->H * x->D}, {x->C, (double)x->KVH * x->D}, {x->C, (double)x->KVH * x->D},
        {(double)x->H * x->D, x->C}, {x->C, x->F}, {x->C, x->F}, {x->F, x->C}};
    const double vis_io[CLIP_NPROJ][2] = {{v->C, v->C}, {v->C, v->C}, {v->C, v->C}, {v->C, v->C}, {v->C, v->F}, {v->F, v->C}};
    const double proj_io[LLAVA_NPROJ][2] = {{v->C, x->C}, {x->C, x->C}};
    double n = 0;
    for (int k = 0; k < LLAMA_NPROJ; k++) if (t->text & (1u << k)) n += (double)x->n_layer * r * (text_io[k][0] + text_io[k][1]);
    for (int k = 0; k < CLIP_NPROJ; k++) if (t->vision & (1u << k)) n += (double)v->n_layer * r * (vis_io[k][0] + vis_io[k][1]);
    for (int k = 0; k < LLAVA_NPROJ; k++) if (t->projector & (1u << k)) n += (double)r * (proj_io[k][0] + proj_io[k][1]);
    return n;
}

bool memory_plan(const TrainOptions *o, MemPlan *p, LpoiErr *err) {
    memset(p, 0, sizeof *p);
    LlavaConfig c;
    if (!llava_config_load(&c, o->model_dir, err)) return false;
    LlavaLoraTargets t;
    if (!llava_lora_parse_targets(o->lora_targets, &c, &t, err)) return false;
    WeightSpecs specs = {0};
    llava_weight_specs(&c, &specs);
    Precision prec = PRECISION_FP32;
    if (o->precision) precision_parse(o->precision, &prec);   // checked by train_options_check
    p->weight_bits = prec == PRECISION_FP32 ? 32 : 16;
    for (size_t i = 0; i < specs.n; i++) {
        double n = 1;
        for (int d = 0; d < specs.v[i].ndim; d++) n *= (double)specs.v[i].shape[d];
        p->weights += (specs.v[i].is_linear ? p->weight_bits / 8 : 4) * n;
    }
    specs_free(&specs);
    double lora = lora_floats(&c, &t, o->lora_r);
    p->adapters = 2 * 4 * lora;    // parameters + gradients
    p->optimizer = 2 * 4 * lora;   // AdamW m and v
    // One micro-batch: every sequence of every example (chosen, rejected, the list or the crop), each
    // with its image, at the longest text the options allow plus the image tokens.
    int L = o->list_size, seqs = obj_uses_list(o->objective) ? L + 1 : obj_uses_crop(o->objective) ? 3 : 2;
    p->sequences = o->micro_batch * seqs;
    p->tokens = o->max_length + c.tokens_per_image;
    LlamaModel lm = {.cfg = c.text, .lora_on = true, .logits_chunk = 256};
    lm.lora.r = o->lora_r;
    lm.lora.targets = t.text;
    ClipModel vm = {.cfg = c.vision, .lora_on = true};
    vm.lora.r = o->lora_r;
    vm.lora.targets = t.vision;
    p->activations = (double)llama_step_bytes(&lm, p->sequences, p->tokens, p->sequences * o->max_length, true) +
                     (double)clip_step_bytes(&vm, p->sequences, c.feature_k, true) +
                     // the merge and the projector: a few [tokens, C] buffers per sequence
                     6.0 * 4 * p->sequences * p->tokens * c.text.C;
    p->total = p->weights + p->adapters + p->optimizer + p->activations;
    return true;
}

static void human(char *buf, size_t cap, double bytes) {
    if (bytes >= 1e9) snprintf(buf, cap, "%.1f GB", bytes / 1e9);
    else if (bytes >= 1e6) snprintf(buf, cap, "%.1f MB", bytes / 1e6);
    else snprintf(buf, cap, "%.0f kB", bytes / 1e3);
}

void memory_plan_text(const MemPlan *p, char *buf, size_t cap) {
    char w[32], a[32], o[32], x[32], t[32];
    human(w, sizeof w, p->weights);
    human(a, sizeof a, p->adapters);
    human(o, sizeof o, p->optimizer);
    human(x, sizeof x, p->activations);
    human(t, sizeof t, p->total);
    snprintf(buf, cap, "memory estimate: weights %s (%s), adapters %s (+ gradients), optimizer %s, activations %s "
             "per micro-batch (%d sequences x %d tokens); total %s", w,
             p->weight_bits == 16 ? "16-bit Linear weights" : "fp32", a, o, x, p->sequences, p->tokens, t);
}

bool memory_plan_fits(const MemPlan *p, double available, const char *where, char *why, size_t cap) {
    if (!(available > 0) || p->total <= available) return true;
    char need[32], have[32], w[32];
    human(need, sizeof need, p->total);
    human(have, sizeof have, available);
    human(w, sizeof w, p->weights);
    if (p->weights + p->adapters + p->optimizer > 0.9 * available)
        snprintf(why, cap, "the model's weights alone need %s (lpoi holds them in %s) and %s has %s available: no "
                 "batch setting helps; use %sa machine with more memory or a smaller model", w,
                 p->weight_bits == 16 ? "16-bit Linears" : "fp32", where, have,
                 p->weight_bits == 16 ? "" : "--precision bf16 or fp16 (half the bytes), ");
    else
        snprintf(why, cap, "the run needs about %s and %s has %s available; the activations of one micro-batch "
                 "dominate: lower --micro-batch (now %d sequences per forward) or --max-length", need, where, have,
                 p->sequences);
    return false;
}

double memory_available_host(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    double kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

bool train_memory_check(const TrainOptions *o, LpoiErr *err) {
    MemPlan p;
    LpoiErr e = {{0}};
    if (!memory_plan(o, &p, &e)) return true;   // the load that follows reports a bad config by name
    char text[400], why[400];
    memory_plan_text(&p, text, sizeof text);
    if (!o->quiet) fprintf(stderr, "lpoi train: %s\n", text);
    // The host's free memory bounds a CPU run; a GPU's is only known once the backend is open.
    // "auto" runs on the CPU exactly when no GPU backend opens (the same test backend_open makes).
    bool cpu = !o->device || !strcmp(o->device, "cpu");
    if (o->device && !strcmp(o->device, "auto")) {
        LpoiErr no_gpu = {{0}};
        Backend *gpu = backend_cuda_create(0, &no_gpu);
        cpu = gpu == NULL;
        backend_destroy(gpu);
    }
    if (cpu && !memory_plan_fits(&p, memory_available_host(), "this machine", why, sizeof why))
        return err_set(err, "%s cannot train on the CPU here: %s", o->model_dir, why);
    return true;
}
