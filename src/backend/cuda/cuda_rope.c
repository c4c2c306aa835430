// cuda_rope.c — launcher of cu/rope.cu (one kernel for both directions: the backward rotates by -angle).
#include "backend/cuda/cuda_ops.h"
#include "base/check.h"
#include <math.h>
#include <string.h>

// ---- RoPE ----

// inv_freq for (theta, D) on the device, computed on the host with exactly cpu_rope.c's expression
// (1 / powf(theta, 2i/D) in fp32: the same libm call, so the same bits). Cached: a model uses one
// (theta, D), so the upload (which synchronises) happens once, not at every call.
static const float *rope_inv_freq(Backend *be, int D, float theta) {
    CudaImpl *c = cuda_impl(be);
    const int D2 = D / 2;
    if (c->rope_inv_freq && c->rope_half == D2 && memcmp(&c->rope_theta, &theta, sizeof theta) == 0)
        return c->rope_inv_freq;
    float *host = malloc_check((size_t)D2 * sizeof(float));
    for (int i = 0; i < D2; i++) host[i] = 1.0f / powf(theta, (float)(2 * i) / (float)D);
    if (c->rope_cap < D2) {
        be->free(be, c->rope_inv_freq);   // waits for kernels still reading it
        c->rope_inv_freq = be->alloc(be, (size_t)D2 * sizeof(float));
        c->rope_cap = D2;
    }
    be->upload(be, c->rope_inv_freq, host, (size_t)D2 * sizeof(float));   // stream-ordered after earlier launches
    free(host);
    c->rope_half = D2;
    c->rope_theta = theta;
    return c->rope_inv_freq;
}

static void rope_launch(Backend *be, float *out, const float *x, const int32_t *pos, int B, int T, int H, int D,
                        float theta, float sign) {
    if (B <= 0 || T <= 0 || H <= 0 || D <= 0) return;
    LPOI_ASSERT(D % 2 == 0);
    CudaImpl *c = cuda_impl(be);
    const float *inv_freq = rope_inv_freq(be, D, theta);
    long long rows = (long long)B * T;
    LPOI_ASSERT(rows <= 0x7fffffff && (long long)H * (D / 2) <= 0x7fffffff);
    CUDA_LAUNCH(c, K_ROPE, cuda_row_grid(c, (int)rows), 1, CUDA_BLOCK, KA_PTR(out), KA_PTR(x), KA_PTR(pos), KA_PTR(inv_freq),
                KA_INT((int)rows), KA_INT(H), KA_INT(D), KA_F32(sign));
}

void cuda_rope_forward(Backend *be, float *out, const float *x, const int32_t *pos, int B, int T, int H, int D,
                              float theta) {
    rope_launch(be, out, x, pos, B, T, H, D, theta, 1.0f);
}

void cuda_rope_backward(Backend *be, float *dx, const float *dout, const int32_t *pos, int B, int T, int H, int D,
                               float theta) {
    rope_launch(be, dx, dout, pos, B, T, H, D, theta, -1.0f);
}
