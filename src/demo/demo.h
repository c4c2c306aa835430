// demo.h — the job behind `lpoi demo` (src/app/cmd_demo.c parses its flags): a synthetic
// preference set (synth.h), a tiny random LLaVA in HF format (tiny_model.h), held-out evaluation
// before and after LPOI training through the trainer, the before/after table and the pictures.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "lpoi/objectives.h"

typedef struct {
    const char *out, *device;
    int steps, examples, heldout, list_size, lora_r, batch, image_size, patch_size;
    double lora_alpha;               // 0: lpoi train's default (train_options_default)
    uint64_t seed;
    double lr, beta;
    ObjKind objective;
    bool prepare_only, quiet;
} DemoArgs;

// The defaults `lpoi demo --help` prints.
DemoArgs demo_defaults(void);

// Runs the whole demo (its steps are listed in demo.c); progress and the table go to stdout, errors
// to stderr. Returns the exit code: 0, 1 (a failure, or an LPOI run whose held-out full-order
// accuracy did not end 25 points above chance) or 2 (an --out folder that is not empty).
int demo_run(const DemoArgs *a);
