// cpu_softmax_test.c — masked row softmax against a double reference: -inf and float-min masks, a
// fully masked row (zeros, not NaN), huge logits, out aliasing x, finite-difference backward, and
// identical bits on 1 and 2 threads.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <float.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int R, C; double *x; const float *mask; double *dout; } SmRef;

static void softmax_ref(const SmRef *r, double *out) {
    for (int i = 0; i < r->R; i++) {
        const double *x = r->x + (size_t)i * r->C;
        double *o = out + (size_t)i * r->C, mx = -INFINITY, s = 0;
        for (int j = 0; j < r->C; j++) {
            o[j] = x[j] + (r->mask ? r->mask[(size_t)i * r->C + j] : 0.0);
            if (o[j] > mx) mx = o[j];
        }
        for (int j = 0; j < r->C; j++) { o[j] = mx == -INFINITY ? 0 : exp(o[j] - mx); s += o[j]; }
        for (int j = 0; j < r->C; j++) o[j] = s > 0 ? o[j] / s : 0;
    }
}

static double softmax_loss(void *ctx) {
    SmRef *r = ctx;
    size_t n = (size_t)r->R * r->C;
    double *out = gc_alloc_f64(n);
    softmax_ref(r, out);
    double L = gc_dot_f64(out, r->dout, n);
    free(out);
    return L;
}

TEST(cpu_softmax) {
    Backend *be = backend_cpu_create();
    const int R = 11, C = 37;
    size_t n = (size_t)R * C;
    TestRng rng = trng_seed(11);
    float *x = gc_alloc_f32(n), *mask = gc_alloc_f32(n), *dout = gc_alloc_f32(n), *out = gc_alloc_f32(n);
    float *want = gc_alloc_f32(n), *dx = gc_alloc_f32(n), *alias = gc_alloc_f32(n);
    trng_fill_normal(&rng, x, n, 2.0);
    trng_fill_normal(&rng, dout, n, 1.0);
    for (size_t i = 0; i < n; i++) {
        double u = trng_uniform(&rng);
        mask[i] = u < 0.2 ? -INFINITY : (u < 0.3 ? -FLT_MAX : 0.0f);   // HF uses both spellings
    }
    for (int j = 0; j < C; j++) mask[3 * C + j] = -INFINITY;          // row 3: nothing visible
    for (int j = 0; j < C; j++) x[5 * C + j] += 1000.0f;              // row 5: exp would overflow unshifted
    for (int pass = 0; pass < 2; pass++) {
        const float *mk = pass ? mask : NULL;
        SmRef r = {R, C, gc_alloc_f64(n), mk, gc_alloc_f64(n)};
        gc_f32_to_f64(r.x, x, n); gc_f32_to_f64(r.dout, dout, n);
        double *ref = gc_alloc_f64(n);
        softmax_ref(&r, ref);
        gc_f64_to_f32(want, ref, n);
        gc_fill_nan(out, n);
        be->softmax_forward(be, out, x, mk, R, C);
        EXPECT_CLOSE_F32(pass ? "softmax masked" : "softmax", out, want, n, 1e-7, 2e-6);
        if (pass) for (int j = 0; j < C; j++) EXPECT(out[3 * C + j] == 0.0f);
        memcpy(alias, x, n * sizeof(float));
        be->softmax_forward(be, alias, alias, mk, R, C);              // in place
        EXPECT(gc_same_bits(alias, out, n * sizeof(float)));
        gc_fill_nan(dx, n);
        be->softmax_backward(be, dx, dout, out, R, C);
        EXPECT_GRAD(pass ? "softmax masked dx" : "softmax dx", softmax_loss, &r, r.x, dx, n, 1e-5, 1e-4);
        if (pass) for (int j = 0; j < C; j++) EXPECT(dx[3 * C + j] == 0.0f);
        free(r.x); free(r.dout); free(ref);
    }
    free(x); free(mask); free(dout); free(out); free(want); free(dx); free(alias);
    be->destroy(be);
}

TEST(cpu_softmax_threads_deterministic) {
    Backend *be = backend_cpu_create();
    const int R = 129, C = 77;
    size_t n = (size_t)R * C;
    TestRng rng = trng_seed(12);
    float *x = gc_alloc_f32(n), *dout = gc_alloc_f32(n), *out[2], *dx[2];
    trng_fill_normal(&rng, x, n, 3.0);
    trng_fill_normal(&rng, dout, n, 1.0);
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        out[t] = gc_alloc_f32(n); dx[t] = gc_alloc_f32(n);
        be->softmax_forward(be, out[t], x, NULL, R, C);
        be->softmax_backward(be, dx[t], dout, out[t], R, C);
    }
    threads_set_count(0);
    EXPECT(gc_same_bits(out[0], out[1], n * sizeof(float)));
    EXPECT(gc_same_bits(dx[0], dx[1], n * sizeof(float)));
    for (int t = 0; t < 2; t++) { free(out[t]); free(dx[t]); }
    free(x); free(dout);
    be->destroy(be);
}
