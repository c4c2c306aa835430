// elementwise.cu — fp32 elementwise ops and activations (backend.h: add, axpy, scale, sum_squares,
// silu, swiglu, gelu forward and backward). One thread per element, grid-stride loops, no __restrict__
// where backend.h lets an output alias an input. Activation formulas are PyTorch's (see each kernel),
// evaluated in fp32 with the accurate libdevice functions (lpoi never builds with --use_fast_math).
// sum_squares is a deterministic two-pass reduction in fp64: the C side fixes the grid from n alone,
// so the same input gives the same bits on every run and every GPU.
#include "common.cuh"

// Register budgets (nob ptxcheck fails above them): 32 keeps 2048 threads resident per SM.
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

// out = a + b  (out may alias a or b)
extern "C" __global__ void add_f32(float *out, const float *a, const float *b, unsigned long long n) {
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) out[i] = a[i] + b[i];
}

// y += alpha * x
extern "C" __global__ void axpy_f32(float *y, float alpha, const float *x, unsigned long long n) {
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) y[i] += alpha * x[i];
}

// x *= alpha
extern "C" __global__ void scale_f32(float *x, float alpha, unsigned long long n) {
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) x[i] *= alpha;
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

extern "C" __global__ void silu_forward_f32(float *out, const float *x, unsigned long long n) {
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) out[i] = siluf_(x[i]);
}

// dx = dout * silu'(x)
extern "C" __global__ void silu_backward_f32(float *dx, const float *dout, const float *x, unsigned long long n) {
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) dx[i] = dout[i] * silu_gradf_(x[i]);
}

// out = silu(gate) * up  (LLaMA MLP)
extern "C" __global__ void swiglu_forward_f32(float *out, const float *gate, const float *up, unsigned long long n) {
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) out[i] = siluf_(gate[i]) * up[i];
}

// dgate = dout * up * silu'(gate); dup = dout * silu(gate)  (both overwritten)
extern "C" __global__ void swiglu_backward_f32(float *dgate, float *dup, const float *dout, const float *gate,
                                               const float *up, unsigned long long n) {
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) {
        float g = gate[i], u = up[i], d = dout[i];
        float dg = d * u * silu_gradf_(g);
        float du = d * siluf_(g);
        dgate[i] = dg;   // written after every read, so dgate/dup may alias dout, gate or up
        dup[i] = du;
    }
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

extern "C" __global__ void gelu_forward_f32(float *out, const float *x, unsigned long long n, int kind) {
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) out[i] = gelu_forwardf_(x[i], kind);
}

// dx = dout * gelu'(x)
extern "C" __global__ void gelu_backward_f32(float *dx, const float *dout, const float *x, unsigned long long n,
                                             int kind) {
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) dx[i] = dout[i] * gelu_gradf_(x[i], kind);
}
