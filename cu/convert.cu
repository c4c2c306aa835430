// convert.cu — fp32 -> bf16 (and fp16) copies that feed the bf16 tensor-core kernels (launched by
// src/backend/cuda/cuda_convert.c). The copy pads each row to ld_dst elements with zeros, so the GEMM's
// 16-byte cp.async loads always see aligned rows.
#include "mma.cuh"

// ptxcheck: f32_to_bf16_2d max_registers=32
// ptxcheck: f32_to_f16_2d max_registers=32

// dst[r * ld_dst + c] = half(src[r * ld_src + c]) for c < cols, 0 for cols <= c < ld_dst (half: bf16 or fp16).
template <bool F16>
__device__ __forceinline__ void f32_to_half_2d(bf16 *dst, const float *src, int rows, int cols, int ld_dst, int ld_src) {
    const unsigned long long n = (unsigned long long)rows * (unsigned long long)ld_dst;
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) {
        const unsigned long long r = i / (unsigned)ld_dst, c = i % (unsigned)ld_dst;
        dst[i] = c < (unsigned)cols ? half_from_f32<F16>(src[r * (unsigned long long)ld_src + c]) : (bf16)0;
    }
}
extern "C" __global__ void f32_to_bf16_2d(bf16 *dst, const float *src, int rows, int cols, int ld_dst, int ld_src) {
    f32_to_half_2d<false>(dst, src, rows, cols, ld_dst, ld_src);
}
// The fp16 operand of the fp16-weight GEMMs (matmul_*_half with DTYPE_F16 weights).
extern "C" __global__ void f32_to_f16_2d(bf16 *dst, const float *src, int rows, int cols, int ld_dst, int ld_src) {
    f32_to_half_2d<true>(dst, src, rows, cols, ld_dst, ld_src);
}

// ptxcheck: f32_to_bf16_transpose_2d max_registers=32

// dst[c * ld_dst + r] = bf16(src[r * ld_src + c]) for r < rows, c < cols; 0 for rows <= r < ld_dst: the
// bf16 copy of srcᵀ, so that every bf16 GEMM can run in the NT layout the Hopper kernel takes. 32 × 32
// tiles through shared memory (one padding column against bank conflicts): reads and writes coalesced.
// Block 256 threads = 32 × 8; grid (ceil(cols / 32), ceil(ld_dst / 32)).
extern "C" __global__ void __launch_bounds__(256) f32_to_bf16_transpose_2d(bf16 *dst, const float *src, int rows, int cols,
                                                                        int ld_dst, int ld_src) {
    __shared__ float tile[32][33];
    const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
    const int c0 = blockIdx.x * 32, r0 = blockIdx.y * 32;
    for (int i = ty; i < 32; i += 8) {   // tile[r][c] = src[r0 + r][c0 + c]
        const int r = r0 + i, c = c0 + tx;
        tile[i][tx] = r < rows && c < cols ? src[(unsigned long long)r * (unsigned)ld_src + c] : 0.0f;
    }
    __syncthreads();
    for (int i = ty; i < 32; i += 8) {   // dst[c0 + i][r0 + tx] = tile[tx][i]
        const int c = c0 + i, r = r0 + tx;
        if (c < cols && r < ld_dst) dst[(unsigned long long)c * (unsigned)ld_dst + r] = bf16_from_f32(tile[tx][i]);
    }
}
