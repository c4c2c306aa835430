// cpu_elementwise.c — add, axpy, scale and the sum of squares used for gradient-norm clipping.
// sum_squares reduces fixed blocks of SS_BLOCK elements in double, in parallel, then adds the block
// sums in index order on the caller: the result depends only on the data, not on the thread count.
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vec.h"
#include "base/check.h"
#include "base/threads.h"

#define EW_CHUNK 16384
#define SS_BLOCK 8192

typedef struct { float *out; const float *a, *b; float alpha; double *sums; size_t n; } EwCtx;

static void add_range(void *vctx, size_t i0, size_t i1, int tid) {
    (void)tid;
    EwCtx *c = vctx;
    // no restrict here: out may alias a or b, and each element is read before it is written
    float *out = c->out;
    const float *a = c->a, *b = c->b;
    for (size_t i = i0; i < i1; i++) out[i] = a[i] + b[i];
}

void cpu_add(Backend *be, float *out, const float *a, const float *b, size_t n) {
    (void)be;
    EwCtx c = {.out = out, .a = a, .b = b};
    parallel_for(n, EW_CHUNK, add_range, &c);
}

static void axpy_range(void *vctx, size_t i0, size_t i1, int tid) {
    (void)tid;
    EwCtx *c = vctx;
    vec_axpy(c->out + i0, c->alpha, c->a + i0, i1 - i0);
}

void cpu_axpy(Backend *be, float *y, float alpha, const float *x, size_t n) {
    (void)be;
    EwCtx c = {.out = y, .a = x, .alpha = alpha};
    parallel_for(n, EW_CHUNK, axpy_range, &c);
}

static void scale_range(void *vctx, size_t i0, size_t i1, int tid) {
    (void)tid;
    EwCtx *c = vctx;
    vec_scale(c->out + i0, c->alpha, i1 - i0);
}

void cpu_scale(Backend *be, float *x, float alpha, size_t n) {
    (void)be;
    EwCtx c = {.out = x, .alpha = alpha};
    parallel_for(n, EW_CHUNK, scale_range, &c);
}

static void ss_blocks(void *vctx, size_t k0, size_t k1, int tid) {
    (void)tid;
    EwCtx *c = vctx;
    for (size_t k = k0; k < k1; k++) {
        size_t i0 = k * SS_BLOCK, i1 = i0 + SS_BLOCK < c->n ? i0 + SS_BLOCK : c->n;
        c->sums[k] = vec_dot_f64(c->a + i0, c->a + i0, i1 - i0);
    }
}

double cpu_sum_squares(Backend *be, const float *x, size_t n) {
    (void)be;
    if (n == 0) return 0;
    size_t nb = (n + SS_BLOCK - 1) / SS_BLOCK;
    double stack_sums[64], *sums = nb <= 64 ? stack_sums : malloc_check(nb * sizeof(double));
    EwCtx c = {.a = x, .sums = sums, .n = n};
    parallel_for(nb, 4, ss_blocks, &c);
    double s = 0;
    for (size_t k = 0; k < nb; k++) s += sums[k];
    if (sums != stack_sums) free(sums);
    return s;
}
