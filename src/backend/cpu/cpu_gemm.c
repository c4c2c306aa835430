// cpu_gemm.c — the CPU SGEMM (packed, cache-blocked, GotoBLAS/BLIS-style) and the Linear layer
// (matmul_forward / matmul_backward) built on it.
//
// Algorithm, per batch item (loops outermost first):
//   jc over N in blocks of NC       the packed B block (KC × NC) lives in L3, shared by threads
//    pc over K in blocks of KC      pack op(B)[pc.., jc..] once (threads share the panels)
//     ic over M in blocks of MC     each thread packs its own op(A) block (MC × KC) into its L2
//      jr over the block's NR=16 column panels   B micro-panel (KC × 16) stays in L1
//       ir over the block's MR=6 row panels      micro-kernel: 6×16 tile of C in registers
// The first K block applies the caller's beta, later ones accumulate (beta = 1). Packing pads
// edge panels with zeros, and the micro-kernel's edge path only changes how the tile is stored,
// so every C element is computed by the same sequence of operations whatever the tile, thread
// or M/N blocking: results are bit-identical for any thread count (the tests check this).
//
// Threads (base/threads.h parallel_for), per (jc, pc) block: first the B panels are packed, then
// the block's C is cut into units (row blocks × column groups, see GemmBlock) that threads take
// from an atomic counter, so a core shared with another process does less of the work instead
// of holding up the others. Each C element is written by exactly one thread, and by the
// argument above its value does not depend on which. A batch of small problems is split across
// batch items instead, one whole gemm per thread.
//
// ISA dispatch: at first use, the AVX2+FMA micro-kernel and packers (cpu_gemm_avx2.c, the only
// file built with -mavx2 -mfma) are chosen when __builtin_cpu_supports says both are present;
// otherwise a portable C micro-kernel with the same packed layout.
//   LPOI_GEMM=portable   forces the portable C path (to test it, or to rule out the SIMD kernel)
//   LPOI_GEMM=avx2       requires the AVX2 path (falls back with a warning if the CPU lacks it)
//   unset / "auto"       best available
// cpu_gemm_select() switches at run time (tests and benchmarks use it to cover both paths);
// cpu_gemm_isa() names the path in use ("avx2+fma" or "portable").
#include "backend/cpu/cpu_ops.h"
#include "base/check.h"
#include "base/threads.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <stdio.h>

// ---- blocking (tuned on Zen 3: 32 KiB L1d, 512 KiB L2 per core; fine for Haswell+ too) ----
enum {
    MR = 6,      // micro-tile rows    (A micro-panel: MR × KC = 6 KiB at KC=256)
    NR = 16,     // micro-tile columns (B micro-panel: KC × NR = 16 KiB at KC=256, half of L1)
    KC = 256,    // depth of one rank-KC update
    MC = 144,    // A block MC × KC = 144 KiB: comfortably inside L2 next to the streaming B panel
    NC = 4080,   // B block KC × NC ≈ 4 MiB, in L3; a multiple of NR
};

// ---- the AVX2 pieces (cpu_gemm_avx2.c; prototypes kept in sync by hand) ----
void gemm_avx2_kernel_6x16(int kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                           float beta, int m, int n);
void gemm_avx2_pack_a_rows6(const float *src, int64_t ld, int kc, float *dst);
void gemm_avx2_pack_b_rows16(const float *src, int64_t ld, int kc, float *dst);

// ---- portable micro-kernel and packers ----

// C[0..m, 0..n) = alpha * (a · b) + beta * C (beta == 0: C not read); same contract as the AVX2 one.
// Written with GCC/Clang generic vectors (4 floats: SSE2 on any x86-64, NEON on arm64) so that the
// accumulators live in registers: the tile is done as two 6×8 halves, each with 12 accumulator
// vectors + 2 of B + 1 of A = 15 registers, which fits x86-64's 16 without spilling.
typedef float v4f __attribute__((vector_size(16)));

static inline v4f v4f_load(const float *p) { v4f v; memcpy(&v, p, sizeof v); return v; }

static void kernel_portable(int kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                            float beta, int m, int n) {
    for (int h = 0; h < NR; h += 8) {
        if (h >= n) break;
        v4f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
        v4f c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
        const float *ap = a, *bp = b + h;
        for (int p = 0; p < kc; p++, ap += MR, bp += NR) {
            const v4f b0 = v4f_load(bp), b1 = v4f_load(bp + 4);
            v4f ai;
            ai = (v4f){ap[0], ap[0], ap[0], ap[0]}; c00 += ai * b0; c01 += ai * b1;
            ai = (v4f){ap[1], ap[1], ap[1], ap[1]}; c10 += ai * b0; c11 += ai * b1;
            ai = (v4f){ap[2], ap[2], ap[2], ap[2]}; c20 += ai * b0; c21 += ai * b1;
            ai = (v4f){ap[3], ap[3], ap[3], ap[3]}; c30 += ai * b0; c31 += ai * b1;
            ai = (v4f){ap[4], ap[4], ap[4], ap[4]}; c40 += ai * b0; c41 += ai * b1;
            ai = (v4f){ap[5], ap[5], ap[5], ap[5]}; c50 += ai * b0; c51 += ai * b1;
        }
        float acc[MR][8];
        memcpy(acc[0], &c00, 16); memcpy(acc[0] + 4, &c01, 16);
        memcpy(acc[1], &c10, 16); memcpy(acc[1] + 4, &c11, 16);
        memcpy(acc[2], &c20, 16); memcpy(acc[2] + 4, &c21, 16);
        memcpy(acc[3], &c30, 16); memcpy(acc[3] + 4, &c31, 16);
        memcpy(acc[4], &c40, 16); memcpy(acc[4] + 4, &c41, 16);
        memcpy(acc[5], &c50, 16); memcpy(acc[5] + 4, &c51, 16);
        const int nh = LPOI_MIN(8, n - h);
        for (int i = 0; i < m; i++) {
            float *ci = c + i * ldc + h;
            if (beta == 0.0f)
                for (int j = 0; j < nh; j++) ci[j] = alpha * acc[i][j];
            else
                for (int j = 0; j < nh; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
        }
    }
}

// Packs an A micro-panel: dst[p*MR + i] = op(A)[i][p] for i < m (rows m..MR-1 zero), p < kc.
// `a` points at op(A)[0][0] of the panel; op(A)[i][p] = trans ? a[p*lda + i] : a[i*lda + p].
static void pack_a_panel(const float *a, int64_t lda, bool trans, int m, int kc, float *dst, bool avx2) {
    if (trans) {
        for (int p = 0; p < kc; p++) {
            const float *s = a + p * lda;
            float *d = dst + p * MR;
            if (m == MR) memcpy(d, s, MR * sizeof(float));
            else {
                for (int i = 0; i < m; i++) d[i] = s[i];
                for (int i = m; i < MR; i++) d[i] = 0.0f;
            }
        }
    } else if (m == MR && avx2) {
        gemm_avx2_pack_a_rows6(a, lda, kc, dst);
    } else {
        for (int i = 0; i < m; i++) {
            const float *s = a + i * lda;
            for (int p = 0; p < kc; p++) dst[p * MR + i] = s[p];
        }
        for (int i = m; i < MR; i++)
            for (int p = 0; p < kc; p++) dst[p * MR + i] = 0.0f;
    }
}

// Packs a B micro-panel: dst[p*NR + j] = op(B)[p][j] for j < n (columns n..NR-1 zero), p < kc.
// op(B)[p][j] = trans ? b[j*ldb + p] : b[p*ldb + j].
static void pack_b_panel(const float *b, int64_t ldb, bool trans, int n, int kc, float *dst, bool avx2) {
    if (!trans) {
        for (int p = 0; p < kc; p++) {
            const float *s = b + p * ldb;
            float *d = dst + p * NR;
            if (n == NR) memcpy(d, s, NR * sizeof(float));
            else {
                for (int j = 0; j < n; j++) d[j] = s[j];
                for (int j = n; j < NR; j++) d[j] = 0.0f;
            }
        }
    } else if (n == NR && avx2) {
        gemm_avx2_pack_b_rows16(b, ldb, kc, dst);
    } else {
        for (int j = 0; j < n; j++) {
            const float *s = b + j * ldb;
            for (int p = 0; p < kc; p++) dst[p * NR + j] = s[p];
        }
        for (int j = n; j < NR; j++)
            for (int p = 0; p < kc; p++) dst[p * NR + j] = 0.0f;
    }
}

// ---- ISA dispatch ----

typedef void (*GemmKernelFn)(int kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                             float beta, int m, int n);
typedef struct {
    const char *name;
    GemmKernelFn kernel;
    bool avx2;  // use the AVX2 packers
} GemmIsa;

static const GemmIsa ISA_PORTABLE = {"portable", kernel_portable, false};
static const GemmIsa ISA_AVX2 = {"avx2+fma", gemm_avx2_kernel_6x16, true};

static _Atomic(const GemmIsa *) g_isa;
static pthread_once_t g_isa_once = PTHREAD_ONCE_INIT;

static bool cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

static void isa_init(void) {
    const char *env = getenv("LPOI_GEMM");
    const GemmIsa *isa = cpu_has_avx2_fma() ? &ISA_AVX2 : &ISA_PORTABLE;
    if (env && *env) {
        if (strcasecmp(env, "portable") == 0) isa = &ISA_PORTABLE;
        else if (strcasecmp(env, "avx2") == 0) {
            if (!cpu_has_avx2_fma())
                fprintf(stderr, "lpoi: warning: LPOI_GEMM=avx2 but this CPU lacks AVX2+FMA; using the portable gemm\n");
        } else if (strcasecmp(env, "auto") != 0) {
            fprintf(stderr, "lpoi: warning: LPOI_GEMM=%s is not one of auto, avx2, portable; using %s\n", env, isa->name);
        }
    }
    atomic_store(&g_isa, isa);
}

static const GemmIsa *isa_get(void) {
    pthread_once(&g_isa_once, isa_init);
    return atomic_load(&g_isa);
}

const char *cpu_gemm_isa(void) { return isa_get()->name; }

bool cpu_gemm_select(const char *name) {
    isa_get();
    if (!name || strcasecmp(name, "auto") == 0) {
        atomic_store(&g_isa, cpu_has_avx2_fma() ? &ISA_AVX2 : &ISA_PORTABLE);
        return true;
    }
    if (strcasecmp(name, "portable") == 0) { atomic_store(&g_isa, &ISA_PORTABLE); return true; }
    if (strcasecmp(name, "avx2") == 0 || strcasecmp(name, "avx2+fma") == 0) {
        if (!cpu_has_avx2_fma()) return false;
        atomic_store(&g_isa, &ISA_AVX2);
        return true;
    }
    return false;
}

// ---- per-thread packing buffers ----
// Thread-local so that a gemm called from inside another parallel_for (which then runs inline on
// a worker) never shares a buffer. They grow to the largest size seen and live as long as the
// thread (pool workers live for the process).

typedef struct { float *p; size_t cap; } PackBuf;
static _Thread_local PackBuf tl_abuf, tl_bbuf;

static float *packbuf_get(PackBuf *pb, size_t nfloats) {
    if (nfloats > pb->cap) {
        free(pb->p);
        void *p = NULL;
        if (posix_memalign(&p, 64, nfloats * sizeof(float)) != 0)
            LPOI_DIE_HINT("lower the batch size or sequence length", "gemm: cannot allocate %zu bytes of packing space",
                          nfloats * sizeof(float));
        pb->p = p;
        pb->cap = nfloats;
    }
    return pb->p;
}

// ---- the blocked driver ----

// Work sharing inside one (jc, pc) block. The block's C is cut into units: row blocks (at most
// MC rows, boundaries on multiples of MR) times groups of 16-column panels. Threads take
// units in increasing order from an atomic counter, so a thread slowed down by another process
// on the same core simply takes fewer units. A thread packs the A rows of a unit only when they
// differ from the ones it packed last. Which thread computes a tile changes nothing in its
// arithmetic, so the dynamic assignment keeps results deterministic (bit-identical for any
// thread count and any schedule).
typedef struct {
    const GemmIsa *isa;
    bool ta, tb;
    int M, N, K;
    float alpha;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
    // the current (jc, pc) block
    int jc, nc, pc, kc;
    float beta;         // beta for this K block (the caller's for the first, 1 afterwards)
    float *bpack;       // npanels panels of kc × NR
    int npanels;        // ceil(nc / NR)
    int nrb, ngroups;   // row blocks (<= MC rows each) and column groups per row block
    atomic_int next_pack;  // next group of PACK_GRAIN B panels to pack
    atomic_int next_unit;  // next unit to compute: row block (unit / ngroups), group (unit % ngroups)
} GemmBlock;

enum { PACK_GRAIN = 8 };  // B panels packed per grab

static inline const float *a_at(const GemmBlock *g, int i, int p) {  // &op(A)[i][p]
    return g->ta ? g->A + (int64_t)p * g->lda + i : g->A + (int64_t)i * g->lda + p;
}
static inline const float *b_at(const GemmBlock *g, int p, int j) {  // &op(B)[p][j]
    return g->tb ? g->B + (int64_t)j * g->ldb + p : g->B + (int64_t)p * g->ldb + j;
}

// Chooses the units of the current block for `nt` threads. Row blocks hold at most MC rows;
// with several threads the unit count is a multiple of nt (all units nearly equal, rows and
// panels spread as evenly as MR/NR allow), so that on a quiet machine every thread gets the same
// work. Row blocks stay at least 4·MR rows tall (each row block streams the whole packed B from
// L3); when M is too small for nt of those, every row block is cut into nt column groups.
static void plan_units(GemmBlock *g, int nt) {
    const int P = (g->M + MR - 1) / MR;  // MR-row panels
    g->nrb = (P + MC / MR - 1) / (MC / MR);
    g->ngroups = 1;
    if (nt > 1) {
        if (P >= 4 * nt) {
            g->nrb = (g->nrb + nt - 1) / nt * nt;  // >= 12 panels each when above nt (see above)
        } else {
            g->ngroups = LPOI_MIN(nt, g->npanels);
        }
    }
}

// Unit u's rows [*i0, *i1) and panels [*q0, *q1): row block u / ngroups, panel group u % ngroups,
// with the MR-row panels and NR-column panels spread evenly over row blocks and groups.
static void unit_range(const GemmBlock *g, int u, int *rb, int *i0, int *i1, int *q0, int *q1) {
    const int P = (g->M + MR - 1) / MR, r = u / g->ngroups, grp = u % g->ngroups;
    *rb = r;
    *i0 = (int)((int64_t)r * P / g->nrb) * MR;
    *i1 = LPOI_MIN(g->M, (int)((int64_t)(r + 1) * P / g->nrb) * MR);
    *q0 = (int)((int64_t)grp * g->npanels / g->ngroups);
    *q1 = (int)((int64_t)(grp + 1) * g->npanels / g->ngroups);
}

// Packs the block's B panels, PACK_GRAIN at a time, until none are left.
static void pack_b_worker(void *ctx, size_t begin, size_t end, int tid) {
    (void)begin; (void)end; (void)tid;
    GemmBlock *g = ctx;
    for (;;) {
        const int q0 = atomic_fetch_add(&g->next_pack, 1) * PACK_GRAIN;
        if (q0 >= g->npanels) break;
        const int q1 = LPOI_MIN(g->npanels, q0 + PACK_GRAIN);
        for (int q = q0; q < q1; q++) {
            const int j = g->jc + q * NR, n = LPOI_MIN(NR, g->jc + g->nc - j);
            pack_b_panel(b_at(g, g->pc, j), g->ldb, g->tb, n, g->kc, g->bpack + (size_t)q * g->kc * NR,
                         g->isa->avx2);
        }
    }
}

// Computes units until none are left: pack the unit's A rows (into this thread's L2-sized
// buffer), then for each of its B panels (L1) run the micro-kernel down the row block.
static void compute_worker(void *ctx, size_t begin, size_t end, int tid) {
    (void)begin; (void)end; (void)tid;
    GemmBlock *g = ctx;
    const int kc = g->kc, nunits = g->nrb * g->ngroups;
    float *apack = packbuf_get(&tl_abuf, (size_t)MC * kc);
    const GemmKernelFn kernel = g->isa->kernel;
    int packed = -1;  // row block now in apack
    for (;;) {
        const int u = atomic_fetch_add(&g->next_unit, 1);
        if (u >= nunits) break;
        int rb, i0, i1, q0, q1;
        unit_range(g, u, &rb, &i0, &i1, &q0, &q1);
        const int npa = (i1 - i0 + MR - 1) / MR;
        LPOI_ASSERT(npa * MR <= MC);
        if (rb != packed) {
            for (int r = 0; r < npa; r++) {
                const int i = i0 + r * MR;
                pack_a_panel(a_at(g, i, g->pc), g->lda, g->ta, LPOI_MIN(MR, i1 - i), kc,
                             apack + (size_t)r * MR * kc, g->isa->avx2);
            }
            packed = rb;
        }
        for (int q = q0; q < q1; q++) {
            const int j = g->jc + q * NR, n = LPOI_MIN(NR, g->jc + g->nc - j);
            const float *bp = g->bpack + (size_t)q * kc * NR;
            for (int r = 0; r < npa; r++) {
                const int i = i0 + r * MR;
                kernel(kc, apack + (size_t)r * MR * kc, bp, g->C + (int64_t)i * g->ldc + j, g->ldc, g->alpha,
                       g->beta, LPOI_MIN(MR, i1 - i), n);
            }
        }
    }
}

// Minimum floating-point work per thread: waking a pool worker costs a few microseconds.
#define GEMM_MIN_FLOPS_PER_THREAD (1 << 22)

// Blocks of near-equal size (<= max, a multiple of `unit`) covering n, so K = 300 runs as
// 152 + 148 rather than 256 + 44, and N = 4096 as 2 × 2048 rather than 4080 + 16.
static int even_block(int n, int max, int unit) {
    int nb = (n + max - 1) / max;
    int b = (n + nb - 1) / nb;
    b = (b + unit - 1) / unit * unit;
    return b < max ? b : max;
}

// C = beta * C for an M×N matrix (beta == 0 writes zeros, ignoring NaN).
static void scale_c(float *C, int64_t ldc, int M, int N, float beta) {
    if (beta == 1.0f) return;
    for (int i = 0; i < M; i++) {
        float *c = C + (int64_t)i * ldc;
        if (beta == 0.0f) memset(c, 0, (size_t)N * sizeof(float));
        else for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

// One (non-batched) gemm. `threaded`: share each block among the pool's threads; otherwise run
// on this thread.
static void gemm_one(const GemmIsa *isa, bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, bool threaded) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) { scale_c(C, ldc, M, N, beta); return; }
    GemmBlock g = {.isa = isa, .ta = ta, .tb = tb, .M = M, .N = N, .K = K, .alpha = alpha,
                   .A = A, .B = B, .C = C, .lda = lda, .ldb = ldb, .ldc = ldc};
    const int kcmax = even_block(K, KC, 8), ncmax = even_block(N, NC, NR);
    for (int jc = 0; jc < N; jc += ncmax) {
        g.jc = jc;
        g.nc = LPOI_MIN(ncmax, N - jc);
        g.npanels = (g.nc + NR - 1) / NR;
        for (int pc = 0; pc < K; pc += kcmax) {
            g.pc = pc;
            g.kc = LPOI_MIN(kcmax, K - pc);
            g.beta = pc == 0 ? beta : 1.0f;
            g.bpack = packbuf_get(&tl_bbuf, (size_t)g.npanels * g.kc * NR);
            atomic_store(&g.next_pack, 0);
            atomic_store(&g.next_unit, 0);
            // Threads worth waking for this block's work.
            const double block_flops = 2.0 * M * g.nc * g.kc;
            int nt = threaded ? threads_count() : 1;
            nt = (int)LPOI_MAX(1.0, LPOI_MIN((double)nt, block_flops / GEMM_MIN_FLOPS_PER_THREAD));
            plan_units(&g, nt);
            if (nt <= 1) {
                pack_b_worker(&g, 0, 1, 0);
                compute_worker(&g, 0, 1, 0);
                continue;
            }
            const int pack_groups = (g.npanels + PACK_GRAIN - 1) / PACK_GRAIN;
            parallel_for((size_t)LPOI_MIN(nt, pack_groups), 1, pack_b_worker, &g);
            parallel_for((size_t)LPOI_MIN(nt, g.nrb * g.ngroups), 1, compute_worker, &g);
        }
    }
}

typedef struct {
    const GemmIsa *isa;
    bool ta, tb;
    int M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc, sa, sb, sc;
    int batch;
    atomic_int next;  // next batch item to take
} GemmBatch;

// Runs whole batch items, taken one at a time, until none are left.
static void batch_worker(void *ctx, size_t begin, size_t end, int tid) {
    (void)begin; (void)end; (void)tid;
    GemmBatch *g = ctx;
    for (int b; (b = atomic_fetch_add(&g->next, 1)) < g->batch;)
        gemm_one(g->isa, g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->A + (int64_t)b * g->sa, g->lda,
                 g->B + (int64_t)b * g->sb, g->ldb, g->beta, g->C + (int64_t)b * g->sc, g->ldc, false);
}

void cpu_gemm(Backend *be, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, int64_t stride_a, const float *Bm, int ldb, int64_t stride_b,
              float beta, float *C, int ldc, int64_t stride_c, int batch) {
    (void)be;
    LPOI_ASSERT(M >= 0 && N >= 0 && K >= 0 && batch >= 0);
    if (M == 0 || N == 0 || batch == 0) return;
    // Row strides must cover a stored row: A is M×K (K×M if transposed), B is K×N (N×K), C is M×N.
    LPOI_ASSERT(ldc >= N);
    if (K > 0) {
        LPOI_ASSERT(lda >= (trans_a ? M : K));
        LPOI_ASSERT(ldb >= (trans_b ? K : N));
    }
    const GemmIsa *isa = isa_get();
    const double flops = 2.0 * M * N * (double)(K > 0 ? K : 1);
    const int nt = threads_count();
    if (batch == 1) {
        gemm_one(isa, trans_a, trans_b, M, N, K, alpha, A, lda, Bm, ldb, beta, C, ldc, true);
        return;
    }
    // A batch of problems too small to split well (or many of them): one thread per batch item.
    if (nt > 1 && batch >= nt && (flops < 64e6 || batch >= 4 * nt)) {
        GemmBatch g = {isa, trans_a, trans_b, M, N, K, alpha, beta, A, Bm, C, lda, ldb, ldc,
                       stride_a, stride_b, stride_c, batch, 0};
        const double threads = LPOI_MIN((double)nt, flops * batch / GEMM_MIN_FLOPS_PER_THREAD);
        if (threads >= 2) {
            parallel_for((size_t)threads, 1, batch_worker, &g);
            return;
        }
    }
    for (int b = 0; b < batch; b++)
        gemm_one(isa, trans_a, trans_b, M, N, K, alpha, A + (int64_t)b * stride_a, lda, Bm + (int64_t)b * stride_b, ldb,
                 beta, C + (int64_t)b * stride_c, ldc, true);
}

// ---- Linear layer ----

// y[N,OC] = x[N,C] · w[OC,C]ᵀ + b[OC]
void cpu_matmul_forward(Backend *be, float *y, const float *x, const float *w, const float *b, int N, int C, int OC) {
    float beta = 0.0f;
    if (b) {  // start from the bias and accumulate onto it
        for (int n = 0; n < N; n++) memcpy(y + (int64_t)n * OC, b, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    cpu_gemm(be, false, true, N, OC, C, 1.0f, x, C, 0, w, C, 0, beta, y, OC, 0, 1);
}

typedef struct {
    float *db;
    const float *dy;
    int N, OC;
} BiasGrad;

// db[o] += Σ_n dy[n, o] for o in [begin, end): double accumulators, n in order (deterministic).
static void bias_grad_range(void *ctx, size_t begin, size_t end, int tid) {
    (void)tid;
    const BiasGrad *g = ctx;
    enum { W = 256 };
    double acc[W];
    for (size_t o0 = begin; o0 < end; o0 += W) {
        size_t w = LPOI_MIN((size_t)W, end - o0);
        for (size_t o = 0; o < w; o++) acc[o] = 0.0;
        for (int n = 0; n < g->N; n++) {
            const float *row = g->dy + (int64_t)n * g->OC + o0;
            for (size_t o = 0; o < w; o++) acc[o] += row[o];
        }
        for (size_t o = 0; o < w; o++) g->db[o0 + o] += (float)acc[o];
    }
}

// dx[N,C] = dy[N,OC] · w[OC,C];  dw[OC,C] += dyᵀ · x;  db[OC] += Σ_n dy   (each optional)
void cpu_matmul_backward(Backend *be, float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, int N, int C, int OC) {
    if (dx) cpu_gemm(be, false, false, N, C, OC, 1.0f, dy, OC, 0, w, C, 0, 0.0f, dx, C, 0, 1);
    if (dw) cpu_gemm(be, true, false, OC, C, N, 1.0f, dy, OC, 0, x, C, 0, 1.0f, dw, C, 0, 1);
    if (db && OC > 0) {
        BiasGrad g = {db, dy, N, OC};
        size_t min_chunk = (size_t)(1 << 16) / (size_t)(N > 0 ? N : 1) + 1;
        parallel_for((size_t)OC, min_chunk, bias_grad_range, &g);
    }
}
