// eval_run.h — the run behind `lpoi eval`: one LLaVA-1.5 checkpoint loaded once, a benchmark's
// questions (eval/bench.h) answered greedily by each adapter in turn (and the base model), each
// run's answers appended to OUT/<name>/answers.jsonl as they come, then scored (bench_score_file)
// into OUT/<name>/metrics.json, with a side-by-side table of every run and OUT/summary.json.
//
// Resumable: every answer is one line {"id": ..., "image": ..., "question": ..., "answer": ...}
// written with one write() and fdatasync'd; on a restart a last line without its newline (a kill
// during the write) is cut off and the ids already answered are skipped, so a killed run goes on
// where it stopped, with no duplicate and no half-written line.
//
// MMHal-Bench (EVAL_MMHAL) has no C scorer (its judge is GPT-4): the answers are written into its
// template (OUT/<name>/mmhal_answers.json: the template with "model_answer" filled) for the
// external judge.
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include "base/error.h"
#include "eval/bench.h"

#define EVAL_MAX_RUNS 16

typedef struct {
    const char *name;                // OUT/<name>/; "base" for the model without adapter
    const char *adapter;             // a PEFT folder, or NULL for the base model
} EvalRun;

typedef struct {
    const char *model_dir, *device;
    EvalRun runs[EVAL_MAX_RUNS];
    int n_runs;
    bool mmhal;                      // MMHal-Bench instead of `bench`
    BenchKind bench;
    const char *images_dir;          // the bench's images (BenchItem.image is relative to it)
    const char *data_dir;            // the bench's data folder (eval/bench.h; MMHal: its template's folder)
    const char *out_dir;             // created when absent
    int max_new;                     // tokens per answer at most
    int limit;                       // > 0: only the first `limit` items (a quick look, tests)
    FILE *log;                       // progress with ETA and notes; NULL: quiet
    FILE *table;                     // the side-by-side table; NULL: none
    int stop_after;                  // testing hook: > 0 stops (returns true) after this many new
                                     // answers in all, as a kill would
} EvalArgs;

// The default `--max-new`: long descriptions for the generative benches (chair, amber, mmhal),
// a few tokens for the yes/no ones (amber-disc, pope).
int eval_default_max_new(bool mmhal, BenchKind b);

// The run's name from an `--adapter` argument: "NAME=DIR" gives NAME; otherwise the folder's last
// component, or the one above it when that is "adapter" (RUN/adapter from lpoi train gives RUN).
// Writes into buf; returns the adapter folder within arg.
const char *eval_run_name(const char *arg, char *buf, size_t cap);

// Loads the items and checks every image, the adapters and the output folder before any answer;
// answers, scores and tabulates. false + err (one line naming the file or the item) on failure.
bool eval_run(const EvalArgs *a, LpoiErr *err);
