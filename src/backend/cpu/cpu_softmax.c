// cpu_softmax.c — row softmax over the last dim with an optional additive mask, and its backward.
// out = softmax(x + mask) as PyTorch computes scores + mask then softmax (fp32, max-subtracted).
// A row whose every entry is -inf (fully masked) gives zeros instead of the NaN of 0/0, so a padded
// query row contributes nothing; its backward is then zero too because out is zero.
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vec.h"
#include "backend/cpu/cpu_vexp.h"
#include "base/threads.h"
#include <math.h>
#include <string.h>

typedef struct { float *out; const float *x, *mask; int C; } SmFwd;

static void sm_fwd_rows(void *vctx, size_t r0, size_t r1, int tid) {
    (void)tid;
    SmFwd *c = vctx;
    size_t C = (size_t)c->C;
    for (size_t r = r0; r < r1; r++) {
        const float *x = c->x + r * C, *mk = c->mask ? c->mask + r * C : NULL;
        float *out = c->out + r * C;
        float mx = -INFINITY;
        for (size_t j = 0; j < C; j++) {
            out[j] = mk ? x[j] + mk[j] : x[j];     // out may alias x: read x[j] before writing out[j]
            if (out[j] > mx) mx = out[j];
        }
        if (mx == -INFINITY) { memset(out, 0, C * sizeof(float)); continue; }
        double sum = 0;
        vec_exp_affine(out, out, 1.0f, -mx, C);
        for (size_t j = 0; j < C; j++) sum += out[j];
        float inv = (float)(1.0 / sum);
        vec_scale(out, inv, C);
    }
}

void cpu_softmax_forward(Backend *be, float *out, const float *x, const float *mask, int R, int C) {
    (void)be;
    if (R <= 0 || C <= 0) return;
    SmFwd c = {out, x, mask, C};
    parallel_for((size_t)R, 1024 / (size_t)C + 1, sm_fwd_rows, &c);
}

typedef struct { float *dx; const float *dout, *out; int C; } SmBwd;

// dx = out ∘ (dout − Σ_j out_j dout_j)
static void sm_bwd_rows(void *vctx, size_t r0, size_t r1, int tid) {
    (void)tid;
    SmBwd *c = vctx;
    size_t C = (size_t)c->C;
    for (size_t r = r0; r < r1; r++) {
        const float *y = c->out + r * C, *dy = c->dout + r * C;
        float *dx = c->dx + r * C;
        float s = (float)vec_dot_f64(y, dy, C);
        for (size_t j = 0; j < C; j++) dx[j] = y[j] * (dy[j] - s);
    }
}

void cpu_softmax_backward(Backend *be, float *dx, const float *dout, const float *out, int R, int C) {
    (void)be;
    if (R <= 0 || C <= 0) return;
    SmBwd c = {dx, dout, out, C};
    parallel_for((size_t)R, 1024 / (size_t)C + 1, sm_bwd_rows, &c);
}
