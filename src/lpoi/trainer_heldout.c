// trainer_heldout.c — held-out list accuracy during training (trainer_heldout.h).
// The evaluation borrows the trainer's batch builder: the held-out data, tokens and pixel cache are
// swapped into the Trainer (sequences = the chosen answer on the L list images) for the forward
// passes and swapped back after, so nothing of the model is duplicated.
#include "lpoi/trainer_heldout.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct TrainHeldout {
    char *path;
    Dataset data;
    DataTokens *tokens;      // [n]
    float **pix_cache;       // [n], as Trainer.pix_cache
    size_t pix_cache_bytes;
    double *ref;             // [n, L] reference log-probs of the chosen answer on each list image
};

// What the swap exchanges between the trainer and the held-out set.
typedef struct {
    Dataset data;
    DataTokens *tokens;
    float **pix_cache;
    size_t pix_cache_bytes;
    int n_seq, n_img;
    bool crop;
    const char *data_path;
} Slot;

static void exchange(Trainer *tr, TrainHeldout *h, Slot *saved) {
    *saved = (Slot){tr->data, tr->tokens, tr->pix_cache, tr->pix_cache_bytes, tr->n_seq, tr->n_img, tr->crop,
                    tr->pix_ctx.data_path};
    tr->data = h->data;
    tr->tokens = h->tokens;
    tr->pix_cache = h->pix_cache;
    tr->pix_cache_bytes = h->pix_cache_bytes;
    tr->n_seq = tr->n_img = tr->o.list_size;
    tr->crop = false;
    tr->pix_ctx.data_path = h->path;
}

static void restore(Trainer *tr, TrainHeldout *h, const Slot *saved) {
    h->pix_cache = tr->pix_cache;   // the cache may have grown
    h->pix_cache_bytes = tr->pix_cache_bytes;
    tr->data = saved->data;
    tr->tokens = saved->tokens;
    tr->pix_cache = saved->pix_cache;
    tr->pix_cache_bytes = saved->pix_cache_bytes;
    tr->n_seq = saved->n_seq;
    tr->n_img = saved->n_img;
    tr->crop = saved->crop;
    tr->pix_ctx.data_path = saved->data_path;
}

// log-probs [n, L] of the chosen answer on every list image, adapter on or off.
static bool list_logps(Trainer *tr, TrainHeldout *h, bool lora, double *out, LpoiErr *err) {
    const int L = tr->o.list_size, mb = LPOI_MAX(1, tr->o.micro_batch), n = h->data.n;
    float *lp = malloc_check((size_t)mb * L * sizeof *lp);
    int *ex = malloc_check((size_t)mb * sizeof *ex);
    Slot saved;
    exchange(tr, h, &saved);
    tm_set_lora(&tr->model, lora);
    bool ok = true;
    for (int i = 0; i < n && ok; i += mb) {
        int ne = LPOI_MIN(mb, n - i);
        for (int e = 0; e < ne; e++) ex[e] = i + e;
        LlavaBatch b;
        ok = trainer_build_batch(tr, ex, ne, true, &b, NULL, err) && tm_logps_forward(&tr->model, &b, false, lp, err);
        for (int k = 0; ok && k < ne * L; k++) out[(size_t)i * L + k] = lp[k];
    }
    tm_set_lora(&tr->model, true);
    restore(tr, h, &saved);
    free(lp);
    free(ex);
    return ok;
}

TrainHeldout *heldout_open(Trainer *tr, const char *path, LpoiErr *err) {
    const TrainOptions *o = &tr->o;
    TrainHeldout *h = calloc_check(1, sizeof *h);
    h->path = strdup(path);
    if (!h->path) LPOI_DIE("out of memory");
    DatasetOptions dopt = {.image_root = o->image_root, .list_size = o->list_size, .check_files = true,
                           .box_format = o->box_format};
    if (!dataset_load(&h->data, path, &dopt, err)) { heldout_free(h); return NULL; }
    h->tokens = calloc_check((size_t)h->data.n, sizeof *h->tokens);
    h->pix_cache = calloc_check((size_t)h->data.n, sizeof *h->pix_cache);
    for (int i = 0; i < h->data.n; i++) {   // only the chosen answer is scored
        LpoiErr e = {{0}};
        if (!trainer_tokenize(tr, &h->data.rec[i], false, &h->tokens[i], &e)) {
            err_set(err, "%s:%d: %s", path, h->data.rec[i].line, e.msg);
            heldout_free(h);
            return NULL;
        }
    }
    h->ref = malloc_check((size_t)h->data.n * o->list_size * sizeof *h->ref);
    if (!list_logps(tr, h, false, h->ref, err)) { heldout_free(h); return NULL; }
    return h;
}

bool heldout_eval(Trainer *tr, TrainHeldout *h, HeldoutStats *st, LpoiErr *err) {
    const int L = tr->o.list_size, n = h->data.n;
    double *S = malloc_check((size_t)n * L * sizeof *S);
    bool ok = list_logps(tr, h, true, S, err);
    if (ok) {
        for (size_t k = 0; k < (size_t)n * L; k++) S[k] = tr->o.beta * (S[k] - h->ref[k]);
        st->n = n;
        trainer_rank_stats(S, n, L, &st->full_acc, &st->pair_acc, &st->gap);
    }
    free(S);
    return ok;
}

void heldout_free(TrainHeldout *h) {
    if (!h) return;
    for (int i = 0; h->tokens && i < h->data.n; i++) data_tokens_free(&h->tokens[i]);
    for (int i = 0; h->pix_cache && i < h->data.n; i++) free(h->pix_cache[i]);
    free(h->tokens);
    free(h->pix_cache);
    free(h->ref);
    dataset_free(&h->data);
    free(h->path);
    free(h);
}
