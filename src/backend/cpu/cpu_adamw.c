// cpu_adamw.c — torch.optim.AdamW (amsgrad=False, maximize=False), one update step.
// Mirrors torch's single-tensor path operation by operation, in fp32 with the scalars it computes in
// Python double and rounds to fp32 where it hands them to a tensor op:
//   p.mul_(1 − lr·wd)
//   m.lerp_(g, 1 − β1)                      (torch.lerp: m + w(g − m) for w < 0.5, else g − (g − m)(1 − w))
//   v.mul_(β2).addcmul_(g, g, value=1 − β2)
//   denom = v.sqrt() / sqrt(1 − β2^step) + eps
//   p.addcdiv_(m, denom, value=−lr / (1 − β1^step))
// (golden cases should pass fp32-representable lr, betas, eps and wd: torch keeps them in double)
// Elementwise, so splitting the range between threads cannot change any bit.
#include "backend/cpu/cpu_ops.h"
#include "base/check.h"
#include "base/threads.h"
#include <math.h>

typedef struct {
    float *p, *m, *v; const float *g;
    float decay, w1, omb2, beta2, bc2_sqrt, eps, neg_step_size;
} AdamCtx;

static void adamw_range(void *vctx, size_t i0, size_t i1, int tid) {
    (void)tid;
    const AdamCtx *c = vctx;
    float *restrict p = c->p, *restrict m = c->m, *restrict v = c->v;
    const float *restrict g = c->g;
    const float w1 = c->w1;
    for (size_t i = i0; i < i1; i++) {
        float gi = g[i];
        p[i] *= c->decay;
        m[i] = w1 < 0.5f ? m[i] + w1 * (gi - m[i]) : gi - (gi - m[i]) * (1.0f - w1);
        v[i] = v[i] * c->beta2 + c->omb2 * gi * gi;
        float denom = sqrtf(v[i]) / c->bc2_sqrt + c->eps;
        p[i] = p[i] + c->neg_step_size * m[i] / denom;   // torch addcdiv: self + (value·t1)/t2
    }
}

void cpu_adamw_update(Backend *be, float *p, const float *g, float *m, float *v, size_t n, float lr,
                      float beta1, float beta2, float eps, float weight_decay, int step) {
    (void)be;
    LPOI_ASSERT(step >= 1);
    double bc1 = 1.0 - pow((double)beta1, step), bc2 = 1.0 - pow((double)beta2, step);
    AdamCtx c = {
        .p = p, .m = m, .v = v, .g = g,
        .decay = (float)(1.0 - (double)lr * weight_decay),
        .w1 = (float)(1.0 - (double)beta1),
        .omb2 = (float)(1.0 - (double)beta2),
        .beta2 = beta2,
        .bc2_sqrt = (float)sqrt(bc2),
        .eps = eps,
        .neg_step_size = (float)(-((double)lr / bc1)),
    };
    parallel_for(n, 16384, adamw_range, &c);
}
