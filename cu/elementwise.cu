// elementwise.cu — fp32 elementwise ops and activations (backend.h: add, axpy, scale, sum_squares,
// silu, swiglu, gelu forward and backward). Activation formulas are PyTorch's (see each kernel),
// evaluated in fp32 with the accurate libdevice functions (lpoi never builds with --use_fast_math).
// Memory-bound: ew_run walks the arrays in grid-stride quads of 4 floats with 16-byte loads/stores
// when every pointer is 16-byte aligned (all of a step's loads issued before any math: 16 bytes per
// input in flight per thread), the n % 4 tail and unaligned arrays one float at a time; the result of
// each element does not depend on the path. No __restrict__ where backend.h lets an output alias an
// input: each element is read before it is written, by one thread.
// sum_squares is a deterministic two-pass reduction in fp64: the C side fixes the grid from n alone,
// so the same input gives the same bits on every run and every GPU.
#include "rows.cuh"

// Register budgets (nob ptxcheck fails above them): 32 keeps 2048 threads resident per SM, so the one-wave
// grid of cuda_grid_1d (2048 threads per SM) is resident at once; MAX_REGISTERS holds every target to it.
// ptxcheck: add_f32 max_registers=32
// ptxcheck: axpy_f32 max_registers=32
// ptxcheck: scale_f32 max_registers=32
// ptxcheck: sum_squares_partial_f32 max_registers=32
// ptxcheck: sum_squares_final_f64 max_registers=32
// ptxcheck: silu_forward_f32 max_registers=32
// ptxcheck: silu_backward_f32 max_registers=32
// ptxcheck: swiglu_forward_f32 max_registers=32
// ptxcheck: swiglu_backward_f32 max_registers=32
// ptxcheck: gelu_forward_f32 max_registers=32
// ptxcheck: gelu_backward_f32 max_registers=32

// Applies f(in, out) (one element: NI inputs to NO outputs) to every index < n, grid-stride; U quads per
// thread per step on the aligned path (U = 2 needs more than 32 registers for some ops).
template <int U = 1, int NI, int NO, typename F>
__device__ __forceinline__ void ew_run(float *(&out)[NO], const float *(&in)[NI], unsigned long long n, F f) {
    const unsigned long long st = grid_stride();
    bool vec = true;
#pragma unroll
    for (int i = 0; i < NI; i++) vec = vec && aligned16(in[i]);
#pragma unroll
    for (int o = 0; o < NO; o++) vec = vec && aligned16(out[o]);
    unsigned long long first = 0, step = st;   // the scalar loop's range: everything, or the n % 4 tail
    if (vec) {
        const unsigned long long nq = n / 4;
#pragma unroll 1
        for (unsigned long long q = grid_start(); q < nq; q += U * st) {
            float a[U][NI][4];
#pragma unroll
            for (int u = 0; u < U; u++)
#pragma unroll
                for (int i = 0; i < NI; i++) ld4z(a[u][i], in[i] + 4 * (q + u * st), q + u * st < nq, 0.0f);
#pragma unroll
            for (int u = 0; u < U; u++) {
                float r[NO][4];
#pragma unroll
                for (int k = 0; k < 4; k++) {
                    float ai[NI], ri[NO];
#pragma unroll
                    for (int i = 0; i < NI; i++) ai[i] = a[u][i][k];
                    f(ai, ri);
#pragma unroll
                    for (int o = 0; o < NO; o++) r[o][k] = ri[o];
                }
                if (q + u * st < nq)
#pragma unroll
                    for (int o = 0; o < NO; o++) st4(out[o] + 4 * (q + u * st), r[o]);
            }
        }
        first = nq * 4;
        step = 1;   // at most 3 elements left: the first threads of the grid take one each
    }
    const unsigned long long e = first + grid_start();
    if (step == 1) {
        if (e < n) {
            float ai[NI], ri[NO];
#pragma unroll
            for (int i = 0; i < NI; i++) ai[i] = in[i][e];
            f(ai, ri);
#pragma unroll
            for (int o = 0; o < NO; o++) out[o][e] = ri[o];
        }
        return;
    }
#pragma unroll 1
    for (unsigned long long i = e; i < n; i += step) {   // unaligned arrays: one float at a time
        float ai[NI], ri[NO];
#pragma unroll
        for (int k = 0; k < NI; k++) ai[k] = in[k][i];
        f(ai, ri);
#pragma unroll
        for (int o = 0; o < NO; o++) out[o][i] = ri[o];
    }
}

// out = a + b  (out may alias a or b)
extern "C" __global__ void MAX_REGISTERS(32) add_f32(float *out, const float *a, const float *b, unsigned long long n) {
    float *o[1] = {out};
    const float *in[2] = {a, b};
    ew_run(o, in, n, [](const float (&v)[2], float (&r)[1]) { r[0] = v[0] + v[1]; });
}

// y += alpha * x
extern "C" __global__ void MAX_REGISTERS(32) axpy_f32(float *y, float alpha, const float *x, unsigned long long n) {
    float *o[1] = {y};
    const float *in[2] = {y, x};
    ew_run(o, in, n, [alpha](const float (&v)[2], float (&r)[1]) { r[0] = v[0] + alpha * v[1]; });
}

// x *= alpha
extern "C" __global__ void MAX_REGISTERS(32) scale_f32(float *x, float alpha, unsigned long long n) {
    float *o[1] = {x};
    const float *in[1] = {x};
    ew_run(o, in, n, [alpha](const float (&v)[1], float (&r)[1]) { r[0] = v[0] * alpha; });
}

// Pass 1: partials[blockIdx.x] = Σ x[i]² over this block's grid-stride share, in fp64.
extern "C" __global__ void sum_squares_partial_f32(const float *x, unsigned long long n, double *partials) {
    __shared__ double shared[32];
    double acc = 0.0;
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) {
        double v = (double)x[i];
        acc += v * v;
    }
    acc = block_sum(acc, shared);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// Pass 2 (one block): *out = Σ partials[0..count).
extern "C" __global__ void sum_squares_final_f64(const double *partials, int count, double *out) {
    __shared__ double shared[32];
    double acc = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
    acc = block_sum(acc, shared);
    if (threadIdx.x == 0) *out = acc;
}

// ---- SiLU: x * sigmoid(x); torch: x / (1 + exp(-x)), grad sigmoid(x) * (1 + x * (1 - sigmoid(x))) ----

__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ float siluf_(float x) { return x / (1.0f + expf(-x)); }
__device__ __forceinline__ float silu_gradf_(float x) {
    float s = sigmoidf_(x);
    return s * (1.0f + x * (1.0f - s));
}

extern "C" __global__ void MAX_REGISTERS(32) silu_forward_f32(float *out, const float *x, unsigned long long n) {
    float *o[1] = {out};
    const float *in[1] = {x};
    ew_run(o, in, n, [](const float (&v)[1], float (&r)[1]) { r[0] = siluf_(v[0]); });
}

// dx = dout * silu'(x)
extern "C" __global__ void MAX_REGISTERS(32) silu_backward_f32(float *dx, const float *dout, const float *x, unsigned long long n) {
    float *o[1] = {dx};
    const float *in[2] = {dout, x};
    ew_run(o, in, n, [](const float (&v)[2], float (&r)[1]) { r[0] = v[0] * silu_gradf_(v[1]); });
}

// out = silu(gate) * up  (LLaMA MLP)
extern "C" __global__ void MAX_REGISTERS(32) swiglu_forward_f32(float *out, const float *gate, const float *up, unsigned long long n) {
    float *o[1] = {out};
    const float *in[2] = {gate, up};
    ew_run(o, in, n, [](const float (&v)[2], float (&r)[1]) { r[0] = siluf_(v[0]) * v[1]; });
}

// dgate = dout * up * silu'(gate); dup = dout * silu(gate)  (both overwritten; written after every read
// of the element, so dgate/dup may alias dout, gate or up)
extern "C" __global__ void MAX_REGISTERS(32) swiglu_backward_f32(float *dgate, float *dup, const float *dout, const float *gate,
                                               const float *up, unsigned long long n) {
    float *o[2] = {dgate, dup};
    const float *in[3] = {dout, gate, up};
    ew_run(o, in, n, [](const float (&v)[3], float (&r)[2]) {
        const float d = v[0], g = v[1], u = v[2];
        r[0] = d * u * silu_gradf_(g);
        r[1] = d * siluf_(g);
    });
}

// ---- GELU: kind 0 = erf ("gelu"), 1 = tanh ("gelu_pytorch_tanh"), 2 = quick ("quick_gelu") ----
// Kinds match backend.h's GeluKind.

#define GELU_SQRT_HALF 0.70710678118654752440f     // 1/sqrt(2)
#define GELU_INV_SQRT_2PI 0.39894228040143267794f  // 1/sqrt(2*pi)
#define GELU_SQRT_2_OVER_PI 0.79788456080286535588f
#define GELU_TANH_KAPPA 0.044715f
#define GELU_QUICK_ALPHA 1.702f

__device__ __forceinline__ float gelu_forwardf_(float x, int kind) {
    if (kind == 0) return 0.5f * x * (1.0f + erff(x * GELU_SQRT_HALF));
    if (kind == 1) {
        float inner = GELU_SQRT_2_OVER_PI * (x + GELU_TANH_KAPPA * x * x * x);
        return 0.5f * x * (1.0f + tanhf(inner));
    }
    return x * sigmoidf_(GELU_QUICK_ALPHA * x);    // CLIP's quick_gelu: x * sigmoid(1.702 x)
}

__device__ __forceinline__ float gelu_gradf_(float x, int kind) {
    if (kind == 0) {
        float cdf = 0.5f * (1.0f + erff(x * GELU_SQRT_HALF));
        float pdf = expf(-0.5f * x * x) * GELU_INV_SQRT_2PI;
        return cdf + x * pdf;
    }
    if (kind == 1) {  // torch's GeluBackward, approximate='tanh'
        float x2 = x * x;
        float inner = GELU_SQRT_2_OVER_PI * (x + GELU_TANH_KAPPA * x2 * x);
        float t = tanhf(inner);
        float dinner = GELU_SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_TANH_KAPPA * x2);
        return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * dinner;
    }
    float s = sigmoidf_(GELU_QUICK_ALPHA * x);
    return s + GELU_QUICK_ALPHA * x * s * (1.0f - s);
}

extern "C" __global__ void MAX_REGISTERS(32) gelu_forward_f32(float *out, const float *x, unsigned long long n, int kind) {
    float *o[1] = {out};
    const float *in[1] = {x};
    ew_run(o, in, n, [kind](const float (&v)[1], float (&r)[1]) { r[0] = gelu_forwardf_(v[0], kind); });
}

// dx = dout * gelu'(x)
extern "C" __global__ void MAX_REGISTERS(32) gelu_backward_f32(float *dx, const float *dout, const float *x, unsigned long long n,
                                             int kind) {
    float *o[1] = {dx};
    const float *in[2] = {dout, x};
    ew_run(o, in, n, [kind](const float (&v)[2], float (&r)[1]) { r[0] = v[0] * gelu_gradf_(v[1], kind); });
}
