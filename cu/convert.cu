// convert.cu — fp32 -> bf16 copies that feed the bf16 tensor-core kernels (cuda_bf16.c). The copy pads
// each row to ld_dst elements with zeros, so the GEMM's 16-byte cp.async loads always see aligned rows.
#include "mma.cuh"

// ptxcheck: f32_to_bf16_2d max_registers=32

// dst[r * ld_dst + c] = bf16(src[r * ld_src + c]) for c < cols, 0 for cols <= c < ld_dst.
extern "C" __global__ void f32_to_bf16_2d(bf16 *dst, const float *src, int rows, int cols, int ld_dst, int ld_src) {
    const unsigned long long n = (unsigned long long)rows * (unsigned long long)ld_dst;
    for (unsigned long long i = grid_start(); i < n; i += grid_stride()) {
        const unsigned long long r = i / (unsigned)ld_dst, c = i % (unsigned)ld_dst;
        dst[i] = c < (unsigned)cols ? bf16_from_f32(src[r * (unsigned long long)ld_src + c]) : (bf16)0;
    }
}
