// golden_models.c — the model.llama / model.mistral runner: a tiny HF LlamaForCausalLM /
// MistralForCausalLM with a PEFT adapter, replayed through src/models/llama.c.
// Contract with tools/golden_llama.py (see its docstring for how each tensor is made):
//   config    the HF config.json + "lora": {r, lora_alpha, target_modules}
//   param.*   base weights by HF name (bound by llama_load from the case file itself, prefix "param.")
//   lora.*    the adapter by PEFT name (llama_lora_load, prefix "lora.")
//   in.input_ids [B,T] or in.inputs_embeds [B,T,C]; in.attention_mask, in.labels [B,T]; in.dlogp [B]
//   out.logits [B,T,V], out.logps [B] (adapter on), out.logps_ref [B] (adapter off)
//   grad.<PEFT name> for every lora tensor, grad.inputs_embeds (embeds variant)
//   in.gen_prompt [P], out.gen_ids [G] (optional): greedy HF generate, compared id for id
// The case runs twice: first keeping every layer's activations, then with per-layer recomputation.
// LoRA gradients accumulate over the two backward passes (compared doubled); d(inputs_embeds) is
// overwritten by each (compared as is); both passes must reproduce the log-probs.
#include "check/golden_models.h"
#include "models/llama.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHAPE GR_SHAPE

// Compares every LoRA gradient with grad.<PEFT name>, accumulated over `passes` backward passes.
static void expect_lora_grads(GoldenRun *r, const LlamaModel *m, int passes) {
    for (size_t i = 0; i < llama_lora_count(m) && gr_ready(r); i++) {
        char name[200];
        int64_t shape[2];
        float *grad;
        llama_lora_tensor(m, i, name, sizeof name, shape, NULL, &grad);
        gr_expect_lora_grad(r, name, grad, shape, passes);
    }
}

// Greedy decoding with the KV cache from in.gen_prompt [P] must give out.gen_ids [G] exactly.
static void expect_generate(GoldenRun *r, LlamaModel *m) {
    const StTensor *pt = st_find(&gr_case(r)->st, "in.gen_prompt"), *gt = st_find(&gr_case(r)->st, "out.gen_ids");
    if (!pt || pt->ndim != 1 || pt->shape[0] < 1 || pt->shape[0] > 4096 || !gt || gt->ndim != 1 || gt->shape[0] < 1 ||
        gt->shape[0] > 4096) {
        gr_error(r, "in.gen_prompt [P] and out.gen_ids [G] must be 1-D, 1..4096 long");
        return;
    }
    int P = (int)pt->shape[0], G = (int)gt->shape[0];
    int32_t *prompt = gr_in_int_host(r, "in.gen_prompt", SHAPE(P), 0, (int64_t)m->cfg.V - 1);
    if (!prompt) return;
    int32_t *ids = malloc_check((size_t)G * sizeof *ids);
    LlamaGenOpts o = {.max_new = G, .temperature = 0, .top_p = 1};
    LpoiErr err = {{0}};
    m->lora_on = true;
    int n = llama_generate(m, prompt, P, &o, ids, &err);
    if (n != G) {
        gr_error(r, "generate: %s", n < 0 ? err.msg : "stopped early");
    } else {
        float *f = malloc_check((size_t)G * sizeof *f);
        for (int i = 0; i < G; i++) f[i] = (float)ids[i];
        gr_expect_host(r, f, "out.gen_ids", SHAPE(G));
        free(f);
    }
    free(prompt);
    free(ids);
}

void golden_run_model_llama(GoldenRun *r) {   // the harness checked GOLDEN_LLAMA_OPS
    const GoldenCase *gc = gr_case(r);
    LlamaConfig cfg;
    LpoiErr err = {{0}};
    if (!llama_config_parse(&cfg, gc->config, "config", &err)) { gr_error(r, "%s", err.msg); return; }
    const char *want = cfg.arch == LLAMA_ARCH_MISTRAL ? "model.mistral" : "model.llama";
    if (strcmp(gc->kind, want)) { gr_error(r, "kind \"%s\" but the config describes %s", gc->kind, want); return; }
    GrLora lora;
    unsigned targets = 0;
    if (!gr_lora_config(r, &lora)) return;
    if (!llama_lora_parse_targets(lora.targets, &cfg, &targets, &err)) { gr_error(r, "config: %s", err.msg); return; }

    LlamaModel m;
    WeightSource wsrc = {.file = &gc->st, .prefix = "param.", .what = gc->path};
    if (!llama_load(&m, gr_backend(r), &cfg, &wsrc, &err)) { gr_error(r, "%s", err.msg); return; }
    llama_lora_create(&m, lora.rank, lora.alpha, targets);
    WeightSource lsrc = {.file = &gc->st, .prefix = "lora.", .what = gc->path};
    if (!llama_lora_load(&m, &lsrc, &err)) { gr_error(r, "%s", err.msg); llama_free(&m); return; }
    gr_consume_weights(r);

    bool embeds = gr_has(r, "in.inputs_embeds");
    GrTextBatch tb;
    if (!gr_text_batch(r, cfg.V, !embeds, &tb)) { llama_free(&m); return; }
    const int B = tb.B, T = tb.T, C = cfg.C, V = cfg.V;
    float *logp = tb.logp;
    const float *emb = embeds ? gr_in(r, "in.inputs_embeds", SHAPE(B, T, C)) : NULL;
    float *dlogp = gr_in_host(r, "in.dlogp", SHAPE(B));
    float *logits = gr_out(r, "out.logits", (size_t)B * T * V);
    float *demb = embeds ? gr_out(r, "grad.inputs_embeds", (size_t)B * T * C) : NULL;
    LlamaBatch batch = {.B = B, .T = T, .input_ids = tb.ids, .inputs_embeds = emb, .attention_mask = tb.mask,
                        .labels = tb.labels};

    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        m.recompute = pass == 2;
        m.lora_on = true;
        if (!llama_logps_forward(&m, &batch, true, logp, &err)) { gr_error(r, "%s", err.msg); break; }
        gr_expect_host(r, logp, "out.logps", SHAPE(B));
        llama_logps_backward(&m, dlogp, demb);
        if (embeds) gr_expect(r, demb, "grad.inputs_embeds", SHAPE(B, T, C), 1, pass == 2 ? "(recompute: must overwrite)" : NULL);
        expect_lora_grads(r, &m, pass);
    }
    if (gr_ready(r)) {
        m.lora_on = true;
        if (!llama_logits(&m, &batch, logits, &err)) gr_error(r, "%s", err.msg);
        else gr_expect(r, logits, "out.logits", SHAPE(B, T, V), 1, NULL);
    }
    if (gr_ready(r) && gr_has(r, "out.gen_ids")) expect_generate(r, &m);
    if (gr_ready(r)) {
        m.lora_on = false;   // the reference model
        if (!llama_logps_forward(&m, &batch, false, logp, &err)) gr_error(r, "%s", err.msg);
        else gr_expect_host(r, logp, "out.logps_ref", SHAPE(B));
    }
    free(dlogp);
    gr_text_batch_free(&tb);
    llama_free(&m);
}
