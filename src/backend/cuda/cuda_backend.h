// cuda_backend.h — internals of the CUDA backend, shared by cuda_backend.c (device, PTX modules, memory,
// launches), cuda_ops.c (the op table), cmd_devices.c and cuda_parity_test.c. Model code never includes
// this: it speaks backend.h only.
//
// Kernel arguments travel through cuLaunchKernel's kernelParams (an array of pointers to each value).
// Nothing in the driver checks their number or types, so each kernel has a signature string here,
// every launch names the type of each argument (KA_PTR, KA_U64, KA_INT, KA_F32) and cuda_launch dies
// if they disagree, and the unit tests check every signature against the .entry in every embedded PTX.
#pragma once
#include <stdio.h>
#include "backend/backend.h"
#include "backend/cuda/cuda_driver.h"
#include "backend/cuda/ptx_table.h"

#define CUDA_BLOCK 256   // threads per block of every launch (a multiple of 32: block_sum needs full warps)

typedef enum {
    K_ADD, K_AXPY, K_SCALE, K_SUM_SQUARES_PARTIAL, K_SUM_SQUARES_FINAL,
    K_SILU_FORWARD, K_SILU_BACKWARD, K_SWIGLU_FORWARD, K_SWIGLU_BACKWARD,
    K_GELU_FORWARD, K_GELU_BACKWARD,
    K_ADAMW,
    K_RMSNORM_FORWARD, K_RMSNORM_BACKWARD, K_RMSNORM_BACKWARD_DW_FINAL,   // backward: dx and dw partials fused
    K_LAYERNORM_FORWARD, K_LAYERNORM_BACKWARD,
    K_GEMM_128, K_GEMM_64, K_COLSUM_PARTIAL, K_COLSUM_FINAL,
    K_EMBEDDING_FORWARD, K_EMBEDDING_BACKWARD,
    K_SOFTMAX_FORWARD, K_SOFTMAX_BACKWARD,
    K_ROPE,
    K_LOGPROB_FORWARD, K_LOGPROB_BACKWARD,
    K_ATTN_FORWARD_D128, K_ATTN_FORWARD_D256, K_ATTN_BACKWARD_DI,
    K_ATTN_BACKWARD_DQ_D128, K_ATTN_BACKWARD_DQ_D256, K_ATTN_BACKWARD_DKDV_D128, K_ATTN_BACKWARD_DKDV_D256,
    // bf16 tensor-core kernels (cuda_bf16.c launches them; min_arch says which PTX variant they need)
    K_F32_TO_BF16, K_F32_TO_BF16_TRANSPOSE,
    K_GEMM_BF16_NN, K_GEMM_BF16_NT, K_GEMM_BF16_TN, K_GEMM_BF16_TT,
    K_GEMM_BF16_NT_X1, K_GEMM_BF16_NT_X2, K_GEMM_BF16_NT_X3, K_GEMM_BF16_NT_X4,   // tuning candidates (bench_cuda only)
    K_GEMM_BF16_WGMMA_NT,
    K_ATTN_FORWARD_BF16_D128, K_ATTN_BACKWARD_DQ_BF16_D128, K_ATTN_BACKWARD_DKDV_BF16_D128,
    K_COUNT
} KernelId;

// sig: one letter per parameter, in order. 'p' pointer and 'u' unsigned long long (PTX .u64/.b64/.s64),
// 'i' int (.u32/.s32/.b32), 'f' float (.f32).
typedef struct {
    const char *family;   // cu/<family>.cu
    const char *name;     // extern "C" name
    const char *sig;
    unsigned smem;        // dynamic shared memory per block in bytes (0: static only); raised past 48 KiB at load
    int min_arch;         // the kernel traps in PTX variants below this arch (0: runs in every variant)
} KernelInfo;
extern const KernelInfo cuda_kernels[K_COUNT];   // cuda_ops.c

#define CUDA_MAX_FAMILIES 16

typedef struct {
    int ordinal;
    CUdevice dev;
    CUcontext ctx;                 // the device's primary context (retained)
    CUstream stream;               // every copy and launch goes here, in order
    char name[96];
    int cc_major, cc_minor, sm_count, max_threads_per_sm;
    size_t total_mem;
    int nfamilies;
    struct {
        const char *family;
        const PtxModule *ptx;      // the variant actually loaded
        CUmodule module;
        bool fell_back;            // the preferred variant failed to JIT; this is the portable one
    } families[CUDA_MAX_FAMILIES];
    CUfunction fn[K_COUNT];        // NULL when the kernel's family is not embedded
    void *scratch;                 // grow-only device scratch for multi-pass ops (stream-ordered reuse)
    size_t scratch_bytes;
    float *rope_inv_freq;          // [rope_half] inv_freq of the last rope call's (theta, D), computed on the host
    int rope_half, rope_cap;       // entries valid / allocated
    float rope_theta;
    bool sync_each_launch;         // LPOI_CUDA_SYNC=1: synchronise and check after every launch
    bool math_bf16;                // LPOI_CUDA_MATH=bf16: GEMMs round their operands to bf16 (tensor cores)
    bool prefer_wgmma;             // the NT bf16 GEMM uses wgmma where it runs (sm_90a); LPOI_CUDA_WGMMA=0: mma.sync
} CudaImpl;

static inline CudaImpl *cuda_impl(Backend *be) { return (CudaImpl *)be->impl; }

// ---- launches ----
typedef struct {
    char type;   // 'p', 'u', 'i', 'f' as in KernelInfo.sig
    union { const void *p; unsigned long long u; int i; float f; } v;   // kernelParams[k] points here
} KArg;
#define KA_PTR(x) ((KArg){.type = 'p', .v.p = (const void *)(x)})
#define KA_U64(x) ((KArg){.type = 'u', .v.u = (unsigned long long)(x)})
#define KA_INT(x) ((KArg){.type = 'i', .v.i = (x)})
#define KA_F32(x) ((KArg){.type = 'f', .v.f = (x)})

// Launches kernel k on the backend's stream with a grid of gx × gy × gz blocks of `block` threads.
void cuda_launch(CudaImpl *c, KernelId k, unsigned gx, unsigned gy, unsigned gz, unsigned block, unsigned smem_bytes,
                 const KArg *args, int nargs);
#define CUDA_LAUNCH(c, k, gx, gy, block, ...)                                         \
    cuda_launch((c), (k), (gx), (gy), 1, (block), 0, (const KArg[]){__VA_ARGS__},     \
                (int)(sizeof((const KArg[]){__VA_ARGS__}) / sizeof(KArg)))
#define CUDA_LAUNCH_SMEM(c, k, gx, gy, gz, block, ...)                                \
    cuda_launch((c), (k), (gx), (gy), (gz), (block), cuda_kernels[k].smem, (const KArg[]){__VA_ARGS__}, \
                (int)(sizeof((const KArg[]){__VA_ARGS__}) / sizeof(KArg)))
#define CUDA_LAUNCH_3D(c, k, gx, gy, gz, block, ...)                                  \
    cuda_launch((c), (k), (gx), (gy), (gz), (block), 0, (const KArg[]){__VA_ARGS__},  \
                (int)(sizeof((const KArg[]){__VA_ARGS__}) / sizeof(KArg)))

// Blocks for a grid-stride loop over n items: ceil(n / CUDA_BLOCK), capped at one full wave of the device.
unsigned cuda_grid_1d(const CudaImpl *c, size_t n);
// Device scratch of at least `bytes`, valid until the next cuda_scratch call (callers use it within one op).
void *cuda_scratch(CudaImpl *c, size_t bytes);
// Makes the backend's context current on the calling thread (cheap when it already is).
void cuda_enter(CudaImpl *c);

// ---- PTX variants (pure functions: unit-tested without a GPU) ----
// True when module m can run on a device of compute capability cc (major*10 + minor): a portable variant
// needs arch <= cc, an arch-specific ("a") one needs arch == cc exactly.
bool cuda_variant_runs_on(const PtxModule *m, int cc);
// Index in mods of the best variant of `family` for cc: the highest arch that runs there, the
// arch-specific one on a tie. force != NULL: only the variant of that name ("compute_75"). -1 if none.
int cuda_variant_choose(const PtxModule *mods, int count, const char *family, int cc, const char *force);
// The portable variant to retry with after `failed` did not JIT: the lowest portable arch that runs on
// cc, if it is not `failed` itself; else -1.
int cuda_variant_fallback(const PtxModule *mods, int count, const char *family, int cc, int failed);
// Every kernel of cuda_kernels has an .entry with matching parameters in every embedded module of its
// family, and every family has modules. false + err naming the kernel and variant otherwise.
bool cuda_ptx_check_kernels(const PtxModule *mods, int count, LpoiErr *err);

// True when kernel k is loaded from a PTX variant whose arch is at least its min_arch (the bf16 kernels
// trap in older variants, e.g. when LPOI_PTX_VARIANT=compute_75 is forced on an H100).
bool cuda_kernel_usable(const CudaImpl *c, KernelId k);

// ---- bf16 tensor-core paths (cuda_bf16.c) ----
// bf16 values travel as raw uint16_t bits. Operands must be 16-byte aligned with leading dimensions that
// are multiples of 8 elements (cuda_f32_to_bf16 pads to that); any M, N, K otherwise.
typedef enum {
    GEMM_BF16_AUTO, GEMM_BF16_MMA, GEMM_BF16_WGMMA,
    GEMM_BF16_MMA_X1, GEMM_BF16_MMA_X2, GEMM_BF16_MMA_X3, GEMM_BF16_MMA_X4,   // NT tuning candidates (K_GEMM_BF16_NT_X*)
} GemmBf16Path;
// dst[r, c] = bf16(src[r, c]) for c < cols, 0 for cols <= c < ld_dst (rows × ld_dst written).
void cuda_f32_to_bf16(CudaImpl *c, uint16_t *dst, int ld_dst, const float *src, int ld_src, int rows, int cols);
// dst[c, r] = bf16(src[r, c]): the transposed copy, cols rows of ld_dst >= rows elements (zero padded).
void cuda_f32_to_bf16_transposed(CudaImpl *c, uint16_t *dst, int ld_dst, const float *src, int ld_src, int rows, int cols);
// C[M,N] (fp32) = alpha op(A) op(B) + beta C with bf16 operands and fp32 accumulation (mma.sync, or wgmma
// on sm_90a for the NT layout). False when no bf16 GEMM kernel can run here (the caller falls back).
bool cuda_gemm_bf16(CudaImpl *c, GemmBf16Path path, bool ta, bool tb, int M, int N, int K, float alpha,
                    const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc);
// Flash attention forward with bf16 q/k/v (fp32 out and lse, backend.h's semantics); D == 128 only.
// False when the kernel cannot run here or the descriptor is outside what it handles.
bool cuda_attention_forward_bf16(CudaImpl *c, float *out, float *lse, const uint16_t *q, const uint16_t *k,
                                 const uint16_t *v, const AttnDesc *a);

// Flash attention backward with bf16 q/k/v/dout (fp32 lse from the forward, fp32 Di[B,H,Tq] = rowsum(dout∘out)
// computed by the caller): dq, dk, dv fp32, overwritten (backend.h's semantics); D == 128 only. False when
// the kernels cannot run here or the descriptor is outside what they handle (nothing launched).
bool cuda_attention_backward_bf16(CudaImpl *c, float *dq, float *dk, float *dv, const uint16_t *dout, const uint16_t *q,
                                  const uint16_t *k, const uint16_t *v, const float *lse, const float *Di,
                                  const AttnDesc *a);

// ---- op table (cuda_ops.c) ----
// Fills be's op slots for which every kernel they launch was found; the rest stay NULL.
void cuda_ops_install(Backend *be);

// ---- `lpoi devices` ----
// Writes one line per kernel: name, family, variant, registers, local (spill) bytes, as the driver
// compiled it for this device.
void cuda_print_kernels(Backend *be, FILE *f);
