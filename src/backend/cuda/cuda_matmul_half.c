// cuda_matmul_half.c — the Linear on stored 16-bit weights (ops.h matmul_forward_half,
// matmul_backward_dx_half). The weight is read as stored, never widened or copied: the fp32 activation
// operand is rounded once into a padded 16-bit scratch copy (cuda_f32_to_half) and the tensor-core GEMM
// (cuda_gemm_half: wgmma on sm_90a for the forward's NT layout, mma.sync elsewhere) multiplies it with the
// weight, fp32 accumulation. The bias starts the output (rows_fill_f32, then beta = 1), as the CPU does.
// Where the tensor cores cannot run — a compute_75 module, or rows of the weight that are not a multiple
// of 8 elements (16-byte cp.async) — a SIMT kernel (gemm_{bf16,f16}w_64x64 in cu/gemm.cu) rounds the
// operand and widens the weight as it loads them. Either way: products of 16-bit values, exact in fp32.
#include "backend/cuda/cuda_ops.h"
#include "convert.h"
#include "gemm_mma.h"
#include "base/check.h"

// True when the tensor-core path runs: the 16-bit kernels of `type` are usable here and the weight's rows
// (ldw elements) keep 16-byte alignment.
static bool tensor_cores_ok(CudaImpl *c, Dtype type, const uint16_t *w, int ldw, bool nt) {
    const KernelId conv = type == DTYPE_F16 ? K_F32_TO_F16 : K_F32_TO_BF16;
    const KernelId mma = type == DTYPE_F16 ? (nt ? K_GEMM_F16_NT : K_GEMM_F16_NN) : (nt ? K_GEMM_BF16_NT : K_GEMM_BF16_NN);
    return ldw % 8 == 0 && (uintptr_t)w % 16 == 0 && cuda_kernel_usable(c, conv) && cuda_kernel_usable(c, mma);
}

// The SIMT fallback: C[M,N] = alpha · round(A)[M,K] · op(W) + beta C (+ bias), W [N,K] (nt) or [K,N].
static void simt_launch(CudaImpl *c, Dtype type, bool nt, int M, int N, int K, const float *A, const uint16_t *W,
                        float beta, float *C, const float *bias) {
    const KernelId k = type == DTYPE_F16 ? K_GEMM_F16W_64 : K_GEMM_BF16W_64;
    const int rows_per_launch = 65535 * 64;
    for (int m0 = 0; m0 < M; m0 += rows_per_launch) {
        const int nm = LPOI_MIN(M - m0, rows_per_launch);
        const float *a = A + (int64_t)m0 * K;
        float *cc = C + (int64_t)m0 * N;
        CUDA_LAUNCH_3D(c, k, (unsigned)((N + 63) / 64), (unsigned)((nm + 63) / 64), 1, 256, KA_PTR(a), KA_PTR(W), KA_PTR(cc),
                       KA_PTR(bias), KA_INT(nm), KA_INT(N), KA_INT(K), KA_INT(K), KA_INT(nt ? K : N), KA_INT(N), KA_U64(0),
                       KA_U64(0), KA_U64(0), KA_INT(0), KA_INT(nt), KA_F32(1.0f), KA_F32(beta));
    }
}

// a16 scratch [M, round8(K)] holding round(A): the tensor-core operand.
static uint16_t *rounded_operand(CudaImpl *c, Dtype type, const float *A, int M, int K, int *ld16) {
    *ld16 = (int)cuda_round_up((size_t)K, 8);
    uint16_t *a16 = cuda_scratch(c, (size_t)M * (size_t)*ld16 * 2);
    cuda_f32_to_half(c, type, a16, *ld16, A, K, M, K);
    return a16;
}

void cuda_matmul_forward_half(Backend *be, float *y, const float *x, const uint16_t *w, Dtype wt, const float *b, int N,
                              int C, int OC) {
    CudaImpl *c = cuda_impl(be);
    LPOI_ASSERT(wt == DTYPE_BF16 || wt == DTYPE_F16);
    LPOI_ASSERT(N >= 0 && C >= 0 && OC >= 0);
    if (N == 0 || OC == 0) return;
    if (C == 0 || !tensor_cores_ok(c, wt, w, C, true)) {   // (C == 0: y = b, which the SIMT epilogue writes)
        simt_launch(c, wt, true, N, OC, C, x, w, 0.0f, y, b);
        return;
    }
    int ld16;
    const uint16_t *x16 = rounded_operand(c, wt, x, N, C, &ld16);
    if (b) {
        size_t n = (size_t)N * (size_t)OC;
        CUDA_LAUNCH(c, K_ROWS_FILL, cuda_grid_1d(c, n), 1, CUDA_BLOCK, KA_PTR(y), KA_PTR(b), KA_INT(N), KA_INT(OC));
    }
    bool ran = cuda_gemm_half(c, wt, GEMM_BF16_AUTO, false, true, N, OC, C, 1.0f, x16, ld16, w, C, b ? 1.0f : 0.0f, y, OC);
    LPOI_ASSERT(ran);   // tensor_cores_ok checked the kernels
}

void cuda_matmul_backward_dx_half(Backend *be, float *dx, bool accumulate, const float *dy, const uint16_t *w, Dtype wt,
                                  int N, int C, int OC) {
    CudaImpl *c = cuda_impl(be);
    LPOI_ASSERT(wt == DTYPE_BF16 || wt == DTYPE_F16);
    LPOI_ASSERT(N >= 0 && C >= 0 && OC >= 0);
    if (N == 0 || C == 0) return;
    const float beta = accumulate ? 1.0f : 0.0f;
    if (OC == 0 || !tensor_cores_ok(c, wt, w, C, false)) {   // (OC == 0: dx = beta dx, as the CPU)
        simt_launch(c, wt, false, N, C, OC, dy, w, beta, dx, NULL);
        return;
    }
    int ld16;
    const uint16_t *dy16 = rounded_operand(c, wt, dy, N, OC, &ld16);
    bool ran = cuda_gemm_half(c, wt, GEMM_BF16_AUTO, false, false, N, C, OC, 1.0f, dy16, ld16, w, C, beta, dx, C);
    LPOI_ASSERT(ran);
}
