// cuda_bf16_mode_test.c — the fp32 op table in bf16 math mode (LPOI_CUDA_MATH=bf16) against the CPU
// backend in fp32: the Linear layer's three GEMMs and the attention forward go through the tensor-core
// kernels with their operands rounded to bf16. Tolerances follow from that rounding (stated per test), and
// each test also checks that the bf16 path really ran (an fp32 result would be too close to the CPU's).
#include "backend/cuda/cuda_fixture_test.h"
#include "convert.h"
#include "base/check.h"
#include "base/dtype.h"   // f32_to_bf16 / bf16_to_f32: the host rounding the GPU must match
#include <math.h>
#include <stdint.h>
#include <string.h>

static Rng rng;   // seeded per test

// Rounding both operands to bf16 changes each product by at most 2 · 2^-9 relative, so
// |gpu - cpu| <= 2^-8 · Σ_k |a b| (+ fp32 accumulation, far smaller): a bound that any wrong element breaks.

static void check_mode_result(const char *label, const float *got, const float *want, const double *mag, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double tol = mag[i] / 256.0 + 1e-5;
        if (!(fabs((double)got[i] - want[i]) <= tol) && bad++ < 3)
            test_fail_at(__FILE__, __LINE__, "%s: [%zu] = %.7g, cpu %.7g (tol %.3g)", label, i, got[i], want[i], tol);
    }
    EXPECT_MSG(bad == 0, "%s: %d elements outside the bf16 bound", label, bad);
}

// The CUDA backend when its bf16 kernel k can run here; NULL (nothing to check) when it cannot, which must
// then be a pre-sm_80 GPU or a forced older PTX variant (the kernels are usable wherever mma.sync runs).
static Backend *bf16_gpu(KernelId k) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return NULL;
    CudaImpl *c = cuda_impl(gpu);
    if (cuda_kernel_usable(c, k)) return gpu;
    EXPECT(c->cc_major < 8 || getenv("LPOI_PTX_VARIANT"));
    return NULL;
}

// The attention case of both attention tests: B=2 T=45 H=4/KVH=2 D=128, causal, the last 5 keys of item 1
// padded; q, k, v uniform in [-1, 1] from `seed`.
typedef struct { AttnDesc a; size_t nq, nkv, nl, nm; float *q, *k, *v, *mask; } ModeAttn;
static ModeAttn mode_attn(uint64_t seed) {
    const int B = 2, T = 45, H = 4, KVH = 2, D = 128;
    ModeAttn m = {.a = {.B = B, .Tq = T, .Tk = T, .H = H, .KVH = KVH, .D = D, .scale = 1.0f / sqrtf((float)D),
                        .causal = true},
                  .nq = (size_t)B * T * H * D, .nkv = (size_t)B * T * KVH * D, .nl = (size_t)B * H * T, .nm = (size_t)B * T};
    rng_seed(&rng, seed);
    m.q = random_uniform(&rng, m.nq), m.k = random_uniform(&rng, m.nkv), m.v = random_uniform(&rng, m.nkv);
    m.mask = malloc_check(m.nm * 4);
    for (int i = 0; i < B * T; i++) m.mask[i] = (i % T) < T - 5 * (i / T) ? 1.0f : 0.0f;
    return m;
}

TEST(cuda_matmul_bf16_mode) {
    Backend *gpu = bf16_gpu(K_GEMM_BF16_NT);
    if (!gpu) return;
    CudaImpl *c = cuda_impl(gpu);
    Backend *cpu = backend_cpu_create();
    const int N = 67, C = 150, OC = 260;
    rng_seed(&rng, 4242);
    float *x = random_uniform(&rng, (size_t)N * C), *w = random_uniform(&rng, (size_t)OC * C), *dy = random_uniform(&rng, (size_t)N * OC);
    float *dw0 = random_uniform(&rng, (size_t)OC * C);
    float *y_cpu = malloc_check((size_t)N * OC * 4), *y_gpu = malloc_check((size_t)N * OC * 4);
    float *dx_cpu = malloc_check((size_t)N * C * 4), *dx_gpu = malloc_check((size_t)N * C * 4);
    float *dw_cpu = malloc_check((size_t)OC * C * 4), *dw_gpu = malloc_check((size_t)OC * C * 4);
    memcpy(dw_cpu, dw0, (size_t)OC * C * 4);
    cpu->matmul_forward(cpu, y_cpu, x, w, NULL, N, C, OC);
    cpu->matmul_backward(cpu, dx_cpu, dw_cpu, NULL, dy, x, w, N, C, OC);

    float *dx_ = gpu_upload_floats(gpu, x, (size_t)N * C), *dw_ = gpu_upload_floats(gpu, w, (size_t)OC * C), *ddy = gpu_upload_floats(gpu, dy, (size_t)N * OC);
    float *dwg = gpu_upload_floats(gpu, dw0, (size_t)OC * C), *dy_out = gpu->alloc(gpu, (size_t)N * OC * 4), *ddx = gpu->alloc(gpu, (size_t)N * C * 4);
    c->math_bf16 = true;
    gpu->matmul_forward(gpu, dy_out, dx_, dw_, NULL, N, C, OC);
    gpu->matmul_backward(gpu, ddx, dwg, NULL, ddy, dx_, dw_, N, C, OC);
    c->math_bf16 = false;
    gpu->download(gpu, y_gpu, dy_out, (size_t)N * OC * 4);
    gpu->download(gpu, dx_gpu, ddx, (size_t)N * C * 4);
    gpu->download(gpu, dw_gpu, dwg, (size_t)OC * C * 4);

    double *mag = malloc_check((size_t)OC * C * sizeof(double));   // the largest of the three outputs
    for (int n = 0; n < N; n++)   // y = x wᵀ
        for (int o = 0; o < OC; o++) {
            double s = 0;
            for (int k = 0; k < C; k++) s += fabs((double)x[(size_t)n * C + k] * w[(size_t)o * C + k]);
            mag[(size_t)n * OC + o] = s;
        }
    check_mode_result("matmul_forward bf16", y_gpu, y_cpu, mag, (size_t)N * OC);
    for (int n = 0; n < N; n++)   // dx = dy w
        for (int k = 0; k < C; k++) {
            double s = 0;
            for (int o = 0; o < OC; o++) s += fabs((double)dy[(size_t)n * OC + o] * w[(size_t)o * C + k]);
            mag[(size_t)n * C + k] = s;
        }
    check_mode_result("matmul_backward dx bf16", dx_gpu, dx_cpu, mag, (size_t)N * C);
    for (int o = 0; o < OC; o++)   // dw += dyᵀ x
        for (int k = 0; k < C; k++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += fabs((double)dy[(size_t)n * OC + o] * x[(size_t)n * C + k]);
            mag[(size_t)o * C + k] = s;
        }
    check_mode_result("matmul_backward dw bf16", dw_gpu, dw_cpu, mag, (size_t)OC * C);
    // The mode really ran in bf16: fp32 results would agree with the CPU to ~1e-6, bf16 ones do not.
    double far = 0;
    for (size_t i = 0; i < (size_t)N * OC; i++) far = fmax(far, fabs((double)y_gpu[i] - y_cpu[i]));
    EXPECT_MSG(far > 1e-4, "bf16 mode gave fp32-exact results (max diff %.3g): did it run the bf16 kernels?", far);

    gpu->free(gpu, dx_), gpu->free(gpu, dw_), gpu->free(gpu, ddy), gpu->free(gpu, dwg), gpu->free(gpu, dy_out), gpu->free(gpu, ddx);
    free(x), free(w), free(dy), free(dw0), free(y_cpu), free(y_gpu), free(dx_cpu), free(dx_gpu), free(dw_cpu), free(dw_gpu), free(mag);
    backend_destroy(cpu);
}

// Attention forward, B=2 T=45 H=4/KVH=2 D=128, causal, with padding. Rounding q, k, v to bf16 moves each
// score by at most ~2^-8 · scale · Σ|q||k| and the kernel rounds P to bf16 before P·V; with inputs in
// [-1, 1] that bounds |out - cpu| by ~1e-2 · max|v| and |lse - cpu| by ~1e-2 (measured ~1e-3).
TEST(cuda_attention_bf16_mode) {
    Backend *gpu = bf16_gpu(K_ATTN_FORWARD_BF16_D128);
    if (!gpu) return;
    CudaImpl *c = cuda_impl(gpu);
    Backend *cpu = backend_cpu_create();
    ModeAttn m = mode_attn(777);
    const size_t nq = m.nq, nkv = m.nkv, nl = m.nl;
    float *q = m.q, *k = m.k, *v = m.v, *mask = m.mask;
    AttnDesc a = m.a;
    float *out_cpu = malloc_check(nq * 4), *lse_cpu = malloc_check(nl * 4), *out_gpu = malloc_check(nq * 4), *lse_gpu = malloc_check(nl * 4);
    a.key_mask = mask;
    cpu->attention_forward(cpu, out_cpu, lse_cpu, q, k, v, &a);
    float *dq = gpu_upload_floats(gpu, q, nq), *dk = gpu_upload_floats(gpu, k, nkv), *dv = gpu_upload_floats(gpu, v, nkv), *dm = gpu_upload_floats(gpu, mask, m.nm);
    float *dout = gpu->alloc(gpu, nq * 4), *dlse = gpu->alloc(gpu, nl * 4);
    a.key_mask = dm;
    c->math_bf16 = true;
    gpu->attention_forward(gpu, dout, dlse, dq, dk, dv, &a);
    c->math_bf16 = false;
    gpu->download(gpu, out_gpu, dout, nq * 4);
    gpu->download(gpu, lse_gpu, dlse, nl * 4);
    double worst_out = 0, worst_lse = 0;
    for (size_t i = 0; i < nq; i++) worst_out = fmax(worst_out, isfinite(out_gpu[i]) ? fabs((double)out_gpu[i] - out_cpu[i]) : INFINITY);
    for (size_t i = 0; i < nl; i++) worst_lse = fmax(worst_lse, isfinite(lse_gpu[i]) ? fabs((double)lse_gpu[i] - lse_cpu[i]) : INFINITY);
    EXPECT_MSG(worst_out <= 1e-2, "attention out differs from the CPU by %.3g", worst_out);
    EXPECT_MSG(worst_lse <= 1e-2, "attention lse differs from the CPU by %.3g", worst_lse);
    EXPECT_MSG(worst_out > 1e-5, "bf16 mode gave fp32-exact attention (%.3g): did it run the bf16 kernel?", worst_out);
    gpu->free(gpu, dq), gpu->free(gpu, dk), gpu->free(gpu, dv), gpu->free(gpu, dm), gpu->free(gpu, dout), gpu->free(gpu, dlse);
    free(q), free(k), free(v), free(mask), free(out_cpu), free(lse_cpu), free(out_gpu), free(lse_gpu);
    backend_destroy(cpu);
}

// The fp32 -> bf16 copies feeding the GEMMs: rounding to nearest even, zero padding, and the transposed

TEST(cuda_f32_to_bf16_copies) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    CudaImpl *c = cuda_impl(gpu);
    if (!cuda_kernel_usable(c, K_F32_TO_BF16) || !cuda_kernel_usable(c, K_F32_TO_BF16_TRANSPOSE)) {
        test_fail_at(__FILE__, __LINE__, "the conversion kernels are not loaded");
        return;
    }
    const int rows = 45, cols = 70, ld_src = 75;
    rng_seed(&rng, 99);
    float *src = random_uniform(&rng, (size_t)rows * ld_src);
    src[0] = 1.00390625f;          // exactly halfway between two bf16 values, even below: rounds down
    src[1] = 1.01171875f;          // halfway, odd below: rounds up
    src[2] = 3.4028235e38f;        // FLT_MAX: past the largest bf16 (3.39e38), rounds to +inf
    float *d = gpu_upload_floats(gpu, src, (size_t)rows * ld_src);
    for (int transposed = 0; transposed < 2; transposed++) {
        const int out_rows = transposed ? cols : rows, ld_dst = transposed ? 48 : 72;   // padded past rows / cols
        const size_t n = (size_t)out_rows * ld_dst;
        uint16_t *got = malloc_check(n * 2), *dd = gpu->alloc(gpu, n * 2);
        gpu->fill_zero(gpu, dd, n * 2);
        if (transposed) cuda_f32_to_bf16_transposed(c, dd, ld_dst, d, ld_src, rows, cols);
        else cuda_f32_to_bf16(c, dd, ld_dst, d, ld_src, rows, cols);
        gpu->download(gpu, got, dd, n * 2);
        int bad = 0;
        for (int i = 0; i < out_rows; i++)
            for (int j = 0; j < ld_dst; j++) {
                const int r = transposed ? j : i, col = transposed ? i : j;
                const bool inside = r < rows && col < cols;
                const uint16_t want = inside ? f32_to_bf16(src[(size_t)r * ld_src + col]) : 0;
                if (got[(size_t)i * ld_dst + j] != want && bad++ < 3)
                    test_fail_at(__FILE__, __LINE__, "%s copy [%d][%d] = 0x%04x, want 0x%04x", transposed ? "transposed" : "plain",
                                 i, j, got[(size_t)i * ld_dst + j], want);
            }
        EXPECT_MSG(bad == 0, "%s copy: %d wrong elements", transposed ? "transposed" : "plain", bad);
        EXPECT(transposed || got[0] == 0x3f80);   // 1.00390625 -> 1.0
        EXPECT(transposed || got[1] == 0x3f82);   // 1.01171875 -> 1.015625
        EXPECT(transposed || got[2] == 0x7f80);   // +inf
        gpu->free(gpu, dd);
        free(got);
    }
    gpu->free(gpu, d);
    free(src);
}

// Attention backward in bf16 mode: q, k, v and dout rounded to bf16, P and dS rounded for the tensor cores.
// Each gradient is a sum of such products over Tq or Tk terms, so the error is a few 2^-8 relative to the
// gradient's own scale: |gpu - cpu| <= 3e-2 · max|cpu| per output (measured well under that), while a
// wrong mask, head or transpose gives errors of the order of max|cpu| itself.
TEST(cuda_attention_backward_bf16_mode) {
    Backend *gpu = bf16_gpu(K_ATTN_BACKWARD_DQ_BF16_D128);
    if (!gpu) return;
    CudaImpl *c = cuda_impl(gpu);
    Backend *cpu = backend_cpu_create();
    ModeAttn m = mode_attn(4711);
    const size_t nq = m.nq, nkv = m.nkv, nl = m.nl;
    float *q = m.q, *k = m.k, *v = m.v, *mask = m.mask, *dout = random_uniform(&rng, nq);
    AttnDesc a = m.a;
    a.key_mask = mask;
    float *out = malloc_check(nq * 4), *lse = malloc_check(nl * 4);
    cpu->attention_forward(cpu, out, lse, q, k, v, &a);
    float *want[3] = {malloc_check(nq * 4), malloc_check(nkv * 4), malloc_check(nkv * 4)};
    cpu->attention_backward(cpu, want[0], want[1], want[2], dout, q, k, v, out, lse, &a);

    float *dq_ = gpu_upload_floats(gpu, q, nq), *dk_ = gpu_upload_floats(gpu, k, nkv), *dv_ = gpu_upload_floats(gpu, v, nkv), *ddo = gpu_upload_floats(gpu, dout, nq);
    float *dout_ = gpu_upload_floats(gpu, out, nq), *dlse = gpu_upload_floats(gpu, lse, nl), *dm = gpu_upload_floats(gpu, mask, m.nm);
    float *g[3] = {gpu->alloc(gpu, nq * 4), gpu->alloc(gpu, nkv * 4), gpu->alloc(gpu, nkv * 4)};
    a.key_mask = dm;
    c->math_bf16 = true;
    gpu->attention_backward(gpu, g[0], g[1], g[2], ddo, dq_, dk_, dv_, dout_, dlse, &a);
    c->math_bf16 = false;
    static const char *names[3] = {"dq", "dk", "dv"};
    const size_t cnt[3] = {nq, nkv, nkv};
    for (int o = 0; o < 3; o++) {
        float *got = malloc_check(cnt[o] * 4);
        gpu->download(gpu, got, g[o], cnt[o] * 4);
        double scale = 0, worst = 0;
        for (size_t i = 0; i < cnt[o]; i++) scale = fmax(scale, fabs((double)want[o][i]));
        for (size_t i = 0; i < cnt[o]; i++)
            worst = fmax(worst, isfinite(got[i]) ? fabs((double)got[i] - want[o][i]) : INFINITY);
        EXPECT_MSG(worst <= 3e-2 * scale, "attention backward %s: max diff %.3g, max |cpu| %.3g", names[o], worst, scale);
        EXPECT_MSG(worst > 3e-4 * scale, "attention backward %s fp32-exact (%.3g): did the bf16 kernels run?", names[o], worst);
        gpu->free(gpu, g[o]);
        free(got);
        free(want[o]);
    }
    gpu->free(gpu, dq_), gpu->free(gpu, dk_), gpu->free(gpu, dv_), gpu->free(gpu, ddo), gpu->free(gpu, dout_);
    gpu->free(gpu, dlse), gpu->free(gpu, dm);
    free(q), free(k), free(v), free(dout), free(mask), free(out), free(lse);
    backend_destroy(cpu);
}
