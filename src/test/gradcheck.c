// gradcheck.c — see gradcheck.h. Kept free of any op code so it can check all of them.
#include "test/gradcheck.h"
#include "test/test.h"
#include "base/check.h"
#include <math.h>
#include <string.h>

TestRng trng_seed(uint64_t seed) {
    // Scramble the seed so that nearby seeds are not the same stream shifted by a step.
    TestRng r;
    rng_seed(&r.rng, seed ^ 0x632BE59BD9B4E019ull);
    rng_seed(&r.rng, rng_u64(&r.rng));
    return r;
}

uint64_t trng_next(TestRng *r) { return rng_u64(&r->rng); }

double trng_uniform(TestRng *r) { return (double)(trng_next(r) >> 11) * 0x1.0p-53; }

double trng_normal(TestRng *r) {
    double u1 = trng_uniform(r), u2 = trng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int trng_int(TestRng *r, int n) { return n <= 0 ? 0 : (int)(trng_next(r) % (uint64_t)n); }

void trng_fill_normal(TestRng *r, float *x, size_t n, double stddev) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(stddev * trng_normal(r));
}

void trng_fill_uniform(TestRng *r, float *x, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * trng_uniform(r));
}

float *gc_alloc_f32(size_t n) { return calloc_check(n ? n : 1, sizeof(float)); }
double *gc_alloc_f64(size_t n) { return calloc_check(n ? n : 1, sizeof(double)); }
void gc_f32_to_f64(double *dst, const float *src, size_t n) { for (size_t i = 0; i < n; i++) dst[i] = src[i]; }
void gc_f64_to_f32(float *dst, const double *src, size_t n) { for (size_t i = 0; i < n; i++) dst[i] = (float)src[i]; }
void gc_fill_nan(float *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = NAN; }

double gc_dot_f64(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

bool gc_same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

void gradcheck_numeric(GcLossFn loss, void *ctx, double *x, size_t n, double step, double *numeric) {
    for (size_t k = 0; k < n; k++) {
        double x0 = x[k], h = step * (fabs(x0) > 1 ? fabs(x0) : 1);
        x[k] = x0 + h;
        double lp = loss(ctx);
        x[k] = x0 - h;
        double lm = loss(ctx);
        x[k] = x0;
        numeric[k] = (lp - lm) / (2 * h);
    }
}

GcResult gradcheck_compare(const float *analytic, const double *numeric, size_t n, double atol, double rtol) {
    GcResult r = {0};
    double worst_excess = -INFINITY;
    for (size_t k = 0; k < n; k++) {
        if (fabs(numeric[k]) > r.max_abs_numeric) r.max_abs_numeric = fabs(numeric[k]);
        double err = fabs((double)analytic[k] - numeric[k]), tol = atol + rtol * fabs(numeric[k]);
        double excess = isnan(err) ? INFINITY : err - tol;
        if (!(err <= tol)) r.bad++;
        if (excess > worst_excess) {
            worst_excess = excess;
            r.worst = k;
            r.worst_analytic = analytic[k];
            r.worst_numeric = numeric[k];
        }
    }
    return r;
}

bool gradcheck_sharp(const double *numeric, size_t n, double atol, double rtol) {
    double big = 0;
    for (size_t k = 0; k < n; k++) big = fmax(big, fabs(numeric[k]));
    float wrong = (float)(big * 1.01);   // the same comparison gradcheck_compare makes, at that element
    return big > 0 && !(fabs((double)wrong - big) <= atol + rtol * big);
}

bool gradcheck_expect_at(const char *file, int line, const char *what, GcLossFn loss, void *ctx, double *x,
                         const float *analytic, size_t n, double atol, double rtol) {
    double *num = gc_alloc_f64(n);
    gradcheck_numeric(loss, ctx, x, n, 1e-6, num);
    GcResult r = gradcheck_compare(analytic, num, n, atol, rtol);
    bool ok = r.bad == 0;
    if (!ok)
        test_fail_at(file, line, "gradcheck %s: %zu of %zu elements wrong; worst [%zu] analytic %.9g, numeric %.9g "
                     "(atol %g, rtol %g)", what, r.bad, n, r.worst, r.worst_analytic, r.worst_numeric, atol, rtol);
    if (!gradcheck_sharp(num, n, atol, rtol)) {
        test_fail_at(file, line, "gradcheck %s: tolerance (atol %g, rtol %g) would accept a 1%% error in the "
                     "largest element (max |numeric| %g): the check proves nothing", what, atol, rtol, r.max_abs_numeric);
        ok = false;
    }
    free(num);
    return ok;
}
