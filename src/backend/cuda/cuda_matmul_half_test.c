// cuda_matmul_half_test.c — the Linear on stored 16-bit weights (cuda_matmul_half.c) on both of its paths,
// the tensor cores (weight rows a multiple of 8: mma.sync here and on sm_80+, wgmma for the forward on
// sm_90a) and the SIMT fallback (other shapes, compute_75), for bf16 and fp16, against the double
// reference with the bounds derived in src/backend/cpu/matmul_half_ref_test.h — the same bounds the CPU
// reference meets, so CPU and GPU agree within twice them. Outputs are guarded and start as NaN.
#include "backend/cuda/cuda_fixture_test.h"
#include "backend/cpu/matmul_half_ref_test.h"
#include "base/check.h"

typedef struct {
    int N, C, OC;
    bool bias, accumulate;
} HalfCase;

static void half_gpu_case(Backend *gpu, Dtype wt, HalfCase hc, uint64_t seed) {
    const int N = hc.N, C = hc.C, OC = hc.OC;
    Rng r;
    rng_seed(&r, seed);
    float *x = random_uniform(&r, (size_t)N * C), *dy = random_uniform(&r, (size_t)N * OC);
    float *b = hc.bias ? random_uniform(&r, (size_t)OC) : NULL, *dx0 = random_uniform(&r, (size_t)N * C);
    float *wf = random_uniform(&r, (size_t)OC * C);
    uint16_t *w = malloc_check(((size_t)OC * C + 1) * sizeof *w);
    dtype_from_f32(w, wt, wf, (size_t)OC * C);
    const size_t ny = (size_t)N * OC, nx = (size_t)N * C, nmax = ny > nx ? ny : nx;
    float *got = malloc_check((nmax + 1) * sizeof *got);
    double *e = malloc_check(nmax * sizeof *e), *f = malloc_check(nmax * sizeof *f), *s = malloc_check(nmax * sizeof *s);
    GpuBuf gx = gpu_buf_new(gpu, x, nx * 4), gdy = gpu_buf_new(gpu, dy, ny * 4), gw = gpu_buf_new(gpu, w, (size_t)OC * C * 2 + 2);
    GpuBuf gb = gpu_buf_new(gpu, b ? b : x, (b ? (size_t)OC : 1) * 4);
    GpuBuf gy = gpu_buf_new(gpu, NULL, ny * 4), gdx = gpu_buf_new(gpu, hc.accumulate ? dx0 : NULL, nx * 4);
    char what[160];

    gpu->matmul_forward_half(gpu, gy.d, gx.d, gw.d, wt, b ? gb.d : NULL, N, C, OC);
    snprintf(what, sizeof what, "cuda forward %s N=%d C=%d OC=%d%s", dtype_name(wt), N, C, OC, b ? " +bias" : "");
    if (gpu_buf_read(gpu, gy, got, what)) {
        half_reference(false, x, w, wt, b, NULL, N, OC, C, e, f, s);
        HALF_CHECK(what, got, e, f, s, ny, C, wt);
    }
    gpu->matmul_backward_dx_half(gpu, gdx.d, hc.accumulate, gdy.d, gw.d, wt, N, C, OC);
    snprintf(what, sizeof what, "cuda backward dx %s N=%d C=%d OC=%d%s", dtype_name(wt), N, C, OC, hc.accumulate ? " +=" : "");
    if (gpu_buf_read(gpu, gdx, got, what)) {
        half_reference(true, dy, w, wt, NULL, hc.accumulate ? dx0 : NULL, N, C, OC, e, f, s);
        HALF_CHECK(what, got, e, f, s, nx, OC, wt);
    }
    gpu_buf_free(gpu, gx); gpu_buf_free(gpu, gdy); gpu_buf_free(gpu, gw); gpu_buf_free(gpu, gb);
    gpu_buf_free(gpu, gy); gpu_buf_free(gpu, gdx);
    free(x); free(dy); free(b); free(dx0); free(wf); free(w); free(got); free(e); free(f); free(s);
}

TEST(cuda_matmul_half) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    // Tensor-core shapes cross the 128 × 256 × 64 tile edges (C and OC multiples of 8, N not); the others
    // take the SIMT kernel (C odd, or OC odd for the backward's weight rows... C is the row length of both).
    const HalfCase cases[] = {
        {70, 136, 264, true, false},   // tensor cores: 2 column tiles, 3 k-steps, bias start
        {1, 72, 40, false, true},      // decode-shaped, += (beta 1)
        {19, 37, 23, true, true},      // SIMT: C odd
        {66, 40, 9, false, false},     // tensor cores forward; backward K = 9 (padded operand rows)
    };
    const Dtype types[2] = {DTYPE_BF16, DTYPE_F16};
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) half_gpu_case(gpu, types[t], cases[i], 100 + 10 * t + i);
}
