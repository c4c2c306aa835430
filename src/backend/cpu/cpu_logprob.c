// cpu_logprob.c — log-probability of each row's target token, and its backward.
// Forward, per row: max, then Σ exp(x − max) in double (two passes over V; a 32000-wide row of
// logits stays in L2), lse = max + log1p(Σ without the max's own 1). logp = (x_t − max) − log1p(..)
// in double, so a near-certain token's tiny log-prob keeps its relative precision instead of
// inheriting the rounding of lse.
// targets[n] < 0 (ignore index, e.g. -100) gives logp = 0, and a zero row in the backward.
// Backward: dlogits = dlogp · (onehot(t) − exp(x − lse)), overwriting. Rows are split between threads.
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vexp.h"
#include "base/threads.h"
#include <math.h>
#include <string.h>

enum { EXP_CHUNK = 512 };  // exp of a row in stack-sized chunks (no allocation per call)

typedef struct {
    float *logp, *lse, *dlogits; const float *logits, *dlogp; const float *lse_in; const int32_t *targets; int V;
} LpCtx;

static void lp_fwd_rows(void *vctx, size_t n0, size_t n1, int tid) {
    (void)tid;
    LpCtx *c = vctx;
    size_t V = (size_t)c->V;
    for (size_t n = n0; n < n1; n++) {
        const float *x = c->logits + n * V;
        size_t jm = 0;
        for (size_t j = 1; j < V; j++) jm = x[j] > x[jm] ? j : jm;
        const float mx = x[jm];
        double s = 0;   // Σ over j != jm; the max itself contributes exactly 1
        float e[EXP_CHUNK];
        for (size_t j0 = 0; j0 < V; j0 += EXP_CHUNK) {
            const size_t w = V - j0 < EXP_CHUNK ? V - j0 : EXP_CHUNK;
            vec_exp_affine(e, x + j0, 1.0f, -mx, w);
            for (size_t j = 0; j < w; j++) s += j0 + j == jm ? 0.0f : e[j];
        }
        double ls = log1p(s);
        if (c->lse) c->lse[n] = (float)(mx + ls);
        int32_t t = c->targets[n];
        c->logp[n] = t < 0 ? 0.0f : (float)(((double)x[t] - mx) - ls);
    }
}

void cpu_logprob_forward(Backend *be, float *logp, float *lse, const float *logits, const int32_t *targets, int N, int V) {
    (void)be;
    if (N <= 0 || V <= 0) return;
    LpCtx c = {.logp = logp, .lse = lse, .logits = logits, .targets = targets, .V = V};
    parallel_for((size_t)N, 1, lp_fwd_rows, &c);
}

static void lp_bwd_rows(void *vctx, size_t n0, size_t n1, int tid) {
    (void)tid;
    LpCtx *c = vctx;
    size_t V = (size_t)c->V;
    for (size_t n = n0; n < n1; n++) {
        float *dx = c->dlogits + n * V;
        int32_t t = c->targets[n];
        if (t < 0) { memset(dx, 0, V * sizeof(float)); continue; }
        const float *x = c->logits + n * V;
        float g = c->dlogp[n], l = c->lse_in[n], ng = -g;
        vec_exp_affine(dx, x, 1.0f, -l, V);
        for (size_t j = 0; j < V; j++) dx[j] *= ng;
        dx[t] += g;
    }
}

void cpu_logprob_backward(Backend *be, float *dlogits, const float *dlogp, const float *logits, const float *lse,
                          const int32_t *targets, int N, int V) {
    (void)be;
    if (N <= 0 || V <= 0) return;
    LpCtx c = {.dlogits = dlogits, .dlogp = dlogp, .logits = logits, .lse_in = lse, .targets = targets, .V = V};
    parallel_for((size_t)N, 1, lp_bwd_rows, &c);
}
