// cpu_msda.c — multi-scale deformable attention (HF multi_scale_deformable_attention), forward and backward.
// Sampling follows torch's grid_sample (bilinear, zero padding, align_corners=False) step by step in fp32:
// grid g = 2·loc − 1, pixel ix = ((g + 1)·w − 1) / 2, corner weights from floor(ix), floor(iy).
// Determinism: the forward and the dloc/dattn backward are per-sample gathers split by (b, h, q). dvalue is
// the transpose of the sampling (a scatter: every sample adds into four value rows), so it is split by (b, h)
// instead: one task owns dvalue[b, :, h, :] and walks the queries in order, so each value element sums its
// terms in (q, l, p) order whatever the thread count — no atomics, no per-thread copies.
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vec.h"
#include "base/check.h"
#include "base/threads.h"
#include <math.h>
#include <string.h>

// The bilinear read of one sample: four corners (nw, ne, sw, se) with their value-row offsets (-1 when outside
// the grid) and weights, plus the weights' derivatives by ix and iy.
typedef struct {
    int row[4];
    float w[4], dwx[4], dwy[4];
} Corners;

static inline void msda_corners(Corners *c, float lx, float ly, int h, int w) {
    float gx = 2.0f * lx - 1.0f, gy = 2.0f * ly - 1.0f;              // HF: sampling_grids = 2 * loc - 1
    float ix = ((gx + 1.0f) * (float)w - 1.0f) / 2.0f, iy = ((gy + 1.0f) * (float)h - 1.0f) / 2.0f;
    float fx = floorf(ix), fy = floorf(iy);
    float ex = ix - fx, ey = iy - fy, ox = (fx + 1.0f) - ix, oy = (fy + 1.0f) - iy;   // torch's (ix - ix_nw) etc.
    int x0 = (int)fx, y0 = (int)fy;
    if (!(fx > -2.0f && fx < (float)w && fy > -2.0f && fy < (float)h)) x0 = y0 = -2;   // far outside (or NaN)
    const int cx[4] = {x0, x0 + 1, x0, x0 + 1}, cy[4] = {y0, y0, y0 + 1, y0 + 1};
    const float w4[4] = {ox * oy, ex * oy, ox * ey, ex * ey};
    const float dx4[4] = {-oy, oy, -ey, ey}, dy4[4] = {-ox, -ex, ox, ex};
    for (int k = 0; k < 4; k++) {
        bool in = cx[k] >= 0 && cx[k] < w && cy[k] >= 0 && cy[k] < h;
        c->row[k] = in ? cy[k] * w + cx[k] : -1;
        c->w[k] = w4[k];
        c->dwx[k] = dx4[k];
        c->dwy[k] = dy4[k];
    }
}

typedef struct {
    float *out, *dvalue, *dloc, *dattn;
    const float *value, *loc, *attn, *dout;
    const int *hw;
    int *start;          // [L] first value row of each level
    float *zeros;        // [D] the row a corner outside the grid reads (forward)
    int S, Q, H, D, L, P;
} Msda;

static void msda_levels(Msda *m, const int *level_hw, int S, int L) {
    m->hw = level_hw;
    m->start = malloc_check((size_t)L * sizeof(int));
    long long s = 0;
    for (int l = 0; l < L; l++) {
        LPOI_ASSERT(level_hw[2 * l] > 0 && level_hw[2 * l + 1] > 0);
        m->start[l] = (int)s;
        s += (long long)level_hw[2 * l] * level_hw[2 * l + 1];
    }
    if (s != S) LPOI_DIE("msda: the levels hold %lld value rows, S = %d", s, S);
}

// Item i = (b·H + h)·Q + q of the head-major loops: its b, h, and query row r = b·Q + q.
static inline size_t msda_item(const Msda *m, size_t i, size_t *b, int *h) {
    size_t bh = i / (size_t)m->Q;
    *b = bh / (size_t)m->H;
    *h = (int)(bh % (size_t)m->H);
    return *b * m->Q + i % (size_t)m->Q;
}

// out[b, q, h, :] for the items (b·H + h)·Q + q in [i0, i1): a thread walks the queries of one head at a time, so
// its reads stay in that head's slice of value (S·D floats) instead of striding over all heads'.
static void msda_fwd_items(void *vctx, size_t i0, size_t i1, int tid) {
    (void)tid;
    const Msda *m = vctx;
    const int H = m->H, D = m->D, L = m->L, P = m->P;
    for (size_t i = i0; i < i1; i++) {
        int h;
        size_t b, r = msda_item(m, i, &b, &h);
        float *o = m->out + (r * H + h) * (size_t)D;
        memset(o, 0, (size_t)D * sizeof(float));
        const float *vh = m->value + (b * (size_t)m->S * H + h) * D;   // value[b, 0, h, :]
        for (int l = 0; l < L; l++) {
            for (int p = 0; p < P; p++) {
                size_t s = ((r * H + h) * L + l) * P + p;
                Corners c;
                msda_corners(&c, m->loc[2 * s], m->loc[2 * s + 1], m->hw[2 * l], m->hw[2 * l + 1]);
                float a = m->attn[s], cw[4];
                const float *v[4];
                for (int k = 0; k < 4; k++) {   // a corner outside reads the zero row (never 0 · value: inf)
                    v[k] = c.row[k] < 0 ? m->zeros : vh + (size_t)(m->start[l] + c.row[k]) * H * D;
                    cw[k] = c.row[k] < 0 ? 0.0f : a * c.w[k];
                }
                vec_axpy4(o, cw, v[0], v[1], v[2], v[3], (size_t)D);   // one pass over o, four gathers in flight
            }
        }
    }
}

void cpu_msda_forward(Backend *be, float *out, const float *value, const float *loc, const float *attn,
                      const int *level_hw, int B, int S, int Q, int H, int D, int L, int P) {
    (void)be;
    if (B <= 0 || Q <= 0 || H <= 0 || D <= 0) return;
    Msda m = {.out = out, .value = value, .loc = loc, .attn = attn, .S = S, .Q = Q, .H = H, .D = D, .L = L, .P = P};
    msda_levels(&m, level_hw, S, L);
    m.zeros = calloc_check((size_t)D, sizeof(float));
    parallel_for((size_t)B * H * Q, 16, msda_fwd_items, &m);
    free(m.zeros);
    free(m.start);
}

// dattn = Σ_k w_k (dout·v_k); dloc = attn · (w, h) · Σ_k (∂w_k/∂(ix, iy)) (dout·v_k), for the items
// (b·H + h)·Q + q in [i0, i1) (head-major, as the forward)
static void msda_bwd_items(void *vctx, size_t i0, size_t i1, int tid) {
    (void)tid;
    const Msda *m = vctx;
    const int H = m->H, D = m->D, L = m->L, P = m->P;
    for (size_t i = i0; i < i1; i++) {
        int h;
        size_t b, r = msda_item(m, i, &b, &h);
        const float *g = m->dout + (r * H + h) * (size_t)D;
        const float *vh = m->value + (b * (size_t)m->S * H + h) * D;
        for (int l = 0; l < L; l++) {
            const int lh = m->hw[2 * l], lw = m->hw[2 * l + 1];
            for (int p = 0; p < P; p++) {
                size_t s = ((r * H + h) * L + l) * P + p;
                Corners c;
                msda_corners(&c, m->loc[2 * s], m->loc[2 * s + 1], lh, lw);
                float da = 0, gx = 0, gy = 0;
                for (int k = 0; k < 4; k++) {
                    if (c.row[k] < 0) continue;
                    const float *v = vh + (size_t)(m->start[l] + c.row[k]) * H * D;
                    float dot = vec_dot(g, v, (size_t)D);
                    da += c.w[k] * dot;
                    gx += c.dwx[k] * dot;
                    gy += c.dwy[k] * dot;
                }
                if (m->dattn) m->dattn[s] = da;
                if (m->dloc) {   // d ix / d loc = w (via g = 2 loc − 1 and ix = ((g + 1) w − 1) / 2)
                    m->dloc[2 * s] = m->attn[s] * gx * (float)lw;
                    m->dloc[2 * s + 1] = m->attn[s] * gy * (float)lh;
                }
            }
        }
    }
}

// dvalue[b, :, h, :] for (b, h) in [t0, t1): zeroed, then every sample of the head adds in (q, l, p) order.
static void msda_bwd_value(void *vctx, size_t t0, size_t t1, int tid) {
    (void)tid;
    const Msda *m = vctx;
    const int H = m->H, D = m->D, L = m->L, P = m->P;
    for (size_t t = t0; t < t1; t++) {
        size_t b = t / (size_t)H;
        int h = (int)(t % (size_t)H);
        float *dvh = m->dvalue + (b * (size_t)m->S * H + h) * D;
        for (int s = 0; s < m->S; s++) memset(dvh + (size_t)s * H * D, 0, (size_t)D * sizeof(float));
        for (int q = 0; q < m->Q; q++) {
            size_t r = b * (size_t)m->Q + q;
            const float *g = m->dout + (r * H + h) * (size_t)D;
            for (int l = 0; l < L; l++) {
                for (int p = 0; p < P; p++) {
                    size_t s = ((r * H + h) * L + l) * P + p;
                    Corners c;
                    msda_corners(&c, m->loc[2 * s], m->loc[2 * s + 1], m->hw[2 * l], m->hw[2 * l + 1]);
                    float a = m->attn[s];
                    for (int k = 0; k < 4; k++) {
                        if (c.row[k] < 0) continue;
                        float *dv = dvh + (size_t)(m->start[l] + c.row[k]) * H * D, cw = a * c.w[k];
                        vec_axpy(dv, cw, g, (size_t)D);
                    }
                }
            }
        }
    }
}

void cpu_msda_backward(Backend *be, float *dvalue, float *dloc, float *dattn, const float *dout, const float *value,
                       const float *loc, const float *attn, const int *level_hw, int B, int S, int Q, int H, int D,
                       int L, int P) {
    (void)be;
    if (B <= 0 || H <= 0 || D <= 0) return;
    Msda m = {.dvalue = dvalue, .dloc = dloc, .dattn = dattn, .value = value, .loc = loc, .attn = attn,
              .dout = dout, .S = S, .Q = Q, .H = H, .D = D, .L = L, .P = P};
    msda_levels(&m, level_hw, S, L);
    if ((dloc || dattn) && Q > 0) parallel_for((size_t)B * H * Q, 16, msda_bwd_items, &m);
    if (dvalue) parallel_for((size_t)B * H, 1, msda_bwd_value, &m);
    free(m.start);
}
