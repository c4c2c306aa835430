// llama_load.c — the LLaMA / Mistral spec table (HF tensor names, shapes from the config, where each
// pointer goes) bound through nn/weights.h, and the decoder's LoRA modules (nn/lora.h).
#include "models/llama.h"
#include "models/model.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const LLAMA_PROJ_PATH[LLAMA_NPROJ] = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
};
const LoraModules LLAMA_LORA_MODULES = {LLAMA_PROJ_PATH, LLAMA_NPROJ, "layers.%d."};

const LlamaSpelling LLAMA_SPELLINGS[] = {
    {"model.", "lm_head.weight", true},                                   // LlamaForCausalLM / MistralForCausalLM
    {"language_model.model.", "language_model.lm_head.weight", false},    // LLaVA checkpoints as stored on the hub
    {"model.language_model.", "lm_head.weight", false},                   // LLaVA as transformers >= 4.52 names it
    {"model.text_model.", "lm_head.weight", false},                       // Idefics2
};
const size_t LLAMA_NSPELLINGS = LPOI_ARRAY_LEN(LLAMA_SPELLINGS);

static void proj_shape(const LlamaConfig *c, int p, int *out, int *in) {
    int HD = c->H * c->D, KD = c->KVH * c->D;
    switch (p) {
    case LLAMA_Q: *out = HD; *in = c->C; break;
    case LLAMA_K: case LLAMA_V: *out = KD; *in = c->C; break;
    case LLAMA_O: *out = c->C; *in = HD; break;
    case LLAMA_GATE: case LLAMA_UP: *out = c->F; *in = c->C; break;
    default: *out = c->C; *in = c->F; break;
    }
}

void llama_weight_specs(const LlamaConfig *c, const LlamaSpelling *sp, LlamaModel *m, WeightSpecs *out) {
#define AT(field) (m ? &(field) : NULL)
    SPEC2(out, AT(m->embed), c->V, c->C, "%sembed_tokens.weight", sp->prefix);
    for (int l = 0; l < c->n_layer; l++) {
        LlamaLayer *ly = m ? &m->layers[l] : NULL;
        SPEC1(out, AT(ly->ln1), c->C, "%slayers.%d.input_layernorm.weight", sp->prefix, l);
        SPEC1(out, AT(ly->ln2), c->C, "%slayers.%d.post_attention_layernorm.weight", sp->prefix, l);
        for (int p = 0; p < LLAMA_NPROJ; p++) {
            int o, i;
            proj_shape(c, p, &o, &i);
            if (ly) ly->proj[p] = (Linear){.C = i, .OC = o};
            SPEC_LINEAR(out, ly ? &ly->proj[p] : NULL, o, i, "%slayers.%d.%s.weight", sp->prefix, l, LLAMA_PROJ_PATH[p]);
        }
    }
    SPEC1(out, AT(m->norm), c->C, "%snorm.weight", sp->prefix);
    if (!c->tie) SPEC2(out, AT(m->lm_head), c->V, c->C, "%s", sp->lm_head);
#undef AT
}

bool llama_plan(LlamaModel *m, const LlamaConfig *cfg, const WeightSource *src, WeightPlan *p, char *msg, size_t cap) {
    memset(m, 0, sizeof *m);
    memset(p, 0, sizeof *p);
    const LlamaSpelling *sp = ws_detect(src, LLAMA_SPELLINGS, LLAMA_NSPELLINGS, sizeof *LLAMA_SPELLINGS, "embed_tokens.weight");
    if (!sp)
        return snprintf(msg, cap, "no embed_tokens.weight under any known name (model., language_model.model., "
                        "model.language_model., model.text_model.)"), false;
    m->cfg = *cfg;
    m->spelling = sp;
    m->layers = calloc_check((size_t)LPOI_MAX(cfg->n_layer, 1), sizeof *m->layers);
    llama_weight_specs(cfg, sp, m, &p->specs);
    // Ours: everything under the decoder's prefix and its lm_head (or every tensor of a plain
    // causal-LM file); HF ignores stored rotary inv_freq buffers, and a tied model a stored lm_head.
    char inv_freq[160];
    snprintf(inv_freq, sizeof inv_freq, "%s*.self_attn.rotary_emb.inv_freq", sp->prefix);
    WeightRules rules = {.owned = {sp->owns_all ? "" : sp->prefix, sp->lm_head},
                         .ignored = {inv_freq, cfg->tie ? sp->lm_head : NULL}};
    const char *title = cfg->arch == LLAMA_ARCH_MISTRAL ? "the Mistral weights" : "the LLaMA weights";
    return model_plan_or_text(p, src, &rules, title, sp->prefix, msg, cap) || (llama_free(m), false);
}

bool llama_bind(LlamaModel *m, Backend *be, WeightPlan *p, LpoiErr *err) {
    m->be = be;
    m->weights_mem = weights_upload(be, p, &m->weights_floats, err);
    weights_plan_free(p);
    if (!m->weights_mem) return llama_free(m), false;
    if (m->cfg.tie) m->lm_head = m->embed;
    m->lora_on = true;
    m->logits_chunk = 256;
    return true;
}

static bool plan(void *m, const void *c, const WeightSource *s, WeightPlan *p, char *msg, size_t cap) { return llama_plan(m, c, s, p, msg, cap); }
static bool bind(void *m, Backend *be, WeightPlan *p, LpoiErr *err) { return llama_bind(m, be, p, err); }
static bool load(void *m, Backend *be, const void *c, const WeightSource *s, LpoiErr *err) { return llama_load(m, be, c, s, err); }

bool llama_load(LlamaModel *m, Backend *be, const LlamaConfig *cfg, const WeightSource *src, LpoiErr *err) {
    return model_load(plan, bind, m, be, cfg, src, err);
}

bool llama_open(LlamaModel *m, Backend *be, const char *dir, LpoiErr *err) {
    LlamaConfig cfg;
    return llama_config_load(&cfg, dir, err) && model_open_dir(load, m, be, &cfg, dir, err);
}

void llama_step_free(LlamaModel *m);   // llama.c

void llama_free(LlamaModel *m) {
    if (m->be) llama_step_free(m);
    model_mem_free(m->be, &m->weights_mem, &m->lora, &m->acts_mem);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

// ---- LoRA: the decoder's Linears as PEFT names them ----------------------------------------------
bool llama_lora_parse_targets(const char *spec, const LlamaConfig *cfg, unsigned *targets, LpoiErr *err) {
    static const LoraModules *const PARTS[1] = {&LLAMA_LORA_MODULES};
    static const char *const NAMES[1] = {"model."};   // LlamaForCausalLM / MistralForCausalLM: model.layers.N.…
    static const char *const UNADAPTED[] = {"lm_head", NULL};
    const int n_layer[1] = {cfg ? cfg->n_layer : 0};
    const LoraTargetSpace ts = {.model = "LLaMA", .parts = PARTS, .prefixes = NAMES, .n_layers = cfg ? n_layer : NULL,
                                .unadapted = UNADAPTED, .nparts = 1};
    return lora_parse_targets(spec, &ts, targets, err);
}

void llama_lora_create(LlamaModel *m, int r, float alpha, unsigned targets) {
    LPOI_ASSERT(m->lora.r == 0);
    lora_create(&m->lora, m->be, &LLAMA_LORA_MODULES, m->layers[0].proj, sizeof(LlamaLayer), m->cfg.n_layer, r, alpha,
                targets);
}

void llama_lora_init(LlamaModel *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    lora_init(&m->lora, &rng);
}

void llama_lora_zero_grad(LlamaModel *m) { lora_zero_grad(&m->lora); }
size_t llama_lora_count(const LlamaModel *m) { return lora_count(&m->lora); }

void llama_lora_tensor(const LlamaModel *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param,
                       float **grad) {
    lora_tensor(&m->lora, i, m->spelling->prefix, name, cap, shape, param, grad);
}

// The decoder's module paths in an adapter: its own spelling, or (LLaVA) the other one, which
// recent PEFT also accepts. NULL-terminated.
void llama_lora_modules(const LlamaModel *m, const char *modules[3]) {
    const char *own = m->spelling->prefix;
    modules[0] = own;
    modules[1] = !strcmp(own, "language_model.model.") ? "model.language_model."
                 : !strcmp(own, "model.language_model.") ? "language_model.model." : NULL;
    modules[2] = NULL;
}

// Pass 1 of llama_lora_load (lora_upload is pass 2).
static bool llama_lora_plan(const LlamaModel *m, const WeightSource *src, WeightPlan *p) {
    LPOI_ASSERT(m->lora.r > 0);
    const char *modules[3];
    llama_lora_modules(m, modules);
    // Every adapter tensor under the decoder's module paths must be ours (a LLaVA adapter also holds
    // the vision tower's and the projector's: the caller checks those); a plain causal LM owns all.
    char owned[2][160];
    WeightRules rules;
    memset(&rules, 0, sizeof rules);
    for (int k = 0; k < 2 && modules[k]; k++) {
        snprintf(owned[k], sizeof owned[k], "base_model.model.%s", modules[k]);
        rules.owned[k] = m->spelling->owns_all ? "" : owned[k];
    }
    return lora_plan(&m->lora, src, lora_find_module(&m->lora, src, modules), &rules, p);
}

bool llama_lora_load(LlamaModel *m, const WeightSource *src, LpoiErr *err) {
    WeightPlan p;
    llama_lora_plan(m, src, &p);
    return lora_load_planned(&m->lora, &p, src, "the LoRA adapter", err);
}
