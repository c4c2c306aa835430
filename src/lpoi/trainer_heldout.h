// trainer_heldout.h — held-out list accuracy during `lpoi train` (--eval-data FILE --eval-every N):
// every N optimiser steps (and after the last), the chosen answer's S_k = β(log πθ − log πref) on the
// L images of each held-out list, with the training model itself (no second copy). The reference
// log-probs are computed once, adapter off, when the set is opened. Results go into that step's
// log line ("eval_list_full_acc", "eval_list_pair_acc", "eval_S_gap"), which `lpoi plot` draws.
#pragma once
#include <stdbool.h>
#include "base/error.h"
#include "lpoi/trainer_internal.h"

typedef struct TrainHeldout TrainHeldout;

typedef struct {
    int n;                 // held-out lists
    double full_acc;       // S_1 > ... > S_L
    double pair_acc;       // share of pairs i < j with S_i > S_j
    double gap;            // mean S_1 − S_L
} HeldoutStats;

// Loads and tokenises `path` like the training data (records with boxes, a negatives layout, ...),
// then the reference pass. tr must be open (model, tokenizer, processor). false + err "PATH:LINE: ...".
TrainHeldout *heldout_open(Trainer *tr, const char *path, LpoiErr *err);
// Scores every held-out list with the adapter on (the model's LoRA state is left on).
bool heldout_eval(Trainer *tr, TrainHeldout *h, HeldoutStats *st, LpoiErr *err);
void heldout_free(TrainHeldout *h);
