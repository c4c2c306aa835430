// cpu_norm_test.c — RMSNorm and LayerNorm against a double-precision reference written here,
// backward by finite differences of that reference, dw/db accumulation, NULL skips, and identical
// bits on 1 and 2 threads.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int N, C; double eps; bool layer;          // layer: LayerNorm, else RMSNorm
    double *x, *w, *b, *dout;                  // x, dout [N,C]; w, b [C]
} NormRef;

// out = x / sqrt(mean(x²) + eps) · w   or   (x − mean) / sqrt(var + eps) · w + b
static void norm_ref(const NormRef *r, double *out) {
    for (int n = 0; n < r->N; n++) {
        const double *x = r->x + (size_t)n * r->C;
        double mean = 0, var = 0;
        if (r->layer) {
            for (int i = 0; i < r->C; i++) mean += x[i];
            mean /= r->C;
        }
        for (int i = 0; i < r->C; i++) var += (x[i] - mean) * (x[i] - mean);
        double rstd = 1 / sqrt(var / r->C + r->eps);
        for (int i = 0; i < r->C; i++)
            out[(size_t)n * r->C + i] = (x[i] - mean) * rstd * r->w[i] + (r->layer ? r->b[i] : 0);
    }
}

static double norm_loss(void *ctx) {
    NormRef *r = ctx;
    size_t n = (size_t)r->N * r->C;
    double *out = gc_alloc_f64(n);
    norm_ref(r, out);
    double L = gc_dot_f64(out, r->dout, n);
    free(out);
    return L;
}

// Runs forward + backward in fp32 and checks everything against the reference.
static void check_norm(bool layer, int N, int C, float eps, uint64_t seed) {
    Backend *be = backend_cpu_create();
    TestRng rng = trng_seed(seed);
    size_t n = (size_t)N * C;
    float *x = gc_alloc_f32(n), *w = gc_alloc_f32(C), *b = gc_alloc_f32(C), *dout = gc_alloc_f32(n);
    float *out = gc_alloc_f32(n), *dx = gc_alloc_f32(n), *dw = gc_alloc_f32(C), *db = gc_alloc_f32(C);
    float *mean = gc_alloc_f32(N), *rstd = gc_alloc_f32(N), *want = gc_alloc_f32(n);
    trng_fill_normal(&rng, x, n, 1.5);
    for (int i = 0; i < C; i++) x[i] += 3.0f;    // a row with a large mean: LayerNorm must subtract it well
    for (int i = 0; i < C; i++) { w[i] = (float)(1 + 0.3 * trng_normal(&rng)); b[i] = (float)(0.2 * trng_normal(&rng)); }
    trng_fill_normal(&rng, dout, n, 1.0);

    NormRef r = {N, C, eps, layer, gc_alloc_f64(n), gc_alloc_f64(C), gc_alloc_f64(C), gc_alloc_f64(n)};
    gc_f32_to_f64(r.x, x, n); gc_f32_to_f64(r.w, w, C); gc_f32_to_f64(r.b, b, C); gc_f32_to_f64(r.dout, dout, n);
    double *ref = gc_alloc_f64(n);
    norm_ref(&r, ref);
    gc_f64_to_f32(want, ref, n);

    gc_fill_nan(out, n);
    if (layer) be->layernorm_forward(be, out, mean, rstd, x, w, b, N, C, eps);
    else be->rmsnorm_forward(be, out, rstd, x, w, N, C, eps);
    EXPECT_CLOSE_F32(layer ? "layernorm out" : "rmsnorm out", out, want, n, 1e-6, 2e-6);
    for (int i = 0; i < N; i++) {     // saved statistics
        double mu = 0, v = 0;
        for (int j = 0; j < C; j++) mu += layer ? r.x[(size_t)i * C + j] / C : 0;
        for (int j = 0; j < C; j++) { double d = r.x[(size_t)i * C + j] - mu; v += d * d / C; }
        EXPECT_NEAR(rstd[i], 1 / sqrt(v + eps), 0, 1e-6);
        if (layer) EXPECT_NEAR(mean[i], mu, 1e-6, 1e-6);
    }

    gc_fill_nan(dx, n);                  // dx is overwritten
    if (layer) be->layernorm_backward(be, dx, dw, db, dout, x, w, mean, rstd, N, C);
    else be->rmsnorm_backward(be, dx, dw, dout, x, w, rstd, N, C);
    EXPECT_GRAD("dx", norm_loss, &r, r.x, dx, n, 2e-5, 1e-4);
    EXPECT_GRAD("dw", norm_loss, &r, r.w, dw, (size_t)C, 2e-5, 1e-4);
    if (layer) EXPECT_GRAD("db", norm_loss, &r, r.b, db, (size_t)C, 2e-5, 1e-4);

    // dw/db accumulate (+=) onto what is there; dx = is unaffected by NULL parameter grads.
    float *dw2 = gc_alloc_f32(C), *db2 = gc_alloc_f32(C), *dx2 = gc_alloc_f32(n);
    for (int i = 0; i < C; i++) { dw2[i] = 0.25f * (float)i; db2[i] = -1.5f; }
    if (layer) be->layernorm_backward(be, NULL, dw2, db2, dout, x, w, mean, rstd, N, C);
    else be->rmsnorm_backward(be, NULL, dw2, dout, x, w, rstd, N, C);
    for (int i = 0; i < C; i++) {
        EXPECT(dw2[i] == 0.25f * (float)i + dw[i]);
        if (layer) EXPECT(db2[i] == -1.5f + db[i]);
    }
    if (layer) be->layernorm_backward(be, dx2, NULL, NULL, dout, x, w, mean, rstd, N, C);
    else be->rmsnorm_backward(be, dx2, NULL, dout, x, w, rstd, N, C);
    EXPECT(gc_same_bits(dx2, dx, n * sizeof(float)));

    free(ref); free(r.x); free(r.w); free(r.b); free(r.dout);
    free(x); free(w); free(b); free(dout); free(out); free(dx); free(dw); free(db);
    free(mean); free(rstd); free(want); free(dw2); free(db2); free(dx2);
    be->destroy(be);
}

TEST(cpu_rmsnorm) {
    check_norm(false, 7, 37, 1e-5f, 1);
    check_norm(false, 3, 1, 0.1f, 2);        // C = 1 (a large eps keeps dx away from 0)
}

TEST(cpu_layernorm) {
    check_norm(true, 7, 37, 1e-5f, 3);
    check_norm(true, 2, 129, 1e-12f, 4);     // BERT's eps
}

// Forward and backward give the same bits on 1 and 2 threads (rows split for x, columns for w).
TEST(cpu_norm_threads_deterministic) {
    Backend *be = backend_cpu_create();
    const int N = 67, C = 301;
    size_t n = (size_t)N * C;
    TestRng rng = trng_seed(5);
    float *x = gc_alloc_f32(n), *w = gc_alloc_f32(C), *b = gc_alloc_f32(C), *dout = gc_alloc_f32(n);
    trng_fill_normal(&rng, x, n, 1); trng_fill_normal(&rng, w, C, 1); trng_fill_normal(&rng, b, C, 1);
    trng_fill_normal(&rng, dout, n, 1);
    float *res[2][6];
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        float *out = gc_alloc_f32(n), *mean = gc_alloc_f32(N), *rstd = gc_alloc_f32(N);
        float *dx = gc_alloc_f32(n), *dw = gc_alloc_f32(C), *db = gc_alloc_f32(C);
        be->layernorm_forward(be, out, mean, rstd, x, w, b, N, C, 1e-5f);
        be->layernorm_backward(be, dx, dw, db, dout, x, w, mean, rstd, N, C);
        be->rmsnorm_forward(be, out + 1, rstd, x + 1, w, N - 1, C, 1e-5f);  // odd offsets too
        be->rmsnorm_backward(be, dx + 1, dw, dout + 1, x + 1, w, rstd, N - 1, C);
        float *r[6] = {out, mean, rstd, dx, dw, db};
        memcpy(res[t], r, sizeof r);
    }
    threads_set_count(0);
    size_t sz[6] = {n, N, N, n, C, C};
    for (int i = 0; i < 6; i++) {
        EXPECT_MSG(gc_same_bits(res[0][i], res[1][i], sz[i] * sizeof(float)), "output %d differs between 1 and 2 threads", i);
        free(res[0][i]); free(res[1][i]);
    }
    free(x); free(w); free(b); free(dout);
    be->destroy(be);
}
