// model.h — what every model shares around its math and its spec table: reading its config.json,
// opening a checkpoint folder and binding it (plan, then upload: nn/weights.h), the per-step
// activation arena over backend memory, and the free sequence.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "backend/backend.h"
#include "base/arena.h"
#include "base/json.h"
#include "nn/weights.h"
#include "nn/lora.h"

// path: a config.json, or a model folder holding one; parse reads the object (what = the file).
typedef bool (*ModelConfigParse)(void *cfg, const JsonValue *root, const char *what, LpoiErr *err);
bool model_config_read(const char *path, ModelConfigParse parse, void *cfg, LpoiErr *err);

// The model's pass 1 (nothing uploaded; false + msg without the file name) and pass 2 (uploads, frees the plan).
typedef bool (*ModelPlan)(void *m, const void *cfg, const WeightSource *src, WeightPlan *p, char *msg, size_t cap);
typedef bool (*ModelBind)(void *m, Backend *be, WeightPlan *p, LpoiErr *err);
// Both passes, errors naming src->what.
bool model_load(ModelPlan plan, ModelBind bind, void *m, Backend *be, const void *cfg, const WeightSource *src, LpoiErr *err);
// A model's load from a folder's (or file's) safetensors, single or sharded.
typedef bool (*ModelLoad)(void *m, Backend *be, const void *cfg, const WeightSource *src, LpoiErr *err);
bool model_open_dir(ModelLoad load, void *m, Backend *be, const void *cfg, const char *dir, LpoiErr *err);

// Pass 1's end for one part: plan p under rules; when anything is wrong, "<title> do not match the
// config (names under "<prefix>"): <list>" into msg and p freed.
bool model_plan_or_text(WeightPlan *p, const WeightSource *src, const WeightRules *rules, const char *title,
                        const char *prefix, char *msg, size_t cap);

// Starts a step: grows the activation arena (backend block *mem) to at least need bytes, then
// empties it and clears its high-water mark.
void model_acts_begin(Backend *be, Arena *acts, void **mem, size_t need, const char *name);
// Frees the weight block, the LoRA set and the activation block (be may be NULL: nothing uploaded).
void model_mem_free(Backend *be, float **weights, LoraSet *lora, void **acts_mem);
