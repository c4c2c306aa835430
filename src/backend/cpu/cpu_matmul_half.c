// cpu_matmul_half.c — the reference Linear on stored 16-bit weights (ops.h matmul_forward_half,
// matmul_backward_dx_half): the activation operand is rounded to the weight's type once, the weight is
// widened to fp32 a block of rows at a time (never the whole matrix: the point of 16-bit storage is
// memory), and cpu_gemm sums the exact products in fp32. Widening is O(OC·C) per call against the
// GEMM's O(N·OC·C), so the CPU pays little for it beyond one pass over the weight.
#include "backend/cpu/cpu_ops.h"
#include "base/check.h"
#include <stdlib.h>
#include <string.h>

enum { WIDEN_FLOATS = 1 << 20 };   // fp32 scratch for a block of weight rows (4 MiB)

static void check_type(Dtype wt) { LPOI_ASSERT(wt == DTYPE_BF16 || wt == DTYPE_F16); }

// x rounded to wt and back: the values the tensor cores see.
static float *rounded_copy(const float *x, size_t n, Dtype wt) {
    float *r = malloc_check((n ? n : 1) * sizeof *r);
    uint16_t h[256];
    for (size_t i = 0; i < n; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        dtype_from_f32(h, wt, x + i, k);
        dtype_to_f32(r + i, h, wt, k);
    }
    return r;
}

static int rows_per_block(int C) { return C > 0 && C < WIDEN_FLOATS ? WIDEN_FLOATS / C : 1; }

void cpu_matmul_forward_half(Backend *be, float *y, const float *x, const uint16_t *w, Dtype wt, const float *b, int N,
                             int C, int OC) {
    check_type(wt);
    if (N <= 0 || OC <= 0) return;
    float *xr = rounded_copy(x, (size_t)N * (size_t)C, wt);
    const int rows = rows_per_block(C);
    float *wf = malloc_check((size_t)LPOI_MIN(rows, OC) * (size_t)LPOI_MAX(C, 1) * sizeof *wf);
    for (int o0 = 0; o0 < OC; o0 += rows) {   // y[:, o0:o0+n] = xr · w[o0:o0+n]ᵀ (+ b[o0:o0+n])
        const int n = LPOI_MIN(rows, OC - o0);
        dtype_to_f32(wf, w + (size_t)o0 * (size_t)C, wt, (size_t)n * (size_t)C);
        float beta = 0.0f;
        if (b) {   // start from the bias, as cpu_matmul_forward does
            for (int r = 0; r < N; r++) memcpy(y + (size_t)r * (size_t)OC + o0, b + o0, (size_t)n * sizeof *y);
            beta = 1.0f;
        }
        cpu_gemm(be, false, true, N, n, C, 1.0f, xr, C, 0, wf, C, 0, beta, y + o0, OC, 0, 1);
    }
    free(wf);
    free(xr);
}

void cpu_matmul_backward_dx_half(Backend *be, float *dx, bool accumulate, const float *dy, const uint16_t *w, Dtype wt,
                                 int N, int C, int OC) {
    check_type(wt);
    if (N <= 0 || C <= 0) return;
    if (OC <= 0) {   // an empty sum
        if (!accumulate) memset(dx, 0, (size_t)N * (size_t)C * sizeof *dx);
        return;
    }
    float *dyr = rounded_copy(dy, (size_t)N * (size_t)OC, wt);
    const int rows = rows_per_block(C);
    float *wf = malloc_check((size_t)LPOI_MIN(rows, OC) * (size_t)C * sizeof *wf);
    for (int o0 = 0; o0 < OC; o0 += rows) {   // dx (+)= dyr[:, o0:o0+n] · w[o0:o0+n, :]
        const int n = LPOI_MIN(rows, OC - o0);
        dtype_to_f32(wf, w + (size_t)o0 * (size_t)C, wt, (size_t)n * (size_t)C);
        const float beta = accumulate || o0 > 0 ? 1.0f : 0.0f;
        cpu_gemm(be, false, false, N, C, n, 1.0f, dyr + o0, OC, 0, wf, C, 0, beta, dx, C, 0, 1);
    }
    free(wf);
    free(dyr);
}
