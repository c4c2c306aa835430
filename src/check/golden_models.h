// golden_models.h — golden runners for whole models (src/models/), listed in golden_ops.c's RUNNERS
// table. Cases are written by tools/golden_llama.py (transformers + PEFT).
#pragma once
#include "check/golden.h"

void golden_run_model_llama(GoldenRun *r);     // kinds "model.llama" and "model.mistral"
