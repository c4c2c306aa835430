// cmd_negatives_write_test.c — `lpoi negatives` when a write fails (issue 16: every write goes
// through a checked path): a failed PNG, manifest write, fsync or rename is exit 1 with a message
// naming the file, and no manifest is left naming PNGs that were not written.
#include "test/test.h"
#include "app/commands.h"
#include "base/file.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(cmd_negatives_failed_write_is_an_error) {
    char dir[256], cwd[PATH_MAX], data[300], out[300], text[PATH_MAX + 128], manifest[400];
    test_tmp_dir(dir, sizeof dir, "neg_write");
    if (!getcwd(cwd, sizeof cwd)) return;
    snprintf(data, sizeof data, "%s/data.jsonl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(manifest, sizeof manifest, "%s/manifest.jsonl", out);
    snprintf(text, sizeof text, "{\"img_path\": \"%s/%s/images/rgb.png\", \"boxes\": [[0, 1, 6, 5]]}\n", cwd, test_data_dir());
    test_write_text(data, text);
    static const char *const specs[] = {"write:1:fail", "write:2:fail", "write:4:fail", "rename:1:fail",
                                        "rename:4:fail", "fsync:1:fail"};
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        file_rmtree(out);
        char *argv[] = {"negatives", "--data", data, "--out", out, "--list-size", "3", NULL};
        file_fault_set(specs[i]);
        char *printed = NULL;
        int rc = test_run_command(cmd_negatives, 7, argv, &printed);
        file_fault_set(NULL);
        EXPECT_MSG(rc == 1, "%s: exit %d: %s", specs[i], rc, printed);
        EXPECT_MSG(printed && strstr(printed, out), "%s: the message does not name the file: %s", specs[i], printed);
        EXPECT_MSG(access(manifest, F_OK) != 0, "%s: a manifest was left", specs[i]);
        free(printed);
    }
    file_rmtree(dir);
}
