// test_main.c — runner for the TEST()s that nob links in from every *_test.c.
#include "test.h"
#include "base/check.h"
#include "base/file.h"
#include <unistd.h>
#include <string.h>
#include <stdarg.h>
#include <time.h>

typedef struct { const char *name, *file; TestFn fn; } TestCase;
static TestCase *tests;
static int ntests, captests;
static int current_failures, current_skipped;
static char current_skip_reason[256];

void test_register(const char *name, const char *file, TestFn fn) {
    if (ntests == captests) {
        captests = captests ? 2 * captests : 64;
        tests = realloc_check(tests, (size_t)captests * sizeof *tests);
    }
    tests[ntests++] = (TestCase){name, file, fn};
}

void test_fail_at(const char *file, int line, const char *fmt, ...) {
    if (current_failures < 10) {  // keep output readable when a loop fails many times
        fprintf(stderr, "    %s:%d: ", file, line);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    current_failures++;
}

void test_skip(const char *why) {
    current_skipped = 1;
    snprintf(current_skip_reason, sizeof current_skip_reason, "%s", why);
}

const char *test_data_dir(void) { return "testdata"; }

bool expect_close_f32_at(const char *file, int line, const char *what, const float *got, const float *want,
                         size_t n, double atol, double rtol) {
    size_t worst = 0, bad = 0;
    double worst_excess = -1;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i], tol = atol + rtol * fabs(w), err = fabs(g - w);
        if (!(err <= tol)) {  // NaN-safe
            bad++;
            double excess = isnan(err) ? INFINITY : err - tol;
            if (excess > worst_excess || bad == 1) { worst_excess = excess; worst = i; }
        }
    }
    if (bad) test_fail_at(file, line, "%s: %zu of %zu elements out of tolerance; worst [%zu] = %.9g, expected %.9g (atol %g, rtol %g)",
                          what, bad, n, worst, got[worst], want[worst], atol, rtol);
    return bad == 0;
}

int test_run_command(TestCommandFn cmd, int argc, char **argv, char **printed) {
    char cap[] = "/tmp/lpoi_test_out_XXXXXX";
    int fd = mkstemp(cap);
    if (fd < 0) LPOI_DIE("mkstemp failed");
    fflush(stdout);
    fflush(stderr);
    int o = dup(1), e = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    int rc = cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    close(fd);
    if (printed) {
        LpoiErr err = {{0}};
        size_t n;
        *printed = file_read_all(cap, 1 << 20, &n, &err);
        if (!*printed) *printed = strdup(err.msg);
    }
    unlink(cap);
    return rc;
}

void test_expect_exit_at(const char *file, int line, TestCommandFn cmd, int want, int argc, char **argv) {
    char *text = NULL;
    int rc = test_run_command(cmd, argc, argv, &text);
    if (rc != want) {
        size_t n = strlen(text);
        test_fail_at(file, line, "lpoi %s exited %d, expected %d; it printed:\n%s", argv[0], rc, want,
                     n > 3000 ? text + n - 3000 : text);
    }
    free(text);
}

static int cmp_case(const void *a, const void *b) {
    const TestCase *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    qsort(tests, (size_t)ntests, sizeof *tests, cmp_case);
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < ntests; i++) {
        if (filter && !strstr(tests[i].name, filter) && !strstr(tests[i].file, filter)) continue;
        current_failures = 0;
        current_skipped = 0;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (current_failures) { failed++; printf("FAIL  %-40s %8.1f ms  (%s)\n", tests[i].name, ms, tests[i].file); }
        else if (current_skipped) { skipped++; printf("skip  %-40s  %s\n", tests[i].name, current_skip_reason); }
        else { passed++; printf("ok    %-40s %8.1f ms\n", tests[i].name, ms); }
        fflush(stdout);
    }
    printf("unit: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
