// cpu_embedding_test.c — lookup is an exact copy; the scatter-add backward accumulates repeated ids
// onto what dtable held, in row order (bit-exact against a serial loop), matches finite differences,
// and gives the same bits on 1 and 2 threads with heavy repetition.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

typedef struct { int N, C; const int32_t *ids; double *table, *dout; } EmbRef;

static double emb_loss(void *ctx) {
    EmbRef *r = ctx;
    double L = 0;
    for (int n = 0; n < r->N; n++)
        L += gc_dot_f64(r->table + (size_t)r->ids[n] * r->C, r->dout + (size_t)n * r->C, (size_t)r->C);
    return L;
}

TEST(cpu_embedding) {
    Backend *be = backend_cpu_create();
    const int V = 101, C = 37, N = 29;
    TestRng rng = trng_seed(41);
    int32_t ids[29];
    for (int n = 0; n < N; n++) ids[n] = n % 3 == 0 ? trng_int(&rng, 4) : trng_int(&rng, V);  // many repeats
    ids[N - 1] = V - 1;
    float *table = gc_alloc_f32((size_t)V * C), *out = gc_alloc_f32((size_t)N * C), *dout = gc_alloc_f32((size_t)N * C);
    float *dtable = gc_alloc_f32((size_t)V * C), *want = gc_alloc_f32((size_t)V * C);
    trng_fill_normal(&rng, table, (size_t)V * C, 1);
    trng_fill_normal(&rng, dout, (size_t)N * C, 1);

    gc_fill_nan(out, (size_t)N * C);
    be->embedding_forward(be, out, ids, table, N, C);
    for (int n = 0; n < N; n++) EXPECT(gc_same_bits(out + (size_t)n * C, table + (size_t)ids[n] * C, C * sizeof(float)));

    be->embedding_backward(be, dtable, dout, ids, N, C);          // onto zeros: the gradient itself
    EmbRef r = {N, C, ids, gc_alloc_f64((size_t)V * C), gc_alloc_f64((size_t)N * C)};
    gc_f32_to_f64(r.table, table, (size_t)V * C); gc_f32_to_f64(r.dout, dout, (size_t)N * C);
    EXPECT_GRAD("dtable", emb_loss, &r, r.table, dtable, (size_t)V * C, 1e-6, 1e-5);

    for (size_t i = 0; i < (size_t)V * C; i++) dtable[i] = want[i] = (float)i * 0.001f;   // += onto old contents
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) want[(size_t)ids[n] * C + c] += dout[(size_t)n * C + c];
    be->embedding_backward(be, dtable, dout, ids, N, C);
    EXPECT(gc_same_bits(dtable, want, (size_t)V * C * sizeof(float)));

    free(r.table); free(r.dout); free(table); free(out); free(dout); free(dtable); free(want);
    be->destroy(be);
}

TEST(cpu_embedding_threads_deterministic) {
    Backend *be = backend_cpu_create();
    const int V = 9, C = 300, N = 500;
    TestRng rng = trng_seed(42);
    int32_t *ids = calloc(N, sizeof *ids);
    for (int n = 0; n < N; n++) ids[n] = trng_int(&rng, V);
    float *table = gc_alloc_f32((size_t)V * C), *dout = gc_alloc_f32((size_t)N * C), *out[2], *dt[2];
    trng_fill_normal(&rng, table, (size_t)V * C, 1);
    trng_fill_normal(&rng, dout, (size_t)N * C, 1);
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        out[t] = gc_alloc_f32((size_t)N * C); dt[t] = gc_alloc_f32((size_t)V * C);
        be->embedding_forward(be, out[t], ids, table, N, C);
        be->embedding_backward(be, dt[t], dout, ids, N, C);
    }
    threads_set_count(0);
    EXPECT(gc_same_bits(out[0], out[1], (size_t)N * C * sizeof(float)));
    EXPECT(gc_same_bits(dt[0], dt[1], (size_t)V * C * sizeof(float)));
    for (int t = 0; t < 2; t++) { free(out[t]); free(dt[t]); }
    free(ids); free(table); free(dout);
    be->destroy(be);
}
