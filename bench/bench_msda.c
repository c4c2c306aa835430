// bench_msda.c — multi-scale deformable attention (CPU backend, or --device cuda) at Grounding-DINO-Tiny's real shape: one
// 800x1333 image (levels 100x167, 50x84, 25x42, 13x21: S = 22223 value rows), 8 heads of 32, 4 levels x 4 points,
// as the encoder's self-attention (Q = S) and the decoder's cross-attention (Q = 900). Times the forward and the
// backward (dvalue, dloc and dattn together): one warm-up, then the median of --reps calls. Locations are uniform
// over the image with a margin outside it (some corners read zero padding), weights uniform in [0, 1).
// tools/bench_msda.py runs this beside PyTorch's implementation (HF's grid_sample path) and prints the ratio.
//
// With --device cuda the same calls run on the GPU (synchronised around each), and the table adds the forward's
// gathered bytes per second: 4 corners x D floats per sample plus its location and weight, and the output.
//
// usage: bench_msda [--device cpu|cuda] [--threads N] [--reps N] [--quick]   (--quick: the decoder shape only)
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

// n uniform floats in the backend's memory
static float *uniform(Backend *be, Rng *r, size_t n, float lo, float hi) {
    float *x = malloc_check(n * sizeof(float)), *d = be->alloc(be, n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)rng_uniform(r);
    be->upload(be, d, x, n * sizeof(float));
    free(x);
    return d;
}

static const int LEVELS[] = {100, 167, 50, 84, 25, 42, 13, 21};
enum { B = 1, H = 8, D = 32, L = 4, P = 4, S = 22223 };

static void bench_shape(Backend *be, const char *name, int Q, int reps) {
    Rng rng;
    rng_seed(&rng, 1);
    size_t nv = (size_t)B * S * H * D, ns = (size_t)B * Q * H * L * P, no = (size_t)B * Q * H * D;
    float *value = uniform(be, &rng, nv, -1, 1), *loc = uniform(be, &rng, 2 * ns, -0.02f, 1.02f);
    float *attn = uniform(be, &rng, ns, 0, 1), *dout = uniform(be, &rng, no, -1, 1), *out = be->alloc(be, no * sizeof(float));
    float *dv = be->alloc(be, nv * sizeof(float)), *dl = be->alloc(be, 2 * ns * sizeof(float));
    float *da = be->alloc(be, ns * sizeof(float));
    double *tf = malloc_check((size_t)reps * sizeof(double)), *tb = malloc_check((size_t)reps * sizeof(double));
    for (int r = -1; r < reps; r++) {   // r = -1: warm-up
        be->synchronize(be);
        double t0 = now_ms();
        be->msda_forward(be, out, value, loc, attn, LEVELS, B, S, Q, H, D, L, P);
        be->synchronize(be);
        double t1 = now_ms();
        be->msda_backward(be, dv, dl, da, dout, value, loc, attn, LEVELS, B, S, Q, H, D, L, P);
        be->synchronize(be);
        double t2 = now_ms();
        if (r >= 0) { tf[r] = t1 - t0; tb[r] = t2 - t1; }
    }
    qsort(tf, (size_t)reps, sizeof(double), cmp_double);
    qsort(tb, (size_t)reps, sizeof(double), cmp_double);
    double bytes = (double)ns * (4.0 * D + 3.0) * sizeof(float) + (double)no * sizeof(float);
    printf("%-28s %6d %12.3f %12.3f %14.1f\n", name, Q, tf[reps / 2], tb[reps / 2], bytes / tf[reps / 2] * 1e-6);
    printf("RESULT %s %.3f %.3f\n", name, tf[reps / 2], tb[reps / 2]);
    float *bufs[] = {value, loc, attn, dout, out, dv, dl, da};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) be->free(be, bufs[i]);
    free(tf); free(tb);
}

int main(int argc, char **argv) {
    int threads = 2, reps = 5;
    bool quick = false;
    const char *device = "cpu";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) quick = true;
        else { fprintf(stderr, "usage: bench_msda [--device cpu|cuda] [--threads N] [--reps N] [--quick]\n"); return 2; }
    }
    if (reps < 1 || threads < 1) { fprintf(stderr, "bench_msda: --reps and --threads must be >= 1\n"); return 2; }
    threads_set_count(threads);
    LpoiErr err = {{0}};
    Backend *be = backend_open(device, &err);
    if (!be) { fprintf(stderr, "bench_msda: %s\n", err.msg); return 1; }
    printf("bench_msda: lpoi %s (%s), %d CPU threads, B=%d S=%d H=%d D=%d L=%d P=%d, median of %d\n", be->name,
           be->device, threads_count(), B, S, H, D, L, P, reps);
    printf("%-28s %6s %12s %12s %14s\n", "shape", "Q", "forward ms", "backward ms", "fwd GB/s gath");
    bench_shape(be, "decoder_cross_attention", 900, reps);
    if (!quick) bench_shape(be, "encoder_self_attention", S, reps);
    backend_destroy(be);
    return 0;
}
