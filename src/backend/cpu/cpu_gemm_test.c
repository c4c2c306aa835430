// cpu_gemm_test.c — the CPU SGEMM and Linear layer against a naive double-precision reference.
// Every case runs on every ISA path the CPU has (AVX-512, AVX2+FMA, and the portable C kernel)
// and at 1 and 2 threads; results must also be bit-identical across thread counts.
// Guard values: padding columns of A/B (lda > cols) hold NaN, so reading them poisons the result;
// padding columns of C hold a sentinel that must survive.
#include "test/test.h"
#include "backend/cpu/cpu_ops.h"
#include "base/check.h"
#include "base/rng.h"
#include "base/threads.h"
#include <float.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>


#define SENTINEL 12345.0f

static Rng rng = {0x9E3779B97F4A7C15ull};
static float frand(void) { return 2.0f * rng_uniform(&rng) - 1.0f; }   // uniform in [-1, 1)
static float *alloc_f(size_t n) { return malloc_check((n ? n : 1) * sizeof(float)); }
static void fill_rand(float *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = frand(); }
static void fill_val(float *x, size_t n, float v) { for (size_t i = 0; i < n; i++) x[i] = v; }

// The ISA paths to test: always portable, plus avx512 and avx2 where available.
static int isa_list(const char *names[3]) {
    int n = 0;
    if (cpu_gemm_select("avx512")) names[n++] = "avx512";
    if (cpu_gemm_select("avx2")) names[n++] = "avx2";
    names[n++] = "portable";
    return n;
}

typedef struct { const char *isa; int threads; } Saved;
static Saved save_config(void) { return (Saved){cpu_gemm_isa(), threads_count()}; }
static void restore_config(Saved s) { cpu_gemm_select(s.isa); threads_set_count(s.threads); }

// The configurations a test runs its cases in: each SIMD path (avx512, avx2 where available, portable) and,
// with both_threads, each on 1 and 2 threads (else the thread count is the test's). The loop
//     for (Configs it = configs(both_threads); next_config(&it);) ...
// selects each in turn and restores the ISA and thread count after the last.
typedef struct { Saved saved; const char *isas[3]; int nisa, ii, t, tmax; } Configs;
static Configs configs(bool both_threads) {
    Configs it = {.saved = save_config(), .ii = 0, .t = 0, .tmax = both_threads ? 2 : 1};
    it.nisa = isa_list(it.isas);
    return it;
}
static bool next_config(Configs *it) {
    if (++it->t > it->tmax) it->t = 1, it->ii++;
    if (it->ii >= it->nisa) {
        restore_config(it->saved);
        return false;
    }
    cpu_gemm_select(it->isas[it->ii]);
    if (it->tmax > 1) threads_set_count(it->t);
    return true;
}

// A stored matrix `rows × cols` with row stride ld; entries past `cols` are NaN guards.
static float *make_matrix(int rows, int cols, int ld, int64_t *stride, int batch) {
    int64_t s = (int64_t)rows * ld + 5;  // odd gap between batch items, also NaN
    *stride = s;
    size_t total = (size_t)(s * (batch > 0 ? batch : 1));
    float *m = alloc_f(total);
    fill_val(m, total, NAN);
    for (int b = 0; b < batch; b++)
        for (int r = 0; r < rows; r++) fill_rand(m + b * s + (int64_t)r * ld, (size_t)cols);
    return m;
}

// Checks C (M×N, stride ldc) against the double reference for one batch item; reports the worst.
// Bound: |err| <= (K + 3) eps (|alpha| Σ|a||b| + |beta c|) + 1e-30 — the standard fp32 dot-product
// error bound, tight enough that a wrong or missing term (size ~|a||b|) fails.
static bool check_gemm(const char *what, bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, const float *C0, const float *C, int ldc) {
    int bad = 0;
    double worst = 0;
    int wi = 0, wj = 0;
    double wgot = 0, wwant = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0, sa = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(int64_t)k * lda + i] : A[(int64_t)i * lda + k];
                double b = tb ? B[(int64_t)j * ldb + k] : B[(int64_t)k * ldb + j];
                s += a * b;
                sa += fabs(a * b);
            }
            double c0 = beta == 0.0f ? 0.0 : C0[(int64_t)i * ldc + j];
            double want = (K > 0 && alpha != 0.0f ? alpha * s : 0.0) + (beta == 0.0f ? 0.0 : beta * c0);
            double tol = (K + 3) * (double)FLT_EPSILON * (fabs(alpha) * sa + fabs(beta * c0)) + 1e-30;
            double got = C[(int64_t)i * ldc + j];
            double err = fabs(got - want);
            if (!(err <= tol)) {
                double excess = isnan(err) ? INFINITY : err / tol;
                if (!bad || excess > worst) { worst = excess; wi = i; wj = j; wgot = got; wwant = want; }
                bad++;
            }
        }
        for (int j = N; j < ldc; j++)
            if (C[(int64_t)i * ldc + j] != C0[(int64_t)i * ldc + j]) {
                if (!bad) { wi = i; wj = j; wgot = C[(int64_t)i * ldc + j]; wwant = C0[(int64_t)i * ldc + j]; }
                bad++;
            }
    }
    if (bad)
        test_fail_at(__FILE__, __LINE__, "%s ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g [%s, %d threads]: %d bad; "
                     "worst C[%d][%d] = %.9g, expected %.9g", what, ta, tb, M, N, K, alpha, beta, cpu_gemm_isa(),
                     threads_count(), bad, wi, wj, wgot, wwant);
    return bad == 0;
}

// Runs one gemm configuration (all batch items) and checks every item. Returns the C buffer
// (caller frees) so callers can compare runs bit for bit.
static float *run_case(bool ta, bool tb, int M, int N, int K, float alpha, float beta, int batch, int pad,
                       bool nan_c, bool check, bool *ok) {
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad + 1, ldc = N + pad;
    int64_t sa, sb, sc;
    float *A = make_matrix(ta ? K : M, ta ? M : K, lda, &sa, batch);
    float *B = make_matrix(tb ? N : K, tb ? K : N, ldb, &sb, batch);
    sc = (int64_t)M * ldc + 3;
    size_t ctotal = (size_t)(sc * batch);
    float *C0 = alloc_f(ctotal), *C = alloc_f(ctotal);
    for (size_t i = 0; i < ctotal; i++) C0[i] = SENTINEL;
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C0[b * sc + (int64_t)i * ldc + j] = nan_c ? NAN : frand();
    memcpy(C, C0, ctotal * sizeof(float));
    cpu_gemm(NULL, ta, tb, M, N, K, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch);
    *ok = true;
    for (int b = 0; b < batch && check; b++)
        *ok &= check_gemm("gemm", ta, tb, M, N, K, alpha, A + b * sa, lda, B + b * sb, ldb, beta, C0 + b * sc,
                          C + b * sc, ldc);
    for (size_t i = (size_t)(sc * batch) - 3; i < ctotal; i++) EXPECT(C[i] == SENTINEL);
    free(A); free(B); free(C0);
    return C;
}

// The case in all four transpose layouts, each checked against the double reference.
static void run_transposes(int M, int N, int K, float alpha, float beta, int batch, int pad, bool nan_c) {
    for (int tr = 0; tr < 4; tr++) {
        bool ok;
        free(run_case(tr & 1, tr & 2, M, N, K, alpha, beta, batch, pad, nan_c, true, &ok));
    }
}

static const int SIZES[][3] = {  // M, N, K: ones, primes, exact tiles, tile ± 1, block crossings
    {1, 1, 1}, {1, 17, 3}, {7, 1, 13}, {7, 13, 5}, {6, 16, 8}, {5, 15, 7}, {12, 32, 16},
    {13, 33, 300}, {37, 50, 257}, {100, 70, 513}, {145, 31, 64}, {1000, 7, 13}, {3, 1000, 29}, {64, 48, 1},
    {8, 61, 47}, {9, 17, 33},  // the unpacked A·Bᵀ path's limit (M <= 8)
};

TEST(gemm_all_transposes_odd_sizes) {
    for (Configs it = configs(true); next_config(&it);)
        for (size_t s = 0; s < LPOI_ARRAY_LEN(SIZES); s++)   // pad: lda == cols for some sizes, > cols for others
            run_transposes(SIZES[s][0], SIZES[s][1], SIZES[s][2], 1.0f, 0.0f, 1, (int)(s % 3) * 3, true);
}

// Crosses every blocking boundary: M > MC (144 for avx2, 480 for avx512), K > KC (several K blocks), N > NC (two N blocks),
// with threads. Each block has enough work (> 4 MFLOP per thread) to be shared, and the shapes
// take each way of cutting it into units: row blocks only (301×70 on 2 threads), column groups
// only (13×4097 on 2 threads), both (150×4100 on 7 threads, more than this machine may have).
// The 1-thread results are bit-identical (gemm_deterministic_across_threads).
TEST(gemm_block_boundaries) {
    static const int big[][4] = {{301, 70, 600, 2}, {13, 4097, 520, 2}, {150, 4100, 60, 7}, {517, 45, 70, 2}};
    for (Configs it = configs(false); next_config(&it);)
        for (size_t s = 0; s < LPOI_ARRAY_LEN(big); s++) {
            threads_set_count(big[s][3]);
            run_transposes(big[s][0], big[s][1], big[s][2], 0.75f, 0.5f, 1, 2, false);
        }
}

TEST(gemm_alpha_beta) {
    static const float ab[][2] = {{1, 1}, {0.5f, -1.5f}, {-2, 0}, {1, 2}, {0, 0}, {0, 2}, {0, 1}};
    for (Configs it = configs(true); next_config(&it);)
        for (size_t a = 0; a < LPOI_ARRAY_LEN(ab); a++) {
            run_transposes(29, 45, 70, ab[a][0], ab[a][1], 1, 1, false);
            run_transposes(5, 37, 70, ab[a][0], ab[a][1], 1, 1, false);   // M <= 8: AVX-512's unpacked dot path
        }
}

// beta == 0 must ignore C's old contents even when they are NaN; alpha == 0 must not read A or B.
TEST(gemm_beta_zero_ignores_nan) {
    for (Configs it = configs(false); next_config(&it);) {
        run_transposes(23, 35, 17, 1.0f, 0.0f, 2, 0, true);
        run_transposes(200, 300, 300, -1.0f, 0.0f, 1, 0, true);
        float A[4] = {NAN, NAN, NAN, NAN}, B[4] = {NAN, NAN, NAN, NAN}, C[4] = {NAN, 1, 2, NAN};
        cpu_gemm(NULL, false, false, 2, 2, 2, 0.0f, A, 2, 0, B, 2, 0, 0.0f, C, 2, 0, 1);
        for (int i = 0; i < 4; i++) EXPECT(C[i] == 0.0f);
        float D[4] = {1, 2, 3, 4};
        cpu_gemm(NULL, false, false, 2, 2, 2, 0.0f, A, 2, 0, B, 2, 0, 3.0f, D, 2, 0, 1);
        EXPECT(D[0] == 3 && D[1] == 6 && D[2] == 9 && D[3] == 12);
    }
}

TEST(gemm_k_zero) {
    Saved saved = save_config();
    run_transposes(9, 20, 0, 1.0f, 0.0f, 1, 1, true);   // C = 0
    run_transposes(9, 20, 0, 1.0f, 2.5f, 3, 1, false);  // C = 2.5 C
    // M or N == 0: nothing is touched.
    float C[2] = {NAN, 7};
    cpu_gemm(NULL, false, false, 0, 1, 3, 1.0f, NULL, 3, 0, NULL, 1, 0, 0.0f, C, 1, 0, 1);
    cpu_gemm(NULL, false, false, 1, 0, 3, 1.0f, NULL, 3, 0, NULL, 1, 0, 0.0f, C, 1, 0, 1);
    EXPECT(isnan(C[0]) && C[1] == 7);
    restore_config(saved);
}

TEST(gemm_batched_strides) {
    for (Configs it = configs(true); next_config(&it);) {
        run_transposes(17, 23, 31, 1.0f, 0.0f, 3, 2, true);    // few items
        run_transposes(40, 64, 130, 0.5f, 1.0f, 16, 1, false); // items per thread
    }
    for (Configs it = configs(false); next_config(&it);) {
        // Items big enough (> 64 MFLOP) to be split across threads one after another.
        threads_set_count(2);
        for (int tr = 0; tr < 4; tr += 3) {
            bool ok;
            free(run_case(tr & 1, tr & 2, 160, 200, 1030, 1.0f, 0.0f, 2, 1, true, true, &ok));
        }
    }
    // stride 0 broadcasts one B to every batch item (as attention does with a shared matrix).
    {
        int M = 11, N = 19, K = 26, batch = 5;
        float *A = alloc_f((size_t)batch * M * K), *B = alloc_f((size_t)K * N), *C = alloc_f((size_t)batch * M * N);
        fill_rand(A, (size_t)batch * M * K); fill_rand(B, (size_t)K * N); fill_val(C, (size_t)batch * M * N, NAN);
        cpu_gemm(NULL, false, false, M, N, K, 1.0f, A, K, (int64_t)M * K, B, N, 0, 0.0f, C, N, (int64_t)M * N, batch);
        for (int b = 0; b < batch; b++)
            check_gemm("broadcast B", false, false, M, N, K, 1.0f, A + b * M * K, K, B, N, 0.0f, C + b * M * N,
                       C + b * M * N, N);
        free(A); free(B); free(C);
    }
}

// Same inputs at 1 and 2 threads (and through the batch-parallel and serial paths) give
// bit-identical outputs: each element's arithmetic does not depend on the split.
TEST(gemm_deterministic_across_threads) {
    static const int sz[][4] = {{301, 257, 600, 1}, {7, 4000, 300, 1}, {50, 60, 300, 12}, {150, 4100, 17, 1},
                                {3, 5000, 200, 1}};
    for (Configs it = configs(false); next_config(&it);) {
        for (size_t s = 0; s < LPOI_ARRAY_LEN(sz); s++)
            for (int tr = 0; tr < 4; tr++) {
                int M = sz[s][0], N = sz[s][1], K = sz[s][2], batch = sz[s][3];
                float *out[2];
                size_t n = (size_t)((int64_t)M * N + 3) * batch;
                for (int t = 1; t <= 2; t++) {
                    threads_set_count(t);
                    rng_seed(&rng, 0x1234567ull + s);
                    bool ok;
                    out[t - 1] = run_case(tr & 1, tr & 2, M, N, K, 1.0f, 0.0f, batch, 0, true, false, &ok);
                }
                EXPECT_MSG(memcmp(out[0], out[1], n * sizeof(float)) == 0,
                           "%s: 1-thread and 2-thread results differ (M=%d N=%d K=%d tr=%d)", cpu_gemm_isa(), M, N, K, tr);
                free(out[0]); free(out[1]);
            }
    }
}

// The same operands at different addresses (offset by 0..3 floats, so 16- and 64-byte alignment
// both change) give bit-identical results on every path: no alignment-dependent peeling.
TEST(gemm_alignment_invariant) {
    static const int sz[][3] = {{5, 37, 70}, {40, 50, 300}, {300, 9, 130}};
    for (Configs it = configs(true); next_config(&it);)
        for (size_t s = 0; s < LPOI_ARRAY_LEN(sz); s++)
            for (int tr = 0; tr < 4; tr++) {
                const int M = sz[s][0], N = sz[s][1], K = sz[s][2];
                const bool ta = tr & 1, tb = tr & 2;
                float *a = alloc_f((size_t)M * K + 3), *b = alloc_f((size_t)K * N + 3);
                float *c[4];
                fill_rand(a, (size_t)M * K);
                fill_rand(b, (size_t)K * N);
                for (int off = 0; off < 4; off++) {
                    float *ao = alloc_f((size_t)M * K + 4), *bo = alloc_f((size_t)K * N + 4);
                    memcpy(ao + off, a, (size_t)M * K * sizeof(float));
                    memcpy(bo + off, b, (size_t)K * N * sizeof(float));
                    c[off] = alloc_f((size_t)M * N + 4);
                    cpu_gemm(NULL, ta, tb, M, N, K, 1.0f, ao + off, ta ? M : K, 0, bo + off, tb ? K : N, 0, 0.0f,
                             c[off] + off, N, 0, 1);
                    memmove(c[off], c[off] + off, (size_t)M * N * sizeof(float));
                    free(ao);
                    free(bo);
                }
                for (int off = 1; off < 4; off++)
                    EXPECT_MSG(memcmp(c[0], c[off], (size_t)M * N * sizeof(float)) == 0,
                               "%s, %d threads: offset %d changes the result (M=%d N=%d K=%d ta=%d tb=%d)",
                               cpu_gemm_isa(), threads_count(), off, M, N, K, ta, tb);
                for (int off = 0; off < 4; off++) free(c[off]);
                free(a);
                free(b);
            }
}

TEST(gemm_isa_select) {
    Saved saved = save_config();
    EXPECT(cpu_gemm_select("portable"));
    EXPECT_STREQ(cpu_gemm_isa(), "portable");
    if (cpu_gemm_select("avx2")) EXPECT_STREQ(cpu_gemm_isa(), "avx2+fma");
    if (cpu_gemm_select("avx512")) EXPECT_STREQ(cpu_gemm_isa(), "avx512");
    EXPECT(!cpu_gemm_select("sse9"));
    restore_config(saved);
}

// ---- Linear layer ----

// y = x wᵀ + b in double.
static void linear_ref(double *y, const float *x, const float *w, const float *b, int N, int C, int OC) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = b ? b[o] : 0.0;
            for (int c = 0; c < C; c++) s += (double)x[n * C + c] * w[o * C + c];
            y[n * OC + o] = s;
        }
}

// Compares against a double reference; the message names the ISA path and thread count.
static bool close_to_at(const char *file, int line, const char *what, const float *got, const double *want, size_t n,
                        double atol, double rtol) {
    float *w = alloc_f(n);
    for (size_t i = 0; i < n; i++) w[i] = (float)want[i];
    char label[128];
    snprintf(label, sizeof label, "%s [%s, %d threads]", what, cpu_gemm_isa(), threads_count());
    bool ok = expect_close_f32_at(file, line, label, got, w, n, atol, rtol);
    free(w);
    return ok;
}
#define close_to(...) close_to_at(__FILE__, __LINE__, __VA_ARGS__)

TEST(matmul_forward_matches_reference) {
    static const int sz[][3] = {{1, 1, 1}, {5, 7, 3}, {13, 64, 33}, {64, 100, 129}, {300, 40, 96}};
    for (Configs it = configs(true); next_config(&it);)
        for (size_t s = 0; s < LPOI_ARRAY_LEN(sz); s++) {
            int N = sz[s][0], C = sz[s][1], OC = sz[s][2];
            float *x = alloc_f((size_t)N * C), *w = alloc_f((size_t)OC * C), *b = alloc_f((size_t)OC);
            float *y = alloc_f((size_t)N * OC);
            double *ref = malloc_check((size_t)N * OC * sizeof(double));
            fill_rand(x, (size_t)N * C); fill_rand(w, (size_t)OC * C); fill_rand(b, (size_t)OC);
            for (int wb = 0; wb < 2; wb++) {
                fill_val(y, (size_t)N * OC, NAN);  // y is written, never read
                cpu_matmul_forward(NULL, y, x, w, wb ? b : NULL, N, C, OC);
                linear_ref(ref, x, w, wb ? b : NULL, N, C, OC);
                close_to(wb ? "y (bias)" : "y", y, ref, (size_t)N * OC, 1e-4, 1e-5);
            }
            free(x); free(w); free(b); free(y); free(ref);
        }
}

TEST(matmul_backward_matches_reference) {
    static const int sz[][3] = {{1, 1, 1}, {5, 7, 3}, {17, 40, 23}, {100, 64, 130}};
    for (Configs it = configs(true); next_config(&it);)
        for (size_t s = 0; s < LPOI_ARRAY_LEN(sz); s++) {
            int N = sz[s][0], C = sz[s][1], OC = sz[s][2];
            float *x = alloc_f((size_t)N * C), *w = alloc_f((size_t)OC * C), *dy = alloc_f((size_t)N * OC);
            float *dx = alloc_f((size_t)N * C), *dw = alloc_f((size_t)OC * C), *db = alloc_f((size_t)OC);
            float *dw0 = alloc_f((size_t)OC * C), *db0 = alloc_f((size_t)OC);
            fill_rand(x, (size_t)N * C); fill_rand(w, (size_t)OC * C); fill_rand(dy, (size_t)N * OC);
            fill_rand(dw0, (size_t)OC * C); fill_rand(db0, (size_t)OC);
            fill_val(dx, (size_t)N * C, NAN);  // overwritten
            memcpy(dw, dw0, (size_t)OC * C * sizeof(float));
            memcpy(db, db0, (size_t)OC * sizeof(float));
            cpu_matmul_backward(NULL, dx, dw, db, dy, x, w, N, C, OC);

            double *rdx = malloc_check((size_t)N * C * sizeof(double));
            double *rdw = malloc_check((size_t)OC * C * sizeof(double));
            double *rdb = malloc_check((size_t)OC * sizeof(double));
            for (int n = 0; n < N; n++)
                for (int c = 0; c < C; c++) {
                    double acc = 0;
                    for (int o = 0; o < OC; o++) acc += (double)dy[n * OC + o] * w[o * C + c];
                    rdx[n * C + c] = acc;
                }
            for (int o = 0; o < OC; o++) {
                double sb = db0[o];
                for (int n = 0; n < N; n++) sb += dy[n * OC + o];
                rdb[o] = sb;
                for (int c = 0; c < C; c++) {
                    double acc = dw0[o * C + c];
                    for (int n = 0; n < N; n++) acc += (double)dy[n * OC + o] * x[n * C + c];
                    rdw[o * C + c] = acc;
                }
            }
            close_to("dx", dx, rdx, (size_t)N * C, 1e-4, 1e-5);
            close_to("dw", dw, rdw, (size_t)OC * C, 1e-4, 1e-5);
            close_to("db", db, rdb, (size_t)OC, 1e-4, 1e-5);

            // Each output is optional: NULLs skip, and the others are unchanged by that.
            float *dx2 = alloc_f((size_t)N * C), *dw2 = alloc_f((size_t)OC * C), *db2 = alloc_f((size_t)OC);
            memcpy(dw2, dw0, (size_t)OC * C * sizeof(float));
            memcpy(db2, db0, (size_t)OC * sizeof(float));
            cpu_matmul_backward(NULL, dx2, NULL, NULL, dy, x, w, N, C, OC);
            cpu_matmul_backward(NULL, NULL, dw2, NULL, dy, x, w, N, C, OC);
            cpu_matmul_backward(NULL, NULL, NULL, db2, dy, x, w, N, C, OC);
            EXPECT(memcmp(dx2, dx, (size_t)N * C * sizeof(float)) == 0);
            EXPECT(memcmp(dw2, dw, (size_t)OC * C * sizeof(float)) == 0);
            EXPECT(memcmp(db2, db, (size_t)OC * sizeof(float)) == 0);

            free(x); free(w); free(dy); free(dx); free(dw); free(db); free(dw0); free(db0);
            free(rdx); free(rdw); free(rdb); free(dx2); free(dw2); free(db2);
        }
}

// L = Σ y·dy with y = x wᵀ + b: central differences in every input agree with the analytic backward.
static double linear_loss(const float *x, const float *w, const float *b, const float *dy, int N, int C, int OC) {
    float y[4 * 5];
    cpu_matmul_forward(NULL, y, x, w, b, N, C, OC);
    double L = 0;
    for (int i = 0; i < N * OC; i++) L += (double)y[i] * dy[i];
    return L;
}

TEST(matmul_backward_finite_difference) {
    enum { N = 4, C = 3, OC = 5 };
    float x[N * C], w[OC * C], b[OC], dy[N * OC], dx[N * C], dw[OC * C], db[OC];
    fill_rand(x, N * C); fill_rand(w, OC * C); fill_rand(b, OC); fill_rand(dy, N * OC);
    for (Configs it = configs(false); next_config(&it);) {
        fill_val(dx, N * C, NAN);
        memset(dw, 0, sizeof dw);
        memset(db, 0, sizeof db);
        cpu_matmul_backward(NULL, dx, dw, db, dy, x, w, N, C, OC);
        const float h = 1e-2f;  // L is linear in each input, so a large step loses nothing
        struct { const char *name; float *p; const float *g; int n; } params[] = {
            {"dx", x, dx, N * C}, {"dw", w, dw, OC * C}, {"db", b, db, OC}};
        for (size_t q = 0; q < LPOI_ARRAY_LEN(params); q++)
            for (int i = 0; i < params[q].n; i++) {
                float keep = params[q].p[i];
                params[q].p[i] = keep + h;
                double lp = linear_loss(x, w, b, dy, N, C, OC);
                params[q].p[i] = keep - h;
                double lm = linear_loss(x, w, b, dy, N, C, OC);
                params[q].p[i] = keep;
                double fd = (lp - lm) / (2.0 * h);
                EXPECT_MSG(fabs(fd - params[q].g[i]) <= 1e-3 + 1e-3 * fabs(fd), "%s[%d] (%s): analytic %.7g, finite difference %.7g",
                           params[q].name, i, cpu_gemm_isa(), params[q].g[i], fd);
            }
    }
}
