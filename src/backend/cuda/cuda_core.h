// cuda_core.h — the CUDA backend's core: device, PTX modules, memory, typed launches, scratch. Layers,
// each calling only those below it (no file calls back up):
//   cuda_driver.{h,c}     the driver API, opened with dlopen
//   cuda_core.{h,c}       this: device, modules (PTX variant choice), memory, launches; the kernel
//                         table (cuda_kernel_list.h, rows in cuda_kernels.c)
//   cuda_<family>.c       one launcher file per kernel family cu/<family>.cu: the op implementations
//                         cuda_<op> (declared by cuda_ops.h) and, for helpers other launchers or tests
//                         call, prototypes in cu/<family>.h next to the kernel's launch constants
//   cuda_backend.c        backend_cuda_create: the core plus the op table generated from backend/ops.h
// Model code never includes this: it speaks backend.h only.
//
// Kernel arguments travel through cuLaunchKernel's kernelParams (an array of pointers to each value).
// Nothing in the driver checks their number or types, so each kernel has a signature string in the
// kernel table, every launch names the type of each argument (KA_PTR, KA_U64, KA_INT, KA_F32) and
// cuda_launch dies if they disagree, and the unit tests check every signature against the .entry in
// every embedded PTX.
#pragma once
#include <stdio.h>
#include "backend/backend.h"
#include "backend/cuda/cuda_driver.h"
#include "backend/cuda/ptx_table.h"

#define CUDA_BLOCK 256   // threads per block of every launch (a multiple of 32: block_sum needs full warps)

// K_ADD, K_AXPY, ...: one per line of cuda_kernel_list.h, in its order.
typedef enum {
#define KERNEL(ID, family, name, sig, smem, min_arch) K_##ID,
#include "backend/cuda/cuda_kernel_list.h"
    K_COUNT
} KernelId;

typedef struct {
    const char *family;   // cu/<family>.cu
    const char *name;     // extern "C" name
    const char *sig;      // argument letters (see cuda_kernel_list.h)
    unsigned smem;        // dynamic shared memory per block in bytes (0: static only); raised past 48 KiB at load
    int min_arch;         // the kernel traps in PTX variants below this arch (0: runs in every variant)
} KernelInfo;
extern const KernelInfo cuda_kernels[K_COUNT];   // cuda_kernels.c

#define CUDA_MAX_FAMILIES 32

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
    // Settings, read from the environment once by cuda_core_open (tests and benchmarks may flip them):
    bool sync_each_launch;         // LPOI_CUDA_SYNC=1: synchronise and check after every launch
    bool math_bf16;                // LPOI_CUDA_MATH=bf16: GEMMs and attention round their operands to bf16
    bool prefer_wgmma;             // the NT bf16 GEMM uses wgmma where it runs (sm_90a); LPOI_CUDA_WGMMA=0: mma.sync
    bool attn_bf16_pair;           // LPOI_ATTN_BF16_PAIR=1: the bf16 attention forward's paired schedule
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

// Rows per launch of the one-block-per-row kernels (embedding, rope, logprob): one block per row up to a
// few waves; the kernels grid-stride over the rest.
unsigned cuda_row_grid(const CudaImpl *c, int N);
static inline size_t cuda_round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

// ---- memory (the Backend slots of the same names) ----
void *cuda_alloc(Backend *be, size_t bytes);   // dies with the free/total device memory when out of memory
void  cuda_free(Backend *be, void *ptr);       // waits for the stream first
void  cuda_upload(Backend *be, void *dst, const void *host_src, size_t bytes);   // returns once host_src is read
void  cuda_download(Backend *be, void *host_dst, const void *src, size_t bytes); // synchronises
void  cuda_fill_zero(Backend *be, void *dst, size_t bytes);
void  cuda_synchronize(Backend *be);

// ---- the core's life ----
// Driver, device, primary context, stream, every kernel family's best PTX variant, the settings from the
// environment. NULL + a one-line reason in err on any failure (so --device auto falls back to the CPU).
CudaImpl *cuda_core_open(int device_index, LpoiErr *err);
void cuda_core_close(CudaImpl *c);   // safe on a partly opened core
// "compute_90a", or "compute_90a (norm: compute_75)" when families ended on different variants.
void cuda_describe_variants(const CudaImpl *c, char *buf, size_t cap);

// ---- `lpoi devices` ----
// Writes one line per kernel: name, family, variant, registers, local (spill) bytes, as the driver
// compiled it for this device.
void cuda_print_kernels(Backend *be, FILE *f);
