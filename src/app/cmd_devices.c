// cmd_devices.c — `lpoi devices [-v]`: which backends this binary can use here, and why not when it can't.
// Prints the CPU backend, the embedded PTX variants, the driver, and per GPU the chosen PTX variant and
// the ops the CUDA backend implements (-v: also the kernels as the driver compiled them: registers and
// local-memory bytes). Always exits 0 on a well-formed command line: "no GPU" is an answer, not an error.
#include "app/commands.h"
#include "backend/backend.h"
#include "backend/cuda/cuda_core.h"
#include <stdio.h>
#include <string.h>

static void print_embedded_ptx(void) {
    if (lpoi_ptx_module_count == 0) {
        printf("  embedded PTX: none (built without nvcc)\n");
        return;
    }
    // Families and variants in table order, each once.
    const char *families[CUDA_MAX_FAMILIES], *variants[8];
    int nf = 0, nv = 0;
    for (int i = 0; i < lpoi_ptx_module_count; i++) {
        const PtxModule *m = &lpoi_ptx_modules[i];
        bool seen = false;
        for (int j = 0; j < nf; j++) seen |= !strcmp(families[j], m->family);
        if (!seen && nf < CUDA_MAX_FAMILIES) families[nf++] = m->family;
        seen = false;
        for (int j = 0; j < nv; j++) seen |= !strcmp(variants[j], m->variant);
        if (!seen && nv < 8) variants[nv++] = m->variant;
    }
    printf("  embedded PTX: %d modules; families:", lpoi_ptx_module_count);
    for (int j = 0; j < nf; j++) printf(" %s", families[j]);
    printf("; variants:");
    for (int j = 0; j < nv; j++) printf(" %s", variants[j]);
    const char *ver = strstr(lpoi_ptx_modules[0].ptx, ".version ");
    char isa[16] = "?";
    if (ver) sscanf(ver + 9, "%15s", isa);
    printf(" (PTX ISA %s)\n", isa);
}

static void print_ops(const Backend *be) {
    int n = 0;
    for (int op = 0; op < OP_COUNT; op++) n += backend_supports(be, (OpId)op);
    printf("      ops: %d of %d", n, (int)OP_COUNT);
    if (n < OP_COUNT) {
        printf("; on the CPU instead:");
        for (int op = 0; op < OP_COUNT; op++)
            if (!backend_supports(be, (OpId)op)) printf(" %s", op_name((OpId)op));
    }
    printf("\n");
}

// Which bf16 tensor-core kernels this GPU runs, and whether the ops use them (LPOI_CUDA_MATH).
static void print_tensor_cores(Backend *gpu) {
    const CudaImpl *c = cuda_impl(gpu);
    const bool mma = cuda_kernel_usable(c, K_GEMM_BF16_NT), wgmma = cuda_kernel_usable(c, K_GEMM_BF16_WGMMA_NT);
    const bool attn = cuda_kernel_usable(c, K_ATTN_FORWARD_BF16_D128);
    printf("      bf16 tensor cores: %s%s%s%s; math %s\n", mma ? "gemm mma.sync" : "none",
           wgmma ? (c->prefer_wgmma ? ", gemm wgmma (preferred)" : ", gemm wgmma (off: LPOI_CUDA_WGMMA=0)") : "",
           attn ? ", attention forward" : "", mma || wgmma ? "" : " (needs sm_80+ and the compute_80 or newer PTX)",
           c->math_bf16 ? "bf16 (LPOI_CUDA_MATH=bf16: GEMMs and attention forward on the tensor cores)"
                        : "fp32 (LPOI_CUDA_MATH=bf16 uses the tensor cores)");
}

int cmd_devices(int argc, char **argv) {
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) verbose = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: lpoi devices [-v]\n"
                   "  Lists the CPU backend and each usable GPU with the PTX variant lpoi loads for it.\n"
                   "  -v  also list every kernel with its registers and local (spill) bytes on that GPU.\n"
                   "  Environment: LPOI_PTX_VARIANT=compute_75|compute_80|compute_90a forces a variant;\n"
                   "  LPOI_CUDA_VERBOSE=1 prints the driver's JIT logs; LPOI_CUDA_SYNC=1 checks every launch;\n"
                   "  LPOI_CUDA_MATH=bf16 runs GEMMs and the attention forward on the bf16 tensor cores (fp32\n"
                   "  accumulation; default fp32); LPOI_CUDA_WGMMA=0 keeps Hopper on the mma.sync GEMM.\n");
            return 0;
        } else {
            fprintf(stderr, "lpoi devices: unknown argument '%s' (usage: lpoi devices [-v])\n", argv[i]);
            return 2;
        }
    }

    Backend *cpu = backend_cpu_create();
    printf("cpu:  %s\n", cpu->device);
    backend_destroy(cpu);

    printf("cuda:\n");
    print_embedded_ptx();
    if (lpoi_ptx_module_count == 0) {
        printf("  unavailable: this lpoi was built without nvcc: no GPU kernels embedded\n");
        return 0;
    }
    int count = 0;
    LpoiErr err = {{0}};
    if (!cuda_driver_probe(&count, &err)) {
        printf("  unavailable: %s\n", err.msg);
        return 0;
    }
    printf("  driver: CUDA %d.%d (libcuda.so.1), %d device%s\n", cudrv.version / 1000, (cudrv.version % 1000) / 10, count,
           count == 1 ? "" : "s");
    for (int d = 0; d < count; d++) {
        LpoiErr why = {{0}};
        Backend *gpu = backend_cuda_create(d, &why);
        if (!gpu) {
            printf("  [%d] unusable: %s\n", d, why.msg);
            continue;
        }
        printf("  [%d] %s\n", d, gpu->device);
        print_ops(gpu);
        print_tensor_cores(gpu);
        if (verbose) cuda_print_kernels(gpu, stdout);
        backend_destroy(gpu);
    }
    return 0;
}
