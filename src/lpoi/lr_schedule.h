// lr_schedule.h — the learning-rate schedules of transformers' get_scheduler (optimization.py, 5.24),
// as the factor LambdaLR multiplies the peak learning rate with at a 0-based optimiser step:
//   linear                 step < W: step / max(1, W);  else max(0, (T − step) / max(1, T − W))
//   cosine                 step < W: step / max(1, W);  else max(0, ½(1 + cos(π · 2 · 0.5 · p))),
//                          p = (step − W) / max(1, T − W)   (num_cycles 0.5)
//   constant               1 (HF ignores the warmup for "constant")
//   constant_with_warmup   step < W: step / max(1, W);  else 1
// with W warmup steps and T total steps.
#pragma once
#include <stdbool.h>

typedef enum { LR_LINEAR, LR_COSINE, LR_CONSTANT, LR_CONSTANT_WITH_WARMUP, LR_NSCHEDULES } LrSchedule;

const char *lr_schedule_name(LrSchedule s);            // HF's lr_scheduler_type names
bool lr_schedule_parse(const char *name, LrSchedule *s);
double lr_schedule_factor(LrSchedule s, int step, int warmup, int total);
