// cpu_matmul_half_test.c — the CPU reference of the 16-bit-weight Linear ops against a double-precision
// loop (bounds derived in matmul_half_ref_test.h): odd shapes, with and without bias, = and +=, both
// types, and a weight wide enough that it is widened in several row blocks.
#include "test/test.h"
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/matmul_half_ref_test.h"
#include "base/check.h"
#include "base/rng.h"
#include <string.h>

static float *uniform(Rng *r, size_t n) {
    float *v = malloc_check((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = -1.0f + 2.0f * rng_uniform(r);
    return v;
}
static uint16_t *half_weights(Rng *r, size_t n, Dtype wt) {
    uint16_t *w = malloc_check((n ? n : 1) * sizeof *w);
    float *f = uniform(r, n);
    dtype_from_f32(w, wt, f, n);
    free(f);
    return w;
}

// One forward and one backward case; returns the largest rounding effect seen (in units of S).
static double half_case(Backend *be, Dtype wt, int N, int C, int OC, bool bias, bool accumulate, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    float *x = uniform(&r, (size_t)N * C), *dy = uniform(&r, (size_t)N * OC), *b = bias ? uniform(&r, (size_t)OC) : NULL;
    float *dx0 = uniform(&r, (size_t)N * C);
    uint16_t *w = half_weights(&r, (size_t)OC * C, wt);
    float *y = malloc_check((size_t)N * OC * sizeof *y), *dx = malloc_check((size_t)N * C * sizeof *dx);
    const size_t ny = (size_t)N * OC, nx = (size_t)N * C, nmax = ny > nx ? ny : nx;
    double *e = malloc_check(nmax * sizeof *e), *f = malloc_check(nmax * sizeof *f), *s = malloc_check(nmax * sizeof *s);
    char what[128];

    for (size_t i = 0; i < ny; i++) y[i] = NAN;   // = must overwrite
    be->matmul_forward_half(be, y, x, w, wt, b, N, C, OC);
    half_reference(false, x, w, wt, b, NULL, N, OC, C, e, f, s);
    snprintf(what, sizeof what, "forward %s N=%d C=%d OC=%d%s", dtype_name(wt), N, C, OC, bias ? " +bias" : "");
    double moved = HALF_CHECK(what, y, e, f, s, ny, C, wt);

    memcpy(dx, dx0, nx * sizeof *dx);
    if (!accumulate) for (size_t i = 0; i < nx; i++) dx[i] = NAN;
    be->matmul_backward_dx_half(be, dx, accumulate, dy, w, wt, N, C, OC);
    half_reference(true, dy, w, wt, NULL, accumulate ? dx0 : NULL, N, C, OC, e, f, s);
    snprintf(what, sizeof what, "backward dx %s N=%d C=%d OC=%d%s", dtype_name(wt), N, C, OC, accumulate ? " +=" : "");
    double moved_b = HALF_CHECK(what, dx, e, f, s, nx, OC, wt);

    free(x); free(dy); free(b); free(dx0); free(w); free(y); free(dx); free(e); free(f); free(s);
    return moved > moved_b ? moved : moved_b;
}

TEST(cpu_matmul_half) {
    Backend *be = backend_cpu_create();
    const Dtype types[2] = {DTYPE_BF16, DTYPE_F16};
    for (int t = 0; t < 2; t++) {
        double moved = half_case(be, types[t], 7, 37, 19, true, false, 11 + t);
        half_case(be, types[t], 1, 64, 33, false, true, 21 + t);   // decode-shaped
        half_case(be, types[t], 13, 8, 5, true, true, 31 + t);
        half_case(be, types[t], 3, 40000, 60, true, false, 41 + t);   // 3 widened row blocks
        // The operand really is rounded: the result sits further from the fp32 product than fp32 summation
        // alone could put it (an op that skipped the rounding would fail the bound on e instead).
        EXPECT_MSG(moved > half_gamma(39), "%s: the activation operand was not rounded (moved %.3g·S)", dtype_name(types[t]),
                   moved);
    }
    // Empty inner dimension: dx = 0 (=) or unchanged (+=).
    float dx[6] = {1, 2, 3, 4, 5, 6};
    uint16_t w1[1];
    be->matmul_backward_dx_half(be, dx, true, NULL, w1, DTYPE_BF16, 2, 3, 0);
    EXPECT(dx[0] == 1 && dx[5] == 6);
    be->matmul_backward_dx_half(be, dx, false, NULL, w1, DTYPE_BF16, 2, 3, 0);
    EXPECT(dx[0] == 0 && dx[5] == 0);
    be->destroy(be);
}
