// attention_tiles.cuh — helpers shared by the bf16 flash-attention kernels (attention_mma.cu forward,
// attention_mma_bwd.cu backward): the swizzled [rows][128] bf16 tile layout, the MUFU approximations of
// the online softmax, bf16x2 packing of the P/dS operands and the 8-byte fp32 stores of the epilogues.
// Each is one instruction on the GPU and an exact-enough host version under tools/fakecuda.
#pragma once
#include "mma.cuh"

// Rows of the head-dim-128 tiles: 128 bf16 = 256 bytes = 16 chunks of 16 bytes. Chunk c of row r is stored
// at chunk c ^ (r % 8), so the 8 row addresses of every ldmatrix 8×8 matrix (8 consecutive rows, same logical
// chunk), trans or not, fall in 8 different bank groups, and cp.async writes stay 16-byte aligned.
#define ATT_ROW 128
#define ATT_CHUNKS (ATT_ROW / 8)

// Element offset of (row, 16-byte chunk) in a swizzled [rows][128] bf16 tile.
__device__ __forceinline__ int att_swz(int row, int chunk) { return row * ATT_ROW + ((chunk ^ (row & 7)) << 3); }

// The key tiles of BKV keys that query rows at absolute positions [pf, pl] may see (both bounds grow with
// the position: causal cuts above, the window below): tiles tfirst .. tfirst + ntiles - 1. Tiles starting at
// j0 in (jfull_lo, jfull_hi] are seen whole by every row (keys >= Tk aside): causal needs j0 + BKV - 1 <= pf,
// the window pl - j0 < window; only the other tiles compare positions per element.
struct AttKeyTiles { int tfirst, ntiles, jfull_lo, jfull_hi; };
template <int BKV>
__device__ __forceinline__ AttKeyTiles att_key_tiles(int pf, int pl, int Tk, int causal, int window) {
    const int jlo = window > 0 ? clamp_to_int((long long)pf - window + 1, 0, Tk) : 0;
    const int jhi = causal ? clamp_to_int((long long)pl + 1, 0, Tk) : Tk;
    AttKeyTiles t;
    t.tfirst = jlo / BKV;
    t.ntiles = jhi > jlo ? (jhi - 1) / BKV - t.tfirst + 1 : 0;
    t.jfull_hi = causal ? pf - (BKV - 1) : 0x7fffffff;
    t.jfull_lo = window > 0 ? clamp_to_int((long long)pl - window, -1, 0x7fffffff) : -1;
    return t;
}

// 2^x (ex2.approx.ftz: relative error ~2^-22, 2^-inf = +0); 1/x and log2(x) for x > 0 (rcp/lg2.approx:
// relative error ~2^-23, absolute ~2^-22). One MUFU op each on the GPU.
#ifdef __CUDACC__
#define ATT_APPROX(name, ptx, host)                              \
    __device__ __forceinline__ float name(float x) {             \
        float y;                                                 \
        asm(ptx " %0, %1;" : "=f"(y) : "f"(x));                  \
        return y;                                                \
    }
#else
#define ATT_APPROX(name, ptx, host) \
    inline float name(float x) { return host; }
#endif
ATT_APPROX(att_exp2, "ex2.approx.ftz.f32", exp2f(x))
ATT_APPROX(att_rcp, "rcp.approx.ftz.f32", 1.0f / x)
ATT_APPROX(att_log2, "lg2.approx.ftz.f32", log2f(x))
#undef ATT_APPROX

// Two fp32 -> packed bf16x2 (lo in the low half), round to nearest even: one cvt on sm_80+.
__device__ __forceinline__ unsigned att_pack_bf16(float lo, float hi) {
#if defined(__CUDACC__) && LPOI_HAVE_MMA
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
#else
    return (unsigned)bf16_from_f32(lo) | (unsigned)bf16_from_f32(hi) << 16;
#endif
}

// 8-byte store of two floats (p must be 8-byte aligned; the emulator checks).
__device__ __forceinline__ void att_store2(float *p, float a, float b) {
#ifdef __CUDACC__
    *reinterpret_cast<float2 *>(p) = make_float2(a, b);
#else
    if ((uintptr_t)p % 8) { fprintf(stderr, "FAKECUDA: misaligned 8-byte store at %p\n", (void *)p); abort(); }
    p[0] = a;
    p[1] = b;
#endif
}

