// model.c — the sequences every model shares (see model.h).
#include "models/model.h"
#include <stdio.h>
#include <string.h>

bool model_config_read(const char *path, ModelConfigParse parse, void *cfg, LpoiErr *err) {
    char used[4200];
    size_t n = strlen(path);
    if (n >= 5 && !strcmp(path + n - 5, ".json")) snprintf(used, sizeof used, "%s", path);
    else snprintf(used, sizeof used, "%s/config.json", path);
    JsonDoc *doc = json_load_file(used, 16u << 20, err);
    bool ok = doc && parse(cfg, json_root(doc), used, err);
    json_free(doc);
    return ok;
}

bool model_load(ModelPlan plan, ModelBind bind, void *m, Backend *be, const void *cfg, const WeightSource *src, LpoiErr *err) {
    WeightPlan p;
    char msg[480];
    if (!plan(m, cfg, src, &p, msg, sizeof msg)) return err_set(err, "%s: %s", ws_what(src, "weights"), msg);
    return bind(m, be, &p, err) || err_prefix(err, "%s", ws_what(src, "weights"));
}

bool model_open_dir(ModelLoad load, void *m, Backend *be, const void *cfg, const char *dir, LpoiErr *err) {
    StModel st;
    if (!st_model_open(&st, dir, err)) return false;
    WeightSource src = {.model = &st, .prefix = "", .what = dir};
    bool ok = load(m, be, cfg, &src, err);
    st_model_close(&st);
    return ok;
}

bool model_plan_or_text(WeightPlan *p, const WeightSource *src, const WeightRules *rules, const char *title,
                        const char *prefix, char *msg, size_t cap) {
    if (weights_plan(p, src, rules)) return true;
    weights_plan_text(p, title, prefix, msg, cap);
    weights_plan_free(p);
    return false;
}

void model_acts_begin(Backend *be, Arena *acts, void **mem, size_t need, const char *name) {
    if (need > acts->capacity) {
        if (*mem) be->free(be, *mem);
        *mem = be->alloc(be, need);
        arena_init_over(acts, name, *mem, need);
    }
    arena_reset(acts);
    acts->peak = 0;
}

void model_mem_free(Backend *be, float **weights, LoraSet *lora, void **acts_mem) {
    if (be && *weights) be->free(be, *weights);
    if (be && *acts_mem) be->free(be, *acts_mem);
    lora_free(lora);
    *weights = NULL;
    *acts_mem = NULL;
}
