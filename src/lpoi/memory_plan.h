// memory_plan.h — what `lpoi train` will need, from config.json alone (nothing loaded): the weights
// (fp32 in memory, whatever the file's dtype), the LoRA adapters (parameters + gradients), AdamW's
// two moments, and the activations of one micro-batch (the models' own step planners, at the longest
// sequence the options allow). Printed before loading, and checked against the memory available so
// that a model that cannot fit is refused up front with the hint that fits the cause.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "base/error.h"
#include "lpoi/trainer_options.h"

typedef struct {
    double weights, adapters, optimizer, activations;   // bytes
    double total;
    int sequences, tokens;            // per micro-batch: sequences x tokens (image tokens included)
    int weight_bits;                  // of the Linear weights: 32, or 16 under --precision bf16|fp16
} MemPlan;

// false + err when config.json cannot be read or the LoRA targets are bad.
bool memory_plan(const TrainOptions *o, MemPlan *p, LpoiErr *err);
// "memory estimate: weights 27.9 GB (fp32), adapters ..., total ..." (one line, no newline).
void memory_plan_text(const MemPlan *p, char *buf, size_t cap);
// true when p fits in `available` bytes; else false + a reason with the hint for the part that does not
// fit: the weights alone (a bigger machine or a smaller model: no batch setting helps), or the
// activations (lower --micro-batch / --max-length).
bool memory_plan_fits(const MemPlan *p, double available, const char *where, char *why, size_t cap);
// MemAvailable of /proc/meminfo in bytes, or 0 when unknown.
double memory_available_host(void);
// Before `lpoi train` loads anything: prints the estimate (unless quiet) and, for a CPU run, refuses
// one that cannot fit in the host's available memory (false + err with the hint).
bool train_memory_check(const TrainOptions *o, LpoiErr *err);
