// cpu_norm.c — RMSNorm (HF LlamaRMSNorm) and LayerNorm (torch.nn.LayerNorm), forward and backward.
// Row statistics are reduced in double and rounded to fp32 where HF/PyTorch hold them in fp32
// (mean of squares, variance, rstd), so outputs match the fp32 reference to an ulp or two.
// Backward saves nothing beyond the forward's rstd (and mean). dx rows are split between threads;
// dw/db are split by columns, each thread summing all N rows of its columns in double in row order,
// so parameter gradients are race-free and identical on any thread count. A NULL dx, dw or db is
// skipped (frozen norm weights under LoRA).
#include "backend/cpu/cpu_ops.h"
#include "base/check.h"
#include "base/threads.h"
#include <math.h>

typedef struct {
    float *out, *mean, *rstd; const float *x, *w, *b; int C; float eps;
} NormFwd;

// ---- RMSNorm: out = (x * rstd) * w ----

static void rms_fwd_rows(void *vctx, size_t n0, size_t n1, int tid) {
    (void)tid;
    NormFwd *c = vctx;
    int C = c->C;
    for (size_t n = n0; n < n1; n++) {
        const float *x = c->x + n * (size_t)C;
        float *out = c->out + n * (size_t)C;
        double ss = 0;
        for (int i = 0; i < C; i++) ss += (double)x[i] * x[i];
        float ms = (float)(ss / C);                 // HF: x.pow(2).mean(-1) in fp32
        float r = 1.0f / sqrtf(ms + c->eps);         // torch.rsqrt(variance + eps)
        if (c->rstd) c->rstd[n] = r;
        for (int i = 0; i < C; i++) out[i] = (x[i] * r) * c->w[i];
    }
}

void cpu_rmsnorm_forward(Backend *be, float *out, float *rstd, const float *x, const float *w, int N, int C, float eps) {
    (void)be;
    if (N <= 0 || C <= 0) return;
    NormFwd c = {out, NULL, rstd, x, w, NULL, C, eps};
    parallel_for((size_t)N, 1024 / (size_t)C + 1, rms_fwd_rows, &c);
}

typedef struct {
    float *dx, *dw, *db; const float *dout, *x, *w, *mean, *rstd; int N, C;
} NormBwd;

// dx = r w∘dy − x r³/C Σ_k w_k dy_k x_k
static void rms_bwd_rows(void *vctx, size_t n0, size_t n1, int tid) {
    (void)tid;
    NormBwd *c = vctx;
    int C = c->C;
    for (size_t n = n0; n < n1; n++) {
        const float *x = c->x + n * (size_t)C, *dy = c->dout + n * (size_t)C;
        float *dx = c->dx + n * (size_t)C;
        float r = c->rstd[n];
        double dot = 0;
        for (int i = 0; i < C; i++) dot += (double)(c->w[i] * dy[i]) * x[i];
        float k = (float)(dot * r * r * r / C);
        for (int i = 0; i < C; i++) dx[i] = r * (c->w[i] * dy[i]) - x[i] * k;
    }
}

// dw[j] += Σ_n dy[n,j] x[n,j] r[n]  (and for LayerNorm x̂ = (x − mean) r, db[j] += Σ_n dy[n,j])
static void norm_bwd_cols(void *vctx, size_t j0, size_t j1, int tid) {
    (void)tid;
    NormBwd *c = vctx;
    size_t C = (size_t)c->C, w = j1 - j0;
    double *acc = calloc_check(2 * w, sizeof(double)), *accb = acc + w;
    for (int n = 0; n < c->N; n++) {
        const float *x = c->x + n * C + j0, *dy = c->dout + n * C + j0;
        float r = c->rstd[n], m = c->mean ? c->mean[n] : 0.0f;
        for (size_t j = 0; j < w; j++) {
            acc[j] += (double)dy[j] * ((x[j] - m) * r);
            accb[j] += dy[j];
        }
    }
    for (size_t j = 0; j < w; j++) {
        if (c->dw) c->dw[j0 + j] += (float)acc[j];
        if (c->db) c->db[j0 + j] += (float)accb[j];
    }
    free(acc);
}

void cpu_rmsnorm_backward(Backend *be, float *dx, float *dw, const float *dout, const float *x, const float *w,
                          const float *rstd, int N, int C) {
    (void)be;
    if (N <= 0 || C <= 0) return;
    NormBwd c = {dx, dw, NULL, dout, x, w, NULL, rstd, N, C};
    if (dx) parallel_for((size_t)N, 1024 / (size_t)C + 1, rms_bwd_rows, &c);
    if (dw) parallel_for((size_t)C, 64, norm_bwd_cols, &c);
}

// ---- LayerNorm: out = (x − mean) rstd w + b, biased variance ----

static void ln_fwd_rows(void *vctx, size_t n0, size_t n1, int tid) {
    (void)tid;
    NormFwd *c = vctx;
    int C = c->C;
    for (size_t n = n0; n < n1; n++) {
        const float *x = c->x + n * (size_t)C;
        float *out = c->out + n * (size_t)C;
        double s = 0;
        for (int i = 0; i < C; i++) s += x[i];
        double md = s / C, v = 0;
        for (int i = 0; i < C; i++) { double d = x[i] - md; v += d * d; }
        float m = (float)md, r = 1.0f / sqrtf((float)(v / C) + c->eps);
        if (c->mean) c->mean[n] = m;
        if (c->rstd) c->rstd[n] = r;
        for (int i = 0; i < C; i++) out[i] = (x[i] - m) * r * c->w[i] + c->b[i];
    }
}

void cpu_layernorm_forward(Backend *be, float *out, float *mean, float *rstd, const float *x, const float *w,
                           const float *b, int N, int C, float eps) {
    (void)be;
    if (N <= 0 || C <= 0) return;
    NormFwd c = {out, mean, rstd, x, w, b, C, eps};
    parallel_for((size_t)N, 1024 / (size_t)C + 1, ln_fwd_rows, &c);
}

// dx = r (g − mean(g) − x̂ mean(g x̂)),  g = w∘dy, x̂ = (x − mean) r
static void ln_bwd_rows(void *vctx, size_t n0, size_t n1, int tid) {
    (void)tid;
    NormBwd *c = vctx;
    int C = c->C;
    for (size_t n = n0; n < n1; n++) {
        const float *x = c->x + n * (size_t)C, *dy = c->dout + n * (size_t)C;
        float *dx = c->dx + n * (size_t)C;
        float m = c->mean[n], r = c->rstd[n];
        double sg = 0, sgx = 0;
        for (int i = 0; i < C; i++) {
            float g = c->w[i] * dy[i];
            sg += g;
            sgx += (double)g * ((x[i] - m) * r);
        }
        float mg = (float)(sg / C), mgx = (float)(sgx / C);
        for (int i = 0; i < C; i++) dx[i] = r * (c->w[i] * dy[i] - mg - ((x[i] - m) * r) * mgx);
    }
}

void cpu_layernorm_backward(Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                            const float *w, const float *mean, const float *rstd, int N, int C) {
    (void)be;
    if (N <= 0 || C <= 0) return;
    NormBwd c = {dx, dw, db, dout, x, w, mean, rstd, N, C};
    if (dx) parallel_for((size_t)N, 1024 / (size_t)C + 1, ln_bwd_rows, &c);
    if (dw || db) parallel_for((size_t)C, 64, norm_bwd_cols, &c);
}
