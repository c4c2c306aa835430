// common.cuh — helpers shared by the kernel families in cu/ (included, never compiled on its own).
// Every kernel is `extern "C"` (unmangled: the C side looks it up by name with cuModuleGetFunction)
// and takes only pointers, `unsigned long long` counts, `int` and `float`, in the order its launcher in
// src/backend/cuda/cuda_<family>.c packs them (its signature: cuda_kernel_list.h); a unit test checks
// every signature against the PTX.
// Must compile for compute_75, compute_80 and compute_90a: guard newer features with __CUDA_ARCH__.
#pragma once

// Elementwise kernels loop grid-stride over n, so any grid size is correct.
__device__ __forceinline__ unsigned long long grid_start(void) {
    return (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ unsigned long long grid_stride(void) {
    return (unsigned long long)gridDim.x * blockDim.x;
}

// x clamped to [lo, hi] (64-bit in: window arithmetic may pass INT_MAX).
__device__ __forceinline__ int clamp_to_int(long long x, int lo, int hi) { return x < lo ? lo : (x > hi ? hi : (int)x); }

// Butterfly sum over the 32 lanes of a full warp. IEEE addition is commutative, so after each step
// lanes i and i^o hold bit-identical values: every lane ends with the same total, in a fixed order.
template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the block; every thread gets the same total (deterministic: fixed order for a fixed
// blockDim). blockDim.x must be a multiple of 32 (at most 1024) and every thread of the block must
// call it (it contains __syncthreads). `shared` holds 32 values; it may be reused by the next call.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T *shared) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();                     // every thread is done reading `shared` from a previous call
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    T t = lane < nwarps ? shared[lane] : (T)0;
    return warp_sum(t);                  // each warp sums the same values in the same order
}

// Butterfly max over a full warp; every lane ends with the same value (max is exact, so the order
// does not matter). -INFINITY is the identity; a NaN lane makes fmaxf ignore it, as a CPU `>` scan does.
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Max over the block; every thread gets the same value. Same rules as block_sum (full warps, every
// thread calls it, `shared` holds 32 values and may be reused by the next call).
__device__ __forceinline__ float block_max(float v, float *shared) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    float t = lane < nwarps ? shared[lane] : -INFINITY;
    return warp_max(t);
}

// Vector loads from shared memory (ld.shared.v4 / .v2): p must be 16- (8-) byte aligned, which the
// callers guarantee by construction (__align__ arrays, row strides and offsets in multiples of 4 (2)
// floats). The emulator (tools/fakecuda) copies instead of type-punning and checks the alignment.
#ifdef __CUDACC__
__device__ __forceinline__ float4 lds4(const float *p) { return *reinterpret_cast<const float4 *>(p); }
__device__ __forceinline__ float2 lds2(const float *p) { return *reinterpret_cast<const float2 *>(p); }
#else
inline float4 lds4(const float *p) { return fk_load_vec<float4>(p); }
inline float2 lds2(const float *p) { return fk_load_vec<float2>(p); }
#endif
