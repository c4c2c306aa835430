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
