// cpu_logprob_test.c — target log-probabilities and lse against a double log-softmax, ignored
// targets (< 0) giving 0 and zero gradient rows, rows with huge logits, a near-certain target (small
// |logp| keeps its relative precision), finite-difference backward, and identical bits on 1 and 2
// threads at LLaMA's vocabulary size.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

typedef struct { int N, V; const int32_t *targets; double *logits, *dlogp; } LpRef;

// log Σ_j exp(x_j) − mx as log1p of the sum without the max's own 1: keeps |logp| ≈ 1e-15 exact.
static double lse_minus_max_ref(const double *x, int V, double *mx_out) {
    int jm = 0;
    for (int j = 1; j < V; j++) jm = x[j] > x[jm] ? j : jm;
    double s = 0;
    for (int j = 0; j < V; j++) s += j == jm ? 0 : exp(x[j] - x[jm]);
    *mx_out = x[jm];
    return log1p(s);
}

static double logprob_loss(void *ctx) {
    LpRef *r = ctx;
    double L = 0;
    for (int n = 0; n < r->N; n++) {
        if (r->targets[n] < 0) continue;
        const double *x = r->logits + (size_t)n * r->V;
        double mx, l = lse_minus_max_ref(x, r->V, &mx);
        L += ((x[r->targets[n]] - mx) - l) * r->dlogp[n];
    }
    return L;
}

TEST(cpu_logprob) {
    Backend *be = backend_cpu_create();
    const int N = 9, V = 101;
    int32_t targets[9] = {5, -100, 0, 100, 37, -1, 12, 12, 64};
    TestRng rng = trng_seed(71);
    size_t nv = (size_t)N * V;
    float *logits = gc_alloc_f32(nv), *dlogits = gc_alloc_f32(nv), *logp = gc_alloc_f32(N), *lse = gc_alloc_f32(N);
    float *dlogp = gc_alloc_f32(N), *want = gc_alloc_f32(N);
    trng_fill_normal(&rng, logits, nv, 3.0);
    trng_fill_normal(&rng, dlogp, N, 1.0);
    for (int j = 0; j < V; j++) logits[4 * V + j] += 500.0f;   // row 4: exp would overflow unshifted
    logits[6 * V + 12] = 40.0f;                                // row 6: target is near certain, logp ≈ -1e-15
    LpRef r = {N, V, targets, gc_alloc_f64(nv), gc_alloc_f64(N)};
    gc_f32_to_f64(r.logits, logits, nv); gc_f32_to_f64(r.dlogp, dlogp, N);

    gc_fill_nan(logp, N);
    be->logprob_forward(be, logp, lse, logits, targets, N, V);
    for (int n = 0; n < N; n++) {
        double mx, l = lse_minus_max_ref(r.logits + (size_t)n * V, V, &mx);
        want[n] = targets[n] < 0 ? 0.0f : (float)((r.logits[(size_t)n * V + targets[n]] - mx) - l);
        EXPECT_NEAR(lse[n], mx + l, 0, 2e-7);
    }
    EXPECT_CLOSE_F32("logp", logp, want, N, 0, 2e-6);            // relative, even for row 6
    EXPECT(logp[1] == 0.0f && logp[5] == 0.0f);

    gc_fill_nan(dlogits, nv);
    be->logprob_backward(be, dlogits, dlogp, logits, lse, targets, N, V);
    EXPECT_GRAD("dlogits", logprob_loss, &r, r.logits, dlogits, nv, 1e-6, 1e-4);
    for (int j = 0; j < V; j++) EXPECT(dlogits[1 * V + j] == 0.0f && dlogits[5 * V + j] == 0.0f);

    free(r.logits); free(r.dlogp);
    free(logits); free(dlogits); free(logp); free(lse); free(dlogp); free(want);
    be->destroy(be);
}

TEST(cpu_logprob_threads_deterministic) {
    Backend *be = backend_cpu_create();
    const int N = 6, V = 32000;
    int32_t targets[6] = {1, 31999, -100, 7, 0, 2};
    TestRng rng = trng_seed(72);
    size_t nv = (size_t)N * V;
    float *logits = gc_alloc_f32(nv), *dlogp = gc_alloc_f32(N), *res[2];
    trng_fill_normal(&rng, logits, nv, 4.0);
    trng_fill_normal(&rng, dlogp, N, 1.0);
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        res[t] = gc_alloc_f32(nv + 2 * (size_t)N);
        be->logprob_forward(be, res[t] + nv, res[t] + nv + N, logits, targets, N, V);
        be->logprob_backward(be, res[t], dlogp, logits, res[t] + nv + N, targets, N, V);
    }
    threads_set_count(0);
    EXPECT(gc_same_bits(res[0], res[1], (nv + 2 * (size_t)N) * sizeof(float)));
    double s = 0;                      // each non-ignored gradient row sums to 0 (softmax sums to 1)
    for (int j = 0; j < V; j++) s += res[0][j];
    EXPECT_NEAR(s, 0, 1e-5, 0);
    free(res[0]); free(res[1]); free(logits); free(dlogp);
    be->destroy(be);
}
