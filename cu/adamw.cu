// adamw.cu — one fused AdamW step over n fp32 parameters, as torch.optim.AdamW (foreach, not fused)
// does it for fp32 tensors:
//   p *= 1 - lr*wd;  m.lerp_(g, 1 - b1);  v = v*b2 + (1 - b2)*g*g;
//   p += -(lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)
// The step-dependent scalars are computed once on the host in double and passed as fp32 (torch also
// turns its Python-float scalars into fp32 for fp32 tensors). Each element is read and written once.
#include "common.cuh"

// ptxcheck: adamw_f32 max_registers=32

// torch's lerp (ATen/native/Lerp.h): exact at both ends, same branch on |w| < 0.5.
__device__ __forceinline__ float lerpf_(float self, float end, float w) {
    return fabsf(w) < 0.5f ? self + w * (end - self) : end - (end - self) * (1.0f - w);
}

extern "C" __global__ void adamw_f32(float *p, const float *g, float *m, float *v, unsigned long long n,
                                     float decay,           // 1 - lr * weight_decay
                                     float one_minus_beta1,  // 1 - beta1
                                     float beta2,
                                     float one_minus_beta2,  // 1 - beta2
                                     float neg_step_size,    // -lr / (1 - beta1^step)
                                     float bc2_sqrt,         // sqrt(1 - beta2^step)
                                     float eps) {
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) {
        float gi = g[i];
        float mi = lerpf_(m[i], gi, one_minus_beta1);
        float vi = v[i] * beta2 + one_minus_beta2 * gi * gi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        float pi = p[i] * decay;
        p[i] = pi + neg_step_size * (mi / denom);
        m[i] = mi;
        v[i] = vi;
    }
}
