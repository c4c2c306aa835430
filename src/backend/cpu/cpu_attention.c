// cpu_attention.c — scaled-dot-product attention, flash-attention style, forward and backward.
// q, out, dq: [B,Tq,H,D]; k, v, dk, dv: [B,Tk,KVH,D]; lse: [B,H,Tq]. Query head h reads kv head
// h / (H/KVH). Query i sits at absolute position p = i + Tk − Tq and sees key j when
//   key_mask[b,j] != 0  and  (!causal or j <= p)  and  (window <= 0 or p − j < window).
// A row that sees no key gets out = 0, lse = −inf, and zero gradients (P is 0 there, never NaN).
//
// Forward: work items are (b, h); each walks BQ-row query tiles against BK-key tiles with an online
// softmax (running max m, running sum l, unnormalised accumulator), so memory is O(tile), not
// O(Tq·Tk). Backward: work items are (b, kv head), each owning dk/dv of its kv head and dq of the
// H/KVH query heads that read it, so GQA accumulation needs no atomics and the summation order is
// fixed: identical bits on any thread count. It recomputes P = exp(s − lse) per tile and uses
//   dV += Pᵀ dO,  dP = dO Vᵀ,  Di = rowsum(dO ∘ O),  dS = P ∘ (dP − Di),  dQ += scale dS K,  dK += scale dSᵀ Q.
// Inner loops run over D on contiguous rows: scores are 2x2 blocks of 4-lane dot products and the
// weighted row sums are 4-row axpys (cpu_vec.h), which gcc -O2 vectorises with register accumulators.
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vec.h"
#include "backend/cpu/cpu_vexp.h"
#include "base/check.h"
#include "base/threads.h"
#include <math.h>
#include <string.h>

#define BQ 16   // query rows per tile
#define BK 64   // keys per tile (the fixed trip count of the score loops)

typedef struct {
    const AttnDesc *a;
    float *out, *lse, *dq, *dk, *dv;
    const float *q, *k, *v, *dout, *o, *lse_in;
} AttnCtx;

// Position arithmetic in 64 bits: window may be as large as INT_MAX ("no window" spelled big).
static inline int clampi(long long x, int lo, int hi) { return x < lo ? lo : (x > hi ? hi : (int)x); }

// Keys [lo, hi) that causal/window let absolute position p see; key_mask is applied per key on top.
static inline void key_range(const AttnDesc *a, int p, int *lo, int *hi) {
    *hi = a->causal ? clampi((long long)p + 1, 0, a->Tk) : a->Tk;
    *lo = a->window > 0 ? clampi((long long)p - a->window + 1, 0, a->Tk) : 0;
}

// S[r][c] = x_r · y_c for r < nr, c < nc; x rows are xs floats apart, y rows ys. 2x2 blocks share
// loads; every element is summed the same way whatever block it falls in (see vec_dot4), so the
// backward's recomputed scores equal the forward's bit for bit even though its tiles start elsewhere.
static void tile_dots(float (*restrict S)[BK], const float *x, size_t xs, int nr, const float *y, size_t ys,
                      int nc, int D) {
    int r = 0;
    for (; r + 2 <= nr; r += 2) {
        const float *x0 = x + (size_t)r * xs, *x1 = x0 + xs;
        int c = 0;
        for (; c + 2 <= nc; c += 2) {
            float o[4];
            vec_dot4_2x2(x0, x1, y + (size_t)c * ys, y + (size_t)(c + 1) * ys, (size_t)D, o);
            S[r][c] = o[0]; S[r][c + 1] = o[1]; S[r + 1][c] = o[2]; S[r + 1][c + 1] = o[3];
        }
        if (c < nc) {
            S[r][c] = vec_dot4(x0, y + (size_t)c * ys, (size_t)D);
            S[r + 1][c] = vec_dot4(x1, y + (size_t)c * ys, (size_t)D);
        }
    }
    if (r < nr)
        for (int c = 0; c < nc; c++) S[r][c] = vec_dot4(x + (size_t)r * xs, y + (size_t)c * ys, (size_t)D);
}

// y += Σ_k a[k] x_k for k < n, x_k rows xs floats apart; in blocks of four (one pass over y each).
static void axpy_rows(float *restrict y, const float *a, size_t astride, const float *x, size_t xs, int n, int D) {
    int k = 0;
    for (; k + 4 <= n; k += 4) {
        const float c4[4] = {a[k * astride], a[(k + 1) * astride], a[(k + 2) * astride], a[(k + 3) * astride]};
        if (c4[0] == 0 && c4[1] == 0 && c4[2] == 0 && c4[3] == 0) continue;   // masked keys
        const float *x0 = x + (size_t)k * xs;
        vec_axpy4(y, c4, x0, x0 + xs, x0 + 2 * xs, x0 + 3 * xs, (size_t)D);
    }
    for (; k < n; k++)
        if (a[k * astride] != 0) vec_axpy(y, a[k * astride], x + (size_t)k * xs, (size_t)D);
}

// valid[c] = key j0 + c exists and is not padding.
static int key_tile_valid(const AttnDesc *a, int b, int j0, int nk, unsigned char *valid) {
    int any = 0;
    for (int c = 0; c < BK; c++) {
        valid[c] = c < nk && (!a->key_mask || a->key_mask[(size_t)b * a->Tk + j0 + c] != 0.0f);
        any |= valid[c];
    }
    return any;
}

// ---------------------------------------------------------------- forward

static void attn_fwd_items(void *vctx, size_t w0, size_t w1, int tid) {
    (void)tid;
    const AttnCtx *cx = vctx;
    const AttnDesc *a = cx->a;
    const int Tq = a->Tq, Tk = a->Tk, H = a->H, KVH = a->KVH, D = a->D, G = H / KVH, off = Tk - Tq;
    const size_t qs = (size_t)H * D, ks = (size_t)KVH * D;  // row strides of q/out and k/v
    float *acc = malloc_check(((size_t)BQ * D + BQ * BK) * sizeof(float));   // acc: [BQ][D]
    float (*S)[BK] = (float (*)[BK])(acc + (size_t)BQ * D);
    float m[BQ], l[BQ];
    unsigned char valid[BK];

    for (size_t w = w0; w < w1; w++) {
        const int b = (int)(w / (size_t)H), h = (int)(w % (size_t)H), kvh = h / G;
        const float *kb = cx->k + (size_t)b * Tk * ks + (size_t)kvh * D;
        const float *vb = cx->v + (size_t)b * Tk * ks + (size_t)kvh * D;
        for (int i0 = 0; i0 < Tq; i0 += BQ) {
            const int nq = LPOI_MIN(BQ, Tq - i0);
            const float *qt = cx->q + ((size_t)b * Tq + i0) * qs + (size_t)h * D;
            int jlo, jhi, lo_last, hi_first;
            key_range(a, i0 + off, &jlo, &hi_first);          // both bounds grow with p
            key_range(a, i0 + nq - 1 + off, &lo_last, &jhi);
            for (int r = 0; r < nq; r++) { m[r] = -INFINITY; l[r] = 0; }
            memset(acc, 0, (size_t)nq * D * sizeof(float));

            for (int j0 = jlo; j0 < jhi; j0 += BK) {
                const int nk = LPOI_MIN(BK, jhi - j0);
                if (!key_tile_valid(a, b, j0, nk, valid)) continue;
                tile_dots(S, qt, qs, nq, kb + (size_t)j0 * ks, ks, nk, D);
                for (int r = 0; r < nq; r++) {
                    int lo, hi;
                    key_range(a, i0 + r + off, &lo, &hi);
                    float *s = S[r], mx = -INFINITY;
                    for (int c = 0; c < nk; c++) {
                        const int j = j0 + c;
                        s[c] = (valid[c] && j >= lo && j < hi) ? s[c] * a->scale : -INFINITY;
                        mx = s[c] > mx ? s[c] : mx;
                    }
                    if (mx == -INFINITY) continue;
                    const float mnew = mx > m[r] ? mx : m[r];
                    const float alpha = m[r] == -INFINITY ? 0.0f : expf(m[r] - mnew);
                    float *ar = acc + (size_t)r * D, sum = 0;
                    if (alpha != 1.0f) vec_scale(ar, alpha, (size_t)D);
                    vec_exp_affine(s, s, 1.0f, -mnew, (size_t)nk);  // masked keys: exp(-inf) = 0
                    for (int c = 0; c < nk; c++) sum += s[c];
                    axpy_rows(ar, s, 1, vb + (size_t)j0 * ks, ks, nk, D);   // acc += Σ_c p_c v_c
                    l[r] = l[r] * alpha + sum;
                    m[r] = mnew;
                }
            }
            for (int r = 0; r < nq; r++) {
                const int i = i0 + r;
                float *o = cx->out + ((size_t)b * Tq + i) * qs + (size_t)h * D;
                float *lse = cx->lse ? cx->lse + ((size_t)b * H + h) * Tq + i : NULL;
                if (l[r] == 0) {  // no visible key
                    memset(o, 0, (size_t)D * sizeof(float));
                    if (lse) *lse = -INFINITY;
                    continue;
                }
                const float inv = 1.0f / l[r], *ar = acc + (size_t)r * D;
                for (int d = 0; d < D; d++) o[d] = ar[d] * inv;
                if (lse) *lse = m[r] + logf(l[r]);
            }
        }
    }
    free(acc);
}

static void attn_check_desc(const AttnDesc *a) {
    LPOI_ASSERT(a->B >= 0 && a->Tq >= 0 && a->Tk >= 0 && a->D > 0 && a->H > 0 && a->KVH > 0);
    LPOI_ASSERT(a->H % a->KVH == 0);
}

void cpu_attention_forward(Backend *be, float *out, float *lse, const float *q, const float *k, const float *v,
                           const AttnDesc *a) {
    (void)be;
    attn_check_desc(a);
    if (a->B == 0 || a->Tq == 0) return;
    AttnCtx cx = {.a = a, .out = out, .lse = lse, .q = q, .k = k, .v = v};
    parallel_for((size_t)a->B * a->H, 1, attn_fwd_items, &cx);
}

// ---------------------------------------------------------------- backward

static void attn_bwd_items(void *vctx, size_t w0, size_t w1, int tid) {
    (void)tid;
    const AttnCtx *cx = vctx;
    const AttnDesc *a = cx->a;
    const int Tq = a->Tq, Tk = a->Tk, H = a->H, KVH = a->KVH, D = a->D, G = H / KVH, off = Tk - Tq;
    const size_t qs = (size_t)H * D, ks = (size_t)KVH * D;
    const size_t tileDK = (size_t)BK * D;
    float *dK = malloc_check((2 * tileDK + 2 * BQ * BK + (size_t)G * Tq) * sizeof(float));
    float *dV = dK + tileDK;                                              // dK, dV: [BK][D]
    float (*P)[BK] = (float (*)[BK])(dV + tileDK), (*dS)[BK] = P + BQ;   // dS holds dP first
    float *Di = (float *)(dS + BQ);                                       // [G][Tq]
    unsigned char valid[BK];

    for (size_t w = w0; w < w1; w++) {
        const int b = (int)(w / (size_t)KVH), kvh = (int)(w % (size_t)KVH);
        const float *kb = cx->k + (size_t)b * Tk * ks + (size_t)kvh * D;
        const float *vb = cx->v + (size_t)b * Tk * ks + (size_t)kvh * D;
        float *dkb = cx->dk + (size_t)b * Tk * ks + (size_t)kvh * D;
        float *dvb = cx->dv + (size_t)b * Tk * ks + (size_t)kvh * D;
        for (int g = 0; g < G; g++) {
            const int h = kvh * G + g;
            for (int i = 0; i < Tq; i++) {
                const size_t row = ((size_t)b * Tq + i) * qs + (size_t)h * D;
                Di[(size_t)g * Tq + i] = (float)vec_dot_f64(cx->dout + row, cx->o + row, (size_t)D);
                memset(cx->dq + row, 0, (size_t)D * sizeof(float));
            }
        }
        for (int j0 = 0; j0 < Tk; j0 += BK) {
            const int nk = LPOI_MIN(BK, Tk - j0);
            const float *kt = kb + (size_t)j0 * ks, *vt = vb + (size_t)j0 * ks;
            memset(dK, 0, 2 * tileDK * sizeof(float));
            // queries that causal/window let see some key of this tile
            int imin = 0, imax = Tq;
            if (a->causal) imin = clampi((long long)j0 - off, 0, Tq);
            if (a->window > 0) imax = clampi((long long)j0 + nk - 1 + a->window - off, 0, Tq);  // p - j < window
            if (key_tile_valid(a, b, j0, nk, valid) && imin < imax) {
                for (int g = 0; g < G; g++) {
                    const int h = kvh * G + g;
                    const float *lse = cx->lse_in + ((size_t)b * H + h) * Tq;
                    for (int i0 = imin; i0 < imax; i0 += BQ) {
                        const int nq = LPOI_MIN(BQ, imax - i0);
                        const size_t row0 = ((size_t)b * Tq + i0) * qs + (size_t)h * D;
                        const float *qt = cx->q + row0, *dot = cx->dout + row0;
                        tile_dots(P, qt, qs, nq, kt, ks, nk, D);
                        int any = 0;
                        for (int r = 0; r < nq; r++) {
                            int lo, hi;
                            key_range(a, i0 + r + off, &lo, &hi);
                            const float L = lse[i0 + r];
                            if (L == -INFINITY) {  // a query that sees no key
                                for (int c = 0; c < nk; c++) P[r][c] = 0.0f;
                                continue;
                            }
                            for (int c = 0; c < nk; c++) {
                                const int j = j0 + c;
                                const int vis = valid[c] && j >= lo && j < hi;
                                P[r][c] = vis ? P[r][c] * a->scale : -INFINITY;
                                any |= vis;
                            }
                            vec_exp_affine(P[r], P[r], 1.0f, -L, (size_t)nk);  // hidden keys: exp(-inf) = 0
                        }
                        if (!any) continue;
                        for (int c = 0; c < nk; c++)          // dV[c] += Σ_r P[r][c] dO[r]
                            axpy_rows(dV + (size_t)c * D, &P[0][c], BK, dot, qs, nq, D);
                        tile_dots(dS, dot, qs, nq, vt, ks, nk, D);   // dP = dO Vᵀ
                        for (int r = 0; r < nq; r++) {
                            const float di = Di[(size_t)g * Tq + i0 + r];
                            for (int c = 0; c < nk; c++) dS[r][c] = P[r][c] * (dS[r][c] - di) * a->scale;
                            axpy_rows(cx->dq + row0 + (size_t)r * qs, dS[r], 1, kt, ks, nk, D);  // dQ[r] += Σ_c dS k_c
                        }
                        for (int c = 0; c < nk; c++)          // dK[c] += Σ_r dS[r][c] q[r]
                            axpy_rows(dK + (size_t)c * D, &dS[0][c], BK, qt, qs, nq, D);
                    }
                }
            }
            for (int c = 0; c < nk; c++) {
                memcpy(dkb + (size_t)(j0 + c) * ks, dK + (size_t)c * D, (size_t)D * sizeof(float));
                memcpy(dvb + (size_t)(j0 + c) * ks, dV + (size_t)c * D, (size_t)D * sizeof(float));
            }
        }
    }
    free(dK);
}

void cpu_attention_backward(Backend *be, float *dq, float *dk, float *dv, const float *dout, const float *q,
                            const float *k, const float *v, const float *out, const float *lse, const AttnDesc *a) {
    (void)be;
    attn_check_desc(a);
    if (a->B == 0) return;
    AttnCtx cx = {.a = a, .dq = dq, .dk = dk, .dv = dv, .q = q, .k = k, .v = v, .dout = dout, .o = out, .lse_in = lse};
    parallel_for((size_t)a->B * a->KVH, 1, attn_bwd_items, &cx);
}
