// convert.h — launchers of the fp32 -> bf16 copies (cu/convert.cu; src/backend/cuda/cuda_convert.c) that
// feed the bf16 tensor-core kernels. C only: the kernels need no shared constants.
#pragma once
#ifndef __cplusplus
#include "backend/cuda/cuda_core.h"

// dst[r, c] = bf16(src[r, c]) for c < cols, 0 for cols <= c < ld_dst (rows × ld_dst written).
void cuda_f32_to_bf16(CudaImpl *c, uint16_t *dst, int ld_dst, const float *src, int ld_src, int rows, int cols);
// The same to 16-bit type `type` (DTYPE_BF16 or DTYPE_F16).
void cuda_f32_to_half(CudaImpl *c, Dtype type, uint16_t *dst, int ld_dst, const float *src, int ld_src, int rows, int cols);
// dst[c, r] = bf16(src[r, c]): the transposed copy, cols rows of ld_dst >= rows elements (zero padded).
void cuda_f32_to_bf16_transposed(CudaImpl *c, uint16_t *dst, int ld_dst, const float *src, int ld_src, int rows, int cols);
#endif
