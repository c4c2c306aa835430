// cuda_fixture_test.h — what every CUDA test file shares (defined in cuda_fixture_test.c, linked into the
// test runner only): the backends created once (the GPU one skips the test when there is no GPU), random
// inputs from base/rng.h, and guarded device buffers: GPU_GUARD_BYTES of sentinel on each side, checked
// after the kernel ran, and outputs that start as a quiet NaN ("poison"), so an element a kernel never
// writes, or writes out of bounds, fails the comparison.
#pragma once
#include "test/test.h"
#include "backend/backend.h"
#include "backend/cuda/cuda_core.h"
#include "base/rng.h"
#include <string.h>
#include <stdint.h>

// ---- backends ----
Backend *gpu_or_skip(void);   // the CUDA backend (created once); NULL and the test marked skipped when unavailable
Backend *cpu_backend(void);   // the CPU backend (created once)
// The bf16 tensor-core kernels must be usable: the device is sm_80+ and the compute_75 PTX was not forced
// (LPOI_PTX_VARIANT=compute_75, where they trap and the launchers must refuse instead).
bool gpu_bf16_expected(Backend *gpu);
bool gpu_forced_portable(void);   // LPOI_PTX_VARIANT=compute_75

// ---- random inputs (base/rng.h: fixed seeds, failures reproduce) ----
static inline float rng_in(Rng *r, float lo, float hi) { return lo + (hi - lo) * rng_uniform(r); }
float *random_floats(Rng *r, size_t n, float lo, float hi);   // malloc'd, n + 1 elements (n may be 0)
static inline float *random_uniform(Rng *r, size_t n) { return random_floats(r, n, -1.0f, 1.0f); }
// n values in [lo, hi) rounded to bf16: the bits for the GPU, the same values as floats for the CPU.
void random_bf16(Rng *r, size_t n, float lo, float hi, uint16_t **bits, float **vals);

// ---- guarded device buffers ----
#define GPU_GUARD_BYTES 256                 // 64 floats of sentinel before and after the data
#define GPU_SENTINEL_BITS 0xC0DEC0DEu       // -6.96...: a normal float no kernel should produce
#define GPU_POISON_BITS 0x7FC0DEADu         // a quiet NaN: "never written"
static inline float bits_to_float(uint32_t b) { float f; memcpy(&f, &b, sizeof f); return f; }
static inline uint32_t float_to_bits(float f) { uint32_t b; memcpy(&b, &f, sizeof b); return b; }

typedef struct {
    char *base;     // device allocation: guard + bytes + guard
    void *d;        // base + GPU_GUARD_BYTES: what the kernel sees (never dereferenced on the host)
    size_t bytes;
} GpuBuf;
// init == NULL: the data starts poisoned (GPU_POISON_BITS in every 4-byte word).
GpuBuf gpu_buf_new(Backend *gpu, const void *init, size_t bytes);
// Downloads the data into out[bytes] (out may be NULL) and checks both guards; a changed guard fails the
// test naming `what` and the offset, and returns false.
bool gpu_buf_read(Backend *gpu, GpuBuf b, void *out, const char *what);
void gpu_buf_free(Backend *gpu, GpuBuf b);
// A plain (unguarded) device copy of host[bytes], with 16 bytes of slack; bytes may be 0.
void *gpu_upload_copy(Backend *gpu, const void *host, size_t bytes);
static inline float *gpu_upload_floats(Backend *gpu, const float *host, size_t n) {
    return gpu_upload_copy(gpu, host, n * sizeof(float));
}

// ---- the bf16 flash-attention cases (cuda_attention_bf16_test.c forward, cuda_attention_bf16_bwd_test.c) ----
typedef struct {
    const char *name;
    int B, Tq, Tk, H, KVH;
    bool causal;
    int window;
    int mask;         // 0: none; 1: random padding (30%), every key of item B-1 padded when B > 1 (rows that
                      // see nothing); 2: left padding (Tk/3 + 5b keys of item b)
    float qk_range;   // q, k uniform in ±qk_range (larger: peakier softmax, more max updates across tiles)
} AttnCase;

// One case's host inputs at head dim 128, drawn from `seed` in this order: q, k (±qk_range), v (±1), dout
// (±1, only with_dout), the mask. bf16-rounded: bits for the GPU, the same values as floats for the CPU.
typedef struct {
    AttnDesc a;                          // the case's descriptor, key_mask NULL
    size_t nq, nk, nl, nm;               // elements of q/out/dout [B,Tq,H,D], k/v [B,Tk,KVH,D], lse [B,H,Tq], mask [B,Tk]
    uint16_t *qb, *kb, *vb, *ob;         // bf16 bits (ob: dout, NULL without it)
    float *q, *k, *v, *dout, *mask;      // the same values as floats; mask all ones when the case has none
} AttnInputs;
// The shapes both kernels' tests run (the tiles are 64 or 128 rows and 64 keys: these cross every edge).
extern const AttnCase ATTN_CASES_BASIC[3], ATTN_CASES_GQA[4], ATTN_CASES_MASKS[5];
AttnInputs attn_inputs(const AttnCase *tc, uint64_t seed, bool with_dout);
void attn_inputs_free(AttnInputs *in);
// "<what> <name> B=.. Tq=.. Tk=.. H=.. KVH=..[ causal] win=..[ +mask]"
void attn_case_label(char *buf, size_t cap, const char *what, const AttnCase *tc);
