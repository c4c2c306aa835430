// cuda_attention_bf16_test.c — the bf16 tensor-core flash-attention forward (cu/attention_mma.cu, launched by
// cuda_attention_forward_bf16) against the CPU backend's attention_forward on the same bf16-rounded inputs.
// Shapes are small (`./nob test` runs this under tools/fakecuda, which executes every GPU thread as a
// coroutine) but cross every edge of the 128-query × 64-key tiles: Tq/Tk not multiples of the tiles, Tq < Tk
// (chunked prefill, decode), Tq > Tk (queries before every key), GQA, causal and bidirectional, sliding
// windows that skip leading key tiles, key padding with a fully padded batch item (rows that see nothing:
// out 0, lse -inf). out and lse sit between guard regions of sentinel floats and start as NaN, so an element
// the kernel never writes, or writes out of bounds, fails.
//
// Every case also checks that the test can fail: the same comparison against deliberately wrong references
// (scale off by 25%, the wrong kv head for GQA, the padding or the causal mask ignored) must show an error
// far above the one against the right reference.
//
// cuda_attention_bf16_long runs its shapes under both query-tile schedules (CudaImpl.attn_bf16_pair off and on).
// LPOI_TEST_VERBOSE=1 prints the measured errors of every case. Speed is measured by bench/bench_cuda.c
// (rows "attention_fwd_* bf16 mma"), never here.
#include "backend/cuda/cuda_fixture_test.h"
#include "attention_mma.h"
#include "base/check.h"
#include "base/dtype.h"   // f32_to_bf16 / bf16_to_f32: the host rounding the GPU must match
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ---- comparison ----
// Tolerances. The kernel multiplies the same bf16 q, k values exactly and sums in fp32 (the CPU in another
// order: ~1e-6 relative), and evaluates exp with ex2.approx (~2^-22 relative). What dominates: P is rounded to
// bf16 (relative error <= 2^-8) before P·V while the row sum l uses the unrounded P, so
// |out - ref| <= 2^-8 · Σ_j p_j |v_j| / l <= 2^-8 · max|v|. OUT_RTOL_V = 4.5e-3 > 2^-8 = 3.9e-3 is that
// bound; the typical error is ~10x smaller (roundings of different signs cancel). lse does not see P's
// rounding: fp32 order and ex2 only, |lse| <= ~50 here, so 1e-4 absolute + 1e-5 relative.
static const double OUT_RTOL_V = 4.5e-3, OUT_ATOL = 1e-5;
static const double LSE_ATOL = 1e-4, LSE_RTOL = 1e-5;

// Largest |got - want| over n values, where equal values (both -inf, both 0) count 0 and a NaN counts inf.
static double max_err(const float *got, const float *want, size_t n, size_t *where) {
    double worst = 0;
    *where = 0;
    for (size_t i = 0; i < n; i++) {
        double e = got[i] == want[i] ? 0.0 : fabs((double)got[i] - (double)want[i]);
        if (e != e) e = INFINITY;
        if (e > worst) worst = e, *where = i;
    }
    return worst;
}

// CPU reference on the rounded floats with an AttnDesc (key_mask in host memory).
static void cpu_ref(const AttnDesc *a, const float *q, const float *k, const float *v, float *out, float *lse) {
    Backend *cpu = cpu_backend();
    cpu->attention_forward(cpu, out, lse, q, k, v, a);
}

// out/lse of the CPU with query heads h and w swapped in q and out, for H = 4, KVH = 2: head 1 then reads kv
// head 0 and head 2 reads kv head 1 through q's permutation — i.e. the reference of a kernel that maps query
// head h to kv head h % KVH instead of h / (H / KVH).
static void cpu_ref_wrong_kv_head(const AttnDesc *a, const float *q, const float *k, const float *v, float *out) {
    LPOI_ASSERT(a->H == 4 && a->KVH == 2);
    const int D = a->D;
    const size_t nq = (size_t)a->B * a->Tq * a->H * D;
    float *qp = malloc_check(nq * sizeof(float)), *op = malloc_check(nq * sizeof(float));
    float *lse = malloc_check((size_t)a->B * a->H * a->Tq * sizeof(float) + 4);
    static const int perm[4] = {0, 2, 1, 3};   // an involution
    for (size_t row = 0; row < (size_t)a->B * a->Tq; row++)
        for (int h = 0; h < 4; h++) memcpy(qp + (row * 4 + h) * D, q + (row * 4 + perm[h]) * D, D * sizeof(float));
    cpu_ref(a, qp, k, v, op, lse);
    for (size_t row = 0; row < (size_t)a->B * a->Tq; row++)
        for (int h = 0; h < 4; h++) memcpy(out + (row * 4 + perm[h]) * D, op + (row * 4 + h) * D, D * sizeof(float));
    free(qp);
    free(op);
    free(lse);
}

static void check_against_wrong(const char *label, const char *wrong, const float *got, const float *bad, size_t n,
                                double err_right, double tol) {
    size_t where;
    double e = max_err(got, bad, n, &where);
    // The wrong reference must be far off: an order of magnitude above the real error and above the tolerance.
    EXPECT_MSG(e > 10 * err_right && e > 2 * tol,
               "%s: the error against a wrong reference (%s) is only %.3g (right: %.3g, tolerance %.3g): "
               "the test cannot tell them apart",
               label, wrong, e, err_right, tol);
}

static void bf16_attention_case(const AttnCase *tc, uint64_t seed, bool twice) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    CudaImpl *c = cuda_impl(gpu);
    AttnInputs in = attn_inputs(tc, seed, false);
    const size_t nq = in.nq, nk = in.nk, nl = in.nl, nm = in.nm;
    const uint16_t *qb = in.qb, *kb = in.kb, *vb = in.vb;
    const float *q = in.q, *k = in.k, *v = in.v, *mask = in.mask;
    float vmax = 0;
    for (size_t i = 0; i < nk; i++) vmax = fabsf(v[i]) > vmax ? fabsf(v[i]) : vmax;

    const AttnDesc a = in.a;
    char label[200];
    attn_case_label(label, sizeof label, "bf16 attention", tc);

    // GPU
    void *qd = gpu_upload_copy(gpu, qb, nq * 2), *kd = gpu_upload_copy(gpu, kb, nk * 2), *vd = gpu_upload_copy(gpu, vb, nk * 2);
    float *md = tc->mask ? gpu_upload_copy(gpu, mask, nm * sizeof(float)) : NULL;
    GpuBuf out = gpu_buf_new(gpu, NULL, nq * sizeof(float)), lse = gpu_buf_new(gpu, NULL, nl * sizeof(float));
    AttnDesc ag = a;
    ag.key_mask = md;
    bool ran = cuda_attention_forward_bf16(c, out.d, lse.d, qd, kd, vd, &ag);
    float *go = malloc_check(nq * sizeof(float) + 4), *gl = malloc_check(nl * sizeof(float) + 4);
    if (!ran) {
        if (gpu_bf16_expected(gpu)) test_fail_at(__FILE__, __LINE__, "%s: the bf16 kernel refused to run", label);
        else if (!gpu_forced_portable()) test_skip("the bf16 attention kernel needs sm_80");
        goto done;
    }
    gpu->synchronize(gpu);
    char what[240];
    snprintf(what, sizeof what, "%s: out", label);
    gpu_buf_read(gpu, out, go, what);
    snprintf(what, sizeof what, "%s: lse", label);
    gpu_buf_read(gpu, lse, gl, what);

    // CPU on the rounded values
    float *ro = malloc_check(nq * sizeof(float) + 4), *rl = malloc_check(nl * sizeof(float) + 4);
    float *wo = malloc_check(nq * sizeof(float) + 4), *wl = malloc_check(nl * sizeof(float) + 4);
    AttnDesc ac = a;
    ac.key_mask = tc->mask ? mask : NULL;
    cpu_ref(&ac, q, k, v, ro, rl);

    const double otol = OUT_RTOL_V * vmax + OUT_ATOL;
    snprintf(what, sizeof what, "%s: out (|err| <= %.2g)", label, otol);
    EXPECT_CLOSE_F32(what, go, ro, nq, otol, 0);
    size_t wi;
    const double eo = max_err(go, ro, nq, &wi);
    // lse: equal infinities are equal; EXPECT_CLOSE would read -inf - -inf as NaN.
    const double el = max_err(gl, rl, nl, &wi);
    EXPECT_MSG(el <= LSE_ATOL + LSE_RTOL * fabs((double)rl[wi]), "%s: lse[%zu] = %.9g, expected %.9g", label, wi,
               (double)gl[wi], (double)rl[wi]);
    int empty = 0;
    for (size_t i = 0; i < nl; i++) empty += rl[i] == -INFINITY;
    if (getenv("LPOI_TEST_VERBOSE"))
        printf("  %s: max |out err| %.3g (tol %.3g), max |lse err| %.3g, %d empty rows\n", label, eo, otol, el, empty);

    // The test can fail: wrong references (not where every row is empty: then there is nothing to get wrong).
    AttnDesc aw = ac;
    if ((size_t)empty == nl) goto wrong_done;
    aw.scale = a.scale * 1.25f;
    cpu_ref(&aw, q, k, v, wo, wl);
    check_against_wrong(label, "scale x1.25", go, wo, nq, eo, otol);
    if (a.H == 4 && a.KVH == 2) {
        cpu_ref_wrong_kv_head(&ac, q, k, v, wo);
        check_against_wrong(label, "kv head h % KVH", go, wo, nq, eo, otol);
    }
    if (tc->mask == 1 || tc->mask == 2) {
        aw = ac;
        aw.key_mask = NULL;
        cpu_ref(&aw, q, k, v, wo, wl);
        check_against_wrong(label, "padding ignored", go, wo, nq, eo, otol);
    }
    if (tc->causal && tc->Tq > 1) {
        aw = ac;
        aw.causal = false;
        cpu_ref(&aw, q, k, v, wo, wl);
        check_against_wrong(label, "not causal", go, wo, nq, eo, otol);
    }
wrong_done:

    if (twice) {   // deterministic: a second run gives the same bits
        GpuBuf out2 = gpu_buf_new(gpu, NULL, nq * sizeof(float)), lse2 = gpu_buf_new(gpu, NULL, nl * sizeof(float));
        cuda_attention_forward_bf16(c, out2.d, lse2.d, qd, kd, vd, &ag);
        gpu->synchronize(gpu);
        gpu_buf_read(gpu, out2, wo, "second run: out");
        gpu_buf_read(gpu, lse2, wl, "second run: lse");
        EXPECT_MSG(!memcmp(wo, go, nq * sizeof(float)) && !memcmp(wl, gl, nl * sizeof(float)),
                   "%s: a second run gave different bits", label);
        gpu->free(gpu, out2.base);
        gpu->free(gpu, lse2.base);
    }
    free(ro);
    free(rl);
    free(wo);
    free(wl);
done:
    gpu->free(gpu, qd);
    gpu->free(gpu, kd);
    gpu->free(gpu, vd);
    if (md) gpu->free(gpu, md);
    gpu->free(gpu, out.base);
    gpu->free(gpu, lse.base);
    free(go);
    free(gl);
    attn_inputs_free(&in);
}

static void run_cases(const AttnCase *cases, size_t n, uint64_t seed0) {
    for (size_t i = 0; i < n; i++) bf16_attention_case(&cases[i], seed0 + i, i == 0);
}

TEST(cuda_attention_bf16_basic) { run_cases(ATTN_CASES_BASIC, LPOI_ARRAY_LEN(ATTN_CASES_BASIC), 2100); }
TEST(cuda_attention_bf16_gqa) { run_cases(ATTN_CASES_GQA, LPOI_ARRAY_LEN(ATTN_CASES_GQA), 2200); }
TEST(cuda_attention_bf16_masks) { run_cases(ATTN_CASES_MASKS, LPOI_ARRAY_LEN(ATTN_CASES_MASKS), 2300); }

// Longer shapes (3 and 4 query tiles) under both query-tile schedules, whatever the launcher would pick:
// unpaired (block y owns tile nqt-1-y) and paired (block y owns tiles nqt-1-y and y; the middle one once
// when nqt is odd).
TEST(cuda_attention_bf16_long) {
    static const AttnCase cases[] = {
        {"long3", 2, 260, 260, 4, 2, true, 100, 1, 2.0f},     // nqt = 3, window, padding, item 1 empty
        {"long4", 1, 390, 400, 1, 1, true, 0, 2, 2.0f},       // nqt = 4, Tq < Tk, left padding
        {"long_bidir", 1, 260, 200, 2, 2, false, 0, 0, 3.0f},
    };
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    const bool pair_setting = cuda_impl(gpu)->attn_bf16_pair;   // LPOI_ATTN_BF16_PAIR, read at creation
    for (int mode = 0; mode < 2; mode++) {
        cuda_impl(gpu)->attn_bf16_pair = mode;
        run_cases(cases, LPOI_ARRAY_LEN(cases), 2500 + 10 * mode);
    }
    cuda_impl(gpu)->attn_bf16_pair = pair_setting;
}

// What the launcher refuses (D != 128, misaligned buffers) and shapes with nothing to do.
TEST(cuda_attention_bf16_edges) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    CudaImpl *c = cuda_impl(gpu);
    GpuBuf out = gpu_buf_new(gpu, NULL, (128 * 4 + 4) * sizeof(float)), lse = gpu_buf_new(gpu, NULL, 4 * sizeof(float));
    void *x = gpu->alloc(gpu, 128 * 4 * 2 + 16);
    AttnDesc a = {.B = 1, .Tq = 4, .Tk = 4, .H = 1, .KVH = 1, .D = 64, .scale = 0.125f, .causal = true};
    EXPECT(!cuda_attention_forward_bf16(c, out.d, lse.d, x, x, x, &a));   // D = 64: not this kernel
    a.D = 128;
    EXPECT(!cuda_attention_forward_bf16(c, (float *)out.d + 1, lse.d, x, x, x, &a));                   // out misaligned
    EXPECT(!cuda_attention_forward_bf16(c, out.d, lse.d, (uint16_t *)x + 4, x, x, &a));       // q misaligned
    float h[128 * 4 + 4];
    gpu_buf_read(gpu, out, h, "refused launch: out");
    EXPECT_MSG(float_to_bits(h[0]) == GPU_POISON_BITS, "a refused launch wrote its output");
    gpu->free(gpu, x);
    gpu->free(gpu, out.base);
    gpu->free(gpu, lse.base);
    if (!gpu_bf16_expected(gpu)) return;
    // Tk = 0: every row sees nothing.
    static const AttnCase tk0[] = {{"tk0", 1, 5, 0, 2, 1, false, 0, 0, 2.0f}};
    run_cases(tk0, 1, 2400);
}
