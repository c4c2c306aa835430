// cmd_negatives_resume_test.c — `lpoi negatives --resume` after a kill: a child process is killed
// (file fault hook, _exit 137 as kill -9) while writing record 2's PNGs; the resumed run keeps
// records 0 and 1 as they were (same files, not made again), makes the rest, and writes the same
// manifest as an uninterrupted run. A cut journal line is ignored; a journal of other options is
// refused with the output left as it was.
#include "test/test.h"
#include "app/commands.h"
#include "base/file.h"
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static ino_t inode_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

TEST(cmd_negatives_resume_after_kill) {
    char dir[256], cwd[PATH_MAX], data[300], out[300], ref[300];
    static char text[4 * PATH_MAX + 512];
    test_tmp_dir(dir, sizeof dir, "neg_resume");
    if (!getcwd(cwd, sizeof cwd)) return;
    snprintf(data, sizeof data, "%s/data.jsonl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    const char *img = test_path(cwd, "testdata/images/rgb.png");
    snprintf(text, sizeof text,
             "{\"img_path\": \"%s\", \"boxes\": [[0, 0, 3, 3]]}\n{\"img_path\": \"%s\", \"boxes\": [[5, 1, 9, 6]]}\n"
             "{\"img_path\": \"%s\", \"boxes\": [[1, 1, 4, 4]]}\n{\"img_path\": \"%s\", \"boxes\": [[9, 0, 13, 7]]}\n",
             img, img, img, img);
    test_write_text(data, text);
    char *argv_ref[] = {"negatives", "--data", data, "--out", ref, "--list-size", "3", NULL};
    EXPECT_COMMAND_EXIT(cmd_negatives, 0, 7, argv_ref);

    // Killed at the 7th rename: records 0 and 1 (3 PNGs each) are done, record 2 is not.
    char *argv[] = {"negatives", "--data", data, "--out", out, "--list-size", "3", NULL};
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        file_fault_set("rename:7");
        cmd_negatives(7, argv);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 137, "child status %d", status);
    EXPECT(access(test_path(out, "manifest.jsonl"), F_OK) != 0);   // no commit, no manifest
    ino_t before = inode_of(test_path(out, "0/1.png"));
    EXPECT(before != 0);

    char *argv_resume[] = {"negatives", "--data", data, "--out", out, "--list-size", "3", "--resume", NULL};
    char *printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 8, argv_resume, &printed), 0);
    EXPECT_MSG(printed && strstr(printed, "resumed: 2 records finished by an earlier run"), "%s", printed);
    free(printed);
    EXPECT_EQ_INT(inode_of(test_path(out, "0/1.png")), before);   // not made again
    char *m_ref = test_read_text(test_path(ref, "manifest.jsonl")), *m = test_read_text(test_path(out, "manifest.jsonl"));
    EXPECT(m_ref && m && !strcmp(m, m_ref));
    free(m);
    for (int r = 0; r < 4; r++)
        for (int k = 1; k <= 3; k++) {
            char name[32];
            snprintf(name, sizeof name, "%d/%d.png", r, k);
            uint32_t ca = 0, cb = 1;
            uint64_t na = 0, nb = 1;
            LpoiErr err;
            bool ok = file_crc32(test_path(out, name), &ca, &na, &err) && file_crc32(test_path(ref, name), &cb, &nb, &err);
            EXPECT_MSG(ok && ca == cb && na == nb, "%s differs", name);
        }

    // A line cut by a kill at the end of the journal is ignored; the finished records are kept.
    FILE *j = fopen(test_path(out, "journal.jsonl"), "a");
    if (j) { fputs("{\"index\": 4, \"skipped\": fal", j); fclose(j); }
    printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 8, argv_resume, &printed), 0);
    EXPECT_MSG(printed && strstr(printed, "resumed: 4 records"), "%s", printed);
    free(printed);
    m = test_read_text(test_path(out, "manifest.jsonl"));
    EXPECT(m && m_ref && !strcmp(m, m_ref));
    free(m);
    // A missing PNG makes its record be made again.
    unlink(test_path(out, "3/2.png"));
    printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 8, argv_resume, &printed), 0);
    EXPECT_MSG(printed && strstr(printed, "resumed: 3 records"), "%s", printed);
    free(printed);
    EXPECT(access(test_path(out, "3/2.png"), F_OK) == 0);

    // Other options: refused, the output left as it was.
    char *argv_other[] = {"negatives", "--data", data, "--out", out, "--list-size", "4", "--resume", NULL};
    printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 8, argv_other, &printed), 1);
    EXPECT_MSG(printed && strstr(printed, "other options or another data file"), "%s", printed);
    free(printed);
    m = test_read_text(test_path(out, "manifest.jsonl"));
    EXPECT(m && m_ref && !strcmp(m, m_ref));
    free(m);
    free(m_ref);
    file_rmtree(dir);
}
