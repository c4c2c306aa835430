// golden_gdino.c — golden runners of the Grounding DINO ops (cases by tools/golden_gdino_ops.py), listed in
// golden_ops.c's RUNNERS table. Each backward runs twice: activation gradients must be equal after both
// passes (=), parameter gradients doubled (+=), as in golden_ops.c.
#include "check/golden_gdino.h"
#include "base/check.h"
#include <stdio.h>

#define SHAPE GR_SHAPE

// ---- op.msda: HF multi_scale_deformable_attention --------------------------------------------------
// config {B, Q, H, D, L, P, h0, w0, ..., h<L-1>, w<L-1>}; in.value [B,S,H,D] (S = Σ h·w), in.loc [B,Q,H,L,P,2],
// in.attn [B,Q,H,L,P] -> out.y [B,Q,H·D]; backward: in.dout [B,Q,H·D] -> grad.value, grad.loc, grad.attn
void golden_run_op_msda(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int B = gr_cfg_int(r, "B", 1, GR_MAX_DIM), Q = gr_cfg_int(r, "Q", 1, GR_MAX_DIM);
    int H = gr_cfg_int(r, "H", 1, 1024), D = gr_cfg_int(r, "D", 1, 4096);
    int L = gr_cfg_int(r, "L", 1, 8), P = gr_cfg_int(r, "P", 1, 64);
    int hw[16] = {0};
    int64_t S = 0;
    for (int l = 0; l < L && gr_ready(r); l++) {
        char kh[8], kw[8];
        snprintf(kh, sizeof kh, "h%d", l);
        snprintf(kw, sizeof kw, "w%d", l);
        hw[2 * l] = gr_cfg_int(r, kh, 1, 1 << 14);
        hw[2 * l + 1] = gr_cfg_int(r, kw, 1, 1 << 14);
        S += (int64_t)hw[2 * l] * hw[2 * l + 1];
    }
    if (gr_ready(r) && S > GR_MAX_DIM) gr_error(r, "config: the levels hold %lld > %d positions", (long long)S, GR_MAX_DIM);
    bool bwd = gr_has(r, "in.dout");
    gr_need(r, OP_MSDA_FORWARD);
    if (bwd) gr_need(r, OP_MSDA_BACKWARD);
    const float *value = gr_in(r, "in.value", SHAPE(B, S, H, D));
    const float *loc = gr_in(r, "in.loc", SHAPE(B, Q, H, L, P, 2));
    const float *attn = gr_in(r, "in.attn", SHAPE(B, Q, H, L, P));
    float *y = gr_out(r, "out.y", gr_numel(r, SHAPE(B, Q, H, D)));
    if (!gr_ready(r)) return;
    be->msda_forward(be, y, value, loc, attn, hw, B, (int)S, Q, H, D, L, P);
    gr_expect(r, y, "out.y", SHAPE(B, Q, (int64_t)H * D), 1, NULL);
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(B, Q, (int64_t)H * D));
    float *dv = gr_out(r, "grad.value", gr_numel(r, SHAPE(B, S, H, D)));
    float *dl = gr_out(r, "grad.loc", gr_numel(r, SHAPE(B, Q, H, L, P, 2)));
    float *da = gr_out(r, "grad.attn", gr_numel(r, SHAPE(B, Q, H, L, P)));
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        be->msda_backward(be, dv, dl, da, dy, value, loc, attn, hw, B, (int)S, Q, H, D, L, P);
        const char *again = pass == 2 ? "(2nd backward: must overwrite)" : NULL;
        gr_expect(r, dv, "grad.value", SHAPE(B, S, H, D), 1, again);
        gr_expect(r, dl, "grad.loc", SHAPE(B, Q, H, L, P, 2), 1, again);
        gr_expect(r, da, "grad.attn", SHAPE(B, Q, H, L, P), 1, again);
    }
}

// ---- op.groupnorm: torch.nn.GroupNorm on channels-last x -------------------------------------------
// config {N, P, C, G, eps}; in.x [N,P,C], param.weight [C], param.bias [C] -> out.y [N,P,C], out.mean [N,G],
// out.rstd [N,G] (optional); backward: in.dout -> grad.x (=), grad.weight, grad.bias (+=)
void golden_run_op_groupnorm(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int N = gr_cfg_int(r, "N", 1, GR_MAX_DIM), P = gr_cfg_int(r, "P", 1, GR_MAX_DIM);
    int C = gr_cfg_int(r, "C", 1, GR_MAX_DIM), G = gr_cfg_int(r, "G", 1, GR_MAX_DIM);
    float eps = (float)gr_cfg_num(r, "eps");
    if (gr_ready(r) && C % G) gr_error(r, "config: \"C\" = %d is not a multiple of \"G\" = %d", C, G);
    bool bwd = gr_has(r, "in.dout");
    gr_need(r, OP_GROUPNORM_FORWARD);
    if (bwd) gr_need(r, OP_GROUPNORM_BACKWARD);
    const float *x = gr_in(r, "in.x", SHAPE(N, P, C));
    const float *w = gr_in(r, "param.weight", SHAPE(C)), *b = gr_in(r, "param.bias", SHAPE(C));
    float *y = gr_out(r, "out.y", gr_numel(r, SHAPE(N, P, C)));
    float *mean = gr_out(r, "out.mean", (size_t)N * G), *rstd = gr_out(r, "out.rstd", (size_t)N * G);
    if (!gr_ready(r)) return;
    be->groupnorm_forward(be, y, mean, rstd, x, w, b, N, P, C, G, eps);
    gr_expect(r, y, "out.y", SHAPE(N, P, C), 1, NULL);
    gr_expect_opt(r, mean, "out.mean", SHAPE(N, G));
    gr_expect_opt(r, rstd, "out.rstd", SHAPE(N, G));
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(N, P, C));
    float *dx = gr_out(r, "grad.x", gr_numel(r, SHAPE(N, P, C)));
    float *dw = gr_zeros(r, "grad.weight", (size_t)C), *db = gr_zeros(r, "grad.bias", (size_t)C);
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        be->groupnorm_backward(be, dx, dw, db, dy, x, w, mean, rstd, N, P, C, G);
        gr_expect(r, dx, "grad.x", SHAPE(N, P, C), 1, pass == 2 ? "(2nd backward: must overwrite)" : NULL);
        gr_expect(r, dw, "grad.weight", SHAPE(C), pass, pass == 2 ? "(2nd backward: must accumulate)" : NULL);
        gr_expect(r, db, "grad.bias", SHAPE(C), pass, pass == 2 ? "(2nd backward: must accumulate)" : NULL);
    }
}

// ---- op.window_attention: HF Swin window attention with the relative position bias table and mask -------
// config {BW, nW, N, H, D, T, scale}; in.q, in.k, in.v [BW,N,H,D], param.table [T,H] (HF
// relative_position_bias_table), in.index [N·N] (HF relative_position_index, 0 <= i < T), in.mask [nW,N,N]
// (optional) -> out.y [BW,N,H,D], out.lse [BW,H,N] (optional); backward: in.dout -> grad.q, grad.k, grad.v (=),
// grad.table (+=). The bias is gathered from the table with embedding_forward and its gradient scattered back
// with embedding_backward, as ops.h tells callers to do.
void golden_run_op_window_attention(GoldenRun *r) {
    Backend *be = gr_backend(r);
    int BW = gr_cfg_int(r, "BW", 1, GR_MAX_DIM), nW = gr_cfg_int(r, "nW", 1, GR_MAX_DIM);
    int N = gr_cfg_int(r, "N", 1, 1024), H = gr_cfg_int(r, "H", 1, 1024), D = gr_cfg_int(r, "D", 1, 4096);
    int T = gr_cfg_int(r, "T", 1, GR_MAX_DIM);
    float scale = (float)gr_cfg_num(r, "scale");
    bool masked = gr_has(r, "in.mask");
    if (gr_ready(r) && BW % nW) gr_error(r, "config: \"BW\" = %d is not a multiple of \"nW\" = %d", BW, nW);
    bool bwd = gr_has(r, "in.dout");
    gr_need(r, OP_WINDOW_ATTENTION_FORWARD);
    gr_need(r, OP_EMBEDDING_FORWARD);
    if (bwd) gr_need(r, OP_WINDOW_ATTENTION_BACKWARD);
    if (bwd) gr_need(r, OP_EMBEDDING_BACKWARD);
    const float *q = gr_in(r, "in.q", SHAPE(BW, N, H, D)), *k = gr_in(r, "in.k", SHAPE(BW, N, H, D));
    const float *v = gr_in(r, "in.v", SHAPE(BW, N, H, D));
    const float *table = gr_in(r, "param.table", SHAPE(T, H));
    const int32_t *index = gr_in_int(r, "in.index", SHAPE((int64_t)N * N), 0, (int64_t)T - 1);
    const float *mask = masked ? gr_in(r, "in.mask", SHAPE(nW, N, N)) : NULL;
    float *bias = gr_out(r, "bias", (size_t)N * N * H);
    float *y = gr_out(r, "out.y", gr_numel(r, SHAPE(BW, N, H, D)));
    float *lse = gr_out(r, "out.lse", gr_numel(r, SHAPE(BW, H, N)));
    if (!gr_ready(r)) return;
    be->embedding_forward(be, bias, index, table, N * N, H);
    be->window_attention_forward(be, y, lse, q, k, v, bias, mask, BW, nW, N, H, D, scale);
    gr_expect(r, y, "out.y", SHAPE(BW, N, H, D), 1, NULL);
    gr_expect_opt(r, lse, "out.lse", SHAPE(BW, H, N));
    if (!bwd) return;
    const float *dy = gr_in(r, "in.dout", SHAPE(BW, N, H, D));
    size_t n = gr_numel(r, SHAPE(BW, N, H, D));
    float *dq = gr_out(r, "grad.q", n), *dk = gr_out(r, "grad.k", n), *dv = gr_out(r, "grad.v", n);
    float *dbias = gr_out(r, "dbias", (size_t)N * N * H), *dtable = gr_zeros(r, "grad.table", (size_t)T * H);
    for (int pass = 1; pass <= 2 && gr_ready(r); pass++) {
        be->window_attention_backward(be, dq, dk, dv, dbias, dy, q, k, v, bias, mask, y, lse, BW, nW, N, H, D, scale);
        be->embedding_backward(be, dtable, dbias, index, N * N, H);
        const char *again = pass == 2 ? "(2nd backward: must overwrite)" : NULL;
        gr_expect(r, dq, "grad.q", SHAPE(BW, N, H, D), 1, again);
        gr_expect(r, dk, "grad.k", SHAPE(BW, N, H, D), 1, again);
        gr_expect(r, dv, "grad.v", SHAPE(BW, N, H, D), 1, again);
        gr_expect(r, dtable, "grad.table", SHAPE(T, H), pass, pass == 2 ? "(2nd backward: must accumulate)" : NULL);
    }
}
