// trainer.h — `lpoi train`: LoRA preference training of LLaVA-1.5 with DPO, mDPO or LPOI
// (arXiv 2505.21061), and the evaluation the demo reports before and after training.
//
// One optimiser step = grad_accum micro-batches of micro_batch examples (effective batch
// micro_batch · grad_accum, the paper's 64 = 1 × 64). Per example the trainer runs, with the LoRA
// adapter ON (policy), in one llava batch:
//   dpo   chosen | x, rejected | x                                    (2 sequences)
//   mdpo  + chosen | crop(x), crop = random resized crop keeping 1–20 % of the area (seeded)
//   lpoi  + chosen | x_k, k = 2..L (x_1 = x: π_1 is the chosen forward, its gradients are added)
// and, ONCE per example for the whole run, the same sequences with the adapter OFF (the reference
// πref; cached in memory and in OUT/ref_logps.safetensors, reused by --resume and later epochs).
// The loss and d loss / d logp come from objectives.h (batch mean over the micro-batch, divided
// again by grad_accum so the accumulated gradient is the mean over the effective batch), go back
// through llava_logps_backward into every LoRA A/B, then: global-norm clipping, AdamW
// (op table adamw_update), linear warmup then linear decay to 0 at the last step.
//
// Run folder OUT:
//   OUT/log.jsonl                  one JSON object per optimiser step (losses, S_1..S_L, accuracies,
//                                  margin, lr, grad norm, tokens/s, examples/s)
//   OUT/ref_logps.safetensors      reference log-probs per example (written atomically)
//   OUT/checkpoint-<step>/         adapter_model.safetensors + adapter_config.json (PEFT, loads with
//                                  PeftModel.from_pretrained) + training_state.safetensors (AdamW m, v,
//                                  step, data order, RNG state, options that must not change)
//   OUT/adapter/                   the final adapter (PEFT), written at the end
// Every file is written to a temp name and renamed; a checkpoint folder is built as
// checkpoint-<step>.tmp and renamed whole, so a kill at any moment leaves the last complete
// checkpoint. --resume continues from the newest complete checkpoint and reproduces, bit for bit,
// the losses of an uninterrupted run. A NaN or Inf loss stops the run (exit 1) before the
// optimiser touches the weights; the last good checkpoint stays as it was.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "base/error.h"
#include "lpoi/objectives.h"

typedef struct {
    // ---- inputs and outputs ----
    const char *model_dir;        // HF LLaVA folder (config.json, safetensors, tokenizer, preprocessor)
    const char *data_path;        // JSONL (dataset.h describes the accepted records)
    const char *image_root;       // base for relative img_path; NULL = the data file's folder
    const char *negatives;        // manifest.jsonl written by `lpoi negatives`; NULL = boxes / release layout
    const char *out_dir;          // run folder (created)
    const char *base_model_name;  // adapter_config base_model_name_or_path; NULL = model_dir
    const char *device;           // "cpu", "cuda", "auto" (default "cpu")
    const char *log_file;         // NULL = OUT/log.jsonl
    // ---- objective (objectives.h) ----
    ObjKind objective;            // OBJ_LPOI
    double beta;                  // 0.1
    double delta;                 // 0 (anchor margin)
    double label_smoothing;       // 0
    double w_dpo, w_anchor, w_list, w_cond;   // 1, 1, 1, 1
    int list_size;                // L = 5
    // ---- LoRA ----
    int lora_r;                   // 8
    double lora_alpha;            // 8
    const char *lora_targets;     // "all-linear" (PEFT default of the paper's scripts)
    // ---- optimiser and schedule ----
    double lr;                    // 1e-6 (paper, LLaVA-1.5-7B)
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

// What a finished run measured (train_run_result).
typedef struct {
    int steps;                    // optimiser steps done in total (including resumed ones)
    double last_loss;             // mean loss of the last step
    double seconds;               // wall time of this run
    double examples_per_s, tokens_per_s;   // policy training throughput of this run
    int skipped_records, truncated_records;
    long ref_forward_examples;    // examples the reference model (adapter off) ran on in this run
} TrainResult;

// Trains; returns the exit code (0 done, 1 error/NaN stop, 2 bad options). Messages on stderr.
int train_run(const TrainOptions *o);
int train_run_result(const TrainOptions *o, TrainResult *res);

// ---- evaluation (the demo's before/after numbers) ----
// For every example of o->data_path (o->list_size images per list: negatives as in training), with
// the model o->model_dir and the PEFT adapter in adapter_dir (NULL = no adapter):
//   pol[i,k] = log πθ(w | x_k, q) (adapter on), ref[i,k] = log πref(w | x_k, q) (adapter off),
//   S[i,k]   = β (pol − ref).
// Accuracies over examples: full = S strictly decreasing (chance 1/L!), pair = share of pairs
// i < j with S_i > S_j (chance 1/2); gap = mean S_1 − S_L. With no adapter S ≡ 0 (and the S
// accuracies are 0): the logp_* fields rank by pol instead, which is meaningful at any point.
typedef struct {
    int n, L;
    double *pol, *ref, *S;        // [n, L], malloc'ed (train_eval_free)
    double full_acc, pair_acc, gap;                // on S
    double logp_full_acc, logp_pair_acc, logp_gap; // on pol
} TrainEval;
bool train_evaluate(const TrainOptions *o, const char *adapter_dir, TrainEval *out, LpoiErr *err);
void train_eval_free(TrainEval *e);

// ---- logits with an adapter (tools/test_peft_roundtrip.py) ----
// One image + prompt (+ answer: the training template "USER: <image>\n{q} ASSISTANT: {a} ", else the
// generation prompt), BOS added, <image> expanded; writes a safetensors file with input_ids I32
// [1,T], pixel_values F32 [1,3,S,S] and logits F32 [1,T,V] computed with the PEFT adapter in
// adapter_dir (NULL: the base model).
typedef struct {
    const char *model_dir, *adapter_dir, *image, *prompt, *answer, *out, *device;
} TrainDumpArgs;
bool train_dump_logits(const TrainDumpArgs *a, LpoiErr *err);

// Help text for `lpoi train --help`.
void train_print_usage(FILE *to);
