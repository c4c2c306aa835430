// trainer_options.h — the options of `lpoi train` (TrainOptions: paper defaults, flag and --config
// parsing, range checks), apart from the training loop (trainer.h) so that the files that only need
// the options (trainer_options.c, checkpoint state, tests) do not depend on the loop.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "base/error.h"
#include "lpoi/lr_schedule.h"
#include "lpoi/negatives.h"
#include "lpoi/objectives.h"

typedef struct {
    // ---- inputs and outputs ----
    const char *model_dir;        // HF LLaVA folder (config.json, safetensors, tokenizer, preprocessor)
    const char *data_path;        // JSONL (dataset.h describes the accepted records)
    const char *image_root;       // base for relative img_path; NULL = the data file's folder
    const char *negatives;        // manifest.jsonl written by `lpoi negatives`; NULL = boxes / release layout
    BoxFormat box_format;         // how "boxes" are written: BOX_XYXY pixels (default), xywh, normalised
    const char *out_dir;          // run folder (created)
    const char *base_model_name;  // adapter_config base_model_name_or_path; NULL = model_dir
    const char *device;           // "cpu", "cuda", "auto" (default "cpu")
    const char *precision;        // "fp32", "bf16", "fp16": frozen Linear weight storage (backend.h); NULL = fp32
    const char *log_file;         // NULL = OUT/log.jsonl
    const char *eval_data;        // held-out records (as --data) whose list accuracy is logged; NULL = none
    int eval_every;               // steps between held-out evaluations (0: only after the last step)
    // ---- objective (objectives.h) ----
    ObjKind objective;            // OBJ_LPOI
    double beta;                  // 0.1
    double delta;                 // 0 (anchor margin)
    double label_smoothing;       // 0
    ObjLossType loss_type;        // OBJ_LOSS_SIGMOID (TRL's default; hinge, or ipo on answer-token averages)
    double w_dpo, w_anchor, w_list, w_cond;   // 1, 1, 1, 1
    int list_size;                // L = 5
    // ---- LoRA ----
    int lora_r;                   // 8
    double lora_alpha;            // 8
    const char *lora_targets;     // "all-linear" (PEFT default of the paper's scripts)
    double lora_dropout;          // 0: the only value the analytic backward implements (checked)
    // ---- optimiser and schedule ----
    double lr;                    // 1e-6 (paper, LLaVA-1.5-7B)
    LrSchedule lr_scheduler;      // LR_LINEAR (HF's default, as the paper)
    double warmup_ratio;          // 0 (used when warmup_steps < 0)
    int warmup_steps;             // -1 = ceil(warmup_ratio · total steps), as HF
    double adam_beta1, adam_beta2, adam_eps, weight_decay;   // 0.9, 0.999, 1e-8, 0
    double clip;                  // 1.0 global gradient norm (0 = off)
    int epochs;                   // 1
    int micro_batch;              // 1 example per forward
    int grad_accum;               // 64 → effective batch 64
    int max_steps;                // 0 = epochs · ceil(N / effective batch); > 0 caps it
    uint64_t seed;                // 42 (data order, LoRA init, mDPO crops)
    // ---- data limits (TRL DPOConfig defaults, truncation keep_end) ----
    int max_length;               // 512 text tokens (prompt + response; image tokens not counted)
    int max_prompt_length;        // 128
    bool skip_bad;                // skip bad records and count them instead of exit 1
    // ---- checkpoints and logging ----
    int save_every;               // steps between checkpoints (0 = only at the end)
    int keep_checkpoints;         // newest checkpoints kept (2; 0 = all)
    bool resume;                  // continue from the newest complete checkpoint in out_dir
    bool allow_changed_data;      // --resume although the data, model or tokenizer files changed
    bool overwrite;               // a fresh run in an out_dir holding an earlier run removes its
                                  // checkpoints, adapter, log and reference cache (else: refused)
    bool quiet;                   // no progress line
    // ---- testing hooks ----
    int stop_after;               // > 0: stop (exit 0) after this many optimiser steps of THIS run,
                                  // after its checkpoint, as if killed (for the resume test)
    double inject_nan_at;         // > 0: the loss at this step is replaced by NaN (NaN-stop test)
} TrainOptions;

void train_options_default(TrainOptions *o);
// Parses `lpoi train` flags into o (starting from whatever o holds). false + err on a bad flag.
// --config FILE reads "key": value pairs of a JSON object with the flag names (without "--").
bool train_options_parse(TrainOptions *o, int argc, char **argv, LpoiErr *err);
bool train_options_check(const TrainOptions *o, LpoiErr *err);

// Help text for `lpoi train --help`.
void train_print_usage(FILE *to);
// When the effective batch (micro-batch x grad-accum) exceeds the n examples, every epoch is one
// optimiser step on all of them: one warning line to `to` (returns whether it warned).
bool train_warn_batch(const TrainOptions *o, int n, FILE *to);
// The legend of the progress line's columns, printed once before the first step.
void train_print_legend(const TrainOptions *o, FILE *to);
