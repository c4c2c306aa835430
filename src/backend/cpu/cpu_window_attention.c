// cpu_window_attention.c — Swin window attention (HF SwinSelfAttention) with relative position bias and the
// shifted-window mask, forward and backward. Windows are small (N = 49 tokens), so each (window, head) is one
// unit of work holding its score matrix. The score row's softmax sums in double; the backward recomputes the
// probabilities from the saved lse. dbias is a sum over windows: each unit writes its dS [N,N] to a scratch
// plane and the planes are summed per (i, j, h) in window order — the same bits on any thread count.
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vec.h"
#include "base/check.h"
#include "base/threads.h"
#include <math.h>
#include <string.h>

typedef struct {
    float *out, *lse_out, *dq, *dk, *dv, *dbias, *ds;   // ds: [BW,H,N,N] scratch of the backward (with dbias)
    const float *q, *k, *v, *bias, *mask, *dout, *o, *lse;
    int BW, nW, N, H, D;
    float scale;
} WinAttn;

// s[j] = scale q_i·k_j + bias[i,j,h] + mask[w,i,j] for query i of window bw, head h (q, k at [bw, :, h, :]).
static void win_scores(const WinAttn *a, size_t bw, int h, int i, float *s) {
    const int N = a->N, H = a->H, D = a->D;
    size_t base = bw * N * H * D + (size_t)h * D;
    const float *qi = a->q + base + (size_t)i * H * D;
    const float *mrow = a->mask ? a->mask + ((bw % (size_t)a->nW) * N + i) * N : NULL;
    for (int j = 0; j < N; j++) {
        const float *kj = a->k + base + (size_t)j * H * D;
        s[j] = vec_dot(qi, kj, (size_t)D) * a->scale + a->bias[((size_t)i * N + j) * H + h] + (mrow ? mrow[j] : 0.0f);
    }
}

static void win_fwd_units(void *vctx, size_t u0, size_t u1, int tid) {
    (void)tid;
    const WinAttn *a = vctx;
    const int N = a->N, H = a->H, D = a->D;
    float *s = malloc_check((size_t)N * sizeof(float));
    for (size_t u = u0; u < u1; u++) {   // u = bw·H + h
        size_t bw = u / (size_t)H;
        int h = (int)(u % (size_t)H);
        size_t base = bw * N * H * D + (size_t)h * D;
        for (int i = 0; i < N; i++) {
            win_scores(a, bw, h, i, s);
            float mx = -INFINITY;
            for (int j = 0; j < N; j++) mx = s[j] > mx ? s[j] : mx;
            float *o = a->out + base + (size_t)i * H * D;
            memset(o, 0, (size_t)D * sizeof(float));
            if (mx == -INFINITY) {   // every key masked with -inf: zeros, as the attention op
                a->lse_out[u * N + i] = -INFINITY;
                continue;
            }
            double sum = 0;
            for (int j = 0; j < N; j++) { s[j] = expf(s[j] - mx); sum += s[j]; }
            float inv = (float)(1.0 / sum);
            for (int j = 0; j < N; j++) {
                const float *vj = a->v + base + (size_t)j * H * D;
                float p = s[j] * inv;
                vec_axpy(o, p, vj, (size_t)D);
            }
            a->lse_out[u * N + i] = mx + (float)log(sum);
        }
    }
    free(s);
}

void cpu_window_attention_forward(Backend *be, float *out, float *lse, const float *q, const float *k, const float *v,
                                  const float *bias, const float *mask, int BW, int nW, int N, int H, int D,
                                  float scale) {
    (void)be;
    if (BW <= 0 || N <= 0 || H <= 0 || D <= 0) return;
    LPOI_ASSERT(!mask || (nW > 0 && BW % nW == 0));
    WinAttn a = {.out = out, .lse_out = lse, .q = q, .k = k, .v = v, .bias = bias, .mask = mask, .BW = BW, .nW = nW,
                 .N = N, .H = H, .D = D, .scale = scale};
    parallel_for((size_t)BW * H, 1, win_fwd_units, &a);
}

// P = exp(S − lse); dS = P ∘ (dout·vᵀ − rowsum(dout ∘ out)); dq = scale dS k, dk = scale dSᵀ q, dv = Pᵀ dout
static void win_bwd_units(void *vctx, size_t u0, size_t u1, int tid) {
    (void)tid;
    const WinAttn *a = vctx;
    const int N = a->N, H = a->H, D = a->D;
    float *P = malloc_check((size_t)N * N * sizeof(float)), *dS = malloc_check((size_t)N * N * sizeof(float));
    for (size_t u = u0; u < u1; u++) {
        size_t bw = u / (size_t)H;
        int h = (int)(u % (size_t)H);
        size_t base = bw * N * H * D + (size_t)h * D;
#define ROW(t, i) ((t) + base + (size_t)(i) * H * D)
        for (int i = 0; i < N; i++) {
            float *p = P + (size_t)i * N, *ds = dS + (size_t)i * N, l = a->lse[u * N + i];
            win_scores(a, bw, h, i, p);
            const float *g = ROW(a->dout, i), *o = ROW(a->o, i);
            float di = vec_dot(g, o, (size_t)D);
            for (int j = 0; j < N; j++) {
                p[j] = l == -INFINITY ? 0.0f : expf(p[j] - l);
                const float *vj = ROW(a->v, j);
                ds[j] = p[j] * (vec_dot(g, vj, (size_t)D) - di);
            }
        }
        for (int i = 0; i < N; i++) {
            float *dq = ROW(a->dq, i);
            memset(dq, 0, (size_t)D * sizeof(float));
            for (int j = 0; j < N; j++) {
                const float *kj = ROW(a->k, j);
                vec_axpy(dq, dS[(size_t)i * N + j] * a->scale, kj, (size_t)D);
            }
        }
        for (int j = 0; j < N; j++) {
            float *dk = ROW(a->dk, j), *dv = ROW(a->dv, j);
            memset(dk, 0, (size_t)D * sizeof(float));
            memset(dv, 0, (size_t)D * sizeof(float));
            for (int i = 0; i < N; i++) {
                const float *qi = ROW(a->q, i), *g = ROW(a->dout, i);
                vec_axpy(dk, dS[(size_t)i * N + j] * a->scale, qi, (size_t)D);
                vec_axpy(dv, P[(size_t)i * N + j], g, (size_t)D);
            }
        }
#undef ROW
        if (a->ds) memcpy(a->ds + u * N * N, dS, (size_t)N * N * sizeof(float));
    }
    free(P);
    free(dS);
}

// dbias[i,j,h] = Σ_bw dS[bw,h,i,j] for the (i·N + j) rows [r0, r1), in window order
static void win_bwd_bias(void *vctx, size_t r0, size_t r1, int tid) {
    (void)tid;
    const WinAttn *a = vctx;
    const size_t NN = (size_t)a->N * a->N;
    for (size_t r = r0; r < r1; r++)
        for (int h = 0; h < a->H; h++) {
            double s = 0;
            for (int bw = 0; bw < a->BW; bw++) s += a->ds[((size_t)bw * a->H + h) * NN + r];
            a->dbias[r * a->H + h] = (float)s;
        }
}

void cpu_window_attention_backward(Backend *be, float *dq, float *dk, float *dv, float *dbias, const float *dout,
                                   const float *q, const float *k, const float *v, const float *bias,
                                   const float *mask, const float *out, const float *lse, int BW, int nW, int N,
                                   int H, int D, float scale) {
    (void)be;
    if (BW <= 0 || N <= 0 || H <= 0 || D <= 0) return;
    LPOI_ASSERT(!mask || (nW > 0 && BW % nW == 0));
    size_t nds = (size_t)BW * H * N * N;
    WinAttn a = {.dq = dq, .dk = dk, .dv = dv, .dbias = dbias, .ds = dbias ? malloc_check(nds * sizeof(float)) : NULL,
                 .q = q, .k = k, .v = v, .bias = bias, .mask = mask, .dout = dout, .o = out, .lse = lse, .BW = BW,
                 .nW = nW, .N = N, .H = H, .D = D, .scale = scale};
    parallel_for((size_t)BW * H, 1, win_bwd_units, &a);
    if (dbias) {
        parallel_for((size_t)N * N, 1, win_bwd_bias, &a);
        free(a.ds);
    }
}
