// cuda_gdino_parity_test.c — the Grounding DINO ops (deformable attention, GroupNorm, window attention) on the
// CUDA backend against the CPU backend, from the same random inputs, at shapes that cross the kernels' edges
// (value tiles of 32 columns, channel slices of 32, windows of 49 tokens). Each GPU run uses guarded buffers
// (cuda_fixture_test.h) with outputs poisoned, inputs must come back unchanged, and the GPU runs every case
// twice: the two runs must agree bit for bit (the backward kernels claim determinism without atomics).
#include "backend/cuda/cuda_fixture_test.h"
#include "base/check.h"
#include <math.h>
#include <string.h>

typedef struct { double atol, rtol; } GdTol;
static const GdTol GD_TOL_MSDA = {2e-5, 1e-4};        // fp32 sums over L·P samples in other orders, FMA on the GPU
static const GdTol GD_TOL_MSDA_LOC = {1e-4, 1e-4};    // dloc scales the channel sums by the grid size
static const GdTol GD_TOL_NORM_FORWARD = {2e-6, 1e-5};
static const GdTol GD_TOL_NORM_BACKWARD = {1e-5, 1e-4};
static const GdTol GD_TOL_WINDOW = {1e-5, 1e-4};      // scores, softmax and P·V summed in other orders

// One buffer of a case: an input (init, compared unchanged), an output (init NULL: poisoned), or an output that
// accumulates (init given, out true).
typedef struct { const char *name; size_t n; const float *init; bool out; GdTol tol; } GdBuf;
typedef void (*GdRun)(Backend *be, float **buf, const void *ctx);
#define GD_MAX_BUFS 12
#define GD_IN(name_, n_, init_) {(name_), (n_), (init_), false, {0, 0}}
#define GD_OUT(name_, n_, tol_) {(name_), (n_), NULL, true, tol_}
#define GD_ACC(name_, n_, init_, tol_) {(name_), (n_), (init_), true, tol_}

static void gd_parity(const char *label, const GdBuf *spec, int nb, GdRun run, const void *ctx) {
    Backend *cpu = cpu_backend(), *gpu = gpu_or_skip();
    if (!gpu) return;
    LPOI_ASSERT(nb <= GD_MAX_BUFS);
    float *cb[GD_MAX_BUFS], *runs[2][GD_MAX_BUFS];
    for (int k = 0; k < nb; k++) {
        cb[k] = cpu->alloc(cpu, spec[k].n * sizeof(float) + 1);
        for (size_t i = 0; i < spec[k].n; i++) cb[k][i] = spec[k].init ? spec[k].init[i] : bits_to_float(GPU_POISON_BITS);
    }
    run(cpu, cb, ctx);
    for (int pass = 0; pass < 2; pass++) {
        GpuBuf g[GD_MAX_BUFS];
        float *dev[GD_MAX_BUFS];
        for (int k = 0; k < nb; k++) {
            g[k] = gpu_buf_new(gpu, spec[k].init, spec[k].n * sizeof(float));
            dev[k] = g[k].d;
        }
        run(gpu, dev, ctx);
        gpu->synchronize(gpu);
        for (int k = 0; k < nb; k++) {
            char what[160];
            snprintf(what, sizeof what, "%s: %s[%zu]", label, spec[k].name, spec[k].n);
            runs[pass][k] = malloc_check(spec[k].n * sizeof(float) + 1);
            gpu_buf_read(gpu, g[k], runs[pass][k], what);
            gpu->free(gpu, g[k].base);
            if (!spec[k].out && memcmp(runs[pass][k], spec[k].init, spec[k].n * sizeof(float)) != 0)
                test_fail_at(__FILE__, __LINE__, "%s: an input was modified on the GPU", what);
            else if (spec[k].out && pass == 0)
                expect_close_f32_at(__FILE__, __LINE__, what, runs[0][k], cb[k], spec[k].n, spec[k].tol.atol, spec[k].tol.rtol);
            else if (spec[k].out && memcmp(runs[0][k], runs[1][k], spec[k].n * sizeof(float)) != 0)
                test_fail_at(__FILE__, __LINE__, "%s: two GPU runs gave different bits", what);
        }
    }
    for (int k = 0; k < nb; k++) {
        cpu->free(cpu, cb[k]);
        free(runs[0][k]);
        free(runs[1][k]);
    }
}

static bool gd_require(Backend *gpu, OpId a, OpId b) {
    if (backend_supports(gpu, a) && backend_supports(gpu, b)) return true;
    test_fail_at(__FILE__, __LINE__, "the CUDA backend lacks %s or %s", op_name(a), op_name(b));
    return false;
}

// ---- multi-scale deformable attention ----

typedef struct { int B, S, Q, H, D, L, P; const int *hw; } MsdaCase;

static void run_msda_fwd(Backend *be, float **b, const void *ctx) {
    const MsdaCase *m = ctx;
    be->msda_forward(be, b[3], b[0], b[1], b[2], m->hw, m->B, m->S, m->Q, m->H, m->D, m->L, m->P);
}
static void run_msda_bwd(Backend *be, float **b, const void *ctx) {
    const MsdaCase *m = ctx;
    be->msda_backward(be, b[4], b[5], b[6], b[3], b[0], b[1], b[2], m->hw, m->B, m->S, m->Q, m->H, m->D, m->L, m->P);
}

// Each half of the backward alone (the other's outputs NULL): dvalue only, then dloc and dattn only.
static void run_msda_bwd_value(Backend *be, float **b, const void *ctx) {
    const MsdaCase *m = ctx;
    be->msda_backward(be, b[4], NULL, NULL, b[3], b[0], b[1], b[2], m->hw, m->B, m->S, m->Q, m->H, m->D, m->L, m->P);
}
static void run_msda_bwd_sample(Backend *be, float **b, const void *ctx) {
    const MsdaCase *m = ctx;
    be->msda_backward(be, NULL, b[4], b[5], b[3], b[0], b[1], b[2], m->hw, m->B, m->S, m->Q, m->H, m->D, m->L, m->P);
}

static void msda_parity(const char *label, int B, int Q, int H, int D, int P, const int *hw, int L, uint64_t seed) {
    MsdaCase m = {B, 0, Q, H, D, L, P, hw};
    for (int l = 0; l < L; l++) m.S += hw[2 * l] * hw[2 * l + 1];
    size_t nv = (size_t)B * m.S * H * D, ns = (size_t)B * Q * H * L * P, no = (size_t)B * Q * H * D;
    Rng rng;
    rng_seed(&rng, seed);
    float *value = random_floats(&rng, nv, -1, 1), *loc = random_floats(&rng, 2 * ns, -0.15f, 1.15f);
    float *attn = random_floats(&rng, ns, 0, 1), *dout = random_floats(&rng, no, -1, 1);
    char l1[96], l2[96];
    snprintf(l1, sizeof l1, "msda_forward %s", label);
    snprintf(l2, sizeof l2, "msda_backward %s", label);
    gd_parity(l1, (GdBuf[]){GD_IN("value", nv, value), GD_IN("loc", 2 * ns, loc), GD_IN("attn", ns, attn),
                            GD_OUT("out", no, GD_TOL_MSDA)}, 4, run_msda_fwd, &m);
    gd_parity(l2, (GdBuf[]){GD_IN("value", nv, value), GD_IN("loc", 2 * ns, loc), GD_IN("attn", ns, attn),
                            GD_IN("dout", no, dout), GD_OUT("dvalue", nv, GD_TOL_MSDA),
                            GD_OUT("dloc", 2 * ns, GD_TOL_MSDA_LOC), GD_OUT("dattn", ns, GD_TOL_MSDA)},
              7, run_msda_bwd, &m);
    gd_parity(l2, (GdBuf[]){GD_IN("value", nv, value), GD_IN("loc", 2 * ns, loc), GD_IN("attn", ns, attn),
                            GD_IN("dout", no, dout), GD_OUT("dvalue alone", nv, GD_TOL_MSDA)}, 5, run_msda_bwd_value, &m);
    gd_parity(l2, (GdBuf[]){GD_IN("value", nv, value), GD_IN("loc", 2 * ns, loc), GD_IN("attn", ns, attn),
                            GD_IN("dout", no, dout), GD_OUT("dloc without dvalue", 2 * ns, GD_TOL_MSDA_LOC),
                            GD_OUT("dattn without dvalue", ns, GD_TOL_MSDA)}, 6, run_msda_bwd_sample, &m);
    free(value); free(loc); free(attn); free(dout);
}

TEST(cuda_msda) {
    Backend *gpu = gpu_or_skip();
    if (!gpu || !gd_require(gpu, OP_MSDA_FORWARD, OP_MSDA_BACKWARD)) return;
    static const int wide[] = {5, 70, 3, 33, 1, 1};         // 3 and 2 column tiles, a 1x1 level
    msda_parity("B=2 Q=9 H=2 D=40 P=3 levels 5x70 3x33 1x1", 2, 9, 2, 40, 3, wide, 3, 1);   // two channel slices
    static const int gdino[] = {6, 9, 3, 5, 2, 3, 1, 2};   // Grounding DINO's heads and points on small levels
    msda_parity("B=1 Q=6 H=8 D=32 P=4 levels 6x9 3x5 2x3 1x2", 1, 6, 8, 32, 4, gdino, 4, 2);
}

// ---- GroupNorm ----

typedef struct { int N, P, C, G; } GnCase;

static void run_gn_fwd(Backend *be, float **b, const void *ctx) {
    const GnCase *g = ctx;
    be->groupnorm_forward(be, b[3], b[4], b[5], b[0], b[1], b[2], g->N, g->P, g->C, g->G, 1e-5f);
}
static void run_gn_bwd(Backend *be, float **b, const void *ctx) {
    const GnCase *g = ctx;
    be->groupnorm_backward(be, b[6], b[7], b[8], b[5], b[0], b[1], b[3], b[4], g->N, g->P, g->C, g->G);
}

TEST(cuda_groupnorm) {
    Backend *gpu = gpu_or_skip(), *cpu = cpu_backend();
    if (!gpu || !gd_require(gpu, OP_GROUPNORM_FORWARD, OP_GROUPNORM_BACKWARD)) return;
    static const GnCase cases[] = {{2, 37, 64, 32}, {1, 5, 12, 4}, {3, 300, 16, 2}};   // last: rows > 256 threads
    for (size_t ci = 0; ci < LPOI_ARRAY_LEN(cases); ci++) {
        const GnCase *g = &cases[ci];
        size_t n = (size_t)g->N * g->P * g->C, ng = (size_t)g->N * g->G;
        Rng rng;
        rng_seed(&rng, 10 + ci);
        float *x = random_floats(&rng, n, -2, 3), *w = random_floats(&rng, g->C, 0.5f, 1.5f);
        float *b = random_floats(&rng, g->C, -0.5f, 0.5f), *dout = random_floats(&rng, n, -1, 1);
        float *acc = random_floats(&rng, g->C, -1, 1);   // dw, db start from these (+=)
        float *mean = cpu->alloc(cpu, ng * sizeof(float)), *rstd = cpu->alloc(cpu, ng * sizeof(float));
        float *tmp = cpu->alloc(cpu, n * sizeof(float));
        cpu->groupnorm_forward(cpu, tmp, mean, rstd, x, w, b, g->N, g->P, g->C, g->G, 1e-5f);   // the saved stats
        char l1[96], l2[96];
        snprintf(l1, sizeof l1, "groupnorm_forward N=%d P=%d C=%d G=%d", g->N, g->P, g->C, g->G);
        snprintf(l2, sizeof l2, "groupnorm_backward N=%d P=%d C=%d G=%d", g->N, g->P, g->C, g->G);
        gd_parity(l1, (GdBuf[]){GD_IN("x", n, x), GD_IN("w", g->C, w), GD_IN("b", g->C, b),
                                GD_OUT("out", n, GD_TOL_NORM_FORWARD), GD_OUT("mean", ng, GD_TOL_NORM_FORWARD),
                                GD_OUT("rstd", ng, GD_TOL_NORM_FORWARD)}, 6, run_gn_fwd, g);
        gd_parity(l2, (GdBuf[]){GD_IN("x", n, x), GD_IN("w", g->C, w), GD_IN("b", g->C, b), GD_IN("mean", ng, mean),
                                GD_IN("rstd", ng, rstd), GD_IN("dout", n, dout), GD_OUT("dx", n, GD_TOL_NORM_BACKWARD),
                                GD_ACC("dw", g->C, acc, GD_TOL_NORM_BACKWARD),
                                GD_ACC("db", g->C, acc, GD_TOL_NORM_BACKWARD)}, 9, run_gn_bwd, g);
        cpu->free(cpu, mean); cpu->free(cpu, rstd); cpu->free(cpu, tmp);
        free(x); free(w); free(b); free(dout); free(acc);
    }
}

// ---- window attention ----

typedef struct { int BW, nW, N, H, D; float scale; bool masked; } WinCase;

static void run_win_fwd(Backend *be, float **b, const void *ctx) {
    const WinCase *w = ctx;
    be->window_attention_forward(be, b[5], b[6], b[0], b[1], b[2], b[3], w->masked ? b[4] : NULL, w->BW, w->nW, w->N,
                                 w->H, w->D, w->scale);
}
static void run_win_bwd(Backend *be, float **b, const void *ctx) {
    const WinCase *w = ctx;
    be->window_attention_backward(be, b[8], b[9], b[10], b[11], b[7], b[0], b[1], b[2], b[3], w->masked ? b[4] : NULL,
                                  b[5], b[6], w->BW, w->nW, w->N, w->H, w->D, w->scale);
}

TEST(cuda_window_attention) {
    Backend *gpu = gpu_or_skip(), *cpu = cpu_backend();
    if (!gpu || !gd_require(gpu, OP_WINDOW_ATTENTION_FORWARD, OP_WINDOW_ATTENTION_BACKWARD)) return;
    static const WinCase cases[] = {{8, 4, 49, 3, 32, 0.17677669f, true}, {3, 1, 9, 2, 5, 0.4472136f, false}};
    for (size_t ci = 0; ci < LPOI_ARRAY_LEN(cases); ci++) {
        const WinCase *w = &cases[ci];
        size_t n = (size_t)w->BW * w->N * w->H * w->D, nb = (size_t)w->N * w->N * w->H, nm = (size_t)w->nW * w->N * w->N;
        size_t nl = (size_t)w->BW * w->H * w->N;
        Rng rng;
        rng_seed(&rng, 20 + ci);
        float *q = random_floats(&rng, n, -2, 2), *k = random_floats(&rng, n, -2, 2), *v = random_floats(&rng, n, -1, 1);
        float *bias = random_floats(&rng, nb, -1, 1), *mask = random_floats(&rng, nm, 0, 1), *dout = random_floats(&rng, n, -1, 1);
        for (size_t i = 0; i < nm; i++) mask[i] = mask[i] < 0.3f ? -100.0f : 0.0f;   // HF's two mask values
        float *out = cpu->alloc(cpu, n * sizeof(float)), *lse = cpu->alloc(cpu, nl * sizeof(float));
        cpu->window_attention_forward(cpu, out, lse, q, k, v, bias, w->masked ? mask : NULL, w->BW, w->nW, w->N, w->H,
                                      w->D, w->scale);
        char l1[96], l2[96];
        snprintf(l1, sizeof l1, "window_attention_forward BW=%d N=%d H=%d D=%d%s", w->BW, w->N, w->H, w->D,
                 w->masked ? " masked" : "");
        snprintf(l2, sizeof l2, "window_attention_backward BW=%d N=%d H=%d D=%d%s", w->BW, w->N, w->H, w->D,
                 w->masked ? " masked" : "");
        gd_parity(l1, (GdBuf[]){GD_IN("q", n, q), GD_IN("k", n, k), GD_IN("v", n, v), GD_IN("bias", nb, bias),
                                GD_IN("mask", nm, mask), GD_OUT("out", n, GD_TOL_WINDOW), GD_OUT("lse", nl, GD_TOL_WINDOW)},
                  7, run_win_fwd, w);
        gd_parity(l2, (GdBuf[]){GD_IN("q", n, q), GD_IN("k", n, k), GD_IN("v", n, v), GD_IN("bias", nb, bias),
                                GD_IN("mask", nm, mask), GD_IN("out", n, out), GD_IN("lse", nl, lse),
                                GD_IN("dout", n, dout), GD_OUT("dq", n, GD_TOL_WINDOW), GD_OUT("dk", n, GD_TOL_WINDOW),
                                GD_OUT("dv", n, GD_TOL_WINDOW), GD_OUT("dbias", nb, GD_TOL_WINDOW)}, 12, run_win_bwd, w);
        cpu->free(cpu, out); cpu->free(cpu, lse);
        free(q); free(k); free(v); free(bias); free(mask); free(dout);
    }
}
