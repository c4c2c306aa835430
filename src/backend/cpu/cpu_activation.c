// cpu_activation.c — GELU (erf, tanh, quick), SiLU and SwiGLU, forward and backward, elementwise.
// Formulas and their evaluation order follow PyTorch's CPU kernels (fp32 throughout) so that
// results agree with HF to an ulp or so:
//   gelu erf   x·0.5·(1 + erf(x/√2))             (nn.functional.gelu, HF "gelu")
//   gelu tanh  0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))  (approximate='tanh', "gelu_pytorch_tanh")
//   quick      x·σ(1.702x)                        (HF QuickGELUActivation, CLIP)
//   silu       x / (1 + e^−x),  swiglu = silu(gate)·up  (LLaMA MLP)
// σ is written 1/(1 + e^−x): for x → −∞ e^−x overflows to inf and σ → 0, never NaN.
// All outputs may alias their inputs (each element is read before it is written).
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vexp.h"
#include "base/check.h"
#include "base/threads.h"
#include <math.h>

#define ACT_CHUNK 4096

static const float SQRT1_2 = 0.70710678118654752440f;     // 1/√2
static const float INV_SQRT_2PI = 0.39894228040143267794f; // 1/√(2π)
static const float SQRT_2_PI = 0.79788456080286535588f;    // √(2/π)
static const float TANH_K = 0.044715f;
static const float QUICK_K = 1.702f;

static inline float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

typedef struct {
    float *out, *out2; const float *x, *x2, *dout; GeluKind kind;
} ActCtx;

static void gelu_fwd_range(void *vctx, size_t i0, size_t i1, int tid) {
    (void)tid;
    ActCtx *c = vctx;
    const float *x = c->x;
    float *y = c->out;
    switch (c->kind) {
    case GELU_ERF:
        for (size_t i = i0; i < i1; i++) y[i] = x[i] * 0.5f * (1.0f + erff(x[i] * SQRT1_2));
        break;
    case GELU_TANH:
        for (size_t i = i0; i < i1; i++) {
            float v = x[i], inner = SQRT_2_PI * (v + TANH_K * (v * v * v));
            y[i] = 0.5f * v * (1.0f + tanhf(inner));
        }
        break;
    case GELU_QUICK:
        for (size_t i = i0; i < i1; i++) y[i] = x[i] * sigmoidf_(QUICK_K * x[i]);
        break;
    }
}

static void gelu_bwd_range(void *vctx, size_t i0, size_t i1, int tid) {
    (void)tid;
    ActCtx *c = vctx;
    const float *x = c->x, *dy = c->dout;
    float *dx = c->out;
    switch (c->kind) {
    case GELU_ERF:  // Φ(x) + x φ(x)
        for (size_t i = i0; i < i1; i++) {
            float v = x[i];
            float cdf = 0.5f * (1.0f + erff(v * SQRT1_2));
            float pdf = INV_SQRT_2PI * expf(v * v * -0.5f);
            dx[i] = dy[i] * (cdf + v * pdf);
        }
        break;
    case GELU_TANH:  // 0.5(1 + t) + 0.5x (1 − t²) √(2/π)(1 + 3·0.044715x²), as torch's GeluBackward
        for (size_t i = i0; i < i1; i++) {
            float v = x[i], v2 = v * v;
            float t = tanhf(SQRT_2_PI * (v + TANH_K * (v2 * v)));
            float left = 0.5f * v, right = 1.0f + t;
            float dleft = 0.5f * right;
            float dright = left * (1.0f - t * t) * (SQRT_2_PI * (1.0f + 3.0f * TANH_K * v2));
            dx[i] = dy[i] * (dleft + dright);
        }
        break;
    case GELU_QUICK:  // σ(kx) + kx σ(kx)(1 − σ(kx))
        for (size_t i = i0; i < i1; i++) {
            float v = x[i], s = sigmoidf_(QUICK_K * v);
            dx[i] = dy[i] * (s + QUICK_K * v * s * (1.0f - s));
        }
        break;
    }
}

void cpu_gelu_forward(Backend *be, float *out, const float *x, size_t n, GeluKind kind) {
    (void)be;
    ActCtx c = {.out = out, .x = x, .kind = kind};
    parallel_for(n, ACT_CHUNK, gelu_fwd_range, &c);
}

void cpu_gelu_backward(Backend *be, float *dx, const float *dout, const float *x, size_t n, GeluKind kind) {
    (void)be;
    ActCtx c = {.out = dx, .x = x, .dout = dout, .kind = kind};
    parallel_for(n, ACT_CHUNK, gelu_bwd_range, &c);
}

// The SiLU family walks its range in chunks: e = exp(-x) for the chunk (cpu_vexp.h), then the
// elementwise formula (a ChunkFn). Each element's value does not depend on where the chunks fall.
enum { EXP_CHUNK = 256 };
typedef void (*ChunkFn)(const ActCtx *c, size_t b, size_t w, const float *e);  // elements [b, b + w)

static void exp_neg_chunks(const ActCtx *c, size_t i0, size_t i1, ChunkFn fn) {
    float e[EXP_CHUNK];
    for (size_t b = i0; b < i1; b += EXP_CHUNK) {
        const size_t w = LPOI_MIN((size_t)EXP_CHUNK, i1 - b);
        vec_exp_affine(e, c->x + b, -1.0f, 0.0f, w);
        fn(c, b, w, e);
    }
}

static void silu_fwd_chunk(const ActCtx *c, size_t b, size_t w, const float *e) {
    for (size_t j = 0; j < w; j++) c->out[b + j] = c->x[b + j] / (1.0f + e[j]);
}

// silu'(x) = σ(x)(1 + x(1 − σ(x)))
static void silu_bwd_chunk(const ActCtx *c, size_t b, size_t w, const float *e) {
    for (size_t j = 0; j < w; j++) {
        const size_t i = b + j;
        float v = c->x[i], s = 1.0f / (1.0f + e[j]);
        c->out[i] = c->dout[i] * (s * (1.0f + v * (1.0f - s)));
    }
}

static void swiglu_fwd_chunk(const ActCtx *c, size_t b, size_t w, const float *e) {
    for (size_t j = 0; j < w; j++) c->out[b + j] = (c->x[b + j] / (1.0f + e[j])) * c->x2[b + j];
}

// dgate = dout·up·silu'(gate), dup = dout·silu(gate)
static void swiglu_bwd_chunk(const ActCtx *c, size_t b, size_t w, const float *e) {
    for (size_t j = 0; j < w; j++) {
        const size_t i = b + j;
        float g = c->x[i], u = c->x2[i], dy = c->dout[i], s = 1.0f / (1.0f + e[j]);
        c->out[i] = dy * u * (s * (1.0f + g * (1.0f - s)));
        c->out2[i] = dy * (g / (1.0f + e[j]));
    }
}

static void silu_fwd_range(void *c, size_t i0, size_t i1, int tid) { (void)tid; exp_neg_chunks(c, i0, i1, silu_fwd_chunk); }
static void silu_bwd_range(void *c, size_t i0, size_t i1, int tid) { (void)tid; exp_neg_chunks(c, i0, i1, silu_bwd_chunk); }
static void swiglu_fwd_range(void *c, size_t i0, size_t i1, int tid) { (void)tid; exp_neg_chunks(c, i0, i1, swiglu_fwd_chunk); }
static void swiglu_bwd_range(void *c, size_t i0, size_t i1, int tid) { (void)tid; exp_neg_chunks(c, i0, i1, swiglu_bwd_chunk); }

void cpu_silu_forward(Backend *be, float *out, const float *x, size_t n) {
    (void)be;
    ActCtx c = {.out = out, .x = x};
    parallel_for(n, ACT_CHUNK, silu_fwd_range, &c);
}

void cpu_silu_backward(Backend *be, float *dx, const float *dout, const float *x, size_t n) {
    (void)be;
    ActCtx c = {.out = dx, .x = x, .dout = dout};
    parallel_for(n, ACT_CHUNK, silu_bwd_range, &c);
}

void cpu_swiglu_forward(Backend *be, float *out, const float *gate, const float *up, size_t n) {
    (void)be;
    ActCtx c = {.out = out, .x = gate, .x2 = up};
    parallel_for(n, ACT_CHUNK, swiglu_fwd_range, &c);
}

void cpu_swiglu_backward(Backend *be, float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, size_t n) {
    (void)be;
    ActCtx c = {.out = dgate, .out2 = dup, .x = gate, .x2 = up, .dout = dout};
    parallel_for(n, ACT_CHUNK, swiglu_bwd_range, &c);
}
