// cpu_vec.h — small inner loops shared by the CPU ops, written so gcc -O2 vectorises them.
// gcc 12 at -O2 uses the "very cheap" vectoriser: a loop with an unknown trip count is left scalar,
// but a fixed 8-wide inner body is SLP-vectorised. So every helper walks 8 lanes at a time plus a
// scalar tail. Float sums keep 8 independent partial sums combined in a fixed tree: the result
// depends only on n and the data, never on threads or alignment (determinism).
#pragma once
#include <stddef.h>

#define VEC_W 8

// y[i] += a * x[i]
static inline void vec_axpy(float *restrict y, float a, const float *restrict x, size_t n) {
    size_t i = 0;
    for (; i + VEC_W <= n; i += VEC_W)
        for (int u = 0; u < VEC_W; u++) y[i + u] += a * x[i + u];
    for (; i < n; i++) y[i] += a * x[i];
}

// x[i] *= a
static inline void vec_scale(float *restrict x, float a, size_t n) {
    size_t i = 0;
    for (; i + VEC_W <= n; i += VEC_W)
        for (int u = 0; u < VEC_W; u++) x[i + u] *= a;
    for (; i < n; i++) x[i] *= a;
}

// Σ a[i] b[i] in float with 8 partial sums
static inline float vec_dot(const float *restrict a, const float *restrict b, size_t n) {
    float acc[VEC_W] = {0};
    size_t i = 0;
    for (; i + VEC_W <= n; i += VEC_W)
        for (int u = 0; u < VEC_W; u++) acc[u] += a[i + u] * b[i + u];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

// Σ a[i] b[i] accumulated in double (row reductions of norms, softmax backward, attention's Di)
static inline double vec_dot_f64(const float *restrict a, const float *restrict b, size_t n) {
    double acc[4] = {0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int u = 0; u < 4; u++) acc[u] += (double)a[i + u] * (double)b[i + u];
    double s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    for (; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

// y[i] += (a[0] x0[i] + a[1] x1[i]) + (a[2] x2[i] + a[3] x3[i]): four axpys for one pass over y
static inline void vec_axpy4(float *restrict y, const float a[4], const float *restrict x0, const float *restrict x1,
                             const float *restrict x2, const float *restrict x3, size_t n) {
    const float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    size_t i = 0;
    for (; i + VEC_W <= n; i += VEC_W)
        for (int u = 0; u < VEC_W; u++)
            y[i + u] += (a0 * x0[i + u] + a1 * x1[i + u]) + (a2 * x2[i + u] + a3 * x3[i + u]);
    for (; i < n; i++) y[i] += (a0 * x0[i] + a1 * x1[i]) + (a2 * x2[i] + a3 * x3[i]);
}

// Dot products for attention scores, in 4 lanes: lane u sums the products with i ≡ u (mod 4) in
// order, the lanes combine as (l0 + l2) + (l1 + l3), then the n % 4 tail is added in order. The 2x2
// block computes each of its four dots exactly like vec_dot4, so blocking never changes a bit.
// (Four lanes of four arrays is what gcc -O2 keeps in registers; eight lanes spill to the stack.)
static inline float vec_dot4(const float *restrict a, const float *restrict b, size_t n) {
    float s[4] = {0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int u = 0; u < 4; u++) s[u] += a[i + u] * b[i + u];
    float r = (s[0] + s[2]) + (s[1] + s[3]);
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

// out = {a0·b0, a0·b1, a1·b0, a1·b1}
static inline void vec_dot4_2x2(const float *restrict a0, const float *restrict a1, const float *restrict b0,
                                const float *restrict b1, size_t n, float out[4]) {
    float s00[4] = {0}, s01[4] = {0}, s10[4] = {0}, s11[4] = {0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int u = 0; u < 4; u++) {
            s00[u] += a0[i + u] * b0[i + u];
            s01[u] += a0[i + u] * b1[i + u];
            s10[u] += a1[i + u] * b0[i + u];
            s11[u] += a1[i + u] * b1[i + u];
        }
    out[0] = (s00[0] + s00[2]) + (s00[1] + s00[3]);
    out[1] = (s01[0] + s01[2]) + (s01[1] + s01[3]);
    out[2] = (s10[0] + s10[2]) + (s10[1] + s10[3]);
    out[3] = (s11[0] + s11[2]) + (s11[1] + s11[3]);
    for (; i < n; i++) {
        out[0] += a0[i] * b0[i];
        out[1] += a0[i] * b1[i];
        out[2] += a1[i] * b0[i];
        out[3] += a1[i] * b1[i];
    }
}
