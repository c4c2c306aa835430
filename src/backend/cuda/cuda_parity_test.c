// cuda_parity_test.c — the CUDA backend against the CPU backend, op by op.
// Every op runs on both backends from the same random inputs at odd sizes (1, 31, 256, 1000003, rows of
// 1..5121 columns). On the GPU each buffer sits between two guard regions of sentinel floats, outputs
// start poisoned with NaN (so an element the kernel never writes fails the comparison), inputs are
// checked unchanged afterwards, and the guards are checked intact. Tolerances are named per op below.
// Without a GPU (or without embedded PTX) the parity tests skip; the variant-choice, PTX-signature and
// creation tests run everywhere.
#include "test/test.h"
#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"
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

static const size_t SIZES[] = {1, 31, 256, 1000003};   // 1000003 > one full wave of threads: grid-stride path

// ---- backends ----

static Backend *cpu_backend(void) {
    static Backend *cpu;
    if (!cpu) cpu = backend_cpu_create();
    return cpu;
}

// The CUDA backend, created once for all tests; NULL (and the test marked skipped) when unavailable.
static Backend *cuda_or_skip(void) {
    static Backend *gpu;
    static bool tried;
    static LpoiErr why;
    if (!tried) {
        tried = true;
        gpu = backend_cuda_create(0, &why);
    }
    if (!gpu) {
        char msg[600];
        snprintf(msg, sizeof msg, "no CUDA backend: %s", why.msg);
        test_skip(msg);
    }
    return gpu;
}

static bool require_op(Backend *gpu, OpId op) {
    if (backend_supports(gpu, op)) return true;
    test_fail_at(__FILE__, __LINE__, "the CUDA backend does not implement %s", op_name(op));
    return false;
}

// ---- random inputs (xorshift64*, fixed seeds: failures reproduce) ----

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }
static float rng_uniform(float lo, float hi) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t r = rng_state * 0x2545F4914F6CDD1Dull;
    return lo + (hi - lo) * (float)((double)(r >> 40) / (double)(1ull << 24));
}
static float *random_floats(size_t n, float lo, float hi) {
    float *x = malloc_check(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = rng_uniform(lo, hi);
    return x;
}
// Overwrites the first few elements with values that exercise the tails of exp/erf/tanh.
static void put_extremes(float *x, size_t n) {
    static const float special[] = {0.0f, -0.0f, 1e-7f, -1e-7f, 20.0f, -20.0f, 88.0f, -88.0f, 100.0f, -100.0f, 0.5f, -3.0f};
    for (size_t i = 0; i < n && i < LPOI_ARRAY_LEN(special); i++) x[i] = special[i];
}

// ---- guarded GPU buffers ----

#define GUARD 64                                  // floats of sentinel before and after every GPU buffer
static const uint32_t SENTINEL_BITS = 0xC0DEC0DEu; // -6.96...: a normal float no kernel should produce
static const uint32_t POISON_BITS = 0x7FC0DEADu;   // a quiet NaN: "never written"

static float bits_to_float(uint32_t b) { float f; memcpy(&f, &b, sizeof f); return f; }
static uint32_t float_to_bits(float f) { uint32_t b; memcpy(&b, &f, sizeof b); return b; }

typedef struct {
    float *base;   // device allocation: GUARD + n + GUARD floats
    float *d;      // base + GUARD: what the op sees
    size_t n;
} GpuBuf;

static GpuBuf gpu_buf_new(Backend *gpu, const float *init, size_t n) {
    size_t total = n + 2 * GUARD;
    float *h = malloc_check(total * sizeof *h);
    for (size_t i = 0; i < total; i++) h[i] = bits_to_float(SENTINEL_BITS);
    for (size_t i = 0; i < n; i++) h[GUARD + i] = init ? init[i] : bits_to_float(POISON_BITS);
    GpuBuf b = {.n = n};
    b.base = gpu->alloc(gpu, total * sizeof(float));
    b.d = b.base + GUARD;   // device address arithmetic, never dereferenced on the host
    gpu->upload(gpu, b.base, h, total * sizeof(float));
    free(h);
    return b;
}

// Downloads the buffer into out[n] and checks both guards; `what` names it in failures.
static void gpu_buf_read(Backend *gpu, GpuBuf b, float *out, const char *what) {
    size_t total = b.n + 2 * GUARD;
    float *h = malloc_check(total * sizeof *h);
    gpu->download(gpu, h, b.base, total * sizeof(float));
    for (size_t i = 0; i < total; i++) {
        if (i >= GUARD && i < GUARD + b.n) continue;
        uint32_t bits = float_to_bits(h[i]);
        if (bits != SENTINEL_BITS) {
            bool before = i < GUARD;
            test_fail_at(__FILE__, __LINE__, "%s: guard %s the buffer overwritten at offset %s%zu (bits 0x%08x)", what,
                         before ? "before" : "after", before ? "-" : "+", before ? GUARD - i : i - GUARD - b.n, bits);
            break;
        }
    }
    memcpy(out, h + GUARD, b.n * sizeof(float));
    free(h);
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

#define MAX_BUFS 8

// Runs the op on both backends and compares. out_cpu/out_gpu (optional) receive copies of the results
// of buffer `keep` for extra checks by the caller (malloc'd; caller frees).
static void parity_run(const char *label, const BufSpec *spec, int nbuf, RunFn run, const void *ctx, int keep,
                       float **keep_cpu, float **keep_gpu) {
    Backend *cpu = cpu_backend(), *gpu = cuda_or_skip();
    if (!gpu) return;
    LPOI_ASSERT(nbuf <= MAX_BUFS);
    float *cbuf[MAX_BUFS], *gdev[MAX_BUFS];
    GpuBuf gbuf[MAX_BUFS];
    for (int k = 0; k < nbuf; k++) {
        cbuf[k] = cpu->alloc(cpu, spec[k].n * sizeof(float) + 1);
        for (size_t i = 0; i < spec[k].n; i++) cbuf[k][i] = spec[k].init ? spec[k].init[i] : bits_to_float(POISON_BITS);
        gbuf[k] = gpu_buf_new(gpu, spec[k].init, spec[k].n);
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
            expect_close_f32_at(__FILE__, __LINE__, what, got, cbuf[k], spec[k].n, spec[k].tol.atol, spec[k].tol.rtol);
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

// The kernel signatures in cuda_ops.c against the .entry parameter lists nvcc wrote, in every variant.
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
    static const OpId implemented[] = {OP_ADD, OP_AXPY, OP_SCALE, OP_SUM_SQUARES, OP_SILU_FORWARD, OP_SILU_BACKWARD,
                                       OP_SWIGLU_FORWARD, OP_SWIGLU_BACKWARD, OP_GELU_FORWARD, OP_GELU_BACKWARD,
                                       OP_ADAMW_UPDATE, OP_RMSNORM_FORWARD, OP_RMSNORM_BACKWARD};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(implemented); i++)
        EXPECT_MSG(backend_supports(be, implemented[i]), "cuda lacks %s", op_name(implemented[i]));
    EXPECT_MSG(!backend_supports(be, OP_GEMM), "gemm has no CUDA kernel yet: the slot must stay NULL");
    backend_destroy(be);
    EXPECT(!backend_cuda_create(-1, &err) && err.msg[0]);
}

// ====================================================================================================
// Memory

TEST(cuda_memory_roundtrip) {
    Backend *gpu = cuda_or_skip();
    if (!gpu) return;
    rng_seed(1);
    size_t n = 100003;
    float *x = random_floats(n, -1, 1);
    GpuBuf b = gpu_buf_new(gpu, x, n);
    float *back = malloc_check(n * sizeof *back);
    gpu_buf_read(gpu, b, back, "roundtrip");
    EXPECT_MSG(memcmp(back, x, n * sizeof *x) == 0, "download(upload(x)) != x");
    // fill_zero on an unaligned interior range leaves its neighbours alone
    size_t off = 3, len = 1000;
    gpu->fill_zero(gpu, b.d + off, len * sizeof(float));
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
    Backend *gpu = cuda_or_skip();
    if (!gpu || !require_op(gpu, OP_ADD) || !require_op(gpu, OP_AXPY) || !require_op(gpu, OP_SCALE)) return;
    for (size_t si = 0; si < LPOI_ARRAY_LEN(SIZES); si++) {
        size_t n = SIZES[si];
        rng_seed(100 + si);
        float *a = random_floats(n, -2, 2), *b = random_floats(n, -2, 2);
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
    Backend *gpu = cuda_or_skip();
    if (!gpu || !require_op(gpu, OP_SUM_SQUARES)) return;
    Backend *cpu = cpu_backend();
    static const size_t sizes[] = {1, 31, 256, 257, 1000003, 4194305};
    for (size_t si = 0; si < LPOI_ARRAY_LEN(sizes); si++) {
        size_t n = sizes[si];
        rng_seed(200 + si);
        float *x = random_floats(n, -3, 3);
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
        GpuBuf b = gpu_buf_new(gpu, x, n);
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
    Backend *gpu = cuda_or_skip();
    if (!gpu) return;
    if (!require_op(gpu, OP_SILU_FORWARD) || !require_op(gpu, OP_SILU_BACKWARD) || !require_op(gpu, OP_SWIGLU_FORWARD) ||
        !require_op(gpu, OP_SWIGLU_BACKWARD))
        return;
    for (size_t si = 0; si < LPOI_ARRAY_LEN(SIZES); si++) {
        size_t n = SIZES[si];
        rng_seed(300 + si);
        float *x = random_floats(n, -8, 8), *up = random_floats(n, -2, 2), *dout = random_floats(n, -1, 1);
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
    Backend *gpu = cuda_or_skip();
    if (!gpu || !require_op(gpu, OP_GELU_FORWARD) || !require_op(gpu, OP_GELU_BACKWARD)) return;
    static const GeluKind kinds[] = {GELU_ERF, GELU_TANH, GELU_QUICK};
    static const char *kind_names[] = {"erf", "tanh", "quick"};
    for (size_t ki = 0; ki < 3; ki++) {
        for (size_t si = 0; si < LPOI_ARRAY_LEN(SIZES); si++) {
            size_t n = SIZES[si];
            rng_seed(400 + 10 * ki + si);
            float *x = random_floats(n, -8, 8), *dout = random_floats(n, -1, 1);
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
    Backend *gpu = cuda_or_skip();
    if (!gpu || !require_op(gpu, OP_ADAMW_UPDATE)) return;
    static const struct { float lr, wd; int step; } cases[] = {{1e-3f, 0.01f, 1}, {1e-3f, 0.0f, 2}, {3e-4f, 0.1f, 10}, {1e-2f, 0.01f, 1000}};
    for (size_t ci = 0; ci < LPOI_ARRAY_LEN(cases); ci++) {
        for (size_t si = 0; si < LPOI_ARRAY_LEN(SIZES); si++) {
            size_t n = SIZES[si];
            rng_seed(500 + 10 * ci + si);
            float *p = random_floats(n, -1, 1), *g = random_floats(n, -1, 1);
            float *m = random_floats(n, -0.1f, 0.1f), *v = random_floats(n, 1e-4f, 1e-2f);
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
    Backend *gpu = cuda_or_skip();
    if (!gpu || !require_op(gpu, OP_RMSNORM_FORWARD) || !require_op(gpu, OP_RMSNORM_BACKWARD)) return;
    Backend *cpu = cpu_backend();
    for (size_t si = 0; si < LPOI_ARRAY_LEN(NORM_SHAPES); si++) {
        int N = NORM_SHAPES[si].N, C = NORM_SHAPES[si].C;
        size_t nx = (size_t)N * (size_t)C;
        rng_seed(600 + si);
        float *x = random_floats(nx, -2, 2), *w = random_floats((size_t)C, 0.5f, 1.5f);
        float *dout = random_floats(nx, -1, 1), *dw0 = random_floats((size_t)C, -0.5f, 0.5f);
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
        GpuBuf gx = gpu_buf_new(gpu, x, nx), gw = gpu_buf_new(gpu, w, (size_t)C), gr = gpu_buf_new(gpu, rstd, (size_t)N);
        GpuBuf gd = gpu_buf_new(gpu, dout, nx), gdx = gpu_buf_new(gpu, NULL, nx);
        GpuBuf gdw1 = gpu_buf_new(gpu, dw0, (size_t)C), gdw2 = gpu_buf_new(gpu, dw0, (size_t)C);
        gpu->rmsnorm_backward(gpu, gdx.d, gdw1.d, gd.d, gx.d, gw.d, gr.d, N, C);
        gpu->rmsnorm_backward(gpu, gdx.d, gdw2.d, gd.d, gx.d, gw.d, gr.d, N, C);
        float *d1 = malloc_check((size_t)C * sizeof(float)), *d2 = malloc_check((size_t)C * sizeof(float));
        gpu_buf_read(gpu, gdw1, d1, "rmsnorm dw (run 1)");
        gpu_buf_read(gpu, gdw2, d2, "rmsnorm dw (run 2)");
        EXPECT_MSG(memcmp(d1, d2, (size_t)C * sizeof(float)) == 0, "rmsnorm_backward N=%d C=%d: dw differs between runs", N, C);
        // dx may alias dout (dw must be computed before dx overwrites it).
        GpuBuf ga = gpu_buf_new(gpu, dout, nx), gdw3 = gpu_buf_new(gpu, dw0, (size_t)C);
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
