// cuda_attention_bf16_bwd_test.c — the bf16 tensor-core flash-attention backward (cu/attention_mma_bwd.cu, launched
// by cuda_attention_backward_bf16) against the CPU backend's attention_backward on the same bf16-rounded q, k, v,
// dout. out and lse come from the CPU forward on those values; Di = rowsum(dout ∘ out) is computed here (in
// double, stored as fp32), as the caller of cuda_attention_backward_bf16 does on the GPU.
//
// Shapes are small (`./nob test` runs this under tools/fakecuda, which executes every GPU thread as a coroutine)
// but cross the edges of the 64-row / 64-key tiles of both kernels: Tq/Tk not multiples of 64, Tq < Tk (cached
// prefix, decode), Tq > Tk (queries before every key), GQA (H = 4, KVH = 2: the dK/dV block sums over two query
// heads), causal and bidirectional, sliding windows that skip whole tiles on both sides, key padding with a fully
// padded batch item (rows that see nothing: zero gradients), B = 2. dq, dk, dv sit between guard regions of
// sentinel floats and start as NaN, so an element never written, or written out of bounds, fails.
//
// Tolerances (per element, derived from the kernel's roundings). The kernel multiplies bf16 inputs exactly and sums
// in fp32 like the CPU (in another order); what it adds is the rounding to bf16 (unit roundoff u = 2^-8) of the
// two mma A operands that are not inputs: P (for dV = Pᵀ dO) and dS = P ∘ (dP - Di) (for dQ = scale dS K and
// dK = scale dSᵀ Q). To first order, with P and dS the exact values (computed here in double from the CPU's lse):
//   |ΔdV[j,d]| <= u · max|dO| · Σ_i P_ij
//   |ΔdQ[i,d]| <= scale · max|K| · (u · Σ_j |dS_ij| + E · Σ_j P_ij)
//   |ΔdK[j,d]| <= scale · max|Q| · (u · Σ_i |dS_ij| + E · Σ_i P_ij)
// (sums over every (b, query head) pair that touches the element). E = D · 2^-16 · max|dO| · max|V| is an
// allowance for the fp32 error of dP - Di (128-term dot products of values <= max|dO|·max|V|, a generous
// multiple of the sqrt(D)·2^-24 one expects) and for ex2.approx / the fp32 rounding of the exponent's argument
// (relative ~1e-6 on P). The tolerance is 1.1 × that bound + 1e-6. Measured worst elements reach 0.3-0.8 of it:
// gradients with one or two terms (the last keys under causal masking, decode rows) nearly attain the bound,
// sums of many terms stay far below (the roundings have random signs). Rows and keys that see nothing have a
// bound of 1e-6: their gradients must be 0.
//
// Every case also checks that the test can fail: the same comparison against deliberately wrong references (the
// CPU's full forward + backward with the scale off by 25%, query head h reading kv head h % KVH instead of
// h / (H/KVH), the padding or the causal mask ignored) must exceed the tolerance by a wide margin.
//
// LPOI_TEST_VERBOSE=1 prints the measured errors of every case (as a fraction of the tolerance). Speed is
// measured by the benchmark, never here.
#include "backend/cuda/cuda_fixture_test.h"
#include "attention_mma_bwd.h"
#include "base/check.h"
#include "base/dtype.h"   // f32_to_bf16 / bf16_to_f32: the host rounding the GPU must match
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static float max_abs(const float *x, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fabsf(x[i]) > m ? fabsf(x[i]) : m;
    return m;
}

typedef struct { float *dq, *dk, *dv; } Grads;

static Grads grads_alloc(size_t nq, size_t nk) {
    Grads g = {malloc_check(nq * sizeof(float) + 4), malloc_check(nk * sizeof(float) + 4),
               malloc_check(nk * sizeof(float) + 4)};
    return g;
}
static void grads_free(Grads g) {
    free(g.dq);
    free(g.dk);
    free(g.dv);
}

// The CPU's forward then backward on host floats (key_mask in host memory): the reference gradients. out and
// lse (optional) receive the forward's results.
static void cpu_grads(const AttnDesc *a, const float *q, const float *k, const float *v, const float *dout, Grads g,
                      float *out_keep, float *lse_keep) {
    Backend *cpu = cpu_backend();
    const size_t nq = (size_t)a->B * a->Tq * a->H * a->D, nl = (size_t)a->B * a->H * a->Tq;
    float *out = out_keep ? out_keep : malloc_check(nq * sizeof(float) + 4);
    float *lse = lse_keep ? lse_keep : malloc_check(nl * sizeof(float) + 4);
    cpu->attention_forward(cpu, out, lse, q, k, v, a);
    cpu->attention_backward(cpu, g.dq, g.dk, g.dv, dout, q, k, v, out, lse, a);
    if (!out_keep) free(out);
    if (!lse_keep) free(lse);
}

// Gradients of attention where query head h reads kv head h % KVH (H = 4, KVH = 2) instead of h / (H/KVH): the
// CPU on q and dout with heads 1 and 2 swapped (head perm[h] then reads kv head perm[h] / 2 = h % 2), dq swapped
// back.
static void cpu_grads_wrong_kv_head(const AttnDesc *a, const float *q, const float *k, const float *v,
                                    const float *dout, Grads g) {
    LPOI_ASSERT(a->H == 4 && a->KVH == 2);
    const int D = a->D;
    const size_t nq = (size_t)a->B * a->Tq * a->H * D, rows = (size_t)a->B * a->Tq;
    static const int perm[4] = {0, 2, 1, 3};   // an involution
    float *qp = malloc_check(nq * sizeof(float) + 4), *op = malloc_check(nq * sizeof(float) + 4);
    float *dqp = malloc_check(nq * sizeof(float) + 4);
    for (size_t row = 0; row < rows; row++)
        for (int h = 0; h < 4; h++) {
            memcpy(qp + (row * 4 + h) * D, q + (row * 4 + perm[h]) * D, D * sizeof(float));
            memcpy(op + (row * 4 + h) * D, dout + (row * 4 + perm[h]) * D, D * sizeof(float));
        }
    Grads gp = {dqp, g.dk, g.dv};
    cpu_grads(a, qp, k, v, op, gp, NULL, NULL);
    for (size_t row = 0; row < rows; row++)
        for (int h = 0; h < 4; h++) memcpy(g.dq + (row * 4 + perm[h]) * D, dqp + (row * 4 + h) * D, D * sizeof(float));
    free(qp);
    free(op);
    free(dqp);
}

// Per-element tolerances of dq, dk, dv (see the header comment), from P and dS in double.
static void tolerances(const AttnDesc *a, const float *q, const float *k, const float *v, const float *dout,
                       const float *lse, const float *di, const float *mask, Grads tol) {
    const int B = a->B, Tq = a->Tq, Tk = a->Tk, H = a->H, KVH = a->KVH, D = a->D, G = H / KVH, off = Tk - Tq;
    const size_t nq = (size_t)B * Tq * H * D, nk = (size_t)B * Tk * KVH * D;
    const double u = 1.0 / 256, maxq = max_abs(q, nq), maxk = max_abs(k, nk), maxv = max_abs(v, nk);
    const double maxo = max_abs(dout, nq), E = D / 65536.0 * maxo * maxv;
    double *ksum_p = calloc((size_t)B * Tk * KVH + 1, sizeof(double)), *ksum_ds = calloc((size_t)B * Tk * KVH + 1, sizeof(double));
    LPOI_ASSERT(ksum_p && ksum_ds);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < Tq; i++) {
                const size_t qo = (((size_t)b * Tq + i) * H + h) * D;
                const float L = lse[((size_t)b * H + h) * Tq + i];
                const int p = i + off;
                double sp = 0, sds = 0;
                for (int j = 0; j < Tk && L != -INFINITY; j++) {
                    if (mask && mask[(size_t)b * Tk + j] == 0.0f) continue;
                    if (a->causal && j > p) continue;
                    if (a->window > 0 && p - j >= a->window) continue;
                    const size_t ko = (((size_t)b * Tk + j) * KVH + h / G) * D;
                    double s = 0, dp = 0;
                    for (int d = 0; d < D; d++) {
                        s += (double)q[qo + d] * k[ko + d];
                        dp += (double)dout[qo + d] * v[ko + d];
                    }
                    const double P = exp(s * a->scale - L), dS = fabs(P * (dp - di[((size_t)b * H + h) * Tq + i]));
                    sp += P;
                    sds += dS;
                    ksum_p[((size_t)b * Tk + j) * KVH + h / G] += P;
                    ksum_ds[((size_t)b * Tk + j) * KVH + h / G] += dS;
                }
                const float t = (float)(1.1 * a->scale * maxk * (u * sds + E * sp) + 1e-6);
                for (int d = 0; d < D; d++) tol.dq[qo + d] = t;
            }
    for (size_t r = 0; r < (size_t)B * Tk * KVH; r++) {
        const float tk = (float)(1.1 * a->scale * maxq * (u * ksum_ds[r] + E * ksum_p[r]) + 1e-6);
        const float tv = (float)(1.1 * maxo * u * ksum_p[r] + 1e-6);
        for (int d = 0; d < D; d++) {
            tol.dk[r * D + d] = tk;
            tol.dv[r * D + d] = tv;
        }
    }
    free(ksum_p);
    free(ksum_ds);
}

// max_i |got_i - want_i| / tol_i over n values (a NaN counts inf); *where: the worst index.
static double max_ratio(const float *got, const float *want, const float *tol, size_t n, size_t *where) {
    double worst = 0;
    *where = 0;
    for (size_t i = 0; i < n; i++) {
        double e = got[i] == want[i] ? 0.0 : fabs((double)got[i] - (double)want[i]) / tol[i];
        if (e != e) e = INFINITY;
        if (e > worst) worst = e, *where = i;
    }
    return worst;
}
static double grads_ratio(Grads got, Grads want, Grads tol, size_t nq, size_t nk) {
    size_t w;
    double r = max_ratio(got.dq, want.dq, tol.dq, nq, &w), x;
    if ((x = max_ratio(got.dk, want.dk, tol.dk, nk, &w)) > r) r = x;
    if ((x = max_ratio(got.dv, want.dv, tol.dv, nk, &w)) > r) r = x;
    return r;
}

static void check_against_wrong(const char *label, const char *wrong, Grads got, Grads bad, Grads tol, size_t nq,
                                size_t nk, double right) {
    const double r = grads_ratio(got, bad, tol, nq, nk);
    // The wrong reference must be far off: an order of magnitude above the real error and twice the tolerance.
    EXPECT_MSG(r > 10 * right && r > 2, "%s: against a wrong reference (%s) the error is only %.3g x the tolerance "
               "(right reference: %.3g x): the test cannot tell them apart", label, wrong, r, right);
}

static void check_one(const char *label, const char *what, const float *got, const float *want, const float *tol,
                      size_t n, double *ratio) {
    size_t w;
    const double r = max_ratio(got, want, tol, n, &w);
    if (r > *ratio) *ratio = r;
    EXPECT_MSG(r <= 1.0, "%s: %s[%zu] = %.9g, expected %.9g (tolerance %.3g, %zu elements)", label, what, w,
               n ? (double)got[w] : 0.0, n ? (double)want[w] : 0.0, n ? (double)tol[w] : 0.0, n);
}

static void bwd_case(const AttnCase *tc, uint64_t seed, bool twice) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    CudaImpl *c = cuda_impl(gpu);
    const int D = 128;
    AttnInputs in = attn_inputs(tc, seed, true);
    const size_t nq = in.nq, nk = in.nk, nl = in.nl, nm = in.nm;
    const uint16_t *qb = in.qb, *kb = in.kb, *vb = in.vb, *ob = in.ob;
    const float *q = in.q, *k = in.k, *v = in.v, *dout = in.dout, *mask = in.mask;
    const AttnDesc a = in.a;
    AttnDesc ac = a;
    ac.key_mask = tc->mask ? mask : NULL;
    char label[200];
    attn_case_label(label, sizeof label, "bf16 attention backward", tc);

    // CPU reference on the rounded values; Di from its out.
    Grads ref = grads_alloc(nq, nk), got = grads_alloc(nq, nk), tol = grads_alloc(nq, nk), bad = grads_alloc(nq, nk);
    float *out = malloc_check(nq * sizeof(float) + 4), *lse = malloc_check(nl * sizeof(float) + 4);
    float *di = malloc_check(nl * sizeof(float) + 4);
    cpu_grads(&ac, q, k, v, dout, ref, out, lse);
    for (int b = 0; b < tc->B; b++)
        for (int i = 0; i < tc->Tq; i++)
            for (int h = 0; h < tc->H; h++) {
                const size_t o = (((size_t)b * tc->Tq + i) * tc->H + h) * D;
                double s = 0;
                for (int d = 0; d < D; d++) s += (double)dout[o + d] * out[o + d];
                di[((size_t)b * tc->H + h) * tc->Tq + i] = (float)s;
            }
    tolerances(&a, q, k, v, dout, lse, di, ac.key_mask, tol);

    // GPU
    void *qd = gpu_upload_copy(gpu, qb, nq * 2), *kd = gpu_upload_copy(gpu, kb, nk * 2), *vd = gpu_upload_copy(gpu, vb, nk * 2);
    void *od = gpu_upload_copy(gpu, ob, nq * 2);
    float *ld = gpu_upload_copy(gpu, lse, nl * sizeof(float)), *did = gpu_upload_copy(gpu, di, nl * sizeof(float));
    float *md = tc->mask ? gpu_upload_copy(gpu, mask, nm * sizeof(float)) : NULL;
    GpuBuf gq = gpu_buf_new(gpu, NULL, nq * sizeof(float)),
           gk = gpu_buf_new(gpu, NULL, nk * sizeof(float)),
           gv = gpu_buf_new(gpu, NULL, nk * sizeof(float));
    AttnDesc ag = a;
    ag.key_mask = md;
    const bool ran = cuda_attention_backward_bf16(c, gq.d, gk.d, gv.d, od, qd, kd, vd, ld, did, &ag);
    if (!ran) {
        if (gpu_bf16_expected(gpu)) test_fail_at(__FILE__, __LINE__, "%s: the bf16 kernels refused to run", label);
        else if (!gpu_forced_portable()) test_skip("the bf16 attention backward needs sm_80");
        goto done;
    }
    gpu->synchronize(gpu);
    char what[260];
    snprintf(what, sizeof what, "%s: dq", label);
    gpu_buf_read(gpu, gq, got.dq, what);
    snprintf(what, sizeof what, "%s: dk", label);
    gpu_buf_read(gpu, gk, got.dk, what);
    snprintf(what, sizeof what, "%s: dv", label);
    gpu_buf_read(gpu, gv, got.dv, what);

    double right = 0;
    check_one(label, "dq", got.dq, ref.dq, tol.dq, nq, &right);
    check_one(label, "dk", got.dk, ref.dk, tol.dk, nk, &right);
    check_one(label, "dv", got.dv, ref.dv, tol.dv, nk, &right);
    int empty = 0;
    for (size_t i = 0; i < nl; i++) empty += lse[i] == -INFINITY;
    if (getenv("LPOI_TEST_VERBOSE"))
        printf("  %s: max error %.3g x tolerance, %d empty rows, max |dq| %.3g |dk| %.3g |dv| %.3g\n", label, right,
               empty, (double)max_abs(ref.dq, nq), (double)max_abs(ref.dk, nk), (double)max_abs(ref.dv, nk));

    // The test can fail: wrong references (not where every row is empty: then there is nothing to get wrong).
    if ((size_t)empty < nl) {
        AttnDesc aw = ac;
        aw.scale = a.scale * 1.25f;
        cpu_grads(&aw, q, k, v, dout, bad, NULL, NULL);
        check_against_wrong(label, "scale x1.25", got, bad, tol, nq, nk, right);
        if (a.H == 4 && a.KVH == 2) {
            cpu_grads_wrong_kv_head(&ac, q, k, v, dout, bad);
            check_against_wrong(label, "kv head h % KVH", got, bad, tol, nq, nk, right);
        }
        if (tc->mask) {
            aw = ac;
            aw.key_mask = NULL;
            cpu_grads(&aw, q, k, v, dout, bad, NULL, NULL);
            check_against_wrong(label, "padding ignored", got, bad, tol, nq, nk, right);
        }
        if (tc->causal && tc->Tq > 1) {
            aw = ac;
            aw.causal = false;
            cpu_grads(&aw, q, k, v, dout, bad, NULL, NULL);
            check_against_wrong(label, "not causal", got, bad, tol, nq, nk, right);
        }
    }

    if (twice) {   // deterministic: a second run gives the same bits
        GpuBuf g2q = gpu_buf_new(gpu, NULL, nq * sizeof(float)),
               g2k = gpu_buf_new(gpu, NULL, nk * sizeof(float)),
               g2v = gpu_buf_new(gpu, NULL, nk * sizeof(float));
        cuda_attention_backward_bf16(c, g2q.d, g2k.d, g2v.d, od, qd, kd, vd, ld, did, &ag);
        gpu->synchronize(gpu);
        gpu_buf_read(gpu, g2q, bad.dq, "second run: dq");
        gpu_buf_read(gpu, g2k, bad.dk, "second run: dk");
        gpu_buf_read(gpu, g2v, bad.dv, "second run: dv");
        EXPECT_MSG(!memcmp(bad.dq, got.dq, nq * sizeof(float)) && !memcmp(bad.dk, got.dk, nk * sizeof(float)) &&
                       !memcmp(bad.dv, got.dv, nk * sizeof(float)),
                   "%s: a second run gave different bits", label);
        gpu->free(gpu, g2q.base);
        gpu->free(gpu, g2k.base);
        gpu->free(gpu, g2v.base);
    }
done:
    gpu->free(gpu, qd);
    gpu->free(gpu, kd);
    gpu->free(gpu, vd);
    gpu->free(gpu, od);
    gpu->free(gpu, ld);
    gpu->free(gpu, did);
    if (md) gpu->free(gpu, md);
    gpu->free(gpu, gq.base);
    gpu->free(gpu, gk.base);
    gpu->free(gpu, gv.base);
    grads_free(ref);
    grads_free(got);
    grads_free(tol);
    grads_free(bad);
    free(out);
    free(lse);
    free(di);
    attn_inputs_free(&in);
}

static void run_cases(const AttnCase *cases, size_t n, uint64_t seed0) {
    for (size_t i = 0; i < n; i++) bwd_case(&cases[i], seed0 + i, i == 0);
}

TEST(cuda_attention_bf16_bwd_basic) { run_cases(ATTN_CASES_BASIC, LPOI_ARRAY_LEN(ATTN_CASES_BASIC), 3100); }
TEST(cuda_attention_bf16_bwd_gqa) { run_cases(ATTN_CASES_GQA, LPOI_ARRAY_LEN(ATTN_CASES_GQA), 3200); }
TEST(cuda_attention_bf16_bwd_masks) { run_cases(ATTN_CASES_MASKS, LPOI_ARRAY_LEN(ATTN_CASES_MASKS), 3300); }

TEST(cuda_attention_bf16_bwd_long) {
    static const AttnCase cases[] = {
        {"long", 2, 260, 260, 4, 2, true, 100, 1, 2.0f},    // 5 tiles each way, GQA, window, padding, item 1 empty
        {"long_bidir", 1, 200, 260, 2, 1, false, 0, 2, 3.0f},
    };
    run_cases(cases, LPOI_ARRAY_LEN(cases), 3500);
}

// What the launcher refuses (D != 128, misaligned buffers) and shapes with nothing to see (Tq = 0: dk = dv = 0;
// Tk = 0: dq = 0).
TEST(cuda_attention_bf16_bwd_edges) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    CudaImpl *c = cuda_impl(gpu);
    GpuBuf gq = gpu_buf_new(gpu, NULL, (128 * 4 + 4) * sizeof(float)),
           gk = gpu_buf_new(gpu, NULL, (128 * 4 + 4) * sizeof(float)),
           gv = gpu_buf_new(gpu, NULL, (128 * 4 + 4) * sizeof(float));
    void *x = gpu->alloc(gpu, 128 * 4 * 2 + 16);
    float *l = gpu->alloc(gpu, 64);
    AttnDesc a = {.B = 1, .Tq = 4, .Tk = 4, .H = 1, .KVH = 1, .D = 64, .scale = 0.125f, .causal = true};
    EXPECT(!cuda_attention_backward_bf16(c, gq.d, gk.d, gv.d, x, x, x, x, l, l, &a));   // D = 64: not this kernel
    a.D = 128;
    EXPECT(!cuda_attention_backward_bf16(c, (float *)gq.d + 1, gk.d, gv.d, x, x, x, x, l, l, &a));   // dq misaligned
    EXPECT(!cuda_attention_backward_bf16(c, gq.d, gk.d, (float *)gv.d + 1, x, x, x, x, l, l, &a));   // dv misaligned
    EXPECT(!cuda_attention_backward_bf16(c, gq.d, gk.d, gv.d, (uint16_t *)x + 4, x, x, x, l, l, &a));   // dout
    EXPECT(!cuda_attention_backward_bf16(c, gq.d, gk.d, gv.d, x, x, (uint16_t *)x + 4, x, l, l, &a));   // k
    float h[128 * 4 + 4];
    gpu_buf_read(gpu, gq, h, "refused launch: dq");
    EXPECT_MSG(float_to_bits(h[0]) == GPU_POISON_BITS, "a refused launch wrote its output");
    gpu->free(gpu, x);
    gpu->free(gpu, l);
    gpu->free(gpu, gq.base);
    gpu->free(gpu, gk.base);
    gpu->free(gpu, gv.base);
    if (!gpu_bf16_expected(gpu)) return;
    static const AttnCase none[] = {
        {"tq0", 1, 0, 5, 2, 1, false, 0, 0, 2.0f},   // dk = dv = 0
        {"tk0", 1, 5, 0, 2, 1, false, 0, 0, 2.0f},   // every row sees nothing: dq = 0
    };
    run_cases(none, LPOI_ARRAY_LEN(none), 3400);
}
