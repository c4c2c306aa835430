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
//                                  step, data order, RNG state, options that must not change, hashes
//                                  of the data/model/tokenizer) + checksums.txt (written last)
//   OUT/adapter/                   the final adapter (PEFT), written at the end
//   OUT/deleting-checkpoint-<n>/   a pruned checkpoint renamed aside (finished by the next start)
//   OUT/corrupt-checkpoint-<n>/    a checkpoint that did not verify, set aside by a --resume that fell back
// Every file is written to a temp name and renamed; a checkpoint folder is built as
// checkpoint-<step>.tmp and renamed whole, so a kill at any moment leaves the last complete
// checkpoint. --resume continues from the newest checkpoint that verifies and reproduces, bit for bit,
// the losses of an uninterrupted run. A NaN or Inf loss stops the run (exit 1) before the
// optimiser touches the weights; the last good checkpoint stays as it was.
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include "base/error.h"
#include "lpoi/trainer_options.h"

// What a finished run measured (train_run_result).
typedef struct {
    int steps;                    // optimiser steps done in total (including resumed ones)
    double last_loss;             // mean loss of the last step
    double seconds;               // wall time of this run
    double examples_per_s, tokens_per_s;   // policy training throughput of this run
    int skipped_records, truncated_records;
    long ref_forward_examples;    // examples the reference model (adapter off) ran on in this run
} TrainResult;

// How a run ended; the values are the exit codes of `lpoi train`.
typedef enum {
    TRAIN_OK = 0,            // done (or stopped by stop_after, as if killed)
    TRAIN_FAILED = 1,        // an error, or a NaN / Inf loss or gradient norm stopped it
    TRAIN_BAD_OPTIONS = 2,   // train_options_check refused the options
} TrainExit;

// Trains; messages on stderr.
TrainExit train_run(const TrainOptions *o);
TrainExit train_run_result(const TrainOptions *o, TrainResult *res);

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

// ---- logits with an adapter (tools/test_peft_roundtrip.py, the demo's model and adapter checks) ----
// One image + prompt (+ answer: the training template "USER: <image>\n{q} ASSISTANT: {a} ", else the
// generation prompt), BOS added, <image> expanded; writes a safetensors file with input_ids I32
// [1,T], pixel_values F32 [1,3,R,R] and logits F32 [1,T,V] computed with the PEFT adapter in
// adapter_dir (NULL: the base model), and metadata "text" (the rendered prompt + answer), "image",
// "model" and "adapter". The oracles (tools/test_peft_roundtrip.py, tools/test_demo_model_loads.py)
// recompute them with transformers.
// An Idefics2 folder (config.json model_type "idefics2"): the idefics2 chat template (with an answer the
// training pair "User:<image>{q}<end_of_utterance>\nAssistant: {a}<end_of_utterance>\n"), the
// processor as its config says, pixel_values F32 [1,N,3,H,W] and pixel_attention_mask U8 [1,N,H,W].
// adapter_out (needs adapter_dir): also writes the loaded adapter there as lpoi writes adapters, so
// the oracle can load lpoi's writing in PEFT.
typedef struct {
    const char *model_dir, *adapter_dir, *image, *prompt, *answer, *out, *device;
    const char *adapter_out;
} TrainDumpArgs;
bool train_dump_logits(const TrainDumpArgs *a, LpoiErr *err);
bool train_dump_logits_idefics2(const TrainDumpArgs *a, LpoiErr *err);   // trainer_dump_idefics2.c
// The dump's end (both models): metadata text, image, adapter, model; writes a->out and frees w.
typedef struct StWriter StWriter;   // base/safetensors.h
bool train_dump_write(StWriter *w, const TrainDumpArgs *a, const char *text, LpoiErr *err);
