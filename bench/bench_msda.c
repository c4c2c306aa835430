// bench_msda.c — the CPU backend's multi-scale deformable attention at Grounding-DINO-Tiny's real shape: one
// 800x1333 image (levels 100x167, 50x84, 25x42, 13x21: S = 22223 value rows), 8 heads of 32, 4 levels x 4 points,
// as the encoder's self-attention (Q = S) and the decoder's cross-attention (Q = 900). Times the forward and the
// backward (dvalue, dloc and dattn together): one warm-up, then the median of --reps calls. Locations are uniform
// over the image with a margin outside it (some corners read zero padding), weights uniform in [0, 1).
// tools/bench_msda.py runs this beside PyTorch's implementation (HF's grid_sample path) and prints the ratio.
//
// usage: bench_msda [--threads N] [--reps N] [--quick]   (--quick: the decoder shape only)
// Prints a table, then one line per measurement: "RESULT <shape> <forward ms> <backward ms>".
#include "backend/cpu/cpu_ops.h"
#include "base/check.h"
#include "base/rng.h"
#include "base/threads.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *uniform(Rng *r, size_t n, float lo, float hi) {
    float *x = malloc_check(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)rng_uniform(r);
    return x;
}

static const int LEVELS[] = {100, 167, 50, 84, 25, 42, 13, 21};
enum { B = 1, H = 8, D = 32, L = 4, P = 4, S = 22223 };

static void bench_shape(Backend *be, const char *name, int Q, int reps) {
    Rng rng;
    rng_seed(&rng, 1);
    size_t nv = (size_t)B * S * H * D, ns = (size_t)B * Q * H * L * P, no = (size_t)B * Q * H * D;
    float *value = uniform(&rng, nv, -1, 1), *loc = uniform(&rng, 2 * ns, -0.02f, 1.02f), *attn = uniform(&rng, ns, 0, 1);
    float *dout = uniform(&rng, no, -1, 1), *out = malloc_check(no * sizeof(float));
    float *dv = malloc_check(nv * sizeof(float)), *dl = malloc_check(2 * ns * sizeof(float)), *da = malloc_check(ns * sizeof(float));
    double *tf = malloc_check((size_t)reps * sizeof(double)), *tb = malloc_check((size_t)reps * sizeof(double));
    for (int r = -1; r < reps; r++) {   // r = -1: warm-up
        double t0 = now_ms();
        be->msda_forward(be, out, value, loc, attn, LEVELS, B, S, Q, H, D, L, P);
        double t1 = now_ms();
        be->msda_backward(be, dv, dl, da, dout, value, loc, attn, LEVELS, B, S, Q, H, D, L, P);
        double t2 = now_ms();
        if (r >= 0) { tf[r] = t1 - t0; tb[r] = t2 - t1; }
    }
    qsort(tf, (size_t)reps, sizeof(double), cmp_double);
    qsort(tb, (size_t)reps, sizeof(double), cmp_double);
    printf("%-28s %6d %12.2f %12.2f\n", name, Q, tf[reps / 2], tb[reps / 2]);
    printf("RESULT %s %.3f %.3f\n", name, tf[reps / 2], tb[reps / 2]);
    free(value); free(loc); free(attn); free(dout); free(out); free(dv); free(dl); free(da); free(tf); free(tb);
}

int main(int argc, char **argv) {
    int threads = 2, reps = 5;
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) quick = true;
        else { fprintf(stderr, "usage: bench_msda [--threads N] [--reps N] [--quick]\n"); return 2; }
    }
    if (reps < 1 || threads < 1) { fprintf(stderr, "bench_msda: --reps and --threads must be >= 1\n"); return 2; }
    threads_set_count(threads);
    Backend *be = backend_cpu_create();
    printf("bench_msda: lpoi CPU, %d threads, B=%d S=%d H=%d D=%d L=%d P=%d, median of %d\n", threads_count(), B, S,
           H, D, L, P, reps);
    printf("%-28s %6s %12s %12s\n", "shape", "Q", "forward ms", "backward ms");
    bench_shape(be, "decoder_cross_attention", 900, reps);
    if (!quick) bench_shape(be, "encoder_self_attention", S, reps);
    be->destroy(be);
    return 0;
}
