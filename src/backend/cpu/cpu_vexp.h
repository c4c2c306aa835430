// cpu_vexp.h — exp over arrays, 4 lanes at a time (softmax, log-softmax, SiLU/SwiGLU): libm's expf is
// a scalar call per element and was ~9% of a small training step.
// Written with GCC/Clang generic vectors, so it is SIMD on any target (2 × SSE2 on baseline x86-64,
// NEON on arm64) without ISA-specific files. The method is Cephes' expf: n = round(x·log2 e),
// r = x − n·ln 2 (two-part ln 2), exp(r) by a degree-6 polynomial on |r| <= ln2/2, times 2^n applied
// as two exact power-of-two factors, so overflow gives inf and deep negatives round to 0 or a
// subnormal as IEEE multiplication does. Accuracy: within 2 ulp of the correctly rounded result
// (cpu_vexp_test.c sweeps it against libm); exp(0) = 1, exp(-inf) = 0, exp(inf) = inf, NaN stays NaN.
// Every element takes the same operations (the tail through a padded lane buffer), so a value never
// depends on its position, the thread split or the alignment. Included from files built with the base
// flags only: with -mfma the compiler may fuse the multiply-adds, which changes the last bits.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// 4 lanes: the width every x86-64 (SSE2) and arm64 (NEON) has, so no ABI or ISA flags are involved;
// the loop below runs two at a time for instruction-level parallelism.
typedef float vexp_f __attribute__((vector_size(16)));
typedef int32_t vexp_i __attribute__((vector_size(16)));
#define VEXP_W 4

static inline vexp_f vexp_splat(float v) { return (vexp_f){v, v, v, v}; }

static inline vexp_f vexp4(vexp_f x) {
    // clamp to where n fits the two-factor scaling (|n| <= 150); NaN fails both tests and stays NaN
    const vexp_i lo = x < vexp_splat(-104.0f), hi = x > vexp_splat(89.0f);
    x = (vexp_f)((lo & (vexp_i)vexp_splat(-104.0f)) | (hi & (vexp_i)vexp_splat(89.0f)) | (~(lo | hi) & (vexp_i)x));
    // n = round(x·log2 e): adding 1.5·2^23 rounds to an integer held in the low mantissa bits
    const vexp_f magic = vexp_splat(12582912.0f);
    const vexp_f t = x * vexp_splat(1.44269504088896341f) + magic;
    const vexp_i n = (vexp_i)t - (vexp_i)magic;
    const vexp_f nf = t - magic;
    const vexp_f r = (x - nf * vexp_splat(0.693359375f)) - nf * vexp_splat(-2.12194440e-4f);
    vexp_f p = vexp_splat(1.9875691500e-4f);
    p = p * r + vexp_splat(1.3981999507e-3f);
    p = p * r + vexp_splat(8.3334519073e-3f);
    p = p * r + vexp_splat(4.1665795894e-2f);
    p = p * r + vexp_splat(1.6666665459e-1f);
    p = p * r + vexp_splat(5.0000001201e-1f);
    p = p * (r * r) + r + vexp_splat(1.0f);
    // 2^n = 2^n1 · 2^n2 with both halves normal (n in [-150, 129])
    const vexp_i n1 = n >> 1, n2 = n - n1;
    const vexp_i bias = {127, 127, 127, 127};
    return p * (vexp_f)((n1 + bias) << 23) * (vexp_f)((n2 + bias) << 23);
}

// y[i] = exp(a·x[i] + b) for i < n; y may equal x. With a = ±1 the argument is exact (x + b, −x + b).
static inline void vec_exp_affine(float *y, const float *x, float a, float b, size_t n) {
    const vexp_f va = vexp_splat(a), vb = vexp_splat(b);
    size_t i = 0;
    for (; i + 2 * VEXP_W <= n; i += 2 * VEXP_W) {
        vexp_f v0, v1;
        memcpy(&v0, x + i, sizeof v0);
        memcpy(&v1, x + i + VEXP_W, sizeof v1);
        v0 = vexp4(v0 * va + vb);
        v1 = vexp4(v1 * va + vb);
        memcpy(y + i, &v0, sizeof v0);
        memcpy(y + i + VEXP_W, &v1, sizeof v1);
    }
    for (; i < n; i += VEXP_W) {
        const size_t k = n - i < VEXP_W ? n - i : VEXP_W;
        vexp_f v = vexp_splat(0.0f);
        memcpy(&v, x + i, k * sizeof(float));
        v = vexp4(v * va + vb);
        memcpy(y + i, &v, k * sizeof(float));
    }
}
