// cpu_rope.c — rotary position embedding in HF's rotate_half layout (pairs (i, i + D/2)).
// Angles follow HF LlamaRotaryEmbedding bit for bit in fp32:
//   inv_freq[i] = 1 / theta^((2i)/D)   (float pow of a float exponent, as torch computes it)
//   angle       = (float)pos * inv_freq[i],  cos/sin of that float
// Backward is the rotation by −angle. Each (b, t) row computes its D/2 cos/sin once and applies them
// to all H heads; every output element is written by one thread, and out (dx) may alias x (dout)
// because each pair is read completely before it is written.
#include "backend/cpu/cpu_ops.h"
#include "base/check.h"
#include "base/threads.h"
#include <math.h>

typedef struct {
    float *out; const float *x; const int32_t *pos; const float *inv_freq;
    int H, D; float sign;     // sign = +1 forward, −1 backward (rotate by −angle)
} RopeCtx;

static void rope_rows(void *vctx, size_t r0, size_t r1, int tid) {
    (void)tid;
    RopeCtx *c = vctx;
    int H = c->H, D = c->D, D2 = D / 2;
    float *cs = malloc_check((size_t)D * sizeof(float)), *sn = cs + D2;
    for (size_t r = r0; r < r1; r++) {        // r = b*T + t
        float p = (float)c->pos[r];
        for (int i = 0; i < D2; i++) {
            float a = p * c->inv_freq[i];
            cs[i] = cosf(a);
            sn[i] = c->sign * sinf(a);
        }
        for (int h = 0; h < H; h++) {
            size_t off = (r * (size_t)H + (size_t)h) * (size_t)D;
            const float *x = c->x + off;
            float *out = c->out + off;
            for (int i = 0; i < D2; i++) {
                float x1 = x[i], x2 = x[i + D2];
                out[i] = x1 * cs[i] - x2 * sn[i];
                out[i + D2] = x2 * cs[i] + x1 * sn[i];
            }
        }
    }
    free(cs);
}

static void rope_apply(float *out, const float *x, const int32_t *pos, int B, int T, int H, int D, float theta, float sign) {
    if (B <= 0 || T <= 0 || H <= 0 || D <= 0) return;
    LPOI_ASSERT(D % 2 == 0);
    int D2 = D / 2;
    float *inv_freq = malloc_check((size_t)D2 * sizeof(float));
    for (int i = 0; i < D2; i++) inv_freq[i] = 1.0f / powf(theta, (float)(2 * i) / (float)D);
    RopeCtx c = {out, x, pos, inv_freq, H, D, sign};
    parallel_for((size_t)B * (size_t)T, 2048 / ((size_t)H * (size_t)D) + 1, rope_rows, &c);
    free(inv_freq);
}

void cpu_rope_forward(Backend *be, float *out, const float *x, const int32_t *pos, int B, int T, int H, int D, float theta) {
    (void)be;
    rope_apply(out, x, pos, B, T, H, D, theta, 1.0f);
}

void cpu_rope_backward(Backend *be, float *dx, const float *dout, const int32_t *pos, int B, int T, int H, int D, float theta) {
    (void)be;
    rope_apply(dx, dout, pos, B, T, H, D, theta, -1.0f);
}
