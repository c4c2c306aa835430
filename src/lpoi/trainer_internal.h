// trainer_internal.h — what the trainer's files share: the Trainer state (trainer.c: the loop;
// trainer_setup.c: loading and the reference pre-pass; checkpoint.c: run-folder files and resume;
// trainer_eval.c: evaluation and logit dumps). Not a public API; it needs only the options
// (trainer_options.h) and the adapter folders (adapter_io.h), not the loop's trainer.h.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/rng.h"
#include "image/preprocess.h"
#include "lpoi/dataset.h"
#include "lpoi/adapter_io.h"
#include "lpoi/objectives.h"
#include "lpoi/trainer_options.h"
#include "lpoi/train_model.h"
#include "models/llava.h"
#include "text/tokenizer.h"

// What a run was made from (checkpoint_verify.c: run_identity): one content hash per input.
#define RUN_ID_COUNT 5
typedef struct { const char *key, *what; char val[96]; } RunId;

// One LoRA tensor with its optimiser state (backend memory).
typedef struct {
    char name[256];          // PEFT name (TrainModelOps.lora_tensor)
    int64_t shape[2];
    size_t n;
    float *param, *grad;     // the model's
    float *m, *v;            // AdamW moments (slices of Trainer.opt_mem)
} TrainTensor;

// Sequences per example, in this order (policy and reference alike):
//   0 chosen | x,  1 rejected | x,  then chosen | x_k for k = 2..L (lpoi) or chosen | crop(x) (mdpo).
// Images per example in the batch: one per sequence (x is passed twice, as the reference code does).
typedef struct {
    TrainOptions o;
    ObjConfig obj;
    Backend *be;
    LlavaModel m;
    TrainModel model;        // the interface the loop calls (train_model.h), over m
    bool have_model;
    Tokenizer *tok;
    PreprocessConfig pre;
    DataPixelCtx pix_ctx;
    Dataset data;
    DataTokens *tokens;      // [N]
    int n_seq;               // 2 (dpo), 3 (mdpo), L + 1 (lpoi)
    int n_img;               // distinct images per example: 1, 2 (original + crop), L
    bool crop;               // mdpo: image 2 is the example's random resized crop of image 1
    int side;                // R, the model's image side (dataset.h)
    float *ref;              // [N, n_seq] reference log-probs (host), computed once
    bool ref_ready;
    long ref_forward_examples;   // examples the reference model was run on in THIS process (tests)
    // pixel cache: per example [n_img, 3, R, R] (host), while within TRAIN_PIXEL_CACHE_BYTES
    float **pix_cache;
    size_t pix_cache_bytes;
    // parameters and optimiser
    TrainTensor *t;
    size_t nt;
    float *opt_mem;          // backend: m then v of every tensor
    size_t opt_floats;
    // schedule and position
    int eff_batch, steps_per_epoch, total_steps, warmup;
    int step;                // optimiser steps done
    int epoch;               // 0-based epoch of `order`
    int pos;                 // examples of `order` consumed
    int *order;              // [N] this epoch's permutation
    bool order_ready;
    Rng rng;                 // data order
    // batch scratch (host)
    int32_t *ids, *labels, *mask;
    float *pix_host, *pix_dev;
    size_t pix_dev_floats;
    int cap_tokens;
    // counters
    int truncated;
    char *run_dir_log;       // log path
    int resume_from;         // --resume: the step of the checkpoint checkpoint_resume_pick chose (-1: none)
    RunId run_ids[RUN_ID_COUNT];   // run_identity, computed once by trainer_open (training only)
} Trainer;

#define TRAIN_PIXEL_CACHE_BYTES ((size_t)1 << 30)

// ---- trainer_setup.c ----
// Loads model, tokenizer, image processor and data; tokenises; creates the LoRA adapters (or
// loads adapter_dir's when not NULL). for_eval: n_seq = L chosen sequences, no optimiser.
bool trainer_open(Trainer *tr, const TrainOptions *o, bool for_eval, LpoiErr *err);
// Tokenises record r with the run's limits into out and checks the chosen (and with `rejected`, the
// rejected) ids against the model's vocabulary; false + e "field: reason".
bool trainer_tokenize(const Trainer *tr, const DataRecord *r, bool rejected, DataTokens *out, LpoiErr *e);
// trainer_eval.c: full-order and pairwise accuracy and mean S_1 − S_L of score rows [n, L].
void trainer_rank_stats(const double *v, int n, int L, double *full, double *pair, double *gap);
void trainer_close(Trainer *tr);
// The distinct images of example i into out [n_img, 3, R, R] (through the pixel cache).
bool trainer_example_pixels(Trainer *tr, int i, const float **out, LpoiErr *err);
// Fills the host batch for examples ex[0..ne) (each n_seq sequences, or only the chosen ones on
// every list image when chosen_list_only) and uploads the pixels. Returns the llava batch.
bool trainer_build_batch(Trainer *tr, const int *ex, int ne, bool chosen_list_only, LlavaBatch *b, long *tokens,
                         LpoiErr *err);
// The reference pass over every example without a cached value (adapter off); with skip_bad, an
// example whose image cannot be read is dropped from the data set.
bool trainer_reference_pass(Trainer *tr, LpoiErr *err);

// ---- trainer.c ----
typedef enum {
    TRAIN_STEP_OK,
    TRAIN_STEP_FAILED,       // err says why (data, image, backend)
    TRAIN_STEP_NOT_FINITE,   // a NaN / Inf loss or gradient norm (err): nothing was applied, the run stops
} TrainStepResult;
// One micro-batch of examples ex[0..ne): policy forward (adapter on), objective against the cached
// reference, backward of (its share of) the step's mean loss into the LoRA gradients (+=; the
// micro-batch mean is scaled by ne / n_step). *loss_out = the micro-batch's mean loss. On
// TRAIN_STEP_NOT_FINITE nothing was accumulated.
TrainStepResult trainer_micro_step(Trainer *tr, const int *ex, int ne, int n_step, double *loss_out, ObjStats *st,
                                   long *ntok, LpoiErr *err);

// ---- checkpoint.c ----
// OUT/ref_logps.safetensors: write; read (false without error when absent or made for other data).
bool ref_cache_save(const Trainer *tr, LpoiErr *err);
bool ref_cache_load(Trainer *tr, bool *loaded, LpoiErr *err);
// OUT/checkpoint-<step>/ (adapter + training_state), atomically; prunes old ones.
bool checkpoint_save(Trainer *tr, LpoiErr *err);
// The checkpoint checkpoint_resume_pick chose: restores adapter, moments, step, order, RNG after
// checking every setting and the data lines. *found false (no error) when there is none.
bool checkpoint_resume(Trainer *tr, bool *found, char *which, size_t cap, LpoiErr *err);
// Whether OUT holds any checkpoint-<n> folder.
bool checkpoint_any(const char *out_dir);
// --overwrite: removes an earlier run's checkpoints, adapter, log and reference cache from OUT
// (after this run's inputs were validated). false + err when a removal fails.
bool checkpoint_clear_run(const char *out_dir, LpoiErr *err);
// OUT/adapter/ (the final adapter), replacing an older one.
bool final_adapter_save(Trainer *tr, LpoiErr *err);
// --resume, before anything is computed or written: the newest checkpoint of OUT that verifies
// (an older one, with a note on stderr, when newer ones are torn), checked against this run's
// inputs (run_identity) and the settings that do not depend on the data count. Sets
// tr->resume_from (-1: OUT has no checkpoint). false + err: a mismatch, or no checkpoint verifies.
bool checkpoint_resume_pick(Trainer *tr, LpoiErr *err);
// Finishes what a killed run left: OUT/checkpoint-N.tmp (an unfinished save) and
// OUT/deleting-* (an unfinished prune) are removed. Never touches a complete checkpoint-N.
void checkpoint_finish_leftovers(const char *out_dir);

// ---- checkpoint_verify.c ----
// DIR/checksums.txt: "crc32 size name" for each file of DIR (written last, before the rename).
bool checkpoint_write_checksums(const char *dir, LpoiErr *err);
// Every listed file matches, and the state and adapter are listed; false + err naming the file.
bool checkpoint_verify(const char *dir, LpoiErr *err);
// What the run was made from: content hashes of the data file(s), the model's config.json, its
// weights (index + safetensors headers + sizes + first MiB), the tokenizer files and the image
// processor config. trainer_open computes it once (tr->run_ids); each checkpoint's training_state
// metadata stores it under key.
int run_identity(const Trainer *tr, RunId ids[RUN_ID_COUNT]);
