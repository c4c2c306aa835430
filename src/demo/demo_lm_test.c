// demo_lm_test.c — the demo model's whole backward (every op's backward composed) against
// central finite differences in double-checked fp32, on a tiny config.
#include "test/test.h"
#include "demo/demo_lm.h"
#include "base/check.h"
#include <string.h>

TEST(demo_lm_backward_matches_finite_differences) {
    Backend *be = backend_cpu_create();
    DemoConfig cfg = {.V = 11, .C = 8, .H = 2, .F = 12, .T = 5, .B = 2, .rope_theta = 100.0f, .eps = 1e-5f};
    DemoLM m;
    demo_lm_init(&m, be, cfg, 42);
    // Larger weights than the default init so every path carries a visible gradient.
    for (size_t i = 0; i < m.nparams; i++) m.params_mem[i] *= 20.0f;
    int32_t ids[10] = {1, 4, 2, 9, 0, 3, 3, 7, 10, 5};
    int32_t tgt[10] = {4, 2, 9, 0, -100, 3, 7, 10, 5, 6};  // one ignored target
    demo_lm_step(&m, ids, tgt, 2, 5, true, NULL, NULL);
    float *analytic = malloc_check(m.nparams * sizeof(float));
    memcpy(analytic, m.grads_mem, m.nparams * sizeof(float));

    // Probe every 7th parameter (covers every tensor of the block) with central differences.
    int checked = 0, bad = 0, sizeable = 0, caught = 0;
    double worst = 0;
    for (size_t i = 0; i < m.nparams; i += 7) {
        float saved = m.params_mem[i], h = 3e-3f;
        m.params_mem[i] = saved + h;
        double lp = demo_lm_step(&m, ids, tgt, 2, 5, false, NULL, NULL);
        m.params_mem[i] = saved - h;
        double lm = demo_lm_step(&m, ids, tgt, 2, 5, false, NULL, NULL);
        m.params_mem[i] = saved;
        double fd = (lp - lm) / (2 * h), an = analytic[i], err = fabs(fd - an);
        double tol = 2e-3 + 2e-2 * fabs(fd);
        if (err > tol) {
            if (bad < 5) test_fail_at(__FILE__, __LINE__, "param %zu: analytic %.6g vs finite difference %.6g", i, an, fd);
            bad++;
        }
        if (err > worst) worst = err;
        checked++;
        // The tolerance must be tight enough to catch a 10% error in any sizeable gradient.
        if (fabs(fd) > 0.05) { sizeable++; caught += fabs(fd - 1.1 * an) > tol; }
    }
    EXPECT(checked > 50);
    EXPECT_EQ_INT(bad, 0);
    EXPECT(sizeable > 20);
    EXPECT_EQ_INT(caught, sizeable);
    free(analytic);
    demo_lm_free(&m);
    backend_destroy(be);
}

TEST(demo_lm_learns_a_repeating_sequence) {
    Backend *be = backend_cpu_create();
    DemoConfig cfg = {.V = 7, .C = 16, .H = 2, .F = 32, .T = 12, .B = 4, .rope_theta = 10000.0f, .eps = 1e-5f};
    DemoLM m;
    demo_lm_init(&m, be, cfg, 3);
    int32_t ids[48], tgt[48];
    for (int b = 0; b < 4; b++)
        for (int t = 0; t < 12; t++) { ids[b * 12 + t] = (b + t) % 7; tgt[b * 12 + t] = (b + t + 1) % 7; }
    float first = demo_lm_step(&m, ids, tgt, 4, 12, true, NULL, NULL), last = first;
    for (int step = 0; step < 60; step++) {
        demo_lm_update(&m, 1e-2f, 0.0f, 1.0f);
        last = demo_lm_step(&m, ids, tgt, 4, 12, true, NULL, NULL);
    }
    EXPECT_MSG(last < 0.2f * first, "loss %.4f -> %.4f: training on a trivially predictable sequence did not converge", first, last);
    demo_lm_free(&m);
    backend_destroy(be);
}
