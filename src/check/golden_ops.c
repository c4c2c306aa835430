// golden_ops.c — one runner per op kind: read config and tensors, run the backend op, compare.
// The tensor names and config fields of each kind are the contract with tools/golden_ops.py;
// they are listed above each runner. A case with `in.dout` also checks the backward: it runs
// twice, activation gradients must be equal after both runs (=), parameter gradients doubled (+=).
#include "check/golden.h"
#include "check/golden_losses.h"
#include "check/golden_image.h"
#include "check/golden_idefics2.h"
#include "check/golden_models.h"
#include "check/golden_vision.h"
#include "check/golden_gdino.h"
#include "base/check.h"
#include <math.h>
#include <string.h>

#define SHAPE GR_SHAPE

// The backward check. A case with in.dout also needs op bwd (skipped without it) and runs the
// backward twice: activation gradients must come out the same after both passes (overwritten),
// parameter gradients doubled (accumulated with +=).
typedef enum { OVERWRITES, ACCUMULATES } GradRule;

static bool need_ops(GoldenRun *r, OpId fwd, OpId bwd) {
    bool backward = gr_has(r, "in.dout");
    gr_need(r, fwd);
    if (backward) gr_need(r, bwd);
    return backward;
}

static void expect_grad(GoldenRun *r, const float *dev, const char *name, const int64_t *dims, int ndim, int pass,
                        GradRule rule) {
    const char *second = rule == ACCUMULATES ? "(2nd backward: must accumulate)" : "(2nd backward: must overwrite)";
    gr_expect(r, dev, name, dims, ndim, rule == ACCUMULATES ? pass : 1, pass == 2 ? second : NULL);
}

// ---- op.matmul: y = x·wᵀ + b --------------------------------------------------------------------
// config {N, C, OC, bias}; in.x [N,C], param.weight [OC,C], param.bias [OC] (bias) -> out.y [N,OC]
// backward: in.dout [N,OC] -> grad.x, grad.weight, grad.bias
static void run_matmul(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int N = gr_cfg_int(r, "N", 1, GR_MAX_DIM), C = gr_cfg_int(r, "C", 1, GR_MAX_DIM), OC = gr_cfg_int(r, "OC", 1, GR_MAX_DIM);
    bool bias = gr_cfg_bool_or(r, "bias", false);
    bool bwd = need_ops(r, OP_MATMUL_FORWARD, OP_MATMUL_BACKWARD);
    const float *x = gr_in(r, "in.x", SHAPE(N, C));
    const float *w = gr_in(r, "param.weight", SHAPE(OC, C));
    const float *b = bias ? gr_in(r, "param.bias", SHAPE(OC)) : NULL;
    float *y = gr_out(r, "out.y", (size_t)N * OC);
    if (!gr_ready(r)) return;
    be->matmul_forward(be, y, x, w, b, N, C, OC);
    gr_expect(r, y, "out.y", SHAPE(N, OC), 1, NULL);
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(N, OC));
    float *dx = gr_out(r, "grad.x", (size_t)N * C);
    float *dw = gr_zeros(r, "grad.weight", (size_t)OC * C);
    float *db = bias ? gr_zeros(r, "grad.bias", (size_t)OC) : NULL;
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        be->matmul_backward(be, dx, dw, db, dy, x, w, N, C, OC);
        expect_grad(r, dx, "grad.x", SHAPE(N, C), pass, OVERWRITES);
        expect_grad(r, dw, "grad.weight", SHAPE(OC, C), pass, ACCUMULATES);
        if (bias) expect_grad(r, db, "grad.bias", SHAPE(OC), pass, ACCUMULATES);
    }
}

// ---- op.gemm: C[b] = alpha op(A[b]) op(B[b]) + beta C[b] ----------------------------------------
// config {M, N, K, trans_a, trans_b, alpha, beta, batch, lda, ldb, ldc, stride_a, stride_b, stride_c}
// (ld*/stride* optional: tight by default; stride_a/stride_b may be 0 to broadcast).
// Matrices are stored flat: in.a [(batch-1)*stride_a + rows_a*lda] etc.; in.c is C before the call
// (may hold NaN where beta == 0), out.c is all of C after it (padding columns unchanged).
static size_t gemm_span(GoldenRun *r, const char *what, int batch, int64_t stride, int rows, int ld) {
    int64_t span = (int64_t)(batch - 1) * stride + (int64_t)rows * ld;
    if (span <= 0 || span > ((int64_t)1 << 28)) { gr_error(r, "config: %s spans %lld elements", what, (long long)span); return 0; }
    return (size_t)span;
}

static void run_gemm(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int M = gr_cfg_int(r, "M", 1, GR_MAX_DIM), N = gr_cfg_int(r, "N", 1, GR_MAX_DIM), K = gr_cfg_int(r, "K", 1, GR_MAX_DIM);
    bool ta = gr_cfg_bool_or(r, "trans_a", false), tb = gr_cfg_bool_or(r, "trans_b", false);
    float alpha = (float)gr_cfg_num_or(r, "alpha", 1.0), beta = (float)gr_cfg_num_or(r, "beta", 0.0);
    int batch = gr_cfg_int_or(r, "batch", 1, 1 << 16, 1);
    int ra = ta ? K : M, ca = ta ? M : K, rb = tb ? N : K, cb = tb ? K : N;
    int lda = gr_cfg_int_or(r, "lda", ca, GR_MAX_DIM, ca);
    int ldb = gr_cfg_int_or(r, "ldb", cb, GR_MAX_DIM, cb);
    int ldc = gr_cfg_int_or(r, "ldc", N, GR_MAX_DIM, N);
    int64_t sa = gr_cfg_int_or(r, "stride_a", 0, 1 << 28, (int64_t)ra * lda);
    int64_t sb = gr_cfg_int_or(r, "stride_b", 0, 1 << 28, (int64_t)rb * ldb);
    int64_t sc = gr_cfg_int_or(r, "stride_c", (int64_t)M * ldc, 1 << 28, (int64_t)M * ldc);  // no overlap
    gr_need(r, OP_GEMM);
    if (!gr_ready(r)) return;
    size_t na = gemm_span(r, "A", batch, sa, ra, lda), nb = gemm_span(r, "B", batch, sb, rb, ldb);
    size_t nc = gemm_span(r, "C", batch, sc, M, ldc);
    const float *A = gr_in(r, "in.a", SHAPE((int64_t)na));
    const float *Bm = gr_in(r, "in.b", SHAPE((int64_t)nb));
    float *Cm = gr_inout(r, "in.c", SHAPE((int64_t)nc));
    if (!gr_ready(r)) return;
    be->gemm(be, ta, tb, M, N, K, alpha, A, lda, sa, Bm, ldb, sb, beta, Cm, ldc, sc, batch);
    gr_expect(r, Cm, "out.c", SHAPE((int64_t)nc), 1, NULL);
}

// ---- op.embedding: y[n] = weight[ids[n]] ----------------------------------------------------------
// config {N, V, C}; in.ids [N] (0 <= id < V), param.weight [V,C] -> out.y [N,C]
// backward: in.dout [N,C] -> grad.weight [V,C] (repeated ids accumulate)
static void run_embedding(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int N = gr_cfg_int(r, "N", 1, GR_MAX_DIM), V = gr_cfg_int(r, "V", 1, GR_MAX_DIM), C = gr_cfg_int(r, "C", 1, GR_MAX_DIM);
    bool bwd = need_ops(r, OP_EMBEDDING_FORWARD, OP_EMBEDDING_BACKWARD);
    const int32_t *ids = gr_in_int(r, "in.ids", SHAPE(N), 0, (int64_t)V - 1);
    const float *w = gr_in(r, "param.weight", SHAPE(V, C));
    float *y = gr_out(r, "out.y", (size_t)N * C);
    if (!gr_ready(r)) return;
    be->embedding_forward(be, y, ids, w, N, C);
    gr_expect(r, y, "out.y", SHAPE(N, C), 1, NULL);
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(N, C));
    float *dw = gr_zeros(r, "grad.weight", (size_t)V * C);
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        be->embedding_backward(be, dw, dy, ids, N, C);
        expect_grad(r, dw, "grad.weight", SHAPE(V, C), pass, ACCUMULATES);
    }
}

// ---- op.rmsnorm (HF LlamaRMSNorm) and op.layernorm (torch.nn.LayerNorm) ------------------------------
// config {N, C, eps}; in.x [N,C], param.weight [C], param.bias [C] (layernorm)
// -> out.y [N,C], out.mean [N] (layernorm), out.rstd [N] (mean/rstd optional)
// backward: in.dout -> grad.x, grad.weight, grad.bias (layernorm)
static void run_norm(GoldenRun *r, bool layer) {
    Backend *be = gr_backend(r);
    int N = gr_cfg_int(r, "N", 1, GR_MAX_DIM), C = gr_cfg_int(r, "C", 1, GR_MAX_DIM);
    float eps = (float)gr_cfg_num(r, "eps");
    bool bwd = layer ? need_ops(r, OP_LAYERNORM_FORWARD, OP_LAYERNORM_BACKWARD)
                     : need_ops(r, OP_RMSNORM_FORWARD, OP_RMSNORM_BACKWARD);
    const float *x = gr_in(r, "in.x", SHAPE(N, C));
    const float *w = gr_in(r, "param.weight", SHAPE(C)), *b = layer ? gr_in(r, "param.bias", SHAPE(C)) : NULL;
    float *y = gr_out(r, "out.y", (size_t)N * C);
    float *mean = layer ? gr_out(r, "out.mean", (size_t)N) : NULL, *rstd = gr_out(r, "out.rstd", (size_t)N);
    if (!gr_ready(r)) return;
    if (layer) be->layernorm_forward(be, y, mean, rstd, x, w, b, N, C, eps);
    else be->rmsnorm_forward(be, y, rstd, x, w, N, C, eps);
    gr_expect(r, y, "out.y", SHAPE(N, C), 1, NULL);
    if (layer) gr_expect_opt(r, mean, "out.mean", SHAPE(N));
    gr_expect_opt(r, rstd, "out.rstd", SHAPE(N));
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(N, C));
    float *dx = gr_out(r, "grad.x", (size_t)N * C);
    float *dw = gr_zeros(r, "grad.weight", (size_t)C), *db = layer ? gr_zeros(r, "grad.bias", (size_t)C) : NULL;
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        if (layer) be->layernorm_backward(be, dx, dw, db, dy, x, w, mean, rstd, N, C);
        else be->rmsnorm_backward(be, dx, dw, dy, x, w, rstd, N, C);
        expect_grad(r, dx, "grad.x", SHAPE(N, C), pass, OVERWRITES);
        expect_grad(r, dw, "grad.weight", SHAPE(C), pass, ACCUMULATES);
        if (layer) expect_grad(r, db, "grad.bias", SHAPE(C), pass, ACCUMULATES);
    }
}
static void run_rmsnorm(GoldenRun *r) { run_norm(r, false); }
static void run_layernorm(GoldenRun *r) { run_norm(r, true); }

// ---- op.softmax over the last dim, optional additive mask --------------------------------------------
// config {R, C}; in.x [R,C], in.mask [R,C] (optional; -inf entries; an all -inf row gives zeros)
// -> out.y; backward: in.dout -> grad.x
static void run_softmax(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int R = gr_cfg_int(r, "R", 1, GR_MAX_DIM), C = gr_cfg_int(r, "C", 1, GR_MAX_DIM);
    bool bwd = need_ops(r, OP_SOFTMAX_FORWARD, OP_SOFTMAX_BACKWARD);
    const float *x = gr_in(r, "in.x", SHAPE(R, C));
    const float *mask = gr_has(r, "in.mask") ? gr_in(r, "in.mask", SHAPE(R, C)) : NULL;
    float *y = gr_out(r, "out.y", (size_t)R * C);
    if (!gr_ready(r)) return;
    be->softmax_forward(be, y, x, mask, R, C);
    gr_expect(r, y, "out.y", SHAPE(R, C), 1, NULL);
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(R, C));
    float *dx = gr_out(r, "grad.x", (size_t)R * C);
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        be->softmax_backward(be, dx, dy, y, R, C);
        expect_grad(r, dx, "grad.x", SHAPE(R, C), pass, OVERWRITES);
    }
}

// ---- op.rope (HF rotate_half) ------------------------------------------------------------------------
// config {B, T, H, D, theta}; in.x [B,T,H,D], in.pos [B,T] (0 <= pos < 2^24) -> out.y
// backward: in.dout -> grad.x. Also replays the forward in place (out aliasing x is allowed).
static void run_rope(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int B = gr_cfg_int(r, "B", 1, GR_MAX_DIM), T = gr_cfg_int(r, "T", 1, GR_MAX_DIM);
    int H = gr_cfg_int(r, "H", 1, GR_MAX_DIM), D = gr_cfg_int(r, "D", 2, GR_MAX_DIM);
    float theta = (float)gr_cfg_num(r, "theta");
    if (gr_ready(r) && D % 2) gr_error(r, "config: \"D\" = %d must be even", D);
    if (gr_ready(r) && !(theta > 1)) gr_error(r, "config: \"theta\" must be > 1");
    bool bwd = need_ops(r, OP_ROPE_FORWARD, OP_ROPE_BACKWARD);
    const float *x = gr_in(r, "in.x", SHAPE(B, T, H, D));
    const int32_t *pos = gr_in_int(r, "in.pos", SHAPE(B, T), 0, (1 << 24) - 1);
    float *y = gr_out(r, "out.y", gr_numel(r, SHAPE(B, T, H, D)));
    float *xy = gr_inout(r, "in.x", SHAPE(B, T, H, D));
    if (!gr_ready(r)) return;
    be->rope_forward(be, y, x, pos, B, T, H, D, theta);
    gr_expect(r, y, "out.y", SHAPE(B, T, H, D), 1, NULL);
    be->rope_forward(be, xy, xy, pos, B, T, H, D, theta);
    gr_expect(r, xy, "out.y", SHAPE(B, T, H, D), 1, "(in place: out == x)");
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(B, T, H, D));
    float *dx = gr_out(r, "grad.x", gr_numel(r, SHAPE(B, T, H, D)));
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        be->rope_backward(be, dx, dy, pos, B, T, H, D, theta);
        expect_grad(r, dx, "grad.x", SHAPE(B, T, H, D), pass, OVERWRITES);
    }
}

// ---- elementwise activations ----------------------------------------------------------------------
// op.gelu   config {n, approximate: "erf"|"tanh"|"quick"} (HF names gelu / gelu_pytorch_tanh /
//           quick_gelu accepted); in.x [n] -> out.y; backward: in.dout -> grad.x
// op.silu   config {n}; same tensors
// op.swiglu config {n}; in.gate [n], in.up [n] -> out.y = silu(gate)·up; backward -> grad.gate, grad.up
static bool gelu_kind(GoldenRun *r, GeluKind *k) {
    const char *s = gr_cfg_str(r, "approximate");
    if (!s) return false;
    if (!strcmp(s, "erf") || !strcmp(s, "none") || !strcmp(s, "gelu")) *k = GELU_ERF;
    else if (!strcmp(s, "tanh") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_new")) *k = GELU_TANH;
    else if (!strcmp(s, "quick") || !strcmp(s, "quick_gelu")) *k = GELU_QUICK;
    else return gr_error(r, "config: \"approximate\" = \"%s\" (expected erf, tanh or quick)", s);
    return true;
}

static void run_unary(GoldenRun *r, bool gelu) {
    Backend *be = gr_backend(r);
    int n = gr_cfg_int(r, "n", 1, 1 << 28);
    GeluKind kind = GELU_ERF;
    if (gelu) gelu_kind(r, &kind);
    bool bwd = need_ops(r, gelu ? OP_GELU_FORWARD : OP_SILU_FORWARD, gelu ? OP_GELU_BACKWARD : OP_SILU_BACKWARD);
    const float *x = gr_in(r, "in.x", SHAPE(n));
    float *y = gr_out(r, "out.y", (size_t)n);
    if (!gr_ready(r)) return;
    if (gelu) be->gelu_forward(be, y, x, (size_t)n, kind);
    else be->silu_forward(be, y, x, (size_t)n);
    gr_expect(r, y, "out.y", SHAPE(n), 1, NULL);
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(n));
    float *dx = gr_out(r, "grad.x", (size_t)n);
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        if (gelu) be->gelu_backward(be, dx, dy, x, (size_t)n, kind);
        else be->silu_backward(be, dx, dy, x, (size_t)n);
        expect_grad(r, dx, "grad.x", SHAPE(n), pass, OVERWRITES);
    }
}
static void run_gelu(GoldenRun *r) { run_unary(r, true); }
static void run_silu(GoldenRun *r) { run_unary(r, false); }

static void run_swiglu(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int n = gr_cfg_int(r, "n", 1, 1 << 28);
    bool bwd = need_ops(r, OP_SWIGLU_FORWARD, OP_SWIGLU_BACKWARD);
    const float *g = gr_in(r, "in.gate", SHAPE(n)), *u = gr_in(r, "in.up", SHAPE(n));
    float *y = gr_out(r, "out.y", (size_t)n);
    if (!gr_ready(r)) return;
    be->swiglu_forward(be, y, g, u, (size_t)n);
    gr_expect(r, y, "out.y", SHAPE(n), 1, NULL);
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(n));
    float *dg = gr_out(r, "grad.gate", (size_t)n), *du = gr_out(r, "grad.up", (size_t)n);
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        be->swiglu_backward(be, dg, du, dy, g, u, (size_t)n);
        expect_grad(r, dg, "grad.gate", SHAPE(n), pass, OVERWRITES);
        expect_grad(r, du, "grad.up", SHAPE(n), pass, OVERWRITES);
    }
}

// ---- elementwise helpers ----------------------------------------------------------------------------
// op.add         config {n}; in.a, in.b -> out.y (also replayed in place: out == a)
// op.axpy        config {n, alpha}; in.y, in.x -> out.y = y + alpha x
// op.scale       config {n, alpha}; in.x -> out.x = alpha x
// op.sum_squares config {n}; in.x -> out.s [1]
static void run_add(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int n = gr_cfg_int(r, "n", 1, 1 << 28);
    gr_need(r, OP_ADD);
    const float *a = gr_in(r, "in.a", SHAPE(n)), *b = gr_in(r, "in.b", SHAPE(n));
    float *y = gr_out(r, "out.y", (size_t)n), *ay = gr_inout(r, "in.a", SHAPE(n));
    if (!gr_ready(r)) return;
    be->add(be, y, a, b, (size_t)n);
    gr_expect(r, y, "out.y", SHAPE(n), 1, NULL);
    be->add(be, ay, ay, b, (size_t)n);
    gr_expect(r, ay, "out.y", SHAPE(n), 1, "(in place: out == a)");
}

static void run_axpy(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int n = gr_cfg_int(r, "n", 1, 1 << 28);
    float alpha = (float)gr_cfg_num(r, "alpha");
    gr_need(r, OP_AXPY);
    float *y = gr_inout(r, "in.y", SHAPE(n));
    const float *x = gr_in(r, "in.x", SHAPE(n));
    if (!gr_ready(r)) return;
    be->axpy(be, y, alpha, x, (size_t)n);
    gr_expect(r, y, "out.y", SHAPE(n), 1, NULL);
}

static void run_scale(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int n = gr_cfg_int(r, "n", 1, 1 << 28);
    float alpha = (float)gr_cfg_num(r, "alpha");
    gr_need(r, OP_SCALE);
    float *x = gr_inout(r, "in.x", SHAPE(n));
    if (!gr_ready(r)) return;
    be->scale(be, x, alpha, (size_t)n);
    gr_expect(r, x, "out.x", SHAPE(n), 1, NULL);
}

static void run_sum_squares(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int n = gr_cfg_int(r, "n", 1, 1 << 28);
    gr_need(r, OP_SUM_SQUARES);
    const float *x = gr_in(r, "in.x", SHAPE(n));
    if (!gr_ready(r)) return;
    float s = (float)be->sum_squares(be, x, (size_t)n);
    gr_expect_host(r, &s, "out.s", SHAPE(1));
}

// Every value of tensor `name` must be exactly 0 or 1 (masks).
static void check_binary(GoldenRun *r, const char *name) {
    if (!gr_ready(r)) return;
    const StTensor *t = st_find(&gr_case(r)->st, name);
    float *h = malloc_check((size_t)t->numel * sizeof(float) + 4);
    LpoiErr err = {{0}};
    if (!st_read_f32(t, h, &err)) gr_error(r, "tensor '%s': %s", name, err.msg);
    for (uint64_t i = 0; gr_ready(r) && i < t->numel; i++)
        if (h[i] != 0.0f && h[i] != 1.0f) gr_error(r, "tensor '%s'[%llu] = %g (a mask holds 0 or 1)", name, (unsigned long long)i, (double)h[i]);
    free(h);
}

// ---- op.attention ------------------------------------------------------------------------------------
// config {B, Tq, Tk, H, KVH, D, scale (default 1/sqrt(D)), causal, window (0 = off)}
// in.q [B,Tq,H,D], in.k / in.v [B,Tk,KVH,D], in.key_mask [B,Tk] (optional, values 0/1)
// -> out.y [B,Tq,H,D], out.lse [B,H,Tq] (optional; -inf where a query sees no key)
// backward: in.dout -> grad.q, grad.k, grad.v (all overwritten)
static void run_attention(GoldenRun *r) {
    Backend *be = gr_backend(r);
    AttnDesc a = {0};
    a.B = gr_cfg_int(r, "B", 1, GR_MAX_DIM);
    a.Tq = gr_cfg_int(r, "Tq", 1, GR_MAX_DIM);
    a.Tk = gr_cfg_int(r, "Tk", 1, GR_MAX_DIM);
    a.H = gr_cfg_int(r, "H", 1, 4096);
    a.KVH = gr_cfg_int(r, "KVH", 1, 4096);
    a.D = gr_cfg_int(r, "D", 1, 4096);
    a.scale = gr_ready(r) ? (float)gr_cfg_num_or(r, "scale", 1.0 / sqrt((double)a.D)) : 0;
    a.causal = gr_cfg_bool_or(r, "causal", false);
    a.window = gr_cfg_int_or(r, "window", 0, GR_MAX_DIM, 0);
    if (gr_ready(r) && a.H % a.KVH) gr_error(r, "config: H = %d is not a multiple of KVH = %d", a.H, a.KVH);
    if (gr_ready(r) && a.Tq > a.Tk) gr_error(r, "config: Tq = %d > Tk = %d (queries sit at the end of the keys)", a.Tq, a.Tk);
    bool bwd = need_ops(r, OP_ATTENTION_FORWARD, OP_ATTENTION_BACKWARD);
    const float *q = gr_in(r, "in.q", SHAPE(a.B, a.Tq, a.H, a.D));
    const float *k = gr_in(r, "in.k", SHAPE(a.B, a.Tk, a.KVH, a.D));
    const float *v = gr_in(r, "in.v", SHAPE(a.B, a.Tk, a.KVH, a.D));
    if (gr_has(r, "in.key_mask")) {
        a.key_mask = gr_in(r, "in.key_mask", SHAPE(a.B, a.Tk));
        check_binary(r, "in.key_mask");
    }
    size_t nq = gr_numel(r, SHAPE(a.B, a.Tq, a.H, a.D)), nkv = gr_numel(r, SHAPE(a.B, a.Tk, a.KVH, a.D));
    float *y = gr_out(r, "out.y", nq), *lse = gr_out(r, "out.lse", gr_numel(r, SHAPE(a.B, a.H, a.Tq)));
    if (!gr_ready(r)) return;
    be->attention_forward(be, y, lse, q, k, v, &a);
    gr_expect(r, y, "out.y", SHAPE(a.B, a.Tq, a.H, a.D), 1, NULL);
    gr_expect_opt(r, lse, "out.lse", SHAPE(a.B, a.H, a.Tq));
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(a.B, a.Tq, a.H, a.D));
    float *dq = gr_out(r, "grad.q", nq), *dk = gr_out(r, "grad.k", nkv), *dv = gr_out(r, "grad.v", nkv);
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        be->attention_backward(be, dq, dk, dv, dy, q, k, v, y, lse, &a);
        expect_grad(r, dq, "grad.q", SHAPE(a.B, a.Tq, a.H, a.D), pass, OVERWRITES);
        expect_grad(r, dk, "grad.k", SHAPE(a.B, a.Tk, a.KVH, a.D), pass, OVERWRITES);
        expect_grad(r, dv, "grad.v", SHAPE(a.B, a.Tk, a.KVH, a.D), pass, OVERWRITES);
    }
}

// ---- op.logprob: log-softmax picked at the target --------------------------------------------------------
// config {N, V}; in.logits [N,V], in.targets [N] (< V; negative = ignored, logp 0)
// -> out.logp [N], out.lse [N] (optional); backward: in.dout [N] -> grad.logits [N,V]
static void run_logprob(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int N = gr_cfg_int(r, "N", 1, GR_MAX_DIM), V = gr_cfg_int(r, "V", 1, GR_MAX_DIM);
    bool bwd = need_ops(r, OP_LOGPROB_FORWARD, OP_LOGPROB_BACKWARD);
    const float *logits = gr_in(r, "in.logits", SHAPE(N, V));
    const int32_t *tg = gr_in_int(r, "in.targets", SHAPE(N), INT32_MIN, (int64_t)V - 1);
    float *logp = gr_out(r, "out.logp", (size_t)N), *lse = gr_out(r, "out.lse", (size_t)N);
    if (!gr_ready(r)) return;
    be->logprob_forward(be, logp, lse, logits, tg, N, V);
    gr_expect(r, logp, "out.logp", SHAPE(N), 1, NULL);
    gr_expect_opt(r, lse, "out.lse", SHAPE(N));
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(N));
    float *dl = gr_out(r, "grad.logits", (size_t)N * V);
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        be->logprob_backward(be, dl, dy, logits, lse, tg, N, V);
        expect_grad(r, dl, "grad.logits", SHAPE(N, V), pass, OVERWRITES);
    }
}

// ---- op.adamw: torch.optim.AdamW for `steps` steps ----------------------------------------------------
// config {n, steps, step0 (steps already taken, default 0), lr, beta1, beta2, eps, weight_decay}
// param.p [n], in.g [steps,n] (the gradient of each step), in.m / in.v [n] (optional state, else 0)
// -> out.p, out.m, out.v after the last step
static void run_adamw(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int n = gr_cfg_int(r, "n", 1, 1 << 28), steps = gr_cfg_int(r, "steps", 1, 1000);
    int step0 = gr_cfg_int_or(r, "step0", 0, 1 << 30, 0);
    float lr = (float)gr_cfg_num(r, "lr"), b1 = (float)gr_cfg_num(r, "beta1"), b2 = (float)gr_cfg_num(r, "beta2");
    float eps = (float)gr_cfg_num(r, "eps"), wd = (float)gr_cfg_num(r, "weight_decay");
    gr_need(r, OP_ADAMW_UPDATE);
    float *p = gr_inout(r, "param.p", SHAPE(n));
    const float *g = gr_in(r, "in.g", SHAPE(steps, n));
    float *m = gr_has(r, "in.m") ? gr_inout(r, "in.m", SHAPE(n)) : gr_zeros(r, "m", (size_t)n);
    float *v = gr_has(r, "in.v") ? gr_inout(r, "in.v", SHAPE(n)) : gr_zeros(r, "v", (size_t)n);
    if (!gr_ready(r)) return;
    for (int s = 0; s < steps; s++)
        be->adamw_update(be, p, g + (size_t)s * n, m, v, (size_t)n, lr, b1, b2, eps, wd, step0 + s + 1);
    gr_expect(r, p, "out.p", SHAPE(n), 1, NULL);
    gr_expect(r, m, "out.m", SHAPE(n), 1, NULL);
    gr_expect(r, v, "out.v", SHAPE(n), 1, NULL);
}

static const GoldenRunner RUNNERS[] = {
    {"op.matmul", run_matmul, "y = x·wᵀ + b, backward (dx, dw, db)", GR_NO_OPS},
    {"op.gemm", run_gemm, "batched strided C = alpha op(A) op(B) + beta C, all transposes", GR_NO_OPS},
    {"op.embedding", run_embedding, "row gather, backward scatter-add", GR_NO_OPS},
    {"op.rmsnorm", run_rmsnorm, "HF LlamaRMSNorm forward/backward", GR_NO_OPS},
    {"op.layernorm", run_layernorm, "torch LayerNorm forward/backward", GR_NO_OPS},
    {"op.softmax", run_softmax, "last-dim softmax with additive mask, backward", GR_NO_OPS},
    {"op.rope", run_rope, "HF rotate_half rotary embedding, backward, in place", GR_NO_OPS},
    {"op.gelu", run_gelu, "GELU erf/tanh/quick, backward", GR_NO_OPS},
    {"op.silu", run_silu, "SiLU, backward", GR_NO_OPS},
    {"op.swiglu", run_swiglu, "silu(gate)·up, backward", GR_NO_OPS},
    {"op.add", run_add, "out = a + b (also in place)", GR_NO_OPS},
    {"op.axpy", run_axpy, "y += alpha x", GR_NO_OPS},
    {"op.scale", run_scale, "x *= alpha", GR_NO_OPS},
    {"op.sum_squares", run_sum_squares, "Σ x²", GR_NO_OPS},
    {"op.attention", run_attention, "SDPA: GQA, causal, sliding window, key mask, Tq < Tk, backward", GR_NO_OPS},
    {"op.logprob", run_logprob, "log p(target) with ignore index, backward", GR_NO_OPS},
    {"op.adamw", run_adamw, "torch.optim.AdamW steps (p, m, v)", GR_NO_OPS},
    {"op.msda", golden_run_op_msda, "HF multi-scale deformable attention, backward (value, locations, weights)",
     GR_NO_OPS},
    {"op.groupnorm", golden_run_op_groupnorm, "torch GroupNorm on channels-last x, backward", GR_NO_OPS},
    {"op.window_attention", golden_run_op_window_attention,
     "HF Swin window attention: bias table gather, shift mask, backward (q, k, v, table)", GR_NO_OPS},
    {"loss.dpo", golden_run_loss_dpo, "text DPO (sigmoid, label smoothing), gradients", GR_NO_OPS},
    {"loss.mdpo", golden_run_loss_mdpo, "mDPO: DPO + image-conditional + anchor, gradients", GR_NO_OPS},
    {"loss.lpoi", golden_run_loss_lpoi, "LPOI: DPO + anchor + listwise Plackett-Luce, gradients", GR_NO_OPS},
    {"model.llama", golden_run_model_llama, "HF LlamaForCausalLM + PEFT LoRA: logits, sequence logps, LoRA/embeds grads",
     GR_OPS(GOLDEN_LLAMA_OPS)},
    {"model.mistral", golden_run_model_llama, "HF MistralForCausalLM (sliding window) + PEFT LoRA: same contract",
     GR_OPS(GOLDEN_LLAMA_OPS)},
    {"model.clip", golden_run_model_clip, "HF CLIPVisionModel + PEFT LoRA: hidden states, pooler, LoRA/pixel grads",
     GR_OPS(GOLDEN_CLIP_OPS)},
    {"model.llava", golden_run_model_llava, "HF LlavaForConditionalGeneration + PEFT LoRA: logits, logps, LoRA/pixel grads",
     GR_OPS(GOLDEN_LLAVA_OPS)},
    {"image.resize", golden_run_image_resize, "Pillow Image.resize on RGB8 (BICUBIC, BILINEAR, ...): identical uint8",
     GR_NO_OPS},
    {"image.clip", golden_run_image_clip, "HF CLIP/LLaVA image processor (PIL backend): uint8 steps, pixel_values",
     GR_NO_OPS},
    {"model.siglip", golden_run_model_siglip, "HF Idefics2VisionTransformer + PEFT LoRA: padded patches, grads",
     GR_OPS(GOLDEN_SIGLIP_OPS)},
    {"model.idefics2_connector", golden_run_model_idefics2_connector,
     "HF Idefics2 connector (SwiGLU projection, perceiver) + PEFT LoRA: features, LoRA/feature grads",
     GR_OPS(GOLDEN_CONNECTOR_OPS)},
    {"model.idefics2", golden_run_model_idefics2,
     "HF Idefics2ForConditionalGeneration + PEFT LoRA: logits, logps, image features, LoRA grads",
     GR_OPS(GOLDEN_IDEFICS2_OPS)},
    {"image.idefics2", golden_run_image_idefics2, "HF Idefics2 image processor (PIL backend): split, resize, pad, mask",
     GR_NO_OPS},
};

const GoldenRunner *golden_runner_find(const char *kind) {
    for (size_t i = 0; i < LPOI_ARRAY_LEN(RUNNERS); i++)
        if (!strcmp(RUNNERS[i].kind, kind)) return &RUNNERS[i];
    return NULL;
}
size_t golden_runner_count(void) { return LPOI_ARRAY_LEN(RUNNERS); }
const GoldenRunner *golden_runner_at(size_t i) { return i < LPOI_ARRAY_LEN(RUNNERS) ? &RUNNERS[i] : NULL; }
