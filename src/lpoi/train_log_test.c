// train_log_test.c — the training-log reader keeps missing keys as NaN, skips blank lines and
// names the file and line of a bad one.
#include "test/test.h"
#include "lpoi/train_log.h"
#include "base/check.h"
#include "base/file.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(train_log_read_columns) {
    char path[] = "/tmp/lpoi_train_log_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) LPOI_DIE("mkstemp failed");
    close(fd);
    const char *text = "{\"step\": 1, \"loss\": 2.5, \"dpo\": 0.7, \"cond\": 0, \"lr\": 1e-6}\r\n"
                       "\n"
                       "  \n"
                       "{\"step\": 2, \"loss\": 2, \"list_full_acc\": 0.25, \"grad_norm\": 3}";   // no final newline
    LpoiErr err = {{0}};
    if (!file_write_atomic(path, text, strlen(text), &err)) LPOI_DIE("%s", err.msg);
    TrainLog l;
    EXPECT_MSG(train_log_read(path, &l, &err), "%s", err.msg);
    EXPECT_EQ_INT(l.n, 2);
    if (l.n == 2) {
        EXPECT_NEAR(l.col[TLOG_STEP][1], 2, 0, 0);
        EXPECT_NEAR(l.col[TLOG_LOSS][0], 2.5, 0, 0);
        EXPECT_NEAR(l.col[TLOG_LR][0], 1e-6, 0, 0);
        EXPECT(isnan(l.col[TLOG_LR][1]) && isnan(l.col[TLOG_ANCHOR][0]));
        EXPECT_NEAR(l.col[TLOG_LIST_FULL_ACC][1], 0.25, 0, 0);
        EXPECT(l.has_list && !l.has_cond);
    }
    train_log_free(&l);
    // Bad lines name the file and the line.
    const char *bad[] = {"{\"step\": 1}\n{\"step\": 2, \"loss\": \"x\"}\n", "{\"step\": 1}\n\n[1, 2]\n",
                         "{\"loss\": 1}\n", "{\"step\": 1}\n{\"step\": 2\n"};
    const char *want[] = {":2: \"loss\" is not a number", ":3: not a JSON object", ":1: no \"step\"", ":2: not JSON"};
    for (int i = 0; i < 4; i++) {
        if (!file_write_atomic(path, bad[i], strlen(bad[i]), &err)) LPOI_DIE("%s", err.msg);
        LpoiErr e = {{0}};
        EXPECT(!train_log_read(path, &l, &e));
        char expect[256];
        snprintf(expect, sizeof expect, "%s%s", path, want[i]);
        EXPECT_MSG(!strncmp(e.msg, expect, strlen(expect)), "bad log %d: got \"%s\", want \"%s...\"", i, e.msg, expect);
        EXPECT_EQ_INT(l.n, 0);
    }
    unlink(path);
}
