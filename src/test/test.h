// test.h — the unit-test harness. A test is `TEST(name) { ... }` in any *_test.c file; nob links
// every *_test.c with src/ into one runner (build/.../lpoi_tests) and the constructor below
// registers it. Checks record a failure with file:line and keep going; a test passes when it
// recorded none. `lpoi_tests [substring]` runs the matching tests and ends with the line
// "N passed, N failed" (exit 1 if any failed).
#pragma once
#include <stdio.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>

typedef void (*TestFn)(void);
void test_register(const char *name, const char *file, TestFn fn);
void test_fail_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void test_skip(const char *why);       // marks the running test skipped (e.g. ../shared/data absent)
const char *test_data_dir(void);       // "testdata" relative to the repo root (runner chdirs there)

#define TEST(name)                                                                  \
    static void test_##name(void);                                                  \
    __attribute__((constructor)) static void test_register_##name(void) {           \
        test_register(#name, __FILE__, test_##name);                                \
    }                                                                               \
    static void test_##name(void)

#define EXPECT(cond) \
    do { if (!(cond)) test_fail_at(__FILE__, __LINE__, "expected: %s", #cond); } while (0)
#define EXPECT_MSG(cond, ...) \
    do { if (!(cond)) test_fail_at(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define EXPECT_EQ_INT(a, b) \
    do { long long _a = (long long)(a), _b = (long long)(b); \
         if (_a != _b) test_fail_at(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, _a, #b, _b); } while (0)
#define EXPECT_STREQ(a, b) \
    do { const char *_a = (a), *_b = (b); \
         if (!_a || !_b || strcmp(_a, _b) != 0) test_fail_at(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)
// |a - b| <= atol + rtol * |b|
#define EXPECT_NEAR(a, b, atol, rtol) \
    do { double _a = (a), _b = (b); \
         if (!(fabs(_a - _b) <= (atol) + (rtol) * fabs(_b))) \
             test_fail_at(__FILE__, __LINE__, "%s = %.9g, expected %s = %.9g (atol %g, rtol %g)", #a, _a, #b, _b, (double)(atol), (double)(rtol)); } while (0)

// Compares n floats; reports the worst element. Returns true if all within atol + rtol*|want|.
bool expect_close_f32_at(const char *file, int line, const char *what, const float *got, const float *want,
                         size_t n, double atol, double rtol);
#define EXPECT_CLOSE_F32(what, got, want, n, atol, rtol) \
    expect_close_f32_at(__FILE__, __LINE__, (what), (got), (want), (n), (atol), (rtol))

// Runs a subcommand (cmd_*(argc, argv)) with stdout and stderr captured; returns its exit code and,
// if printed != NULL, what it printed (malloc'ed, the caller frees it).
typedef int (*TestCommandFn)(int argc, char **argv);
int test_run_command(TestCommandFn cmd, int argc, char **argv, char **printed);
// Fails the test, showing the tail of the command's output, when its exit code is not `want`.
void test_expect_exit_at(const char *file, int line, TestCommandFn cmd, int want, int argc, char **argv);
#define EXPECT_COMMAND_EXIT(cmd, want, argc, argv) test_expect_exit_at(__FILE__, __LINE__, (cmd), (want), (argc), (argv))

// ---- scratch files (test_files.c) ----
// A new empty folder /tmp/lpoi_<tag>_XXXXXX into buf (mkdtemp); dies when it cannot be made.
void test_tmp_dir(char *buf, size_t cap, const char *tag);
// "dir/name" in one of 8 rotating static buffers (so a few can be alive in one expression).
const char *test_path(const char *dir, const char *name);
// Writes text to path (plain, not atomic). false when it cannot.
bool test_write_text(const char *path, const char *text);
// The whole file (malloc'ed, NUL-terminated; at most 64 MiB), or NULL.
char *test_read_text(const char *path);
