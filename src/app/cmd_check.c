// cmd_check.c — `lpoi check`: replay golden cases (written by tools/golden_ops.py with PyTorch)
// against a backend and say, per case and per tensor, how close it came. The closing line
// "check: N passed, N failed, N skipped" is parsed by nob; exit 1 on any failure or unreadable file.
#include "app/commands.h"
#include "check/golden.h"
#include "base/check.h"
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *to) {
    fprintf(to,
            "usage: lpoi check [--device cpu|cuda|auto] [--verbose] CASE...\n"
            "\n"
            "Replays golden cases — safetensors files whose __metadata__ names an op kind, its config and\n"
            "tolerances, with inputs (in.*, param.*), expected outputs (out.*) and gradients (grad.*) from\n"
            "PyTorch — against a backend. A CASE may be a file or a folder (its *.safetensors, sorted).\n"
            "\n"
            "Per case: PASS/FAIL/SKIP/ERROR, the number of checks and the largest share of the tolerance\n"
            "used. Per tensor (failing ones, or all with --verbose): shape, max abs error, max rel error,\n"
            "share of tolerance used (max |err| / (atol + rtol·|want|)). Outputs start as NaN and every\n"
            "buffer has guard regions, so unwritten elements and out-of-bounds writes fail; backward ops\n"
            "run twice (activation gradients must be overwritten, parameter gradients accumulated).\n"
            "A case of an unknown kind, with a missing or misshapen tensor, or a bad config is an ERROR\n"
            "and counts as failed; a case whose op the backend lacks is skipped.\n"
            "\n"
            "options:\n"
            "  --device D    cpu (default), cuda, or auto (cuda if usable, else cpu)\n"
            "  --verbose     print every tensor line and the case config, not only failures\n"
            "  --list-kinds  print the case kinds this lpoi can replay, then exit\n"
            "  -h, --help    this text\n"
            "\n"
            "Ends with \"check: N passed, N failed, N skipped\". Exit status: 0 when nothing failed,\n"
            "1 when a case failed or could not be read, 2 on a usage error.\n"
            "Cases are written by: python tools/golden_ops.py --out testdata/golden\n");
}

typedef struct { char **items; size_t count, cap; } PathList;

static void paths_push(PathList *l, const char *s) {
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = realloc_check(l->items, l->cap * sizeof *l->items);
    }
    size_t n = strlen(s) + 1;
    l->items[l->count] = malloc_check(n);
    memcpy(l->items[l->count++], s, n);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// A folder contributes its *.safetensors files (not recursive), sorted. false if it cannot be read.
static bool add_dir(PathList *l, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return false;
    PathList mine = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n <= 12 || strcmp(e->d_name + n - 12, ".safetensors") != 0) continue;
        char *p = malloc_check(strlen(dir) + n + 2);
        sprintf(p, "%s/%s", dir, e->d_name);
        paths_push(&mine, p);
        free(p);
    }
    closedir(d);
    if (mine.count) qsort(mine.items, mine.count, sizeof *mine.items, cmp_str);
    for (size_t i = 0; i < mine.count; i++) { paths_push(l, mine.items[i]); free(mine.items[i]); }
    free(mine.items);
    return true;
}

int cmd_check(int argc, char **argv) {
    const char *device = "cpu";
    GoldenOptions opt = {0};
    PathList cases = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) opt.verbose = true;
        else if (!strcmp(a, "--list-kinds")) {
            for (size_t k = 0; k < golden_runner_count(); k++)
                printf("%-16s %s\n", golden_runner_at(k)->kind, golden_runner_at(k)->what);
            return 0;
        } else if (!strcmp(a, "--device") || !strncmp(a, "--device=", 9)) {
            if (a[8] == '=') device = a + 9;
            else if (i + 1 < argc) device = argv[++i];
            else { fprintf(stderr, "lpoi check: --device needs a value (cpu, cuda or auto)\n"); return 2; }
            if (strcmp(device, "cpu") && strcmp(device, "cuda") && strcmp(device, "auto")) {
                fprintf(stderr, "lpoi check: unknown device '%s' (expected cpu, cuda or auto)\n", device);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "lpoi check: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        } else paths_push(&cases, a);
    }
    if (!cases.count) {
        fprintf(stderr, "lpoi check: no case files given\n\n");
        usage(stderr);
        return 2;
    }

    LpoiErr err = {{0}};
    Backend *be = backend_open(device, &err);
    if (!be) {
        fprintf(stderr, "lpoi check: cannot open device '%s': %s\n", device, err.msg);
        for (size_t i = 0; i < cases.count; i++) free(cases.items[i]);
        free(cases.items);
        return 1;
    }
    printf("check: backend %s (%s)\n", be->name, be->device);

    // Expand folders; a path that is neither a readable folder nor a file is reported by the case
    // loader like any unreadable case.
    PathList files = {0};
    int empty_dirs = 0;
    for (size_t i = 0; i < cases.count; i++) {
        struct stat st;
        if (stat(cases.items[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            size_t before = files.count;
            if (!add_dir(&files, cases.items[i])) paths_push(&files, cases.items[i]);
            else if (files.count == before) {
                printf("ERROR %s: folder holds no .safetensors files\n", cases.items[i]);
                empty_dirs++;
            }
        } else paths_push(&files, cases.items[i]);
        free(cases.items[i]);
    }
    free(cases.items);

    int passed = 0, failed = empty_dirs, skipped = 0;
    double ms = 0;
    for (size_t i = 0; i < files.count; i++) {
        GoldenResult res = golden_run_file(files.items[i], be, &opt);
        fflush(stdout);
        ms += res.ms;
        if (res.status == GOLDEN_PASS) passed++;
        else if (res.status == GOLDEN_SKIP) skipped++;
        else failed++;
        free(files.items[i]);
    }
    free(files.items);
    backend_destroy(be);
    if (opt.verbose) printf("check: %.1f ms in all\n", ms);
    printf("check: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
