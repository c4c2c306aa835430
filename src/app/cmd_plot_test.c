// cmd_plot_test.c — `lpoi plot` end to end: a small log.jsonl in a run folder becomes RUN/curves.png
// (or --out) that decodes to the promised size with the loss colours in it; a malformed line is an
// error "FILE:LINE: reason" with exit 1 and no PNG; an empty or missing log exits 1; usage errors 2.
#include "test/test.h"
#include "app/commands.h"
#include "base/check.h"
#include "base/file.h"
#include "image/image.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_rgb(const Image *img, const uint8_t rgb[3]) {
    int n = 0;
    for (int y = 0; y < img->h; y++)
        for (int x = 0; x < img->w; x++) n += !memcmp(image_pixel(img, x, y), rgb, 3);
    return n;
}

TEST(cmd_plot_writes_curves_png) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "plot_cmd");
    char log[300], png[300], out[300];
    snprintf(log, sizeof log, "%s/log.jsonl", dir);
    snprintf(png, sizeof png, "%s/curves.png", dir);
    snprintf(out, sizeof out, "%s/other.png", dir);
    // 40 steps of an lpoi run, the fields trainer.c writes (a subset of them).
    size_t cap = 1 << 16, len = 0;
    char *text = malloc_check(cap);
    for (int s = 1; s <= 40; s++)
        len += (size_t)snprintf(text + len, cap - len,
                                "{\"step\": %d, \"epoch\": %.4f, \"loss\": %.6f, \"dpo\": %.6f, \"anchor\": %.6f, "
                                "\"list\": %.6f, \"cond\": 0, \"margin\": %.6f, \"acc\": 0.5, \"S\": [0, 0, 0], "
                                "\"list_full_acc\": %.3f, \"lr\": %.9g, \"grad_norm\": %.6f}\n",
                                s, s / 40.0, 6.0 - 0.1 * s + (s % 3) * 0.2, 0.69 - 0.01 * s, 0.69 - 0.005 * s,
                                4.7 - 0.08 * s, 0.02 * s, s / 40.0, 1e-6 * (s < 5 ? s / 5.0 : 1.0), 1.0 + 0.1 * (s % 4));
    test_write_text(log, text);
    free(text);

    char *printed;
    char *argv[] = {"plot", dir, NULL};
    int rc = test_run_command(cmd_plot, 2, argv, &printed);
    EXPECT_MSG(rc == 0, "lpoi plot exited %d: %s", rc, printed);
    free(printed);
    Image img = {0};
    LpoiErr err = {{0}};
    EXPECT_MSG(image_decode_file(&img, png, NULL, &err), "%s", err.msg);
    EXPECT(img.w == 1000 && img.h == 420 + 2 * 280);
    // The loss lines in their colours: total (ink), DPO (blue), listwise (red); no conditional term.
    static const uint8_t TOTAL[3] = {30, 30, 30}, DPO[3] = {40, 90, 220}, LIST[3] = {220, 50, 40}, COND[3] = {150, 60, 190};
    if (img.data) {
        EXPECT(count_rgb(&img, TOTAL) > 200);
        EXPECT(count_rgb(&img, DPO) > 200);
        EXPECT(count_rgb(&img, LIST) > 200);
        EXPECT_EQ_INT(count_rgb(&img, COND), 0);
    }
    image_free(&img);

    // --out, and RUN given as the log file itself.
    char *argv2[] = {"plot", log, "--out", out, NULL};
    rc = test_run_command(cmd_plot, 4, argv2, &printed);
    EXPECT_MSG(rc == 0 && exists(out), "lpoi plot --out exited %d: %s", rc, printed);
    free(printed);
    unlink(out);

    // A malformed line: FILE:LINE: reason, exit 1, nothing written.
    unlink(png);
    test_write_text(log, "{\"step\": 1, \"loss\": 1}\n\n{\"step\": 2, \"loss\": 1\n");
    rc = test_run_command(cmd_plot, 2, argv, &printed);
    EXPECT_EQ_INT(rc, 1);
    char want[400];
    snprintf(want, sizeof want, "lpoi plot: %s:3: not JSON", log);
    EXPECT_MSG(!strncmp(printed, want, strlen(want)), "printed \"%s\", want \"%s...\"", printed, want);
    EXPECT(!exists(png));
    free(printed);

    // An empty log: a clear message, exit 1.
    test_write_text(log, "\n");
    rc = test_run_command(cmd_plot, 2, argv, &printed);
    EXPECT_EQ_INT(rc, 1);
    EXPECT_MSG(strstr(printed, "empty"), "printed \"%s\"", printed);
    EXPECT(!exists(png));
    free(printed);

    // No log at all: the file's error, exit 1.
    unlink(log);
    rc = test_run_command(cmd_plot, 2, argv, &printed);
    EXPECT_EQ_INT(rc, 1);
    EXPECT_MSG(strstr(printed, log), "printed \"%s\"", printed);
    free(printed);

    // Usage errors.
    char *argv3[] = {"plot", NULL};
    rc = test_run_command(cmd_plot, 1, argv3, &printed);
    EXPECT_EQ_INT(rc, 2);
    free(printed);
    char *argv4[] = {"plot", dir, "--bogus", NULL};
    rc = test_run_command(cmd_plot, 3, argv4, &printed);
    EXPECT_EQ_INT(rc, 2);
    free(printed);
    char *argv5[] = {"plot", dir, "--out", NULL};
    rc = test_run_command(cmd_plot, 3, argv5, &printed);
    EXPECT_EQ_INT(rc, 2);
    free(printed);
    rmdir(dir);
}
