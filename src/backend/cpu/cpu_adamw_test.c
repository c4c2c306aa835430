// cpu_adamw_test.c — AdamW against the torch.optim.AdamW formula evaluated in double over several
// steps (parameters, m and v), two hand-checkable cases (the first step is lr·sign(g); weight decay
// is decoupled from the gradient), and identical bits on 1 and 2 threads.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

static void adamw_ref(double *p, const double *g, double *m, double *v, size_t n, double lr, double b1, double b2,
                      double eps, double wd, int step) {
    double bc1 = 1 - pow(b1, step), bc2 = 1 - pow(b2, step);
    for (size_t i = 0; i < n; i++) {
        p[i] *= 1 - lr * wd;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= lr / bc1 * m[i] / (sqrt(v[i]) / sqrt(bc2) + eps);
    }
}

TEST(cpu_adamw) {
    Backend *be = backend_cpu_create();
    const size_t n = 1037;
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f;
    TestRng rng = trng_seed(61);
    float *p = gc_alloc_f32(n), *g = gc_alloc_f32(n), *m = gc_alloc_f32(n), *v = gc_alloc_f32(n), *tmp = gc_alloc_f32(n);
    double *pd = gc_alloc_f64(n), *gd = gc_alloc_f64(n), *md = gc_alloc_f64(n), *vd = gc_alloc_f64(n);
    trng_fill_normal(&rng, p, n, 1.0);
    gc_f32_to_f64(pd, p, n);
    for (int step = 1; step <= 5; step++) {
        trng_fill_normal(&rng, g, n, step == 3 ? 1e-3 : 1.0);   // one step of tiny gradients
        g[0] = 0.0f;                                              // m, v decay; p still decays
        gc_f32_to_f64(gd, g, n);
        be->adamw_update(be, p, g, m, v, n, lr, b1, b2, eps, wd, step);
        adamw_ref(pd, gd, md, vd, n, lr, b1, b2, eps, wd, step);
        gc_f64_to_f32(tmp, pd, n); EXPECT_CLOSE_F32("adamw p", p, tmp, n, 1e-7, 1e-6);
        gc_f64_to_f32(tmp, md, n); EXPECT_CLOSE_F32("adamw m", m, tmp, n, 5e-8, 1e-6);  // m cancels: error ~ ulp(|g|)
        gc_f64_to_f32(tmp, vd, n); EXPECT_CLOSE_F32("adamw v", v, tmp, n, 1e-12, 1e-6);
    }

    // Step 1 from zero state moves each weight by lr·g/(|g| + eps) ≈ lr·sign(g), after decay.
    float p1[3] = {1.0f, -2.0f, 0.5f}, g1[3] = {0.3f, -5.0f, 0.0f}, m1[3] = {0}, v1[3] = {0};
    be->adamw_update(be, p1, g1, m1, v1, 3, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, 1);
    EXPECT_NEAR(p1[0], 1.0 * (1 - 0.001) - 0.01, 1e-7, 1e-6);
    EXPECT_NEAR(p1[1], -2.0 * (1 - 0.001) + 0.01, 1e-7, 1e-6);
    EXPECT_NEAR(p1[2], 0.5 * (1 - 0.001), 1e-7, 1e-6);       // zero gradient: decay only (decoupled)
    free(p); free(g); free(m); free(v); free(tmp); free(pd); free(gd); free(md); free(vd);
    be->destroy(be);
}

TEST(cpu_adamw_threads_deterministic) {
    Backend *be = backend_cpu_create();
    const size_t n = 70001;
    TestRng rng = trng_seed(62);
    float *g = gc_alloc_f32(n), *p0 = gc_alloc_f32(n), *st[2];
    trng_fill_normal(&rng, g, n, 1.0);
    trng_fill_normal(&rng, p0, n, 1.0);
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        st[t] = gc_alloc_f32(3 * n);
        memcpy(st[t], p0, n * sizeof(float));
        for (int step = 1; step <= 3; step++)
            be->adamw_update(be, st[t], g, st[t] + n, st[t] + 2 * n, n, 3e-4f, 0.9f, 0.95f, 1e-6f, 0.1f, step);
    }
    threads_set_count(0);
    EXPECT(gc_same_bits(st[0], st[1], 3 * n * sizeof(float)));
    free(st[0]); free(st[1]); free(g); free(p0);
    be->destroy(be);
}
