// golden_idefics2.h — golden runners for Idefics2 (src/image/idefics2_preprocess.h, ...), listed in
// golden_ops.c's RUNNERS table. Cases are written by tools/golden_idefics2.py with transformers.
#pragma once
#include "check/golden.h"
#include "check/golden_vision.h"

void golden_run_image_idefics2(GoldenRun *r);   // kind "image.idefics2"
void golden_run_model_siglip(GoldenRun *r);     // kind "model.siglip"
#define GOLDEN_SIGLIP_OPS GOLDEN_CLIP_OPS   // the same ops as CLIP (golden_vision.h)
