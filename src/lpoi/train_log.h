// train_log.h — the reader of a training log (RUN/log.jsonl: one JSON object per optimiser step,
// as trainer.c writes it) and the loss chart that `lpoi plot` and `lpoi demo` draw from it
// (image/plot.h).
#pragma once
#include <stdbool.h>
#include "base/error.h"
#include "image/plot.h"

typedef enum {
    TLOG_STEP, TLOG_LOSS, TLOG_DPO, TLOG_ANCHOR, TLOG_LIST, TLOG_COND, TLOG_ACC, TLOG_MARGIN, TLOG_LIST_FULL_ACC,
    TLOG_LR, TLOG_GRAD_NORM, TLOG_EVAL_FULL_ACC, TLOG_EVAL_PAIR_ACC, TLOG_EVAL_GAP, TLOG_NCOLS
} TrainLogCol;
extern const char *const TRAIN_LOG_KEYS[TLOG_NCOLS];   // "step", "loss", "dpo", ... (the log's keys)

typedef struct {
    int n;                        // steps (lines)
    double *col[TLOG_NCOLS];      // [n] each; a key missing from a line is NaN there
    bool has_list;                // some line has "list_full_acc" (a listwise objective: lpoi)
    bool has_cond;                // some line has "reward_crop" or a non-zero "cond" (mdpo)
    bool has_eval;                // some line has "eval_list_full_acc" (--eval-data; NaN on other lines)
} TrainLog;

// Reads a training log. Blank lines are skipped; every other line must be a JSON object with a
// numeric "step", and the keys of TRAIN_LOG_KEYS it has must be numbers. Errors: the file's own
// ("PATH: ..."), or "PATH:LINE: reason" for a bad line. An empty log is no error (n = 0).
bool train_log_read(const char *path, TrainLog *l, LpoiErr *err);
void train_log_free(TrainLog *l);

// The loss chart of a log into box: total, text DPO, anchor, listwise (has_list or any non-zero
// value) and conditional (has_cond), each smoothed (plot_smooth_window) over its raw values;
// x labelled with the first and last step. The title gets " - LINES: MEAN OF W STEPS" when W > 1.
void train_log_plot_losses(Image *img, ImgRect box, const TrainLog *l, const char *title);
