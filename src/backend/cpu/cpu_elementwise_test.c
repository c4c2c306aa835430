// cpu_elementwise_test.c — add (also in place), axpy, scale and sum_squares against double
// references, empty inputs, and identical bits on 1 and 2 threads (sum_squares included, whose
// fixed-block reduction must not depend on how the range is split).
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

TEST(cpu_elementwise) {
    Backend *be = backend_cpu_create();
    const size_t n = 40000 + 13;   // several parallel chunks and a ragged tail
    TestRng rng = trng_seed(51);
    float *a = gc_alloc_f32(n), *b = gc_alloc_f32(n), *out = gc_alloc_f32(n), *want = gc_alloc_f32(n);
    trng_fill_normal(&rng, a, n, 1.0);
    trng_fill_normal(&rng, b, n, 3.0);

    gc_fill_nan(out, n);
    be->add(be, out, a, b, n);
    for (size_t i = 0; i < n; i++) want[i] = (float)((double)a[i] + b[i]);   // one rounding: exact
    EXPECT(gc_same_bits(out, want, n * sizeof(float)));
    memcpy(out, a, n * sizeof(float));
    be->add(be, out, out, b, n);                                           // out aliases a
    EXPECT(gc_same_bits(out, want, n * sizeof(float)));
    memcpy(out, b, n * sizeof(float));
    be->add(be, out, a, out, n);                                           // out aliases b
    EXPECT(gc_same_bits(out, want, n * sizeof(float)));

    memcpy(out, b, n * sizeof(float));
    be->axpy(be, out, -0.375f, a, n);
    for (size_t i = 0; i < n; i++) want[i] = (float)((double)b[i] - 0.375 * a[i]);
    EXPECT_CLOSE_F32("axpy", out, want, n, 1e-7, 1e-6);

    memcpy(out, a, n * sizeof(float));
    be->scale(be, out, 0.1f, n);
    for (size_t i = 0; i < n; i++) want[i] = (float)((double)a[i] * 0.1f);   // one rounding: exact
    EXPECT(gc_same_bits(out, want, n * sizeof(float)));

    double ref = 0;
    for (size_t i = 0; i < n; i++) ref += (double)b[i] * b[i];
    EXPECT_NEAR(be->sum_squares(be, b, n), ref, 0, 1e-13);
    EXPECT_NEAR(be->sum_squares(be, b + 1, 7), (double)b[1] * b[1] + (double)b[2] * b[2] + (double)b[3] * b[3] +
                (double)b[4] * b[4] + (double)b[5] * b[5] + (double)b[6] * b[6] + (double)b[7] * b[7], 0, 1e-15);
    EXPECT(be->sum_squares(be, b, 0) == 0.0);
    be->add(be, NULL, NULL, NULL, 0);          // n = 0 touches nothing
    be->axpy(be, NULL, 1.0f, NULL, 0);
    be->scale(be, NULL, 1.0f, 0);

    free(a); free(b); free(out); free(want);
    be->destroy(be);
}

TEST(cpu_elementwise_threads_deterministic) {
    Backend *be = backend_cpu_create();
    const size_t n = 300001;   // > 32 sum_squares blocks
    TestRng rng = trng_seed(52);
    float *a = gc_alloc_f32(n), *b = gc_alloc_f32(n), *res[2];
    double ss[2];
    trng_fill_normal(&rng, a, n, 1.0);
    trng_fill_normal(&rng, b, n, 10.0);
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        res[t] = gc_alloc_f32(n);
        be->add(be, res[t], a, b, n);
        be->axpy(be, res[t], 0.3f, a, n);
        be->scale(be, res[t], 1.7f, n);
        ss[t] = be->sum_squares(be, res[t], n);
    }
    threads_set_count(0);
    EXPECT(gc_same_bits(res[0], res[1], n * sizeof(float)));
    EXPECT(gc_same_bits(&ss[0], &ss[1], sizeof(double)));
    free(res[0]); free(res[1]); free(a); free(b);
    be->destroy(be);
}
