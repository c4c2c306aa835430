// mma.cuh — bf16 storage and the sm_80 tensor-core primitives (cp.async, ldmatrix, mma.sync) used by
// the bf16 kernel families. Each primitive is one inline-PTX instruction on the GPU and a lane-exact
// emulation on the host (tools/fakecuda), so the kernels' fragment indexing runs in `make test` on
// machines without a GPU. Semantics follow the PTX ISA (warp-level matrix fragments, m16n8k16 .bf16).
//
// Variants: cp.async and mma.m16n8k16.bf16 exist from sm_80. In the compute_75 PTX variant these
// wrappers compile to a trap, and the launchers never launch a bf16 kernel from a module whose arch is
// below the kernel's min_arch in the kernel table (cuda_kernel_usable, src/backend/cuda/cuda_core.c).
#pragma once
#include "common.cuh"

typedef unsigned short bf16;   // raw bits of a bfloat16 (no cuda_bf16.h: the same type on host and device)

#ifdef __CUDACC__
__device__ __forceinline__ unsigned f32_bits(float f) { return __float_as_uint(f); }
__device__ __forceinline__ float f32_from_bits(unsigned u) { return __uint_as_float(u); }
#else
inline unsigned f32_bits(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
inline float f32_from_bits(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
#endif

// fp32 -> bf16, round to nearest even; NaN stays a (quiet) NaN; overflow rounds to ±inf, as torch does.
__device__ __forceinline__ bf16 bf16_from_f32(float f) {
    unsigned u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16)(u >> 16);
}
__device__ __forceinline__ float bf16_to_f32(bf16 h) { return f32_from_bits((unsigned)h << 16); }

// fp16 (IEEE binary16) bits, same type as bf16: the 16-bit weight kernels take either (a template flag).
// fp32 -> fp16, round to nearest even with subnormals; overflow -> ±inf; NaN stays a quiet NaN. The same
// integer code on the GPU and in the emulator, bit-identical to base/dtype.c's f32_to_f16.
__device__ __forceinline__ bf16 f16_from_f32(float f) {
    const unsigned x = f32_bits(f), sign = (x >> 16) & 0x8000u, man = x & 0x7fffffu;
    const int exp = (int)((x >> 23) & 0xffu);
    if (exp == 255) return (bf16)(sign | 0x7c00u | (man ? 0x200u : 0u));
    const int e = exp - 127 + 15;
    if (e >= 31) return (bf16)(sign | 0x7c00u);
    if (e <= 0) {   // subnormal or zero in fp16
        if (e < -10) return (bf16)sign;
        const unsigned m = man | 0x800000u;
        const int shift = 14 - e;
        unsigned h = m >> shift;
        const unsigned rem = m & ((1u << shift) - 1u), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (h & 1u))) h++;
        return (bf16)(sign | h);
    }
    unsigned h = sign | ((unsigned)e << 10) | (man >> 13);
    const unsigned rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;   // a carry into the exponent is correct
    return (bf16)h;
}
__device__ __forceinline__ float f16_to_f32(bf16 h) {
    const unsigned sign = (unsigned)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu;
    unsigned man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return f32_from_bits(sign);
        int e = -1;   // subnormal: normalise
        do { e++; man <<= 1; } while (!(man & 0x400u));
        return f32_from_bits(sign | ((unsigned)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13));
    }
    if (exp == 31) return f32_from_bits(sign | 0x7f800000u | (man << 13));
    return f32_from_bits(sign | ((exp + 127 - 15) << 23) | (man << 13));
}
// The 16-bit type of a template flag: F16 ? fp16 : bf16.
template <bool F16> __device__ __forceinline__ bf16 half_from_f32(float f) { return F16 ? f16_from_f32(f) : bf16_from_f32(f); }
template <bool F16> __device__ __forceinline__ float half_to_f32(bf16 h) { return F16 ? f16_to_f32(h) : bf16_to_f32(h); }

#ifdef __CUDACC__

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define LPOI_HAVE_MMA 1
#else
#define LPOI_HAVE_MMA 0
#endif

// Dynamic shared memory of the launch (the size is the kernel's smem in src/backend/cuda/cuda_kernel_list.h).
#define DYNAMIC_SMEM(name) extern __shared__ __align__(128) unsigned char name[]

__device__ __forceinline__ unsigned smem_addr(const void *p) { return (unsigned)__cvta_generic_to_shared(p); }

// 16 bytes global -> shared, bypassing L1; the last 16 - src_bytes bytes are zero-filled (src_bytes = 0:
// nothing is read, so src may point anywhere valid).
__device__ __forceinline__ void cp_async16(void *smem_dst, const void *gsrc, int src_bytes) {
#if LPOI_HAVE_MMA
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem_dst)), "l"(gsrc), "r"(src_bytes));
#else
    asm volatile("trap;");
#endif
}
__device__ __forceinline__ void cp_async_commit(void) {
#if LPOI_HAVE_MMA
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}
// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait(void) {
#if LPOI_HAVE_MMA
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

// Four 8×8 b16 matrices from shared memory. Lanes 8j..8j+7 give the addresses of matrix j's rows
// (16 bytes each). Lane l receives in r[j] row l/4, elements 2(l%4), 2(l%4)+1 of matrix j (low half
// first); with _trans, column l/4, rows 2(l%4), 2(l%4)+1 (the matrix transposed).
__device__ __forceinline__ void ldmatrix_x4(unsigned r[4], const void *row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(row)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned r[4], const void *row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(row)));
}

// d += a · b for one m16n8k16 tile: a is 16×16 bf16 (row), b 16×8 bf16 (col), d 16×8 fp32.
// Fragments (g = lane/4, t = lane%4): a[0] = A[g][2t..2t+1], a[1] = A[g+8][2t..], a[2] = A[g][2t+8..],
// a[3] = A[g+8][2t+8..]; b[0] = B[2t..2t+1][g], b[1] = B[2t+8..2t+9][g]; d[0..1] = D[g][2t..2t+1],
// d[2..3] = D[g+8][2t..2t+1].
// mma_f16_16816: the same with fp16 operands (same fragments).
#if LPOI_HAVE_MMA
#define MMA_16816(fname, TYPE)                                                                                    \
    __device__ __forceinline__ void fname(float d[4], const unsigned a[4], const unsigned b[2]) {                 \
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32." TYPE "." TYPE ".f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, " \
                     "{%8,%9}, {%0,%1,%2,%3};\n"                                                                  \
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                                             \
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));                         \
    }
#else
#define MMA_16816(fname, TYPE) \
    __device__ __forceinline__ void fname(float d[4], const unsigned a[4], const unsigned b[2]) { asm volatile("trap;"); }
#endif
MMA_16816(mma_bf16_16816, "bf16")
MMA_16816(mma_f16_16816, "f16")
#undef MMA_16816

#else  // ---- host emulation (tools/fakecuda): lanes meet at warp barriers and read each other's operands ----

#define DYNAMIC_SMEM(name) unsigned char *name = fk_dynamic_smem

inline void cp_async16(void *smem_dst, const void *gsrc, int src_bytes) {
    if ((uintptr_t)smem_dst % 16 || (src_bytes && (uintptr_t)gsrc % 16)) {
        fprintf(stderr, "FAKECUDA: misaligned cp.async (%p <- %p)\n", smem_dst, gsrc);
        abort();
    }
    if (src_bytes < 0 || src_bytes > 16) { fprintf(stderr, "FAKECUDA: cp.async src size %d\n", src_bytes); abort(); }
    memcpy(smem_dst, gsrc, (size_t)src_bytes);
    memset((char *)smem_dst + src_bytes, 0, (size_t)(16 - src_bytes));
}
inline void cp_async_commit(void) {}
template <int N> inline void cp_async_wait(void) {}

inline void fk_ldmatrix(unsigned r[4], const void *row, bool trans) {
    unsigned lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if ((uintptr_t)row % 16) { fprintf(stderr, "FAKECUDA: misaligned ldmatrix row %p\n", row); abort(); }
    fk_warpbuf[warp][lane] = (uint64_t)(uintptr_t)row;
    fk_warp_barrier();
    for (int j = 0; j < 4; j++) {
        unsigned short lo, hi;
        if (!trans) {
            const unsigned short *p = (const unsigned short *)(uintptr_t)fk_warpbuf[warp][8 * j + lane / 4];
            lo = p[2 * (lane % 4)];
            hi = p[2 * (lane % 4) + 1];
        } else {
            lo = ((const unsigned short *)(uintptr_t)fk_warpbuf[warp][8 * j + 2 * (lane % 4)])[lane / 4];
            hi = ((const unsigned short *)(uintptr_t)fk_warpbuf[warp][8 * j + 2 * (lane % 4) + 1])[lane / 4];
        }
        r[j] = (unsigned)lo | (unsigned)hi << 16;
    }
    fk_warp_barrier();
}
inline void ldmatrix_x4(unsigned r[4], const void *row) { fk_ldmatrix(r, row, false); }
inline void ldmatrix_x4_trans(unsigned r[4], const void *row) { fk_ldmatrix(r, row, true); }

inline float fk_bf16_half(unsigned reg, int half) { return bf16_to_f32((bf16)(half ? reg >> 16 : reg & 0xffffu)); }
inline float fk_f16_half(unsigned reg, int half) { return f16_to_f32((bf16)(half ? reg >> 16 : reg & 0xffffu)); }

inline void fk_mma_16816(float d[4], const unsigned a[4], const unsigned b[2], bool f16) {
    unsigned lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int i = 0; i < 4; i++) fk_warpregs[warp][lane][i] = a[i];
    fk_warpregs[warp][lane][4] = b[0];
    fk_warpregs[warp][lane][5] = b[1];
    fk_warp_barrier();
    // A[row][k] lives in lane (row%8)*4 + (k%8)/2, register (row>=8) + 2(k>=8), half k%2;
    // B[k][n] in lane n*4 + (k%8)/2, register 4 + (k>=8), half k%2.
    auto half = [&](unsigned reg, int h) { return f16 ? fk_f16_half(reg, h) : fk_bf16_half(reg, h); };
    auto A = [&](int row, int k) {
        return half(fk_warpregs[warp][(row % 8) * 4 + (k % 8) / 2][(row >= 8) + 2 * (k >= 8)], k % 2);
    };
    auto B = [&](int k, int n) { return half(fk_warpregs[warp][n * 4 + (k % 8) / 2][4 + (k >= 8)], k % 2); };
    const int g = (int)lane / 4, t = (int)lane % 4;
    for (int i = 0; i < 4; i++) {
        int row = g + 8 * (i / 2), col = 2 * t + (i % 2);
        float s = 0.0f;
        for (int k = 0; k < 16; k++) s += A(row, k) * B(k, col);   // products of bf16 / fp16 are exact in fp32
        d[i] += s;
    }
    fk_warp_barrier();
}
inline void mma_bf16_16816(float d[4], const unsigned a[4], const unsigned b[2]) { fk_mma_16816(d, a, b, false); }
inline void mma_f16_16816(float d[4], const unsigned a[4], const unsigned b[2]) { fk_mma_16816(d, a, b, true); }

#endif
