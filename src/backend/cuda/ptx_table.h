// ptx_table.h — the PTX that nob compiled from cu/*.cu and embedded in the binary.
// nob writes build/<cfg>/gen/ptx_embedded.c defining these two symbols: one entry per
// (kernel family, variant). Variants: "compute_75" (portable: JIT-compiles on any newer GPU),
// "compute_80" (mma.sync, ldmatrix, cp.async) and "compute_90a" (Hopper-only: wgmma, TMA).
// Without nvcc at build time the table is empty and lpoi runs CPU-only.
#pragma once
#include <stddef.h>

typedef struct {
    const char *family;     // "elementwise" for cu/elementwise.cu
    const char *variant;    // "compute_75", "compute_80", "compute_90a"
    int arch;               // 75, 80, 90 (the 'a' variants run only on exactly that major.minor)
    int arch_specific;      // 1 for "...a" variants
    const char *ptx;        // NUL-terminated PTX text
    size_t size;            // strlen(ptx)
} PtxModule;

extern const PtxModule lpoi_ptx_modules[];
extern const int lpoi_ptx_module_count;
