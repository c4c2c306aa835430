// golden_vision.h — golden runners for the vision tower and LLaVA (src/models/clip.c, llava.c),
// listed in golden_ops.c's RUNNERS table. Cases are written by tools/golden_llava.py.
#pragma once
#include "check/golden.h"

void golden_run_model_clip(GoldenRun *r);      // kind "model.clip"
void golden_run_model_llava(GoldenRun *r);     // kind "model.llava"
