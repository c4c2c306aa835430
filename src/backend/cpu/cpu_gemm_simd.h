// cpu_gemm_simd.h — the SIMD pieces of the CPU SGEMM, each in a file compiled with its ISA's flags
// (nob adds -mavx2 -mfma to *_avx2.c, -mavx512f -mavx512vl … to *_avx512.c). cpu_gemm.c calls them
// only after CPUID says the machine has the ISA. Packed layouts: see cpu_gemm.c.
#pragma once
#include <stdint.h>

// ---- AVX2 + FMA (cpu_gemm_avx2.c): 6×16 tile ----
void gemm_avx2_kernel_6x16(int kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                           float beta, int m, int n);
void gemm_avx2_pack_a_rows6(const float *src, int64_t ld, int kc, float *dst);
void gemm_avx2_pack_b_rows16(const float *src, int64_t ld, int kc, float *dst);

// ---- AVX-512 F+VL (cpu_gemm_avx512.c): GEMM512_MR × 32 tile ----
#define GEMM512_MR 12
void gemm_avx512_kernel(int kc, const float *a, const float *b, float *c, int64_t ldc, float alpha, float beta,
                        int m, int n);
// The same with A unpacked (row i at a + i*lda, k contiguous) and exactly GEMM512_MR rows.
void gemm_avx512_kernel_rows(int kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc, float alpha,
                             float beta, int n);
// The same with B unpacked (row p of the panel at b + p*ldb) and exactly 32 columns.
void gemm_avx512_kernel_bcols(int kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc, float alpha,
                              float beta, int m);
void gemm_avx512_pack_rows(const float *src, int64_t ld, int rows, int width, int kc, float *dst);
// C[0..m, 0..n) = alpha·A·Bᵀ + beta·C (beta == 0: C not read), m, n <= GEMM_DOT_TILE, A [m, K] and
// B [n, K] row-major, unpacked.
#define GEMM_DOT_TILE 4
void gemm_avx512_dot_tile(int K, const float *a, int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                          float alpha, float beta, int m, int n);
