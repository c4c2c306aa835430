// nob.c — the lpoi build program. Bootstrap once with `cc -o nob nob.c`, then `./nob [target]`.
//
//   ./nob             build build/lpoi and build/lpoi_tests (the unit-test runner)
//   ./nob test        build, run unit tests, golden cases, malformed-file checks and ptxcheck;
//                     ends with one line "N passed, N failed[, N skipped]" (exit 1 on any failure)
//   ./nob demo        build and run `lpoi demo`
//   ./nob bench       build bench/*.c against lpoi (+ OpenBLAS, benchmarks only) and run them
//   ./nob ptxcheck    ptxas every embedded PTX for every supported target; registers, spills
//   ./nob fuzz        build fuzz/fuzz_*.c with libFuzzer + ASan/UBSan, run each FUZZ_SECONDS (60)
//   ./nob clean       remove build/
//
// Why a C program and not make: the build shares the language of the project, needs only a C
// compiler, and can probe (nvcc? packages?) and run tests as ordinary code. Properties:
// - it rebuilds itself when nob.c is newer than ./nob, then re-runs with the same arguments;
// - it compiles in parallel (one job per CPU) and only what changed: each object is rebuilt when
//   its source or any header it included (gcc -MMD dependency file) is newer;
// - every compiler, flag set and nvcc version is hashed into the build folder name
//   (build/gcc-O2-1a2b3c4d/), so objects built with other flags are never reused;
// - PTX is built per variant (compute_75, compute_80, compute_90a) into files named by variant
//   and embedded in the binary; without nvcc the build is CPU-only and says so once.
// Environment: CC (default cc), LPOI_SANITIZE=1 (ASan+UBSan build), NOB_JOBS, FUZZ_SECONDS.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// ---------------------------------------------------------------------------------------------
// small utilities: string lists, formatting, files

typedef struct { char **items; int count, cap; } List;

static void list_push(List *l, const char *s) {
    if (l->count + 1 >= l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->items = realloc(l->items, (size_t)l->cap * sizeof(char *));
        if (!l->items) { perror("nob: realloc"); exit(1); }
    }
    l->items[l->count++] = strdup(s);
    l->items[l->count] = NULL;
}

static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0) { perror("nob: vasprintf"); exit(1); }
    va_end(ap);
    return s;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool file_exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

static double mtime_of(const char *p) {  // 0 when missing
    struct stat st;
    if (stat(p, &st) != 0) return 0;
    return (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec * 1e-9;
}

static void mkdir_p(const char *path) {
    char *p = strdup(path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(p, 0755); *s = '/'; }
    mkdir(p, 0755);
    free(p);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { fclose(f); free(buf); return NULL; }
    buf[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

// Writes only when the content differs, so a regenerated file does not trigger rebuilds.
static void write_if_changed(const char *path, const char *data, size_t len) {
    size_t old_len;
    char *old = read_file(path, &old_len);
    if (old && old_len == len && memcmp(old, data, len) == 0) { free(old); return; }
    free(old);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) { fprintf(stderr, "nob: cannot write %s\n", path); exit(1); }
}

// Recursively collects files under dir whose names end with suffix, sorted.
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void walk(const char *dir, const char *suffix, List *out) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = fmt("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) walk(p, suffix, out);
        else if (ends_with(p, suffix)) list_push(out, p);
        free(p);
    }
    closedir(d);
    if (out->count) qsort(out->items, (size_t)out->count, sizeof(char *), cmp_str);
}

static uint32_t fnv1a(uint32_t h, const char *s) {
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

// ---------------------------------------------------------------------------------------------
// processes: run one command, or many in parallel

static bool echo_commands = true;

static void print_cmd(char *const argv[]) {
    if (!echo_commands) return;
    printf("  ");
    for (int i = 0; argv[i]; i++) printf("%s ", argv[i]);
    printf("\n");
    fflush(stdout);
}

static pid_t spawn(char *const argv[], const char *stdout_path) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) { perror("nob: fork"); exit(1); }
    if (pid == 0) {
        if (stdout_path) {
            if (!freopen(stdout_path, "w", stdout)) _exit(127);
            dup2(fileno(stdout), 2);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "nob: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

// Returns the exit status; a signal gives 128 + signal number.
static int wait_status(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) { perror("nob: waitpid"); exit(1); }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run(List *cmd) { print_cmd(cmd->items); return wait_status(spawn(cmd->items, NULL)); }
static int run_quiet_to(List *cmd, const char *out_path) { return wait_status(spawn(cmd->items, out_path)); }

static int max_jobs(void) {
    const char *e = getenv("NOB_JOBS");
    if (e && atoi(e) > 0) return atoi(e);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

// A batch of commands run up to max_jobs() at a time; true if all succeeded.
typedef struct { List *cmds; int count, cap; } Batch;

static void batch_add(Batch *b, List cmd) {
    if (b->count == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->cmds = realloc(b->cmds, (size_t)b->cap * sizeof(List));
    }
    b->cmds[b->count++] = cmd;
}

static bool batch_run(Batch *b) {
    int jobs = max_jobs(), next = 0, running = 0;
    bool ok = true;
    pid_t *pids = calloc((size_t)jobs, sizeof(pid_t));
    while (next < b->count || running > 0) {
        while (running < jobs && next < b->count) {
            print_cmd(b->cmds[next].items);
            for (int s = 0; s < jobs; s++) if (!pids[s]) { pids[s] = spawn(b->cmds[next].items, NULL); break; }
            next++, running++;
        }
        int st;
        pid_t done = wait(&st);
        if (done < 0) { if (errno == EINTR) continue; break; }
        for (int s = 0; s < jobs; s++) if (pids[s] == done) { pids[s] = 0; running--; }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ok = false;
    }
    free(pids);
    b->count = 0;
    return ok;
}

static bool have_program(const char *name) {
    const char *path = getenv("PATH");
    if (!path) return false;
    char *copy = strdup(path), *save = NULL;
    bool found = false;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *p = fmt("%s/%s", dir, name);
        found = access(p, X_OK) == 0;
        free(p);
    }
    free(copy);
    return found;
}

// Runs a shell command and returns its first line of output (or NULL).
static char *capture(const char *shell_cmd) {
    FILE *p = popen(shell_cmd, "r");
    if (!p) return NULL;
    char buf[4096];
    char *res = NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = 0;
    if (pclose(p) == 0 && n) res = strdup(buf);
    return res;
}

// ---------------------------------------------------------------------------------------------
// self-rebuild: when nob.c is newer than this binary, rebuild and re-exec

static void rebuild_self(int argc, char **argv) {
    (void)argc;
    const char *bin = argv[0];
    if (mtime_of("nob.c") <= mtime_of(bin)) return;
    printf("nob: nob.c changed, rebuilding myself\n");
    if (rename(bin, "nob.old") != 0) { perror("nob: rename"); exit(1); }
    List cmd = {0};
    list_push(&cmd, getenv("CC") ? getenv("CC") : "cc");
    list_push(&cmd, "-O1");
    list_push(&cmd, "-o");
    list_push(&cmd, bin);
    list_push(&cmd, "nob.c");
    if (run(&cmd) != 0) { rename("nob.old", bin); fprintf(stderr, "nob: rebuilding nob failed; kept the old one\n"); exit(1); }
    unlink("nob.old");
    execv(bin, argv);
    perror("nob: re-exec");
    exit(1);
}

// ---------------------------------------------------------------------------------------------
// system packages: the few Debian packages lpoi builds against

// Makes sure `header` (or any file the package ships) exists; installs `package` with apt-get when root, else says how.
static void need_package(const char *header, const char *package) {
    if (file_exists(header)) return;
    if (geteuid() == 0 && have_program("apt-get")) {
        printf("nob: %s is missing; installing Debian package %s\n", header, package);
        char *c = fmt("(apt-get install -y -q %s || (apt-get update -q && apt-get install -y -q %s)) >/dev/null", package, package);
        int rc = system(c);
        free(c);
        if (rc == 0 && file_exists(header)) return;
        fprintf(stderr, "nob: installing %s failed\n", package);
        exit(1);
    }
    fprintf(stderr, "nob: %s is missing. Install it with:\n    sudo apt-get install %s\n", header, package);
    exit(1);
}

// ---------------------------------------------------------------------------------------------
// configuration: compiler, flags, nvcc — all hashed into the build folder name

static const char *PTX_VARIANTS[] = {"compute_75", "compute_80", "compute_90a"};
#define N_VARIANTS 3

typedef struct {
    const char *cc;
    List cflags;        // for every C file
    List avx2_flags;    // added for *_avx2.c
    List avx512_flags;  // added for *_avx512.c
    List ldflags;
    bool nvcc;          // nvcc found: build PTX
    char *nvcc_version;
    char *dir;          // build/<cc>-<opt>-<hash>
} Config;

static Config cfg;

static void config_init(void) {
    cfg.cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    // -Icu: the launchers include their kernels' cu/<family>.h (launch constants shared with the kernels).
    const char *base[] = {"-std=c11", "-g", "-Wall", "-Wextra", "-D_GNU_SOURCE", "-Isrc", "-Icu", "-fno-strict-aliasing"};
    for (size_t i = 0; i < sizeof base / sizeof *base; i++) list_push(&cfg.cflags, base[i]);
    bool sanitize = getenv("LPOI_SANITIZE") && atoi(getenv("LPOI_SANITIZE"));
    if (sanitize) {
        list_push(&cfg.cflags, "-O1");
        list_push(&cfg.cflags, "-fsanitize=address,undefined");
        list_push(&cfg.cflags, "-fno-omit-frame-pointer");
        list_push(&cfg.ldflags, "-fsanitize=address,undefined");
    } else {
        list_push(&cfg.cflags, "-O2");
    }
    list_push(&cfg.avx2_flags, "-mavx2");
    list_push(&cfg.avx2_flags, "-mfma");
    const char *avx512[] = {"-mavx2", "-mfma", "-mavx512f", "-mavx512vl"};
    for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++) list_push(&cfg.avx512_flags, avx512[i]);
    const char *libs[] = {"-lz", "-lm", "-lpthread", "-ldl"};
    for (size_t i = 0; i < sizeof libs / sizeof *libs; i++) list_push(&cfg.ldflags, libs[i]);

    // The sanitizer build is for the host code (CI runs its unit tests): PTX does not change with
    // host sanitizers and the normal build compiles and checks it, so it is not compiled twice.
    cfg.nvcc = have_program("nvcc") && !sanitize;
    if (cfg.nvcc) {
        char *v = capture("nvcc --version 2>/dev/null | tail -n 2 | tr '\\n' ' '");
        cfg.nvcc_version = v ? v : strdup("unknown");
    }
    uint32_t h = 2166136261u;
    h = fnv1a(h, cfg.cc);
    for (int i = 0; i < cfg.cflags.count; i++) h = fnv1a(h, cfg.cflags.items[i]);
    for (int i = 0; i < cfg.avx2_flags.count; i++) h = fnv1a(h, cfg.avx2_flags.items[i]);
    for (int i = 0; i < cfg.avx512_flags.count; i++) h = fnv1a(h, cfg.avx512_flags.items[i]);
    if (cfg.nvcc) {
        h = fnv1a(h, cfg.nvcc_version);
        for (int i = 0; i < N_VARIANTS; i++) h = fnv1a(h, PTX_VARIANTS[i]);
    }
    const char *ccbase = strrchr(cfg.cc, '/') ? strrchr(cfg.cc, '/') + 1 : cfg.cc;
    cfg.dir = fmt("build/%s-%s%s-%08x", ccbase, sanitize ? "asan" : "O2", cfg.nvcc ? "-ptx" : "", h);
}

static const char *NVCC_FLAGS[] = {"-O3", "-std=c++17", "-lineinfo"};

// ---------------------------------------------------------------------------------------------
// dependency tracking from gcc -MMD files

// True when obj is missing or older than any file listed in its .d (source and headers).
static bool needs_rebuild(const char *obj, const char *dep, const char *src) {
    double t = mtime_of(obj);
    if (t == 0 || mtime_of(src) > t) return true;
    char *d = read_file(dep, NULL);
    if (!d) return true;
    char *colon = strchr(d, ':');
    bool stale = colon == NULL;
    for (char *tok = colon ? strtok(colon + 1, " \t\n\\") : NULL; tok && !stale; tok = strtok(NULL, " \t\n\\")) {
        if (strchr(tok, ':')) continue;  // -MP phony targets "header.h:"
        double m = mtime_of(tok);
        if (m == 0 || m > t) stale = true;
    }
    free(d);
    return stale;
}

static char *obj_path(const char *src) {  // src/base/json.c -> <dir>/obj/src/base/json.o
    char *p = fmt("%s/obj/%s", cfg.dir, src);
    p[strlen(p) - 1] = 'o';
    return p;
}

// ---------------------------------------------------------------------------------------------
// PTX: cu/<family>.cu -> <dir>/ptx/<family>.<variant>.ptx -> <dir>/gen/ptx_embedded.c

static List ptx_files;     // built PTX paths
static List ptx_families;  // family name per PTX file
static List ptx_variants;  // variant per PTX file

static bool build_ptx(void) {
    List cus = {0};
    walk("cu", ".cu", &cus);
    char *ptxdir = fmt("%s/ptx", cfg.dir);
    mkdir_p(ptxdir);
    Batch b = {0};
    for (int i = 0; i < cus.count && cfg.nvcc; i++) {
        const char *name = strrchr(cus.items[i], '/') + 1;
        char *family = strndup(name, strlen(name) - 3);
        for (int v = 0; v < N_VARIANTS; v++) {
            char *out = fmt("%s/%s.%s.ptx", ptxdir, family, PTX_VARIANTS[v]);
            char *dep = fmt("%s.d", out);
            list_push(&ptx_files, out);
            list_push(&ptx_families, family);
            list_push(&ptx_variants, PTX_VARIANTS[v]);
            if (!needs_rebuild(out, dep, cus.items[i])) continue;
            List cmd = {0};
            list_push(&cmd, "nvcc");
            list_push(&cmd, "-ptx");
            list_push(&cmd, fmt("-arch=%s", PTX_VARIANTS[v]));
            for (size_t f = 0; f < sizeof NVCC_FLAGS / sizeof *NVCC_FLAGS; f++) list_push(&cmd, NVCC_FLAGS[f]);
            list_push(&cmd, "-MD");
            list_push(&cmd, "-MF");
            list_push(&cmd, dep);
            list_push(&cmd, "-o");
            list_push(&cmd, out);
            list_push(&cmd, cus.items[i]);
            batch_add(&b, cmd);
        }
    }
    if (!batch_run(&b)) { fprintf(stderr, "nob: nvcc failed\n"); return false; }

    // Embed every PTX as a string literal; the table order is family, then variant.
    size_t cap = 1 << 16, len = 0;
    char *src = malloc(cap);
#define EMIT(...) do {                                                  \
        char *_s = fmt(__VA_ARGS__);                                        \
        size_t _n = strlen(_s);                                             \
        while (len + _n + 1 > cap) src = realloc(src, cap *= 2);            \
        memcpy(src + len, _s, _n + 1);                                      \
        len += _n;                                                          \
        free(_s);                                                           \
    } while (0)
    EMIT("// Generated by nob.c from cu/*.cu: PTX for each kernel family and variant. Do not edit.\n");
    EMIT("#include \"backend/cuda/ptx_table.h\"\n\n");
    for (int i = 0; i < ptx_files.count; i++) {
        char *ptx = read_file(ptx_files.items[i], NULL);
        if (!ptx) { fprintf(stderr, "nob: cannot read %s\n", ptx_files.items[i]); return false; }
        EMIT("static const char ptx_%d[] =\n\"", i);
        for (char *c = ptx; *c; c++) {
            if (*c == '\n') EMIT("\\n\"\n\"");
            else if (*c == '"' || *c == '\\') EMIT("\\%c", *c);
            else if ((unsigned char)*c < 32 || (unsigned char)*c > 126) EMIT("\\%03o", (unsigned char)*c);
            else { if (len + 2 > cap) src = realloc(src, cap *= 2); src[len++] = *c; src[len] = 0; }
        }
        EMIT("\";\n");
        free(ptx);
    }
    EMIT("\nconst PtxModule lpoi_ptx_modules[] = {\n");
    for (int i = 0; i < ptx_files.count; i++) {
        const char *v = ptx_variants.items[i];
        int arch = atoi(v + strlen("compute_"));
        EMIT("    {\"%s\", \"%s\", %d, %d, ptx_%d, sizeof ptx_%d - 1},\n", ptx_families.items[i], v, arch,
             ends_with(v, "a") ? 1 : 0, i, i);
    }
    if (ptx_files.count == 0) EMIT("    {0, 0, 0, 0, 0, 0},  // built without nvcc: no GPU kernels\n");
    EMIT("};\nconst int lpoi_ptx_module_count = %d;\n", ptx_files.count);
#undef EMIT
    char *gendir = fmt("%s/gen", cfg.dir);
    mkdir_p(gendir);
    write_if_changed(fmt("%s/ptx_embedded.c", gendir), src, len);
    free(src);
    return true;
}

// ---------------------------------------------------------------------------------------------
// C build: objects, then the lpoi binary and the test runner

static List lib_objs;    // every object except main.o and tests
static List test_objs;   // *_test.o + test_main.o
static char *main_obj;

static bool is_test_source(const char *s) { return ends_with(s, "_test.c") || strstr(s, "src/test/") != NULL; }

static bool compile_all(List *sources) {
    Batch b = {0};
    for (int i = 0; i < sources->count; i++) {
        const char *s = sources->items[i];
        char *o = obj_path(s), *d = fmt("%s.d", o);
        char *slash = strrchr(o, '/');
        *slash = 0; mkdir_p(o); *slash = '/';
        if (is_test_source(s)) list_push(&test_objs, o);
        else if (!strcmp(s, "src/app/main.c")) main_obj = strdup(o);
        else list_push(&lib_objs, o);
        if (!needs_rebuild(o, d, s)) continue;
        List cmd = {0};
        list_push(&cmd, cfg.cc);
        for (int f = 0; f < cfg.cflags.count; f++) list_push(&cmd, cfg.cflags.items[f]);
        if (ends_with(s, "_avx2.c"))
            for (int f = 0; f < cfg.avx2_flags.count; f++) list_push(&cmd, cfg.avx2_flags.items[f]);
        if (ends_with(s, "_avx512.c"))
            for (int f = 0; f < cfg.avx512_flags.count; f++) list_push(&cmd, cfg.avx512_flags.items[f]);
        list_push(&cmd, "-MMD");
        list_push(&cmd, "-MP");
        list_push(&cmd, "-MF");
        list_push(&cmd, d);
        list_push(&cmd, "-c");
        list_push(&cmd, s);
        list_push(&cmd, "-o");
        list_push(&cmd, o);
        batch_add(&b, cmd);
    }
    return batch_run(&b);
}

static bool link_if_needed(const char *out, List *objs_a, List *objs_b, const char *extra_obj, List *extra_libs) {
    double t = mtime_of(out);
    bool stale = t == 0 || mtime_of("nob.c") > t;
    for (int i = 0; objs_a && i < objs_a->count; i++) stale |= mtime_of(objs_a->items[i]) > t;
    for (int i = 0; objs_b && i < objs_b->count; i++) stale |= mtime_of(objs_b->items[i]) > t;
    if (extra_obj) stale |= mtime_of(extra_obj) > t;
    if (!stale) return true;
    List cmd = {0};
    list_push(&cmd, cfg.cc);
    list_push(&cmd, "-o");
    list_push(&cmd, out);
    if (extra_obj) list_push(&cmd, extra_obj);
    for (int i = 0; objs_a && i < objs_a->count; i++) list_push(&cmd, objs_a->items[i]);
    for (int i = 0; objs_b && i < objs_b->count; i++) list_push(&cmd, objs_b->items[i]);
    for (int i = 0; extra_libs && i < extra_libs->count; i++) list_push(&cmd, extra_libs->items[i]);
    for (int i = 0; i < cfg.ldflags.count; i++) list_push(&cmd, cfg.ldflags.items[i]);
    return run(&cmd) == 0;
}

static void symlink_latest(const char *target_in_cfg, const char *link) {
    char *rel = fmt("%s/%s", cfg.dir + strlen("build/"), target_in_cfg);
    unlink(link);
    if (symlink(rel, link) != 0) fprintf(stderr, "nob: cannot link %s: %s\n", link, strerror(errno));
}

static char *lpoi_bin, *tests_bin;

static bool build(void) {
    need_package("/usr/include/zlib.h", "zlib1g-dev");
    need_package("/usr/include/stb/stb_image.h", "libstb-dev");
    mkdir_p(cfg.dir);
    static bool said;
    if (!cfg.nvcc && !said) {
        if (strstr(cfg.dir, "-asan-")) printf("nob: sanitizer build: host code only (no PTX embedded)\n");
        else printf("nob: nvcc not found: building CPU-only (no GPU kernels embedded; the CUDA backend will say so)\n");
        said = true;
    }
    if (!build_ptx()) return false;
    List sources = {0};
    walk("src", ".c", &sources);
    list_push(&sources, fmt("%s/gen/ptx_embedded.c", cfg.dir));
    // Generated sources live under build/; their objects go beside the others.
    echo_commands = getenv("NOB_VERBOSE") != NULL;
    bool ok = compile_all(&sources);
    echo_commands = true;
    if (!ok) { fprintf(stderr, "nob: compilation failed\n"); return false; }
    if (!main_obj) { fprintf(stderr, "nob: src/app/main.c is missing\n"); return false; }
    lpoi_bin = fmt("%s/lpoi", cfg.dir);
    tests_bin = fmt("%s/lpoi_tests", cfg.dir);
    if (!link_if_needed(lpoi_bin, &lib_objs, NULL, main_obj, NULL)) return false;
    if (!link_if_needed(tests_bin, &lib_objs, &test_objs, NULL, NULL)) return false;
    // A sanitizer build gets its own links so that it never replaces the normal binary.
    bool sanitize = getenv("LPOI_SANITIZE") && atoi(getenv("LPOI_SANITIZE"));
    symlink_latest("lpoi", sanitize ? "build/lpoi-asan" : "build/lpoi");
    symlink_latest("lpoi_tests", sanitize ? "build/lpoi_tests-asan" : "build/lpoi_tests");
    printf("nob: built %s and %s\n", lpoi_bin, tests_bin);
    return true;
}

// ---------------------------------------------------------------------------------------------
// ptxcheck: ptxas on every PTX variant for every target the toolkit supports from sm_75 up

typedef struct { int passed, failed, skipped; } Tally;

// Kernel register budgets declared in cu/*.cu as "// ptxcheck: <kernel> max_registers=<n>".
static int register_budget(const char *family, const char *kernel) {
    char *path = fmt("cu/%s.cu", family);
    char *text = read_file(path, NULL);
    free(path);
    if (!text) return 0;
    int budget = 0;
    char *needle = fmt("// ptxcheck: %s max_registers=", kernel);
    char *at = strstr(text, needle);
    if (at) budget = atoi(at + strlen(needle));
    free(needle);
    free(text);
    return budget;
}

static int cmp_sm(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int d = atoi(x + 3) - atoi(y + 3);
    return d ? d : strcmp(x, y);
}

static List ptx_targets(void) {
    List t = {0};
    char *out = capture("nvcc --list-gpu-code 2>/dev/null");
    if (!out) {
        const char *fallback[] = {"sm_75", "sm_80", "sm_86", "sm_89", "sm_90a"};
        for (int i = 0; i < 5; i++) list_push(&t, fallback[i]);
        return t;
    }
    // nvcc lists base targets (sm_90, sm_100, ...). Hopper is checked as sm_90a, the target our
    // compute_90a variant needs; other arch-specific targets add nothing over their base here.
    for (char *tok = strtok(out, " \n"); tok; tok = strtok(NULL, " \n")) {
        if (strncmp(tok, "sm_", 3) != 0) continue;
        int arch = atoi(tok + 3);
        bool suffixed = !(tok[strlen(tok) - 1] >= '0' && tok[strlen(tok) - 1] <= '9');
        if (arch < 75 || (suffixed && arch != 90)) continue;
        list_push(&t, arch == 90 ? "sm_90a" : tok);
    }
    if (t.count == 0) list_push(&t, "sm_75");
    qsort(t.items, (size_t)t.count, sizeof(char *), cmp_sm);
    // drop duplicates (sm_90 and sm_90a both map to sm_90a)
    int w = 0;
    for (int i = 0; i < t.count; i++)
        if (w == 0 || strcmp(t.items[w - 1], t.items[i]) != 0) t.items[w++] = t.items[i];
    t.count = w;
    t.items[w] = NULL;
    free(out);
    return t;
}

static Tally ptxcheck(bool verbose) {
    Tally tally = {0};
    if (!cfg.nvcc || !have_program("ptxas")) {
        printf("ptxcheck: skipped (nvcc/ptxas not installed)\n");
        tally.skipped = 1;
        return tally;
    }
    List targets = ptx_targets();
    char *log = fmt("%s/ptxas.log", cfg.dir);
    printf("ptxcheck: %d PTX files x targets {", ptx_files.count);
    for (int i = 0; i < targets.count; i++) printf("%s%s", i ? " " : "", targets.items[i]);
    printf("}\n");
    printf("  %-12s %-11s %-8s %-36s %5s %6s %6s\n", "family", "variant", "target", "kernel", "regs", "spills", "smem");
    for (int i = 0; i < ptx_files.count; i++) {
        const char *variant = ptx_variants.items[i];
        int varch = atoi(variant + strlen("compute_"));
        bool vspecific = ends_with(variant, "a");
        for (int t = 0; t < targets.count; t++) {
            const char *target = targets.items[t];
            int tarch = atoi(target + 3);
            if (tarch < varch) continue;
            if (vspecific && strcmp(target + 3, variant + strlen("compute_")) != 0) continue;
            List cmd = {0};
            list_push(&cmd, "ptxas");
            list_push(&cmd, fmt("-arch=%s", target));
            list_push(&cmd, "-v");
            list_push(&cmd, "-o");
            list_push(&cmd, "/dev/null");
            list_push(&cmd, ptx_files.items[i]);
            int rc = run_quiet_to(&cmd, log);
            char *out = read_file(log, NULL);
            bool ok = rc == 0;
            // Parse "Compiling entry function 'k'", "N bytes spill stores", "Used R registers ... S bytes smem".
            char kernel[256] = "";
            int spills = 0;
            for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
                char *p;
                if ((p = strstr(line, "Compiling entry function '"))) {
                    sscanf(p + strlen("Compiling entry function '"), "%255[^']", kernel);
                } else if ((p = strstr(line, "bytes spill stores"))) {
                    spills = 0;
                    char *q = strstr(line, "bytes stack frame, ");
                    if (q) spills = atoi(q + strlen("bytes stack frame, "));
                    if (spills > 0) {
                        printf("  FAIL %s %s %s: %d bytes of register spills\n", ptx_families.items[i], target, kernel, spills);
                        ok = false;
                    }
                } else if ((p = strstr(line, "Used ")) && strstr(line, "registers")) {
                    int regs = atoi(p + 5), smem = 0;
                    char *q = strstr(line, "bytes smem");
                    if (q) { char *b = q; while (b > line && b[-1] == ' ') b--; while (b > line && b[-1] >= '0' && b[-1] <= '9') b--; smem = atoi(b); }
                    int budget = register_budget(ptx_families.items[i], kernel);
                    bool over = budget > 0 && regs > budget;
                    if (over) { ok = false; printf("  FAIL %s: %d registers > budget %d\n", kernel, regs, budget); }
                    if (verbose || (!strcmp(target, "sm_90a") && ends_with(variant, "90a")) || over)
                        printf("  %-12s %-11s %-8s %-36.36s %5d %6d %6d\n", ptx_families.items[i], variant, target, kernel, regs, spills, smem);
                }
            }
            if (rc != 0) printf("  FAIL ptxas %s for %s (see %s)\n", ptx_files.items[i], target, log);
            free(out);
            if (ok) tally.passed++; else tally.failed++;
        }
    }
    printf("ptxcheck: %d passed, %d failed\n", tally.passed, tally.failed);
    return tally;
}

// ---------------------------------------------------------------------------------------------
// test: unit tests, golden cases, malformed files, ptxcheck — one closing line

// Finds "N passed, N failed[, N skipped]" in a log and adds it to the tally.
static bool parse_counts(const char *log_path, Tally *t) {
    char *text = read_file(log_path, NULL);
    if (!text) return false;
    bool found = false;
    int p, f, s;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *at = strstr(line, " passed, ");
        if (!at) continue;
        char *start = at;
        while (start > line && start[-1] >= '0' && start[-1] <= '9') start--;
        s = 0;
        if (sscanf(start, "%d passed, %d failed, %d skipped", &p, &f, &s) >= 2) found = true;
    }
    if (found) { t->passed += p; t->failed += f; t->skipped += s; }
    free(text);
    return found;
}

static void print_file(const char *path) {
    char *text = read_file(path, NULL);
    if (text) { fputs(text, stdout); free(text); }
}

static int run_tests(void) {
    if (!build()) return 1;
    Tally total = {0};
    char *log = fmt("%s/test.log", cfg.dir);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    // 1. unit tests
    printf("\n== unit tests (%s)\n", tests_bin);
    List cmd = {0};
    list_push(&cmd, tests_bin);
    int rc = run_quiet_to(&cmd, log);
    print_file(log);
    Tally unit = {0};
    if (!parse_counts(log, &unit) || (rc != 0 && unit.failed == 0)) {
        printf("FAIL  unit test runner exited with status %d without a summary\n", rc);
        unit.failed++;
    }
    total.passed += unit.passed; total.failed += unit.failed; total.skipped += unit.skipped;

    // 2. golden cases
    List cases = {0};
    walk("testdata/golden", ".safetensors", &cases);
    printf("\n== golden cases (%d files)\n", cases.count);
    if (cases.count) {
        List c = {0};
        list_push(&c, lpoi_bin);
        list_push(&c, "check");
        for (int i = 0; i < cases.count; i++) list_push(&c, cases.items[i]);
        rc = run_quiet_to(&c, log);
        print_file(log);
        Tally g = {0};
        if (!parse_counts(log, &g) || (rc != 0 && g.failed == 0)) { printf("FAIL  lpoi check exited with status %d\n", rc); g.failed++; }
        total.passed += g.passed; total.failed += g.failed; total.skipped += g.skipped;
    }

    // 3. malformed files: each must be rejected by `lpoi inspect` with a message and exit 1, no signal
    List bad = {0};
    walk("testdata/bad", "", &bad);
    printf("\n== malformed files (%d): lpoi inspect must reject each with exit 1\n", bad.count);
    Tally b = {0};
    for (int i = 0; i < bad.count; i++) {
        if (ends_with(bad.items[i], ".md") || ends_with(bad.items[i], ".txt")) continue;
        List c = {0};
        list_push(&c, lpoi_bin);
        list_push(&c, "inspect");
        list_push(&c, bad.items[i]);
        rc = run_quiet_to(&c, log);
        char *out = read_file(log, NULL);
        bool ok = rc == 1 && out && strstr(out, bad.items[i]) != NULL;
        if (ok) b.passed++;
        else { b.failed++; printf("FAIL  %s: exit %d%s, output: %s", bad.items[i], rc, rc > 128 ? " (signal)" : "", out ? out : "(none)\n"); }
        free(out);
    }
    printf("malformed: %d passed, %d failed\n", b.passed, b.failed);
    total.passed += b.passed; total.failed += b.failed;

    // 4. the CUDA backend against an emulated driver: tools/fakecuda runs cu/*.cu as host C++
    //    behind a stand-in libcuda.so.1, so argument packing, variant choice and kernel logic are
    //    exercised on machines without a GPU (real hardware: tools/gpucheck.sh).
    printf("\n== CUDA backend on the emulated driver (tools/fakecuda)\n");
    Tally fc = {0};
    if (!cfg.nvcc || !have_program("g++")) {
        printf("fakecuda: skipped (%s not installed)\n", cfg.nvcc ? "g++" : "nvcc");
        fc.skipped = 1;
    } else {
        char *fdir = fmt("%s/fakecuda", cfg.dir), *lib = fmt("%s/libcuda.so.1", fdir);
        mkdir_p(fdir);
        List cus = {0};
        walk("cu", "", &cus);
        bool stale = mtime_of(lib) < mtime_of("tools/fakecuda/fake_driver.cpp") ||
                     mtime_of(lib) < mtime_of("tools/fakecuda/fake_cuda.h");
        for (int i = 0; i < cus.count; i++) stale |= mtime_of(lib) < mtime_of(cus.items[i]);
        List c = {0};
        const char *gxx[] = {"g++", "-std=c++17", "-O2", "-fPIC", "-shared", "-w", "-I.", "-include",
                             "tools/fakecuda/fake_cuda.h", "tools/fakecuda/fake_driver.cpp", "-o"};
        for (size_t i = 0; i < sizeof gxx / sizeof *gxx; i++) list_push(&c, gxx[i]);
        list_push(&c, lib);
        if (stale && run(&c) != 0) { printf("FAIL  building the emulated driver\n"); fc.failed++; }
        else {
            setenv("LD_LIBRARY_PATH", fdir, 1);
            List u = {0};
            list_push(&u, tests_bin);
            list_push(&u, "cuda");
            rc = run_quiet_to(&u, log);
            print_file(log);
            if (!parse_counts(log, &fc) || (rc != 0 && fc.failed == 0)) { printf("FAIL  cuda unit tests exited %d\n", rc); fc.failed++; }
            if (fc.skipped) { printf("FAIL  %d cuda tests skipped on the emulated GPU\n", fc.skipped); fc.failed += fc.skipped; fc.skipped = 0; }
            if (cases.count) {
                List g = {0};
                list_push(&g, lpoi_bin);
                list_push(&g, "check");
                list_push(&g, "--device");
                list_push(&g, "cuda");
                for (int i = 0; i < cases.count; i++) list_push(&g, cases.items[i]);
                rc = run_quiet_to(&g, log);
                char *text = read_file(log, NULL);  // only failures and the summary
                for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n"))
                    if (strncmp(line, "SKIP", 4) != 0 && strncmp(line, "PASS", 4) != 0) printf("%s\n", line);
                free(text);
                Tally gc = {0};
                if (!parse_counts(log, &gc) || (rc != 0 && gc.failed == 0)) { printf("FAIL  lpoi check --device cuda exited %d\n", rc); gc.failed++; }
                // Every op has a kernel now: a case skipped on the emulated GPU is a failure.
                if (gc.skipped) printf("FAIL  %d golden cases skipped on the emulated GPU\n", gc.skipped);
                fc.passed += gc.passed; fc.failed += gc.failed + gc.skipped;
            }
            unsetenv("LD_LIBRARY_PATH");
        }
    }
    total.passed += fc.passed; total.failed += fc.failed; total.skipped += fc.skipped;

    // 5. PTX for every target
    printf("\n== ptxcheck\n");
    Tally p = ptxcheck(false);
    total.passed += p.passed; total.failed += p.failed; total.skipped += p.skipped;

    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("\n(%.1f s)\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (total.skipped) printf("%d passed, %d failed, %d skipped\n", total.passed, total.failed, total.skipped);
    else printf("%d passed, %d failed\n", total.passed, total.failed);
    return total.failed ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// bench and fuzz: extra programs built against the library objects

static int run_bench(void) {
    if (!build()) return 1;
    // The library, not cblas.h: another BLAS's dev package (reference BLAS, ATLAS) also provides
    // that header, and then only the link of -lopenblas would fail.
    need_package("/usr/lib/x86_64-linux-gnu/libopenblas.so", "libopenblas-dev");
    List benches = {0};
    walk("bench", ".c", &benches);
    List libs = {0};
    list_push(&libs, "-lopenblas");
    int failures = 0;
    // The host may pin OpenBLAS to an old core type for safety; benchmarks compare against the
    // best kernel OpenBLAS picks itself.
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("OPENBLAS_L2_SIZE");
    for (int i = 0; i < benches.count; i++) {
        const char *s = benches.items[i];
        char *o = obj_path(s), *d = fmt("%s.d", o);
        char *slash = strrchr(o, '/');
        *slash = 0; mkdir_p(o); *slash = '/';
        if (needs_rebuild(o, d, s)) {
            List cmd = {0};
            list_push(&cmd, cfg.cc);
            for (int f = 0; f < cfg.cflags.count; f++) list_push(&cmd, cfg.cflags.items[f]);
            list_push(&cmd, "-MMD"); list_push(&cmd, "-MF"); list_push(&cmd, d);
            list_push(&cmd, "-c"); list_push(&cmd, s); list_push(&cmd, "-o"); list_push(&cmd, o);
            if (run(&cmd) != 0) { failures++; continue; }
        }
        const char *name = strrchr(s, '/') + 1;
        char *bin = fmt("%s/%.*s", cfg.dir, (int)(strlen(name) - 2), name);
        if (!link_if_needed(bin, &lib_objs, NULL, o, &libs)) { failures++; continue; }
        List cmd = {0};
        list_push(&cmd, bin);
        if (run(&cmd) != 0) failures++;
    }
    return failures ? 1 : 0;
}

// A target may link more than src/base: a line "// fuzz-link: src/text src/lpoi/dataset.c ..."
// in its source names folders (every non-test .c in them) and files.
static void fuzz_extra_sources(const char *target, List *cmd) {
    size_t len;
    char *text = read_file(target, &len);
    char *line = text ? strstr(text, "// fuzz-link:") : NULL;
    if (!line) { free(text); return; }
    char *end = strchr(line, '\n');
    if (end) *end = 0;
    for (char *tok = strtok(line + 13, " \t"); tok; tok = strtok(NULL, " \t")) {
        if (ends_with(tok, ".c")) { list_push(cmd, strdup(tok)); continue; }
        List files = {0};
        walk(tok, ".c", &files);
        for (int k = 0; k < files.count; k++) if (!is_test_source(files.items[k])) list_push(cmd, files.items[k]);
    }
    free(text);
}

static int run_fuzz(void) {
    if (!have_program("clang")) {
        fprintf(stderr, "nob: fuzzing needs clang with libFuzzer. Install it with:\n    sudo apt-get install clang libclang-rt-dev\n");
        return 1;
    }
    List targets = {0};
    walk("fuzz", ".c", &targets);
    List base = {0};
    walk("src/base", ".c", &base);
    int seconds = getenv("FUZZ_SECONDS") ? atoi(getenv("FUZZ_SECONDS")) : 60;
    char *dir = fmt("build/fuzz");
    mkdir_p(dir);
    int failures = 0;
    for (int i = 0; i < targets.count; i++) {
        const char *s = targets.items[i];
        const char *name = strrchr(s, '/') + 1;
        if (getenv("FUZZ_ONLY") && !strstr(name, getenv("FUZZ_ONLY"))) continue;   // e.g. FUZZ_ONLY=dataset
        char *stem = strndup(name, strlen(name) - 2);
        char *bin = fmt("%s/%s", dir, stem);
        List cmd = {0};
        const char *flags[] = {"clang", "-g", "-O1", "-fsanitize=fuzzer,address,undefined",
                               "-fno-sanitize-recover=undefined", "-D_GNU_SOURCE", "-Isrc", "-o"};
        for (size_t f = 0; f < sizeof flags / sizeof *flags; f++) list_push(&cmd, flags[f]);
        list_push(&cmd, bin);
        list_push(&cmd, s);
        for (int k = 0; k < base.count; k++) if (!is_test_source(base.items[k])) list_push(&cmd, base.items[k]);
        fuzz_extra_sources(s, &cmd);
        list_push(&cmd, "-lz"); list_push(&cmd, "-lm"); list_push(&cmd, "-lpthread");
        if (run(&cmd) != 0) { failures++; continue; }
        // New inputs go to build/fuzz/<target>; the committed corpus is read-only seed input.
        const char *corpus_name = strncmp(stem, "fuzz_", 5) == 0 ? stem + 5 : stem;
        char *work = fmt("%s/corpus_%s", dir, corpus_name);
        mkdir_p(work);
        List f = {0};
        list_push(&f, bin);
        list_push(&f, fmt("-max_total_time=%d", seconds));
        list_push(&f, "-max_len=65536");
        list_push(&f, fmt("-artifact_prefix=%s/%s-", dir, stem));
        list_push(&f, work);
        char *seed = fmt("fuzz/corpus/%s", corpus_name);
        if (file_exists(seed)) list_push(&f, seed);
        if (run(&f) != 0) failures++;
    }
    return failures ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------

static int usage(void) {
    printf("usage: ./nob [build|test|demo|bench|ptxcheck|fuzz|clean|help]\n"
           "  (no target)  build build/lpoi and build/lpoi_tests\n"
           "  test         unit tests, golden cases, malformed files, ptxcheck; one closing line\n"
           "  demo         run `lpoi demo`, the embedded end-to-end job\n"
           "  bench        build and run bench/*.c (matmul vs OpenBLAS, ...)\n"
           "  ptxcheck     ptxas every embedded PTX variant for every target, registers and spills\n"
           "  fuzz         libFuzzer + ASan/UBSan on the parsers, FUZZ_SECONDS per target (default 60; FUZZ_ONLY=name)\n"
           "  clean        remove build/\n"
           "env: CC, LPOI_SANITIZE=1, NOB_JOBS, NOB_VERBOSE=1, FUZZ_SECONDS\n");
    return 0;
}

int main(int argc, char **argv) {
    rebuild_self(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *target = argc > 1 ? argv[1] : "build";
    if (!strcmp(target, "help") || !strcmp(target, "--help") || !strcmp(target, "-h")) return usage();
    if (!strcmp(target, "clean")) { List c = {0}; list_push(&c, "rm"); list_push(&c, "-rf"); list_push(&c, "build"); return run(&c); }
    config_init();
    if (!strcmp(target, "build")) return build() ? 0 : 1;
    if (!strcmp(target, "test")) return run_tests();
    if (!strcmp(target, "ptxcheck")) { if (!build()) return 1; return ptxcheck(true).failed ? 1 : 0; }
    if (!strcmp(target, "bench")) return run_bench();
    if (!strcmp(target, "fuzz")) return run_fuzz();
    if (!strcmp(target, "demo")) {
        if (!build()) return 1;
        List c = {0};
        list_push(&c, lpoi_bin);
        list_push(&c, "demo");
        for (int i = 2; i < argc; i++) list_push(&c, argv[i]);
        return run(&c);
    }
    fprintf(stderr, "nob: unknown target '%s'\n", target);
    usage();
    return 2;
}
