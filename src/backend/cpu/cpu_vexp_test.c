// cpu_vexp_test.c — vec_exp_affine against libm (double exp, rounded) over a range sweep, the special
// values, and position independence (a value is the same in the vector body and in the tail).
#include "test/test.h"
#include "backend/cpu/cpu_vexp.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// Distance in units in the last place between a float result and the exact value (double).
static double ulps(float got, double want) {
    if (isinf(want) || want > FLT_MAX) return isinf(got) && got > 0 ? 0 : INFINITY;
    const double ulp = want < FLT_MIN ? ldexp(1.0, -149) : ldexp(1.0, ilogb(want) - 23);
    return fabs((double)got - want) / ulp;
}

TEST(vexp_matches_libm_over_range) {
    enum { N = 400000 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) x[i] = -105.0f + 195.0f * (float)i / (float)(N - 1);  // [-105, 90]
    vec_exp_affine(y, x, 1.0f, 0.0f, N);
    double worst = 0;
    int at = 0;
    for (int i = 0; i < N; i++) {
        double u = ulps(y[i], exp((double)x[i]));
        if (u > worst) worst = u, at = i;
    }
    EXPECT_MSG(worst <= 2.0, "exp(%.9g) = %.9g, libm %.9g: %.2f ulp", x[at], y[at], exp((double)x[at]), worst);
    // libm's expf itself, as the baseline the ops used before
    double worst_libm = 0;
    for (int i = 0; i < N; i += 7) worst_libm = fmax(worst_libm, ulps(expf(x[i]), exp((double)x[i])));
    EXPECT_MSG(worst_libm <= 1.0, "libm expf: %.2f ulp", worst_libm);
    // the negated argument (sigmoid's exp(-x)) and a shift (softmax's exp(x - max))
    vec_exp_affine(y, x, -1.0f, 0.0f, N);
    for (int i = 0; i < N; i += 13) EXPECT(ulps(y[i], exp(-(double)x[i])) <= 2.0);
    vec_exp_affine(y, x, 1.0f, -3.25f, N);
    for (int i = 0; i < N; i += 13) EXPECT(ulps(y[i], exp((double)(x[i] - 3.25f))) <= 2.0);
    free(x);
    free(y);
}

TEST(vexp_special_values) {
    const float x[] = {0.0f, -0.0f, -INFINITY, INFINITY, NAN, 88.7f, 89.0f, 1000.0f, -1000.0f, -87.0f, -103.0f, 1e-30f};
    const size_t n = sizeof x / sizeof *x;
    float y[sizeof x / sizeof *x];
    vec_exp_affine(y, x, 1.0f, 0.0f, n);
    EXPECT(y[0] == 1.0f && y[1] == 1.0f);
    EXPECT(y[2] == 0.0f);
    EXPECT(isinf(y[3]) && y[3] > 0);
    EXPECT(isnan(y[4]));
    EXPECT(isfinite(y[5]) && ulps(y[5], exp((double)88.7f)) <= 2.0);
    EXPECT(isinf(y[6]) && isinf(y[7]));
    EXPECT(y[8] == 0.0f);
    EXPECT(ulps(y[9], exp(-87.0)) <= 2.0);
    EXPECT(ulps(y[10], exp(-103.0)) <= 2.0);  // subnormal
    EXPECT(y[11] == 1.0f);
}

TEST(vexp_position_independent) {
    float x[37], y[37], z[37];
    for (int i = 0; i < 37; i++) x[i] = -20.0f + 1.37f * (float)i;
    vec_exp_affine(y, x, 1.0f, 0.0f, 37);
    for (int off = 1; off < 9; off++) {  // shift every element between body and tail lanes
        vec_exp_affine(z, x + off, 1.0f, 0.0f, (size_t)(37 - off));
        EXPECT_MSG(memcmp(z, y + off, (size_t)(37 - off) * sizeof(float)) == 0, "offset %d changes a value", off);
    }
}
