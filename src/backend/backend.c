// backend.c — op names, capability query, and choosing a backend.
#include "backend.h"
#include "base/check.h"
#include <string.h>

static const char *const OP_NAMES[OP_COUNT] = {
#define OP(ID, name, ret, params) [OP_##ID] = #name,
#include "backend/ops.h"
};

const char *op_name(OpId op) { return (op >= 0 && op < OP_COUNT) ? OP_NAMES[op] : "?"; }

bool backend_supports(const Backend *be, OpId op) {
    switch (op) {
#define OP(ID, name, ret, params) case OP_##ID: return be->name != NULL;
#include "backend/ops.h"
    case OP_COUNT: break;
    }
    return false;
}

Backend *backend_open(const char *name, LpoiErr *err) {
    if (!name || !strcmp(name, "cpu")) return backend_cpu_create();
    if (!strcmp(name, "cuda")) {
        Backend *be = backend_cuda_create(0, err);
        if (!be && err && strstr(err->msg, "libcuda.so.1 not found")) err_prefix(err, "no NVIDIA driver (use --device cpu or auto)");
        return be;
    }
    if (!strcmp(name, "auto")) {
        LpoiErr why = {{0}};
        Backend *be = backend_cuda_create(0, &why);
        if (be) return be;
        fprintf(stderr, "lpoi: device auto: using the CPU (%s%s)\n",
                strstr(why.msg, "libcuda.so.1 not found") ? "no NVIDIA driver: " : "no usable GPU: ", why.msg);
        return backend_cpu_create();
    }
    err_set(err, "unknown device '%s' (expected cpu, cuda or auto)", name);
    return NULL;
}

void backend_destroy(Backend *be) {
    if (be && be->destroy) be->destroy(be);
}
