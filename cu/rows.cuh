// rows.cuh — helpers for the memory-bound row and elementwise kernels (norm, softmax, logprob, rope,
// elementwise): 16-byte global loads/stores and reductions over a "row group" of threads.
//
// Row groups: G consecutive threads of a block (G a power of two, 32..1024, dividing blockDim.x) own one
// row at a time. Thread `lane` of the group owns the quads q = k*G + lane (k = 0, 1, ...), i.e. the
// elements 4q..4q+3 of the row, and visits them in that order. Fast path (C % 4 == 0 and every array
// 16-byte aligned, so every row is): the first NV quads of each thread are loaded with 16-byte accesses
// into registers and kept there between the statistics pass and the output pass, so a row is read from
// memory once when C <= 4*NV*G (the launch wrappers pick G from C alone that way); quads past NV (longer
// rows) are re-read. Otherwise every quad takes the re-reading loop with scalar accesses (few registers:
// the fast path's register budget is what sets the occupancy). The element-to-thread mapping, and so
// every sum's order, is the same on both paths: results do not depend on where a tensor sits in memory.
// Sums run in a fixed order for a given (C, G): the same bits on every run and every GPU.
// Only plain ld.global/st.global: outputs may alias inputs, which rules out the non-coherent (.nc) path.
#pragma once
#include "common.cuh"

// Register cap of a kernel whose block size varies up to 1024 (__launch_bounds__ cannot express "at most
// n registers" then): ptxas otherwise picks different counts per target (sm_75 often far more), and
// the count sets how many threads, so how many bytes in flight, an SM holds.
#ifdef __CUDACC__
#define MAX_REGISTERS(n) __maxnreg__(n)
#else
#define MAX_REGISTERS(n)
#endif

#ifdef __CUDACC__
__device__ __forceinline__ float4 ldg4(const float *p) { return *reinterpret_cast<const float4 *>(p); }
// __stwb (st.global.wb, the default policy) keeps the store one 16-byte access: a plain float4 assignment
// may be split into four scalar stores when the compiler loses track of the pointer's alignment.
__device__ __forceinline__ void stg4(float *p, float4 v) { __stwb(reinterpret_cast<float4 *>(p), v); }
#else
inline float4 ldg4(const float *p) { return fk_load_vec<float4>(p); }
inline void stg4(float *p, float4 v) {
    if ((uintptr_t)p % 16) { fprintf(stderr, "FAKECUDA: misaligned 16-byte vector store at %p\n", (void *)p); abort(); }
    memcpy(p, &v, sizeof v);
}
#endif

__device__ __forceinline__ float4 make_float4_(float a, float b, float c, float d) {   // the emulator has no make_float4
    float4 v;
    v.x = a; v.y = b; v.z = c; v.w = d;
    return v;
}

__device__ __forceinline__ bool aligned16(const void *p) { return ((unsigned long long)p & 15) == 0; }

// One 16-byte access of a quad (p 16-byte aligned).
__device__ __forceinline__ void ld4(float (&d)[4], const float *p) {
    const float4 v = ldg4(p);
    d[0] = v.x; d[1] = v.y; d[2] = v.z; d[3] = v.w;
}
__device__ __forceinline__ void st4(float *p, const float (&s)[4]) { stg4(p, make_float4_(s[0], s[1], s[2], s[3])); }
// ld4 when `ok`, else d = fill (nothing loaded).
__device__ __forceinline__ void ld4z(float (&d)[4], const float *p, bool ok, float fill) {
    if (ok) ld4(d, p);
    else d[0] = d[1] = d[2] = d[3] = fill;
}

// d[0..4) = r[e..e+4), elements at or past C read as `fill` (nothing is loaded for them).
__device__ __forceinline__ void load_quad(float (&d)[4], const float *r, int e, int C, bool vec, float fill) {
    if (vec && e + 4 <= C) {
        const float4 v = ldg4(r + e);
        d[0] = v.x; d[1] = v.y; d[2] = v.z; d[3] = v.w;
        return;
    }
#pragma unroll
    for (int j = 0; j < 4; j++) d[j] = e + j < C ? r[e + j] : fill;
}

// r[e..e+4) = s[0..4), only the elements before C.
__device__ __forceinline__ void store_quad(float *r, int e, int C, bool vec, const float (&s)[4]) {
    if (vec && e + 4 <= C) {
        stg4(r + e, make_float4_(s[0], s[1], s[2], s[3]));
        return;
    }
#pragma unroll
    for (int j = 0; j < 4; j++)
        if (e + j < C) r[e + j] = s[j];
}

// The rows of a kernel with several row groups per block (the forward norms, softmax): group
// `threadIdx.x / G` of the block takes row base + group, for base = blockIdx.x * per_block, grid-stride.
// Declares `lane` (the thread's index in its group), and per row `row` and `Cl` = C, or 0 for a group past
// the last of the N rows: it loads and stores nothing but still takes part in the reductions' barriers
// (every thread runs every iteration). Uses the enclosing function's C.
#define FOR_GROUP_ROWS(N, G)                                                                                \
    const int lane = threadIdx.x & ((G) - 1), per_block = blockDim.x / (G);                               \
    for (int base = blockIdx.x * per_block; base < (N); base += gridDim.x * per_block)                    \
        for (int row = base + (int)threadIdx.x / (G), Cl = row < (N) ? C : 0, once = 1; once; once = 0)

// Sum over a row group of G threads (every thread of the block must call it, G as above); every thread
// gets its group's total, in a fixed order. G == 32 needs no shared memory and no barrier. `shared`
// holds 32 values and may be reused by the next call.
template <typename T>
__device__ __forceinline__ T group_sum(T v, T *shared, int G) {
    v = warp_sum(v);
    if (G == 32) return v;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = G >> 5, first = warp & ~(nw - 1);
    __syncthreads();                     // every thread is done reading `shared` from a previous call
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    T t = lane < nw ? shared[first + lane] : (T)0;
    return warp_sum(t);
}

// Max over a row group (same rules as group_sum; max is exact, so any order gives the same value).
__device__ __forceinline__ float group_max(float v, float *shared, int G) {
    v = warp_max(v);
    if (G == 32) return v;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = G >> 5, first = warp & ~(nw - 1);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    float t = lane < nw ? shared[first + lane] : -INFINITY;
    return warp_max(t);
}
