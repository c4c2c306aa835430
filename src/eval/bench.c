// bench.c — stub: benchmark items and scoring land next (see bench.h).
#include "eval/bench.h"
#include <string.h>

static const char *const BENCH_NAMES[] = {"chair", "amber", "amber-disc", "pope"};

bool bench_from_name(const char *name, BenchKind *out) {
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, BENCH_NAMES[i])) { *out = (BenchKind)i; return true; }
    return false;
}
const char *bench_name(BenchKind b) { return (unsigned)b < 4 ? BENCH_NAMES[b] : "?"; }

bool bench_items_load(BenchKind b, const char *data_dir, BenchItem **items, int *n, char *err, size_t errlen) {
    (void)data_dir;
    *items = NULL;
    *n = 0;
    snprintf(err, errlen, "%s: benchmark items: not implemented yet", bench_name(b));
    return false;
}
void bench_items_free(BenchItem *items, int n) { (void)items; (void)n; }

bool bench_score_file(BenchKind b, const char *data_dir, const char *answers_path, const char *out_json,
                      FILE *table, char *err, size_t errlen) {
    (void)data_dir; (void)answers_path; (void)out_json; (void)table;
    snprintf(err, errlen, "%s: scoring: not implemented yet", bench_name(b));
    return false;
}
