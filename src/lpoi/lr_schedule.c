// lr_schedule.c — HF's learning-rate schedules (lr_schedule.h), in double as Python computes them.
#include "lpoi/lr_schedule.h"
#include <math.h>
#include <string.h>

static const char *const NAMES[LR_NSCHEDULES] = {"linear", "cosine", "constant", "constant_with_warmup"};

const char *lr_schedule_name(LrSchedule s) { return s >= 0 && s < LR_NSCHEDULES ? NAMES[s] : "?"; }

bool lr_schedule_parse(const char *name, LrSchedule *s) {
    for (int k = 0; k < LR_NSCHEDULES; k++)
        if (!strcmp(name, NAMES[k])) { *s = (LrSchedule)k; return true; }
    return false;
}

static double max1(int x) { return (double)(x > 1 ? x : 1); }

double lr_schedule_factor(LrSchedule s, int step, int warmup, int total) {
    if (s == LR_CONSTANT) return 1.0;
    if (step < warmup) return (double)step / max1(warmup);
    switch (s) {
    case LR_COSINE: {
        double progress = (double)(step - warmup) / max1(total - warmup);
        return fmax(0.0, 0.5 * (1.0 + cos(M_PI * 0.5 * 2.0 * progress)));
    }
    case LR_CONSTANT_WITH_WARMUP: return 1.0;
    default: return fmax(0.0, (double)(total - step) / max1(total - warmup));
    }
}
