// fake_cuda.h — lets cu/*.cu compile as host C++ for the emulator in fake_driver.cpp.
#pragma once
// Before any system header: glibc's fortified longjmp refuses to switch stacks (fake_driver.cpp does).
#undef _FORTIFY_SOURCE
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
struct fk_dim3 { unsigned x, y, z; };
extern fk_dim3 fk_threadIdx, fk_blockIdx, fk_blockDim, fk_gridDim;
#define threadIdx fk_threadIdx
#define blockIdx fk_blockIdx
#define blockDim fk_blockDim
#define gridDim fk_gridDim
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
struct float2 { float x, y; };
struct float4 { float x, y, z, w; };
// A vector load as the GPU does it: the address must be aligned to the vector's size, or the kernel faults.
template <typename V> inline V fk_load_vec(const float *p) {
    if ((uintptr_t)p % sizeof(V)) { fprintf(stderr, "FAKECUDA: misaligned %zu-byte vector load at %p\n", sizeof(V), (const void *)p); abort(); }
    V v; memcpy(&v, p, sizeof v); return v;
}
// Round-to-nearest arithmetic that nvcc never contracts into an FMA. On the host, g++ emits no FMA
// unless the target has one and contraction is on; keep each step a separate IEEE operation anyway.
static inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
static inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
static inline float __fsub_rn(float a, float b) { volatile float r = a - b; return r; }
void fk_syncthreads(void);
void fk_warp_barrier(void);
extern uint64_t fk_warpbuf[32][32];
extern unsigned fk_warpregs[32][32][8];   // mma fragments exchanged between the lanes of a warp
extern unsigned char *fk_dynamic_smem;     // the launch's dynamic shared memory (128-byte aligned)
#define __syncthreads() fk_syncthreads()
template <typename T> T __shfl_xor_sync(unsigned mask, T v, int lanemask) {
    if (mask != 0xffffffffu) { fprintf(stderr, "fake: shfl mask 0x%x unsupported\n", mask); abort(); }
    unsigned lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    static_assert(sizeof(T) <= 8, "shfl size");
    uint64_t bits = 0; memcpy(&bits, &v, sizeof(T));
    fk_warpbuf[warp][lane] = bits;
    fk_warp_barrier();
    T r; uint64_t got = fk_warpbuf[warp][lane ^ (unsigned)lanemask]; memcpy(&r, &got, sizeof(T));
    fk_warp_barrier();
    return r;
}
