// llava_load.c — LlavaConfig from config.json, binding a LLaVA checkpoint (vision tower, projector,
// language model: three spec tables, planned together and uploaded only when all three are clean)
// in either key layout, and the LoRA adapters of all three parts (PEFT names).
// Defaults (LlavaConfig, transformers 5.x): image_token_index 32000, vision_feature_layer -2,
// vision_feature_select_strategy "default", projector_hidden_act "gelu", multimodal_projector_bias
// true, image_seq_length 576; vision_config / text_config as clip_config_parse / llama_config_parse.
#include "models/llava.h"
#include "models/model.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const LLAVA_PROJECTOR_PREFIXES[2] = {"model.multi_modal_projector.", "multi_modal_projector."};
static const char *const PROJ_NAME[LLAVA_NPROJ] = {"linear_1", "linear_2"};
const LoraModules LLAVA_PROJ_LORA_MODULES = {PROJ_NAME, LLAVA_NPROJ, ""};

// Module paths of each part as PEFT adapters name them (after "base_model.model."), the
// transformers 5 one first (it is what llava_lora_tensor writes).
static const char *const VISION_MODULES[] = {"model.vision_tower.", "model.vision_tower.vision_model.",
                                             "vision_tower.vision_model.", "vision_tower.", NULL};
static const char *const PROJ_MODULES[] = {"model.multi_modal_projector.", "multi_modal_projector.", NULL};
static const char *const TEXT_MODULES[] = {"model.language_model.", "language_model.model.", NULL};

// ---- config --------------------------------------------------------------------------------
bool llava_config_parse(LlavaConfig *c, const JsonValue *root, const char *what, LpoiErr *err) {
    if (!root || root->type != JSON_OBJECT) return err_set(err, "%s: expected a JSON object", what);
    const char *type = json_get_str(root, "model_type");
    if (!type || strcmp(type, "llava") != 0)
        return err_set(err, "%s: model_type \"%s\" is not a LLaVA config (expected \"llava\")", what, type ? type : "(none)");
    LlavaConfig cfg = {0};
    if (!clip_config_parse(&cfg.vision, root, what, err)) return false;
    if (!llama_config_parse(&cfg.text, root, what, err)) return false;
    JsonCfg j;
    json_cfg_open(&j, root, what, err);
    const char *key = json_cfg_has(&j, "image_token_index") ? "image_token_index" : "image_token_id";
    if (!json_cfg_has(&j, key) && cfg.text.V <= 32000)
        return err_set(err, "%s: the default image_token_index 32000 is outside the text vocabulary (%d)", what, cfg.text.V);
    cfg.image_token = (int)json_cfg_int(&j, key, 32000, 0, cfg.text.V - 1);
    const JsonValue *fl = json_get(root, "vision_feature_layer");
    if (fl && fl->type == JSON_ARRAY)
        return err_set(err, "%s: a list-valued \"vision_feature_layer\" (concatenated layers) is not supported", what);
    cfg.feature_layer = (int)json_cfg_int(&j, "vision_feature_layer", -2, -1024, 1024);
    static const char *const SELECT[] = {"default", "full"};   // ClipSelect order
    cfg.select = (ClipSelect)json_cfg_enum(&j, "vision_feature_select_strategy", CLIP_SELECT_DEFAULT, SELECT, 2);
    cfg.proj_act = clip_read_act(&j, "projector_hidden_act", "gelu");
    cfg.proj_bias = json_cfg_bool(&j, "multimodal_projector_bias", true);
    cfg.image_seq_length = (int)json_cfg_int(&j, "image_seq_length", 576, 1, 1 << 24);
    if (!j.ok) return false;
    cfg.feature_k = clip_feature_index(&cfg.vision, cfg.feature_layer);
    if (cfg.feature_k < 0)
        return err_set(err, "%s: vision_feature_layer %d is outside the %d hidden states of the vision tower", what,
                       cfg.feature_layer, cfg.vision.n_layer + 1);
    cfg.tokens_per_image = clip_features_per_image(&cfg.vision, cfg.select);
    *c = cfg;
    return true;
}

static bool parse(void *c, const JsonValue *root, const char *what, LpoiErr *err) { return llava_config_parse(c, root, what, err); }
bool llava_config_load(LlavaConfig *c, const char *path, LpoiErr *err) { return model_config_read(path, parse, c, err); }

// ---- the projector's spec table ---------------------------------------------------------------
static void proj_specs(const LlavaConfig *c, const char *prefix, LlavaModel *m, WeightSpecs *out) {
    for (int p = 0; p < LLAVA_NPROJ; p++) {
        Linear *l = m ? &m->proj[p] : NULL;
        int in = p == LLAVA_PROJ_1 ? c->vision.C : c->text.C;
        if (l) *l = (Linear){.C = in, .OC = c->text.C};
        SPEC2(out, l ? &l->w : NULL, c->text.C, in, "%s%s.weight", prefix, PROJ_NAME[p]);
        if (c->proj_bias) SPEC1(out, l ? &l->b : NULL, c->text.C, "%s%s.bias", prefix, PROJ_NAME[p]);
    }
}

void llava_weight_specs(const LlavaConfig *c, WeightSpecs *out) {
    clip_weight_specs(&c->vision, "vision_tower.vision_model.", NULL, out);
    proj_specs(c, "multi_modal_projector.", NULL, out);
    llama_weight_specs(&c->text, &LLAMA_SPELLINGS[1], NULL, out);
}

static bool projector_plan(LlavaModel *m, const WeightSource *src, WeightPlan *p, char *msg, size_t cap) {
    memset(p, 0, sizeof *p);
    const char *const *found = ws_detect(src, LLAVA_PROJECTOR_PREFIXES, 2, sizeof *LLAVA_PROJECTOR_PREFIXES, "linear_1.weight");
    const char *prefix = found ? *found : NULL;
    if (!prefix) {
        snprintf(msg, cap, "no multi_modal_projector.linear_1.weight (or model.multi_modal_projector.linear_1.weight)");
        return false;
    }
    m->proj_prefix = prefix;
    proj_specs(&m->cfg, prefix, m, &p->specs);
    WeightRules rules = {.owned = {prefix}};
    if (weights_plan(p, src, &rules)) return true;
    weights_errors_text(&p->errors, msg, cap);
    weights_plan_free(p);
    return false;
}

// ---- binding ---------------------------------------------------------------------------------
// Appends "part: msg" to out (one line, truncated to fit).
static void add_part(char *out, size_t cap, const char *part, const char *msg) {
    size_t k = strlen(out);
    if (k + 4 < cap) snprintf(out + k, cap - k, "%s%s: %s", k ? "; " : "", part, msg);
}

bool llava_load(LlavaModel *m, Backend *be, const LlavaConfig *cfg, const WeightSource *src, LpoiErr *err) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    const char *what = ws_what(src, "weights");
    char msg[1200] = "", part[480];
    WeightPlan pv, pp, pt;
    bool vis_ok = clip_plan(&m->vision, &cfg->vision, src, &pv, part, sizeof part);
    if (!vis_ok) add_part(msg, sizeof msg, "vision tower", part);
    bool proj_ok = projector_plan(m, src, &pp, part, sizeof part);
    if (!proj_ok) add_part(msg, sizeof msg, "projector", part);
    bool lm_ok = llama_plan(&m->lm, &cfg->text, src, &pt, part, sizeof part);
    if (!lm_ok) add_part(msg, sizeof msg, "language model", part);
    WeightErrors stray = {0};   // tensors that belong to no part
    static const char *const PARTS[] = {"vision_tower.", "model.vision_tower.", "multi_modal_projector.",
                                        "model.multi_modal_projector.", "language_model.", "model.language_model."};
    for (size_t i = 0; i < ws_count(src); i++) {
        const char *local = ws_local(src, i);
        bool ours = !local || !strcmp(local, "lm_head.weight");
        for (size_t k = 0; k < LPOI_ARRAY_LEN(PARTS) && !ours; k++) ours = str_starts(local, PARTS[k]);
        if (!ours) names_add(&stray.unexpected, "%s", local);
    }
    if (!weights_clean(&stray)) add_part(msg, sizeof msg, "not part of a LLaVA model", weights_errors_text(&stray, part, sizeof part));
    if (vis_ok && proj_ok && lm_ok && weights_clean(&stray)) {
        m->be = be;
        m->proj_mem = weights_upload(be, &pp, &m->proj_floats, err);
        weights_plan_free(&pp);
        bool ok = clip_bind(&m->vision, be, &pv, err) & llama_bind(&m->lm, be, &pt, err) && m->proj_mem;
        m->lora_on = true;
        if (ok) return true;
        llava_free(m);
        return err_prefix(err, "%s", what);
    }
    if (vis_ok) { weights_plan_free(&pv); clip_free(&m->vision); }
    if (proj_ok) weights_plan_free(&pp);
    if (lm_ok) { weights_plan_free(&pt); llama_free(&m->lm); }
    memset(m, 0, sizeof *m);
    return err_set(err, "%s: the LLaVA weights do not match the config: %s", what, msg);
}

static bool load(void *m, Backend *be, const void *c, const WeightSource *s, LpoiErr *err) { return llava_load(m, be, c, s, err); }

bool llava_open(LlavaModel *m, Backend *be, const char *dir, LpoiErr *err) {
    LlavaConfig cfg;
    return llava_config_load(&cfg, dir, err) && model_open_dir(load, m, be, &cfg, dir, err);
}

void llava_step_free(LlavaModel *m);   // llava.c

void llava_free(LlavaModel *m) {
    if (!m->be) return;
    llava_step_free(m);
    clip_free(&m->vision);
    llama_free(&m->lm);
    model_mem_free(m->be, &m->proj_mem, &m->proj_lora, &m->acts_mem);
    memset(m, 0, sizeof *m);
}

// ---- LoRA -----------------------------------------------------------------------------------
bool llava_lora_parse_targets(const char *spec, const LlavaConfig *cfg, LlavaLoraTargets *t, LpoiErr *err) {
    static const LoraModules *const PARTS[3] = {&CLIP_LORA_MODULES, &LLAVA_PROJ_LORA_MODULES, &LLAMA_LORA_MODULES};
    static const char *const QUALS[3] = {"vision_tower.", "multi_modal_projector.", "language_model."};
    // The module names PEFT sees in transformers 5's LlavaForConditionalGeneration.
    static const char *const NAMES[3] = {"model.vision_tower.", "model.multi_modal_projector.", "model.language_model."};
    unsigned bits[3];
    static const char *const UNADAPTED[] = {"lm_head", NULL};
    const int n_layer[3] = {cfg ? cfg->vision.n_layer : 0, 1, cfg ? cfg->text.n_layer : 0};
    const LoraTargetSpace ts = {.model = "LLaVA", .parts = PARTS, .quals = QUALS, .prefixes = NAMES,
                                .n_layers = cfg ? n_layer : NULL, .unadapted = UNADAPTED, .nparts = 3};
    if (!lora_parse_targets(spec, &ts, bits, err)) return false;
    *t = (LlavaLoraTargets){.vision = bits[0], .projector = bits[1], .text = bits[2]};
    return true;
}

void llava_lora_create(LlavaModel *m, int r, float alpha, const LlavaLoraTargets *t) {
    if (t->vision) clip_lora_create(&m->vision, r, alpha, t->vision);
    if (t->text) llama_lora_create(&m->lm, r, alpha, t->text);
    if (t->projector) lora_create(&m->proj_lora, m->be, &LLAVA_PROJ_LORA_MODULES, m->proj, 0, 1, r, alpha, t->projector);
}

// The three parts' sets, in storage order, with the module path each is saved under.
static int lora_parts(const LlavaModel *m, const LoraSet *sets[3], const char *const *modules[3]) {
    sets[0] = &m->vision.lora, modules[0] = VISION_MODULES;
    sets[1] = &m->proj_lora, modules[1] = PROJ_MODULES;
    sets[2] = &m->lm.lora, modules[2] = TEXT_MODULES;
    return 3;
}

size_t llava_lora_count(const LlavaModel *m) {
    return lora_count(&m->vision.lora) + lora_count(&m->proj_lora) + lora_count(&m->lm.lora);
}

void llava_lora_tensor(const LlavaModel *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param,
                       float **grad) {
    const LoraSet *sets[3];
    const char *const *modules[3];
    for (int p = 0, n = lora_parts(m, sets, modules); p < n; i -= lora_count(sets[p]), p++)
        if (i < lora_count(sets[p])) { lora_tensor(sets[p], i, modules[p][0], name, cap, shape, param, grad); return; }
    LPOI_ASSERT(0);
}

void llava_lora_zero_grad(LlavaModel *m) {
    lora_zero_grad(&m->vision.lora);
    lora_zero_grad(&m->proj_lora);
    lora_zero_grad(&m->lm.lora);
}

void llava_lora_remove(LlavaModel *m) {
    lora_remove(&m->vision.lora);
    lora_remove(&m->proj_lora);
    lora_remove(&m->lm.lora);
}

void llava_set_lora(LlavaModel *m, bool on) {
    m->lora_on = on;
    m->vision.lora_on = on;
    m->lm.lora_on = on;
}

void llava_lora_init(LlavaModel *m, uint64_t seed) {
    Rng rng;   // the vision tower and the projector draw from one stream, the language model from its own
    rng_seed(&rng, seed);
    lora_init(&m->vision.lora, &rng);
    lora_init(&m->proj_lora, &rng);
    if (m->lm.lora.r > 0) llama_lora_init(&m->lm, seed ^ 0x9e3779b97f4a7c15ull);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

bool llava_lora_load(LlavaModel *m, const WeightSource *src, LpoiErr *err) {
    static const char *const PART_NAME[3] = {"vision tower", "projector", "language model"};
    const LoraSet *sets[3];
    const char *const *modules[3];
    int np = lora_parts(m, sets, modules);
    char msg[1200] = "", part[480];
    WeightPlan plans[3];
    bool ok = true;
    // Pass 1, every part, without rules: the stray scan below is the one check of unexpected names
    // (it accepts every spelling of every part). The decoder's own spelling comes first.
    const char *text_modules[3];
    llama_lora_modules(&m->lm, text_modules);
    for (int p = 0; p < np; p++) {   // report order: vision, language model, projector
        const char *const *mods = p == 2 && m->lm.lora.r > 0 ? text_modules : modules[p];
        ok &= lora_plan(sets[p], src, lora_find_module(sets[p], src, mods), NULL, &plans[p]);
    }
    for (int q = 0; q < np; q++) {
        int p = q == 0 ? 0 : q == 1 ? 2 : 1;
        if (!weights_clean(&plans[p].errors))
            add_part(msg, sizeof msg, PART_NAME[p], weights_errors_text(&plans[p].errors, part, sizeof part));
    }
    // Every tensor of the adapter must be one of ours, under any accepted module path.
    WeightSpecs known = {0};
    for (int p = 0; p < np; p++)
        for (size_t i = 0; i < lora_count(sets[p]); i++)
            for (int k = 0; modules[p][k]; k++) {
                char name[256];
                lora_tensor(sets[p], i, modules[p][k], name, sizeof name, NULL, NULL, NULL);
                SPEC1(&known, NULL, 0, "%s", name);
            }
    const char **names = malloc_check((known.n ? known.n : 1) * sizeof *names);
    for (size_t i = 0; i < known.n; i++) names[i] = known.v[i].name;
    qsort(names, known.n, sizeof *names, cmp_str);
    WeightErrors stray = {0};
    for (size_t i = 0; i < ws_count(src); i++) {
        const char *local = ws_local(src, i);
        if (local && !bsearch(&local, names, known.n, sizeof *names, cmp_str)) names_add(&stray.unexpected, "%s", local);
    }
    free(names);
    specs_free(&known);
    if (!weights_clean(&stray)) {
        add_part(msg, sizeof msg, "adapter", weights_errors_text(&stray, part, sizeof part));
        ok = false;
    }
    if (!ok) err_set(err, "%s: the LoRA adapter does not match the model: %s", ws_what(src, "adapter"), msg);
    float *staged[3] = {0};   // pass 2, only when all is clean: every part read before any is replaced
    for (int p = 0; p < np; p++) ok = ok && (staged[p] = lora_stage(sets[p], &plans[p], err)) != NULL;
    for (int p = 0; p < np; p++) {
        if (ok) lora_commit((LoraSet *)sets[p], staged[p]);
        else free(staged[p]);
        weights_plan_free(&plans[p]);
    }
    return ok;
}
