// gradcheck_test.c — the finite-difference checker itself: it accepts an exact gradient and rejects
// wrong ones (a flipped sign, a 1% error, a missing factor, NaN), its sharpness guard refuses loose
// tolerances and all-zero gradients, and the RNG is deterministic with sane normal moments.
#include "test/test.h"
#include "test/gradcheck.h"
#include <stdlib.h>
#include <string.h>

// L(x) = Σ c_i x_i³ + sin(x_0 x_1); ∂L/∂x_i = 3 c_i x_i² (+ cos(x_0 x_1) x_1 or x_0 for i = 0, 1)
typedef struct { size_t n; double *x; const double *c; } Cubic;

static double cubic_loss(void *ctx) {
    Cubic *p = ctx;
    double L = sin(p->x[0] * p->x[1]);
    for (size_t i = 0; i < p->n; i++) L += p->c[i] * p->x[i] * p->x[i] * p->x[i];
    return L;
}

TEST(gradcheck_accepts_right_rejects_wrong) {
    enum { N = 23 };
    TestRng rng = trng_seed(91);
    double x[N], c[N], num[N];
    float g[N], bad[N];
    for (int i = 0; i < N; i++) { x[i] = trng_normal(&rng); c[i] = trng_normal(&rng); }
    Cubic p = {N, x, c};
    for (int i = 0; i < N; i++) g[i] = (float)(3 * c[i] * x[i] * x[i]);
    g[0] += (float)(cos(x[0] * x[1]) * x[1]);
    g[1] += (float)(cos(x[0] * x[1]) * x[0]);

    double x_before[N];
    memcpy(x_before, x, sizeof x);
    gradcheck_numeric(cubic_loss, &p, x, N, 1e-6, num);
    EXPECT(gc_same_bits(x, x_before, sizeof x));                 // inputs restored exactly
    EXPECT(gradcheck_compare(g, num, N, 1e-5, 1e-4).bad == 0);
    EXPECT(gradcheck_sharp(num, N, 1e-5, 1e-4));
    EXPECT(EXPECT_GRAD("cubic", cubic_loss, &p, x, g, N, 1e-5, 1e-4));

    int big = 0;
    for (int i = 1; i < N; i++) if (fabs(num[i]) > fabs(num[big])) big = i;
    memcpy(bad, g, sizeof g); bad[5] = -bad[5];                   // flipped sign
    EXPECT(gradcheck_compare(bad, num, N, 1e-5, 1e-4).bad == 1);
    memcpy(bad, g, sizeof g); bad[big] *= 1.01f;                  // 1% off
    GcResult r = gradcheck_compare(bad, num, N, 1e-5, 1e-4);
    EXPECT(r.bad == 1 && r.worst == (size_t)big);
    memcpy(bad, g, sizeof g); bad[0] = (float)(3 * c[0] * x[0] * x[0]);   // forgot the sin term
    EXPECT(gradcheck_compare(bad, num, N, 1e-5, 1e-4).bad >= 1);
    memcpy(bad, g, sizeof g); bad[N - 1] = NAN;
    r = gradcheck_compare(bad, num, N, 1e-5, 1e-4);
    EXPECT(r.bad == 1 && r.worst == N - 1);

    EXPECT(!gradcheck_sharp(num, N, 1e-5, 0.02));                // 2% rtol cannot see a 1% error
    EXPECT(!gradcheck_sharp(num, N, 10.0, 0));                   // nor can an atol larger than the gradient
    double zeros[3] = {0, 0, 0};
    EXPECT(!gradcheck_sharp(zeros, 3, 1e-5, 1e-4));              // an all-zero gradient tests nothing
}

TEST(gradcheck_rng) {
    TestRng a = trng_seed(7), b = trng_seed(7), c = trng_seed(8);
    EXPECT(trng_next(&a) == trng_next(&b));
    EXPECT(trng_next(&a) != trng_next(&c));
    double s = 0, s2 = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) { double z = trng_normal(&a); s += z; s2 += z * z; }
    EXPECT_NEAR(s / n, 0, 0.02, 0);
    EXPECT_NEAR(s2 / n, 1, 0.02, 0);
    int hist[5] = {0};
    for (int i = 0; i < 5000; i++) hist[trng_int(&a, 5)]++;
    for (int k = 0; k < 5; k++) EXPECT(hist[k] > 850 && hist[k] < 1150);
}
