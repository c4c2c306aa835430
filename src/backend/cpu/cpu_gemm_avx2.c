// cpu_gemm_avx2.c — the AVX2/FMA pieces of the CPU SGEMM (see cpu_gemm.c for the driver).
// This is the only file compiled with -mavx2 -mfma; cpu_gemm.c calls into it only after
// __builtin_cpu_supports says the machine has both, so nothing here runs on older CPUs.
//
// Packed layouts (shared with the portable path in cpu_gemm.c):
//   A micro-panel: MR=6 rows × kc, stored k-major: a[p*6 + i]            (i < 6, p < kc)
//   B micro-panel: kc × NR=16 columns, stored k-major: b[p*16 + j]       (j < 16), 64-byte aligned
// The micro-kernel keeps the 6×16 tile of C in 12 ymm accumulators (two 8-wide vectors per row),
// and per k does 2 aligned loads of B, 6 broadcasts of A and 12 FMAs. Zen 3 and Haswell+ both
// retire 2 FMAs per cycle with 4–5 cycles latency, so 12 independent chains keep both pipes busy.
// The accumulation order over k is the same for full and edge tiles (edge tiles only differ in
// how the result is stored), so a C element's value never depends on where tiles fall.
#include "backend/cpu/cpu_gemm_simd.h"
#include "backend/cpu/cpu_gemm_transpose8.h"
#include <immintrin.h>
#include <stdint.h>
#include <stddef.h>

// One k step: 2 loads of B, 6 broadcasts of A, 12 FMAs.
#define KSTEP(P)                                                                        \
    do {                                                                                \
        const __m256 b0 = _mm256_load_ps(b + (P) * 16), b1 = _mm256_load_ps(b + (P) * 16 + 8); \
        __m256 ai;                                                                      \
        ai = _mm256_broadcast_ss(a + (P) * 6 + 0);                                      \
        c00 = _mm256_fmadd_ps(ai, b0, c00); c01 = _mm256_fmadd_ps(ai, b1, c01);         \
        ai = _mm256_broadcast_ss(a + (P) * 6 + 1);                                      \
        c10 = _mm256_fmadd_ps(ai, b0, c10); c11 = _mm256_fmadd_ps(ai, b1, c11);         \
        ai = _mm256_broadcast_ss(a + (P) * 6 + 2);                                      \
        c20 = _mm256_fmadd_ps(ai, b0, c20); c21 = _mm256_fmadd_ps(ai, b1, c21);         \
        ai = _mm256_broadcast_ss(a + (P) * 6 + 3);                                      \
        c30 = _mm256_fmadd_ps(ai, b0, c30); c31 = _mm256_fmadd_ps(ai, b1, c31);         \
        ai = _mm256_broadcast_ss(a + (P) * 6 + 4);                                      \
        c40 = _mm256_fmadd_ps(ai, b0, c40); c41 = _mm256_fmadd_ps(ai, b1, c41);         \
        ai = _mm256_broadcast_ss(a + (P) * 6 + 5);                                      \
        c50 = _mm256_fmadd_ps(ai, b0, c50); c51 = _mm256_fmadd_ps(ai, b1, c51);         \
    } while (0)

// Lane mask for the first `n` lanes (n in 0..8) of an 8-wide vector.
static inline __m256i lane_mask(int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// Stores one row of the tile: c[0..n) = alpha*acc (+ beta*c when beta != 0). n in 1..16.
static inline void store_row(float *c, __m256 lo, __m256 hi, __m256 valpha, __m256 vbeta, int beta_zero, int n) {
    lo = _mm256_mul_ps(lo, valpha);
    hi = _mm256_mul_ps(hi, valpha);
    if (n == 16) {
        if (!beta_zero) {
            lo = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c), lo);
            hi = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c + 8), hi);
        }
        _mm256_storeu_ps(c, lo);
        _mm256_storeu_ps(c + 8, hi);
        return;
    }
    if (n >= 8) {
        if (!beta_zero) lo = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c), lo);
        _mm256_storeu_ps(c, lo);
        if (n > 8) {
            const __m256i mk = lane_mask(n - 8);
            if (!beta_zero) hi = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(c + 8, mk), hi);
            _mm256_maskstore_ps(c + 8, mk, hi);
        }
    } else {
        const __m256i mk = lane_mask(n);
        if (!beta_zero) lo = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(c, mk), lo);
        _mm256_maskstore_ps(c, mk, lo);
    }
}

// C[0..m, 0..n) = alpha * (A_panel · B_panel) + beta * C   (beta == 0: C is not read).
// m <= 6, n <= 16; a and b are packed panels of depth kc (padding rows/cols are zero).
void gemm_avx2_kernel_6x16(int kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                           float beta, int m, int n) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

    // Warm the C tile's lines while the FMAs run; the stores at the end then hit L1.
    for (int i = 0; i < m; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
    }

    // One k step per iteration: with a manual 4x unroll gcc 12 interleaves the steps and runs
    // out of the 16 ymm registers (spills in the inner loop); the plain loop compiles to exactly
    // 2 loads + 6 broadcasts + 12 FMAs + 3 scalar ops, which is FMA-bound (6 cycles per k).
    for (int p = 0; p < kc; p++) {
        KSTEP(0);
        a += 6;
        b += 16;
    }

    const __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
    const int bz = beta == 0.0f;
    if (m == 6 && n == 16) {
        store_row(c + 0 * ldc, c00, c01, valpha, vbeta, bz, 16);
        store_row(c + 1 * ldc, c10, c11, valpha, vbeta, bz, 16);
        store_row(c + 2 * ldc, c20, c21, valpha, vbeta, bz, 16);
        store_row(c + 3 * ldc, c30, c31, valpha, vbeta, bz, 16);
        store_row(c + 4 * ldc, c40, c41, valpha, vbeta, bz, 16);
        store_row(c + 5 * ldc, c50, c51, valpha, vbeta, bz, 16);
        return;
    }
    // Edge tile: same accumulators, partial store.
    if (m > 0) store_row(c + 0 * ldc, c00, c01, valpha, vbeta, bz, n);
    if (m > 1) store_row(c + 1 * ldc, c10, c11, valpha, vbeta, bz, n);
    if (m > 2) store_row(c + 2 * ldc, c20, c21, valpha, vbeta, bz, n);
    if (m > 3) store_row(c + 3 * ldc, c30, c31, valpha, vbeta, bz, n);
    if (m > 4) store_row(c + 4 * ldc, c40, c41, valpha, vbeta, bz, n);
    if (m > 5) store_row(c + 5 * ldc, c50, c51, valpha, vbeta, bz, n);
}

// dst[p*6 + i] = src[i*ld + p] for i < 6, p < kc: six rows, each contiguous along k
// (op(A) = A, row-major), interleaved into an A micro-panel.
void gemm_avx2_pack_a_rows6(const float *src, int64_t ld, int kc, float *dst) {
    int p = 0;
    for (; p + 8 <= kc; p += 8) {
        __m256 r[8];
        for (int i = 0; i < 6; i++) r[i] = _mm256_loadu_ps(src + i * ld + p);
        r[6] = r[7] = _mm256_setzero_ps();
        gemm_transpose8(r);
        for (int q = 0; q < 8; q++) {  // keep lanes 0..5 of column q
            float *d = dst + (p + q) * 6;
            _mm_storeu_ps(d, _mm256_castps256_ps128(r[q]));
            _mm_storel_pi((__m64 *)(d + 4), _mm256_extractf128_ps(r[q], 1));
        }
    }
    for (; p < kc; p++)
        for (int i = 0; i < 6; i++) dst[p * 6 + i] = src[i * ld + p];
}

// dst[p*16 + j] = src[j*ld + p] for j < 16, p < kc: sixteen rows, each contiguous along k
// (op(B) = Bᵀ, e.g. a Linear weight [OC, C]), interleaved into a B micro-panel.
void gemm_avx2_pack_b_rows16(const float *src, int64_t ld, int kc, float *dst) {
    int p = 0;
    for (; p + 8 <= kc; p += 8) {
        for (int h = 0; h < 2; h++) {
            __m256 r[8];
            for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(src + (h * 8 + j) * ld + p);
            gemm_transpose8(r);
            for (int q = 0; q < 8; q++) _mm256_store_ps(dst + (p + q) * 16 + h * 8, r[q]);
        }
    }
    for (; p < kc; p++)
        for (int j = 0; j < 16; j++) dst[p * 16 + j] = src[j * ld + p];
}
