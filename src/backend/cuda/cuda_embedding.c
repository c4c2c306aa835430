// cuda_embedding.c — launchers of cu/embedding.cu: the gather and its column-wise backward (no atomics).
#include "backend/cuda/cuda_ops.h"

// ---- embeddings ----

void cuda_embedding_forward(Backend *be, float *out, const int32_t *ids, const float *table, int N, int C) {
    if (N <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_EMBEDDING_FORWARD, cuda_row_grid(c, N), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(ids), KA_PTR(table), KA_INT(N),
                KA_INT(C));
}

#define EMBEDDING_BWD_BLOCK 64   // one thread per column: small blocks spread C columns over more SMs

void cuda_embedding_backward(Backend *be, float *dtable, const float *dout, const int32_t *ids, int N, int C) {
    if (N <= 0 || C <= 0) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_EMBEDDING_BACKWARD, (unsigned)((C + EMBEDDING_BWD_BLOCK - 1) / EMBEDDING_BWD_BLOCK), 1,
                EMBEDDING_BWD_BLOCK, KA_PTR(dtable), KA_PTR(dout), KA_PTR(ids), KA_INT(N), KA_INT(C));
}
