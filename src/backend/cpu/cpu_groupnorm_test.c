// cpu_groupnorm_test.c — GroupNorm on channels-last [N,P,C] against a double-precision reference written here,
// backward by finite differences, dw/db accumulation, NULL skips, and identical bits on 1 and 2 threads.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int N, P, C, G; double eps;
    double *x, *w, *b, *dout;
} GnRef;

static void gn_ref(const GnRef *r, double *out) {
    int Cg = r->C / r->G;
    for (int n = 0; n < r->N; n++)
        for (int g = 0; g < r->G; g++) {
            double mean = 0, var = 0, M = (double)r->P * Cg;
            for (int p = 0; p < r->P; p++)
                for (int j = 0; j < Cg; j++) mean += r->x[((size_t)n * r->P + p) * r->C + g * Cg + j] / M;
            for (int p = 0; p < r->P; p++)
                for (int j = 0; j < Cg; j++) {
                    double d = r->x[((size_t)n * r->P + p) * r->C + g * Cg + j] - mean;
                    var += d * d / M;
                }
            for (int p = 0; p < r->P; p++)
                for (int j = 0; j < Cg; j++) {
                    size_t e = ((size_t)n * r->P + p) * r->C + g * Cg + j;
                    out[e] = (r->x[e] - mean) / sqrt(var + r->eps) * r->w[g * Cg + j] + r->b[g * Cg + j];
                }
        }
}

static double gn_loss(void *ctx) {
    GnRef *r = ctx;
    size_t n = (size_t)r->N * r->P * r->C;
    double *out = gc_alloc_f64(n);
    gn_ref(r, out);
    double L = gc_dot_f64(out, r->dout, n);
    free(out);
    return L;
}

static void check_groupnorm(int N, int P, int C, int G, float eps, uint64_t seed) {
    Backend *be = backend_cpu_create();
    TestRng rng = trng_seed(seed);
    size_t n = (size_t)N * P * C, ng = (size_t)N * G;
    float *x = gc_alloc_f32(n), *w = gc_alloc_f32(C), *b = gc_alloc_f32(C), *dout = gc_alloc_f32(n);
    float *out = gc_alloc_f32(n), *dx = gc_alloc_f32(n), *dw = gc_alloc_f32(C), *db = gc_alloc_f32(C);
    float *mean = gc_alloc_f32(ng), *rstd = gc_alloc_f32(ng), *want = gc_alloc_f32(n);
    trng_fill_normal(&rng, x, n, 1.5);
    for (size_t i = 0; i < n; i += 3) x[i] += 2.0f;   // groups with a mean away from 0
    for (int i = 0; i < C; i++) { w[i] = (float)(1 + 0.3 * trng_normal(&rng)); b[i] = (float)(0.2 * trng_normal(&rng)); }
    trng_fill_normal(&rng, dout, n, 1.0);
    GnRef r = {N, P, C, G, eps, gc_alloc_f64(n), gc_alloc_f64(C), gc_alloc_f64(C), gc_alloc_f64(n)};
    gc_f32_to_f64(r.x, x, n); gc_f32_to_f64(r.w, w, C); gc_f32_to_f64(r.b, b, C); gc_f32_to_f64(r.dout, dout, n);
    double *ref = gc_alloc_f64(n);
    gn_ref(&r, ref);
    gc_f64_to_f32(want, ref, n);

    gc_fill_nan(out, n);
    be->groupnorm_forward(be, out, mean, rstd, x, w, b, N, P, C, G, eps);
    EXPECT_CLOSE_F32("groupnorm out", out, want, n, 1e-6, 2e-6);

    gc_fill_nan(dx, n);
    be->groupnorm_backward(be, dx, dw, db, dout, x, w, mean, rstd, N, P, C, G);
    EXPECT_GRAD("dx", gn_loss, &r, r.x, dx, n, 2e-5, 1e-4);
    EXPECT_GRAD("dw", gn_loss, &r, r.w, dw, (size_t)C, 2e-5, 1e-4);
    EXPECT_GRAD("db", gn_loss, &r, r.b, db, (size_t)C, 2e-5, 1e-4);

    // dw/db accumulate onto what is there; dx alone gives the same bits.
    float *dw2 = gc_alloc_f32(C), *db2 = gc_alloc_f32(C), *dx2 = gc_alloc_f32(n);
    for (int i = 0; i < C; i++) { dw2[i] = 0.25f * (float)i; db2[i] = -1.5f; }
    be->groupnorm_backward(be, NULL, dw2, db2, dout, x, w, mean, rstd, N, P, C, G);
    for (int i = 0; i < C; i++) {
        EXPECT(dw2[i] == 0.25f * (float)i + dw[i]);
        EXPECT(db2[i] == -1.5f + db[i]);
    }
    be->groupnorm_backward(be, dx2, NULL, NULL, dout, x, w, mean, rstd, N, P, C, G);
    EXPECT(gc_same_bits(dx2, dx, n * sizeof(float)));

    free(ref); free(r.x); free(r.w); free(r.b); free(r.dout);
    free(x); free(w); free(b); free(dout); free(out); free(dx); free(dw); free(db);
    free(mean); free(rstd); free(want); free(dw2); free(db2); free(dx2);
    be->destroy(be);
}

TEST(cpu_groupnorm) {
    check_groupnorm(2, 7, 12, 4, 1e-5f, 1);    // 3 channels per group
    check_groupnorm(1, 5, 64, 32, 1e-5f, 2);   // GroupNorm(32) as Grounding DINO's input projections (2 per group)
    check_groupnorm(3, 2, 6, 6, 0.1f, 3);      // two elements per group, a large eps
}

TEST(cpu_groupnorm_threads_deterministic) {
    Backend *be = backend_cpu_create();
    const int N = 3, P = 37, C = 64, G = 32;
    size_t n = (size_t)N * P * C;
    TestRng rng = trng_seed(4);
    float *x = gc_alloc_f32(n), *w = gc_alloc_f32(C), *b = gc_alloc_f32(C), *dout = gc_alloc_f32(n);
    trng_fill_normal(&rng, x, n, 1); trng_fill_normal(&rng, w, C, 1); trng_fill_normal(&rng, b, C, 1);
    trng_fill_normal(&rng, dout, n, 1);
    float *res[2][6];
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        float *out = gc_alloc_f32(n), *mean = gc_alloc_f32(N * G), *rstd = gc_alloc_f32(N * G);
        float *dx = gc_alloc_f32(n), *dw = gc_alloc_f32(C), *db = gc_alloc_f32(C);
        be->groupnorm_forward(be, out, mean, rstd, x, w, b, N, P, C, G, 1e-5f);
        be->groupnorm_backward(be, dx, dw, db, dout, x, w, mean, rstd, N, P, C, G);
        float *r[6] = {out, mean, rstd, dx, dw, db};
        memcpy(res[t], r, sizeof r);
    }
    threads_set_count(0);
    size_t sz[6] = {n, (size_t)N * G, (size_t)N * G, n, C, C};
    for (int i = 0; i < 6; i++) {
        EXPECT_MSG(gc_same_bits(res[0][i], res[1][i], sz[i] * sizeof(float)), "output %d differs between 1 and 2 threads", i);
        free(res[0][i]); free(res[1][i]);
    }
    free(x); free(w); free(b); free(dout);
    be->destroy(be);
}
