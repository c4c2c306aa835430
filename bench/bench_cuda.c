// bench_cuda.c — one microbenchmark per CUDA kernel family, timed with device events.
// Opens the CUDA backend (no GPU or no kernels: prints "bench_cuda: skipped (<reason>)", exits 0), prints
// the device and its clocks, measures the copy ceiling (cuMemcpyDtoDAsync of 1 GiB: bytes read + written
// over time), then per row: correctness first (the same op at a small shape on the CUDA and CPU backends,
// same random inputs, outputs poisoned with NaN beforehand, ‖gpu − cpu‖ / ‖cpu‖ per output), then at the
// full shape one warm-up launch and up to --reps timed launches, each preceded by a memset of a buffer
// larger than L2 (2 × CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, at least 64 MiB) and bracketed by events on the
// backend's stream; the median is reported as TFLOP/s (gemm, attention; causal counts half the score
// matrix) against the fp32 non-tensor peak, or GB/s (the fewest bytes the op must move) against the copy
// ceiling. A row whose check fails prints WRONG instead of a speed and the program exits 1.
// After the fp32 rows come the bf16 tensor-core rows (mma.sync / wgmma GEMM, bf16 flash attention forward) and
// the Linear on stored bf16 / fp16 weights (linear16_*: the --precision path, activation conversion included).
//
// usage: bench_cuda [--quick] [--filter SUBSTR] [--reps N] [--max-ms-per-row MS]
//   --quick   tiny shapes, 2 repeats: a smoke run (e.g. under tools/fakecuda's emulated driver)
//   --filter  only rows whose name contains SUBSTR (e.g. gemm, attention, rmsnorm)
// build: ./nob bench (every bench/*.c), or link against the lpoi objects by hand (tools/gpucheck.sh does).
#include "backend/backend.h"
#include "base/rng.h"
#include "backend/cuda/cuda_core.h"
#include "attention_mma.h"      // the bf16 launchers benchmarked directly
#include "attention_mma_bwd.h"
#include "convert.h"
#include "gemm_mma.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// ---------------------------------------------------------------------------------------------------
// Options, random data

static bool quick;
static const char *filter;
static int reps = 15;
static double max_ms_per_row = 1500;   // a row stops repeating once its timed launches pass this

static Rng rng = {0x9e3779b97f4a7c15ull};
static float urand(void) { return 2.0f * rng_uniform(&rng) - 1.0f; }   // uniform [-1, 1)

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

// ---------------------------------------------------------------------------------------------------
// Cases: each row is an op at a shape. A case lists its tensors (kind, element count), how to run the
// op on them, an optional prep (the forward pass a backward needs: lse, rstd, mean), and the work it
// does (flops or bytes) for the full shape.

typedef struct {
    int M, N, K; bool ta, tb;                // gemm
    int B, T, H, KVH, D; bool causal;       // attention (Tq = Tk = T), rope
    int R, C;                                // rows × columns: norms, softmax, logprob (C = V), embedding
    int V;                                   // embedding vocabulary
    size_t n;                                // elementwise, adamw
} Dims;

enum { MAXT = 12 };
// Tensor kinds: 'x' random input, 'a' |random| input (variances), 'o' output (poisoned, compared),
// 'g' in/out (random, compared: dw +=, adamw state), 'i' int ids in [0, V), 'p' int positions, 't' int
// targets in [0, C) with some -100, 's' saved by prep (not compared).
typedef struct { char kind; size_t count; } TSpec;

typedef struct Case Case;
struct Case {
    const char *name, *variant;
    Dims full, small;
    void (*specs)(const Dims *d, TSpec *t);   // fills t[0..MAXT), kind 0 ends
    void (*run)(Backend *be, void **t, const Dims *d);
    void (*prep)(Backend *be, void **t, const Dims *d);
    double (*work)(const Dims *d);            // flops (is_flops) or bytes
    bool is_flops;
    double tol;                               // relative L2 error allowed
};

static void shape_str(const Case *c, const Dims *d, char *buf, size_t cap) {
    if (c->specs == NULL) { snprintf(buf, cap, "-"); return; }
    if (d->M) snprintf(buf, cap, "%dx%dx%d %s", d->M, d->N, d->K, d->ta ? "TN" : d->tb ? "NT" : "NN");
    else if (d->D && d->KVH) snprintf(buf, cap, "B%d T%d H%d/%d D%d%s", d->B, d->T, d->H, d->KVH, d->D,
                                       d->causal ? " causal" : "");
    else if (d->D) snprintf(buf, cap, "B%d T%d H%d D%d", d->B, d->T, d->H, d->D);
    else if (d->V) snprintf(buf, cap, "N%d C%d V%d", d->R, d->C, d->V);
    else if (d->R) snprintf(buf, cap, "%dx%d", d->R, d->C);
    else snprintf(buf, cap, "n=%zu", d->n);
}

// ---- gemm ----
static void gemm_specs(const Dims *d, TSpec *t) {
    t[0] = (TSpec){'x', (size_t)d->M * d->K};
    t[1] = (TSpec){'x', (size_t)d->K * d->N};
    t[2] = (TSpec){'o', (size_t)d->M * d->N};
}
static void gemm_run(Backend *be, void **t, const Dims *d) {
    int lda = d->ta ? d->M : d->K, ldb = d->tb ? d->K : d->N;
    be->gemm(be, d->ta, d->tb, d->M, d->N, d->K, 1.0f, t[0], lda, 0, t[1], ldb, 0, 0.0f, t[2], d->N, 0, 1);
}
static double gemm_work(const Dims *d) { return 2.0 * d->M * d->N * d->K; }

// ---- attention: q, k, v, out, lse, dout, dq, dk, dv ----
static AttnDesc attn_desc(const Dims *d) {
    return (AttnDesc){.B = d->B, .Tq = d->T, .Tk = d->T, .H = d->H, .KVH = d->KVH, .D = d->D,
                      .scale = 1.0f / sqrtf((float)d->D), .causal = d->causal};
}
static void attn_specs_common(const Dims *d, TSpec *t, bool fwd) {
    size_t q = (size_t)d->B * d->T * d->H * d->D, kv = (size_t)d->B * d->T * d->KVH * d->D;
    size_t l = (size_t)d->B * d->H * d->T;
    t[0] = (TSpec){'x', q};
    t[1] = (TSpec){'x', kv};
    t[2] = (TSpec){'x', kv};
    t[3] = (TSpec){fwd ? 'o' : 's', q};
    t[4] = (TSpec){fwd ? 'o' : 's', l};
    if (fwd) return;
    t[5] = (TSpec){'x', q};
    t[6] = (TSpec){'o', q};
    t[7] = (TSpec){'o', kv};
    t[8] = (TSpec){'o', kv};
}
static void attn_fwd_specs(const Dims *d, TSpec *t) { attn_specs_common(d, t, true); }
static void attn_bwd_specs(const Dims *d, TSpec *t) { attn_specs_common(d, t, false); }
static void attn_fwd_run(Backend *be, void **t, const Dims *d) {
    AttnDesc a = attn_desc(d);
    be->attention_forward(be, t[3], t[4], t[0], t[1], t[2], &a);
}
static void attn_bwd_run(Backend *be, void **t, const Dims *d) {
    AttnDesc a = attn_desc(d);
    be->attention_backward(be, t[6], t[7], t[8], t[5], t[0], t[1], t[2], t[3], t[4], &a);
}
// Forward: QKᵀ and PV, 2·T·T·D flops each per (b, h); causal sees half the scores (as FlashAttention counts).
static double attn_fwd_work(const Dims *d) {
    return 4.0 * d->B * d->H * (double)d->T * d->T * d->D * (d->causal ? 0.5 : 1.0);
}
// Backward: QKᵀ recomputed, dV, dP, dQ, dK: 2.5× the forward.
static double attn_bwd_work(const Dims *d) { return 2.5 * attn_fwd_work(d); }

// ---- rmsnorm / layernorm: x, w, (b), out, rstd, (mean), dout, dx, dw, (db) ----
static void rms_specs(const Dims *d, TSpec *t) {
    size_t rc = (size_t)d->R * d->C;
    t[0] = (TSpec){'x', rc}; t[1] = (TSpec){'x', (size_t)d->C}; t[2] = (TSpec){'o', rc}; t[3] = (TSpec){'o', (size_t)d->R};
}
static void rms_run(Backend *be, void **t, const Dims *d) { be->rmsnorm_forward(be, t[2], t[3], t[0], t[1], d->R, d->C, 1e-5f); }
static void rms_bwd_specs(const Dims *d, TSpec *t) {
    size_t rc = (size_t)d->R * d->C;
    t[0] = (TSpec){'x', rc}; t[1] = (TSpec){'x', (size_t)d->C}; t[2] = (TSpec){'s', rc}; t[3] = (TSpec){'s', (size_t)d->R};
    t[4] = (TSpec){'x', rc}; t[5] = (TSpec){'o', rc}; t[6] = (TSpec){'g', (size_t)d->C};
}
static void rms_bwd_run(Backend *be, void **t, const Dims *d) {
    be->rmsnorm_backward(be, t[5], t[6], t[4], t[0], t[1], t[3], d->R, d->C);
}
static double norm_fwd_work(const Dims *d) { return 4.0 * (2.0 * d->R * d->C); }   // read x, write out
static double norm_bwd_work(const Dims *d) { return 4.0 * (3.0 * d->R * d->C); }   // read x, dout; write dx
static void ln_specs(const Dims *d, TSpec *t) {
    size_t rc = (size_t)d->R * d->C;
    t[0] = (TSpec){'x', rc}; t[1] = (TSpec){'x', (size_t)d->C}; t[2] = (TSpec){'x', (size_t)d->C};
    t[3] = (TSpec){'o', rc}; t[4] = (TSpec){'o', (size_t)d->R}; t[5] = (TSpec){'o', (size_t)d->R};
}
static void ln_run(Backend *be, void **t, const Dims *d) {
    be->layernorm_forward(be, t[3], t[4], t[5], t[0], t[1], t[2], d->R, d->C, 1e-5f);
}
static void ln_bwd_specs(const Dims *d, TSpec *t) {
    size_t rc = (size_t)d->R * d->C;
    t[0] = (TSpec){'x', rc}; t[1] = (TSpec){'x', (size_t)d->C}; t[2] = (TSpec){'x', (size_t)d->C};
    t[3] = (TSpec){'s', rc}; t[4] = (TSpec){'s', (size_t)d->R}; t[5] = (TSpec){'s', (size_t)d->R};
    t[6] = (TSpec){'x', rc}; t[7] = (TSpec){'o', rc}; t[8] = (TSpec){'g', (size_t)d->C}; t[9] = (TSpec){'g', (size_t)d->C};
}
static void ln_bwd_run(Backend *be, void **t, const Dims *d) {
    be->layernorm_backward(be, t[7], t[8], t[9], t[6], t[0], t[1], t[4], t[5], d->R, d->C);
}

// ---- softmax: x, out, dout, dx ----
static void sm_specs(const Dims *d, TSpec *t) {
    size_t rc = (size_t)d->R * d->C;
    t[0] = (TSpec){'x', rc}; t[1] = (TSpec){'o', rc};
}
static void sm_run(Backend *be, void **t, const Dims *d) { be->softmax_forward(be, t[1], t[0], NULL, d->R, d->C); }
static void sm_bwd_specs(const Dims *d, TSpec *t) {
    size_t rc = (size_t)d->R * d->C;
    t[0] = (TSpec){'x', rc}; t[1] = (TSpec){'s', rc}; t[2] = (TSpec){'x', rc}; t[3] = (TSpec){'o', rc};
}
static void sm_bwd_run(Backend *be, void **t, const Dims *d) { be->softmax_backward(be, t[3], t[2], t[1], d->R, d->C); }

// ---- rope: x, pos, out ----
static void rope_specs(const Dims *d, TSpec *t) {
    size_t n = (size_t)d->B * d->T * d->H * d->D;
    t[0] = (TSpec){'x', n}; t[1] = (TSpec){'p', (size_t)d->B * d->T}; t[2] = (TSpec){'o', n};
}
static void rope_run(Backend *be, void **t, const Dims *d) { be->rope_forward(be, t[2], t[0], t[1], d->B, d->T, d->H, d->D, 10000.0f); }
static void rope_bwd_run(Backend *be, void **t, const Dims *d) { be->rope_backward(be, t[2], t[0], t[1], d->B, d->T, d->H, d->D, 10000.0f); }
static double rope_work(const Dims *d) { return 4.0 * 2.0 * d->B * d->T * d->H * d->D; }

// ---- logprob: logits [R, C], targets, logp, lse, dlogp, dlogits ----
static void lp_specs(const Dims *d, TSpec *t) {
    t[0] = (TSpec){'x', (size_t)d->R * d->C}; t[1] = (TSpec){'t', (size_t)d->R};
    t[2] = (TSpec){'o', (size_t)d->R}; t[3] = (TSpec){'o', (size_t)d->R};
}
static void lp_run(Backend *be, void **t, const Dims *d) { be->logprob_forward(be, t[2], t[3], t[0], t[1], d->R, d->C); }
static void lp_bwd_specs(const Dims *d, TSpec *t) {
    t[0] = (TSpec){'x', (size_t)d->R * d->C}; t[1] = (TSpec){'t', (size_t)d->R};
    t[2] = (TSpec){'s', (size_t)d->R}; t[3] = (TSpec){'s', (size_t)d->R};
    t[4] = (TSpec){'x', (size_t)d->R}; t[5] = (TSpec){'o', (size_t)d->R * d->C};
}
static void lp_bwd_run(Backend *be, void **t, const Dims *d) { be->logprob_backward(be, t[5], t[4], t[0], t[3], t[1], d->R, d->C); }
static double lp_fwd_work(const Dims *d) { return 4.0 * (double)d->R * d->C; }
static double lp_bwd_work(const Dims *d) { return 8.0 * (double)d->R * d->C; }

// ---- embedding: ids [R], table [V, C], out [R, C] / dout, dtable ----
static void emb_specs(const Dims *d, TSpec *t) {
    t[0] = (TSpec){'i', (size_t)d->R}; t[1] = (TSpec){'x', (size_t)d->V * d->C}; t[2] = (TSpec){'o', (size_t)d->R * d->C};
}
static void emb_run(Backend *be, void **t, const Dims *d) { be->embedding_forward(be, t[2], t[0], t[1], d->R, d->C); }
static void emb_bwd_specs(const Dims *d, TSpec *t) {
    t[0] = (TSpec){'i', (size_t)d->R}; t[1] = (TSpec){'x', (size_t)d->R * d->C}; t[2] = (TSpec){'g', (size_t)d->V * d->C};
}
static void emb_bwd_run(Backend *be, void **t, const Dims *d) { be->embedding_backward(be, t[2], t[1], t[0], d->R, d->C); }
static double emb_fwd_work(const Dims *d) { return 4.0 * 2.0 * d->R * d->C; }   // rows read + written
static double emb_bwd_work(const Dims *d) { return 4.0 * 3.0 * d->R * d->C; }   // dout read, table rows read + written

// ---- elementwise / adamw ----
static void add_specs(const Dims *d, TSpec *t) { t[0] = (TSpec){'x', d->n}; t[1] = (TSpec){'x', d->n}; t[2] = (TSpec){'o', d->n}; }
static void add_run(Backend *be, void **t, const Dims *d) { be->add(be, t[2], t[0], t[1], d->n); }
static void axpy_specs(const Dims *d, TSpec *t) { t[0] = (TSpec){'x', d->n}; t[1] = (TSpec){'g', d->n}; }
static void axpy_run(Backend *be, void **t, const Dims *d) { be->axpy(be, t[1], 0.5f, t[0], d->n); }
static void swiglu_run(Backend *be, void **t, const Dims *d) { be->swiglu_forward(be, t[2], t[0], t[1], d->n); }
static double ew3_work(const Dims *d) { return 12.0 * (double)d->n; }
static void adamw_specs(const Dims *d, TSpec *t) {
    t[0] = (TSpec){'g', d->n}; t[1] = (TSpec){'x', d->n}; t[2] = (TSpec){'g', d->n}; t[3] = (TSpec){'A', d->n};
}
static void adamw_run(Backend *be, void **t, const Dims *d) {
    be->adamw_update(be, t[0], t[1], t[2], t[3], d->n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3);
}
static double adamw_work(const Dims *d) { return 4.0 * 7.0 * (double)d->n; }   // p, m, v read + written; g read

// ---- preps: the forward pass whose saved values a backward reads ----
static void attn_prep(Backend *be, void **t, const Dims *d) { attn_fwd_run(be, t, d); }
static void rms_prep(Backend *be, void **t, const Dims *d) { be->rmsnorm_forward(be, t[2], t[3], t[0], t[1], d->R, d->C, 1e-5f); }
static void ln_prep(Backend *be, void **t, const Dims *d) { ln_run(be, t, d); }
static void sm_prep(Backend *be, void **t, const Dims *d) { sm_run(be, t, d); }
static void lp_prep(Backend *be, void **t, const Dims *d) { lp_run(be, t, d); }

#define GEMM(name, m, n, k, ta_, tb_) \
    {name, "fp32 simt", {.M = m, .N = n, .K = k, .ta = ta_, .tb = tb_}, \
     {.M = (m) > 96 ? 96 : (m), .N = (n) > 80 ? 80 : (n), .K = (k) > 72 ? 72 : (k), .ta = ta_, .tb = tb_}, \
     gemm_specs, gemm_run, NULL, gemm_work, true, 1e-5}
#define ATTN(name, b, t, h, kvh, d, causal_, fwd) \
    {name, "fp32 simt", {.B = b, .T = t, .H = h, .KVH = kvh, .D = d, .causal = causal_}, \
     {.B = 1, .T = 37, .H = (h) / (kvh) * 2, .KVH = 2, .D = d, .causal = causal_}, \
     (fwd) ? attn_fwd_specs : attn_bwd_specs, (fwd) ? attn_fwd_run : attn_bwd_run, (fwd) ? NULL : attn_prep, \
     (fwd) ? attn_fwd_work : attn_bwd_work, true, 1e-4}
#define ROWS(name, specs, run, prep, work, r, c) \
    {name, "fp32", {.R = r, .C = c}, {.R = 19, .C = 300}, specs, run, prep, work, false, 1e-5}
#define ELEM(name, specs, run, work, count) \
    {name, "fp32", {.n = count}, {.n = 3001}, specs, run, NULL, work, false, 1e-6}

static const int TOK = 4096;
static Case cases[] = {
    // Linear layers of LLaVA-1.5-7B (C = 4096, OC = 4096 attention / 11008 MLP), tokens = 4096:
    // forward y = x·wᵀ (NT), dx = dy·w (NN), dw = dyᵀ·x (TN).
    GEMM("gemm_fwd_4096", TOK, 4096, 4096, false, true),
    GEMM("gemm_dx_4096", TOK, 4096, 4096, false, false),
    GEMM("gemm_dw_4096", 4096, 4096, TOK, true, false),
    GEMM("gemm_fwd_11008", TOK, 11008, 4096, false, true),
    GEMM("gemm_dx_11008", TOK, 4096, 11008, false, false),
    GEMM("gemm_dw_11008", 11008, 4096, TOK, true, false),
    // LoRA rank 16 on a 4096 → 4096 projection: h = x·Aᵀ, y += h·Bᵀ, dA = dhᵀ·x, dx += dh·A.
    GEMM("gemm_lora_down", TOK, 16, 4096, false, true),
    GEMM("gemm_lora_up", TOK, 4096, 16, false, true),
    GEMM("gemm_lora_dA", 16, 4096, TOK, true, false),
    GEMM("gemm_lora_dx", TOK, 4096, 16, false, false),
    ATTN("attention_fwd_causal", 1, 2048, 32, 32, 128, true, true),
    ATTN("attention_fwd_full", 1, 2048, 32, 32, 128, false, true),
    ATTN("attention_fwd_gqa8", 1, 2048, 32, 8, 128, true, true),
    ATTN("attention_fwd_clip", 1, 577, 16, 16, 64, false, true),
    ATTN("attention_bwd_causal", 1, 2048, 32, 32, 128, true, false),
    ATTN("attention_bwd_full", 1, 2048, 32, 32, 128, false, false),
    ATTN("attention_bwd_gqa8", 1, 2048, 32, 8, 128, true, false),
    ATTN("attention_bwd_clip", 1, 577, 16, 16, 64, false, false),
    ROWS("rmsnorm_fwd", rms_specs, rms_run, NULL, norm_fwd_work, 4096, 4096),
    ROWS("rmsnorm_bwd", rms_bwd_specs, rms_bwd_run, rms_prep, norm_bwd_work, 4096, 4096),
    ROWS("layernorm_fwd", ln_specs, ln_run, NULL, norm_fwd_work, 4096, 4096),
    ROWS("layernorm_bwd", ln_bwd_specs, ln_bwd_run, ln_prep, norm_bwd_work, 4096, 4096),
    ROWS("softmax_fwd", sm_specs, sm_run, NULL, norm_fwd_work, 32 * 2048, 2048),
    ROWS("softmax_bwd", sm_bwd_specs, sm_bwd_run, sm_prep, norm_bwd_work, 32 * 2048, 2048),
    {"rope_fwd", "fp32", {.B = 1, .T = 4096, .H = 32, .D = 128}, {.B = 2, .T = 7, .H = 3, .D = 128}, rope_specs, rope_run,
     NULL, rope_work, false, 1e-5},
    {"rope_bwd", "fp32", {.B = 1, .T = 4096, .H = 32, .D = 128}, {.B = 2, .T = 7, .H = 3, .D = 128}, rope_specs,
     rope_bwd_run, NULL, rope_work, false, 1e-5},
    {"logprob_fwd", "fp32", {.R = 4096, .C = 32000, .V = 32000}, {.R = 9, .C = 1000, .V = 1000}, lp_specs, lp_run, NULL,
     lp_fwd_work, false, 1e-5},
    {"logprob_bwd", "fp32", {.R = 4096, .C = 32000, .V = 32000}, {.R = 9, .C = 1000, .V = 1000}, lp_bwd_specs, lp_bwd_run,
     lp_prep, lp_bwd_work, false, 1e-5},
    {"embedding_fwd", "fp32", {.R = 4096, .C = 4096, .V = 32000}, {.R = 23, .C = 64, .V = 50}, emb_specs, emb_run, NULL,
     emb_fwd_work, false, 1e-6},
    {"embedding_bwd", "fp32", {.R = 4096, .C = 4096, .V = 32000}, {.R = 23, .C = 64, .V = 50}, emb_bwd_specs, emb_bwd_run,
     NULL, emb_bwd_work, false, 1e-5},
    ELEM("add", add_specs, add_run, ew3_work, (size_t)64 << 20),
    ELEM("axpy", axpy_specs, axpy_run, ew3_work, (size_t)64 << 20),
    ELEM("swiglu_fwd", add_specs, swiglu_run, ew3_work, (size_t)4096 * 11008),
    ELEM("adamw", adamw_specs, adamw_run, adamw_work, (size_t)100000000),
};

// ---------------------------------------------------------------------------------------------------
// Device info, timing

typedef struct {
    CudaImpl *c;
    CUevent ev[2];
    void *flush;
    size_t flush_bytes;
    double copy_gbs;          // measured ceiling
    double fp32_peak_tflops;  // SMs × FP32 lanes × clock × 2, 0 if unknown
} Gpu;

static int attr(CudaImpl *c, CUdevice_attribute a) {
    int v = 0;
    if (cudrv.cuDeviceGetAttribute(&v, a, c->dev) != CUDA_SUCCESS) v = 0;
    return v;
}

// FP32 lanes per SM (the CUDA programming guide's throughput table): 64 on sm_60/sm_70/sm_75/sm_80, 128 on
// sm_86 and later (sm_90 included). 0 = unknown.
static int fp32_lanes(int cc) {
    if (cc == 60 || cc == 70 || cc == 72 || cc == 75 || cc == 80) return 64;
    if (cc >= 61 && cc != 70 && cc != 72 && cc != 75 && cc != 80) return 128;
    return 0;
}

// Times `launch` on the backend's stream: one warm-up, then up to `reps` launches (fewer once the row has
// used max_ms), each after an L2 flush, between two events. Returns the median in ms.
static double time_median(Gpu *g, Backend *be, void (*launch)(Backend *, void **, const Dims *), void **t,
                          const Dims *d, int nreps, int *done) {
    CudaImpl *c = g->c;
    launch(be, t, d);
    cu_check(cudrv.cuStreamSynchronize(c->stream));
    float ms[256];
    if (nreps > 256) nreps = 256;
    double spent = 0;
    int k = 0;
    for (; k < nreps && (k < 3 || spent < max_ms_per_row); k++) {
        if (g->flush) cu_check(cudrv.cuMemsetD32Async((CUdeviceptr)(uintptr_t)g->flush, (unsigned)k, g->flush_bytes / 4, c->stream));
        cu_check(cudrv.cuEventRecord(g->ev[0], c->stream));
        launch(be, t, d);
        cu_check(cudrv.cuEventRecord(g->ev[1], c->stream));
        cu_check(cudrv.cuEventSynchronize(g->ev[1]));
        cu_check(cudrv.cuEventElapsedTime(&ms[k], g->ev[0], g->ev[1]));
        spent += ms[k];
    }
    *done = k;
    qsort(ms, (size_t)k, sizeof *ms, cmp_float);
    return k % 2 ? ms[k / 2] : 0.5 * (ms[k / 2 - 1] + ms[k / 2]);
}

static void copy_launch(Backend *be, void **t, const Dims *d) {
    cu_check(cudrv.cuMemcpyDtoDAsync((CUdeviceptr)(uintptr_t)t[1], (CUdeviceptr)(uintptr_t)t[0], d->n, cuda_impl(be)->stream));
}

// ---------------------------------------------------------------------------------------------------
// One row

static void fill_host(const TSpec *s, const Dims *d, void *h) {
    float *f = h;
    int32_t *iv = h;
    for (size_t i = 0; i < s->count; i++) {
        switch (s->kind) {
        case 'i': iv[i] = (int32_t)((unsigned)(urand() * 1e6f + 2e6f) % (unsigned)d->V); break;
        case 'p': iv[i] = (int32_t)(i % (size_t)(d->T ? d->T : 1)) + 3; break;
        case 't': iv[i] = i % 7 == 5 ? -100 : (int32_t)((unsigned)(urand() * 1e6f + 2e6f) % (unsigned)d->C); break;
        case 'A': f[i] = fabsf(urand()) * 0.1f; break;
        default: f[i] = urand(); break;
        }
    }
}

static int nspecs(const Case *c, const Dims *d, TSpec *t) {
    memset(t, 0, sizeof(TSpec) * MAXT);
    c->specs(d, t);
    int n = 0;
    while (n < MAXT && t[n].kind) n++;
    return n;
}

// ||got - want|| / ||want|| over n values; an element equal and infinite on both sides (the lse of a row
// with no visible key) is skipped, any other non-finite one makes the error infinite.
static double rel_l2_error(const float *got, const float *want, size_t n) {
    double num = 0, den = 0;
    for (size_t j = 0; j < n; j++) {
        if (isinf(want[j]) && got[j] == want[j]) continue;
        if (!isfinite(got[j]) || !isfinite(want[j])) return INFINITY;
        num += ((double)got[j] - want[j]) * ((double)got[j] - want[j]);
        den += (double)want[j] * want[j];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1.0);
}

// Runs the case at its small shape on both backends from the same inputs; returns the worst relative L2
// error over the outputs, or INFINITY for a NaN/unwritten element.
static double check_case(const Case *c, Backend *gpu, Backend *cpu, const Dims *d) {
    TSpec s[MAXT];
    int n = nspecs(c, d, s);
    void *host[MAXT], *tg[MAXT], *tc[MAXT];
    for (int i = 0; i < n; i++) {
        size_t bytes = s[i].count * 4;
        host[i] = malloc(bytes ? bytes : 4);
        fill_host(&s[i], d, host[i]);
        tg[i] = gpu->alloc(gpu, bytes);
        tc[i] = cpu->alloc(cpu, bytes);
        if (s[i].kind == 'o' || s[i].kind == 's') {   // poison outputs: NaN on both
            memset(host[i], 0xff, bytes);
        }
        gpu->upload(gpu, tg[i], host[i], bytes);
        cpu->upload(cpu, tc[i], host[i], bytes);
    }
    if (c->prep) {   // saved values from the CPU forward, so both backwards read the same ones
        c->prep(cpu, tc, d);
        for (int i = 0; i < n; i++)
            if (s[i].kind == 's') {
                cpu->download(cpu, host[i], tc[i], s[i].count * 4);
                gpu->upload(gpu, tg[i], host[i], s[i].count * 4);
            }
    }
    c->run(gpu, tg, d);
    c->run(cpu, tc, d);
    gpu->synchronize(gpu);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        if (s[i].kind != 'o' && s[i].kind != 'g') continue;
        float *a = malloc(s[i].count * 4 + 4), *b = malloc(s[i].count * 4 + 4);
        gpu->download(gpu, a, tg[i], s[i].count * 4);
        cpu->download(cpu, b, tc[i], s[i].count * 4);
        double rel = rel_l2_error(a, b, s[i].count);
        if (!(rel <= worst)) worst = rel;
        free(a);
        free(b);
    }
    for (int i = 0; i < n; i++) {
        gpu->free(gpu, tg[i]);
        cpu->free(cpu, tc[i]);
        free(host[i]);
    }
    return worst;
}

static int failures;

// A row of the results table (tools/gpucheck.sh keeps it): name, variant, shape, median ms, speed, share of
// the peak, the check's error, "ok (N reps)".
static void print_row(const char *name, const char *variant, const char *shape, double ms, const char *speed,
                      const char *ratio, double err, int done) {
    printf("%-22s %-10s %-28s %10.3f %14s %8s  %-9.1e ok (%d reps)\n", name, variant, shape, ms, speed, ratio, err, done);
    fflush(stdout);
}
static void print_tflops_row(const char *name, const char *variant, const char *shape, double ms, double flops, double err,
                             int done) {
    char res[32];
    snprintf(res, sizeof res, "%.2f TFLOP/s", flops / (ms * 1e-3) / 1e12);
    print_row(name, variant, shape, ms, res, "-", err, done);
}
// A row whose check against the CPU failed: no speed, and the run fails. speed_width: the speed column's.
static void print_wrong(const char *name, const char *variant, const char *shape, double err, double tol, int speed_width) {
    printf("%-22s %-10s %-28s %10s %*s %8s  %-9.1e WRONG (tolerance %.0e): no speed reported\n", name, variant, shape, "-",
           speed_width, "-", "-", err, tol);
    failures++;
    fflush(stdout);
}

static void bench_case(Gpu *g, const Case *c, Backend *gpu, Backend *cpu) {
    const Dims *full = quick ? &c->small : &c->full;
    char shape[80];
    shape_str(c, full, shape, sizeof shape);
    double err = check_case(c, gpu, cpu, &c->small);
    if (!(err <= c->tol)) {
        print_wrong(c->name, c->variant, shape, err, c->tol, 10);
        return;
    }
    TSpec s[MAXT];
    int n = nspecs(c, full, s);
    void *t[MAXT];
    size_t total = 0;
    for (int i = 0; i < n; i++) total += s[i].count * 4;
    size_t free_b = 0, total_b = 0;
    cudrv.cuMemGetInfo(&free_b, &total_b);
    if (total + ((size_t)256 << 20) > free_b) {
        printf("%-22s %-10s %-28s skipped: needs %.1f GiB, %.1f GiB free\n", c->name, c->variant, shape,
               total / 1073741824.0, free_b / 1073741824.0);
        return;
    }
    // Inputs: random data generated once per kind into a host buffer of the largest size, uploaded per
    // tensor (random data, never zeros: timing on zeros can flatter a kernel).
    // One buffer of uniform random floats serves every float tensor (filling 100M floats per tensor would
    // cost seconds of host time per row); int and |x| tensors get their own fill.
    size_t maxb = 0;
    for (int i = 0; i < n; i++) if (s[i].count * 4 > maxb) maxb = s[i].count * 4;
    float *h = malloc(maxb ? maxb : 4), *h2 = malloc(maxb ? maxb : 4);
    TSpec all = {'x', maxb / 4};
    fill_host(&all, full, h);
    for (int i = 0; i < n; i++) {
        t[i] = gpu->alloc(gpu, s[i].count * 4);
        bool plain = s[i].kind == 'x' || s[i].kind == 'g' || s[i].kind == 'o' || s[i].kind == 's';
        if (!plain) fill_host(&s[i], full, h2);
        gpu->upload(gpu, t[i], plain ? h : h2, s[i].count * 4);
    }
    free(h);
    free(h2);
    if (c->prep) c->prep(gpu, t, full);
    int done = 0;
    double ms = time_median(g, gpu, c->run, t, full, quick ? 2 : reps, &done);
    for (int i = 0; i < n; i++) gpu->free(gpu, t[i]);
    double work = c->work(full);
    char res[32], ratio[32];
    if (c->is_flops) {
        double tf = work / (ms * 1e-3) / 1e12;
        snprintf(res, sizeof res, "%.2f TFLOP/s", tf);
        if (g->fp32_peak_tflops > 0) snprintf(ratio, sizeof ratio, "%.0f%%", 100.0 * tf / g->fp32_peak_tflops);
        else snprintf(ratio, sizeof ratio, "-");
    } else {
        double gbs = work / (ms * 1e-3) / 1e9;
        snprintf(res, sizeof res, "%.1f GB/s", gbs);
        snprintf(ratio, sizeof ratio, "%.0f%%", 100.0 * gbs / g->copy_gbs);
    }
    print_row(c->name, c->variant, shape, ms, res, ratio, err, done);
}

// ---------------------------------------------------------------------------------------------------
// bf16 tensor-core rows: the kernels take bf16 operands (converted once on the device before timing), so
// they are timed here rather than through the fp32 op table. Each row is checked first at a small shape
// against the CPU backend's fp32 GEMM on the same bf16-rounded values (only the fp32 accumulation order
// differs). The `bf16 mode` rows time the fp32 op itself with LPOI_CUDA_MATH=bf16: operand conversions
// included, what a training step pays today.

typedef struct { GemmBf16Path path; const uint16_t *a, *b; float *c; } Bf16Gemm;
static Bf16Gemm bf16_gemm;

static void bf16_gemm_launch(Backend *be, void **t, const Dims *d) {
    (void)t;
    int lda = d->ta ? d->M : d->K, ldb = d->tb ? d->K : d->N;
    if (!cuda_gemm_bf16(cuda_impl(be), bf16_gemm.path, d->ta, d->tb, d->M, d->N, d->K, 1.0f, bf16_gemm.a, lda,
                        bf16_gemm.b, ldb, 0.0f, bf16_gemm.c, d->N))
        abort();   // checked usable before
}

// Random bf16 matrix of n elements on the device (and, when host != NULL, the rounded values as floats).
static uint16_t *bf16_random(Backend *gpu, size_t n, float *host) {
    float *h = malloc(n * 4 + 4);
    for (size_t i = 0; i < n; i++) h[i] = urand();
    float *d32 = gpu->alloc(gpu, n * 4 + 4);
    uint16_t *d16 = gpu->alloc(gpu, n * 2 + 16);
    gpu->upload(gpu, d32, h, n * 4);
    cuda_f32_to_bf16(cuda_impl(gpu), d16, (int)n, d32, (int)n, 1, (int)n);
    if (host) {
        uint16_t *r = malloc(n * 2 + 2);
        gpu->download(gpu, r, d16, n * 2);
        for (size_t i = 0; i < n; i++) { uint32_t u = (uint32_t)r[i] << 16; memcpy(&host[i], &u, 4); }
        free(r);
    }
    gpu->free(gpu, d32);
    free(h);
    return d16;
}

static double bf16_gemm_check(Backend *gpu, Backend *cpu, GemmBf16Path path, const Dims *d) {
    size_t na = (size_t)d->M * d->K, nb = (size_t)d->K * d->N, nc = (size_t)d->M * d->N;
    float *ha = malloc(na * 4), *hb = malloc(nb * 4), *want = malloc(nc * 4), *got = malloc(nc * 4);
    bf16_gemm = (Bf16Gemm){path, bf16_random(gpu, na, ha), bf16_random(gpu, nb, hb), gpu->alloc(gpu, nc * 4)};
    cu_check(cudrv.cuMemsetD32Async((CUdeviceptr)(uintptr_t)bf16_gemm.c, 0x7fc00000u, nc, cuda_impl(gpu)->stream));
    bf16_gemm_launch(gpu, NULL, d);
    gpu->download(gpu, got, bf16_gemm.c, nc * 4);
    int lda = d->ta ? d->M : d->K, ldb = d->tb ? d->K : d->N;
    cpu->gemm(cpu, d->ta, d->tb, d->M, d->N, d->K, 1.0f, ha, lda, 0, hb, ldb, 0, 0.0f, want, d->N, 0, 1);
    const double err = rel_l2_error(got, want, nc);
    gpu->free(gpu, (void *)bf16_gemm.a), gpu->free(gpu, (void *)bf16_gemm.b), gpu->free(gpu, bf16_gemm.c);
    free(ha), free(hb), free(want), free(got);
    return err;
}

static void bench_bf16_gemm(Gpu *g, Backend *gpu, Backend *cpu, const char *name, GemmBf16Path path, Dims full) {
    if (filter && !strstr(name, filter)) return;
    static const char *variants[] = {"bf16", "bf16 mma", "bf16 wgmma"};
    const char *variant = variants[path];
    Dims small = full;
    small.M = small.M > 296 ? 296 : small.M, small.N = small.N > 520 ? 520 : small.N, small.K = small.K > 200 ? 200 : small.K;   // multiples of 8: the bf16 rows need aligned leading dimensions
    if (quick) full = small;
    char shape[80];
    shape_str(&cases[0], &full, shape, sizeof shape);
    const KernelId k = path == GEMM_BF16_WGMMA ? K_GEMM_BF16_WGMMA_NT
                     : full.ta ? (full.tb ? K_GEMM_BF16_TT : K_GEMM_BF16_TN) : (full.tb ? K_GEMM_BF16_NT : K_GEMM_BF16_NN);
    if (!cuda_kernel_usable(g->c, k)) {
        printf("%-22s %-10s %-28s not available on this device/variant\n", name, variant, shape);
        return;
    }
    double err = bf16_gemm_check(gpu, cpu, path, &small);
    if (!(err <= 1e-5)) {
        print_wrong(name, variant, shape, err, 1e-5, 14);
        return;
    }
    size_t na = (size_t)full.M * full.K, nb = (size_t)full.K * full.N, nc = (size_t)full.M * full.N;
    bf16_gemm = (Bf16Gemm){path, bf16_random(gpu, na, NULL), bf16_random(gpu, nb, NULL), gpu->alloc(gpu, nc * 4)};
    int done = 0;
    double ms = time_median(g, gpu, bf16_gemm_launch, NULL, &full, quick ? 2 : reps, &done);
    gpu->free(gpu, (void *)bf16_gemm.a), gpu->free(gpu, (void *)bf16_gemm.b), gpu->free(gpu, bf16_gemm.c);
    print_tflops_row(name, variant, shape, ms, 2.0 * full.M * full.N * full.K, err, done);
}

// The fp32 op table's gemm in bf16 math mode (conversion of both operands included).
static void bench_bf16_mode(Gpu *g, Backend *gpu, Backend *cpu, const Case *c) {
    if (filter && !strstr(c->name, filter)) return;
    if (!cuda_kernel_usable(g->c, K_GEMM_BF16_NT)) return;
    Case m = *c;
    m.variant = "bf16 mode";
    m.tol = 1e-2;   // both operands rounded to bf16: relative L2 error ~3e-3
    g->c->math_bf16 = true;
    bench_case(g, &m, gpu, cpu);
    g->c->math_bf16 = false;
}

// bf16 flash attention forward (cu/attention_mma.cu), checked against the CPU on the same bf16 values.
typedef struct { const uint16_t *q, *k, *v; float *out, *lse; } Bf16Attn;
static Bf16Attn bf16_attn;
static void bf16_attn_launch(Backend *be, void **t, const Dims *d) {
    (void)t;
    AttnDesc a = attn_desc(d);
    if (!cuda_attention_forward_bf16(cuda_impl(be), bf16_attn.out, bf16_attn.lse, bf16_attn.q, bf16_attn.k, bf16_attn.v, &a))
        abort();
}

static void bench_bf16_attention(Gpu *g, Backend *gpu, Backend *cpu, const char *name, Dims full) {
    if (filter && !strstr(name, filter)) return;
    Dims small = {.B = 1, .T = 77, .H = full.H / full.KVH * 2, .KVH = 2, .D = full.D, .causal = full.causal};
    if (quick) full = small;
    char shape[80];
    shape_str(&cases[10], &full, shape, sizeof shape);
    double checked = 0;   // the check pass's error, printed with the timed row
    for (int pass = 0; pass < 2; pass++) {   // 0: check at the small shape, 1: time at the full one
        const Dims *d = pass ? &full : &small;
        size_t nq = (size_t)d->B * d->T * d->H * d->D, nkv = (size_t)d->B * d->T * d->KVH * d->D, nl = (size_t)d->B * d->H * d->T;
        float *hq = pass ? NULL : malloc(nq * 4), *hk = pass ? NULL : malloc(nkv * 4), *hv = pass ? NULL : malloc(nkv * 4);
        bf16_attn = (Bf16Attn){bf16_random(gpu, nq, hq), bf16_random(gpu, nkv, hk), bf16_random(gpu, nkv, hv),
                               gpu->alloc(gpu, nq * 4), gpu->alloc(gpu, nl * 4)};
        AttnDesc a = attn_desc(d);
        bool ok = cuda_attention_forward_bf16(g->c, bf16_attn.out, bf16_attn.lse, bf16_attn.q, bf16_attn.k, bf16_attn.v, &a);
        if (!ok) {
            printf("%-22s %-10s %-28s not available on this device/variant\n", name, "bf16 mma", shape);
        } else if (!pass) {
            float *got = malloc(nq * 4), *want = malloc(nq * 4), *lse = malloc(nl * 4);
            gpu->download(gpu, got, bf16_attn.out, nq * 4);
            cpu->attention_forward(cpu, want, lse, hq, hk, hv, &a);
            double err = rel_l2_error(got, want, nq);
            free(got), free(want), free(lse);
            if (!(err <= 1e-2)) {   // P·V with P rounded to bf16: ~3e-3
                print_wrong(name, "bf16 mma", shape, err, 1e-2, 14);
                ok = false;
            } else {
                checked = err;
            }
        } else {
            int done = 0;
            double ms = time_median(g, gpu, bf16_attn_launch, NULL, d, quick ? 2 : reps, &done);
            print_tflops_row(name, "bf16 mma", shape, ms, attn_fwd_work(d), checked, done);
        }
        gpu->free(gpu, (void *)bf16_attn.q), gpu->free(gpu, (void *)bf16_attn.k), gpu->free(gpu, (void *)bf16_attn.v);
        gpu->free(gpu, bf16_attn.out), gpu->free(gpu, bf16_attn.lse);
        free(hq), free(hk), free(hv);
        if (!ok) return;
    }
}

// bf16 flash attention backward (cu/attention_mma_bwd.cu): checked at a small shape against the CPU's
// backward on the same bf16 values (out, lse and Di from the CPU forward), timed at the full shape (Di
// random there: it changes values, not work).
typedef struct { const uint16_t *q, *k, *v, *dout; const float *lse, *Di; float *dq, *dk, *dv; } Bf16AttnBwd;
static Bf16AttnBwd bf16_bwd;
static void bf16_attn_bwd_launch(Backend *be, void **t, const Dims *d) {
    (void)t;
    AttnDesc a = attn_desc(d);
    if (!cuda_attention_backward_bf16(cuda_impl(be), bf16_bwd.dq, bf16_bwd.dk, bf16_bwd.dv, bf16_bwd.dout, bf16_bwd.q,
                                      bf16_bwd.k, bf16_bwd.v, bf16_bwd.lse, bf16_bwd.Di, &a))
        abort();
}

static float *upload_floats(Backend *gpu, const float *h, size_t n) {
    float *d = gpu->alloc(gpu, n * 4 + 4);
    gpu->upload(gpu, d, h, n * 4);
    return d;
}

static void bench_bf16_attention_bwd(Gpu *g, Backend *gpu, Backend *cpu, const char *name, Dims full) {
    if (filter && !strstr(name, filter)) return;
    Dims small = {.B = 1, .T = 77, .H = full.H / full.KVH * 2, .KVH = 2, .D = full.D, .causal = full.causal};
    if (quick) full = small;
    char shape[80];
    shape_str(&cases[10], &full, shape, sizeof shape);
    double err = 0;
    for (int pass = 0; pass < 2; pass++) {
        const Dims *d = pass ? &full : &small;
        AttnDesc a = attn_desc(d);
        size_t nq = (size_t)d->B * d->T * d->H * d->D, nkv = (size_t)d->B * d->T * d->KVH * d->D, nl = (size_t)d->B * d->H * d->T;
        float *hq = malloc(nq * 4), *hk = malloc(nkv * 4), *hv = malloc(nkv * 4), *hdo = malloc(nq * 4);
        float *hlse = malloc(nl * 4), *hdi = malloc(nl * 4);
        bf16_bwd = (Bf16AttnBwd){bf16_random(gpu, nq, hq), bf16_random(gpu, nkv, hk), bf16_random(gpu, nkv, hv),
                                 bf16_random(gpu, nq, hdo), NULL, NULL, gpu->alloc(gpu, nq * 4), gpu->alloc(gpu, nkv * 4),
                                 gpu->alloc(gpu, nkv * 4)};
        float *hout = NULL;
        if (!pass) {   // the CPU forward on the rounded values gives out, lse; Di = rowsum(dout * out)
            hout = malloc(nq * 4);
            cpu->attention_forward(cpu, hout, hlse, hq, hk, hv, &a);
            for (int b = 0; b < d->B; b++)
                for (int t = 0; t < d->T; t++)
                    for (int h = 0; h < d->H; h++) {
                        double s = 0;
                        for (int e = 0; e < d->D; e++) {
                            size_t at = (((size_t)b * d->T + t) * d->H + h) * d->D + e;
                            s += (double)hdo[at] * hout[at];
                        }
                        hdi[((size_t)b * d->H + h) * d->T + t] = (float)s;
                    }
        } else {
            for (size_t i = 0; i < nl; i++) hlse[i] = 3.0f + 0.1f * urand(), hdi[i] = 0.1f * urand();
        }
        bf16_bwd.lse = upload_floats(gpu, hlse, nl);
        bf16_bwd.Di = upload_floats(gpu, hdi, nl);
        bool ok = cuda_attention_backward_bf16(g->c, bf16_bwd.dq, bf16_bwd.dk, bf16_bwd.dv, bf16_bwd.dout, bf16_bwd.q,
                                               bf16_bwd.k, bf16_bwd.v, bf16_bwd.lse, bf16_bwd.Di, &a);
        if (!ok) {
            printf("%-22s %-10s %-28s not available on this device/variant\n", name, "bf16 mma", shape);
        } else if (!pass) {
            float *want[3] = {malloc(nq * 4), malloc(nkv * 4), malloc(nkv * 4)}, *got = malloc(nq * 4 + nkv * 4);
            cpu->attention_backward(cpu, want[0], want[1], want[2], hdo, hq, hk, hv, hout, hlse, &a);
            float *dev[3] = {bf16_bwd.dq, bf16_bwd.dk, bf16_bwd.dv};
            size_t cnt[3] = {nq, nkv, nkv};
            for (int o = 0; o < 3; o++) {
                gpu->download(gpu, got, dev[o], cnt[o] * 4);
                double e = rel_l2_error(got, want[o], cnt[o]);
                if (!(e <= err)) err = e;
                free(want[o]);
            }
            free(got);
            if (!(err <= 2e-2)) {   // P and dS rounded to bf16 for the tensor cores: ~5e-3 expected
                print_wrong(name, "bf16 mma", shape, err, 2e-2, 14);
                ok = false;
            }
        } else {
            int done = 0;
            double ms = time_median(g, gpu, bf16_attn_bwd_launch, NULL, d, quick ? 2 : reps, &done);
            print_tflops_row(name, "bf16 mma", shape, ms, attn_bwd_work(d), err, done);
        }
        gpu->free(gpu, (void *)bf16_bwd.q), gpu->free(gpu, (void *)bf16_bwd.k), gpu->free(gpu, (void *)bf16_bwd.v);
        gpu->free(gpu, (void *)bf16_bwd.dout), gpu->free(gpu, (void *)bf16_bwd.lse), gpu->free(gpu, (void *)bf16_bwd.Di);
        gpu->free(gpu, bf16_bwd.dq), gpu->free(gpu, bf16_bwd.dk), gpu->free(gpu, bf16_bwd.dv);
        free(hq), free(hk), free(hv), free(hdo), free(hlse), free(hdi), free(hout);
        if (!ok) return;
    }
}

// The Linear on stored 16-bit weights through the op table (matmul_forward_half, matmul_backward_dx_half):
// the fp32 activation's conversion included, the weight read as stored — what a --precision bf16|fp16
// training step pays per frozen Linear. Dims: M rows (tokens); forward N = OC, K = C (w [N,K]); dx N = C,
// K = OC (w [K,N]). Checked first at a small shape against the CPU backend's op on the same values.
typedef struct { Dtype wt; const uint16_t *w; const float *x; float *y; } HalfLin;
static HalfLin half_lin;

static void half_lin_launch(Backend *be, void **t, const Dims *d) {
    (void)t;
    if (d->tb) be->matmul_forward_half(be, half_lin.y, half_lin.x, half_lin.w, half_lin.wt, NULL, d->M, d->K, d->N);
    else be->matmul_backward_dx_half(be, half_lin.y, false, half_lin.x, half_lin.w, half_lin.wt, d->M, d->N, d->K);
}

// Random 16-bit matrix of n elements of type wt on the device; its raw bits into host16 when non-NULL.
static uint16_t *half_random(Backend *gpu, Dtype wt, size_t n, uint16_t *host16) {
    float *h = malloc(n * 4 + 4);
    for (size_t i = 0; i < n; i++) h[i] = urand();
    uint16_t *h16 = malloc(n * 2 + 2);
    dtype_from_f32(h16, wt, h, n);
    uint16_t *d16 = gpu->alloc(gpu, n * 2 + 16);
    gpu->upload(gpu, d16, h16, n * 2);
    if (host16) memcpy(host16, h16, n * 2);
    free(h), free(h16);
    return d16;
}

static void bench_half_linear(Gpu *g, Backend *gpu, Backend *cpu, const char *name, Dtype wt, Dims full) {
    if (filter && !strstr(name, filter)) return;
    const char *variant = wt == DTYPE_BF16 ? "w bf16" : "w fp16";
    Dims small = full;
    small.M = small.M > 296 ? 296 : small.M, small.N = small.N > 520 ? 520 : small.N, small.K = small.K > 200 ? 200 : small.K;
    if (quick) full = small;
    char shape[80];
    shape_str(&cases[0], &full, shape, sizeof shape);
    double err;
    {   // correctness at the small shape
        const Dims *d = &small;
        size_t nw = (size_t)d->N * d->K, nx = (size_t)d->M * d->K, ny = (size_t)d->M * d->N;
        uint16_t *hw = malloc(nw * 2 + 2);
        float *hx = malloc(nx * 4 + 4), *want = malloc(ny * 4 + 4), *got = malloc(ny * 4 + 4);
        for (size_t i = 0; i < nx; i++) hx[i] = urand();
        float *dx = gpu->alloc(gpu, nx * 4 + 4);
        gpu->upload(gpu, dx, hx, nx * 4);
        half_lin = (HalfLin){wt, half_random(gpu, wt, nw, hw), dx, gpu->alloc(gpu, ny * 4 + 4)};
        cu_check(cudrv.cuMemsetD32Async((CUdeviceptr)(uintptr_t)half_lin.y, 0x7fc00000u, ny, cuda_impl(gpu)->stream));
        half_lin_launch(gpu, NULL, d);
        gpu->download(gpu, got, half_lin.y, ny * 4);
        if (d->tb) cpu->matmul_forward_half(cpu, want, hx, hw, wt, NULL, d->M, d->K, d->N);
        else cpu->matmul_backward_dx_half(cpu, want, false, hx, hw, wt, d->M, d->N, d->K);
        err = rel_l2_error(got, want, ny);
        gpu->free(gpu, (void *)half_lin.w), gpu->free(gpu, dx), gpu->free(gpu, half_lin.y);
        free(hw), free(hx), free(want), free(got);
        if (!(err <= 1e-5)) {   // the same rounded operands: only the fp32 summation order differs
            print_wrong(name, variant, shape, err, 1e-5, 14);
            return;
        }
    }
    size_t nw = (size_t)full.N * full.K, nx = (size_t)full.M * full.K, ny = (size_t)full.M * full.N;
    float *hx = malloc(nx * 4 + 4), *dx = gpu->alloc(gpu, nx * 4 + 4);
    for (size_t i = 0; i < nx; i++) hx[i] = urand();
    gpu->upload(gpu, dx, hx, nx * 4);
    free(hx);
    half_lin = (HalfLin){wt, half_random(gpu, wt, nw, NULL), dx, gpu->alloc(gpu, ny * 4 + 4)};
    int done = 0;
    double ms = time_median(g, gpu, half_lin_launch, NULL, &full, quick ? 2 : reps, &done);
    gpu->free(gpu, (void *)half_lin.w), gpu->free(gpu, dx), gpu->free(gpu, half_lin.y);
    print_tflops_row(name, variant, shape, ms, 2.0 * full.M * full.N * full.K, err, done);
}

static int bench_bf16_rows(Gpu *g, Backend *gpu, Backend *cpu) {
    int before = failures;
    const Dims fwd4 = {.M = TOK, .N = 4096, .K = 4096, .tb = true}, dx4 = {.M = TOK, .N = 4096, .K = 4096};
    const Dims dw4 = {.M = 4096, .N = 4096, .K = TOK, .ta = true};
    const Dims fwd11 = {.M = TOK, .N = 11008, .K = 4096, .tb = true}, dx11 = {.M = TOK, .N = 4096, .K = 11008};
    const Dims dw11 = {.M = 11008, .N = 4096, .K = TOK, .ta = true};
    bench_bf16_gemm(g, gpu, cpu, "gemm_fwd_4096", GEMM_BF16_MMA, fwd4);
    bench_bf16_gemm(g, gpu, cpu, "gemm_dx_4096", GEMM_BF16_MMA, dx4);
    bench_bf16_gemm(g, gpu, cpu, "gemm_dw_4096", GEMM_BF16_MMA, dw4);
    bench_bf16_gemm(g, gpu, cpu, "gemm_fwd_11008", GEMM_BF16_MMA, fwd11);
    bench_bf16_gemm(g, gpu, cpu, "gemm_dx_11008", GEMM_BF16_MMA, dx11);
    bench_bf16_gemm(g, gpu, cpu, "gemm_dw_11008", GEMM_BF16_MMA, dw11);
    bench_bf16_gemm(g, gpu, cpu, "gemm_fwd_4096", GEMM_BF16_WGMMA, fwd4);
    bench_bf16_gemm(g, gpu, cpu, "gemm_fwd_11008", GEMM_BF16_WGMMA, fwd11);
    for (int i = 0; i < 6; i++) bench_bf16_mode(g, gpu, cpu, &cases[i]);   // the six Linear GEMMs via the op table
    for (int w = 0; w < 2; w++) {   // the frozen Linears on 16-bit weights (--precision bf16 | fp16)
        const Dtype wt = w ? DTYPE_F16 : DTYPE_BF16;
        bench_half_linear(g, gpu, cpu, "linear16_fwd_4096", wt, fwd4);
        bench_half_linear(g, gpu, cpu, "linear16_dx_4096", wt, dx4);
        bench_half_linear(g, gpu, cpu, "linear16_fwd_11008", wt, fwd11);
        bench_half_linear(g, gpu, cpu, "linear16_dx_11008", wt, dx11);
    }
    bench_bf16_attention(g, gpu, cpu, "attention_fwd_causal", cases[10].full);
    bench_bf16_attention(g, gpu, cpu, "attention_fwd_full", cases[11].full);
    bench_bf16_attention(g, gpu, cpu, "attention_fwd_gqa8", cases[12].full);
    bench_bf16_attention_bwd(g, gpu, cpu, "attention_bwd_causal", cases[14].full);
    bench_bf16_attention_bwd(g, gpu, cpu, "attention_bwd_full", cases[15].full);
    bench_bf16_attention_bwd(g, gpu, cpu, "attention_bwd_gqa8", cases[16].full);
    return failures - before;
}

// ---------------------------------------------------------------------------------------------------

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = true;
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-ms-per-row") && i + 1 < argc) max_ms_per_row = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_cuda [--quick] [--filter SUBSTR] [--reps N] [--max-ms-per-row MS]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    LpoiErr err = {{0}};
    Backend *gpu = backend_cuda_create(0, &err);
    if (!gpu) {
        printf("bench_cuda: skipped (%s)\n", err.msg);
        return 0;
    }
    Backend *cpu = backend_cpu_create();
    Gpu g = {.c = cuda_impl(gpu)};
    CudaImpl *c = g.c;
    cuda_enter(c);
    int cc = c->cc_major * 10 + c->cc_minor;
    int clock_khz = attr(c, CU_DEVICE_ATTRIBUTE_CLOCK_RATE), mem_khz = attr(c, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
    int bus = attr(c, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH), l2 = attr(c, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
    int lanes = fp32_lanes(cc);
    g.fp32_peak_tflops = lanes && clock_khz ? (double)c->sm_count * lanes * clock_khz * 1e3 * 2 / 1e12 : 0;
    printf("bench_cuda: %s%s\n", gpu->device, quick ? "  [--quick: tiny shapes, not a measurement]" : "");
    printf("device: %s, sm_%d, %d SMs, SM clock %.0f MHz, memory clock %.0f MHz, bus %d bit, L2 %.1f MiB, %.1f GiB, "
           "driver CUDA %d.%d\n", c->name, cc, c->sm_count, clock_khz / 1e3, mem_khz / 1e3, bus, l2 / 1048576.0,
           c->total_mem / 1073741824.0, cudrv.version / 1000, (cudrv.version % 1000) / 10);
    if (mem_khz && bus)   // DDR: two transfers per clock (HBM reports its effective rate this way too)
        printf("theoretical DRAM bandwidth (2 × memory clock × bus width): %.0f GB/s\n", 2.0 * mem_khz * 1e3 * bus / 8 / 1e9);
    if (g.fp32_peak_tflops > 0)
        printf("fp32 non-tensor peak (%d SMs × %d FP32 lanes × %.0f MHz × 2): %.1f TFLOP/s — the ceiling of these fp32 "
               "SIMT kernels\n", c->sm_count, lanes, clock_khz / 1e3, g.fp32_peak_tflops);
    printf("note: rows marked fp32 run the fp32 SIMT kernels (of_ceil against the fp32 peak); rows marked bf16 run the "
           "tensor-core kernels: compare them with bench_torch's bf16 rows (cuBLAS, SDPA) from the same machine.\n");

    cu_check(cudrv.cuEventCreate(&g.ev[0], CU_EVENT_DEFAULT));
    cu_check(cudrv.cuEventCreate(&g.ev[1], CU_EVENT_DEFAULT));
    g.flush_bytes = quick ? ((size_t)1 << 20) : (size_t)2 * (size_t)l2;
    if (!quick && g.flush_bytes < ((size_t)64 << 20)) g.flush_bytes = (size_t)64 << 20;
    g.flush = gpu->alloc(gpu, g.flush_bytes);

    // Copy ceiling: a device-to-device copy of 1 GiB (bytes read + bytes written over the time).
    {
        Dims d = {.n = quick ? ((size_t)4 << 20) : ((size_t)1 << 30)};
        void *t[2] = {gpu->alloc(gpu, d.n), gpu->alloc(gpu, d.n)};
        cu_check(cudrv.cuMemsetD32Async((CUdeviceptr)(uintptr_t)t[0], 0x3f800001u, d.n / 4, c->stream));
        int done = 0;
        double ms = time_median(&g, gpu, copy_launch, t, &d, quick ? 2 : 10, &done);
        g.copy_gbs = 2.0 * (double)d.n / (ms * 1e-3) / 1e9;
        printf("copy ceiling: cuMemcpyDtoDAsync %.0f MiB: %.3f ms, %.1f GB/s (read + write; median of %d)\n",
               d.n / 1048576.0, ms, g.copy_gbs, done);
        gpu->free(gpu, t[0]);
        gpu->free(gpu, t[1]);
    }
    printf("\n%-22s %-10s %-28s %10s %14s %8s  %-9s %s\n", "op", "variant", "shape", "ms", "result",
           "of_ceil", "rel_err", "check");
    double t0 = now_ms();
    int ran = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const Case *k = &cases[i];
        if (filter && !strstr(k->name, filter)) continue;
        ran++;
        bench_case(&g, k, gpu, cpu);
    }
    printf("\n");
    bench_bf16_rows(&g, gpu, cpu);
    printf("\nbench_cuda: %d rows, %d wrong, %.1f s. of_ceil: TFLOP/s rows against the fp32 non-tensor peak, GB/s rows "
           "against the copy ceiling.\n", ran, failures, (now_ms() - t0) / 1e3);
    gpu->free(gpu, g.flush);
    cudrv.cuEventDestroy(g.ev[0]);
    cudrv.cuEventDestroy(g.ev[1]);
    gpu->destroy(gpu);
    cpu->destroy(cpu);
    return failures ? 1 : 0;
}
