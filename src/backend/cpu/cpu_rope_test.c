// cpu_rope_test.c — rotate_half RoPE against a double reference that takes its angles the way HF
// does (fp32 inv_freq, fp32 pos·inv_freq) and rotates in double; large positions (where an fp64
// angle would differ by ~1e-4), arbitrary position ids (left padding), in-place use, the backward by
// finite differences, and identical bits on 1 and 2 threads.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

typedef struct { int B, T, H, D; float theta; const int32_t *pos; double *x, *dout; bool fp64_angle; } RopeRef;

static void rope_ref(const RopeRef *r, double *out) {
    int D2 = r->D / 2;
    for (int bt = 0; bt < r->B * r->T; bt++) {
        for (int i = 0; i < D2; i++) {
            double ang;
            if (r->fp64_angle) {
                ang = r->pos[bt] * pow(r->theta, -2.0 * i / r->D);
            } else {  // HF: 1.0 / (base ** (arange(0, D, 2).float() / D)), then (pos.float() @ inv_freq) in fp32
                float inv = 1.0f / powf(r->theta, (float)(2 * i) / (float)r->D);
                ang = (float)r->pos[bt] * inv;
            }
            double c = cos(ang), s = sin(ang);
            for (int h = 0; h < r->H; h++) {
                size_t o = ((size_t)bt * r->H + h) * r->D;
                double x1 = r->x[o + i], x2 = r->x[o + i + D2];
                out[o + i] = x1 * c - x2 * s;
                out[o + i + D2] = x2 * c + x1 * s;
            }
        }
    }
}

static double rope_loss(void *ctx) {
    RopeRef *r = ctx;
    size_t n = (size_t)r->B * r->T * r->H * r->D;
    double *out = gc_alloc_f64(n);
    rope_ref(r, out);
    double L = gc_dot_f64(out, r->dout, n);
    free(out);
    return L;
}

static void check_rope(int B, int T, int H, int D, float theta, int pos_scale, uint64_t seed) {
    Backend *be = backend_cpu_create();
    TestRng rng = trng_seed(seed);
    size_t n = (size_t)B * T * H * D;
    int32_t *pos = calloc(B * T, sizeof *pos);
    for (int b = 0; b < B; b++)       // batch 0: left padding (zeros) then a run ending near pos_scale; others scattered
        for (int t = 0; t < T; t++) pos[b * T + t] = b == 0 ? (t < 3 ? 0 : pos_scale - T + t) : trng_int(&rng, pos_scale);
    float *x = gc_alloc_f32(n), *dout = gc_alloc_f32(n), *out = gc_alloc_f32(n), *want = gc_alloc_f32(n);
    float *dx = gc_alloc_f32(n), *tmp = gc_alloc_f32(n);
    trng_fill_normal(&rng, x, n, 1.0);
    trng_fill_normal(&rng, dout, n, 1.0);
    RopeRef r = {B, T, H, D, theta, pos, gc_alloc_f64(n), gc_alloc_f64(n), false};
    gc_f32_to_f64(r.x, x, n); gc_f32_to_f64(r.dout, dout, n);
    double *ref = gc_alloc_f64(n);
    rope_ref(&r, ref);
    gc_f64_to_f32(want, ref, n);

    gc_fill_nan(out, n);
    be->rope_forward(be, out, x, pos, B, T, H, D, theta);
    EXPECT_CLOSE_F32("rope out", out, want, n, 1e-6, 1e-6);
    memcpy(tmp, x, n * sizeof(float));
    be->rope_forward(be, tmp, tmp, pos, B, T, H, D, theta);      // out aliases x
    EXPECT(gc_same_bits(tmp, out, n * sizeof(float)));

    gc_fill_nan(dx, n);
    be->rope_backward(be, dx, dout, pos, B, T, H, D, theta);
    EXPECT_GRAD("rope dx", rope_loss, &r, r.x, dx, n, 1e-5, 1e-4);
    memcpy(tmp, dout, n * sizeof(float));
    be->rope_backward(be, tmp, tmp, pos, B, T, H, D, theta);     // dx aliases dout
    EXPECT(gc_same_bits(tmp, dx, n * sizeof(float)));

    if (pos_scale > 1000 && D > 2) {  // the fp32 angle is what HF computes; an fp64 angle is measurably different
        r.fp64_angle = true;
        rope_ref(&r, ref);
        double worst = 0;
        for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(ref[i] - out[i]));
        EXPECT_MSG(worst > 1e-5, "fp64 angles agree to %g: the test does not tell fp32 angles apart", worst);
    }
    free(r.x); free(r.dout); free(ref); free(pos);
    free(x); free(dout); free(out); free(want); free(dx); free(tmp);
    be->destroy(be);
}

TEST(cpu_rope) {
    check_rope(2, 13, 6, 10, 10000.0f, 50, 21);
    check_rope(1, 5, 2, 128, 10000.0f, 4096, 22);   // LLaMA head dim, positions up to max_position
    check_rope(2, 3, 3, 2, 1e6f, 100000, 23);       // D = 2, large theta and positions
}

TEST(cpu_rope_threads_deterministic) {
    Backend *be = backend_cpu_create();
    const int B = 2, T = 37, H = 4, D = 64;
    size_t n = (size_t)B * T * H * D;
    TestRng rng = trng_seed(24);
    int32_t pos[2 * 37];
    for (int i = 0; i < B * T; i++) pos[i] = trng_int(&rng, 3000);
    float *x = gc_alloc_f32(n), *out[2];
    trng_fill_normal(&rng, x, n, 1.0);
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        out[t] = gc_alloc_f32(n);
        be->rope_forward(be, out[t], x, pos, B, T, H, D, 10000.0f);
        be->rope_backward(be, out[t], out[t], pos, B, T, H, D, 10000.0f);
    }
    threads_set_count(0);
    EXPECT(gc_same_bits(out[0], out[1], n * sizeof(float)));
    EXPECT_CLOSE_F32("rope backward undoes forward", out[0], x, n, 1e-5, 1e-5);
    free(out[0]); free(out[1]); free(x);
    be->destroy(be);
}
