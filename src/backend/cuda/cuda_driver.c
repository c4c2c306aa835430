// cuda_driver.c — dlopen("libcuda.so.1"), resolve the entry points of cuda_driver.h, and turn CUresults
// into messages a user can act on. Nothing here aborts except cu_die_at (the cu_check path): loading
// and probing return an LpoiErr so that `--device auto` can fall back to the CPU with one line.
#include "backend/cuda/cuda_driver.h"
#include "base/check.h"
#include <dlfcn.h>
#include <string.h>

CudaDriver cudrv;

static bool driver_load_failed;
static char driver_load_error[256];

bool cuda_driver_load(LpoiErr *err) {
    if (cudrv.lib) return true;
    if (driver_load_failed) return err_set(err, "%s", driver_load_error);
    CudaDriver d = {0};
    d.lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!d.lib) {
        const char *why = dlerror();
        snprintf(driver_load_error, sizeof driver_load_error, "libcuda.so.1 not found (%s)",
                 why ? why : "dlopen failed");
        driver_load_failed = true;
        return err_set(err, "%s", driver_load_error);
    }
    // dlsym returns void*; POSIX guarantees it holds a function pointer, memcpy keeps ISO C quiet.
#define CUDA_DRIVER_RESOLVE_(ret, name, sym, params)                                             \
    {                                                                                              \
        void *sym_ = dlsym(d.lib, sym);                                                            \
        memcpy(&d.name, &sym_, sizeof sym_);                                                       \
    }                                                                                              \
    if (!d.name) {                                                                                 \
        snprintf(driver_load_error, sizeof driver_load_error,                                      \
                 "libcuda.so.1 has no %s (driver too old?)", sym);                                 \
        dlclose(d.lib);                                                                            \
        driver_load_failed = true;                                                                 \
        return err_set(err, "%s", driver_load_error);                                              \
    }
    CUDA_DRIVER_FUNCTIONS(CUDA_DRIVER_RESOLVE_)
#undef CUDA_DRIVER_RESOLVE_
    int version = 0;
    if (d.cuDriverGetVersion(&version) != CUDA_SUCCESS) version = 0;
    d.version = version;
    cudrv = d;
    return true;
}

bool cuda_driver_probe(int *device_count, LpoiErr *err) {
    *device_count = 0;
    if (!cuda_driver_load(err)) return false;
    CUresult r = cudrv.cuInit(0);
    if (r != CUDA_SUCCESS)
        return err_set(err, "cuInit failed: %s (%s)", cu_error_name(r), cu_error_string(r));
    int count = 0;
    r = cudrv.cuDeviceGetCount(&count);
    if (r != CUDA_SUCCESS)
        return err_set(err, "cuDeviceGetCount failed: %s (%s)", cu_error_name(r), cu_error_string(r));
    if (count <= 0) return err_set(err, "no CUDA device");
    *device_count = count;
    return true;
}

// Our own names for the codes we handle, used when libcuda is absent or does not know a code.
static const struct { CUresult code; const char *name, *text; } KNOWN_ERRORS[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_DEINITIALIZED, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
    {CUDA_ERROR_STUB_LIBRARY, "CUDA_ERROR_STUB_LIBRARY", "CUDA driver is a stub library"},
    {CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER, "CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER", "call requires newer driver"},
    {CUDA_ERROR_DEVICE_UNAVAILABLE, "CUDA_ERROR_DEVICE_UNAVAILABLE", "CUDA-capable device(s) is/are busy or unavailable"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_NO_BINARY_FOR_GPU, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
    {CUDA_ERROR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {CUDA_ERROR_JIT_COMPILER_NOT_FOUND, "CUDA_ERROR_JIT_COMPILER_NOT_FOUND", "PTX JIT compiler library not found"},
    {CUDA_ERROR_UNSUPPORTED_PTX_VERSION, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain"},
    {CUDA_ERROR_JIT_COMPILATION_DISABLED, "CUDA_ERROR_JIT_COMPILATION_DISABLED", "PTX JIT compilation was disabled"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {CUDA_ERROR_LAUNCH_TIMEOUT, "CUDA_ERROR_LAUNCH_TIMEOUT", "the launch timed out and was terminated"},
    {CUDA_ERROR_ILLEGAL_INSTRUCTION, "CUDA_ERROR_ILLEGAL_INSTRUCTION", "an illegal instruction was encountered"},
    {CUDA_ERROR_MISALIGNED_ADDRESS, "CUDA_ERROR_MISALIGNED_ADDRESS", "misaligned address"},
    {CUDA_ERROR_INVALID_ADDRESS_SPACE, "CUDA_ERROR_INVALID_ADDRESS_SPACE", "operation not supported on global/shared address space"},
    {CUDA_ERROR_INVALID_PC, "CUDA_ERROR_INVALID_PC", "invalid program counter"},
    {CUDA_ERROR_LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {CUDA_ERROR_SYSTEM_NOT_READY, "CUDA_ERROR_SYSTEM_NOT_READY", "system not yet initialized"},
    {CUDA_ERROR_SYSTEM_DRIVER_MISMATCH, "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", "system has unsupported display driver / cuda driver combination"},
    {CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE, "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE", "forward compatibility was attempted on non supported HW"},
    {CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

static int known_error_index(CUresult r) {
    for (size_t i = 0; i < LPOI_ARRAY_LEN(KNOWN_ERRORS); i++)
        if (KNOWN_ERRORS[i].code == r) return (int)i;
    return -1;
}

const char *cu_error_name(CUresult r) {
    const char *s = NULL;
    if (cudrv.cuGetErrorName && cudrv.cuGetErrorName(r, &s) == CUDA_SUCCESS && s) return s;
    int i = known_error_index(r);
    return i >= 0 ? KNOWN_ERRORS[i].name : "CUDA_ERROR_(unknown code)";
}

const char *cu_error_string(CUresult r) {
    const char *s = NULL;
    if (cudrv.cuGetErrorString && cudrv.cuGetErrorString(r, &s) == CUDA_SUCCESS && s) return s;
    int i = known_error_index(r);
    return i >= 0 ? KNOWN_ERRORS[i].text : "unrecognised CUresult";
}

const char *cu_error_hint(CUresult r) {
    switch (r) {
    case CUDA_ERROR_OUT_OF_MEMORY:
        return "the GPU is out of memory: lower the batch size or sequence length, or free the GPU "
               "(nvidia-smi lists the processes holding it); --device cpu always works";
    case CUDA_ERROR_NO_DEVICE:
    case CUDA_ERROR_INVALID_DEVICE:
        return "no usable CUDA GPU is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES, or run with --device cpu";
    case CUDA_ERROR_DEVICE_UNAVAILABLE:
        return "the GPU is busy or in exclusive-process mode with another process on it; free it or use --device cpu";
    case CUDA_ERROR_STUB_LIBRARY:
        return "the libcuda.so.1 found is the toolkit's stub, not the driver: remove the stubs folder from LD_LIBRARY_PATH";
    case CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER:
    case CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
    case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH:
    case CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE:
        return "the NVIDIA driver is older than the CUDA toolkit (nvcc) that built lpoi's PTX: update the driver, "
               "or rebuild lpoi with an nvcc no newer than the driver's CUDA version (`lpoi devices` prints both)";
    case CUDA_ERROR_INVALID_PTX:
    case CUDA_ERROR_INVALID_IMAGE:
    case CUDA_ERROR_NO_BINARY_FOR_GPU:
    case CUDA_ERROR_JIT_COMPILER_NOT_FOUND:
    case CUDA_ERROR_JIT_COMPILATION_DISABLED:
        return "the driver could not JIT-compile lpoi's embedded PTX for this GPU; try LPOI_PTX_VARIANT=compute_75 "
               "and see PORTING.md";
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_LAUNCH_FAILED:
        return "a kernel faulted; this is a bug in lpoi. Errors surface at a later call: rerun with LPOI_CUDA_SYNC=1 "
               "to name the launch, and under compute-sanitizer to find the access";
    case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES:
        return "a kernel was launched with more threads, registers or shared memory than the GPU allows; "
               "this is a bug in lpoi (report the GPU and `lpoi devices`)";
    case CUDA_ERROR_LAUNCH_TIMEOUT:
        return "a kernel ran longer than the display watchdog allows: use a GPU without a display attached";
    default:
        return "rerun with LPOI_CUDA_SYNC=1 to report errors at the launch that caused them; `lpoi devices` "
               "shows the driver and GPU; --device cpu always works";
    }
}

_Noreturn void cu_die_at(CUresult r, const char *call, const char *file, int line) {
    lpoi_die_at(file, line, cu_error_hint(r), "%s failed: %s (%s)", call, cu_error_name(r), cu_error_string(r));
}
