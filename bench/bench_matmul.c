// bench_matmul.c — lpoi's CPU SGEMM against OpenBLAS sgemm, side by side in one process.
// For each shape (M × N × K, row-major, op(B) = B or Bᵀ) and thread count, each library is timed
// in its steady state: ROUNDS rounds, each running lpoi back to back (WARMUP untimed calls, then
// timed ones) and then OpenBLAS the same way, so machine noise spreads over both. The table
// reports the median of all timed calls as GFLOP/s = 2·M·N·K / time, and the ratio
// lpoi / OpenBLAS. Every lpoi result is compared with OpenBLAS's; a mismatch beyond float
// rounding exits 1.
//
// Two effects that would otherwise bias the 2-thread numbers (both measured on the 2-vCPU VM):
//  - OpenBLAS's pthread workers busy-wait after each call for its thread timeout (2^28 TSC
//    cycles by default, about 0.1 s) before they sleep, while lpoi's pool sleeps at once. Timing
//    lpoi right after OpenBLAS put it against a spinning thread on the other core (-25% at
//    4096 × 4096 × 1024), so each lpoi round starts after a 0.25 s pause.
//  - After a pause, lpoi's first calls are slow (the scheduler places the woken pool worker
//    badly; about -40% for 1024³ at 2 threads), hence the untimed warm-up calls, for both.
//
// OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE when it loads, and some machines set them
// (forcing e.g. an older kernel). For a fair comparison against OpenBLAS's own choice of kernel,
// this program re-executes itself once with both unset unless --keep-openblas-env is given.
//
// usage: bench_matmul [--reps N] [--quick] [--keep-openblas-env] [--shape MxNxK[t]] [--threads N]
//                     [--isa avx512|avx2|portable] [--lpoi-only]
//   --shape: one shape instead of the table's (t: op(B) = Bᵀ); --threads: only that count;
//   --isa: force lpoi's gemm path; --lpoi-only: time lpoi alone (tuning), no OpenBLAS columns.
// build: ./nob bench (or `make bench`); by hand see bench/README.md.
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ' || *p == '\t') p++;
                p[strcspn(p, "\n")] = 0;
                snprintf(out, cap, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

// The 1-minute load average (other processes share these cores; a busy machine skews timings).
static double load_avg(void) {
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

static float *alloc_rand(size_t n, unsigned *seed) {
    float *x = NULL;
    if (posix_memalign((void **)&x, 64, n * sizeof(float)) != 0) {
        fprintf(stderr, "bench_matmul: out of memory (%zu floats)\n", n);
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        x[i] = (float)((*seed >> 8) * (1.0 / 8388608.0) - 1.0);  // [-1, 1)
    }
    return x;
}

typedef struct { int M, N, K; bool tb; } Shape;

enum { ROUNDS = 3, WARMUP = 2, MAX_PER_ROUND = 32 };

int main(int argc, char **argv) {
    int reps = 0, only_threads = 0;
    bool quick = false, keep_env = false, lpoi_only = false;
    Shape one = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0) quick = true;
        else if (strcmp(argv[i], "--keep-openblas-env") == 0) keep_env = true;
        else if (strcmp(argv[i], "--lpoi-only") == 0) lpoi_only = true;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) only_threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            if (!cpu_gemm_select(argv[++i])) { fprintf(stderr, "bench_matmul: no gemm path %s here\n", argv[i]); return 2; }
        } else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc) {
            char t = 'n';
            if (sscanf(argv[++i], "%dx%dx%d%c", &one.M, &one.N, &one.K, &t) < 3 || one.M <= 0 || one.N <= 0 || one.K <= 0) {
                fprintf(stderr, "bench_matmul: --shape wants MxNxK or MxNxKt (t: op(B) = Bt), got %s\n", argv[i]);
                return 2;
            }
            one.tb = t == 't';
        } else {
            fprintf(stderr, "usage: %s [--reps N] [--quick] [--keep-openblas-env] [--shape MxNxK[t]] [--threads N]\n"
                            "       [--isa avx512|avx2|portable] [--lpoi-only]\n", argv[0]);
            return 2;
        }
    }
    if (!keep_env && (getenv("OPENBLAS_CORETYPE") || getenv("OPENBLAS_L2_SIZE"))) {
        fprintf(stderr, "bench_matmul: re-running with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset "
                        "(was %s / %s; --keep-openblas-env keeps them)\n",
                getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "unset",
                getenv("OPENBLAS_L2_SIZE") ? getenv("OPENBLAS_L2_SIZE") : "unset");
        unsetenv("OPENBLAS_CORETYPE");
        unsetenv("OPENBLAS_L2_SIZE");
        fflush(NULL);
        execv("/proc/self/exe", argv);
        perror("bench_matmul: execv /proc/self/exe (continuing with the environment as is)");
    }

    char model[256];
    cpu_model(model, sizeof model);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf("CPU:      %s (%ld online)\n", model, ncpu);
    printf("lpoi:     gemm %s\n", cpu_gemm_isa());
    printf("OpenBLAS: core %s; config: %s\n", openblas_get_corename(), openblas_get_config());
    const char *ct = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    printf("          OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s\n", ct ? ct : "(unset)", l2 ? l2 : "(unset)");
    printf("timing:   median of %d rounds x back-to-back calls per library after %d warm-up calls; "
           "row-major C = A·op(B)\n", ROUNDS, WARMUP);
    printf("load:     %.2f (1-minute load average before the run)\n\n", load_avg());

    const Shape shapes[] = {
        {1024, 1024, 1024, false}, {1024, 1024, 1024, true},
        {4096, 4096, 1024, false}, {4096, 4096, 1024, true},
    };
    const Shape *todo = one.M ? &one : shapes;
    const size_t nshapes = one.M ? 1 : sizeof shapes / sizeof shapes[0];
    const int thread_counts[] = {1, 2};
    int failures = 0;

    printf("%-22s %-4s %7s %12s %14s %7s %10s\n", "M x N x K", "op(B)", "threads", "lpoi GF/s", "OpenBLAS GF/s",
           "ratio", "max |diff|");
    for (size_t s = 0; s < nshapes; s++) {
        const Shape sh = todo[s];
        if (quick && sh.M > 1024) continue;
        unsigned seed = 1234u + (unsigned)s;
        float *A = alloc_rand((size_t)sh.M * sh.K, &seed);
        float *B = alloc_rand((size_t)sh.K * sh.N, &seed);
        float *C1 = alloc_rand((size_t)sh.M * sh.N, &seed), *C2 = alloc_rand((size_t)sh.M * sh.N, &seed);
        const int ldb = sh.tb ? sh.K : sh.N;
        const double flops = 2.0 * sh.M * sh.N * (double)sh.K;
        // Timed calls per library, spread over ROUNDS rounds.
        int per_round = reps > 0 ? (reps + ROUNDS - 1) / ROUNDS : (flops > 1e10 ? 2 : 5);
        if (quick && reps <= 0) per_round = 1;
        if (per_round > MAX_PER_ROUND) per_round = MAX_PER_ROUND;
        const int nrep = per_round * ROUNDS;

        for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
            const int nt = thread_counts[t];
            if (nt > ncpu || (only_threads && nt != only_threads)) continue;
            threads_set_count(nt);
            openblas_set_num_threads(nt);
            double tl[ROUNDS * MAX_PER_ROUND], to[ROUNDS * MAX_PER_ROUND];
            for (int round = 0; round < ROUNDS; round++) {
                if (nt > 1) {  // let OpenBLAS's workers stop spinning (see the top of the file)
                    struct timespec pause = {0, 250 * 1000 * 1000};
                    nanosleep(&pause, NULL);
                }
                for (int r = -WARMUP; r < per_round; r++) {
                    double t0 = now_s();
                    cpu_gemm(NULL, false, sh.tb, sh.M, sh.N, sh.K, 1.0f, A, sh.K, 0, B, ldb, 0, 0.0f, C1, sh.N, 0, 1);
                    if (r >= 0) tl[round * per_round + r] = now_s() - t0;
                }
                for (int r = -WARMUP; r < per_round && !lpoi_only; r++) {
                    double t0 = now_s();
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, sh.tb ? CblasTrans : CblasNoTrans, sh.M, sh.N, sh.K,
                                1.0f, A, sh.K, B, ldb, 0.0f, C2, sh.N);
                    if (r >= 0) to[round * per_round + r] = now_s() - t0;
                }
            }
            // Correctness: entries are sums of K products of [-1,1) values (|C| ~ sqrt(K)/3); float
            // rounding differences between two summation orders stay far below this bound.
            double maxdiff = 0;
            size_t bad = 0;
            if (lpoi_only)  // no OpenBLAS: the ratio and difference columns mean nothing
                for (int r = 0; r < nrep; r++) to[r] = 1e30;
            for (size_t i = 0; i < (size_t)sh.M * sh.N && !lpoi_only; i++) {
                double d = fabs((double)C1[i] - C2[i]);
                if (!(d <= 1e-3 + 1e-4 * fabs(C2[i]))) bad++;
                if (d > maxdiff || isnan(d)) maxdiff = d;
            }
            double gl = flops / median(tl, nrep) * 1e-9, go = flops / median(to, nrep) * 1e-9;
            char name[64];
            snprintf(name, sizeof name, "%d x %d x %d", sh.M, sh.N, sh.K);
            if (lpoi_only)
                printf("%-22s %-5s %7d %12.1f %14s %7s %10s\n", name, sh.tb ? "Bt" : "B", nt, gl, "-", "-", "-");
            else
                printf("%-22s %-5s %7d %12.1f %14.1f %6.0f%% %10.2e%s\n", name, sh.tb ? "Bt" : "B", nt, gl, go,
                       100.0 * gl / go, maxdiff, bad ? "  MISMATCH" : "");
            fflush(stdout);
            if (bad) {
                fprintf(stderr, "bench_matmul: %zu elements differ from OpenBLAS (max |diff| %.3g)\n", bad, maxdiff);
                failures++;
            }
        }
        free(A); free(B); free(C1); free(C2);
    }
    printf("\nload:     %.2f (1-minute load average after the run)\n", load_avg());
    if (failures) {
        fprintf(stderr, "bench_matmul: FAILED: %d configuration(s) disagree with OpenBLAS\n", failures);
        return 1;
    }
    return 0;
}
