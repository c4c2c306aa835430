// cuda_logprob.c — launchers of cu/logprob.cu (one block per row of logits).
#include "backend/cuda/cuda_ops.h"

// ---- log-probability of target tokens ----

void cuda_logprob_forward(Backend *be, float *logp, float *lse, const float *logits, const int32_t *targets, int N,
                                 int V) {
    if (N <= 0 || V <= 0) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_LOGPROB_FORWARD, cuda_row_grid(c, N), 1, CUDA_BLOCK, KA_PTR(logp), KA_PTR(lse), KA_PTR(logits),
                KA_PTR(targets), KA_INT(N), KA_INT(V));
}

void cuda_logprob_backward(Backend *be, float *dlogits, const float *dlogp, const float *logits, const float *lse,
                                  const int32_t *targets, int N, int V) {
    if (N <= 0 || V <= 0) return;
    CudaImpl *c = cuda_impl(be);
    CUDA_LAUNCH(c, K_LOGPROB_BACKWARD, cuda_row_grid(c, N), 1, CUDA_BLOCK, KA_PTR(dlogits), KA_PTR(dlogp), KA_PTR(logits),
                KA_PTR(lse), KA_PTR(targets), KA_INT(N), KA_INT(V));
}
