// cuda_core.c — the CUDA backend's core: device, modules, memory and launches (see cuda_core.h for the
// layers; the ops are in the cuda_<family>.c launchers, the op table in cuda_backend.c).
// cuda_core_open: cuInit → device query → primary context → one stream → for each kernel family, the
// best embedded PTX variant for the device's compute capability, JIT-loaded with cuModuleLoadDataEx
// (logs captured; on failure the log is printed and the portable compute_75 variant is tried) → kernels
// looked up by name → settings from the environment. Every failure before the core exists returns NULL
// with a one-line reason; after that, driver errors are fatal through cu_check.
// Invariants: all copies and launches go to one stream, in program order; download, sum_squares,
// free and synchronize wait for it. Device pointers cross the Backend interface as void*.
#include "backend/cuda/cuda_core.h"
#include "base/check.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------------
// PTX variants

bool cuda_variant_runs_on(const PtxModule *m, int cc) {
    return m->arch_specific ? m->arch == cc : m->arch <= cc;
}

int cuda_variant_choose(const PtxModule *mods, int count, const char *family, int cc, const char *force) {
    int best = -1;
    for (int i = 0; i < count; i++) {
        const PtxModule *m = &mods[i];
        if (strcmp(m->family, family) != 0 || !cuda_variant_runs_on(m, cc)) continue;
        if (force) {
            if (strcmp(m->variant, force) == 0) return i;
            continue;
        }
        if (best < 0 || m->arch > mods[best].arch ||
            (m->arch == mods[best].arch && m->arch_specific && !mods[best].arch_specific))
            best = i;
    }
    return best;
}

int cuda_variant_fallback(const PtxModule *mods, int count, const char *family, int cc, int failed) {
    int low = -1;
    for (int i = 0; i < count; i++) {
        const PtxModule *m = &mods[i];
        if (strcmp(m->family, family) != 0 || m->arch_specific || !cuda_variant_runs_on(m, cc)) continue;
        if (low < 0 || m->arch < mods[low].arch) low = i;
    }
    return low == failed ? -1 : low;
}

// Parses the parameter list of `.entry name(` in ptx into sig letters; false if there is no such entry.
static bool ptx_entry_signature(const char *ptx, const char *name, char *sig, size_t cap) {
    size_t nlen = strlen(name);
    const char *p = ptx;
    for (;;) {
        p = strstr(p, ".entry ");
        if (!p) return false;
        p += 7;
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, name, nlen) == 0 && (p[nlen] == '(' || p[nlen] == ' ' || p[nlen] == '\t' || p[nlen] == '\n')) break;
    }
    p += nlen;
    while (*p && *p != '(') p++;
    if (!*p) return false;
    p++;
    const char *end = strchr(p, ')');
    if (!end) return false;
    size_t k = 0;
    while (p < end) {
        const char *q = strstr(p, ".param");
        if (!q || q >= end) break;
        q += 6;
        // The first type token after .param (skipping .ptr/.align N/.global qualifiers some nvcc emit).
        char letter = '?';
        while (q < end) {
            while (q < end && (*q == ' ' || *q == '\t')) q++;
            if (!strncmp(q, ".u64", 4) || !strncmp(q, ".b64", 4) || !strncmp(q, ".s64", 4)) { letter = 'p'; break; }
            if (!strncmp(q, ".u32", 4) || !strncmp(q, ".b32", 4) || !strncmp(q, ".s32", 4)) { letter = 'i'; break; }
            if (!strncmp(q, ".f32", 4)) { letter = 'f'; break; }
            if (*q != '.') break;           // a name: unknown type (e.g. a by-value struct)
            while (q < end && *q != ' ' && *q != '\t') q++;
        }
        if (k + 1 >= cap) return false;
        sig[k++] = letter;
        p = q;
        const char *comma = strchr(p, ',');
        p = (comma && comma < end) ? comma + 1 : end;
    }
    sig[k] = '\0';
    return true;
}

bool cuda_ptx_check_kernels(const PtxModule *mods, int count, LpoiErr *err) {
    for (int k = 0; k < K_COUNT; k++) {
        const KernelInfo *ki = &cuda_kernels[k];
        int seen = 0;
        for (int i = 0; i < count; i++) {
            if (strcmp(mods[i].family, ki->family) != 0) continue;
            seen++;
            char got[64];
            if (!ptx_entry_signature(mods[i].ptx, ki->name, got, sizeof got))
                return err_set(err, "PTX %s.%s has no kernel %s", mods[i].family, mods[i].variant, ki->name);
            char want[64];
            size_t n = strlen(ki->sig);
            if (n >= sizeof want) return err_set(err, "kernel %s: signature too long", ki->name);
            for (size_t j = 0; j <= n; j++) want[j] = ki->sig[j] == 'u' ? 'p' : ki->sig[j];  // both .u64
            if (strcmp(got, want) != 0)
                return err_set(err, "kernel %s: PTX %s.%s takes (%s), lpoi packs (%s) [p=64-bit, i=32-bit int, f=float]",
                               ki->name, mods[i].family, mods[i].variant, got, want);
        }
        if (!seen) return err_set(err, "kernel %s: no embedded PTX for family '%s' (cu/%s.cu)", ki->name, ki->family, ki->family);
    }
    return true;
}

// ---------------------------------------------------------------------------------------------------
// Context, scratch, launches

static _Thread_local CUcontext tls_current_ctx;

void cuda_enter(CudaImpl *c) {
    if (tls_current_ctx != c->ctx) {
        cu_check(cudrv.cuCtxSetCurrent(c->ctx));
        tls_current_ctx = c->ctx;
    }
}

unsigned cuda_grid_1d(const CudaImpl *c, size_t n) {
    size_t blocks = n / CUDA_BLOCK + (n % CUDA_BLOCK != 0);
    size_t per_sm = (size_t)(c->max_threads_per_sm > 0 ? c->max_threads_per_sm : 1024) / CUDA_BLOCK;
    size_t wave = (size_t)(c->sm_count > 0 ? c->sm_count : 1) * (per_sm ? per_sm : 1);
    if (blocks > wave) blocks = wave;
    return blocks ? (unsigned)blocks : 1u;
}

static void format_bytes(char *buf, size_t cap, size_t bytes) {
    if (bytes >= ((size_t)1 << 30)) snprintf(buf, cap, "%.2f GiB", (double)bytes / (double)(1ull << 30));
    else snprintf(buf, cap, "%.1f MiB", (double)bytes / (double)(1ull << 20));
}

void *cuda_scratch(CudaImpl *c, size_t bytes) {
    if (bytes <= c->scratch_bytes) return c->scratch;
    size_t want = bytes < ((size_t)1 << 20) ? ((size_t)1 << 20) : bytes;
    Backend tmp = {.impl = c};
    if (c->scratch) cuda_free(&tmp, c->scratch);   // waits for the kernels still using it
    c->scratch = NULL;
    c->scratch_bytes = 0;
    c->scratch = cuda_alloc(&tmp, want);
    c->scratch_bytes = want;
    return c->scratch;
}

unsigned cuda_row_grid(const CudaImpl *c, int N) {
    long cap = (long)(c->sm_count > 0 ? c->sm_count : 1) * 32;
    return (unsigned)(N < cap ? N : cap);
}

bool cuda_kernel_usable(const CudaImpl *c, KernelId k) {
    if (!c->fn[k]) return false;
    for (int f = 0; f < c->nfamilies; f++)
        if (strcmp(c->families[f].family, cuda_kernels[k].family) == 0)
            return c->families[f].ptx->arch >= cuda_kernels[k].min_arch;
    return false;
}

void cuda_launch(CudaImpl *c, KernelId k, unsigned gx, unsigned gy, unsigned gz, unsigned block, unsigned smem_bytes,
                 const KArg *args, int nargs) {
    LPOI_ASSERT(k >= 0 && k < K_COUNT);
    const KernelInfo *ki = &cuda_kernels[k];
    if (!c->fn[k])
        LPOI_DIE_HINT("this is a bug in lpoi: an op was installed without its kernel",
                      "cuda: kernel %s (cu/%s.cu) is not loaded", ki->name, ki->family);
    // Argument packing: the types named at the call site must match the kernel's signature.
    void *params[32];
    if ((size_t)nargs != strlen(ki->sig) || nargs > (int)LPOI_ARRAY_LEN(params))
        LPOI_DIE_HINT("this is a bug in lpoi", "cuda: kernel %s takes %zu arguments (%s), launched with %d",
                      ki->name, strlen(ki->sig), ki->sig, nargs);
    for (int i = 0; i < nargs; i++) {
        if (args[i].type != ki->sig[i])
            LPOI_DIE_HINT("this is a bug in lpoi", "cuda: kernel %s argument %d is '%c' (signature %s), launched with '%c'",
                          ki->name, i, ki->sig[i], ki->sig, args[i].type);
        params[i] = (void *)&args[i].v;   // the driver only reads through these
    }
    if (gx < 1 || gx > 0x7fffffffu || gy < 1 || gy > 65535 || gz < 1 || gz > 65535 || block < 1 || block > 1024 ||
        block % 32 != 0)
        LPOI_DIE_HINT("this is a bug in lpoi", "cuda: kernel %s launched with grid %ux%ux%u, block %u", ki->name, gx, gy,
                      gz, block);
    cuda_enter(c);
    CUresult r = cudrv.cuLaunchKernel(c->fn[k], gx, gy, gz, block, 1, 1, smem_bytes, c->stream, params, NULL);
    if (r != CUDA_SUCCESS)
        lpoi_die_at(__FILE__, __LINE__, cu_error_hint(r), "cuLaunchKernel(%s, grid %ux%ux%u, block %u) failed: %s (%s)",
                    ki->name, gx, gy, gz, block, cu_error_name(r), cu_error_string(r));
    if (c->sync_each_launch) {
        r = cudrv.cuStreamSynchronize(c->stream);
        if (r != CUDA_SUCCESS)
            lpoi_die_at(__FILE__, __LINE__, cu_error_hint(r), "kernel %s (grid %ux%ux%u, block %u) failed: %s (%s)",
                        ki->name, gx, gy, gz, block, cu_error_name(r), cu_error_string(r));
    }
}

// ---------------------------------------------------------------------------------------------------
// Memory

static CUdeviceptr dptr(const void *p) { return (CUdeviceptr)(uintptr_t)p; }

void *cuda_alloc(Backend *be, size_t bytes) {
    CudaImpl *c = cuda_impl(be);
    cuda_enter(c);
    CUdeviceptr p = 0;
    CUresult r = cudrv.cuMemAlloc(&p, bytes ? bytes : 1);
    if (r == CUDA_ERROR_OUT_OF_MEMORY) {
        size_t free_b = 0, total_b = 0;
        cudrv.cuMemGetInfo(&free_b, &total_b);
        char want[32], fr[32], tot[32];
        format_bytes(want, sizeof want, bytes);
        format_bytes(fr, sizeof fr, free_b);
        format_bytes(tot, sizeof tot, total_b);
        lpoi_die_at(__FILE__, __LINE__, cu_error_hint(r),
                    "cuda: cannot allocate %s (%zu bytes) on GPU %d (%s): %s of %s free", want, bytes, c->ordinal,
                    c->name, fr, tot);
    }
    if (r != CUDA_SUCCESS) cu_die_at(r, "cuMemAlloc", __FILE__, __LINE__);
    return (void *)(uintptr_t)p;
}

void cuda_free(Backend *be, void *ptr) {
    if (!ptr) return;
    CudaImpl *c = cuda_impl(be);
    cuda_enter(c);
    cu_check(cudrv.cuStreamSynchronize(c->stream));   // no queued kernel may still use it
    cu_check(cudrv.cuMemFree(dptr(ptr)));
}

void cuda_upload(Backend *be, void *dst, const void *host_src, size_t bytes) {
    if (!bytes) return;
    CudaImpl *c = cuda_impl(be);
    cuda_enter(c);
    cu_check(cudrv.cuMemcpyHtoDAsync(dptr(dst), host_src, bytes, c->stream));
    // The caller may reuse host_src at once (it is usually pageable memory); wait until it is read.
    cu_check(cudrv.cuStreamSynchronize(c->stream));
}

void cuda_download(Backend *be, void *host_dst, const void *src, size_t bytes) {
    if (!bytes) return;
    CudaImpl *c = cuda_impl(be);
    cuda_enter(c);
    cu_check(cudrv.cuMemcpyDtoHAsync(host_dst, dptr(src), bytes, c->stream));
    cu_check(cudrv.cuStreamSynchronize(c->stream));
}

void cuda_fill_zero(Backend *be, void *dst, size_t bytes) {
    if (!bytes) return;
    CudaImpl *c = cuda_impl(be);
    cuda_enter(c);
    cu_check(cudrv.cuMemsetD8Async(dptr(dst), 0, bytes, c->stream));
}

bool cuda_mem_info(Backend *be, size_t *free_bytes, size_t *total_bytes) {
    CudaImpl *c = cuda_impl(be);
    cuda_enter(c);
    return cudrv.cuMemGetInfo(free_bytes, total_bytes) == CUDA_SUCCESS;
}

void cuda_synchronize(Backend *be) {
    CudaImpl *c = cuda_impl(be);
    cuda_enter(c);
    cu_check(cudrv.cuStreamSynchronize(c->stream));
}

void cuda_core_close(CudaImpl *c) {
    if (!c) return;
    if (c->ctx) {
        if (cudrv.cuCtxSetCurrent(c->ctx) == CUDA_SUCCESS) {
            if (c->stream) cudrv.cuStreamSynchronize(c->stream);
            if (c->scratch) cudrv.cuMemFree(dptr(c->scratch));
            if (c->rope_inv_freq) cudrv.cuMemFree(dptr(c->rope_inv_freq));
            for (int i = 0; i < c->nfamilies; i++)
                if (c->families[i].module) cudrv.cuModuleUnload(c->families[i].module);
            if (c->stream) cudrv.cuStreamDestroy(c->stream);
        }
        cudrv.cuDevicePrimaryCtxRelease(c->dev);
        tls_current_ctx = NULL;
    }
    free(c);
}

// ---------------------------------------------------------------------------------------------------
// Module loading

static bool env_flag(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

// One JIT attempt. On failure, err gets the result and the first lines of the JIT error log, and the
// whole log goes to stderr.
static bool load_module(const PtxModule *m, CUmodule *out, LpoiErr *err) {
    static char info_log[16384], error_log[16384];
    info_log[0] = error_log[0] = '\0';
    int verbose = env_flag("LPOI_CUDA_VERBOSE");
    CUjit_option opts[] = {CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, CU_JIT_ERROR_LOG_BUFFER,
                           CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_LOG_VERBOSE};
    void *vals[] = {info_log, (void *)(uintptr_t)(sizeof info_log - 1), error_log,
                    (void *)(uintptr_t)(sizeof error_log - 1), (void *)(uintptr_t)verbose};
    CUresult r = cudrv.cuModuleLoadDataEx(out, m->ptx, (unsigned)LPOI_ARRAY_LEN(opts), opts, vals);
    info_log[sizeof info_log - 1] = error_log[sizeof error_log - 1] = '\0';
    if (verbose && info_log[0]) fprintf(stderr, "lpoi: cuda: JIT %s.%s:\n%s\n", m->family, m->variant, info_log);
    if (r == CUDA_SUCCESS) return true;
    *out = NULL;
    fprintf(stderr, "lpoi: cuda: JIT of PTX %s.%s failed: %s (%s)\n", m->family, m->variant, cu_error_name(r),
            cu_error_string(r));
    if (error_log[0]) fprintf(stderr, "---- JIT error log ----\n%s\n-----------------------\n", error_log);
    char first[200] = "";
    sscanf(error_log, "%199[^\n]", first);
    // The PTX ISA version nvcc wrote (".version 9.0") tells which driver it needs.
    const char *ver = strstr(m->ptx, ".version ");
    char isa[16] = "?";
    if (ver) sscanf(ver + 9, "%15s", isa);
    return err_set(err, "cannot load PTX %s.%s (PTX ISA %s, driver CUDA %d.%d): %s%s%s", m->family, m->variant, isa,
                   cudrv.version / 1000, (cudrv.version % 1000) / 10, cu_error_name(r), first[0] ? ": " : "", first);
}

// Loads every family's best variant; on a JIT failure retries with the portable fallback (unless the
// user forced a variant with LPOI_PTX_VARIANT).
static bool load_families(CudaImpl *c, LpoiErr *err) {
    int cc = c->cc_major * 10 + c->cc_minor;
    const char *force = getenv("LPOI_PTX_VARIANT");
    if (force && !*force) force = NULL;
    for (int i = 0; i < lpoi_ptx_module_count; i++) {
        const char *fam = lpoi_ptx_modules[i].family;
        bool known = false;
        for (int j = 0; j < c->nfamilies; j++) known |= strcmp(c->families[j].family, fam) == 0;
        if (known) continue;
        if (c->nfamilies == CUDA_MAX_FAMILIES)
            return err_set(err, "more than %d kernel families embedded; raise CUDA_MAX_FAMILIES", CUDA_MAX_FAMILIES);
        int f = c->nfamilies++;
        c->families[f].family = fam;
        int pick = cuda_variant_choose(lpoi_ptx_modules, lpoi_ptx_module_count, fam, cc, force);
        if (pick < 0) {
            if (force)
                return err_set(err, "LPOI_PTX_VARIANT=%s: no such variant of cu/%s.cu runs on sm_%d%d "
                               "(an 'a' variant runs only on exactly its architecture)", force, fam, c->cc_major, c->cc_minor);
            return err_set(err, "no embedded PTX variant of cu/%s.cu runs on %s (sm_%d%d); the oldest lpoi supports is "
                           "compute_75 (Turing)", fam, c->name, c->cc_major, c->cc_minor);
        }
        LpoiErr why = {{0}};
        if (load_module(&lpoi_ptx_modules[pick], &c->families[f].module, &why)) {
            c->families[f].ptx = &lpoi_ptx_modules[pick];
            continue;
        }
        int fb = force ? -1 : cuda_variant_fallback(lpoi_ptx_modules, lpoi_ptx_module_count, fam, cc, pick);
        if (fb < 0) return err_set(err, "%s", why.msg);
        fprintf(stderr, "lpoi: cuda: falling back to PTX %s.%s (portable) for %s\n", fam, lpoi_ptx_modules[fb].variant,
                c->name);
        if (!load_module(&lpoi_ptx_modules[fb], &c->families[f].module, err)) return false;
        c->families[f].ptx = &lpoi_ptx_modules[fb];
        c->families[f].fell_back = true;
    }
    for (int k = 0; k < K_COUNT; k++) {
        c->fn[k] = NULL;
        for (int f = 0; f < c->nfamilies; f++) {
            if (strcmp(c->families[f].family, cuda_kernels[k].family) != 0) continue;
            CUresult r = cudrv.cuModuleGetFunction(&c->fn[k], c->families[f].module, cuda_kernels[k].name);
            if (r != CUDA_SUCCESS && cuda_kernels[k].min_arch > 0) {   // optional fast path: leave it unusable
                c->fn[k] = NULL;
                continue;
            }
            if (r != CUDA_SUCCESS)
                return err_set(err, "PTX %s.%s has no kernel %s: %s (rebuild: cu/ and the C side disagree)",
                               c->families[f].family, c->families[f].ptx->variant, cuda_kernels[k].name, cu_error_name(r));
            // More than 48 KiB of dynamic shared memory must be asked for per kernel.
            if (cuda_kernels[k].smem > 48 * 1024 && c->families[f].ptx->arch >= cuda_kernels[k].min_arch) {
                r = cudrv.cuFuncSetAttribute(c->fn[k], CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                             (int)cuda_kernels[k].smem);
                if (r != CUDA_SUCCESS) {   // a smaller GPU: the kernel is unusable, the fp32 path remains
                    fprintf(stderr, "lpoi: cuda: %s needs %u bytes of shared memory, which %s refuses (%s); not using it\n",
                            cuda_kernels[k].name, cuda_kernels[k].smem, c->name, cu_error_name(r));
                    c->fn[k] = NULL;
                }
            }
        }
    }
    // The op table installs every op that has a launcher, so every kernel that runs everywhere must be here.
    for (int k = 0; k < K_COUNT; k++)
        if (!c->fn[k] && cuda_kernels[k].min_arch == 0)
            return err_set(err, "kernel %s: no embedded PTX for cu/%s.cu (rebuild with ./nob)", cuda_kernels[k].name,
                           cuda_kernels[k].family);
    return true;
}

void cuda_describe_variants(const CudaImpl *c, char *buf, size_t cap) {
    const char *main_variant = c->nfamilies ? c->families[0].ptx->variant : "none";
    for (int f = 0; f < c->nfamilies; f++)
        if (!c->families[f].fell_back) { main_variant = c->families[f].ptx->variant; break; }
    size_t len = (size_t)snprintf(buf, cap, "%s", main_variant);
    bool open = false;
    for (int f = 0; f < c->nfamilies && len < cap; f++) {
        if (strcmp(c->families[f].ptx->variant, main_variant) == 0) continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s: %s", open ? ", " : " (", c->families[f].family,
                                c->families[f].ptx->variant);
        open = true;
    }
    if (open && len < cap) snprintf(buf + len, cap - len, ")");
}

// ---------------------------------------------------------------------------------------------------
// Creation

CudaImpl *cuda_core_open(int device_index, LpoiErr *err) {
    if (lpoi_ptx_module_count == 0) {
        err_set(err, "this lpoi was built without nvcc: no GPU kernels embedded");
        return NULL;
    }
    int count = 0;
    if (!cuda_driver_probe(&count, err)) return NULL;
    if (device_index < 0 || device_index >= count) {
        err_set(err, "CUDA device %d does not exist (%d visible)", device_index, count);
        return NULL;
    }
    CudaImpl *c = calloc_check(1, sizeof *c);
    c->ordinal = device_index;
    CUresult r;
#define CUDA_TRY_(call)                                                                                 \
    do {                                                                                                \
        if ((r = (call)) != CUDA_SUCCESS) {                                                             \
            err_set(err, "%s failed: %s (%s)", #call, cu_error_name(r), cu_error_string(r));            \
            goto fail;                                                                                  \
        }                                                                                               \
    } while (0)
    CUDA_TRY_(cudrv.cuDeviceGet(&c->dev, device_index));
    CUDA_TRY_(cudrv.cuDeviceGetName(c->name, (int)sizeof c->name - 1, c->dev));
    CUDA_TRY_(cudrv.cuDeviceGetAttribute(&c->cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, c->dev));
    CUDA_TRY_(cudrv.cuDeviceGetAttribute(&c->cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, c->dev));
    CUDA_TRY_(cudrv.cuDeviceGetAttribute(&c->sm_count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, c->dev));
    CUDA_TRY_(cudrv.cuDeviceGetAttribute(&c->max_threads_per_sm, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, c->dev));
    CUDA_TRY_(cudrv.cuDeviceTotalMem(&c->total_mem, c->dev));
    CUDA_TRY_(cudrv.cuDevicePrimaryCtxRetain(&c->ctx, c->dev));
    CUDA_TRY_(cudrv.cuCtxSetCurrent(c->ctx));
    tls_current_ctx = c->ctx;
    CUDA_TRY_(cudrv.cuStreamCreate(&c->stream, 0));
#undef CUDA_TRY_
    if (!load_families(c, err)) goto fail;
    c->sync_each_launch = env_flag("LPOI_CUDA_SYNC");
    const char *wg = getenv("LPOI_CUDA_WGMMA");   // the Hopper GEMM where it runs, unless set to 0
    c->prefer_wgmma = !wg || !*wg || strcmp(wg, "0") != 0;
    const char *math = getenv("LPOI_CUDA_MATH");
    if (math && *math && strcmp(math, "fp32") != 0 && strcmp(math, "bf16") != 0) {
        err_set(err, "LPOI_CUDA_MATH=%s: expected fp32 (the default) or bf16", math);
        goto fail;
    }
    c->math_bf16 = math && strcmp(math, "bf16") == 0;

    const char *pair = getenv("LPOI_ATTN_BF16_PAIR");
    c->attn_bf16_pair = pair && pair[0] == '1';
    return c;

fail:
    cuda_core_close(c);
    return NULL;
}

// ---------------------------------------------------------------------------------------------------
// Reporting

void cuda_print_kernels(Backend *be, FILE *f) {
    CudaImpl *c = cuda_impl(be);
    cuda_enter(c);
    fprintf(f, "      %-36s %-12s %-12s %5s %7s %6s\n", "kernel", "family", "variant", "regs", "local_B", "max_tpb");
    for (int k = 0; k < K_COUNT; k++) {
        const KernelInfo *ki = &cuda_kernels[k];
        if (!c->fn[k]) {
            fprintf(f, "      %-36s %-12s (not embedded)\n", ki->name, ki->family);
            continue;
        }
        const char *variant = "?";
        for (int i = 0; i < c->nfamilies; i++)
            if (strcmp(c->families[i].family, ki->family) == 0) variant = c->families[i].ptx->variant;
        int regs = -1, local = -1, maxt = -1;
        cudrv.cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, c->fn[k]);
        cudrv.cuFuncGetAttribute(&local, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, c->fn[k]);
        cudrv.cuFuncGetAttribute(&maxt, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, c->fn[k]);
        fprintf(f, "      %-36s %-12s %-12s %5d %7d %6d\n", ki->name, ki->family, variant, regs, local, maxt);
    }
}
