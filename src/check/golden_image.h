// golden_image.h — golden runners for image preprocessing (src/image/resample.h, preprocess.h),
// listed in golden_ops.c's RUNNERS table. Cases are written by tools/golden_preprocess.py with
// Pillow and transformers' PIL-backend image processors.
#pragma once
#include "check/golden.h"

void golden_run_image_resize(GoldenRun *r);   // kind "image.resize"
void golden_run_image_clip(GoldenRun *r);     // kind "image.clip"
