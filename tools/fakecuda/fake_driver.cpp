// fake_driver.cpp — a fake libcuda.so.1: the driver calls lpoi uses, with kernels from cu/*.cu run on the
// CPU (one ucontext coroutine per GPU thread; __syncthreads and warp shuffles are scheduler barriers).
// Checks: device pointers passed to kernels/copies lie in live allocations, grid/block limits, the
// PTX .target runs on the fake device, the kernel exists in the module's PTX text.
#include "fake_cuda.h"
#include <ucontext.h>
#include <setjmp.h>
#include <dlfcn.h>
#include <sys/mman.h>
#include <time.h>
#include <map>
#include <vector>
#include <string>
#include <utility>
#include <type_traits>
#include <cstddef>

fk_dim3 fk_threadIdx, fk_blockIdx, fk_blockDim, fk_gridDim;
uint64_t fk_warpbuf[32][32];
unsigned fk_warpregs[32][32][8];
unsigned char *fk_dynamic_smem;

#include "cu/elementwise.cu"
#include "cu/adamw.cu"
#include "cu/norm.cu"
#include "cu/gemm.cu"
#include "cu/embedding.cu"
#include "cu/softmax.cu"
#include "cu/rope.cu"
#include "cu/logprob.cu"
#include "cu/attention.cu"
#include "cu/convert.cu"
#include "cu/gemm_mma.cu"
#include "cu/attention_mma.cu"
#include "cu/attention_mma_bwd.cu"
#include "cu/gemm_wgmma.cu"   // compiled for its name and signature only: see emulated() below
#include "cu/msda.cu"
#include "cu/groupnorm.cu"
#include "cu/window_attention.cu"

typedef int CUresult;
enum { OK = 0, INVALID_VALUE = 1, OOM = 2, NO_DEVICE = 100, INVALID_DEVICE = 101, INVALID_PTX = 218, NOT_FOUND = 500,
       OUT_OF_RESOURCES = 701, LAUNCH_FAILED = 719 };

// ---------------- device memory ----------------
static std::map<uintptr_t, size_t> allocs;
static size_t used, limit = (size_t)1 << 30;
static bool in_alloc(uintptr_t p, size_t bytes) {
    auto it = allocs.upper_bound(p);
    if (it == allocs.begin()) return false;
    --it;
    return p >= it->first && p + bytes <= it->first + it->second;
}
static void fail(const char *what) { fprintf(stderr, "FAKECUDA: %s\n", what); }

// ---------------- kernels ----------------
struct Kernel {
    const char *name;
    void *fn;
    void (*call)(void *fn, void **params);
    std::vector<std::pair<bool, size_t>> params;   // (is pointer, size)
    unsigned maxntid;                              // from the PTX's .maxntid (__launch_bounds__); 1024 if none
    unsigned dyn_smem_limit;                       // 48 KiB unless raised by cuFuncSetAttribute
};
template <typename... A, size_t... I>
static void call_impl(void (*f)(A...), void **p, std::index_sequence<I...>) { f(*(std::remove_reference_t<A> *)p[I]...); }
template <typename... A> static void call_any(void *fn, void **p) { call_impl((void (*)(A...))fn, p, std::index_sequence_for<A...>{}); }
template <typename... A> static Kernel make_kernel(const char *name, void (*f)(A...)) {
    return Kernel{name, (void *)f, &call_any<A...>, {std::make_pair(std::is_pointer<A>::value, sizeof(A))...}, 1024, 48 * 1024};
}
// wgmma is not emulated (it reads shared memory through descriptors): kernels that need sm_90 are left out
// of the registry, so cuModuleGetFunction reports them missing and the backend leaves that path unused.
static bool emulated(int min_arch) { return min_arch < 90; }
// Every kernel of the backend's kernel table, by name (the table is the one list; a new family needs only
// its #include above).
static std::vector<Kernel> kernels = [] {
    std::vector<Kernel> ks;
#define KERNEL(ID, family, name, sig, smem, min_arch) \
    if (emulated(min_arch)) ks.push_back(make_kernel(#name, name));
#include "src/backend/cuda/cuda_kernel_list.h"
    return ks;
}();

// ---------------- scheduler ----------------
enum { RUNNABLE, WAIT_BLOCK, WAIT_WARP, DONE };
// Switching: a thread starts on its own stack through makecontext/setcontext; after that every switch
// (a barrier and its resumption) is a _setjmp/_longjmp pair, which unlike swapcontext makes no
// sigprocmask system call (the emulated barriers dominate the run time of the CUDA tests). _longjmp
// between stacks is fine for glibc's unchecked variant (fake_cuda.h turns _FORTIFY_SOURCE off, whose
// __longjmp_chk would reject it). When the process runs under AddressSanitizer (its runtime is
// loaded) or FAKECUDA_SWAPCONTEXT is set, every switch uses swapcontext, which ASan understands.
// Stacks are mmapped with a PROT_NONE guard page below them: a kernel that overflows its 64 KiB of
// emulated thread stack faults instead of corrupting a neighbour.
struct Coro { ucontext_t ctx; jmp_buf jb; int state; bool started; unsigned tid; char *stack; };
static std::vector<Coro> coros;
static ucontext_t sched_ctx;
static jmp_buf sched_jb;
static Coro *cur;
static Kernel *cur_kernel;
static void **cur_params;
static const size_t STACK = 64 * 1024, GUARD_PAGE = 4096;
static bool use_swapcontext() {
    static int v = -1;
    if (v < 0) v = getenv("FAKECUDA_SWAPCONTEXT") || dlsym(RTLD_DEFAULT, "__asan_init") ? 1 : 0;
    return v;
}
static char *stack_new() {
    void *m = mmap(NULL, STACK + GUARD_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { fprintf(stderr, "FAKECUDA: cannot map a thread stack\n"); abort(); }
    mprotect(m, GUARD_PAGE, PROT_NONE);   // stacks grow down: the guard sits below
    return (char *)m + GUARD_PAGE;
}
static void coro_entry() {
    cur_kernel->call(cur_kernel->fn, cur_params);
    cur->state = DONE;
    if (!use_swapcontext()) _longjmp(sched_jb, 1);   // otherwise returns through uc_link
}
static void fk_yield(int state) {
    cur->state = state;
    if (use_swapcontext()) swapcontext(&cur->ctx, &sched_ctx);
    else if (!_setjmp(cur->jb)) _longjmp(sched_jb, 1);
}
void fk_syncthreads(void) { fk_yield(WAIT_BLOCK); }
void fk_warp_barrier(void) { fk_yield(WAIT_WARP); }
long long fk_blocks_run, fk_threads_run;

static bool run_block(unsigned nthreads) {
    if (coros.size() < nthreads) {
        size_t old = coros.size();
        coros.resize(nthreads);
        for (size_t i = old; i < nthreads; i++) coros[i].stack = stack_new();
    }
    for (unsigned t = 0; t < nthreads; t++) {
        Coro &c = coros[t];
        getcontext(&c.ctx);
        c.ctx.uc_stack.ss_sp = c.stack;
        c.ctx.uc_stack.ss_size = STACK;
        c.ctx.uc_link = &sched_ctx;
        makecontext(&c.ctx, coro_entry, 0);
        c.state = RUNNABLE;
        c.started = false;
        c.tid = t;
    }
    fk_blocks_run++; fk_threads_run += nthreads;
    // FAKECUDA_SCHED: rr (round-robin, lockstep-ish), greedy (each warp runs as far as it can before the
    // next: exposes missing __syncthreads), reverse (greedy, last warp first).
    static int policy = -1;
    if (policy < 0) { const char *s = getenv("FAKECUDA_SCHED"); policy = !s ? 0 : !strcmp(s, "greedy") ? 1 : !strcmp(s, "reverse") ? 2 : 0; }
    unsigned nwarps = (nthreads + 31) / 32;
    auto run_thread = [&](unsigned t) {
        cur = &coros[t];
        fk_threadIdx = fk_dim3{t % fk_blockDim.x, (t / fk_blockDim.x) % fk_blockDim.y, t / (fk_blockDim.x * fk_blockDim.y)};
if (use_swapcontext()) swapcontext(&sched_ctx, &cur->ctx);
        else if (!_setjmp(sched_jb)) {
            if (!cur->started) { cur->started = true; setcontext(&cur->ctx); }
            _longjmp(cur->jb, 1);
        }
    };
    for (;;) {
        bool ran = false;
        if (policy == 0) {
            for (unsigned t = 0; t < nthreads; t++) if (coros[t].state == RUNNABLE) { run_thread(t); ran = true; }
        } else {
            for (unsigned wi = 0; wi < nwarps; wi++) {
                unsigned w = policy == 2 ? nwarps - 1 - wi : wi;
                unsigned lo = w * 32, hi = lo + 32 < nthreads ? lo + 32 : nthreads;
                for (;;) {
                    bool any = false;
                    for (unsigned t = lo; t < hi; t++) if (coros[t].state == RUNNABLE) { run_thread(t); any = ran = true; }
                    unsigned waiting = 0;
                    for (unsigned t = lo; t < hi; t++) waiting += coros[t].state == WAIT_WARP;
                    if (waiting && waiting == hi - lo) { for (unsigned t = lo; t < hi; t++) coros[t].state = RUNNABLE; continue; }
                    if (!any) break;
                }
            }
        }
        unsigned done = 0, wb = 0;
        for (unsigned t = 0; t < nthreads; t++) { done += coros[t].state == DONE; wb += coros[t].state == WAIT_BLOCK; }
        if (done == nthreads) return true;
        bool released = false;
        for (unsigned w = 0; w * 32 < nthreads; w++) {
            unsigned lo = w * 32, hi = lo + 32 < nthreads ? lo + 32 : nthreads, waiting = 0;
            for (unsigned t = lo; t < hi; t++) waiting += coros[t].state == WAIT_WARP;
            if (waiting == 0) continue;
            if (waiting == hi - lo) { for (unsigned t = lo; t < hi; t++) coros[t].state = RUNNABLE; released = true; }
            else {
                bool others_blocked = true;
                for (unsigned t = lo; t < hi; t++) others_blocked &= coros[t].state != RUNNABLE;
                if (others_blocked) { fail("warp shuffle with lanes missing (divergent or exited lanes under a full mask)"); return false; }
            }
        }
        if (!released && wb > 0) {
            if (wb + done == nthreads && done > 0) { fail("__syncthreads reached after some threads exited (divergent barrier)"); return false; }
            if (wb == nthreads) { for (unsigned t = 0; t < nthreads; t++) coros[t].state = RUNNABLE; released = true; }
        }
        if (!ran && !released) { fail("deadlock: threads wait at different barriers"); return false; }
    }
}

// ---------------- driver API ----------------
static int fake_cc() { const char *s = getenv("FAKECUDA_CC"); return s ? atoi(s) : 90; }
struct Module { std::string ptx; };
static int ctx_refs; static int current_set;
extern "C" {
CUresult cuGetErrorName(CUresult e, const char **s) {
    switch (e) { case OK: *s = "CUDA_SUCCESS"; return OK; case OOM: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return OK;
    case NO_DEVICE: *s = "CUDA_ERROR_NO_DEVICE"; return OK; case INVALID_PTX: *s = "CUDA_ERROR_INVALID_PTX"; return OK;
    case INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; return OK; case NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; return OK;
    case LAUNCH_FAILED: *s = "CUDA_ERROR_LAUNCH_FAILED"; return OK;
    case OUT_OF_RESOURCES: *s = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"; return OK; }
    *s = NULL; return INVALID_VALUE; }
CUresult cuGetErrorString(CUresult e, const char **s) { *s = e == OK ? "no error" : "fake error"; return OK; }
CUresult cuInit(unsigned) { return getenv("FAKECUDA_NO_DEVICE") ? NO_DEVICE : OK; }
CUresult cuDriverGetVersion(int *v) { *v = 13000; return OK; }
CUresult cuDeviceGetCount(int *n) { *n = 1; return OK; }
CUresult cuDeviceGet(int *d, int ord) { if (ord != 0) return INVALID_DEVICE; *d = 0; return OK; }
CUresult cuDeviceGetName(char *name, int len, int) { snprintf(name, (size_t)len, "Fake GPU (lpoi emulator)"); return OK; }
CUresult cuDeviceGetAttribute(int *v, int attr, int) {
    switch (attr) { case 75: *v = fake_cc() / 10; return OK; case 76: *v = fake_cc() % 10; return OK;
    case 16: *v = 2; return OK; case 39: *v = 2048; return OK; case 1: *v = 1024; return OK;
    // clock (kHz), memory clock (kHz), bus width (bits), L2 bytes: what bench_cuda prints and sizes its L2 flush by
    case 13: *v = 1000000; return OK; case 36: *v = 1000000; return OK; case 37: *v = 64; return OK; case 38: *v = 1 << 20; return OK; }
    *v = 0; return OK; }
CUresult cuDeviceTotalMem_v2(size_t *b, int) { *b = limit; return OK; }
CUresult cuDevicePrimaryCtxRetain(void **ctx, int) { ctx_refs++; *ctx = (void *)0x1234; return OK; }
CUresult cuDevicePrimaryCtxRelease_v2(int) { if (ctx_refs <= 0) { fail("primary ctx over-released"); return INVALID_VALUE; } ctx_refs--; return OK; }
CUresult cuCtxSetCurrent(void *ctx) { current_set = ctx != NULL; return OK; }
CUresult cuCtxSynchronize(void) { return OK; }
CUresult cuModuleLoadDataEx(void **mod, const void *image, unsigned n, int *opts, void **vals) {
    if (!ctx_refs || !current_set) { fail("module load without a current context"); return INVALID_VALUE; }
    const char *ptx = (const char *)image;
    const char *t = strstr(ptx, ".target sm_");
    if (!t) return INVALID_PTX;
    int arch = atoi(t + 11); bool a = t[11 + (arch >= 100 ? 3 : 2)] == 'a';
    char *errlog = NULL; size_t errsz = 0; char *infolog = NULL; size_t infosz = 0;
    for (unsigned i = 0; i < n; i++) {
        if (opts[i] == 5) errlog = (char *)vals[i]; if (opts[i] == 6) errsz = (size_t)vals[i];
        if (opts[i] == 3) infolog = (char *)vals[i]; if (opts[i] == 4) infosz = (size_t)vals[i];
    }
    const char *forced = getenv("FAKECUDA_FAIL_TARGET");
    char target[16]; snprintf(target, sizeof target, "sm_%d%s", arch, a ? "a" : "");
    bool bad = (a ? arch != fake_cc() : arch > fake_cc()) || (forced && !strcmp(forced, target));
    if (bad) {
        if (errlog && errsz) snprintf(errlog, errsz, "ptxas fatal   : (fake) cannot compile %s for sm_%d\nsecond line", target, fake_cc());
        return INVALID_PTX;
    }
    if (infolog && infosz) snprintf(infolog, infosz, "fake JIT: %s ok", target);
    *mod = new Module{ptx};
    return OK;
}
CUresult cuModuleUnload(void *m) { delete (Module *)m; return OK; }
CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
    const std::string &ptx = ((Module *)m)->ptx;
    std::string pat = std::string(".entry ") + name + "(";
    size_t at = ptx.find(pat);
    if (at == std::string::npos) return NOT_FOUND;
    for (auto &k : kernels) if (!strcmp(k.name, name)) {
        // __launch_bounds__ becomes ".maxntid X, Y, Z" between the parameter list and the body: a real
        // launch with more threads per block fails, so the fake's does too.
        size_t body = ptx.find('{', at), mx = ptx.find(".maxntid", at);
        k.maxntid = 1024;
        if (mx != std::string::npos && mx < body) {
            unsigned x = 1, y = 1, z = 1;
            sscanf(ptx.c_str() + mx + 8, " %u , %u , %u", &x, &y, &z);
            k.maxntid = x * y * z;
        }
        *f = &k;
        return OK;
    }
    // Kernels the emulator cannot run (wgmma) are reported missing; lpoi then leaves that optional path unused.
    if (strcmp(name, "gemm_bf16_wgmma_nt") != 0) fprintf(stderr, "FAKECUDA: kernel %s is in the PTX but not registered in the fake\n", name);
    return NOT_FOUND;
}
CUresult cuFuncSetAttribute(void *f, int attr, int v) {
    if (attr != 8 || v < 0 || v > 227 * 1024) { fail("cuFuncSetAttribute: unsupported attribute or value"); return INVALID_VALUE; }
    ((Kernel *)f)->dyn_smem_limit = (unsigned)v; return OK; }
CUresult cuFuncGetAttribute(int *v, int attr, void *f) { *v = attr == 0 ? (int)((Kernel *)f)->maxntid : attr == 4 ? 32 : 0; return OK; }
CUresult cuMemGetInfo_v2(size_t *f, size_t *t) { *f = limit - used; *t = limit; return OK; }
CUresult cuMemAlloc_v2(unsigned long long *p, size_t bytes) {
    if (bytes == 0) return INVALID_VALUE;
    if (used + bytes > limit) return OOM;
    void *m = aligned_alloc(256, (bytes + 255) / 256 * 256);
    memset(m, 0xFF, bytes);   // uninitialised device memory reads as NaN
    allocs[(uintptr_t)m] = bytes; used += bytes; *p = (uintptr_t)m; return OK;
}
CUresult cuMemFree_v2(unsigned long long p) {
    auto it = allocs.find((uintptr_t)p);
    if (it == allocs.end()) { fail("cuMemFree of a non-allocation"); return INVALID_VALUE; }
    used -= it->second; allocs.erase(it); free((void *)p); return OK;
}
CUresult cuMemcpyHtoDAsync_v2(unsigned long long d, const void *h, size_t n, void *) {
    if (!in_alloc(d, n)) { fail("HtoD out of bounds"); return INVALID_VALUE; } memcpy((void *)d, h, n); return OK; }
CUresult cuMemcpyDtoHAsync_v2(void *h, unsigned long long d, size_t n, void *) {
    if (!in_alloc(d, n)) { fail("DtoH out of bounds"); return INVALID_VALUE; } memcpy(h, (void *)d, n); return OK; }
CUresult cuMemsetD8Async(unsigned long long d, unsigned char v, size_t n, void *) {
    if (!in_alloc(d, n)) { fail("memset out of bounds"); return INVALID_VALUE; } memset((void *)d, v, n); return OK; }
CUresult cuMemcpyDtoDAsync_v2(unsigned long long d, unsigned long long src, size_t n, void *) {
    if (!in_alloc(d, n) || !in_alloc(src, n)) { fail("DtoD out of bounds"); return INVALID_VALUE; } memmove((void *)d, (void *)src, n); return OK; }
CUresult cuMemsetD32Async(unsigned long long d, unsigned v, size_t n, void *) {
    if (d % 4 || !in_alloc(d, n * 4)) { fail("memsetD32 out of bounds or misaligned"); return INVALID_VALUE; }
    for (size_t i = 0; i < n; i++) memcpy((char *)d + 4 * i, &v, 4);
    return OK; }
// Events: work runs synchronously at launch here, so an event is the host time at which it was recorded.
struct FakeEvent { double t; bool recorded; };
static int live_events;
static double host_ms() { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6; }
CUresult cuEventCreate(void **e, unsigned) { if (!ctx_refs || !current_set) { fail("event without a current context"); return INVALID_VALUE; } *e = new FakeEvent{0, false}; live_events++; return OK; }
CUresult cuEventRecord(void *e, void *) { if (!e) return INVALID_VALUE; ((FakeEvent *)e)->t = host_ms(); ((FakeEvent *)e)->recorded = true; return OK; }
CUresult cuEventSynchronize(void *e) { return e ? OK : INVALID_VALUE; }
CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b) {
    FakeEvent *x = (FakeEvent *)a, *y = (FakeEvent *)b;
    if (!x || !y || !x->recorded || !y->recorded) { fail("elapsed time of an unrecorded event"); return INVALID_VALUE; }
    *ms = (float)(y->t - x->t); return OK; }
CUresult cuEventDestroy_v2(void *e) { if (!e || live_events <= 0) { fail("cuEventDestroy of a non-event"); return INVALID_VALUE; } delete (FakeEvent *)e; live_events--; return OK; }
CUresult cuStreamCreate(void **s, unsigned) { *s = (void *)0x5678; return OK; }
CUresult cuStreamDestroy_v2(void *) { return OK; }
CUresult cuStreamSynchronize(void *) { return OK; }
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned smem, void *stream, void **params, void **extra) {
    Kernel *k = (Kernel *)f;
    if (!current_set || !stream || extra || !params) { fail("launch: no context/stream, or extra/params wrong"); return INVALID_VALUE; }
    if (!gx || !gy || !gz || gy > 65535 || gz > 65535 || !bx || bx * by * bz > 1024 || smem > 227 * 1024) { fail("launch config"); return INVALID_VALUE; }
    if (bx * by * bz > k->maxntid) {
        fprintf(stderr, "FAKECUDA: %s launched with %u threads per block, its __launch_bounds__ allow %u\n", k->name, bx * by * bz, k->maxntid);
        return OUT_OF_RESOURCES;   // as a real launch reports it
    }
    for (size_t i = 0; i < k->params.size(); i++) {
        if (!k->params[i].first) continue;
        uintptr_t p = *(uintptr_t *)params[i];
        if (p && !in_alloc(p, 0)) { fprintf(stderr, "FAKECUDA: %s param %zu = %p is not device memory\n", k->name, i, (void *)p); return INVALID_VALUE; }
    }
    static std::vector<unsigned char> dyn;
    if (smem > k->dyn_smem_limit) { fprintf(stderr, "FAKECUDA: %s launched with %u bytes of dynamic shared memory, its limit is %u\n", k->name, smem, k->dyn_smem_limit); return INVALID_VALUE; }
    dyn.assign(smem + 128, 0xA5);   // garbage, as on a GPU
    fk_dynamic_smem = dyn.data() + (128 - (uintptr_t)dyn.data() % 128) % 128;
    fk_gridDim = fk_dim3{gx, gy, gz}; fk_blockDim = fk_dim3{bx, by, bz};
    cur_kernel = k; cur_params = params;
    for (unsigned z = 0; z < gz; z++) for (unsigned y = 0; y < gy; y++) for (unsigned x = 0; x < gx; x++) {
        fk_blockIdx = fk_dim3{x, y, z};
        if (!run_block(bx * by * bz)) { fprintf(stderr, "FAKECUDA: in kernel %s block (%u,%u,%u)\n", k->name, x, y, z); return LAUNCH_FAILED; }
    }
    if (getenv("FAKECUDA_TRACE")) fprintf(stderr, "FAKECUDA: %s grid %ux%ux%u block %u\n", k->name, gx, gy, gz, bx);
    return OK;
}
}
