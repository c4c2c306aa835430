// golden_gdino.h — golden runners of the Grounding DINO ops (golden_gdino.c), listed in golden_ops.c's
// RUNNERS table. Cases are written by tools/golden_gdino_ops.py.
#pragma once
#include "check/golden.h"

void golden_run_op_msda(GoldenRun *r);               // kind "op.msda"
void golden_run_op_groupnorm(GoldenRun *r);          // kind "op.groupnorm"
void golden_run_op_window_attention(GoldenRun *r);   // kind "op.window_attention"
