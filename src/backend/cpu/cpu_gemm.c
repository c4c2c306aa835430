// cpu_gemm.c — the CPU SGEMM (packed, cache-blocked, GotoBLAS/BLIS-style) and the Linear layer
// (matmul_forward / matmul_backward) built on it.
//
// Algorithm, per batch item (loops outermost first):
//   jc over N in blocks of NC       the packed B block (KC × NC) lives in L3, shared by threads
//    pc over K in blocks of KC      pack op(B)[pc.., jc..] once (threads share the panels)
//     ic over M in blocks of MC     each thread packs its own op(A) block (MC × KC) into its L2
//      jr over the block's NR-column panels     B micro-panel (KC × NR) stays in L1
//       ir over the block's MR-row panels       micro-kernel: MR×NR tile of C in registers
// MR, NR and the block sizes belong to the ISA path (GemmIsa below).
// The first K block applies the caller's beta, later ones accumulate (beta = 1). Packing pads
// edge panels with zeros, and the micro-kernel's edge path only changes how the tile is stored,
// so every C element is computed by the same sequence of operations whatever the tile, thread
// or M/N blocking: results are bit-identical for any thread count (the tests check this).
// One exception, by design: on the AVX-512 path A·Bᵀ with M <= 8 (decode) takes the unpacked dot
// product (gemm_avx512_dot_tile, 16-lane partial sums then a horizontal add), so a row's values
// there differ in the last bits from the same row computed within a larger M. Deterministic for a
// given M and thread count; a batched decode's logits can change when the batch crosses 8 rows.
//
// Threads (base/threads.h parallel_for), per (jc, pc) block: first the B panels are packed, then
// the block's C is cut into units (row blocks × column groups, see GemmBlock) that threads take
// from an atomic counter, so a core shared with another process does less of the work instead
// of holding up the others. Each C element is written by exactly one thread, and by the
// argument above its value does not depend on which. A batch of small problems is split across
// batch items instead, one whole gemm per thread.
//
// ISA dispatch: at first use, the best path the CPU has (CPUID via __builtin_cpu_supports):
//   avx512    12×32 zmm tile (cpu_gemm_avx512.c, built with -mavx512f -mavx512vl)
//   avx2+fma  6×16 ymm tile (cpu_gemm_avx2.c, built with -mavx2 -mfma)
//   portable  6×16 tile in C generic vectors (any CPU)
// LPOI_CPU_ISA=avx512|avx2|portable|auto (read once; LPOI_GEMM is the older name) forces a path, e.g.
// to test one or to rule out a SIMD kernel; a path the CPU lacks falls back with a warning.
// cpu_gemm_select() switches at run time (tests and benchmarks cover every path with it);
// cpu_gemm_isa() names the path in use.
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_gemm_simd.h"
#include "base/check.h"
#include "base/threads.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <stdio.h>

// ---- the ISA paths: micro-tile, blocking and kernels ----

typedef void (*GemmKernelFn)(int kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                             float beta, int m, int n);
typedef enum { SIMD_NONE, SIMD_AVX2, SIMD_AVX512 } Simd;
typedef struct {
    const char *name;
    Simd simd;           // which packers to use
    int mr, nr;          // micro-tile rows × columns
    int kc;              // depth of one rank-kc update
    int mc;              // rows of the A block a thread packs (MC × KC in its L2); a multiple of mr
    int nc;              // columns of the packed B block (KC × NC in L3); a multiple of nr
    GemmKernelFn kernel; // C[0..m, 0..n) = alpha·(A panel · B panel) + beta·C; m <= mr, n <= nr
    // The kernel with A unpacked, full mr-row panels only (NULL: A is always packed).
    void (*kernel_rows)(int kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc, float alpha,
                        float beta, int n);
    // The kernel with op(B) = B unpacked, full nr-column panels only (NULL: B is always packed).
    void (*kernel_bcols)(int kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc, float alpha,
                         float beta, int m);
    // The unpacked path for A·Bᵀ with few rows (NULL: none, the packed path does all).
    void (*dot_tile)(int K, const float *a, int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                     float alpha, float beta, int m, int n);
} GemmIsa;

static void kernel_portable(int kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                            float beta, int m, int n);

// portable / AVX2 (tuned on Zen 3: 32 KiB L1d, 512 KiB L2): the 16 KiB B micro-panel (KC × 16) is half
// of L1, the A block (144 × 256 = 144 KiB) sits in L2 next to the streaming B panel.
static const GemmIsa ISA_PORTABLE = {"portable", SIMD_NONE, 6, 16, 256, 144, 4080, kernel_portable, NULL, NULL, NULL};
static const GemmIsa ISA_AVX2 = {"avx2+fma", SIMD_AVX2, 6, 16, 256, 144, 4080, gemm_avx2_kernel_6x16, NULL, NULL, NULL};
// AVX-512 (tuned on Zen 5: 48 KiB L1d, 1 MiB L2): B micro-panel KC × 32 = 32 KiB plus the A
// micro-panel 12 KiB in L1; the A block (480 × 256 = 480 KiB) in L2.
static const GemmIsa ISA_AVX512 = {"avx512", SIMD_AVX512, GEMM512_MR, 32, 256, 480, 4064, gemm_avx512_kernel,
                                   gemm_avx512_kernel_rows, gemm_avx512_kernel_bcols, gemm_avx512_dot_tile};

// ---- portable micro-kernel and packers ----

// C[0..m, 0..n) = alpha * (a · b) + beta * C (beta == 0: C not read); same contract as the SIMD ones.
// Written with GCC/Clang generic vectors (4 floats: SSE2 on any x86-64, NEON on arm64) so that the
// accumulators live in registers: the 6×16 tile is done as two 6×8 halves, each with 12 accumulator
// vectors + 2 of B + 1 of A = 15 registers, which fits x86-64's 16 without spilling.
typedef float v4f __attribute__((vector_size(16)));

static inline v4f v4f_load(const float *p) { v4f v; memcpy(&v, p, sizeof v); return v; }

static void kernel_portable(int kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                            float beta, int m, int n) {
    enum { MR = 6, NR = 16 };
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

// Packs one micro-panel of `width` lanes (mr for A, nr for B) and depth kc: dst[p*width + i] for
// i < rows is element (i, p) of the panel, lanes rows..width-1 are zero. `interleave`: the panel's
// rows are contiguous along k in `src` (row i at src + i*ld: op(A) = A, or op(B) = Bᵀ as for a
// Linear weight), so packing transposes; otherwise k-slice p is contiguous (at src + p*ld) and
// packing copies.
static void pack_panel(const GemmIsa *isa, const float *src, int64_t ld, bool interleave, int rows, int width,
                       int kc, float *dst) {
    if (!interleave) {
        for (int p = 0; p < kc; p++) {
            const float *s = src + p * ld;
            float *d = dst + p * width;
            memcpy(d, s, (size_t)rows * sizeof(float));
            for (int i = rows; i < width; i++) d[i] = 0.0f;
        }
        return;
    }
    if (isa->simd == SIMD_AVX512) { gemm_avx512_pack_rows(src, ld, rows, width, kc, dst); return; }
    if (isa->simd == SIMD_AVX2 && rows == width) {
        if (width == 6) { gemm_avx2_pack_a_rows6(src, ld, kc, dst); return; }
        if (width == 16) { gemm_avx2_pack_b_rows16(src, ld, kc, dst); return; }
    }
    for (int i = 0; i < rows; i++) {
        const float *s = src + i * ld;
        for (int p = 0; p < kc; p++) dst[p * width + i] = s[p];
    }
    for (int i = rows; i < width; i++)
        for (int p = 0; p < kc; p++) dst[p * width + i] = 0.0f;
}

// ---- ISA dispatch ----

static _Atomic(const GemmIsa *) g_isa;
static pthread_once_t g_isa_once = PTHREAD_ONCE_INIT;

static bool cpu_has(Simd simd) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    switch (simd) {
    case SIMD_NONE: return true;
    case SIMD_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SIMD_AVX512:  // libgcc also checks that the OS saves the zmm state (XCR0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && cpu_has(SIMD_AVX2);
    }
    return false;
#else
    return simd == SIMD_NONE;
#endif
}

static const GemmIsa *isa_best(void) {
    return cpu_has(SIMD_AVX512) ? &ISA_AVX512 : cpu_has(SIMD_AVX2) ? &ISA_AVX2 : &ISA_PORTABLE;
}

// The path a name asks for ("auto" or NULL: the best one); NULL if unknown, *missing if the CPU lacks it.
static const GemmIsa *isa_named(const char *name, bool *missing) {
    *missing = false;
    if (!name || !*name || strcasecmp(name, "auto") == 0) return isa_best();
    const GemmIsa *all[] = {&ISA_PORTABLE, &ISA_AVX2, &ISA_AVX512};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        const GemmIsa *isa = all[i];
        if (strcasecmp(name, isa->name) == 0 || (isa->simd == SIMD_AVX2 && strcasecmp(name, "avx2") == 0)) {
            *missing = !cpu_has(isa->simd);
            return isa;
        }
    }
    return NULL;
}

static void isa_init(void) {
    const char *var = "LPOI_CPU_ISA", *env = getenv(var);
    if (!env || !*env) var = "LPOI_GEMM", env = getenv(var);  // the older name
    const GemmIsa *isa = isa_best();
    bool missing = false;
    const GemmIsa *want = isa_named(env, &missing);
    if (!want)
        fprintf(stderr, "lpoi: warning: %s=%s is not one of auto, avx512, avx2, portable; using %s\n", var, env, isa->name);
    else if (missing)
        fprintf(stderr, "lpoi: warning: %s=%s but this CPU lacks it; using %s\n", var, env, isa->name);
    else
        isa = want;
    atomic_store(&g_isa, isa);
}

static const GemmIsa *isa_get(void) {
    pthread_once(&g_isa_once, isa_init);
    return atomic_load(&g_isa);
}

const char *cpu_gemm_isa(void) { return isa_get()->name; }

bool cpu_gemm_select(const char *name) {
    isa_get();
    bool missing;
    const GemmIsa *isa = isa_named(name, &missing);
    if (!isa || missing) return false;
    atomic_store(&g_isa, isa);
    return true;
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
    bool direct_b;      // full B panels are read in place (kernel_bcols), only a partial one is packed
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
    const int MR = g->isa->mr, P = (g->M + MR - 1) / MR;  // MR-row panels
    g->nrb = (P + g->isa->mc / MR - 1) / (g->isa->mc / MR);
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
    const int MR = g->isa->mr, P = (g->M + MR - 1) / MR, r = u / g->ngroups, grp = u % g->ngroups;
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
            const int NR = g->isa->nr, j = g->jc + q * NR, n = LPOI_MIN(NR, g->jc + g->nc - j);
            if (g->direct_b && n == NR) continue;
            pack_panel(g->isa, b_at(g, g->pc, j), g->ldb, g->tb, n, NR, g->kc, g->bpack + (size_t)q * g->kc * NR);
        }
    }
}

// A unit with few B panels reads op(A) = A in place (kernel_rows): a packed A panel would be used
// DIRECT_A_MAX_PANELS times at most, so packing it costs about as much as the products (the LoRA
// product x·Aᵀ has one panel, N = rank). Only the partial last row panel is packed (edge_a).
enum { DIRECT_A_MAX_PANELS = 2 };
static _Thread_local PackBuf tl_edge_a;

static void direct_a_unit(const GemmBlock *g, int i0, int i1, int q0, int q1) {
    const int MR = g->isa->mr, NR = g->isa->nr, kc = g->kc;
    const int full_end = i0 + (i1 - i0) / MR * MR, m_edge = i1 - full_end;
    float *edge = NULL;
    if (m_edge > 0) {
        edge = packbuf_get(&tl_edge_a, (size_t)MR * kc);
        pack_panel(g->isa, a_at(g, full_end, g->pc), g->lda, true, m_edge, MR, kc, edge);
    }
    for (int q = q0; q < q1; q++) {
        const int j = g->jc + q * NR, n = LPOI_MIN(NR, g->jc + g->nc - j);
        const float *bp = g->bpack + (size_t)q * kc * NR;
        for (int i = i0; i < full_end; i += MR)
            g->isa->kernel_rows(kc, a_at(g, i, g->pc), g->lda, bp, g->C + (int64_t)i * g->ldc + j, g->ldc, g->alpha,
                                g->beta, n);
        if (edge)
            g->isa->kernel(kc, edge, bp, g->C + (int64_t)full_end * g->ldc + j, g->ldc, g->alpha, g->beta, m_edge, n);
    }
}

// With at most DIRECT_B_MAX_PANELS row panels (M <= 24 on AVX-512: the LoRA gradient dA = dxaᵀ·x has
// M = rank) each B panel is used once or twice, so op(B) = B is read in place (kernel_bcols) instead of
// being copied into panels first; only a partial last panel is packed.
enum { DIRECT_B_MAX_PANELS = 2 };

// Computes units until none are left: pack the unit's A rows (into this thread's L2-sized
// buffer), then for each of its B panels (L1) run the micro-kernel down the row block.
static void compute_worker(void *ctx, size_t begin, size_t end, int tid) {
    (void)begin; (void)end; (void)tid;
    GemmBlock *g = ctx;
    const int kc = g->kc, nunits = g->nrb * g->ngroups, MR = g->isa->mr, NR = g->isa->nr;
    float *apack = packbuf_get(&tl_abuf, (size_t)g->isa->mc * kc);
    const GemmKernelFn kernel = g->isa->kernel;
    int packed = -1;  // row block now in apack
    for (;;) {
        const int u = atomic_fetch_add(&g->next_unit, 1);
        if (u >= nunits) break;
        int rb, i0, i1, q0, q1;
        unit_range(g, u, &rb, &i0, &i1, &q0, &q1);
        const int npa = (i1 - i0 + MR - 1) / MR;
        LPOI_ASSERT(npa * MR <= g->isa->mc);
        if (g->isa->kernel_rows && !g->ta && !g->direct_b && q1 - q0 <= DIRECT_A_MAX_PANELS) {
            direct_a_unit(g, i0, i1, q0, q1);
            continue;
        }
        if (rb != packed) {
            for (int r = 0; r < npa; r++) {
                const int i = i0 + r * MR;
                pack_panel(g->isa, a_at(g, i, g->pc), g->lda, !g->ta, LPOI_MIN(MR, i1 - i), MR, kc,
                           apack + (size_t)r * MR * kc);
            }
            packed = rb;
        }
        for (int q = q0; q < q1; q++) {
            const int j = g->jc + q * NR, n = LPOI_MIN(NR, g->jc + g->nc - j);
            const float *bp = g->bpack + (size_t)q * kc * NR;
            for (int r = 0; r < npa; r++) {
                const int i = i0 + r * MR;
                float *c = g->C + (int64_t)i * g->ldc + j;
                if (g->direct_b && n == NR)
                    g->isa->kernel_bcols(kc, apack + (size_t)r * MR * kc, b_at(g, g->pc, j), g->ldb, c, g->ldc,
                                         g->alpha, g->beta, LPOI_MIN(MR, i1 - i));
                else
                    kernel(kc, apack + (size_t)r * MR * kc, bp, c, g->ldc, g->alpha, g->beta, LPOI_MIN(MR, i1 - i), n);
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

// ---- the unpacked path (see gemm_avx512_dot_tile) ----

// A·Bᵀ takes it when A has at most DOT_MAX_M rows (decode: one token per sequence, B a weight
// [N, K]): packing B would cost more than the product, which streams B once from memory. (For the
// LoRA product x·Aᵀ, N = rank <= 16, it measured slower than the packed path: the tiles re-read
// B from L2.)
enum { DOT_MAX_M = 8 };

typedef struct {
    const GemmIsa *isa;
    int M, N, K, ntj;  // ntj: tiles across N
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
} GemmDot;

// Tiles [begin, end) of the GEMM_DOT_TILE-square grid, row-major over (M tiles, N tiles): with few
// rows the threads' chunks split N.
static void dot_worker(void *ctx, size_t begin, size_t end, int tid) {
    (void)tid;
    const GemmDot *g = ctx;
    enum { T = GEMM_DOT_TILE };
    for (size_t t = begin; t < end; t++) {
        const int i = (int)(t / (size_t)g->ntj) * T, j = (int)(t % (size_t)g->ntj) * T;
        g->isa->dot_tile(g->K, g->A + (int64_t)i * g->lda, g->lda, g->B + (int64_t)j * g->ldb, g->ldb,
                         g->C + (int64_t)i * g->ldc + j, g->ldc, g->alpha, g->beta, LPOI_MIN(T, g->M - i),
                         LPOI_MIN(T, g->N - j));
    }
}

static void gemm_dot(const GemmIsa *isa, int M, int N, int K, float alpha, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float beta, float *C, int64_t ldc, bool threaded) {
    enum { T = GEMM_DOT_TILE };
    GemmDot g = {isa, M, N, K, (N + T - 1) / T, alpha, beta, A, B, C, lda, ldb, ldc};
    const size_t tiles = (size_t)((M + T - 1) / T) * (size_t)g.ntj;
    const size_t min_chunk = (size_t)(GEMM_MIN_FLOPS_PER_THREAD / (2.0 * T * T * K)) + 1;
    if (threaded) parallel_for(tiles, min_chunk, dot_worker, &g);
    else dot_worker(&g, 0, tiles, 0);
}

// One (non-batched) gemm. `threaded`: share each block among the pool's threads; otherwise run
// on this thread.
static void gemm_one(const GemmIsa *isa, bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, bool threaded) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) { scale_c(C, ldc, M, N, beta); return; }
    if (isa->dot_tile && !ta && tb && M <= DOT_MAX_M) {
        gemm_dot(isa, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threaded);
        return;
    }
    GemmBlock g = {.isa = isa, .ta = ta, .tb = tb, .M = M, .N = N, .K = K, .alpha = alpha,
                   .A = A, .B = B, .C = C, .lda = lda, .ldb = ldb, .ldc = ldc};
    const int NR = isa->nr, kcmax = even_block(K, isa->kc, 8), ncmax = even_block(N, isa->nc, NR);
    g.direct_b = isa->kernel_bcols && !tb && (M + isa->mr - 1) / isa->mr <= DIRECT_B_MAX_PANELS;
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
