// cuda_parity_test.c — the CUDA backend against the CPU backend, op by op.
// Every op runs on both backends from the same random inputs at odd sizes (1, 31, 256, 1000003, rows of
// 1..5121 columns). On the GPU each buffer sits between two guard regions of sentinel floats, outputs
// start poisoned with NaN (so an element the kernel never writes fails the comparison), inputs are
// checked unchanged afterwards, and the guards are checked intact. Tolerances are named per op below.
// Elementwise ops use sizes up to a million; the tiled ops (gemm, attention, norms, softmax, logprob,
// rope, embedding) use small odd shapes that still cross every tile edge, because `./nob test` runs
// this file under tools/fakecuda, which executes each GPU thread as a coroutine. Reductions without
// atomics are also checked for run-to-run bit equality.
// Without a GPU (or without embedded PTX) the parity tests skip; the variant-choice, PTX-signature and
// creation tests run everywhere.
#include "backend/cuda/cuda_fixture_test.h"
#include "base/check.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

// ---- tolerances: |gpu - cpu| <= atol + rtol * |cpu| ----
typedef struct { double atol, rtol; } Tol;
static const Tol TOL_EXACT = {0, 0};               // add, scale: one correctly rounded IEEE operation on both sides
static const Tol TOL_AXPY = {1e-6, 1e-6};          // the GPU fuses y + alpha*x into one FMA; inputs are O(1)
static const Tol TOL_ACTIVATION = {1e-6, 1e-5};    // silu/swiglu/gelu: libdevice vs libm exp/erf/tanh (<= 2 ulp each)
static const Tol TOL_SUM_SQUARES_CPU = {0, 1e-5};  // vs the CPU backend, whatever order it sums in
static const double RTOL_SUM_SQUARES_EXACT = 1e-12; // vs a compensated double sum: the GPU accumulates in fp64
static const Tol TOL_ADAMW_STATE = {1e-6, 1e-5};   // p, m, v after the step
static const Tol TOL_ADAMW_DELTA = {2e-7, 1e-4};   // p_new - p_old (~lr): catches a wrong bias correction
static const Tol TOL_RMSNORM_FORWARD = {1e-6, 1e-5};
static const Tol TOL_RMSNORM_BACKWARD = {1e-5, 1e-4};  // Σ over C (dx) and over N (dw) in different orders
static const Tol TOL_LAYERNORM_FORWARD = {2e-6, 1e-5};  // fp64 row statistics on both sides, summed in other orders
static const Tol TOL_LAYERNORM_BACKWARD = {1e-5, 1e-4};
static const Tol TOL_GEMM = {2e-5, 1e-4};            // K-term sums in another order (and FMA vs mul+add)
static const Tol TOL_EMBEDDING = {0, 0};             // a gather, and the backward sums each column in the CPU's order
static const Tol TOL_SOFTMAX = {1e-6, 1e-5};         // expf ulps and the sum's order
static const Tol TOL_ROPE = {1e-6, 1e-5};            // same fp32 angles; libdevice vs libm cosf/sinf (<= 2 ulp)
static const Tol TOL_LOGPROB = {1e-6, 1e-5};         // expf ulps; both sum in fp64
static const Tol TOL_ATTENTION = {1e-5, 1e-4};       // scores, online softmax and P·V summed in other orders

static const size_t SIZES[] = {1, 31, 256, 1000003};   // 1000003 > one full wave of threads: grid-stride path

// ---- backends, random inputs and guarded buffers: cuda_fixture_test.h ----

static bool require_op(Backend *gpu, OpId op) {
    if (backend_supports(gpu, op)) return true;
    test_fail_at(__FILE__, __LINE__, "the CUDA backend does not implement %s", op_name(op));
    return false;
}

static Rng rng;   // seeded per case: failures reproduce

// Overwrites the first few elements with values that exercise the tails of exp/erf/tanh.
static void put_extremes(float *x, size_t n) {
    static const float special[] = {0.0f, -0.0f, 1e-7f, -1e-7f, 20.0f, -20.0f, 88.0f, -88.0f, 100.0f, -100.0f, 0.5f, -3.0f};
    for (size_t i = 0; i < n && i < LPOI_ARRAY_LEN(special); i++) x[i] = special[i];
}

// ---- the parity harness ----
// An op is described by its buffers; `run` calls it on either backend with buf[k] in that backend's memory.

typedef struct {
    const char *name;
    size_t n;            // elements
    const float *init;   // contents before the op; NULL: output only (poisoned)
    bool compare;        // compare after the op (outputs and in/out buffers); false: must be unchanged
    Tol tol;
} BufSpec;

typedef void (*RunFn)(Backend *be, float **buf, const void *ctx);

#define MAX_BUFS 12

// expect_close_f32_at, except that equal values count as equal even when they are infinite (lse of a
// row with no visible key is -inf on both sides; inf - inf would otherwise read as NaN).
static bool expect_close_inf(const char *file, int line, const char *what, const float *got, const float *want, size_t n,
                             double atol, double rtol) {
    float *g = malloc_check(n * sizeof(float) + 1), *w = malloc_check(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++) {
        bool same = got[i] == want[i];
        g[i] = same ? 0.0f : got[i];
        w[i] = same ? 0.0f : want[i];
    }
    bool ok = expect_close_f32_at(file, line, what, g, w, n, atol, rtol);
    free(g);
    free(w);
    return ok;
}

// Runs the op on both backends and compares. out_cpu/out_gpu (optional) receive copies of the results
// of buffer `keep` for extra checks by the caller (malloc'd; caller frees).
static void parity_run(const char *label, const BufSpec *spec, int nbuf, RunFn run, const void *ctx, int keep,
                       float **keep_cpu, float **keep_gpu) {
    Backend *cpu = cpu_backend(), *gpu = gpu_or_skip();
    if (!gpu) return;
    LPOI_ASSERT(nbuf <= MAX_BUFS);
    float *cbuf[MAX_BUFS], *gdev[MAX_BUFS];
    GpuBuf gbuf[MAX_BUFS];
    for (int k = 0; k < nbuf; k++) {
        cbuf[k] = cpu->alloc(cpu, spec[k].n * sizeof(float) + 1);
        for (size_t i = 0; i < spec[k].n; i++) cbuf[k][i] = spec[k].init ? spec[k].init[i] : bits_to_float(GPU_POISON_BITS);
        gbuf[k] = gpu_buf_new(gpu, spec[k].init, spec[k].n * sizeof(float));
        gdev[k] = gbuf[k].d;
    }
    run(cpu, cbuf, ctx);
    run(gpu, gdev, ctx);
    gpu->synchronize(gpu);
    for (int k = 0; k < nbuf; k++) {
        char what[160];
        snprintf(what, sizeof what, "%s: %s[%zu]", label, spec[k].name, spec[k].n);
        float *got = malloc_check(spec[k].n * sizeof(float) + 1);
        gpu_buf_read(gpu, gbuf[k], got, what);
        if (spec[k].compare) {
            expect_close_inf(__FILE__, __LINE__, what, got, cbuf[k], spec[k].n, spec[k].tol.atol, spec[k].tol.rtol);
        } else if (spec[k].init && memcmp(got, spec[k].init, spec[k].n * sizeof(float)) != 0) {
            test_fail_at(__FILE__, __LINE__, "%s: an input was modified on the GPU", what);
        }
        if (k == keep && keep_cpu && keep_gpu) {
            *keep_cpu = malloc_check(spec[k].n * sizeof(float) + 1);
            memcpy(*keep_cpu, cbuf[k], spec[k].n * sizeof(float));
            *keep_gpu = got;
        } else {
            free(got);
        }
        cpu->free(cpu, cbuf[k]);
        gpu->free(gpu, gbuf[k].base);
    }
}

static void parity(const char *label, const BufSpec *spec, int nbuf, RunFn run, const void *ctx) {
    parity_run(label, spec, nbuf, run, ctx, -1, NULL, NULL);
}

#define IN(name_, n_, init_) {.name = (name_), .n = (n_), .init = (init_), .compare = false}
#define OUT(name_, n_, tol_) {.name = (name_), .n = (n_), .init = NULL, .compare = true, .tol = (tol_)}
#define INOUT(name_, n_, init_, tol_) {.name = (name_), .n = (n_), .init = (init_), .compare = true, .tol = (tol_)}

// ====================================================================================================
// Tests that need no GPU

static const char FAKE_PTX[] = "//\n.version 9.0\n.target sm_75\n.address_size 64\n";
static const PtxModule FAKE_MODULES[] = {
    {"fam", "compute_75", 75, 0, FAKE_PTX, sizeof FAKE_PTX - 1},
    {"fam", "compute_80", 80, 0, FAKE_PTX, sizeof FAKE_PTX - 1},
    {"fam", "compute_90a", 90, 1, FAKE_PTX, sizeof FAKE_PTX - 1},
    {"other", "compute_80", 80, 0, FAKE_PTX, sizeof FAKE_PTX - 1},
};

static const char *chosen(int cc, const char *family, const char *force) {
    int i = cuda_variant_choose(FAKE_MODULES, (int)LPOI_ARRAY_LEN(FAKE_MODULES), family, cc, force);
    return i < 0 ? "none" : FAKE_MODULES[i].variant;
}

TEST(cuda_variant_choice) {
    EXPECT_STREQ(chosen(75, "fam", NULL), "compute_75");   // T4, RTX 20xx
    EXPECT_STREQ(chosen(80, "fam", NULL), "compute_80");   // A100
    EXPECT_STREQ(chosen(86, "fam", NULL), "compute_80");   // RTX 30xx
    EXPECT_STREQ(chosen(89, "fam", NULL), "compute_80");   // L4, RTX 40xx
    EXPECT_STREQ(chosen(90, "fam", NULL), "compute_90a");  // H100, H200: the 'a' variant matches exactly
    EXPECT_STREQ(chosen(100, "fam", NULL), "compute_80");  // B200: compute_90a does not run on sm_100
    EXPECT_STREQ(chosen(120, "fam", NULL), "compute_80");  // RTX 50xx
    EXPECT_STREQ(chosen(70, "fam", NULL), "none");         // V100: older than every variant
    EXPECT_STREQ(chosen(90, "other", NULL), "compute_80");
    EXPECT_STREQ(chosen(75, "other", NULL), "none");
    EXPECT_STREQ(chosen(90, "missing", NULL), "none");
    EXPECT_STREQ(chosen(90, "fam", "compute_75"), "compute_75");   // LPOI_PTX_VARIANT
    EXPECT_STREQ(chosen(90, "fam", "compute_80"), "compute_80");
    EXPECT_STREQ(chosen(89, "fam", "compute_90a"), "none");
    EXPECT_STREQ(chosen(100, "fam", "compute_90a"), "none");
    int n = (int)LPOI_ARRAY_LEN(FAKE_MODULES);
    int fb = cuda_variant_fallback(FAKE_MODULES, n, "fam", 90, cuda_variant_choose(FAKE_MODULES, n, "fam", 90, NULL));
    EXPECT(fb >= 0 && !strcmp(FAKE_MODULES[fb].variant, "compute_75"));
    fb = cuda_variant_fallback(FAKE_MODULES, n, "fam", 75, cuda_variant_choose(FAKE_MODULES, n, "fam", 75, NULL));
    EXPECT_EQ_INT(fb, -1);   // compute_75 failed itself: nothing left to try
    EXPECT(cuda_variant_runs_on(&FAKE_MODULES[2], 90));
    EXPECT(!cuda_variant_runs_on(&FAKE_MODULES[2], 100));
    EXPECT(!cuda_variant_runs_on(&FAKE_MODULES[1], 75));
}

// The kernel signatures of cuda_kernel_list.h against the .entry parameter lists nvcc wrote, in every variant.
TEST(cuda_ptx_kernel_signatures) {
    if (lpoi_ptx_module_count == 0) {
        test_skip("built without nvcc: no PTX embedded");
        return;
    }
    LpoiErr err = {{0}};
    EXPECT_MSG(cuda_ptx_check_kernels(lpoi_ptx_modules, lpoi_ptx_module_count, &err), "%s", err.msg);
    // A wrong signature must be caught: check a copy of one module against a doctored table entry.
    static const char doctored[] = ".visible .entry add_f32(\n\t.param .u64 a,\n\t.param .f32 b\n)\n";
    PtxModule m = {"elementwise", "compute_75", 75, 0, doctored, sizeof doctored - 1};
    EXPECT(!cuda_ptx_check_kernels(&m, 1, &err));
    EXPECT(strstr(err.msg, "add_f32") != NULL);
    for (int i = 0; i < lpoi_ptx_module_count; i++) {
        const PtxModule *p = &lpoi_ptx_modules[i];
        EXPECT_MSG(p->size == strlen(p->ptx), "PTX %s.%s: size %zu != strlen", p->family, p->variant, p->size);
        EXPECT_MSG(strstr(p->ptx, ".target ") != NULL, "PTX %s.%s has no .target", p->family, p->variant);
    }
}

// Creation either works or says why in one line; it never aborts.
TEST(cuda_create_reports_why) {
    LpoiErr err = {{0}};
    Backend *be = backend_cuda_create(0, &err);
    if (!be) {
        EXPECT_MSG(err.msg[0] != '\0', "backend_cuda_create returned NULL without a reason");
        EXPECT(strchr(err.msg, '\n') == NULL);
        return;
    }
    EXPECT_STREQ(be->name, "cuda");
    EXPECT(strstr(be->device, "PTX compute_") != NULL);
    for (int op = 0; op < OP_COUNT; op++)   // the whole op table runs on the GPU
        EXPECT_MSG(backend_supports(be, (OpId)op), "cuda lacks %s", op_name((OpId)op));
    backend_destroy(be);
    EXPECT(!backend_cuda_create(-1, &err) && err.msg[0]);
}

// ====================================================================================================
// Memory

TEST(cuda_memory_roundtrip) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    rng_seed(&rng, 1);
    size_t n = 100003;
    float *x = random_floats(&rng, n, -1, 1);
    GpuBuf b = gpu_buf_new(gpu, x, n * sizeof(float));
    float *back = malloc_check(n * sizeof *back);
    gpu_buf_read(gpu, b, back, "roundtrip");
    EXPECT_MSG(memcmp(back, x, n * sizeof *x) == 0, "download(upload(x)) != x");
    // fill_zero on an unaligned interior range leaves its neighbours alone
    size_t off = 3, len = 1000;
    gpu->fill_zero(gpu, (float *)b.d + off, len * sizeof(float));
    gpu_buf_read(gpu, b, back, "fill_zero");
    for (size_t i = 0; i < n; i++) {
        float want = (i >= off && i < off + len) ? 0.0f : x[i];
        if (float_to_bits(back[i]) != float_to_bits(want)) {
            test_fail_at(__FILE__, __LINE__, "fill_zero: element %zu is %g, expected %g", i, back[i], want);
            break;
        }
    }
    gpu->free(gpu, b.base);
    void *empty = gpu->alloc(gpu, 0);   // a zero-byte request is valid and freeable
    EXPECT(empty != NULL);
    gpu->free(gpu, empty);
    gpu->free(gpu, NULL);
    free(x);
    free(back);
}

// ====================================================================================================
// Elementwise helpers

typedef struct { float alpha; size_t n; } ScalarCtx;

static void run_add(Backend *be, float **b, const void *ctx) { be->add(be, b[2], b[0], b[1], ((const ScalarCtx *)ctx)->n); }
static void run_add_alias(Backend *be, float **b, const void *ctx) { be->add(be, b[0], b[0], b[1], ((const ScalarCtx *)ctx)->n); }
static void run_axpy(Backend *be, float **b, const void *ctx) {
    const ScalarCtx *s = ctx;
    be->axpy(be, b[0], s->alpha, b[1], s->n);
}
static void run_scale(Backend *be, float **b, const void *ctx) {
    const ScalarCtx *s = ctx;
    be->scale(be, b[0], s->alpha, s->n);
}

TEST(cuda_add_axpy_scale) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_ADD) || !require_op(gpu, OP_AXPY) || !require_op(gpu, OP_SCALE)) return;
    for (size_t si = 0; si < LPOI_ARRAY_LEN(SIZES); si++) {
        size_t n = SIZES[si];
        rng_seed(&rng, 100 + si);
        float *a = random_floats(&rng, n, -2, 2), *b = random_floats(&rng, n, -2, 2);
        ScalarCtx s = {.alpha = -0.7310586f, .n = n};
        char label[64];
        snprintf(label, sizeof label, "add n=%zu", n);
        parity(label, (BufSpec[]){IN("a", n, a), IN("b", n, b), OUT("out", n, TOL_EXACT)}, 3, run_add, &s);
        snprintf(label, sizeof label, "add (out aliases a) n=%zu", n);
        parity(label, (BufSpec[]){INOUT("a", n, a, TOL_EXACT), IN("b", n, b)}, 2, run_add_alias, &s);
        snprintf(label, sizeof label, "axpy n=%zu", n);
        parity(label, (BufSpec[]){INOUT("y", n, a, TOL_AXPY), IN("x", n, b)}, 2, run_axpy, &s);
        snprintf(label, sizeof label, "scale n=%zu", n);
        parity(label, (BufSpec[]){INOUT("x", n, a, TOL_EXACT)}, 1, run_scale, &s);
        free(a);
        free(b);
    }
}

TEST(cuda_sum_squares) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_SUM_SQUARES)) return;
    Backend *cpu = cpu_backend();
    static const size_t sizes[] = {1, 31, 256, 257, 1000003, 4194305};
    for (size_t si = 0; si < LPOI_ARRAY_LEN(sizes); si++) {
        size_t n = sizes[si];
        rng_seed(&rng, 200 + si);
        float *x = random_floats(&rng, n, -3, 3);
        double exact = 0, carry = 0;   // Neumaier-compensated: a plain double sum drifts ~1e-12 at 4M terms
        for (size_t i = 0; i < n; i++) {
            double term = (double)x[i] * (double)x[i], t = exact + term;   // the square is exact in double
            carry += fabs(exact) >= term ? (exact - t) + term : (term - t) + exact;
            exact = t;
        }
        exact += carry;
        float *xc = cpu->alloc(cpu, n * sizeof(float));
        memcpy(xc, x, n * sizeof(float));
        double want = cpu->sum_squares(cpu, xc, n);
        GpuBuf b = gpu_buf_new(gpu, x, n * sizeof(float));
        double got = gpu->sum_squares(gpu, b.d, n);
        double again = gpu->sum_squares(gpu, b.d, n);
        EXPECT_NEAR(got, want, TOL_SUM_SQUARES_CPU.atol, TOL_SUM_SQUARES_CPU.rtol);
        EXPECT_NEAR(got, exact, 0, RTOL_SUM_SQUARES_EXACT);
        EXPECT_MSG(memcmp(&got, &again, sizeof got) == 0, "sum_squares n=%zu is not deterministic: %.17g then %.17g", n,
                   got, again);
        float *back = malloc_check(n * sizeof *back);
        gpu_buf_read(gpu, b, back, "sum_squares input");
        EXPECT_MSG(memcmp(back, x, n * sizeof *x) == 0, "sum_squares modified its input");
        gpu->free(gpu, b.base);
        cpu->free(cpu, xc);
        free(back);
        free(x);
    }
    EXPECT_EQ_INT(gpu->sum_squares(gpu, NULL, 0), 0);
}

// ====================================================================================================
// Activations

typedef struct { size_t n; GeluKind kind; } ActCtx;

static void run_silu_fwd(Backend *be, float **b, const void *ctx) { be->silu_forward(be, b[1], b[0], ((const ActCtx *)ctx)->n); }
static void run_silu_bwd(Backend *be, float **b, const void *ctx) {
    be->silu_backward(be, b[2], b[1], b[0], ((const ActCtx *)ctx)->n);
}
static void run_swiglu_fwd(Backend *be, float **b, const void *ctx) {
    be->swiglu_forward(be, b[2], b[0], b[1], ((const ActCtx *)ctx)->n);
}
static void run_swiglu_bwd(Backend *be, float **b, const void *ctx) {
    be->swiglu_backward(be, b[3], b[4], b[2], b[0], b[1], ((const ActCtx *)ctx)->n);
}
static void run_gelu_fwd(Backend *be, float **b, const void *ctx) {
    const ActCtx *a = ctx;
    be->gelu_forward(be, b[1], b[0], a->n, a->kind);
}
static void run_gelu_bwd(Backend *be, float **b, const void *ctx) {
    const ActCtx *a = ctx;
    be->gelu_backward(be, b[2], b[1], b[0], a->n, a->kind);
}

TEST(cuda_silu_swiglu) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    if (!require_op(gpu, OP_SILU_FORWARD) || !require_op(gpu, OP_SILU_BACKWARD) || !require_op(gpu, OP_SWIGLU_FORWARD) ||
        !require_op(gpu, OP_SWIGLU_BACKWARD))
        return;
    for (size_t si = 0; si < LPOI_ARRAY_LEN(SIZES); si++) {
        size_t n = SIZES[si];
        rng_seed(&rng, 300 + si);
        float *x = random_floats(&rng, n, -8, 8), *up = random_floats(&rng, n, -2, 2), *dout = random_floats(&rng, n, -1, 1);
        put_extremes(x, n);
        ActCtx a = {.n = n};
        char label[64];
        snprintf(label, sizeof label, "silu_forward n=%zu", n);
        parity(label, (BufSpec[]){IN("x", n, x), OUT("out", n, TOL_ACTIVATION)}, 2, run_silu_fwd, &a);
        snprintf(label, sizeof label, "silu_backward n=%zu", n);
        parity(label, (BufSpec[]){IN("x", n, x), IN("dout", n, dout), OUT("dx", n, TOL_ACTIVATION)}, 3, run_silu_bwd, &a);
        snprintf(label, sizeof label, "swiglu_forward n=%zu", n);
        parity(label, (BufSpec[]){IN("gate", n, x), IN("up", n, up), OUT("out", n, TOL_ACTIVATION)}, 3, run_swiglu_fwd, &a);
        snprintf(label, sizeof label, "swiglu_backward n=%zu", n);
        parity(label,
               (BufSpec[]){IN("gate", n, x), IN("up", n, up), IN("dout", n, dout), OUT("dgate", n, TOL_ACTIVATION),
                           OUT("dup", n, TOL_ACTIVATION)},
               5, run_swiglu_bwd, &a);
        free(x);
        free(up);
        free(dout);
    }
}

TEST(cuda_gelu) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_GELU_FORWARD) || !require_op(gpu, OP_GELU_BACKWARD)) return;
    static const GeluKind kinds[] = {GELU_ERF, GELU_TANH, GELU_QUICK};
    static const char *kind_names[] = {"erf", "tanh", "quick"};
    for (size_t ki = 0; ki < 3; ki++) {
        for (size_t si = 0; si < LPOI_ARRAY_LEN(SIZES); si++) {
            size_t n = SIZES[si];
            rng_seed(&rng, 400 + 10 * ki + si);
            float *x = random_floats(&rng, n, -8, 8), *dout = random_floats(&rng, n, -1, 1);
            put_extremes(x, n);
            ActCtx a = {.n = n, .kind = kinds[ki]};
            char label[64];
            snprintf(label, sizeof label, "gelu_forward(%s) n=%zu", kind_names[ki], n);
            parity(label, (BufSpec[]){IN("x", n, x), OUT("out", n, TOL_ACTIVATION)}, 2, run_gelu_fwd, &a);
            snprintf(label, sizeof label, "gelu_backward(%s) n=%zu", kind_names[ki], n);
            parity(label, (BufSpec[]){IN("x", n, x), IN("dout", n, dout), OUT("dx", n, TOL_ACTIVATION)}, 3, run_gelu_bwd, &a);
            free(x);
            free(dout);
        }
    }
}

// ====================================================================================================
// AdamW

typedef struct { size_t n; float lr, beta1, beta2, eps, wd; int step; } AdamCtx;

static void run_adamw(Backend *be, float **b, const void *ctx) {
    const AdamCtx *a = ctx;
    be->adamw_update(be, b[0], b[1], b[2], b[3], a->n, a->lr, a->beta1, a->beta2, a->eps, a->wd, a->step);
}

TEST(cuda_adamw) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_ADAMW_UPDATE)) return;
    static const struct { float lr, wd; int step; } cases[] = {{1e-3f, 0.01f, 1}, {1e-3f, 0.0f, 2}, {3e-4f, 0.1f, 10}, {1e-2f, 0.01f, 1000}};
    for (size_t ci = 0; ci < LPOI_ARRAY_LEN(cases); ci++) {
        for (size_t si = 0; si < LPOI_ARRAY_LEN(SIZES); si++) {
            size_t n = SIZES[si];
            rng_seed(&rng, 500 + 10 * ci + si);
            float *p = random_floats(&rng, n, -1, 1), *g = random_floats(&rng, n, -1, 1);
            float *m = random_floats(&rng, n, -0.1f, 0.1f), *v = random_floats(&rng, n, 1e-4f, 1e-2f);
            AdamCtx a = {.n = n, .lr = cases[ci].lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .wd = cases[ci].wd,
                         .step = cases[ci].step};
            char label[96];
            snprintf(label, sizeof label, "adamw lr=%g wd=%g step=%d n=%zu", a.lr, a.wd, a.step, n);
            float *pc = NULL, *pg = NULL;
            parity_run(label,
                       (BufSpec[]){INOUT("p", n, p, TOL_ADAMW_STATE), IN("g", n, g), INOUT("m", n, m, TOL_ADAMW_STATE),
                                   INOUT("v", n, v, TOL_ADAMW_STATE)},
                       4, run_adamw, &a, 0, &pc, &pg);
            if (pc && pg) {   // the update itself, not just the parameter it is added to
                for (size_t i = 0; i < n; i++) {
                    pc[i] -= p[i];
                    pg[i] -= p[i];
                }
                char what[128];
                snprintf(what, sizeof what, "%s: p_new - p_old", label);
                expect_close_f32_at(__FILE__, __LINE__, what, pg, pc, n, TOL_ADAMW_DELTA.atol, TOL_ADAMW_DELTA.rtol);
            }
            free(pc);
            free(pg);
            free(p);
            free(g);
            free(m);
            free(v);
        }
    }
}

// ====================================================================================================
// RMSNorm

static const struct { int N, C; } NORM_SHAPES[] = {{1, 1}, {3, 31}, {5, 256}, {7, 1000}, {129, 77}, {1031, 33}, {64, 4096}, {9, 5121}};

typedef struct { int N, C; float eps; } NormCtx;

static void run_rmsnorm_fwd(Backend *be, float **b, const void *ctx) {
    const NormCtx *c = ctx;
    be->rmsnorm_forward(be, b[2], b[3], b[0], b[1], c->N, c->C, c->eps);
}
// buffers: x, w, rstd, dout, dx, dw
static void run_rmsnorm_bwd(Backend *be, float **b, const void *ctx) {
    const NormCtx *c = ctx;
    be->rmsnorm_backward(be, b[4], b[5], b[3], b[0], b[1], b[2], c->N, c->C);
}

TEST(cuda_rmsnorm) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_RMSNORM_FORWARD) || !require_op(gpu, OP_RMSNORM_BACKWARD)) return;
    Backend *cpu = cpu_backend();
    for (size_t si = 0; si < LPOI_ARRAY_LEN(NORM_SHAPES); si++) {
        int N = NORM_SHAPES[si].N, C = NORM_SHAPES[si].C;
        size_t nx = (size_t)N * (size_t)C;
        rng_seed(&rng, 600 + si);
        float *x = random_floats(&rng, nx, -2, 2), *w = random_floats(&rng, (size_t)C, 0.5f, 1.5f);
        float *dout = random_floats(&rng, nx, -1, 1), *dw0 = random_floats(&rng, (size_t)C, -0.5f, 0.5f);
        NormCtx ctx = {.N = N, .C = C, .eps = si % 2 ? 1e-6f : 1e-5f};
        char label[96];
        snprintf(label, sizeof label, "rmsnorm_forward N=%d C=%d", N, C);
        parity(label,
               (BufSpec[]){IN("x", nx, x), IN("w", (size_t)C, w), OUT("out", nx, TOL_RMSNORM_FORWARD),
                           OUT("rstd", (size_t)N, TOL_RMSNORM_FORWARD)},
               4, run_rmsnorm_fwd, &ctx);
        // The backward gets the CPU's rstd on both sides, so it is tested on its own.
        float *xc = cpu->alloc(cpu, nx * sizeof(float)), *wc = cpu->alloc(cpu, (size_t)C * sizeof(float));
        float *oc = cpu->alloc(cpu, nx * sizeof(float)), *rstd = cpu->alloc(cpu, (size_t)N * sizeof(float));
        memcpy(xc, x, nx * sizeof(float));
        memcpy(wc, w, (size_t)C * sizeof(float));
        cpu->rmsnorm_forward(cpu, oc, rstd, xc, wc, N, C, ctx.eps);
        snprintf(label, sizeof label, "rmsnorm_backward N=%d C=%d", N, C);
        parity(label,
               (BufSpec[]){IN("x", nx, x), IN("w", (size_t)C, w), IN("rstd", (size_t)N, rstd), IN("dout", nx, dout),
                           OUT("dx", nx, TOL_RMSNORM_BACKWARD), INOUT("dw", (size_t)C, dw0, TOL_RMSNORM_BACKWARD)},
               6, run_rmsnorm_bwd, &ctx);
        // dw is reduced without atomics: the same inputs give the same bits.
        GpuBuf gx = gpu_buf_new(gpu, x, nx * sizeof(float)),
               gw = gpu_buf_new(gpu, w, (size_t)C * sizeof(float)),
               gr = gpu_buf_new(gpu, rstd, (size_t)N * sizeof(float));
        GpuBuf gd = gpu_buf_new(gpu, dout, nx * sizeof(float)), gdx = gpu_buf_new(gpu, NULL, nx * sizeof(float));
        GpuBuf gdw1 = gpu_buf_new(gpu, dw0, (size_t)C * sizeof(float)),
               gdw2 = gpu_buf_new(gpu, dw0, (size_t)C * sizeof(float));
        gpu->rmsnorm_backward(gpu, gdx.d, gdw1.d, gd.d, gx.d, gw.d, gr.d, N, C);
        gpu->rmsnorm_backward(gpu, gdx.d, gdw2.d, gd.d, gx.d, gw.d, gr.d, N, C);
        float *d1 = malloc_check((size_t)C * sizeof(float)), *d2 = malloc_check((size_t)C * sizeof(float));
        gpu_buf_read(gpu, gdw1, d1, "rmsnorm dw (run 1)");
        gpu_buf_read(gpu, gdw2, d2, "rmsnorm dw (run 2)");
        EXPECT_MSG(memcmp(d1, d2, (size_t)C * sizeof(float)) == 0, "rmsnorm_backward N=%d C=%d: dw differs between runs", N, C);
        // dx may alias dout (dw must be computed before dx overwrites it).
        GpuBuf ga = gpu_buf_new(gpu, dout, nx * sizeof(float)), gdw3 = gpu_buf_new(gpu, dw0, (size_t)C * sizeof(float));
        gpu->rmsnorm_backward(gpu, ga.d, gdw3.d, ga.d, gx.d, gw.d, gr.d, N, C);
        float *dx_alias = malloc_check(nx * sizeof(float)), *dx_plain = malloc_check(nx * sizeof(float));
        float *d3 = malloc_check((size_t)C * sizeof(float));
        gpu_buf_read(gpu, ga, dx_alias, "rmsnorm dx (aliasing dout)");
        gpu_buf_read(gpu, gdx, dx_plain, "rmsnorm dx");
        gpu_buf_read(gpu, gdw3, d3, "rmsnorm dw (dx aliasing dout)");
        EXPECT_MSG(memcmp(dx_alias, dx_plain, nx * sizeof(float)) == 0, "rmsnorm_backward N=%d C=%d: dx differs when it aliases dout", N, C);
        EXPECT_MSG(memcmp(d3, d1, (size_t)C * sizeof(float)) == 0, "rmsnorm_backward N=%d C=%d: dw differs when dx aliases dout", N, C);
        GpuBuf all[] = {gx, gw, gr, gd, gdx, gdw1, gdw2, ga, gdw3};
        for (size_t i = 0; i < LPOI_ARRAY_LEN(all); i++) gpu->free(gpu, all[i].base);
        free(d1);
        free(d2);
        free(d3);
        free(dx_alias);
        free(dx_plain);
        cpu->free(cpu, xc);
        cpu->free(cpu, wc);
        cpu->free(cpu, oc);
        cpu->free(cpu, rstd);
        free(x);
        free(w);
        free(dout);
        free(dw0);
    }
}

// ====================================================================================================
// Helpers for the ops below

// int32 ids/targets/positions travel through the float-buffer harness bit for bit (the harness copies
// and compares bytes; small ints are denormal floats, which plain copies preserve).
static float *ints_as_floats(const int32_t *v, size_t n) {
    float *f = malloc_check(n * sizeof(float) + 1);
    memcpy(f, v, n * sizeof(float));
    return f;
}

// Runs `run` twice on the GPU from the same inputs and checks that buffer `out` comes out bit-identical
// (reductions without atomics must be deterministic). Buffers are as in parity(); outputs start as init.
static void gpu_twice_identical(const char *label, const BufSpec *spec, int nbuf, RunFn run, const void *ctx,
                                const int *outs, int nouts) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    float *got[2][MAX_BUFS] = {{0}};
    for (int rep = 0; rep < 2; rep++) {
        GpuBuf gb[MAX_BUFS];
        float *dev[MAX_BUFS];
        for (int k = 0; k < nbuf; k++) {
            gb[k] = gpu_buf_new(gpu, spec[k].init, spec[k].n * sizeof(float));
            dev[k] = gb[k].d;
        }
        run(gpu, dev, ctx);
        for (int o = 0; o < nouts; o++) {
            int k = outs[o];
            got[rep][k] = malloc_check(spec[k].n * sizeof(float) + 1);
            gpu_buf_read(gpu, gb[k], got[rep][k], label);
        }
        for (int k = 0; k < nbuf; k++) gpu->free(gpu, gb[k].base);
    }
    for (int o = 0; o < nouts; o++) {
        int k = outs[o];
        EXPECT_MSG(memcmp(got[0][k], got[1][k], spec[k].n * sizeof(float)) == 0, "%s: %s differs between two runs", label,
                   spec[k].name);
        free(got[0][k]);
        free(got[1][k]);
    }
}

// ====================================================================================================
// GEMM

typedef struct {
    bool ta, tb;
    int M, N, K, lda, ldb, ldc, batch;
    int64_t sa, sb, sc;
    float alpha, beta;
} GemmCtx;

static void run_gemm(Backend *be, float **b, const void *ctx) {
    const GemmCtx *g = ctx;
    be->gemm(be, g->ta, g->tb, g->M, g->N, g->K, g->alpha, b[0], g->lda, g->sa, b[1], g->ldb, g->sb, g->beta, b[2], g->ldc,
             g->sc, g->batch);
}

static void gemm_case(int M, int N, int K, bool ta, bool tb, int pad, int batch, bool shared_b, float alpha, float beta,
                      uint64_t seed) {
    GemmCtx g = {.ta = ta, .tb = tb, .M = M, .N = N, .K = K, .batch = batch, .alpha = alpha, .beta = beta};
    g.lda = (ta ? M : K) + pad;
    g.ldb = (tb ? K : N) + pad;
    g.ldc = N + pad;
    int64_t a_rows = ta ? K : M, b_rows = tb ? N : K;
    g.sa = a_rows * g.lda + pad;   // batch items not packed back to back either
    g.sb = shared_b ? 0 : b_rows * g.ldb;
    g.sc = (int64_t)M * g.ldc + 3 * pad;
    size_t na = (size_t)(g.sa * (batch - 1) + a_rows * g.lda) + 1, nb = (size_t)(g.sb * (batch - 1) + b_rows * g.ldb) + 1;
    size_t nc = (size_t)(g.sc * (batch - 1) + (int64_t)M * g.ldc) + 1;
    rng_seed(&rng, seed);
    float *a = random_floats(&rng, na, -1, 1), *bm = random_floats(&rng, nb, -1, 1), *c = random_floats(&rng, nc, -1, 1);
    if (beta == 0.0f)   // beta == 0 must ignore C, NaN included (padding keeps its values: it is compared too)
        for (int z = 0; z < batch; z++)
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) c[z * g.sc + (int64_t)i * g.ldc + j] = bits_to_float(GPU_POISON_BITS);
    char label[160];
    snprintf(label, sizeof label, "gemm %c%c M=%d N=%d K=%d pad=%d batch=%d%s alpha=%g beta=%g", ta ? 'T' : 'N',
             tb ? 'T' : 'N', M, N, K, pad, batch, shared_b ? " (B shared)" : "", alpha, beta);
    parity(label, (BufSpec[]){IN("A", na, a), IN("B", nb, bm), INOUT("C", nc, c, TOL_GEMM)}, 3, run_gemm, &g);
    free(a);
    free(bm);
    free(c);
}

TEST(cuda_gemm) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_GEMM)) return;
    static const struct { int M, N, K; } shapes[] = {{1, 1, 1}, {13, 17, 37}, {70, 33, 129}, {64, 64, 16}, {130, 257, 33}};
    uint64_t seed = 700;
    for (int t = 0; t < 4; t++)
        for (size_t si = 0; si < LPOI_ARRAY_LEN(shapes); si++)
            gemm_case(shapes[si].M, shapes[si].N, shapes[si].K, t & 1, t & 2, 0, 1, false, 1.0f, 0.0f, seed++);
    // strides wider than a row, batches (B shared by every item: stride 0), alpha/beta, K = 0 (C = beta C)
    gemm_case(31, 45, 19, false, true, 3, 3, false, 0.5f, 1.0f, seed++);
    gemm_case(31, 45, 19, true, false, 5, 2, true, -1.25f, -0.5f, seed++);
    gemm_case(129, 140, 9, true, true, 1, 2, false, 1.0f, 0.25f, seed++);
    gemm_case(5, 3, 0, false, false, 0, 1, false, 1.0f, 0.5f, seed++);
    gemm_case(5, 3, 0, false, false, 0, 1, false, 1.0f, 0.0f, seed++);
    gemm_case(4, 300, 4, false, true, 0, 1, false, 2.0f, 1.0f, seed++);   // LoRA-like skinny shapes
    gemm_case(300, 4, 70, true, false, 0, 1, false, 1.0f, 1.0f, seed++);
}

// ====================================================================================================
// Linear layer (matmul_forward / matmul_backward)

typedef struct { int N, C, OC; bool bias, dx, dw, db; } MatmulCtx;

// buffers: x, w, b, y
static void run_matmul_fwd(Backend *be, float **b, const void *ctx) {
    const MatmulCtx *m = ctx;
    be->matmul_forward(be, b[3], b[0], b[1], m->bias ? b[2] : NULL, m->N, m->C, m->OC);
}
// buffers: x, w, dy, dx, dw, db
static void run_matmul_bwd(Backend *be, float **b, const void *ctx) {
    const MatmulCtx *m = ctx;
    be->matmul_backward(be, m->dx ? b[3] : NULL, m->dw ? b[4] : NULL, m->db ? b[5] : NULL, b[2], b[0], b[1], m->N, m->C,
                        m->OC);
}

TEST(cuda_matmul) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_MATMUL_FORWARD) || !require_op(gpu, OP_MATMUL_BACKWARD)) return;
    static const struct { int N, C, OC; } shapes[] = {{1, 1, 1}, {7, 33, 45}, {67, 129, 45}, {130, 140, 150}, {300, 4, 9}};
    for (size_t si = 0; si < LPOI_ARRAY_LEN(shapes); si++) {
        int N = shapes[si].N, C = shapes[si].C, OC = shapes[si].OC;
        size_t nx = (size_t)N * C, nw = (size_t)OC * C, ny = (size_t)N * OC;
        rng_seed(&rng, 800 + si);
        float *x = random_floats(&rng, nx, -1, 1), *w = random_floats(&rng, nw, -1, 1), *bias = random_floats(&rng, (size_t)OC, -1, 1);
        float *dy = random_floats(&rng, ny, -1, 1), *dw0 = random_floats(&rng, nw, -0.5f, 0.5f), *db0 = random_floats(&rng, (size_t)OC, -0.5f, 0.5f);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            MatmulCtx m = {.N = N, .C = C, .OC = OC, .bias = with_bias};
            char label[96];
            snprintf(label, sizeof label, "matmul_forward N=%d C=%d OC=%d%s", N, C, OC, with_bias ? " +bias" : "");
            parity(label, (BufSpec[]){IN("x", nx, x), IN("w", nw, w), IN("b", (size_t)OC, bias), OUT("y", ny, TOL_GEMM)}, 4,
                   run_matmul_fwd, &m);
        }
        MatmulCtx m = {.N = N, .C = C, .OC = OC, .dx = true, .dw = true, .db = true};
        const BufSpec bwd[] = {IN("x", nx, x), IN("w", nw, w), IN("dy", ny, dy), OUT("dx", nx, TOL_GEMM),
                               INOUT("dw", nw, dw0, TOL_GEMM), INOUT("db", (size_t)OC, db0, TOL_GEMM)};
        char label[96];
        snprintf(label, sizeof label, "matmul_backward N=%d C=%d OC=%d", N, C, OC);
        parity(label, bwd, 6, run_matmul_bwd, &m);
        static const int outs[] = {3, 4, 5};
        gpu_twice_identical(label, bwd, 6, run_matmul_bwd, &m, outs, 3);
        MatmulCtx only_db = {.N = N, .C = C, .OC = OC, .db = true};   // NULL dx and dw are skipped
        snprintf(label, sizeof label, "matmul_backward (db only) N=%d C=%d OC=%d", N, C, OC);
        parity(label,
               (BufSpec[]){IN("x", nx, x), IN("w", nw, w), IN("dy", ny, dy), IN("dx", nx, x), IN("dw", nw, dw0),
                           INOUT("db", (size_t)OC, db0, TOL_GEMM)},
               6, run_matmul_bwd, &only_db);
        free(x);
        free(w);
        free(bias);
        free(dy);
        free(dw0);
        free(db0);
    }
}

// ====================================================================================================
// Embeddings

typedef struct { int N, C; } EmbCtx;

// buffers: ids, table, out
static void run_emb_fwd(Backend *be, float **b, const void *ctx) {
    const EmbCtx *e = ctx;
    be->embedding_forward(be, b[2], (const int32_t *)b[0], b[1], e->N, e->C);
}
// buffers: ids, dout, dtable
static void run_emb_bwd(Backend *be, float **b, const void *ctx) {
    const EmbCtx *e = ctx;
    be->embedding_backward(be, b[2], b[1], (const int32_t *)b[0], e->N, e->C);
}

TEST(cuda_embedding) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_EMBEDDING_FORWARD) || !require_op(gpu, OP_EMBEDDING_BACKWARD)) return;
    // V, C, N, and how many distinct ids the rows draw from (few: long runs of repeats, within and
    // across the kernel's groups of 8 rows)
    static const struct { int V, C, N, distinct; } cases[] = {{1, 1, 1, 1}, {101, 37, 23, 101}, {50, 300, 41, 3},
                                                              {7, 129, 100, 7}, {1000, 65, 17, 1000}};
    for (size_t ci = 0; ci < LPOI_ARRAY_LEN(cases); ci++) {
        int V = cases[ci].V, C = cases[ci].C, N = cases[ci].N;
        rng_seed(&rng, 900 + ci);
        int32_t *ids = malloc_check((size_t)N * sizeof *ids);
        for (int n = 0; n < N; n++) ids[n] = (int32_t)(rng_uniform(&rng) * (float)cases[ci].distinct) % V;
        ids[0] = V - 1;
        if (N > 2) ids[N - 1] = 0;
        float *fid = ints_as_floats(ids, (size_t)N);
        size_t nt = (size_t)V * C, no = (size_t)N * C;
        float *table = random_floats(&rng, nt, -1, 1), *dout = random_floats(&rng, no, -1, 1), *dtab0 = random_floats(&rng, nt, -0.5f, 0.5f);
        EmbCtx e = {.N = N, .C = C};
        char label[96];
        snprintf(label, sizeof label, "embedding_forward V=%d C=%d N=%d", V, C, N);
        parity(label, (BufSpec[]){IN("ids", (size_t)N, fid), IN("table", nt, table), OUT("out", no, TOL_EMBEDDING)}, 3,
               run_emb_fwd, &e);
        snprintf(label, sizeof label, "embedding_backward V=%d C=%d N=%d", V, C, N);
        parity(label, (BufSpec[]){IN("ids", (size_t)N, fid), IN("dout", no, dout), INOUT("dtable", nt, dtab0, TOL_EMBEDDING)},
               3, run_emb_bwd, &e);
        free(ids);
        free(fid);
        free(table);
        free(dout);
        free(dtab0);
    }
}

// ====================================================================================================
// LayerNorm

typedef struct { int N, C; float eps; bool dx, dw, db; } LnCtx;

// buffers: x, w, b, out, mean, rstd
static void run_ln_fwd(Backend *be, float **b, const void *ctx) {
    const LnCtx *c = ctx;
    be->layernorm_forward(be, b[3], b[4], b[5], b[0], b[1], b[2], c->N, c->C, c->eps);
}
// buffers: x, w, mean, rstd, dout, dx, dw, db
static void run_ln_bwd(Backend *be, float **b, const void *ctx) {
    const LnCtx *c = ctx;
    be->layernorm_backward(be, c->dx ? b[5] : NULL, c->dw ? b[6] : NULL, c->db ? b[7] : NULL, b[4], b[0], b[1], b[2], b[3],
                           c->N, c->C);
}

TEST(cuda_layernorm) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_LAYERNORM_FORWARD) || !require_op(gpu, OP_LAYERNORM_BACKWARD)) return;
    Backend *cpu = cpu_backend();
    static const struct { int N, C; } shapes[] = {{1, 1}, {3, 31}, {13, 37}, {5, 1000}, {129, 77}, {4, 777}};
    for (size_t si = 0; si < LPOI_ARRAY_LEN(shapes); si++) {
        int N = shapes[si].N, C = shapes[si].C;
        size_t nx = (size_t)N * C;
        rng_seed(&rng, 1000 + si);
        float *x = random_floats(&rng, nx, 2, 6);   // mean ~4: the variance must not come from E[x²] - E[x]²
        float *w = random_floats(&rng, (size_t)C, 0.5f, 1.5f), *bias = random_floats(&rng, (size_t)C, -1, 1);
        float *dout = random_floats(&rng, nx, -1, 1), *dw0 = random_floats(&rng, (size_t)C, -0.5f, 0.5f);
        float *db0 = random_floats(&rng, (size_t)C, -0.5f, 0.5f);
        LnCtx ctx = {.N = N, .C = C, .eps = si % 2 ? 1e-6f : 1e-5f, .dx = true, .dw = true, .db = true};
        char label[96];
        snprintf(label, sizeof label, "layernorm_forward N=%d C=%d", N, C);
        parity(label,
               (BufSpec[]){IN("x", nx, x), IN("w", (size_t)C, w), IN("b", (size_t)C, bias), OUT("out", nx, TOL_LAYERNORM_FORWARD),
                           OUT("mean", (size_t)N, TOL_LAYERNORM_FORWARD), OUT("rstd", (size_t)N, TOL_LAYERNORM_FORWARD)},
               6, run_ln_fwd, &ctx);
        // The backward gets the CPU's mean/rstd on both sides.
        float *xc = cpu->alloc(cpu, nx * sizeof(float)), *oc = cpu->alloc(cpu, nx * sizeof(float));
        float *mean = cpu->alloc(cpu, (size_t)N * sizeof(float)), *rstd = cpu->alloc(cpu, (size_t)N * sizeof(float));
        memcpy(xc, x, nx * sizeof(float));
        cpu->layernorm_forward(cpu, oc, mean, rstd, xc, w, bias, N, C, ctx.eps);
        const BufSpec bwd[] = {IN("x", nx, x), IN("w", (size_t)C, w), IN("mean", (size_t)N, mean),
                               IN("rstd", (size_t)N, rstd), IN("dout", nx, dout), OUT("dx", nx, TOL_LAYERNORM_BACKWARD),
                               INOUT("dw", (size_t)C, dw0, TOL_LAYERNORM_BACKWARD),
                               INOUT("db", (size_t)C, db0, TOL_LAYERNORM_BACKWARD)};
        snprintf(label, sizeof label, "layernorm_backward N=%d C=%d", N, C);
        parity(label, bwd, 8, run_ln_bwd, &ctx);
        static const int outs[] = {5, 6, 7};
        gpu_twice_identical(label, bwd, 8, run_ln_bwd, &ctx, outs, 3);
        // dx may alias dout (dw/db are reduced before dx overwrites it). The CPU backend writes dx first, so
        // the aliased GPU run is compared with the plain GPU run, bit for bit.
        {
            GpuBuf gb[8];
            float *dev[8];
            for (int k = 0; k < 8; k++) {
                gb[k] = gpu_buf_new(gpu, bwd[k].init, bwd[k].n * sizeof(float));
                dev[k] = gb[k].d;
            }
            GpuBuf ga = gpu_buf_new(gpu, dout, nx * sizeof(float)),
                   gw2 = gpu_buf_new(gpu, dw0, (size_t)C * sizeof(float)),
                   gb2 = gpu_buf_new(gpu, db0, (size_t)C * sizeof(float));
            run_ln_bwd(gpu, dev, &ctx);
            gpu->layernorm_backward(gpu, ga.d, gw2.d, gb2.d, ga.d, dev[0], dev[1], dev[2], dev[3], N, C);
            const GpuBuf pairs[3][2] = {{gb[5], ga}, {gb[6], gw2}, {gb[7], gb2}};
            static const char *names[] = {"dx", "dw", "db"};
            for (int p = 0; p < 3; p++) {
                size_t m = pairs[p][0].bytes / sizeof(float);
                float *u = malloc_check(m * sizeof(float)), *t = malloc_check(m * sizeof(float));
                gpu_buf_read(gpu, pairs[p][0], u, "layernorm_backward");
                gpu_buf_read(gpu, pairs[p][1], t, "layernorm_backward (dx aliases dout)");
                EXPECT_MSG(memcmp(u, t, m * sizeof(float)) == 0, "layernorm_backward N=%d C=%d: %s differs when dx aliases dout",
                           N, C, names[p]);
                free(u);
                free(t);
            }
            for (int k = 0; k < 8; k++) gpu->free(gpu, gb[k].base);
            gpu->free(gpu, ga.base);
            gpu->free(gpu, gw2.base);
            gpu->free(gpu, gb2.base);
        }
        LnCtx only_db = ctx;   // frozen weight: dx and dw NULL
        only_db.dx = only_db.dw = false;
        snprintf(label, sizeof label, "layernorm_backward (db only) N=%d C=%d", N, C);
        parity(label,
               (BufSpec[]){IN("x", nx, x), IN("w", (size_t)C, w), IN("mean", (size_t)N, mean), IN("rstd", (size_t)N, rstd),
                           IN("dout", nx, dout), IN("dx", nx, x), IN("dw", (size_t)C, dw0),
                           INOUT("db", (size_t)C, db0, TOL_LAYERNORM_BACKWARD)},
               8, run_ln_bwd, &only_db);
        cpu->free(cpu, xc);
        cpu->free(cpu, oc);
        cpu->free(cpu, mean);
        cpu->free(cpu, rstd);
        free(x);
        free(w);
        free(bias);
        free(dout);
        free(dw0);
        free(db0);
    }
}

// ====================================================================================================
// Softmax

typedef struct { int R, C; bool mask; } SmCtx;

// buffers: x, mask, out
static void run_sm_fwd(Backend *be, float **b, const void *ctx) {
    const SmCtx *s = ctx;
    be->softmax_forward(be, b[2], b[0], s->mask ? b[1] : NULL, s->R, s->C);
}
// out aliasing x: buffers x(=out), mask
static void run_sm_fwd_alias(Backend *be, float **b, const void *ctx) {
    const SmCtx *s = ctx;
    be->softmax_forward(be, b[0], b[0], s->mask ? b[1] : NULL, s->R, s->C);
}
// buffers: y, dout, dx
static void run_sm_bwd(Backend *be, float **b, const void *ctx) {
    const SmCtx *s = ctx;
    be->softmax_backward(be, b[2], b[1], b[0], s->R, s->C);
}

TEST(cuda_softmax) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_SOFTMAX_FORWARD) || !require_op(gpu, OP_SOFTMAX_BACKWARD)) return;
    Backend *cpu = cpu_backend();
    static const struct { int R, C; } shapes[] = {{1, 1}, {7, 101}, {3, 1000}, {33, 7}, {5, 300}};
    for (size_t si = 0; si < LPOI_ARRAY_LEN(shapes); si++) {
        int R = shapes[si].R, C = shapes[si].C;
        size_t n = (size_t)R * C;
        rng_seed(&rng, 1100 + si);
        float *x = random_floats(&rng, n, -100, 100), *dout = random_floats(&rng, n, -1, 1), *mask = random_floats(&rng, n, -2, 0);
        for (size_t i = 0; i < n; i += 3) mask[i] = -INFINITY;                 // masked entries
        for (int j = 0; j < C; j++) mask[(size_t)(R - 1) * C + j] = -INFINITY;  // a fully masked row: zeros
        for (int with_mask = 0; with_mask < 2; with_mask++) {
            SmCtx s = {.R = R, .C = C, .mask = with_mask};
            char label[96];
            snprintf(label, sizeof label, "softmax_forward R=%d C=%d%s", R, C, with_mask ? " +mask" : "");
            parity(label, (BufSpec[]){IN("x", n, x), IN("mask", n, mask), OUT("out", n, TOL_SOFTMAX)}, 3, run_sm_fwd, &s);
            snprintf(label, sizeof label, "softmax_forward (out aliases x) R=%d C=%d%s", R, C, with_mask ? " +mask" : "");
            parity(label, (BufSpec[]){INOUT("x=out", n, x, TOL_SOFTMAX), IN("mask", n, mask)}, 2, run_sm_fwd_alias, &s);
        }
        float *xc = cpu->alloc(cpu, n * sizeof(float)), *y = cpu->alloc(cpu, n * sizeof(float));
        memcpy(xc, x, n * sizeof(float));
        cpu->softmax_forward(cpu, y, xc, mask, R, C);   // includes the all-zero row
        SmCtx s = {.R = R, .C = C};
        char label[96];
        snprintf(label, sizeof label, "softmax_backward R=%d C=%d", R, C);
        parity(label, (BufSpec[]){IN("y", n, y), IN("dout", n, dout), OUT("dx", n, TOL_SOFTMAX)}, 3, run_sm_bwd, &s);
        cpu->free(cpu, xc);
        cpu->free(cpu, y);
        free(x);
        free(dout);
        free(mask);
    }
}

// ====================================================================================================
// RoPE

typedef struct { int B, T, H, D; float theta; bool backward, alias; } RopeCtx;

// buffers: pos, x, out (alias: pos, x=out)
static void run_rope(Backend *be, float **b, const void *ctx) {
    const RopeCtx *r = ctx;
    float *out = r->alias ? b[1] : b[2];
    const int32_t *pos = (const int32_t *)b[0];
    if (r->backward) be->rope_backward(be, out, b[1], pos, r->B, r->T, r->H, r->D, r->theta);
    else be->rope_forward(be, out, b[1], pos, r->B, r->T, r->H, r->D, r->theta);
}

TEST(cuda_rope) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_ROPE_FORWARD) || !require_op(gpu, OP_ROPE_BACKWARD)) return;
    // D = 600 has 300 frequencies: more than the kernel's shared chunk of 256. Two thetas with the same D
    // in a row check that the device copy of inv_freq follows theta.
    static const struct { int B, T, H, D, maxpos; float theta; } cases[] = {
        {2, 5, 3, 8, 20, 10000.0f}, {1, 6, 2, 64, 4096, 10000.0f}, {1, 6, 2, 64, 4096, 500000.0f},
        {2, 3, 1, 2, 100, 10000.0f}, {1, 2, 2, 600, 30000, 1000000.0f}, {3, 7, 4, 128, 131072, 10000.0f}};
    for (size_t ci = 0; ci < LPOI_ARRAY_LEN(cases); ci++) {
        int B = cases[ci].B, T = cases[ci].T, H = cases[ci].H, D = cases[ci].D;
        size_t rows = (size_t)B * T, n = rows * H * D;
        rng_seed(&rng, 1200 + ci);
        int32_t *pos = malloc_check(rows * sizeof *pos);
        for (size_t r = 0; r < rows; r++) pos[r] = (int32_t)(rng_uniform(&rng) * (float)cases[ci].maxpos);
        pos[0] = 0;
        pos[rows - 1] = cases[ci].maxpos - 1;
        float *fpos = ints_as_floats(pos, rows), *x = random_floats(&rng, n, -2, 2);
        for (int bwd = 0; bwd < 2; bwd++)
            for (int alias = 0; alias < 2; alias++) {
                RopeCtx r = {.B = B, .T = T, .H = H, .D = D, .theta = cases[ci].theta, .backward = bwd, .alias = alias};
                char label[128];
                snprintf(label, sizeof label, "rope_%s%s B=%d T=%d H=%d D=%d theta=%g", bwd ? "backward" : "forward",
                         alias ? " (in place)" : "", B, T, H, D, cases[ci].theta);
                if (alias)
                    parity(label, (BufSpec[]){IN("pos", rows, fpos), INOUT("x=out", n, x, TOL_ROPE)}, 2, run_rope, &r);
                else
                    parity(label, (BufSpec[]){IN("pos", rows, fpos), IN("x", n, x), OUT("out", n, TOL_ROPE)}, 3, run_rope, &r);
            }
        free(pos);
        free(fpos);
        free(x);
    }
}

// ====================================================================================================
// Log-probability of target tokens

typedef struct { int N, V; bool lse, alias; } LpCtx;

// buffers: logits, targets, logp, lse
static void run_lp_fwd(Backend *be, float **b, const void *ctx) {
    const LpCtx *l = ctx;
    be->logprob_forward(be, b[2], l->lse ? b[3] : NULL, b[0], (const int32_t *)b[1], l->N, l->V);
}
// buffers: logits, targets, lse, dlogp, dlogits (alias: logits=dlogits, targets, lse, dlogp)
static void run_lp_bwd(Backend *be, float **b, const void *ctx) {
    const LpCtx *l = ctx;
    be->logprob_backward(be, l->alias ? b[0] : b[4], b[3], b[0], b[2], (const int32_t *)b[1], l->N, l->V);
}

TEST(cuda_logprob) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_LOGPROB_FORWARD) || !require_op(gpu, OP_LOGPROB_BACKWARD)) return;
    Backend *cpu = cpu_backend();
    static const struct { int N, V; float scale; } cases[] = {{1, 1, 1}, {4, 1000, 10}, {6, 7, 3}, {3, 32003, 5}, {5, 300, 40}};
    for (size_t ci = 0; ci < LPOI_ARRAY_LEN(cases); ci++) {
        int N = cases[ci].N, V = cases[ci].V;
        size_t n = (size_t)N * V;
        rng_seed(&rng, 1300 + ci);
        float *x = random_floats(&rng, n, -cases[ci].scale, cases[ci].scale), *dlogp = random_floats(&rng, (size_t)N, -1, 1);
        int32_t *t = malloc_check((size_t)N * sizeof *t);
        for (int r = 0; r < N; r++) t[r] = (int32_t)(rng_uniform(&rng) * (float)V) % V;
        if (N > 1) t[1] = -100;                              // ignore index
        if (V > 10) {
            x[3] = 60.0f;                                    // an outlier: a near-certain target
            t[0] = 3;
            if (N > 2) { x[(size_t)2 * V + 5] = x[(size_t)2 * V + 9] = 50.0f; t[2] = 9; }   // a tied max: first index wins
        }
        float *ft = ints_as_floats(t, (size_t)N);
        for (int with_lse = 0; with_lse < 2; with_lse++) {
            LpCtx l = {.N = N, .V = V, .lse = with_lse};
            char label[96];
            snprintf(label, sizeof label, "logprob_forward N=%d V=%d%s", N, V, with_lse ? "" : " (lse NULL)");
            BufSpec spec[] = {IN("logits", n, x), IN("targets", (size_t)N, ft), OUT("logp", (size_t)N, TOL_LOGPROB),
                              OUT("lse", (size_t)N, TOL_LOGPROB)};
            if (!with_lse) spec[3] = (BufSpec)IN("lse (unused)", (size_t)N, dlogp);   // must stay untouched
            parity(label, spec, 4, run_lp_fwd, &l);
        }
        float *xc = cpu->alloc(cpu, n * sizeof(float)), *lse = cpu->alloc(cpu, (size_t)N * sizeof(float));
        float *lp = cpu->alloc(cpu, (size_t)N * sizeof(float));
        memcpy(xc, x, n * sizeof(float));
        cpu->logprob_forward(cpu, lp, lse, xc, t, N, V);
        for (int alias = 0; alias < 2; alias++) {
            LpCtx l = {.N = N, .V = V, .alias = alias};
            char label[96];
            snprintf(label, sizeof label, "logprob_backward%s N=%d V=%d", alias ? " (in place)" : "", N, V);
            if (alias)
                parity(label,
                       (BufSpec[]){INOUT("logits=dlogits", n, x, TOL_LOGPROB), IN("targets", (size_t)N, ft),
                                   IN("lse", (size_t)N, lse), IN("dlogp", (size_t)N, dlogp)},
                       4, run_lp_bwd, &l);
            else
                parity(label,
                       (BufSpec[]){IN("logits", n, x), IN("targets", (size_t)N, ft), IN("lse", (size_t)N, lse),
                                   IN("dlogp", (size_t)N, dlogp), OUT("dlogits", n, TOL_LOGPROB)},
                       5, run_lp_bwd, &l);
        }
        cpu->free(cpu, xc);
        cpu->free(cpu, lse);
        cpu->free(cpu, lp);
        free(x);
        free(dlogp);
        free(t);
        free(ft);
    }
}

// ====================================================================================================
// Attention

typedef struct { AttnDesc a; bool mask; } AttCtx;

// buffers: q, k, v, mask, out, lse
static void run_att_fwd(Backend *be, float **b, const void *ctx) {
    const AttCtx *c = ctx;
    AttnDesc a = c->a;
    a.key_mask = c->mask ? b[3] : NULL;
    be->attention_forward(be, b[4], b[5], b[0], b[1], b[2], &a);
}
// buffers: q, k, v, mask, out, lse, dout, dq, dk, dv
static void run_att_bwd(Backend *be, float **b, const void *ctx) {
    const AttCtx *c = ctx;
    AttnDesc a = c->a;
    a.key_mask = c->mask ? b[3] : NULL;
    be->attention_backward(be, b[7], b[8], b[9], b[6], b[0], b[1], b[2], b[4], b[5], &a);
}

typedef struct {
    const char *name;
    int B, Tq, Tk, H, KVH, D;
    bool causal;
    int window;
    int mask;   // 0: none; 1: random padding; 2: left padding (the first keys of batch item 0 masked)
} AttCase;

static void attention_case(const AttCase *tc, uint64_t seed) {
    Backend *cpu = cpu_backend();
    AttCtx c = {.a = {.B = tc->B, .Tq = tc->Tq, .Tk = tc->Tk, .H = tc->H, .KVH = tc->KVH, .D = tc->D,
                      .scale = 1.0f / sqrtf((float)tc->D), .causal = tc->causal, .window = tc->window},
                .mask = tc->mask != 0};
    size_t nq = (size_t)tc->B * tc->Tq * tc->H * tc->D, nk = (size_t)tc->B * tc->Tk * tc->KVH * tc->D;
    size_t nl = (size_t)tc->B * tc->H * tc->Tq, nm = (size_t)tc->B * tc->Tk;
    rng_seed(&rng, seed);
    float *q = random_floats(&rng, nq, -2, 2), *k = random_floats(&rng, nk, -2, 2), *v = random_floats(&rng, nk, -1, 1);
    float *dout = random_floats(&rng, nq, -1, 1), *mask = random_floats(&rng, nm + 1, 0, 1);
    for (size_t i = 0; i < nm; i++) mask[i] = mask[i] < 0.3f ? 0.0f : 1.0f;
    if (tc->mask == 2)
        for (int j = 0; j < tc->Tk; j++) mask[j] = j < tc->Tk / 2 + 1 ? 0.0f : 1.0f;
    char label[160];
    snprintf(label, sizeof label, "attention_forward %s B=%d Tq=%d Tk=%d H=%d KVH=%d D=%d%s win=%d%s", tc->name, tc->B, tc->Tq,
             tc->Tk, tc->H, tc->KVH, tc->D, tc->causal ? " causal" : "", tc->window, tc->mask ? " +mask" : "");
    parity(label,
           (BufSpec[]){IN("q", nq, q), IN("k", nk, k), IN("v", nk, v), IN("mask", nm, mask), OUT("out", nq, TOL_ATTENTION),
                       OUT("lse", nl, TOL_ATTENTION)},
           6, run_att_fwd, &c);
    // Backward from the CPU's forward results, on both sides.
    float *qc = cpu->alloc(cpu, nq * sizeof(float) + 4), *kc = cpu->alloc(cpu, nk * sizeof(float) + 4);
    float *vc = cpu->alloc(cpu, nk * sizeof(float) + 4), *mc = cpu->alloc(cpu, nm * sizeof(float) + 4);
    float *out = cpu->alloc(cpu, nq * sizeof(float) + 4), *lse = cpu->alloc(cpu, nl * sizeof(float) + 4);
    memcpy(qc, q, nq * sizeof(float));
    memcpy(kc, k, nk * sizeof(float));
    memcpy(vc, v, nk * sizeof(float));
    memcpy(mc, mask, nm * sizeof(float));
    AttnDesc a = c.a;
    a.key_mask = c.mask ? mc : NULL;
    cpu->attention_forward(cpu, out, lse, qc, kc, vc, &a);
    snprintf(label, sizeof label, "attention_backward %s B=%d Tq=%d Tk=%d H=%d KVH=%d D=%d%s win=%d%s", tc->name, tc->B,
             tc->Tq, tc->Tk, tc->H, tc->KVH, tc->D, tc->causal ? " causal" : "", tc->window, tc->mask ? " +mask" : "");
    const BufSpec bwd[] = {IN("q", nq, q), IN("k", nk, k), IN("v", nk, v), IN("mask", nm, mask), IN("out", nq, out),
                           IN("lse", nl, lse), IN("dout", nq, dout), OUT("dq", nq, TOL_ATTENTION),
                           OUT("dk", nk, TOL_ATTENTION), OUT("dv", nk, TOL_ATTENTION)};
    parity(label, bwd, 10, run_att_bwd, &c);
    static const int outs[] = {7, 8, 9};
    gpu_twice_identical(label, bwd, 10, run_att_bwd, &c, outs, 3);
    cpu->free(cpu, qc);
    cpu->free(cpu, kc);
    cpu->free(cpu, vc);
    cpu->free(cpu, mc);
    cpu->free(cpu, out);
    cpu->free(cpu, lse);
    free(q);
    free(k);
    free(v);
    free(dout);
    free(mask);
}

TEST(cuda_attention) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !require_op(gpu, OP_ATTENTION_FORWARD) || !require_op(gpu, OP_ATTENTION_BACKWARD)) return;
    // Small shapes (the emulator runs every GPU thread as a coroutine) that still cross every tile edge:
    // forward tiles are 16 queries × 32 keys, backward tiles 16 × 16 (8 × 8 for D > 128).
    static const AttCase cases[] = {
        {"basic", 2, 7, 7, 2, 2, 16, false, 0, 0},
        {"gqa", 1, 37, 37, 4, 2, 8, true, 0, 0},
        {"chunk", 2, 4, 9, 4, 1, 8, true, 3, 1},              // Tq < Tk (cached prefix), MQA, window, padding
        {"decode", 1, 1, 40, 2, 1, 32, true, 0, 1},           // one query sees every cached key
        {"leftpad", 2, 12, 12, 2, 2, 8, true, 0, 2},          // early queries of item 0 see no key: out 0, lse -inf
        {"window", 1, 33, 33, 2, 1, 24, true, 5, 0},
        {"cross", 2, 5, 19, 3, 3, 12, false, 0, 1},           // bidirectional, padded keys
        {"tq>tk", 1, 9, 5, 2, 2, 8, true, 0, 0},              // the first queries sit before every key
        {"bigwindow", 1, 6, 6, 1, 1, 4, true, 2147483647, 0},
        {"d72", 1, 18, 35, 2, 1, 72, true, 0, 1},
        {"d160", 1, 10, 11, 2, 1, 160, true, 4, 1},           // the d256 kernels (8 × 8 backward tiles)
        {"d1", 1, 3, 3, 1, 1, 1, false, 0, 0},
        {"tk0", 1, 3, 0, 2, 1, 8, false, 0, 0},               // no keys at all
    };
    for (size_t ci = 0; ci < LPOI_ARRAY_LEN(cases); ci++) attention_case(&cases[ci], 1400 + ci);
}
