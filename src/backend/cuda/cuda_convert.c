// cuda_convert.c — launchers of the fp32 -> bf16 / fp16 copies (cu/convert.cu; prototypes in cu/convert.h):
// the operands of the tensor-core kernels in bf16 math mode (cuda_gemm.c, cuda_attention.c), of the
// 16-bit-weight Linear (cuda_matmul_half.c), the parity tests and bench_cuda.
#include "convert.h"
#include "base/check.h"

void cuda_f32_to_bf16(CudaImpl *c, uint16_t *dst, int ld_dst, const float *src, int ld_src, int rows, int cols) {
    cuda_f32_to_half(c, DTYPE_BF16, dst, ld_dst, src, ld_src, rows, cols);
}

void cuda_f32_to_half(CudaImpl *c, Dtype type, uint16_t *dst, int ld_dst, const float *src, int ld_src, int rows, int cols) {
    LPOI_ASSERT(rows >= 0 && cols >= 0 && ld_dst >= cols && ld_src >= cols);
    LPOI_ASSERT(type == DTYPE_BF16 || type == DTYPE_F16);
    if (rows == 0 || ld_dst == 0) return;
    size_t n = (size_t)rows * (size_t)ld_dst;
    CUDA_LAUNCH(c, type == DTYPE_F16 ? K_F32_TO_F16 : K_F32_TO_BF16, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(dst),
                KA_PTR(src), KA_INT(rows), KA_INT(cols), KA_INT(ld_dst), KA_INT(ld_src));
}

void cuda_f32_to_bf16_transposed(CudaImpl *c, uint16_t *dst, int ld_dst, const float *src, int ld_src, int rows, int cols) {
    LPOI_ASSERT(rows >= 0 && cols >= 0 && ld_dst >= rows && ld_src >= cols);
    if (cols == 0 || ld_dst == 0) return;
    LPOI_ASSERT((ld_dst + 31) / 32 <= 65535);
    CUDA_LAUNCH(c, K_F32_TO_BF16_TRANSPOSE, (unsigned)((cols + 31) / 32), (unsigned)((ld_dst + 31) / 32), 256, KA_PTR(dst),
                KA_PTR(src), KA_INT(rows), KA_INT(cols), KA_INT(ld_dst), KA_INT(ld_src));
}
