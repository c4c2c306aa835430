// cpu_activation_test.c — GELU (erf, tanh, quick), SiLU and SwiGLU against double references,
// including saturated inputs (±20, ±100: no NaN or inf), backward by finite differences, in-place
// use, and identical bits on 1 and 2 threads.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

enum { ACT_GELU_ERF, ACT_GELU_TANH, ACT_GELU_QUICK, ACT_SILU, ACT_SWIGLU_GATE, ACT_SWIGLU_UP };
static const char *ACT_NAMES[] = {"gelu_erf", "gelu_tanh", "gelu_quick", "silu", "swiglu dgate", "swiglu dup"};

static double sigmoid_ref(double x) { return 1 / (1 + exp(-x)); }

static double act_ref(int kind, double x, double up) {
    switch (kind) {
    case ACT_GELU_ERF: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case ACT_GELU_TANH: return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case ACT_GELU_QUICK: return x * sigmoid_ref(1.702 * x);
    case ACT_SILU: return x * sigmoid_ref(x);
    default: return x * sigmoid_ref(x) * up;
    }
}

typedef struct { int kind; size_t n; double *x, *up, *dout; } ActRef;

static double act_loss(void *ctx) {
    ActRef *r = ctx;
    double L = 0;
    for (size_t i = 0; i < r->n; i++) L += act_ref(r->kind, r->x[i], r->up ? r->up[i] : 0) * r->dout[i];
    return L;
}

static const float SPECIAL[] = {0.0f, -0.0f, 1e-8f, -1e-8f, 0.5f, -0.5f, 3.0f, -3.0f, 5.0f, -5.0f, 20.0f, -20.0f, 100.0f, -100.0f};

TEST(cpu_activations) {
    Backend *be = backend_cpu_create();
    const size_t n = 301;
    TestRng rng = trng_seed(31);
    float *x = gc_alloc_f32(n), *up = gc_alloc_f32(n), *dout = gc_alloc_f32(n), *out = gc_alloc_f32(n);
    float *want = gc_alloc_f32(n), *dx = gc_alloc_f32(n), *dup = gc_alloc_f32(n), *tmp = gc_alloc_f32(n), *tmp2 = gc_alloc_f32(n);
    trng_fill_normal(&rng, x, n, 2.5);
    memcpy(x, SPECIAL, sizeof SPECIAL);
    trng_fill_normal(&rng, up, n, 1.0);
    trng_fill_normal(&rng, dout, n, 1.0);
    ActRef r = {0, n, gc_alloc_f64(n), gc_alloc_f64(n), gc_alloc_f64(n)};
    double *x_orig = gc_alloc_f64(n);
    gc_f32_to_f64(r.x, x, n); gc_f32_to_f64(r.up, up, n); gc_f32_to_f64(r.dout, dout, n);
    memcpy(x_orig, r.x, n * sizeof(double));

    for (int kind = ACT_GELU_ERF; kind <= ACT_SWIGLU_UP; kind++) {
        r.kind = kind;
        for (size_t i = 0; i < n; i++) want[i] = (float)act_ref(kind, r.x[i], r.up[i]);
        gc_fill_nan(out, n); gc_fill_nan(dx, n); gc_fill_nan(dup, n);
        if (kind <= ACT_GELU_QUICK) {
            GeluKind gk = kind == ACT_GELU_ERF ? GELU_ERF : (kind == ACT_GELU_TANH ? GELU_TANH : GELU_QUICK);
            be->gelu_forward(be, out, x, n, gk);
            be->gelu_backward(be, dx, dout, x, n, gk);
            memcpy(tmp, x, n * sizeof(float));
            be->gelu_forward(be, tmp, tmp, n, gk);
            EXPECT(gc_same_bits(tmp, out, n * sizeof(float)));
            memcpy(tmp, dout, n * sizeof(float));
            be->gelu_backward(be, tmp, tmp, x, n, gk);
            EXPECT(gc_same_bits(tmp, dx, n * sizeof(float)));
        } else if (kind == ACT_SILU) {
            be->silu_forward(be, out, x, n);
            be->silu_backward(be, dx, dout, x, n);
            memcpy(tmp, dout, n * sizeof(float));
            be->silu_backward(be, tmp, tmp, x, n);
            EXPECT(gc_same_bits(tmp, dx, n * sizeof(float)));
        } else {
            be->swiglu_forward(be, out, x, up, n);
            be->swiglu_backward(be, dx, dup, dout, x, up, n);
            memcpy(tmp, x, n * sizeof(float)); memcpy(tmp2, up, n * sizeof(float));
            be->swiglu_backward(be, tmp, tmp2, dout, tmp, tmp2, n);     // gradients over their inputs
            EXPECT(gc_same_bits(tmp, dx, n * sizeof(float)) && gc_same_bits(tmp2, dup, n * sizeof(float)));
        }
        // 1 + erf(x/√2) cancels for x << 0 in fp32 exactly as in PyTorch: ~|x|·3e-8 absolute there.
        EXPECT_CLOSE_F32(ACT_NAMES[kind], out, want, n, 3e-7, 2e-6);
        if (kind == ACT_SWIGLU_UP) {
            EXPECT_GRAD(ACT_NAMES[kind], act_loss, &r, r.up, dup, n, 1e-5, 1e-4);
        } else {
            EXPECT_GRAD(ACT_NAMES[kind], act_loss, &r, r.x, dx, n, 1e-5, 1e-4);
        }
        EXPECT(gc_same_bits(r.x, x_orig, n * sizeof(double)));
    }
    free(r.x); free(r.up); free(r.dout); free(x_orig);
    free(x); free(up); free(dout); free(out); free(want); free(dx); free(dup); free(tmp); free(tmp2);
    be->destroy(be);
}

TEST(cpu_activations_threads_deterministic) {
    Backend *be = backend_cpu_create();
    const size_t n = 3 * 4096 + 17;
    TestRng rng = trng_seed(32);
    float *x = gc_alloc_f32(n), *up = gc_alloc_f32(n), *dout = gc_alloc_f32(n), *res[2];
    trng_fill_normal(&rng, x, n, 3); trng_fill_normal(&rng, up, n, 1); trng_fill_normal(&rng, dout, n, 1);
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        res[t] = gc_alloc_f32(8 * n);
        float *o = res[t];
        be->gelu_forward(be, o, x, n, GELU_ERF); be->gelu_backward(be, o + n, dout, x, n, GELU_TANH);
        be->gelu_backward(be, o + 2 * n, dout, x, n, GELU_QUICK); be->silu_forward(be, o + 3 * n, x, n);
        be->silu_backward(be, o + 4 * n, dout, x, n); be->swiglu_forward(be, o + 5 * n, x, up, n);
        be->swiglu_backward(be, o + 6 * n, o + 7 * n, dout, x, up, n);
    }
    threads_set_count(0);
    EXPECT(gc_same_bits(res[0], res[1], 8 * n * sizeof(float)));
    free(res[0]); free(res[1]); free(x); free(up); free(dout);
    be->destroy(be);
}
