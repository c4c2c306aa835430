// cpu_window_attention_test.c — Swin window attention against a double-precision reference written here
// (scores + bias [N,N,H] + mask[bw % nW]), gradients of q, k, v and the bias by finite differences, the lse,
// NULL dbias, and identical bits on 1 and 2 threads.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/check.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int BW, nW, N, H, D; double scale;
    double *q, *k, *v, *bias, *dout;   // q, k, v, dout [BW,N,H,D]; bias [N,N,H]
    const float *mask;                 // [nW,N,N] or NULL (not differentiated)
} WinRef;

#define AT(t, bw, i, h, d) (t)[((((size_t)(bw) * r->N + (i)) * r->H + (h)) * r->D) + (d)]

static void win_ref(const WinRef *r, double *out, double *lse) {
    double *s = gc_alloc_f64((size_t)r->N);
    for (int bw = 0; bw < r->BW; bw++)
        for (int h = 0; h < r->H; h++)
            for (int i = 0; i < r->N; i++) {
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < r->N; j++) {
                    double dot = 0;
                    for (int d = 0; d < r->D; d++) dot += AT(r->q, bw, i, h, d) * AT(r->k, bw, j, h, d);
                    s[j] = dot * r->scale + r->bias[((size_t)i * r->N + j) * r->H + h] +
                           (r->mask ? r->mask[((size_t)(bw % r->nW) * r->N + i) * r->N + j] : 0);
                    mx = s[j] > mx ? s[j] : mx;
                }
                for (int j = 0; j < r->N; j++) sum += exp(s[j] - mx);
                if (lse) lse[((size_t)bw * r->H + h) * r->N + i] = mx + log(sum);
                for (int d = 0; d < r->D; d++) {
                    double o = 0;
                    for (int j = 0; j < r->N; j++) o += exp(s[j] - mx) / sum * AT(r->v, bw, j, h, d);
                    AT(out, bw, i, h, d) = o;
                }
            }
    free(s);
}

static double win_loss(void *ctx) {
    WinRef *r = ctx;
    size_t n = (size_t)r->BW * r->N * r->H * r->D;
    double *out = gc_alloc_f64(n);
    win_ref(r, out, NULL);
    double L = gc_dot_f64(out, r->dout, n);
    free(out);
    return L;
}

// HF's shifted-window mask for a 2x2 grid of windows of side `win` shifted by `shift`: 0 within a region, -100
// across regions (regions from the slices [0, -win), [-win, -shift), [-shift, end) of the padded image).
static float *shift_mask(int win, int shift) {
    int side = 2 * win, N = win * win;
    int *region = malloc_check((size_t)side * side * sizeof(int));
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            int ry = y < side - win ? 0 : (y < side - shift ? 1 : 2), rx = x < side - win ? 0 : (x < side - shift ? 1 : 2);
            region[y * side + x] = 3 * ry + rx;
        }
    float *mask = gc_alloc_f32((size_t)4 * N * N);
    for (int w = 0; w < 4; w++)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int wy = w / 2, wx = w % 2;
                int ri = region[(wy * win + i / win) * side + wx * win + i % win];
                int rj = region[(wy * win + j / win) * side + wx * win + j % win];
                mask[((size_t)w * N + i) * N + j] = ri == rj ? 0.0f : -100.0f;
            }
    free(region);
    return mask;
}

static void check_window(int BW, int nW, int win, int H, int D, bool masked, uint64_t seed) {
    Backend *be = backend_cpu_create();
    TestRng rng = trng_seed(seed);
    const int N = win * win;
    size_t n = (size_t)BW * N * H * D, nb = (size_t)N * N * H, nl = (size_t)BW * H * N;
    float *q = gc_alloc_f32(n), *k = gc_alloc_f32(n), *v = gc_alloc_f32(n), *dout = gc_alloc_f32(n);
    float *bias = gc_alloc_f32(nb), *mask = masked ? shift_mask(win, win / 2) : NULL;
    trng_fill_normal(&rng, q, n, 1); trng_fill_normal(&rng, k, n, 1); trng_fill_normal(&rng, v, n, 1);
    trng_fill_normal(&rng, dout, n, 1); trng_fill_normal(&rng, bias, nb, 0.5);
    float scale = 1.0f / sqrtf((float)D);
    WinRef r = {BW, nW, N, H, D, scale, gc_alloc_f64(n), gc_alloc_f64(n), gc_alloc_f64(n), gc_alloc_f64(nb),
                gc_alloc_f64(n), mask};
    gc_f32_to_f64(r.q, q, n); gc_f32_to_f64(r.k, k, n); gc_f32_to_f64(r.v, v, n);
    gc_f32_to_f64(r.bias, bias, nb); gc_f32_to_f64(r.dout, dout, n);
    double *ref = gc_alloc_f64(n), *ref_lse = gc_alloc_f64(nl);
    win_ref(&r, ref, ref_lse);
    float *want = gc_alloc_f32(n), *want_lse = gc_alloc_f32(nl), *out = gc_alloc_f32(n), *lse = gc_alloc_f32(nl);
    gc_f64_to_f32(want, ref, n);
    gc_f64_to_f32(want_lse, ref_lse, nl);
    gc_fill_nan(out, n);
    gc_fill_nan(lse, nl);
    be->window_attention_forward(be, out, lse, q, k, v, bias, mask, BW, nW, N, H, D, scale);
    EXPECT_CLOSE_F32("window attention out", out, want, n, 1e-5, 1e-4);
    EXPECT_CLOSE_F32("window attention lse", lse, want_lse, nl, 1e-5, 1e-5);

    float *dq = gc_alloc_f32(n), *dk = gc_alloc_f32(n), *dv = gc_alloc_f32(n), *db = gc_alloc_f32(nb);
    gc_fill_nan(dq, n); gc_fill_nan(dk, n); gc_fill_nan(dv, n); gc_fill_nan(db, nb);
    be->window_attention_backward(be, dq, dk, dv, db, dout, q, k, v, bias, mask, out, lse, BW, nW, N, H, D, scale);
    EXPECT_GRAD("dq", win_loss, &r, r.q, dq, n, 1e-5, 1e-4);
    EXPECT_GRAD("dk", win_loss, &r, r.k, dk, n, 1e-5, 1e-4);
    EXPECT_GRAD("dv", win_loss, &r, r.v, dv, n, 1e-5, 1e-4);
    EXPECT_GRAD("dbias", win_loss, &r, r.bias, db, nb, 1e-5, 1e-4);
    float *dq2 = gc_alloc_f32(n);   // without dbias: the same dq
    be->window_attention_backward(be, dq2, dk, dv, NULL, dout, q, k, v, bias, mask, out, lse, BW, nW, N, H, D, scale);
    EXPECT(gc_same_bits(dq2, dq, n * sizeof(float)));

    free(dq2); free(dq); free(dk); free(dv); free(db); free(out); free(lse); free(want); free(want_lse);
    free(ref); free(ref_lse); free(r.q); free(r.k); free(r.v); free(r.bias); free(r.dout);
    free(q); free(k); free(v); free(dout); free(bias); free(mask);
    be->destroy(be);
}

TEST(cpu_window_attention) {
    check_window(3, 1, 2, 2, 5, false, 1);   // no mask, 2x2 windows
    check_window(4, 4, 4, 2, 3, true, 2);    // 4 windows, shift 2: the -100 mask per window
    check_window(4, 4, 3, 2, 4, true, 3);    // odd window 3, shift 1 (Swin 7x7 / 3: the golden case)
}

TEST(cpu_window_attention_threads_deterministic) {
    const int BW = 8, nW = 4, win = 3, N = 9, H = 3, D = 8;
    size_t n = (size_t)BW * N * H * D, nb = (size_t)N * N * H, nl = (size_t)BW * H * N;
    TestRng rng = trng_seed(4);
    float *q = gc_alloc_f32(n), *k = gc_alloc_f32(n), *v = gc_alloc_f32(n), *dout = gc_alloc_f32(n);
    float *bias = gc_alloc_f32(nb), *mask = shift_mask(win, 1);
    trng_fill_normal(&rng, q, n, 1); trng_fill_normal(&rng, k, n, 1); trng_fill_normal(&rng, v, n, 1);
    trng_fill_normal(&rng, dout, n, 1); trng_fill_normal(&rng, bias, nb, 1);
    Backend *be = backend_cpu_create();
    float *res[2][6];
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        float *out = gc_alloc_f32(n), *lse = gc_alloc_f32(nl), *dq = gc_alloc_f32(n), *dk = gc_alloc_f32(n);
        float *dv = gc_alloc_f32(n), *db = gc_alloc_f32(nb);
        be->window_attention_forward(be, out, lse, q, k, v, bias, mask, BW, nW, N, H, D, 0.3f);
        be->window_attention_backward(be, dq, dk, dv, db, dout, q, k, v, bias, mask, out, lse, BW, nW, N, H, D, 0.3f);
        float *x[6] = {out, lse, dq, dk, dv, db};
        memcpy(res[t], x, sizeof x);
    }
    threads_set_count(0);
    size_t sz[6] = {n, nl, n, n, n, nb};
    for (int i = 0; i < 6; i++) {
        EXPECT_MSG(gc_same_bits(res[0][i], res[1][i], sz[i] * sizeof(float)), "output %d differs between 1 and 2 threads", i);
        free(res[0][i]); free(res[1][i]);
    }
    free(q); free(k); free(v); free(dout); free(bias); free(mask);
    be->destroy(be);
}
