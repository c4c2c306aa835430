// cpu_gemm_avx512.c — the AVX-512 pieces of the CPU SGEMM (see cpu_gemm.c for the driver).
// Compiled with -mavx512f -mavx512vl (and AVX2/FMA); cpu_gemm.c calls into it only after
// __builtin_cpu_supports says the CPU (and the OS, which must save zmm state) has AVX-512F+VL.
//
// Packed layouts (the driver's, with this path's MR=GEMM512_MR and NR=32):
//   A micro-panel: MR rows × kc, k-major: a[p*MR + i]
//   B micro-panel: kc × 32 columns, k-major: b[p*32 + j], 64-byte aligned
// The micro-kernel holds the MR×32 tile of C in 2·MR zmm accumulators; per k it loads two zmm of
// B, broadcasts MR values of A and issues 2·MR FMAs. With MR = 12 that is 24 independent chains:
// enough to cover Zen 4/5's and Skylake-X's 4-cycle FMA latency on two pipes, leaving registers for
// B and the broadcast (14×32 uses 28 + 2 + 1 of the 32). The k order is the same for full and edge
// tiles (edge tiles only store fewer lanes/rows), so a C element's value does not depend on where
// tiles fall, on the thread count or on the data's alignment.
#include "backend/cpu/cpu_gemm_simd.h"
#include "backend/cpu/cpu_gemm_transpose8.h"
#include <immintrin.h>
#include <stdint.h>
#include <stddef.h>

enum { MR = GEMM512_MR, NR = 32 };

// Stores one row: c[0..n) = alpha*acc (+ beta*c unless beta_zero); n in 1..32.
static inline void store_row(float *c, __m512 lo, __m512 hi, __m512 valpha, __m512 vbeta, int beta_zero, int n) {
    const __mmask16 mlo = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
    const __mmask16 mhi = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
    lo = _mm512_mul_ps(lo, valpha);
    hi = _mm512_mul_ps(hi, valpha);
    if (!beta_zero) {
        lo = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mlo, c), lo);
        hi = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mhi, c + 16), hi);
    }
    _mm512_mask_storeu_ps(c, mlo, lo);
    _mm512_mask_storeu_ps(c + 16, mhi, hi);
}

// The tile, for every operand layout: A element (i, p) at a[i*a_row + p*a_k], B row p at b + p*b_k.
// The packed kernel and the in-place variants below take the same products in the same order, so
// they give identical bits and the driver may choose per panel.
static inline __attribute__((always_inline)) void tile(int kc, const float *a, int64_t a_row, int64_t a_k,
                                                       const float *b, int64_t b_k, float *c, int64_t ldc,
                                                       float alpha, float beta, int m, int n) {
    __m512 acc[MR][2];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();

    for (int i = 0; i < m; i++) {  // warm the C tile's lines while the FMAs run
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
    }
    for (int p = 0; p < kc; p++, a += a_k, b += b_k) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            const __m512 ai = _mm512_set1_ps(a[i * a_row]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }

    const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    const int bz = beta == 0.0f;
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
        if (i < m) store_row(c + i * ldc, acc[i][0], acc[i][1], valpha, vbeta, bz, n);
}

// Packed A and B panels (m <= MR rows, n <= 32 columns; padding lanes are zero).
void gemm_avx512_kernel(int kc, const float *a, const float *b, float *c, int64_t ldc, float alpha, float beta,
                        int m, int n) {
    tile(kc, a, 1, MR, b, NR, c, ldc, alpha, beta, m, n);
}

// A read in place, unpacked: row i at a + i*lda, contiguous along k (op(A) = A), exactly MR rows (the
// driver packs a partial edge panel instead). For units whose packed A panel would serve only one or
// two B panels (N <= 64), where packing A costs as much as using it.
void gemm_avx512_kernel_rows(int kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc, float alpha,
                             float beta, int n) {
    tile(kc, a, lda, 1, b, NR, c, ldc, alpha, beta, MR, n);
}

// B read in place, unpacked: row p of the panel at b + p*ldb (op(B) = B row-major), all 32 columns
// (the driver packs a partial edge panel instead). For GEMMs with at most two row panels (M <= 24,
// e.g. the LoRA gradient dA = dxaᵀ·x with M = rank), where each B panel is used once or twice.
void gemm_avx512_kernel_bcols(int kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc, float alpha,
                              float beta, int m) {
    tile(kc, a, 1, MR, b, ldb, c, ldc, alpha, beta, m, NR);
}

// dst[p*width + i] = src[i*ld + p] for i < rows, p < kc, and 0 for rows <= i < width: `rows`
// rows contiguous along k (op(A) = A, or op(B) = Bᵀ as for a Linear weight) interleaved into a
// micro-panel of `width` (= MR or NR) lanes. 8×8 blocks go through an in-register transpose.
void gemm_avx512_pack_rows(const float *src, int64_t ld, int rows, int width, int kc, float *dst) {
    int p = 0;
    for (; p + 8 <= kc; p += 8) {
        // The rows are read once, often from L3 or memory, as `rows` parallel streams: ask for the
        // next lines ahead (every other step covers each 64-byte line).
        if ((p & 15) == 0)
            for (int i = 0; i < rows; i++) _mm_prefetch((const char *)(src + i * ld + p + 64), _MM_HINT_T0);
        for (int i0 = 0; i0 < width; i0 += 8) {
            const int w = width - i0 < 8 ? width - i0 : 8;
            __m256 r[8];  // unrolled so that r stays in registers (a loop spills it to the stack)
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                r[i] = i0 + i < rows ? _mm256_loadu_ps(src + (i0 + i) * ld + p) : _mm256_setzero_ps();
            gemm_transpose8(r);
            const __mmask8 mk = (__mmask8)((1u << w) - 1);
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++) _mm256_mask_storeu_ps(dst + (p + q) * width + i0, mk, r[q]);
        }
    }
    for (; p < kc; p++)
        for (int i = 0; i < width; i++) dst[p * width + i] = i < rows ? src[i * ld + p] : 0.0f;
}

// ---- the unpacked path: C = A·Bᵀ with both operands' rows contiguous along k ----
// For a few rows (decode: M = 1..8 tokens against a weight [N, K]), packing B would cost more than
// the product. Each C element is a dot
// product over k in 16-lane chunks (the last one masked), then a fixed-order horizontal sum, so its
// value depends only on K — not on the tile, the thread or the data's alignment.

static inline __attribute__((always_inline)) void dot_tile(const int MB, const int NB, int K, const float *a,
                                                           int64_t lda, const float *b, int64_t ldb, float *c,
                                                           int64_t ldc, float alpha, float beta) {
    __m512 acc[4][4];
    for (int i = 0; i < MB; i++)
        for (int j = 0; j < NB; j++) acc[i][j] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 bv[4];
        for (int j = 0; j < NB; j++) bv[j] = _mm512_loadu_ps(b + j * ldb + k);
        for (int i = 0; i < MB; i++) {
            const __m512 av = _mm512_loadu_ps(a + i * lda + k);
            for (int j = 0; j < NB; j++) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    if (k < K) {
        const __mmask16 mk = (__mmask16)((1u << (K - k)) - 1);
        __m512 bv[4];
        for (int j = 0; j < NB; j++) bv[j] = _mm512_maskz_loadu_ps(mk, b + j * ldb + k);
        for (int i = 0; i < MB; i++) {
            const __m512 av = _mm512_maskz_loadu_ps(mk, a + i * lda + k);
            for (int j = 0; j < NB; j++) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < MB; i++)
        for (int j = 0; j < NB; j++) {
            const float v = alpha * _mm512_reduce_add_ps(acc[i][j]);
            float *ci = c + i * ldc + j;
            *ci = beta == 0.0f ? v : v + beta * *ci;
        }
}

void gemm_avx512_dot_tile(int K, const float *a, int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                          float alpha, float beta, int m, int n) {
#define DOT(MB, NB) dot_tile(MB, NB, K, a, lda, b, ldb, c, ldc, alpha, beta)
    switch (m * 8 + n) {
    case 1 * 8 + 4: DOT(1, 4); break;
    case 2 * 8 + 4: DOT(2, 4); break;
    case 3 * 8 + 4: DOT(3, 4); break;
    case 4 * 8 + 4: DOT(4, 4); break;
    default:  // edge tiles: one column at a time
        for (int j = 0; j < n; j++) {
            switch (m) {
            case 1: dot_tile(1, 1, K, a, lda, b + j * ldb, ldb, c + j, ldc, alpha, beta); break;
            case 2: dot_tile(2, 1, K, a, lda, b + j * ldb, ldb, c + j, ldc, alpha, beta); break;
            case 3: dot_tile(3, 1, K, a, lda, b + j * ldb, ldb, c + j, ldc, alpha, beta); break;
            default: dot_tile(4, 1, K, a, lda, b + j * ldb, ldb, c + j, ldc, alpha, beta); break;
            }
        }
    }
#undef DOT
}
