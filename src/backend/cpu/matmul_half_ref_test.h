// matmul_half_ref_test.h — the double-precision reference of the 16-bit-weight Linear ops (ops.h
// matmul_forward_half, matmul_backward_dx_half) and the error bound both backends' tests check against.
//
// The ops round the fp32 activation operand to the weight's type r(·) and sum the exact products in fp32.
// For an output element with K products, in any summation order (Higham, Accuracy and Stability, 3.1):
//     |computed - E| <= γ_{K+1} · S,   E = Σ r(a) w (+ b or + old dx),   S = Σ |r(a) w| (+ |b| or |old dx|)
// with γ_n = n·u / (1 - n·u), u = 2^-24. Against the unrounded fp32 product F = Σ a w (+ ...), the rounding
// of a adds at most u_h · Σ |a w|, u_h = 2^-8 for bf16 (8 significant bits) and 2^-11 for fp16 (11), when
// nothing under- or overflows (the inputs here are O(1)). Both bounds are derived, not fitted.
#pragma once
#include "test/test.h"
#include "base/dtype.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static inline double half_gamma(int n) { const double u = ldexp(1.0, -24); return n * u / (1 - n * u); }
static inline double half_unit(Dtype wt) { return ldexp(1.0, wt == DTYPE_BF16 ? -8 : -11); }
static inline double half_value(uint16_t h, Dtype wt) { return wt == DTYPE_BF16 ? bf16_to_f32(h) : f16_to_f32(h); }
static inline double half_round(float a, Dtype wt) {
    return wt == DTYPE_BF16 ? bf16_to_f32(f32_to_bf16(a)) : f16_to_f32(f32_to_f16(a));
}

// Reference of out[M,Ncol] = op over a[M,K] (row stride K) and w: forward (w [Ncol,K], out = a·wᵀ + add)
// or backward (w [K,Ncol], out = a·w + add); add[col] (bias, per column) or add_full[M,Ncol] (old dx), each
// may be NULL. Fills e (rounded operand), f (unrounded) and s (Σ magnitudes), doubles [M*Ncol].
static inline void half_reference(bool backward, const float *a, const uint16_t *w, Dtype wt, const float *add,
                                  const float *add_full, int M, int Ncol, int K, double *e, double *f, double *s) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < Ncol; j++) {
            double se = 0, sf = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                const double wv = half_value(backward ? w[(size_t)k * Ncol + j] : w[(size_t)j * K + k], wt);
                const float av = a[(size_t)i * K + k];
                se += half_round(av, wt) * wv;
                sf += (double)av * wv;
                mag += fabs(half_round(av, wt) * wv);
            }
            const double extra = add ? add[j] : add_full ? add_full[(size_t)i * Ncol + j] : 0.0;
            const size_t at = (size_t)i * Ncol + j;
            e[at] = se + extra;
            f[at] = sf + extra;
            s[at] = mag + fabs(extra);
        }
}

// Checks got against the reference: |got - e| <= γ_{K+2} s everywhere (K + 2: the extra term), and
// |got - f| <= u_h s + γ_{K+2} s. Reports the worst element; returns the largest |got - f| / s (how far
// the rounding of the operand moved the result, in units of s).
static inline double half_check_at(const char *file, int line, const char *what, const float *got, const double *e,
                                   const double *f, const double *s, size_t n, int K, Dtype wt) {
    const double g = half_gamma(K + 2), uh = half_unit(wt);
    double worst_e = 0, worst_f = 0;
    size_t at_e = 0, at_f = 0;
    for (size_t i = 0; i < n; i++) {
        const double de = fabs(got[i] - e[i]) / (s[i] > 0 ? s[i] : 1), df = fabs(got[i] - f[i]) / (s[i] > 0 ? s[i] : 1);
        if (!(de <= worst_e)) { worst_e = de; at_e = i; }   // NaN counts as worst
        if (!(df <= worst_f)) { worst_f = df; at_f = i; }
    }
    if (!(worst_e <= g))
        test_fail_at(file, line, "%s: element %zu = %.9g, expected %.9g: error %.3g·S over the fp32 bound γ = %.3g·S",
                     what, at_e, got[at_e], e[at_e], worst_e, g);
    if (!(worst_f <= uh + g))
        test_fail_at(file, line, "%s: element %zu = %.9g, fp32 product %.9g: error %.3g·S over the %s bound %.3g·S", what,
                     at_f, got[at_f], f[at_f], worst_f, dtype_name(wt), uh + g);
    return worst_f;
}
#define HALF_CHECK(what, got, e, f, s, n, K, wt) half_check_at(__FILE__, __LINE__, (what), (got), (e), (f), (s), (n), (K), (wt))
