// cuda_backend.c — backend_cuda_create: the core (device, modules, memory; cuda_core.c) plus the op
// table, generated from backend/ops.h. The top of the CUDA backend's layers: nothing calls back up here.
//
// Ops are referenced weakly (a GCC/Clang extension; lpoi links its objects directly, not through an
// archive, so a defined cuda_<name> is always linked in): an op that has no CUDA implementation yet
// links anyway, its slot stays NULL, and backend_supports() reports it, so callers skip or fall back to
// the CPU. The CPU backend, which must be complete, references its ops strongly instead.
#include "backend/cuda/cuda_core.h"
#include "base/check.h"
#include <stdlib.h>
#include <string.h>

#define OP(ID, name, ret, params) extern ret cuda_##name params __attribute__((weak));
#include "backend/ops.h"

static void cuda_destroy(Backend *be) {
    cuda_core_close(cuda_impl(be));
    free(be);
}

Backend *backend_cuda_create(int device_index, LpoiErr *err) {
    CudaImpl *c = cuda_core_open(device_index, err);
    if (!c) return NULL;
    Backend *be = malloc_check(sizeof *be);
    *be = (Backend){.name = "cuda", .impl = c, .alloc = cuda_alloc, .free = cuda_free, .upload = cuda_upload,
                    .download = cuda_download, .fill_zero = cuda_fill_zero, .synchronize = cuda_synchronize,
                    .mem_info = cuda_mem_info, .destroy = cuda_destroy};
    char variants[96];
    cuda_describe_variants(c, variants, sizeof variants);
    int len = snprintf(be->device, sizeof be->device, "%s (sm_%d%d, %d SMs, %.1f GiB), PTX %s", c->name, c->cc_major,
                       c->cc_minor, c->sm_count, (double)c->total_mem / (double)(1ull << 30), variants);
    if (len >= (int)sizeof be->device) memcpy(be->device + sizeof be->device - 4, "...", 4);   // display only
    // Every kernel that runs in all PTX variants is loaded (cuda_core_open checks), so an op is available
    // exactly when it has an implementation.
#define OP(ID, name, ret, params) be->name = cuda_##name;
#include "backend/ops.h"

    static bool announced;
    if (!announced) {
        fprintf(stderr, "lpoi: cuda: %s\n", be->device);
        announced = true;
    }
    return be;
}
