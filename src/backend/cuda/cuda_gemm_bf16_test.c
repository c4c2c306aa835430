// cuda_gemm_bf16_test.c — the bf16 tensor-core GEMMs (cu/gemm_mma.cu, cu/gemm_wgmma.cu) against a
// double-precision reference (the fp32 op table in bf16 math mode: cuda_bf16_mode_test.c).
// Shapes cross every tile edge (128 × 256 × 64 blocks) yet stay small: `./nob test` runs this under the
// emulated driver (tools/fakecuda), which executes every GPU thread as a coroutine. Outputs sit between
// guard regions and start as NaN (beta = 0 must never read them; every element must be written).
#include "backend/cuda/cuda_fixture_test.h"
#include "gemm_mma.h"
#include "convert.h"
#include "base/check.h"
#include "base/dtype.h"   // f32_to_bf16 / bf16_to_f32: the host rounding the GPU must match
#include <math.h>
#include <stdint.h>
#include <string.h>

static Rng rng;   // seeded per case

// One bf16 GEMM case on one kernel path: C = alpha op(A) op(B) + beta C with padded leading dimensions.
// Reference in double over the same bf16 values. Tolerance: the tensor cores multiply bf16 exactly and
// accumulate in fp32, so |err| <= K · 2^-24 · Σ_k |a b| in the worst case; 2e-5 · Σ|ab| (K <= 200 here) is
// that bound with margin, while any fragment or indexing error is O(Σ|ab|).
static void bf16_case(Backend *gpu, GemmBf16Path path, bool ta, bool tb, int M, int N, int K, int pad, float alpha,
                      float beta, uint64_t seed) {
    rng_seed(&rng, seed);
    const int a_rows = ta ? K : M, a_cols = ta ? M : K, b_rows = tb ? N : K, b_cols = tb ? K : N;
    const int lda = (a_cols + 7) / 8 * 8 + 8 * pad, ldb = (b_cols + 7) / 8 * 8 + 8 * pad, ldc = N + 3 * pad;
    uint16_t *a = calloc_check((size_t)a_rows * lda + 1, 2), *b = calloc_check((size_t)b_rows * ldb + 1, 2);
    for (size_t i = 0; i < (size_t)a_rows * lda; i++) a[i] = f32_to_bf16(rng_in(&rng, -1, 1));
    for (size_t i = 0; i < (size_t)b_rows * ldb; i++) b[i] = f32_to_bf16(rng_in(&rng, -1, 1));
    float *c0 = malloc_check(((size_t)M * ldc + 1) * sizeof(float)), *c = malloc_check(((size_t)M * ldc + 1) * sizeof(float));
    const uint32_t nan_bits = 0x7FC0DEADu;
    for (size_t i = 0; i < (size_t)M * ldc; i++) {
        c0[i] = rng_in(&rng, -1, 1);
        if (beta == 0.0f) memcpy(&c0[i], &nan_bits, 4);   // must be neither read nor left unwritten
    }
    GpuBuf ga = gpu_buf_new(gpu, a, (size_t)a_rows * lda * 2 + 2), gb = gpu_buf_new(gpu, b, (size_t)b_rows * ldb * 2 + 2);
    GpuBuf gc = gpu_buf_new(gpu, c0, (size_t)M * ldc * sizeof(float));
    const uint16_t *da = ga.d, *db = gb.d;
    float *dc = gc.d;
    char label[160];
    snprintf(label, sizeof label, "%s %c%c M=%d N=%d K=%d pad=%d alpha=%g beta=%g", path == GEMM_BF16_WGMMA ? "wgmma" : "mma",
             ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, pad, alpha, beta);
    bool ran = cuda_gemm_bf16(cuda_impl(gpu), path, ta, tb, M, N, K, alpha, da, lda, db, ldb, beta, dc, ldc);
    EXPECT_MSG(ran, "%s: the kernel is not usable here", label);
    gpu->synchronize(gpu);
    gpu_buf_read(gpu, gc, c, label);   // fails the test on a write outside C
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < M && ran; i++)
        for (int j = 0; j < ldc; j++) {
            const size_t at = (size_t)i * ldc + j;
            if (j >= N) {   // the padding between rows must be untouched
                if (memcmp(&c[at], &c0[at], 4) != 0 && bad++ < 3) test_fail_at(__FILE__, __LINE__, "%s: C[%d][%d] (padding) written", label, i, j);
                continue;
            }
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double x = bf16_to_f32(ta ? a[(size_t)k * lda + i] : a[(size_t)i * lda + k]);
                double y = bf16_to_f32(tb ? b[(size_t)j * ldb + k] : b[(size_t)k * ldb + j]);
                s += x * y;
                mag += fabs(x * y);
            }
            double want = alpha * s + (beta != 0.0f ? beta * (double)c0[at] : 0.0);
            double tol = 2e-5 * fabs(alpha) * mag + 1e-6 * (1 + fabs(want));
            double err = fabs((double)c[at] - want);
            if (!(err <= tol)) {
                if (bad++ < 3) test_fail_at(__FILE__, __LINE__, "%s: C[%d][%d] = %.9g, want %.9g (tol %.3g)", label, i, j, c[at], want, tol);
            } else if (mag > 0 && err / mag > worst) worst = err / mag;
        }
    EXPECT_MSG(bad == 0, "%s: %d elements wrong", label, bad);
    gpu_buf_free(gpu, ga);
    gpu_buf_free(gpu, gb);
    gpu_buf_free(gpu, gc);
    free(a), free(b), free(c0), free(c);
}

static const struct { int M, N, K; } SHAPES[] = {
    {1, 1, 1}, {37, 45, 29}, {128, 256, 64}, {130, 261, 70}, {200, 33, 131}, {17, 300, 200},
};

TEST(cuda_gemm_bf16_mma) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    CudaImpl *c = cuda_impl(gpu);
    if (c->cc_major < 8) {
        test_skip("mma.sync bf16 needs sm_80 or newer");
        return;
    }
    const char *force = getenv("LPOI_PTX_VARIANT");
    if (force && strcmp(force, "compute_75") == 0) {   // the compute_75 variant has no bf16 mma: nothing runs
        EXPECT(!cuda_kernel_usable(c, K_GEMM_BF16_NT));
        return;
    }
    uint64_t seed = 1;
    for (int layout = 0; layout < 4; layout++)
        for (size_t s = 0; s < LPOI_ARRAY_LEN(SHAPES); s++)
            bf16_case(gpu, GEMM_BF16_MMA, layout & 2, layout & 1, SHAPES[s].M, SHAPES[s].N, SHAPES[s].K, 0, 1.0f, 0.0f, seed++);
    bf16_case(gpu, GEMM_BF16_MMA, false, true, 70, 90, 100, 1, -0.5f, 0.75f, seed++);
    bf16_case(gpu, GEMM_BF16_MMA, true, false, 70, 90, 100, 2, 2.0f, 1.0f, seed++);
    bf16_case(gpu, GEMM_BF16_MMA, false, false, 33, 20, 0, 0, 1.0f, 0.5f, seed++);   // K = 0: C = beta C
}

// The Hopper kernel exists only in the compute_90a variant and is not emulated: on the emulator it is absent
// (and this test has nothing to run); on an sm_90 GPU with that variant it must be there.
TEST(cuda_gemm_bf16_wgmma) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    CudaImpl *c = cuda_impl(gpu);
    const bool fake = strstr(c->name, "emulator") != NULL;
    const char *force = getenv("LPOI_PTX_VARIANT");
    const bool expect = !fake && c->cc_major == 9 && c->cc_minor == 0 && (!force || strcmp(force, "compute_90a") == 0);
    EXPECT_MSG(cuda_kernel_usable(c, K_GEMM_BF16_WGMMA_NT) == expect, "wgmma kernel usable=%d, expected %d on %s",
               cuda_kernel_usable(c, K_GEMM_BF16_WGMMA_NT), expect, c->name);
    if (!expect) return;
    uint64_t seed = 100;
    for (size_t s = 0; s < LPOI_ARRAY_LEN(SHAPES); s++)
        bf16_case(gpu, GEMM_BF16_WGMMA, false, true, SHAPES[s].M, SHAPES[s].N, SHAPES[s].K, 0, 1.0f, 0.0f, seed++);
    bf16_case(gpu, GEMM_BF16_WGMMA, false, true, 300, 520, 333, 1, -0.5f, 0.75f, seed++);
    bf16_case(gpu, GEMM_BF16_WGMMA, false, true, 1000, 700, 1000, 0, 1.0f, 0.0f, seed++);
}
