// gemm_wgmma.cu — Hopper (sm_90a) bf16 GEMM on wgmma, "NT" layout, fp32 accumulation and output:
//
//   C[m*ldc + n] = alpha * sum_k A[m*lda + k] * B[n*ldb + k] + beta * C[m*ldc + n],  m < M, n < N
//
// (y = x · wᵀ with x [M,K] and w [N,K]: both operands K-contiguous). beta == 0 never reads C.
// gemm_f16_wgmma_nt is the same kernel on fp16 operands (wgmma .f16: same layouts and descriptors).
// Only the compute_90a PTX variant holds the real body; compute_75/80 trap, the host emulator aborts
// (tools/fakecuda does not emulate wgmma; the C side only launches this from a 90a module).
//
// Tiles (gemm_wgmma.h). One block computes a WGMMA_BM × WGMMA_BN = 128 × 256 tile of C, walking K in
// steps of WGMMA_BK = 64 through a ring of WGMMA_STAGES = 4 shared-memory stages (4 × 48 KiB). Per
// stage both operand tiles (A 128×64, B 256×64 bf16) are in shared memory, K-major, in the swizzled
// layout that wgmma descriptors read: a tile row of 64 bf16 is 128 bytes = 8 chunks of 16 bytes;
// chunk c of row r sits at physical chunk c ^ (r % 8) (128B swizzle: address bits 4-6 ^= bits 7-9);
// 8 rows form a 1024-byte atom, atoms stack along M (N) every 1024 bytes; each tile starts
// 1024-byte aligned. (The code also supports BK = 32 with the 64B swizzle and BM = 256 with two m64
// blocks per consumer; both were checked on an H200 and were slower, see below. The n192 and n128 wgmma
// wrappers that BN = 192/128 needed were slower too and are gone: a new wg_mma<BN> specialisation
// wrapping wgmma.m64n<BN>k16 brings them back.)
// No TMA (the driver bindings have no tensor maps): the tiles are filled with 16-byte cp.async,
// zero-filling outside M/N/K (src-size < 16 for the K tail, 0 for rows outside M or N), so partial
// tiles contribute exact zeros and the consumers never bounds-check.
//
// Warp specialisation (384 threads = 3 warpgroups):
//   warpgroup 0  producer: setmaxnreg down to 40. Thread t copies chunk t%8 of rows t/8 + 16i of
//                both tiles (8 consecutive threads read one 128-byte row: coalesced). Because 16i is
//                a multiple of 8, the swizzled chunk (t%8) ^ (row%8) is the same for all of a thread's
//                rows. Stages wholly inside A and B take an unchecked path (plain 16-byte cp.async:
//                ~10% faster than the checked one); the others the zero-filling one. After its
//                copies for a stage the thread does cp.async.mbarrier.arrive.noinc on the stage's
//                FULL barrier: that arrival fires when all of its earlier cp.async have landed.
//                Before exiting it waits for its own copies (cp.async.wait_all).
//   warpgroups 1, 2  consumers: setmaxnreg up to 232. Consumer w (0/1) owns rows 64w..64w+63 of the
//                tile and all 256 columns: one wgmma.m64n256k16 per k16, 128 fp32 accumulators/thread.
//   Registers: 128 × 40 + 256 × 232 = 64512 = 384 × 168, the per-thread cap that
//   __launch_bounds__(384, 1) gives at entry, so the reallocation always fits the block's allocation.
//   No block-wide barrier after the role split (the producer exits early).
//
// Pipeline and synchronisation (S = WGMMA_STAGES stages in a ring; k-tile kt uses stage kt % S in
// round kt / S):
//   FULL[s]  (count 128 = the producer threads): phase r completes when every producer thread's
//            copies of k-tile s + rS have landed. The consumer waits on parity (kt / S) & 1.
//   EMPTY[s] (count 8 = the consumer warps): phase r completes when both consumer warpgroups have
//            finished the wgmmas reading k-tile s + rS. The producer waits for k-tile kt >= S on
//            parity (kt / S - 1) & 1 (the release of k-tile kt - S); the first S k-tiles need no wait.
//   Parity waits cannot be fooled by a phase two ahead: each side can be at most one round ahead of
//   the other (FULL needs the producer, which needs EMPTY, which needs the consumer).
//   Consumer per k-tile: wait FULL[s]; fence.proxy.async.shared::cta (cp.async writes are generic-
//   proxy writes, wgmma reads shared memory through the async proxy; the mbarrier wait makes the
//   writes visible to this thread, the proxy fence then orders them before its wgmmas; measured
//   free); wgmma.fence; 4 × wgmma (k = 0, 16, 32, 48: the descriptor start address advances 32 bytes
//   per k16 inside the swizzle atom); wgmma.commit_group; wgmma.wait_group 1, which leaves this
//   k-tile's group in flight but guarantees the previous k-tile's wgmmas are done, so lane 0 of each
//   warp then arrives on EMPTY of the previous stage. Stage kt % S is never refilled while read:
//   its EMPTY phase needs this warpgroup's arrival after the wgmmas of kt completed.
//
// Descriptors (PTX ISA, "Matrix Descriptor Format"): bits 0-13 start address >> 4, 16-29 leading
// byte offset >> 4 (unused for swizzled K-major, set to 1), 32-45 stride byte offset >> 4 (1024 >> 4:
// from one 8-row atom to the next), 49-51 base offset 0 (atoms are 1024-aligned), 62-63 swizzle
// mode 1 = 128B. Both operands K-major, so imm-trans-a/b = 0.
//
// Epilogue straight from registers: the m64nNk16 fp32 accumulator fragment gives warp q of the
// warpgroup rows 16q..16q+15; lane l holds, for each 8-column group j, d[4j+0..1] at row 16q + l/4,
// columns 8j + 2(l%4) + {0,1}, and d[4j+2..3] at row 16q + l/4 + 8, same columns. Each store
// instruction writes 8 rows × 32 bytes (whole sectors). float2 stores when C and ldc allow 8-byte
// alignment (the column is always even), scalar otherwise; everything bounds-checked.
//
// Block order: blocks are renumbered in groups of WGMMA_GROUP_M tile rows (the grid stays
// (ceil(N/BN), ceil(M/BM))), so the blocks resident at one time share A row panels and B column
// panels in L2 instead of sweeping all of B (matters at 8192³: ~15% there).
//
// Measured on an H200 (standalone harness loading this PTX through the driver API; clocks vary run
// to run by up to ~10%, so compare within a run): 4096³ 650-660 TFLOP/s against cuBLAS 760-765
// (~86%), 4096×11008×4096 565-610 against 670-740 (~83%), 8192³ 595-615 against 690-720 (~86%).
// Profile (ncu, 4096³): the consumers mostly wait on wgmma completion and the producer mostly waits
// for free stages (the loads are not the limit: L2 ~50% of peak, DRAM ~17%). Not better on this
// chip: BK 32 with 8-9 stages, 256×192 and 256×128 tiles, wait_group 0, an L2::256B prefetch hint,
// WGMMA_GROUP_M 8 or 32. Dropping the epilogue's stores altogether gains ~6% at 4096³ and nothing
// at the larger sizes. What is left against cuBLAS is mostly what one non-persistent tile per block
// costs (pipeline fill, no overlap with the next tile) and TMA multicast; both need launcher or
// driver-binding changes (a persistent grid, cuTensorMapEncodeTiled), not this file.
#include "mma.cuh"
#include "gemm_wgmma.h"

// ptxcheck: gemm_bf16_wgmma_nt max_registers=168
// ptxcheck: gemm_f16_wgmma_nt max_registers=168

#define WGMMA_GROUP_M 16                                   // tile rows per block-order group
#define WGMMA_ROW_BYTES (WGMMA_BK * 2)                     // one tile row = one swizzle row (128 or 64 bytes)
#define WGMMA_CHUNKS (WGMMA_ROW_BYTES / 16)                 // 16-byte chunks per tile row
#define WGMMA_ROWS_PER_PASS (128 / WGMMA_CHUNKS)            // rows the 128 producer threads fill per pass
#define WGMMA_ATOM_BYTES (8 * WGMMA_ROW_BYTES)              // 8-row swizzle atom = descriptor stride offset
#define WGMMA_A_BYTES (WGMMA_BM * WGMMA_ROW_BYTES)
#define WGMMA_B_BYTES (WGMMA_BN * WGMMA_ROW_BYTES)
#define WGMMA_STAGE_BYTES (WGMMA_A_BYTES + WGMMA_B_BYTES)
#define WGMMA_PRODUCER_REGS 40
#define WGMMA_CONSUMER_REGS 232

#if defined(__CUDACC__) && defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define WGMMA_SM90 1

static_assert(WGMMA_BK == 64 || WGMMA_BK == 32, "one 128-byte (BK 64) or 64-byte (BK 32) swizzle row per tile row");
static_assert(WGMMA_BM % WGMMA_ROWS_PER_PASS == 0 && WGMMA_BN % WGMMA_ROWS_PER_PASS == 0, "whole producer passes");
static_assert(WGMMA_THREADS == 384, "1 producer + 2 consumer warpgroups");
static_assert(WGMMA_BM % 128 == 0 && WGMMA_BM / 128 * WGMMA_BN / 2 <= 192, "consumer: BM/128 m64 blocks × BN/2 accumulators");
static_assert(WGMMA_BN == 256, "wgmma n: only the m64n256k16 wrapper is defined (wg_mma<BN>)");
static_assert(WGMMA_STAGE_BYTES % 1024 == 0 && WGMMA_A_BYTES % 1024 == 0, "swizzle-atom aligned tiles");
static_assert(WGMMA_PRODUCER_REGS * 128 + WGMMA_CONSUMER_REGS * 256 <= 168 * 384, "register reallocation");
static_assert(WGMMA_STAGES * WGMMA_STAGE_BYTES + 1024 + 16 * WGMMA_STAGES <= WGMMA_SMEM_BYTES, "smem size");

__device__ __forceinline__ void wg_mbar_init(unsigned bar, unsigned count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ bool wg_mbar_try_wait(unsigned bar, unsigned parity) {
    unsigned ok;
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(ok)
        : "r"(bar), "r"(parity)
        : "memory");
    return ok != 0;
}
// Blocks until the phase of parity `parity` of the barrier has completed.
__device__ __forceinline__ void wg_mbar_wait(unsigned bar, unsigned parity) {
    while (!wg_mbar_try_wait(bar, parity)) {
    }
}
__device__ __forceinline__ void wg_mbar_arrive(unsigned bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Arrives on the barrier once all of this thread's earlier cp.async have completed; .noinc: the
// arrival counts against the barrier's expected count (the producer threads are in it).
__device__ __forceinline__ void wg_cp_async_mbar_arrive(unsigned bar) {
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void wg_cp_async16(unsigned dst, const void *src, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void wg_cp_async_wait_all(void) { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
__device__ __forceinline__ void wg_fence_proxy_async(void) {
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
__device__ __forceinline__ void wg_fence(void) { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit(void) { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wg_wait(void) {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Pins a register's value at this point of the instruction stream (the accumulators are written
// asynchronously by wgmma: keep the compiler from moving reads or writes across the waits).
__device__ __forceinline__ void wg_pin(float &r) { asm volatile("" : "+f"(r)::"memory"); }

// Shared-memory matrix descriptor for a K-major, swizzled tile starting at `saddr` (atom-aligned for
// the first k16; + 32 bytes per further k16): 128B swizzle for 128-byte rows, 64B for 64-byte rows.
__device__ __forceinline__ unsigned long long wg_desc(unsigned saddr) {
    constexpr unsigned long long mode = WGMMA_ROW_BYTES == 128 ? 1 : 2;
    return (unsigned long long)((saddr & 0x3FFFFu) >> 4) | (1ull << 16) |
           ((unsigned long long)(WGMMA_ATOM_BYTES >> 4) << 32) | (mode << 62);
}
// 16 bytes global -> shared with no bounds (interior tiles).
__device__ __forceinline__ void wg_cp_async16_full(unsigned dst, const void *src) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src) : "memory");
}

// d[0..127] += A(64×16, descriptor a) · B(256×16, descriptor b)ᵀ, both K-major, fp32 accumulation; TYPE is the
// operands' type ("bf16" or "f16").
#define WG_MMA_M64N256K16(fname, TYPE)                                                                                     \
__device__ __forceinline__ void fname(float *d, unsigned long long a, unsigned long long b) {                              \
    asm volatile(                                                                                                          \
        "{\n"                                                                                                              \
        ".reg .pred p;\n"                                                                                                  \
        "setp.ne.b32 p, %130, 0;\n"                                                                                        \
        "wgmma.mma_async.sync.aligned.m64n256k16.f32." TYPE "." TYPE " "                                                   \
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                                          \
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "                                 \
        "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "                                 \
        "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "                                 \
        "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "                                 \
        "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "                                 \
        "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, "                     \
        "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "                \
        "%128, %129, p, 1, 1, 0, 0;\n"                                                                                     \
        "}\n"                                                                                                              \
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),                  \
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),            \
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),          \
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),          \
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),          \
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),          \
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),          \
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]),          \
          "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]),          \
          "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]),          \
          "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]),          \
          "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]),          \
          "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]),      \
          "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]),  \
          "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]),  \
          "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])   \
        : "l"(a), "l"(b), "r"(1));                                                                                         \
}
WG_MMA_M64N256K16(wg_mma_m64n256k16, "bf16")
WG_MMA_M64N256K16(wg_mma_m64n256k16_f16, "f16")
#undef WG_MMA_M64N256K16

template <int BN, bool F16> __device__ __forceinline__ void wg_mma(float *d, unsigned long long a, unsigned long long b);
template <> __device__ __forceinline__ void wg_mma<256, false>(float *d, unsigned long long a, unsigned long long b) { wg_mma_m64n256k16(d, a, b); }
template <> __device__ __forceinline__ void wg_mma<256, true>(float *d, unsigned long long a, unsigned long long b) { wg_mma_m64n256k16_f16(d, a, b); }

// alpha * acc (+ beta * C) into C for a pair of adjacent columns (col even); bounds-checked.
__device__ __forceinline__ void wg_store2(float *C, size_t off, bool col0_ok, bool col1_ok, bool vec2, float v0,
                                          float v1, float alpha, float beta) {
    float *p = C + off;
    if (beta == 0.0f) {
        v0 *= alpha;
        v1 *= alpha;
    } else {
        v0 = alpha * v0 + (col0_ok ? beta * p[0] : 0.0f);
        v1 = alpha * v1 + (col1_ok ? beta * p[1] : 0.0f);
    }
    if (vec2 && col1_ok) {
        *reinterpret_cast<float2 *>(p) = make_float2(v0, v1);
    } else {
        if (col0_ok) p[0] = v0;
        if (col1_ok) p[1] = v1;
    }
}
#endif

template <bool F16>
__device__ __forceinline__ void gemm_wgmma_nt(const bf16 *A, const bf16 *B, float *C, int M, int N, int K, int lda, int ldb,
                                              int ldc, float alpha, float beta) {
#ifdef __CUDACC__
#ifdef WGMMA_SM90
    DYNAMIC_SMEM(smem_raw);
    const unsigned smem = (smem_addr(smem_raw) + 1023u) & ~1023u;   // stage ring, 1024-byte aligned
    const unsigned bar_full = smem + WGMMA_STAGES * WGMMA_STAGE_BYTES;   // WGMMA_STAGES × 8 bytes
    const unsigned bar_empty = bar_full + 8 * WGMMA_STAGES;              // WGMMA_STAGES × 8 bytes
    const int tid = (int)threadIdx.x;
    const int KT = (K + WGMMA_BK - 1) / WGMMA_BK;

    // Block order: groups of WGMMA_GROUP_M tile rows, column-major inside a group (a bijection of the grid).
    int tile_m, tile_n;
    {
        const int grid_n = (int)gridDim.x, grid_m = (int)gridDim.y;
        const int pid = (int)blockIdx.y * grid_n + (int)blockIdx.x;
        const int per_group = WGMMA_GROUP_M * grid_n;
        const int group = pid / per_group;
        const int first_m = group * WGMMA_GROUP_M;
        const int rows = min(grid_m - first_m, WGMMA_GROUP_M);
        const int in_group = pid - group * per_group;
        tile_m = first_m + in_group % rows;
        tile_n = in_group / rows;
    }
    const int m0 = tile_m * WGMMA_BM, n0 = tile_n * WGMMA_BN;

    if (tid == 0) {
        for (int s = 0; s < WGMMA_STAGES; s++) {
            wg_mbar_init(bar_full + 8 * s, 128);   // one cp.async-tracked arrival per producer thread
            wg_mbar_init(bar_empty + 8 * s, 8);    // one arrival per consumer warp
        }
    }
    __syncthreads();   // barriers initialised before anyone uses them; no block-wide barrier after this

    if (tid < 128) {
        // ---------------- producer warpgroup ----------------
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(WGMMA_PRODUCER_REGS));
        constexpr int RPP = WGMMA_ROWS_PER_PASS;
        const int c = tid % WGMMA_CHUNKS, r0 = tid / WGMMA_CHUNKS;   // chunk c (8 bf16) of rows r0 + RPP i
        // Swizzled position: address bits 4.. (the chunk) XOR address bits 7.. (the row within the atom).
        // RPP i adds a multiple of the atom, so the XOR is the same for all of this thread's rows.
        const unsigned off0 = (unsigned)(r0 * WGMMA_ROW_BYTES + c * 16);
        const unsigned dst0 = smem + (off0 ^ (((off0 >> 7) & (WGMMA_CHUNKS - 1)) << 4));
        const int a_rows = M - m0 - r0, b_rows = N - n0 - r0;   // row r0 + RPP i exists iff RPP i < *_rows
        const size_t a_step = (size_t)lda * RPP, b_step = (size_t)ldb * RPP;
        const bf16 *a_src = A + (size_t)(m0 + (a_rows > 0 ? r0 : 0)) * lda + 8 * c;
        const bf16 *b_src = B + (size_t)(n0 + (b_rows > 0 ? r0 : 0)) * ldb + 8 * c;
        const bool interior_mn = m0 + WGMMA_BM <= M && n0 + WGMMA_BN <= N;
        for (int kt = 0; kt < KT; kt++) {
            const int s = kt % WGMMA_STAGES;
            if (kt >= WGMMA_STAGES) wg_mbar_wait(bar_empty + 8 * s, (unsigned)((kt / WGMMA_STAGES - 1) & 1));
            const int k0 = kt * WGMMA_BK;
            const unsigned dA = dst0 + (unsigned)(s * WGMMA_STAGE_BYTES);
            const unsigned dB = dA + WGMMA_A_BYTES;
            // Running pointers (one live 64-bit address per operand keeps the producer inside its
            // 40 registers).
            const bf16 *pa = a_src + k0, *pb = b_src + k0;
            if (interior_mn && k0 + WGMMA_BK <= K) {   // the whole stage is inside A and B
#pragma unroll
                for (int i = 0; i < WGMMA_BM / RPP; i++, pa += a_step) wg_cp_async16_full(dA + i * RPP * WGMMA_ROW_BYTES, pa);
#pragma unroll
                for (int i = 0; i < WGMMA_BN / RPP; i++, pb += b_step) wg_cp_async16_full(dB + i * RPP * WGMMA_ROW_BYTES, pb);
            } else {
                // Rows outside M/N or chunks past K read nothing (src-size 0, pointing at the operand's
                // base); a chunk straddling K reads its valid bytes and zero-fills the rest.
                const int kleft = K - k0 - 8 * c;   // elements of this chunk inside K
                const int kbytes = kleft >= 8 ? 16 : (kleft > 0 ? 2 * kleft : 0);
#pragma unroll
                for (int i = 0; i < WGMMA_BM / RPP; i++, pa += a_step) {
                    const bool ok = RPP * i < a_rows && kbytes > 0;
                    wg_cp_async16(dA + i * RPP * WGMMA_ROW_BYTES, ok ? (const void *)pa : (const void *)A, ok ? kbytes : 0);
                }
#pragma unroll
                for (int i = 0; i < WGMMA_BN / RPP; i++, pb += b_step) {
                    const bool ok = RPP * i < b_rows && kbytes > 0;
                    wg_cp_async16(dB + i * RPP * WGMMA_ROW_BYTES, ok ? (const void *)pb : (const void *)B, ok ? kbytes : 0);
                }
            }
            wg_cp_async_mbar_arrive(bar_full + 8 * s);
        }
        wg_cp_async_wait_all();
    } else {
        // ---------------- consumer warpgroups ----------------
        asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(WGMMA_CONSUMER_REGS));
        constexpr int MB = WGMMA_BM / 128;   // m64 blocks per consumer warpgroup
        constexpr int NACC = WGMMA_BN / 2;   // fp32 accumulators per thread per m64 block
        const int cw = (tid >> 7) - 1;       // 0 or 1: rows cw·BM/2 .. (cw+1)·BM/2 - 1 of the tile
        const int warp = (tid >> 5) & 3, lane = tid & 31;
        float acc[MB * NACC];
#pragma unroll
        for (int i = 0; i < MB * NACC; i++) acc[i] = 0.0f;
#pragma unroll
        for (int i = 0; i < MB * NACC; i++) wg_pin(acc[i]);

        const unsigned long long descA0 = wg_desc(smem + (unsigned)(cw * MB * 64 * WGMMA_ROW_BYTES));
        const unsigned long long descB0 = wg_desc(smem + WGMMA_A_BYTES);
        for (int kt = 0; kt < KT; kt++) {
            const int s = kt % WGMMA_STAGES;
            wg_mbar_wait(bar_full + 8 * s, (unsigned)((kt / WGMMA_STAGES) & 1));
            wg_fence_proxy_async();
            wg_fence();
            const unsigned long long stage = (unsigned long long)((s * WGMMA_STAGE_BYTES) >> 4);
#pragma unroll
            for (int kk = 0; kk < WGMMA_BK / 16; kk++)   // + 32 bytes (2 in >> 4 units) per k16
#pragma unroll
                for (int mb = 0; mb < MB; mb++)          // + 64 tile rows per m64 block
                    wg_mma<WGMMA_BN, F16>(acc + mb * NACC, descA0 + stage + mb * (64 * WGMMA_ROW_BYTES >> 4) + 2 * kk,
                                     descB0 + stage + 2 * kk);
            wg_commit();
            wg_wait<1>();   // the previous k-tile's wgmmas are done: release its stage
            if (kt > 0 && lane == 0) wg_mbar_arrive(bar_empty + 8 * ((kt - 1) % WGMMA_STAGES));
        }
        wg_wait<0>();
#pragma unroll
        for (int i = 0; i < MB * NACC; i++) wg_pin(acc[i]);

        // ---------------- epilogue ----------------
        const int col = n0 + 2 * (lane & 3);
        const bool vec2 = ((reinterpret_cast<size_t>(C) & 7) == 0) && ((ldc & 1) == 0);
#pragma unroll
        for (int mb = 0; mb < MB; mb++) {
            const int row = m0 + (cw * MB + mb) * 64 + warp * 16 + (lane >> 2);
            const bool row0_ok = row < M, row1_ok = row + 8 < M;
            const size_t off0 = (size_t)row * ldc, off1 = (size_t)(row + 8) * ldc;
            const float *a = acc + mb * NACC;
#pragma unroll
            for (int j = 0; j < WGMMA_BN / 8; j++) {
                const int cj = col + 8 * j;
                const bool c0 = cj < N, c1 = cj + 1 < N;
                if (row0_ok) wg_store2(C, off0 + cj, c0, c1, vec2, a[4 * j + 0], a[4 * j + 1], alpha, beta);
                if (row1_ok) wg_store2(C, off1 + cj, c0, c1, vec2, a[4 * j + 2], a[4 * j + 3], alpha, beta);
            }
        }
    }
#else
    asm volatile("trap;");
#endif
#else
    abort();
#endif
}

extern "C" __global__ void __launch_bounds__(WGMMA_THREADS, 1)
gemm_bf16_wgmma_nt(const bf16 *A, const bf16 *B, float *C, int M, int N, int K, int lda, int ldb, int ldc, float alpha,
                   float beta) {
    gemm_wgmma_nt<false>(A, B, C, M, N, K, lda, ldb, ldc, alpha, beta);
}
// fp16 operands (wgmma .f16): the Linear forward on fp16 weights.
extern "C" __global__ void __launch_bounds__(WGMMA_THREADS, 1)
gemm_f16_wgmma_nt(const bf16 *A, const bf16 *B, float *C, int M, int N, int K, int lda, int ldb, int ldc, float alpha,
                  float beta) {
    gemm_wgmma_nt<true>(A, B, C, M, N, K, lda, ldb, ldc, alpha, beta);
}
