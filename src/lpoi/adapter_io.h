// adapter_io.h — LoRA adapters of a LLaVA or Idefics2 model as a Hugging Face PEFT folder
// (adapter_model.safetensors + adapter_config.json): written by the trainer's checkpoints and read
// for --resume, evaluation and logit dumps.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "base/error.h"
#include "base/json.h"
#include "models/idefics2.h"
#include "models/llava.h"

// Writes into the folder dir (which must exist) what PEFT saves: adapter_model.safetensors holds every lora_A /
// lora_B in fp32 under PEFT's names, adapter_config.json the LoraConfig (r, lora_alpha,
// target_modules, base_model_name_or_path = base_model).
bool adapter_save_dir(const LlavaModel *m, const char *dir, const char *base_model, int r, double alpha,
                      LpoiErr *err);
// Creates the adapters found in dir (targets from the tensor names, r from their shapes, alpha from
// adapter_config.json) on m and loads them.
bool adapter_load_dir(LlavaModel *m, const char *dir, LpoiErr *err);
// The same for a language model alone (LLaMA/Mistral, or a LLaVA's text part): the adapter must
// hold decoder Linears only.
bool adapter_load_llama_dir(LlamaModel *m, const char *dir, LpoiErr *err);
// adapter_config.json of dir: r and lora_alpha, refusing what plain LoRA with scale alpha / r does
// not cover (peft_type other than LORA, use_rslora, use_dora, fan_in_fan_out, bias, lora_bias,
// rank_pattern / alpha_pattern), as "<path>: <reason>".
bool adapter_config_read(const char *dir, int *r, double *alpha, LpoiErr *err);
// adapter_config.json (what it names: path) → r and lora_alpha; refuses what lpoi does not
// implement (as adapter_config_read). adapter_config_read uses it.
// Needs only the JSON reader (adapter_config.c), so the fuzz target links it alone.
bool adapter_config_parse(const JsonValue *root, const char *path, int64_t *r, double *alpha, LpoiErr *err);
// adapter_config.json "target_modules": a JSON list of module names when PEFT's list semantics give
// exactly t, else a full-match regex string. Writes into buf (JSON text).
void adapter_target_modules_json(const LlavaLoraTargets *t, char *buf, size_t cap);
// Targets from PEFT tensor names (any accepted spelling); false + err for a name that is no LLaVA
// LoRA tensor.
bool adapter_targets_from_names(const char *const *names, size_t n, LlavaLoraTargets *t, LpoiErr *err);

// ---- Idefics2 (Idefics2ForConditionalGeneration: "base_model.model.model.vision_model...",
// "...model.connector.modality_projection...", "...model.connector.perceiver_resampler...",
// "...model.text_model...") ----
// As adapter_save_dir; target_modules: the sorted short names when PEFT's list semantics give exactly
// the model's targets (e.g. all-linear), else a full-match regex over the four parts' module names.
bool adapter_save_idefics2_dir(const Idefics2Model *m, const char *dir, const char *base_model, int r, double alpha,
                               LpoiErr *err);
// As adapter_load_dir: targets from the tensor names, r from the config (checked against lora_A),
// alpha from adapter_config.json; every layer, shape and stray tensor checked by idefics2_lora_load.
bool adapter_load_idefics2_dir(Idefics2Model *m, const char *dir, LpoiErr *err);
void adapter_idefics2_target_modules_json(const Idefics2LoraTargets *t, const Idefics2Config *cfg, char *buf, size_t cap);
bool adapter_idefics2_targets_from_names(const char *const *names, size_t n, const Idefics2Config *cfg,
                                         Idefics2LoraTargets *t, LpoiErr *err);
