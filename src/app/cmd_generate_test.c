// cmd_generate_test.c — `lpoi generate` as a user runs it (issue 16): --batch from a pipe answers
// (the input is read once: it was counted, rewound and read again, which a pipe cannot do), and a
// failed write of the answer to stdout is exit 1, not a silent 0.
#include "test/test.h"
#include "app/commands.h"
#include "base/file.h"
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TINY "testdata/tiny_llava"

TEST(generate_batch_reads_a_pipe) {
    char chelsea[PATH_MAX];
    if (access(TINY "/config.json", R_OK) || !realpath("testdata/images/photos/chelsea.png", chelsea)) {
        test_skip(TINY " or testdata/images/photos/chelsea.png not found");
        return;
    }
    char dir[128], out[256], line[PATH_MAX + 128];
    test_tmp_dir(dir, sizeof dir, "gen_pipe");
    snprintf(out, sizeof out, "%s/answers.jsonl", dir);
    // A relative image path: from the current folder (the batch's "folder" /dev means nothing).
    int n = snprintf(line, sizeof line, "{\"image\": \"%s\", \"prompt\": \"What is it?\"}\n",
                     "testdata/images/photos/chelsea.png");
    int p[2];
    EXPECT(pipe(p) == 0);
    EXPECT(write(p[1], line, (size_t)n) == n);
    close(p[1]);
    int saved = dup(0);
    dup2(p[0], 0);
    close(p[0]);
    char *argv[] = {"generate", "--model", TINY, "--batch", "/dev/stdin", "--out", out, "--max-new", "3"};
    char *printed = NULL;
    int rc = test_run_command(cmd_generate, (int)(sizeof argv / sizeof *argv), argv, &printed);
    dup2(saved, 0);
    close(saved);
    EXPECT_MSG(rc == 0, "exit %d: %s", rc, printed);
    free(printed);
    char *text = test_read_text(out);
    EXPECT_MSG(text && strstr(text, "\"answer\"") && strchr(text, '\n') == text + strlen(text) - 1, "%s", text ? text : "(none)");
    free(text);
    file_rmtree(dir);
}

TEST(generate_answer_to_full_stdout_fails) {
    if (access(TINY "/config.json", R_OK) || access("testdata/images/photos/chelsea.png", R_OK)) {
        test_skip(TINY " or testdata/images/photos/chelsea.png not found");
        return;
    }
    char *argv[] = {"generate", "--model", TINY, "--image", "testdata/images/photos/chelsea.png", "--prompt", "Hi",
                    "--max-new", "3"};
    fflush(stdout);
    int saved = dup(1), full = open("/dev/full", O_WRONLY);
    if (full < 0) { close(saved); test_skip("/dev/full not available"); return; }
    dup2(full, 1);
    close(full);
    int rc = cmd_generate((int)(sizeof argv / sizeof *argv), argv);
    fflush(stdout);
    clearerr(stdout);
    dup2(saved, 1);
    close(saved);
    EXPECT_EQ_INT(rc, 1);
}
