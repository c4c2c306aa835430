// cpu_embedding.c — token embedding lookup and its scatter-add backward.
// Invariant: ids were checked 0 <= id < V by the caller (they come from our own tokenizer or a checked
// file). The backward splits the C columns between threads and walks n in order inside each, so a
// repeated id accumulates in the same order on any thread count and no two threads touch one float.
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vec.h"
#include "base/threads.h"
#include <string.h>

typedef struct {
    float *out; const int32_t *ids; const float *table; int C;  // out [N,C], table [V,C]
} EmbFwd;

static void emb_fwd_rows(void *vctx, size_t n0, size_t n1, int tid) {
    (void)tid;
    EmbFwd *c = vctx;
    size_t C = (size_t)c->C;
    for (size_t n = n0; n < n1; n++) memcpy(c->out + n * C, c->table + (size_t)c->ids[n] * C, C * sizeof(float));
}

void cpu_embedding_forward(Backend *be, float *out, const int32_t *ids, const float *table, int N, int C) {
    (void)be;
    if (N <= 0 || C <= 0) return;
    EmbFwd c = {out, ids, table, C};
    parallel_for((size_t)N, 4096 / (size_t)C + 1, emb_fwd_rows, &c);
}

typedef struct {
    float *dtable; const float *dout; const int32_t *ids; int N, C;  // dtable [V,C], dout [N,C]
} EmbBwd;

static void emb_bwd_cols(void *vctx, size_t c0, size_t c1, int tid) {
    (void)tid;
    EmbBwd *c = vctx;
    size_t C = (size_t)c->C, w = c1 - c0;
    for (int n = 0; n < c->N; n++) {
        vec_axpy(c->dtable + (size_t)c->ids[n] * C + c0, 1.0f, c->dout + (size_t)n * C + c0, w);  // 1*x is exact
    }
}

void cpu_embedding_backward(Backend *be, float *dtable, const float *dout, const int32_t *ids, int N, int C) {
    (void)be;
    if (N <= 0 || C <= 0) return;
    EmbBwd c = {dtable, dout, ids, N, C};
    parallel_for((size_t)C, 64, emb_bwd_cols, &c);  // >= 64 columns per thread: whole cache lines
}
