// cuda_norm.c — launchers of cu/norm.cu: RMSNorm and LayerNorm, forward and the fused backward. Launch
// shapes from cu/rows.h (row groups of G threads sized by C alone: deterministic sums).
#include "backend/cuda/cuda_ops.h"
#include "rows.h"
#include "base/check.h"

// ---- RMSNorm ----

// Chunks of rows of the fused norm backward (one block of G threads each): the count depends on N and
// C alone (never on the GPU), so dw/db are reduced in the same order everywhere.
static int norm_bwd_chunks(int N, int G, int *rows_per_chunk) {
    long long target = NORM_BWD_THREADS / G;
    if (target > N) target = N;
    if (target < 1) target = 1;
    *rows_per_chunk = (int)(((long long)N + target - 1) / target);
    return (int)(((long long)N + *rows_per_chunk - 1) / *rows_per_chunk);
}

void cuda_rmsnorm_forward(Backend *be, float *out, float *rstd, const float *x, const float *w, int N, int C,
                                 float eps) {
    if (N <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    int G = rows_group(C, NORM_FWD_NV);
    unsigned block, grid = rows_grid(N, G, &block);
    CUDA_LAUNCH(c, K_RMSNORM_FORWARD, grid, 1, block, KA_PTR(out), KA_PTR(rstd), KA_PTR(x), KA_PTR(w), KA_INT(N),
                KA_INT(C), KA_F32(eps), KA_INT(G));
}

// One fused pass writes dx and per-chunk partial column sums of dw; a second adds the chunks in order
// into dw. dx may alias dout on this backend (each element is read before it is overwritten).
void cuda_rmsnorm_backward(Backend *be, float *dx, float *dw, const float *dout, const float *x, const float *w,
                                  const float *rstd, int N, int C) {
    if (N <= 0 || C <= 0 || (!dx && !dw)) return;
    CudaImpl *c = cuda_impl(be);
    int G = rows_group(C, RMS_BWD_NV), rows_per_chunk, chunks = norm_bwd_chunks(N, G, &rows_per_chunk);
    float *partial = dw ? cuda_scratch(c, (size_t)chunks * (size_t)C * sizeof(float)) : NULL;
    CUDA_LAUNCH(c, K_RMSNORM_BACKWARD, (unsigned)chunks, 1, (unsigned)G, KA_PTR(dx), KA_PTR(partial), KA_PTR(dout),
                KA_PTR(x), KA_PTR(w), KA_PTR(rstd), KA_INT(N), KA_INT(C), KA_INT(rows_per_chunk));
    if (dw)
        CUDA_LAUNCH(c, K_RMSNORM_BACKWARD_DW_FINAL, (unsigned)((C + 31) / 32), 1, NORM_FINAL_BLOCK, KA_PTR(dw),
                    KA_PTR(partial), KA_PTR(NULL), KA_PTR(NULL), KA_INT(chunks), KA_INT(C));
}

// ---- LayerNorm ----

void cuda_layernorm_forward(Backend *be, float *out, float *mean, float *rstd, const float *x, const float *w,
                                   const float *b, int N, int C, float eps) {
    if (N <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    int G = rows_group(C, NORM_FWD_NV);
    unsigned block, grid = rows_grid(N, G, &block);
    CUDA_LAUNCH(c, K_LAYERNORM_FORWARD, grid, 1, block, KA_PTR(out), KA_PTR(mean), KA_PTR(rstd), KA_PTR(x), KA_PTR(w),
                KA_PTR(b), KA_INT(N), KA_INT(C), KA_F32(eps), KA_INT(G));
}

// As rmsnorm: one fused pass (dx, dw and db partials), then one launch adds the chunks of dw and db.
void cuda_layernorm_backward(Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                                    const float *w, const float *mean, const float *rstd, int N, int C) {
    if (N <= 0 || C <= 0 || (!dx && !dw && !db)) return;
    CudaImpl *c = cuda_impl(be);
    int G = rows_group(C, LN_BWD_NV), rows_per_chunk, chunks = norm_bwd_chunks(N, G, &rows_per_chunk);
    size_t plane = (size_t)chunks * (size_t)C;
    float *scratch = dw || db ? cuda_scratch(c, ((dw != NULL) + (db != NULL)) * plane * sizeof(float)) : NULL;
    float *pw = dw ? scratch : NULL, *pb = db ? scratch + (dw ? plane : 0) : NULL;
    CUDA_LAUNCH(c, K_LAYERNORM_BACKWARD, (unsigned)chunks, 1, (unsigned)G, KA_PTR(dx), KA_PTR(pw), KA_PTR(pb),
                KA_PTR(dout), KA_PTR(x), KA_PTR(w), KA_PTR(mean), KA_PTR(rstd), KA_INT(N), KA_INT(C),
                KA_INT(rows_per_chunk));
    if (dw || db) {   // grid.y picks the output: (dw, db) or whichever one is wanted
        float *d0 = dw ? dw : db, *p0 = dw ? pw : pb;
        CUDA_LAUNCH(c, K_RMSNORM_BACKWARD_DW_FINAL, (unsigned)((C + 31) / 32), dw && db ? 2 : 1, NORM_FINAL_BLOCK,
                    KA_PTR(d0), KA_PTR(p0), KA_PTR(dw ? db : NULL), KA_PTR(dw ? pb : NULL), KA_INT(chunks), KA_INT(C));
    }
}
