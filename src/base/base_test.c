// base_test.c — arenas, the thread pool, fp16/bf16 conversion, folders (file.h) and growable
// strings (strbuf.h).
#include "test/test.h"
#include "base/arena.h"
#include "base/check.h"
#include "base/dtype.h"
#include "base/file.h"
#include "base/strbuf.h"
#include "base/threads.h"
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(arena_aligns_tracks_peak_and_resets) {
    Arena a;
    arena_init_host(&a, "test", 1000);
    char *p = arena_alloc(&a, 10, "p");
    char *q = arena_alloc(&a, 1, "q");
    EXPECT(((uintptr_t)p % ARENA_ALIGN) == 0 && ((uintptr_t)q % ARENA_ALIGN) == 0);
    EXPECT(q - p == ARENA_ALIGN);
    size_t mark = arena_mark(&a);
    arena_alloc(&a, 500, "scratch");
    EXPECT(a.peak >= 500 + ARENA_ALIGN + 1);
    arena_reset_to(&a, mark);
    EXPECT_EQ_INT(a.used, mark);
    EXPECT(arena_alloc(&a, 500, "again") == p + 2 * ARENA_ALIGN);
    arena_reset(&a);
    EXPECT_EQ_INT(a.used, 0);
    EXPECT(a.peak >= 500);
    arena_free(&a);
}

// Running out must exit 1 with a message naming the arena, the request and what is left.
TEST(arena_out_of_memory_names_arena_request_and_remaining) {
    int fds[2];
    EXPECT(pipe(fds) == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        Arena a;
        arena_init_host(&a, "activations", 256);
        arena_alloc(&a, 100, "x0");
        arena_alloc(&a, 1000, "logits");
        _exit(0);  // not reached
    }
    close(fds[1]);
    char buf[1024] = {0};
    ssize_t n, got = 0;
    while ((n = read(fds[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0) got += n;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    EXPECT_MSG(strstr(buf, "'activations'") && strstr(buf, "'logits'") && strstr(buf, "1000 bytes") && strstr(buf, "156 of 256"),
               "message was: %s", buf);
}

typedef struct { int *hits; } HitCtx;
static void count_hits(void *ctx, size_t b, size_t e, int tid) {
    (void)tid;
    HitCtx *h = ctx;
    for (size_t i = b; i < e; i++) h->hits[i]++;
}

TEST(parallel_for_visits_every_index_once) {
    int saved = threads_count();
    for (int nt = 1; nt <= 4; nt++) {
        threads_set_count(nt);
        size_t sizes[] = {1, 2, 3, 7, 100, 1001};
        for (size_t s = 0; s < LPOI_ARRAY_LEN(sizes); s++)
            for (size_t min_chunk = 1; min_chunk <= 64; min_chunk *= 8) {
                int *hits = calloc_check(sizes[s], sizeof(int));
                HitCtx h = {hits};
                parallel_for(sizes[s], min_chunk, count_hits, &h);
                for (size_t i = 0; i < sizes[s]; i++)
                    if (hits[i] != 1) { test_fail_at(__FILE__, __LINE__, "n=%zu threads=%d: index %zu hit %d times", sizes[s], nt, i, hits[i]); break; }
                free(hits);
            }
    }
    threads_set_count(saved);
}

static void nested_outer(void *ctx, size_t b, size_t e, int tid) {
    (void)tid;
    HitCtx *h = ctx;
    for (size_t i = b; i < e; i++) {
        HitCtx inner = {h->hits + i * 10};
        parallel_for(10, 1, count_hits, &inner);  // nested: runs inline, must not deadlock
    }
}

TEST(parallel_for_nested_runs_inline) {
    int hits[80] = {0};
    HitCtx h = {hits};
    parallel_for(8, 1, nested_outer, &h);
    for (int i = 0; i < 80; i++) EXPECT_EQ_INT(hits[i], 1);
}

TEST(f16_round_trips_every_finite_half) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // NaN payloads
        uint16_t back = f32_to_f16(f16_to_f32((uint16_t)h));
        if (back != h && bad++ < 5) test_fail_at(__FILE__, __LINE__, "half 0x%04x -> %g -> 0x%04x", h, f16_to_f32((uint16_t)h), back);
    }
    EXPECT_EQ_INT(bad, 0);
    // Known values: max half, smallest subnormal, rounding to nearest even, overflow to inf.
    EXPECT_EQ_INT(f32_to_f16(65504.0f), 0x7bff);
    EXPECT_EQ_INT(f32_to_f16(65520.0f), 0x7c00);
    EXPECT_EQ_INT(f32_to_f16(5.9604645e-8f), 0x0001);
    EXPECT_EQ_INT(f32_to_f16(1.0f + 1.0f / 2048.0f), 0x3c00);   // tie: stays even
    EXPECT_EQ_INT(f32_to_f16(1.0f + 3.0f / 2048.0f), 0x3c02);   // tie: rounds up to even
    EXPECT(isnan(f16_to_f32(f32_to_f16(NAN))));
}

TEST(bf16_rounds_to_nearest_even) {
    EXPECT_EQ_INT(f32_to_bf16(1.0f), 0x3f80);
    float x;
    uint32_t bits = 0x3f808000u;  // exactly halfway between 0x3f80 and 0x3f81: stays even
    memcpy(&x, &bits, 4);
    EXPECT_EQ_INT(f32_to_bf16(x), 0x3f80);
    bits = 0x3f818000u;           // halfway, odd below: rounds up
    memcpy(&x, &bits, 4);
    EXPECT_EQ_INT(f32_to_bf16(x), 0x3f82);
    EXPECT(isnan(bf16_to_f32(f32_to_bf16(NAN))));
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) continue;
        if (f32_to_bf16(bf16_to_f32((uint16_t)h)) != h) { test_fail_at(__FILE__, __LINE__, "bf16 0x%04x does not round-trip", h); break; }
    }
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

TEST(file_mkdir_p_rmtree_and_join) {
    char root[256];
    test_tmp_dir(root, sizeof root, "file_test");
    char *deep = file_path_join(root, "a/b/c");
    EXPECT_STREQ(deep + strlen(root), "/a/b/c");
    LpoiErr err = {{0}};
    EXPECT_MSG(file_mkdir_p(deep, &err) && is_dir(deep), "%s", err.msg);
    EXPECT_MSG(file_mkdir_p(deep, &err), "%s", err.msg);   // existing: fine
    EXPECT_MSG(file_mkdir(test_path(root, "a"), &err), "%s", err.msg);
    // A file where a folder should be: named in the error.
    const char *file = test_path(root, "a/b/f");
    EXPECT(test_write_text(file, "x"));
    EXPECT(!file_mkdir(file, &err) && strstr(err.msg, "exists and is not a folder"));
    EXPECT(!file_mkdir_p(test_path(file, "g"), &err) && strstr(err.msg, "cannot create folder"));
    // rmtree removes links, not what they point to.
    char outside[256];
    test_tmp_dir(outside, sizeof outside, "file_test_outside");
    EXPECT(test_write_text(test_path(outside, "keep"), "k"));
    EXPECT(symlink(outside, test_path(deep, "link")) == 0);
    EXPECT(file_rmtree(root) && !is_dir(root));
    EXPECT(access(test_path(outside, "keep"), F_OK) == 0);
    EXPECT(file_rmtree(outside) && file_rmtree(outside));   // gone: still true
    free(deep);
}

TEST(strbuf_grows_and_escapes_json) {
    StrBuf b = {0};
    strbuf_put(&b, "", 0);
    EXPECT(b.s && b.len == 0 && b.s[0] == 0);
    for (int i = 0; i < 1000; i++) strbuf_printf(&b, "%d,", i % 10);
    EXPECT_EQ_INT((int)b.len, 2000);
    EXPECT(b.s[b.len] == 0 && !strncmp(b.s + 1980, "0,1,2,3,4,", 10));
    b.len = 0;
    strbuf_json_str(&b, "a\"b\\c\n\x01\xc3\xa9");
    EXPECT_STREQ(b.s, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
    free(b.s);
}

// Issue 16, finding 7: LPOI_THREADS of 0, -1 or "abc" meant every CPU and 1.5 meant 1.
TEST(threads_count_parsed_strictly) {
    static const char *const bad[] = {"0", "-1", "abc", "1.5", " 2", "2 ", "+3", "0x4"};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(bad); i++) {
        int n = -7;
        LpoiErr err = {{0}};
        EXPECT_MSG(!threads_parse_count(bad[i], &n, &err), "\"%s\" accepted as %d", bad[i], n);
        EXPECT_MSG(strstr(err.msg, "LPOI_THREADS=") && n == -7, "%s", err.msg);
    }
    int n = 0;
    LpoiErr err = {{0}};
    EXPECT(threads_parse_count("3", &n, &err) && n == 3);
    EXPECT(threads_parse_count("007", &n, &err) && n == 7);
    // More than the pool's maximum is capped, however many digits (9999 was refused as "not a number").
    int big = 0, huge = 0;
    EXPECT(threads_parse_count("1000", &big, &err) && threads_parse_count("99999999999999999999", &huge, &err));
    EXPECT_MSG(big == huge && big >= 2 && big < 1000, "%d %d", big, huge);
    EXPECT(threads_parse_count("9999", &n, &err) && n == big);
}

// Issue 16, finding 2: every write goes through a checked path; a full disk is an error naming
// the file. /dev/full fails every write with ENOSPC; the fault hook fails one chosen operation.
TEST(file_writes_fail_loudly) {
    FileOut o;
    LpoiErr err = {{0}};
    EXPECT(file_out_open(&o, "/dev/full", false, &err));
    file_out_printf(&o, "{\"step\": %d}\n", 1);
    EXPECT(!file_out_close(&o, &err));
    EXPECT_MSG(strstr(err.msg, "/dev/full: write failed: No space left on device") != NULL, "%s", err.msg);
    char dir[128];
    test_tmp_dir(dir, sizeof dir, "faults");
    const char *path = test_path(dir, "x.json");
    static const char *const specs[] = {"write:1:fail", "fsync:1:fail", "rename:1:fail"};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(specs); i++) {
        EXPECT(file_write_atomic(path, "old", 3, &err));
        file_fault_set(specs[i]);
        memset(&err, 0, sizeof err);
        EXPECT_MSG(!file_write_atomic(path, "new", 3, &err), "%s", specs[i]);
        file_fault_set(NULL);
        EXPECT_MSG(strstr(err.msg, "x.json") != NULL, "%s: %s", specs[i], err.msg);
        char *text = test_read_text(path);
        EXPECT_MSG(text && !strcmp(text, "old"), "%s: the old file was not kept", specs[i]);
        free(text);
        DIR *d = opendir(dir);
        int files = 0;
        for (struct dirent *e; d && (e = readdir(d));) files += e->d_name[0] != '.';
        if (d) closedir(d);
        EXPECT_MSG(files == 1, "%s: %d files left (a temp file remained)", specs[i], files);
    }
    file_rmtree(dir);
}
