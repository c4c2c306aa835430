// cpu_msda_test.c — multi-scale deformable attention against a double-precision reference written here
// (bilinear at pixel loc·size − 0.5, corners outside the grid read 0), its three gradients by finite
// differences, NULL skips, identical bits on 1 and 2 threads, and the forward at Grounding-DINO-Tiny's shape.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int B, S, Q, H, D, L, P;
    const int *hw;
    double *value, *loc, *attn, *dout;   // value [B,S,H,D], loc [B,Q,H,L,P,2], attn [B,Q,H,L,P], dout [B,Q,H,D]
} MsdaRef;

static double ref_read(const MsdaRef *r, int b, int h, int start, int lh, int lw, int x, int y, int d) {
    if (x < 0 || y < 0 || x >= lw || y >= lh) return 0;
    return r->value[(((size_t)b * r->S + start + y * lw + x) * r->H + h) * r->D + d];
}

static void msda_ref(const MsdaRef *r, double *out) {
    for (int b = 0; b < r->B; b++)
        for (int q = 0; q < r->Q; q++)
            for (int h = 0; h < r->H; h++)
                for (int d = 0; d < r->D; d++) {
                    double acc = 0;
                    for (int l = 0, start = 0; l < r->L; start += r->hw[2 * l] * r->hw[2 * l + 1], l++)
                        for (int p = 0; p < r->P; p++) {
                            size_t s = ((((size_t)b * r->Q + q) * r->H + h) * r->L + l) * r->P + p;
                            int lh = r->hw[2 * l], lw = r->hw[2 * l + 1];
                            double x = r->loc[2 * s] * lw - 0.5, y = r->loc[2 * s + 1] * lh - 0.5;
                            double fx = floor(x), fy = floor(y), ex = x - fx, ey = y - fy;
                            int x0 = (int)fx, y0 = (int)fy;
                            double v = (1 - ex) * (1 - ey) * ref_read(r, b, h, start, lh, lw, x0, y0, d) +
                                       ex * (1 - ey) * ref_read(r, b, h, start, lh, lw, x0 + 1, y0, d) +
                                       (1 - ex) * ey * ref_read(r, b, h, start, lh, lw, x0, y0 + 1, d) +
                                       ex * ey * ref_read(r, b, h, start, lh, lw, x0 + 1, y0 + 1, d);
                            acc += r->attn[s] * v;
                        }
                    out[(((size_t)b * r->Q + q) * r->H + h) * r->D + d] = acc;
                }
}

static double msda_loss(void *ctx) {
    MsdaRef *r = ctx;
    size_t n = (size_t)r->B * r->Q * r->H * r->D;
    double *out = gc_alloc_f64(n);
    msda_ref(r, out);
    double L = gc_dot_f64(out, r->dout, n);
    free(out);
    return L;
}

typedef struct { size_t nv, nl, na, no; float *value, *loc, *attn, *dout; } MsdaInputs;

// Locations in [lo, hi]: beyond [0, 1] some corners (or whole samples) fall outside the grid.
static MsdaInputs msda_inputs(const MsdaRef *r, uint64_t seed, double lo, double hi) {
    TestRng rng = trng_seed(seed);
    MsdaInputs in = {.nv = (size_t)r->B * r->S * r->H * r->D, .nl = (size_t)r->B * r->Q * r->H * r->L * r->P * 2};
    in.na = in.nl / 2;
    in.no = (size_t)r->B * r->Q * r->H * r->D;
    in.value = gc_alloc_f32(in.nv); in.loc = gc_alloc_f32(in.nl); in.attn = gc_alloc_f32(in.na); in.dout = gc_alloc_f32(in.no);
    trng_fill_normal(&rng, in.value, in.nv, 1.0);
    trng_fill_uniform(&rng, in.loc, in.nl, lo, hi);
    trng_fill_uniform(&rng, in.attn, in.na, 0.0, 0.5);
    trng_fill_normal(&rng, in.dout, in.no, 1.0);
    return in;
}

static void msda_inputs_free(MsdaInputs *in) { free(in->value); free(in->loc); free(in->attn); free(in->dout); }

static int levels_rows(const int *hw, int L) {
    int S = 0;
    for (int l = 0; l < L; l++) S += hw[2 * l] * hw[2 * l + 1];
    return S;
}

static void check_msda(int B, int Q, int H, int D, int L, int P, const int *hw, uint64_t seed) {
    Backend *be = backend_cpu_create();
    MsdaRef r = {B, levels_rows(hw, L), Q, H, D, L, P, hw, NULL, NULL, NULL, NULL};
    MsdaInputs in = msda_inputs(&r, seed, -0.3, 1.3);
    r.value = gc_alloc_f64(in.nv); r.loc = gc_alloc_f64(in.nl); r.attn = gc_alloc_f64(in.na); r.dout = gc_alloc_f64(in.no);
    gc_f32_to_f64(r.value, in.value, in.nv); gc_f32_to_f64(r.loc, in.loc, in.nl);
    gc_f32_to_f64(r.attn, in.attn, in.na); gc_f32_to_f64(r.dout, in.dout, in.no);
    double *ref = gc_alloc_f64(in.no);
    msda_ref(&r, ref);
    float *want = gc_alloc_f32(in.no), *out = gc_alloc_f32(in.no);
    gc_f64_to_f32(want, ref, in.no);
    gc_fill_nan(out, in.no);
    be->msda_forward(be, out, in.value, in.loc, in.attn, hw, B, r.S, Q, H, D, L, P);
    EXPECT_CLOSE_F32("msda out", out, want, in.no, 1e-5, 1e-4);

    float *dv = gc_alloc_f32(in.nv), *dl = gc_alloc_f32(in.nl), *da = gc_alloc_f32(in.na);
    gc_fill_nan(dv, in.nv); gc_fill_nan(dl, in.nl); gc_fill_nan(da, in.na);
    be->msda_backward(be, dv, dl, da, in.dout, in.value, in.loc, in.attn, hw, B, r.S, Q, H, D, L, P);
    EXPECT_GRAD("dvalue", msda_loss, &r, r.value, dv, in.nv, 1e-5, 1e-4);
    EXPECT_GRAD("dloc", msda_loss, &r, r.loc, dl, in.nl, 1e-4, 1e-4);
    EXPECT_GRAD("dattn", msda_loss, &r, r.attn, da, in.na, 1e-5, 1e-4);

    // Each gradient alone (NULL skips the others) gives the same bits.
    float *dv2 = gc_alloc_f32(in.nv), *dl2 = gc_alloc_f32(in.nl), *da2 = gc_alloc_f32(in.na);
    be->msda_backward(be, dv2, NULL, NULL, in.dout, in.value, in.loc, in.attn, hw, B, r.S, Q, H, D, L, P);
    be->msda_backward(be, NULL, dl2, NULL, in.dout, in.value, in.loc, in.attn, hw, B, r.S, Q, H, D, L, P);
    be->msda_backward(be, NULL, NULL, da2, in.dout, in.value, in.loc, in.attn, hw, B, r.S, Q, H, D, L, P);
    EXPECT(gc_same_bits(dv2, dv, in.nv * sizeof(float)));
    EXPECT(gc_same_bits(dl2, dl, in.nl * sizeof(float)));
    EXPECT(gc_same_bits(da2, da, in.na * sizeof(float)));

    free(dv2); free(dl2); free(da2); free(dv); free(dl); free(da); free(out); free(want); free(ref);
    free(r.value); free(r.loc); free(r.attn); free(r.dout);
    msda_inputs_free(&in);
    be->destroy(be);
}

TEST(cpu_msda) {
    static const int hw3[] = {3, 4, 2, 2, 1, 3};
    check_msda(2, 5, 2, 3, 3, 2, hw3, 1);
    static const int hw1[] = {5, 7};
    check_msda(1, 9, 3, 8, 1, 4, hw1, 2);    // one level, more points
    static const int hw2[] = {1, 1, 6, 1};   // 1x1 and a column: every sample straddles the edges
    check_msda(1, 4, 1, 5, 2, 3, hw2, 3);
}

// Grounding-DINO-Tiny's decoder cross-attention at an 800x1333 image: 4 levels (100x167 .. 13x21), 8 heads of
// 32, 4 points, 900 queries. The forward against the double reference (the backward is checked at small
// shapes above and on the emulated GPU; it is not run at this shape, to keep make test short).
TEST(cpu_msda_real_shape) {
    static const int hw[] = {100, 167, 50, 84, 25, 42, 13, 21};
    const int B = 1, Q = 900, H = 8, D = 32, L = 4, P = 4;
    Backend *be = backend_cpu_create();
    MsdaRef r = {B, levels_rows(hw, L), Q, H, D, L, P, hw, NULL, NULL, NULL, NULL};
    EXPECT_EQ_INT(r.S, 22223);
    MsdaInputs in = msda_inputs(&r, 4, -0.05, 1.05);
    r.value = gc_alloc_f64(in.nv); r.loc = gc_alloc_f64(in.nl); r.attn = gc_alloc_f64(in.na);
    gc_f32_to_f64(r.value, in.value, in.nv); gc_f32_to_f64(r.loc, in.loc, in.nl); gc_f32_to_f64(r.attn, in.attn, in.na);
    double *ref = gc_alloc_f64(in.no);
    msda_ref(&r, ref);
    float *want = gc_alloc_f32(in.no), *out = gc_alloc_f32(in.no);
    gc_f64_to_f32(want, ref, in.no);
    be->msda_forward(be, out, in.value, in.loc, in.attn, hw, B, r.S, Q, H, D, L, P);
    // The pixel coordinate loc·167 − 0.5 is rounded to fp32 (an ulp is 1.5e-5 there, as in torch's own fp32
    // grid_sample), which moves a bilinear weight by as much: atol 1e-4 for values ~N(0, 1).
    EXPECT_CLOSE_F32("msda out (real shape)", out, want, in.no, 1e-4, 1e-4);
    free(ref); free(want); free(out); free(r.value); free(r.loc); free(r.attn);
    msda_inputs_free(&in);
    be->destroy(be);
}

// Forward and all three gradients give the same bits on 1 and 2 threads (dvalue is split by head, rows by query).
TEST(cpu_msda_threads_deterministic) {
    static const int hw[] = {6, 5, 3, 3};
    const int B = 2, Q = 23, H = 3, D = 7, L = 2, P = 3;
    MsdaRef r = {B, levels_rows(hw, L), Q, H, D, L, P, hw, NULL, NULL, NULL, NULL};
    MsdaInputs in = msda_inputs(&r, 5, -0.1, 1.1);
    Backend *be = backend_cpu_create();
    float *res[2][4];
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        float *out = gc_alloc_f32(in.no), *dv = gc_alloc_f32(in.nv), *dl = gc_alloc_f32(in.nl), *da = gc_alloc_f32(in.na);
        be->msda_forward(be, out, in.value, in.loc, in.attn, hw, B, r.S, Q, H, D, L, P);
        be->msda_backward(be, dv, dl, da, in.dout, in.value, in.loc, in.attn, hw, B, r.S, Q, H, D, L, P);
        float *x[4] = {out, dv, dl, da};
        memcpy(res[t], x, sizeof x);
    }
    threads_set_count(0);
    size_t sz[4] = {in.no, in.nv, in.nl, in.na};
    for (int i = 0; i < 4; i++) {
        EXPECT_MSG(gc_same_bits(res[0][i], res[1][i], sz[i] * sizeof(float)), "output %d differs between 1 and 2 threads", i);
        free(res[0][i]); free(res[1][i]);
    }
    msda_inputs_free(&in);
    be->destroy(be);
}
