// cuda_kernels.c — the rows of the kernel table, generated from cuda_kernel_list.h. The shared-memory
// sizes come from the families' headers in cu/ (found through -Icu), shared with the kernels.
#include "backend/cuda/cuda_core.h"
#include "gemm_mma.h"
#include "gemm_wgmma.h"
#include "attention_mma.h"
#include "attention_mma_bwd.h"
#include "window_attention.h"

const KernelInfo cuda_kernels[K_COUNT] = {
#define KERNEL(ID, family, name, sig, smem, min_arch) [K_##ID] = {#family, #name, sig, smem, min_arch},
#include "backend/cuda/cuda_kernel_list.h"
};
