// cuda_driver.h — the slice of the CUDA driver API that lpoi uses, declared by us, loaded at run time.
// lpoi must build where no CUDA toolkit is installed and run where no driver is, so we never include
// cuda.h and never link libcuda: cuda_driver_load() dlopens "libcuda.so.1" and fills `cudrv` with
// dlsym'd entry points. Types and enum values are copied from the public cuda.h (CUDA 13.0); the
// numbers are ABI and never change between driver versions. Where cuda.h maps a name to a versioned
// symbol (#define cuMemAlloc cuMemAlloc_v2) we dlsym the versioned symbol and keep the short name as
// the member, so call sites read like ordinary driver code: cu_check(cudrv.cuMemAlloc(&p, bytes)).
// Invariants: every call into the driver goes through cu_check (fatal, with a HINT) or, on paths that
// must not abort (probing, module loading), checks the CUresult itself and reports an LpoiErr.
#pragma once
#include <stddef.h>
#include <stdbool.h>
#include "base/error.h"

// If the real cuda.h was included first (only the declaration check described in PORTING.md does
// that, to static-assert our prototypes against NVIDIA's), reuse its types instead of ours.
#ifndef CUDA_VERSION
typedef int CUresult;                           // enum cudaError_enum; CUDA_SUCCESS == 0
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;         // 64-bit on every platform lpoi supports
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef int CUjit_option;
typedef int CUdevice_attribute;
typedef int CUfunction_attribute;

// CUresult values we name in messages or handle specially.
enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_DEINITIALIZED = 4,
    CUDA_ERROR_STUB_LIBRARY = 34,
    CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER = 36,
    CUDA_ERROR_DEVICE_UNAVAILABLE = 46,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_IMAGE = 200,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
    CUDA_ERROR_INVALID_PTX = 218,
    CUDA_ERROR_JIT_COMPILER_NOT_FOUND = 221,
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
    CUDA_ERROR_JIT_COMPILATION_DISABLED = 223,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
    CUDA_ERROR_LAUNCH_TIMEOUT = 702,
    CUDA_ERROR_ILLEGAL_INSTRUCTION = 715,
    CUDA_ERROR_MISALIGNED_ADDRESS = 716,
    CUDA_ERROR_INVALID_ADDRESS_SPACE = 717,
    CUDA_ERROR_INVALID_PC = 718,
    CUDA_ERROR_LAUNCH_FAILED = 719,
    CUDA_ERROR_SYSTEM_NOT_READY = 802,
    CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
    CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE = 804,
    CUDA_ERROR_UNKNOWN = 999,
};

// CUjit_option: the JIT log buffers of cuModuleLoadDataEx.
enum {
    CU_JIT_MAX_REGISTERS = 0,
    CU_JIT_WALL_TIME = 2,                       // out: float milliseconds
    CU_JIT_INFO_LOG_BUFFER = 3,
    CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,      // in: buffer size; out: bytes written
    CU_JIT_ERROR_LOG_BUFFER = 5,
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
    CU_JIT_OPTIMIZATION_LEVEL = 7,
    CU_JIT_LOG_VERBOSE = 12,                    // per-kernel register/spill lines in the info log
    CU_JIT_GENERATE_LINE_INFO = 13,
};

// CUdevice_attribute values we query.
enum {
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1,
    CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8,
    CU_DEVICE_ATTRIBUTE_WARP_SIZE = 10,
    CU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13,
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    CU_DEVICE_ATTRIBUTE_INTEGRATED = 18,
    CU_DEVICE_ATTRIBUTE_PCI_BUS_ID = 33,
    CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36,
    CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37,
    CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38,
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR = 39,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
};

// CUevent_flags (cuEventCreate).
enum {
    CU_EVENT_DEFAULT = 0x0,
    CU_EVENT_BLOCKING_SYNC = 0x1,
};

// CUfunction_attribute values we query.
enum {
    CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0,
    CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1,
    CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES = 3,
    CU_FUNC_ATTRIBUTE_NUM_REGS = 4,
    CU_FUNC_ATTRIBUTE_PTX_VERSION = 5,
    CU_FUNC_ATTRIBUTE_BINARY_VERSION = 6,
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
};
#endif  // CUDA_VERSION

// Every entry point we use: X(return type, member name, dlsym symbol, parameter list).
// The symbol is what cuda.h's #define maps the member name to (CUDA 13.0 headers, non-PTDS).
#define CUDA_DRIVER_FUNCTIONS(X)                                                                         \
    X(CUresult, cuGetErrorName, "cuGetErrorName", (CUresult error, const char **pStr))                    \
    X(CUresult, cuGetErrorString, "cuGetErrorString", (CUresult error, const char **pStr))                \
    X(CUresult, cuInit, "cuInit", (unsigned int Flags))                                                   \
    X(CUresult, cuDriverGetVersion, "cuDriverGetVersion", (int *driverVersion))                           \
    X(CUresult, cuDeviceGetCount, "cuDeviceGetCount", (int *count))                                       \
    X(CUresult, cuDeviceGet, "cuDeviceGet", (CUdevice *device, int ordinal))                              \
    X(CUresult, cuDeviceGetName, "cuDeviceGetName", (char *name, int len, CUdevice dev))                  \
    X(CUresult, cuDeviceGetAttribute, "cuDeviceGetAttribute", (int *pi, CUdevice_attribute attrib, CUdevice dev)) \
    X(CUresult, cuDeviceTotalMem, "cuDeviceTotalMem_v2", (size_t *bytes, CUdevice dev))                   \
    X(CUresult, cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", (CUcontext *pctx, CUdevice dev))    \
    X(CUresult, cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", (CUdevice dev))                \
    X(CUresult, cuCtxSetCurrent, "cuCtxSetCurrent", (CUcontext ctx))                                      \
    X(CUresult, cuCtxSynchronize, "cuCtxSynchronize", (void))                                             \
    X(CUresult, cuModuleLoadDataEx, "cuModuleLoadDataEx", (CUmodule *module, const void *image,           \
      unsigned int numOptions, CUjit_option *options, void **optionValues))                               \
    X(CUresult, cuModuleUnload, "cuModuleUnload", (CUmodule hmod))                                        \
    X(CUresult, cuModuleGetFunction, "cuModuleGetFunction", (CUfunction *hfunc, CUmodule hmod, const char *name)) \
    X(CUresult, cuFuncGetAttribute, "cuFuncGetAttribute", (int *pi, CUfunction_attribute attrib, CUfunction hfunc)) \
    X(CUresult, cuFuncSetAttribute, "cuFuncSetAttribute", (CUfunction hfunc, CUfunction_attribute attrib, int value)) \
    X(CUresult, cuMemGetInfo, "cuMemGetInfo_v2", (size_t *free, size_t *total))                          \
    X(CUresult, cuMemAlloc, "cuMemAlloc_v2", (CUdeviceptr *dptr, size_t bytesize))                        \
    X(CUresult, cuMemFree, "cuMemFree_v2", (CUdeviceptr dptr))                                            \
    X(CUresult, cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", (CUdeviceptr dstDevice, const void *srcHost,  \
      size_t ByteCount, CUstream hStream))                                                                \
    X(CUresult, cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", (void *dstHost, CUdeviceptr srcDevice,        \
      size_t ByteCount, CUstream hStream))                                                                \
    X(CUresult, cuMemsetD8Async, "cuMemsetD8Async", (CUdeviceptr dstDevice, unsigned char uc, size_t N,   \
      CUstream hStream))                                                                                  \
    X(CUresult, cuStreamCreate, "cuStreamCreate", (CUstream *phStream, unsigned int Flags))               \
    X(CUresult, cuStreamDestroy, "cuStreamDestroy_v2", (CUstream hStream))                                \
    X(CUresult, cuStreamSynchronize, "cuStreamSynchronize", (CUstream hStream))                           \
    X(CUresult, cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", (CUdeviceptr dstDevice, CUdeviceptr srcDevice, \
      size_t ByteCount, CUstream hStream))                                                                \
    X(CUresult, cuMemsetD32Async, "cuMemsetD32Async", (CUdeviceptr dstDevice, unsigned int ui, size_t N,  \
      CUstream hStream))                                                                                  \
    X(CUresult, cuEventCreate, "cuEventCreate", (CUevent *phEvent, unsigned int Flags))                   \
    X(CUresult, cuEventRecord, "cuEventRecord", (CUevent hEvent, CUstream hStream))                       \
    X(CUresult, cuEventSynchronize, "cuEventSynchronize", (CUevent hEvent))                               \
    X(CUresult, cuEventElapsedTime, "cuEventElapsedTime_v2", (float *pMilliseconds, CUevent hStart,      \
      CUevent hEnd))                                                                                      \
    X(CUresult, cuEventDestroy, "cuEventDestroy_v2", (CUevent hEvent))                                    \
    X(CUresult, cuLaunchKernel, "cuLaunchKernel", (CUfunction f, unsigned int gridDimX,                   \
      unsigned int gridDimY, unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,       \
      unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream, void **kernelParams,         \
      void **extra))

typedef struct {
#define CUDA_DRIVER_MEMBER_(ret, name, sym, params) ret (*name) params;
    CUDA_DRIVER_FUNCTIONS(CUDA_DRIVER_MEMBER_)
#undef CUDA_DRIVER_MEMBER_
    void *lib;          // dlopen handle; NULL until cuda_driver_load succeeds
    int version;        // cuDriverGetVersion: 13000 for CUDA 13.0
} CudaDriver;

extern CudaDriver cudrv;

// dlopen("libcuda.so.1") and resolve every entry point; idempotent. false + err ("libcuda.so.1 not
// found (...)", "libcuda.so.1 has no cuXxx (driver too old?)") when the driver is absent or unusable.
bool cuda_driver_load(LpoiErr *err);
// cuda_driver_load + cuInit(0) + cuDeviceGetCount; never aborts. false + err ("cuInit failed:
// CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)", "no CUDA device") when unusable.
bool cuda_driver_probe(int *device_count, LpoiErr *err);

// "CUDA_ERROR_OUT_OF_MEMORY" / "out of memory"; fall back to our own table when the driver is absent.
const char *cu_error_name(CUresult r);
const char *cu_error_string(CUresult r);
// What the user can do about r (NULL-free: a generic hint when we have nothing specific).
const char *cu_error_hint(CUresult r);

// Prints "lpoi: error: <call> failed: CUDA_ERROR_X (<string>) (at file:line)" and the HINT, exits 1.
_Noreturn void cu_die_at(CUresult r, const char *call, const char *file, int line);

#define cu_check(call)                                                                  \
    do {                                                                                \
        CUresult cu_check_r_ = (call);                                                  \
        if (cu_check_r_ != CUDA_SUCCESS) cu_die_at(cu_check_r_, #call, __FILE__, __LINE__); \
    } while (0)
