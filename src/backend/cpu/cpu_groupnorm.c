// cpu_groupnorm.c — torch.nn.GroupNorm (affine) on channels-last x [N,P,C], forward and backward.
// Group statistics are reduced in double and rounded to fp32 where torch holds them in fp32 (mean, rstd), as
// cpu_norm.c does for LayerNorm. dx is split by (n, g) groups; dw/db by channel ranges, each summing all
// (n, p) in order in double: race-free and the same bits on any thread count.
#include "backend/cpu/cpu_ops.h"
#include "base/check.h"
#include "base/threads.h"
#include <math.h>

typedef struct {
    float *out, *mean, *rstd, *dx, *dw, *db;
    const float *x, *w, *b, *dout, *smean, *srstd;
    int N, P, C, G;
    float eps;
} GroupNorm;

static void gn_fwd_groups(void *vctx, size_t i0, size_t i1, int tid) {
    (void)tid;
    GroupNorm *c = vctx;
    const int P = c->P, C = c->C, Cg = C / c->G;
    for (size_t i = i0; i < i1; i++) {   // i = n·G + g
        size_t n = i / (size_t)c->G, c0 = (i % (size_t)c->G) * Cg;
        const float *x = c->x + n * P * C + c0;
        double s = 0, v = 0;
        for (int p = 0; p < P; p++)
            for (int j = 0; j < Cg; j++) s += x[(size_t)p * C + j];
        double md = s / ((double)P * Cg);
        for (int p = 0; p < P; p++)
            for (int j = 0; j < Cg; j++) { double d = x[(size_t)p * C + j] - md; v += d * d; }
        float m = (float)md, r = 1.0f / sqrtf((float)(v / ((double)P * Cg)) + c->eps);
        if (c->mean) c->mean[i] = m;
        if (c->rstd) c->rstd[i] = r;
        float *o = c->out + n * P * C + c0;
        for (int p = 0; p < P; p++)
            for (int j = 0; j < Cg; j++)
                o[(size_t)p * C + j] = (x[(size_t)p * C + j] - m) * r * c->w[c0 + j] + c->b[c0 + j];
    }
}

void cpu_groupnorm_forward(Backend *be, float *out, float *mean, float *rstd, const float *x, const float *w,
                           const float *b, int N, int P, int C, int G, float eps) {
    (void)be;
    if (N <= 0 || P <= 0 || C <= 0) return;
    LPOI_ASSERT(G > 0 && C % G == 0);
    GroupNorm c = {.out = out, .mean = mean, .rstd = rstd, .x = x, .w = w, .b = b, .N = N, .P = P, .C = C, .G = G,
                   .eps = eps};
    parallel_for((size_t)N * G, 1, gn_fwd_groups, &c);
}

// dx = r (u − mean(u) − x̂ mean(u x̂)) over the group, u = w∘dy, x̂ = (x − mean) r
static void gn_bwd_groups(void *vctx, size_t i0, size_t i1, int tid) {
    (void)tid;
    GroupNorm *c = vctx;
    const int P = c->P, C = c->C, Cg = C / c->G;
    for (size_t i = i0; i < i1; i++) {
        size_t n = i / (size_t)c->G, c0 = (i % (size_t)c->G) * Cg, off = n * P * C + c0;
        const float *x = c->x + off, *dy = c->dout + off, *w = c->w + c0;
        float m = c->smean[i], r = c->srstd[i];
        double su = 0, sux = 0;
        for (int p = 0; p < P; p++)
            for (int j = 0; j < Cg; j++) {
                size_t e = (size_t)p * C + j;
                float u = w[j] * dy[e];
                su += u;
                sux += (double)u * ((x[e] - m) * r);
            }
        float mu = (float)(su / ((double)P * Cg)), mux = (float)(sux / ((double)P * Cg));
        float *dx = c->dx + off;
        for (int p = 0; p < P; p++)
            for (int j = 0; j < Cg; j++) {
                size_t e = (size_t)p * C + j;
                dx[e] = r * (w[j] * dy[e] - mu - ((x[e] - m) * r) * mux);
            }
    }
}

// dw[c] += Σ_{n,p} dy x̂, db[c] += Σ_{n,p} dy for channels [j0, j1)
static void gn_bwd_channels(void *vctx, size_t j0, size_t j1, int tid) {
    (void)tid;
    GroupNorm *c = vctx;
    const int P = c->P, C = c->C, Cg = C / c->G;
    size_t nw = j1 - j0;
    double *acc = calloc_check(2 * nw, sizeof(double)), *accb = acc + nw;
    for (int n = 0; n < c->N; n++)
        for (int p = 0; p < P; p++) {
            size_t off = ((size_t)n * P + p) * C;
            for (size_t j = j0; j < j1; j++) {
                size_t g = (size_t)n * c->G + j / Cg;
                acc[j - j0] += (double)c->dout[off + j] * ((c->x[off + j] - c->smean[g]) * c->srstd[g]);
                accb[j - j0] += c->dout[off + j];
            }
        }
    for (size_t j = j0; j < j1; j++) {
        if (c->dw) c->dw[j] += (float)acc[j - j0];
        if (c->db) c->db[j] += (float)accb[j - j0];
    }
    free(acc);
}

void cpu_groupnorm_backward(Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                            const float *w, const float *mean, const float *rstd, int N, int P, int C, int G) {
    (void)be;
    if (N <= 0 || P <= 0 || C <= 0) return;
    LPOI_ASSERT(G > 0 && C % G == 0);
    GroupNorm c = {.dx = dx, .dw = dw, .db = db, .x = x, .w = w, .dout = dout, .smean = mean, .srstd = rstd,
                   .N = N, .P = P, .C = C, .G = G};
    if (dx) parallel_for((size_t)N * G, 1, gn_bwd_groups, &c);
    if (dw || db) parallel_for((size_t)C, 8, gn_bwd_channels, &c);
}
