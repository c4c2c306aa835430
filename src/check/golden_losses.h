// golden_losses.h — golden runners for the preference objectives (src/lpoi/objectives.h), listed
// in golden_ops.c's RUNNERS table. Cases are written by tools/golden_losses.py.
#pragma once
#include "check/golden.h"

void golden_run_loss_dpo(GoldenRun *r);    // kind "loss.dpo"
void golden_run_loss_mdpo(GoldenRun *r);   // kind "loss.mdpo"
void golden_run_loss_lpoi(GoldenRun *r);   // kind "loss.lpoi"
