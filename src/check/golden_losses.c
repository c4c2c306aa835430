// golden_losses.c — runners for the loss.* golden cases (tools/golden_losses.py): the DPO, mDPO
// and LPOI objectives of src/lpoi/objectives.c against torch autograd.
//
// The objectives are host math in double on per-sequence log-probs, so the runner takes each
// in.* tensor through the backend (gr_in: the harness marks it used and checks it comes back
// unchanged), reads it back to the host, and compares host results with gr_expect_host.
// Contract (see tools/golden_losses.py for the full list):
//   config {B, beta, label_smoothing, w_dpo, scalar = "out.loss"}
//          + {delta, w_anchor} (mdpo, lpoi) + {w_cond} (mdpo) + {L, w_list} (lpoi)
//   in.pol_/ref_ chosen, rejected [B]; list [B,L] (lpoi); crop [B] (mdpo)
//   out.loss [1] (batch mean), out.losses [B] (per-example totals), the per-example terms and
//   monitoring values; grad.pol_* = d out.loss / d in.pol_* (reference log-probs are constants).
// Gradients start as NaN (a forgotten element fails) and the objective runs twice on the same
// arrays, so gradients that accumulate instead of overwriting fail too.
#include "check/golden_losses.h"
#include "lpoi/objectives.h"
#include "base/check.h"
#include <math.h>
#include <stddef.h>
#include <string.h>

#define SHAPE GR_SHAPE
#define POOL_MAX 24

typedef struct { void *p[POOL_MAX]; int n; } Pool;   // host buffers freed when the case ends

static void *pool_keep(Pool *pool, void *p) {
    LPOI_ASSERT(pool->n < POOL_MAX);
    pool->p[pool->n++] = p;
    return p;
}

static void pool_free(Pool *pool) {
    for (int i = 0; i < pool->n; i++) free(pool->p[i]);
    pool->n = 0;
}

// An fp32 input of the case as host doubles.
static double *in_host(GoldenRun *r, Pool *pool, const char *name, const int64_t *dims, int ndim) {
    float *h = gr_in_host(r, name, dims, ndim);
    if (!h) return NULL;
    size_t n = gr_numel(r, dims, ndim);
    double *d = pool_keep(pool, malloc_check(n * sizeof *d));
    for (size_t i = 0; i < n; i++) d[i] = h[i];
    free(h);
    return d;
}

static double *nan_buf(Pool *pool, size_t n) {
    double *d = pool_keep(pool, malloc_check(n * sizeof *d));
    for (size_t i = 0; i < n; i++) d[i] = NAN;
    return d;
}

static void expect_f64(GoldenRun *r, const double *v, const char *name, const int64_t *dims, int ndim) {
    size_t n = gr_numel(r, dims, ndim);
    if (!gr_ready(r)) return;
    float *f = malloc_check(n * sizeof *f + sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
    gr_expect_host(r, f, name, dims, ndim);
    free(f);
}

// out.<name>[B] from one double field of each example's stats.
static void expect_stat(GoldenRun *r, const ObjStats *per, int B, size_t offset, const char *name) {
    double *v = malloc_check((size_t)B * sizeof *v);
    for (int i = 0; i < B; i++) memcpy(&v[i], (const char *)&per[i] + offset, sizeof *v);
    expect_f64(r, v, name, SHAPE(B));
    free(v);
}
#define EXPECT_STAT(field) expect_stat(r, per, B, offsetof(ObjStats, field), "out." #field)

static void run_loss(GoldenRun *r, ObjKind kind) {
    Pool pool = {0};
    ObjConfig cfg = obj_config_default(kind);
    int B = gr_cfg_int(r, "B", 1, 1 << 20);
    cfg.beta = gr_cfg_num(r, "beta");
    cfg.label_smoothing = gr_cfg_num(r, "label_smoothing");
    cfg.w_dpo = gr_cfg_num(r, "w_dpo");
    if (kind != OBJ_DPO) {
        cfg.delta = gr_cfg_num(r, "delta");
        cfg.w_anchor = gr_cfg_num(r, "w_anchor");
    }
    if (kind == OBJ_MDPO) cfg.w_cond = gr_cfg_num(r, "w_cond");
    if (kind == OBJ_LPOI) {
        cfg.list_size = gr_cfg_int(r, "L", 2, OBJ_MAX_L);
        cfg.w_list = gr_cfg_num(r, "w_list");
    }
    const char *scalar = gr_cfg_str(r, "scalar");
    if (!gr_ready(r)) return;
    if (strcmp(scalar, "out.loss") != 0) {
        gr_error(r, "config: scalar \"%s\", expected \"out.loss\" (grad.* are d out.loss / d in.pol_*)", scalar);
        return;
    }
    LpoiErr err = {{0}};
    if (!obj_config_check(&cfg, &err)) { gr_error(r, "config: %s", err.msg); return; }
    const int L = cfg.list_size;

    ObjBatch b = {.B = B};
    b.pol_chosen = in_host(r, &pool, "in.pol_chosen", SHAPE(B));
    b.ref_chosen = in_host(r, &pool, "in.ref_chosen", SHAPE(B));
    b.pol_rejected = in_host(r, &pool, "in.pol_rejected", SHAPE(B));
    b.ref_rejected = in_host(r, &pool, "in.ref_rejected", SHAPE(B));
    if (obj_uses_list(kind)) {
        b.pol_list = in_host(r, &pool, "in.pol_list", SHAPE(B, L));
        b.ref_list = in_host(r, &pool, "in.ref_list", SHAPE(B, L));
    }
    if (obj_uses_crop(kind)) {
        b.pol_crop = in_host(r, &pool, "in.pol_crop", SHAPE(B));
        b.ref_crop = in_host(r, &pool, "in.ref_crop", SHAPE(B));
    }
    if (!gr_ready(r)) { pool_free(&pool); return; }

    ObjBatchGrad g = {.d_chosen = nan_buf(&pool, (size_t)B), .d_rejected = nan_buf(&pool, (size_t)B)};
    if (obj_uses_list(kind)) g.d_list = nan_buf(&pool, (size_t)B * L);
    if (obj_uses_crop(kind)) g.d_crop = nan_buf(&pool, (size_t)B);
    ObjStats *per = pool_keep(&pool, calloc_check((size_t)B, sizeof *per));
    double loss = 0;
    for (int pass = 0; pass < 2; pass++) loss = obj_batch(&cfg, &b, &g, NULL, per);

    expect_f64(r, &loss, "out.loss", SHAPE(1));
    expect_stat(r, per, B, offsetof(ObjStats, loss), "out.losses");
    EXPECT_STAT(dpo);
    EXPECT_STAT(reward_chosen);
    EXPECT_STAT(reward_rejected);
    if (kind != OBJ_DPO) EXPECT_STAT(anchor);
    if (kind == OBJ_MDPO) {
        EXPECT_STAT(cond);
        EXPECT_STAT(reward_crop);
    }
    if (kind == OBJ_LPOI) {
        EXPECT_STAT(list);
        EXPECT_STAT(list_full_acc);
        EXPECT_STAT(list_pair_acc);
        double *S = pool_keep(&pool, malloc_check((size_t)B * L * sizeof *S));
        for (int i = 0; i < B; i++) memcpy(S + (size_t)i * L, per[i].S, (size_t)L * sizeof *S);
        expect_f64(r, S, "out.S", SHAPE(B, L));
    }
    expect_f64(r, g.d_chosen, "grad.pol_chosen", SHAPE(B));
    expect_f64(r, g.d_rejected, "grad.pol_rejected", SHAPE(B));
    if (g.d_list) expect_f64(r, g.d_list, "grad.pol_list", SHAPE(B, L));
    if (g.d_crop) expect_f64(r, g.d_crop, "grad.pol_crop", SHAPE(B));
    pool_free(&pool);
}

void golden_run_loss_dpo(GoldenRun *r) { run_loss(r, OBJ_DPO); }
void golden_run_loss_mdpo(GoldenRun *r) { run_loss(r, OBJ_MDPO); }
void golden_run_loss_lpoi(GoldenRun *r) { run_loss(r, OBJ_LPOI); }
