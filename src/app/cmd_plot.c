// cmd_plot.c — `lpoi plot RUN [--out FILE.png]`: the curves of a training run's RUN/log.jsonl (as
// `lpoi train` writes it, one JSON object per optimiser step) in one PNG, default RUN/curves.png:
//   top     the losses (total, text DPO, anchor, listwise, conditional when the log has them), each
//           a trailing mean over the pale raw values (train_log_plot_losses, the chart `lpoi demo` draws);
//   middle  list full-order accuracy (the text preference accuracy for dpo / mdpo runs, whose logs
//           have no list), with the held-out one when the run had --eval-data | reward margin;
//   bottom  learning rate | gradient norm (before clipping).
// Accuracy, margin and gradient norm are smoothed like the losses; the learning rate is drawn raw.
// RUN may also be the log file itself. Exit: 0 written, 1 unreadable / malformed / empty log or
// write error ("FILE:LINE: reason" for a bad line), 2 usage error.
#include "app/commands.h"
#include "image/plot.h"
#include "lpoi/train_log.h"
#include "base/check.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char PLOT_USAGE[] =
    "usage: lpoi plot RUN [--out FILE.png]\n"
    "\n"
    "Draws the curves of a training run from RUN/log.jsonl (written by lpoi train; RUN may also be\n"
    "the .jsonl file itself) into one PNG:\n"
    "  losses: total, text DPO, anchor, listwise, conditional (when present); thin pale lines are the\n"
    "          per-step values, the bold lines their trailing mean\n"
    "  list full-order accuracy (preference accuracy without a list; with --eval-data runs also the\n"
    "          held-out list accuracy, held between evaluations) and reward margin\n"
    "  learning rate and gradient norm\n"
    "\n"
    "options:\n"
    "  --out FILE.png  where to write the picture (default RUN/curves.png, or beside the log file)\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status: 0 written, 1 unreadable, malformed or empty log (FILE:LINE: reason) or write\n"
    "error, 2 usage error.\n";

enum { W = 1000, H_LOSS = 420, H_ROW = 280 };

// One row of two charts (single series each) side by side in box.
static void two_charts(Image *img, ImgRect box, const TrainLog *l, const int cols[2], const char *const titles[2],
                       const char *const ylabels[2], const uint8_t rgb[2][3], const int win[2]) {
    long first = lround(l->col[TLOG_STEP][0]), last = lround(l->col[TLOG_STEP][l->n - 1]);
    int mid = (box.x0 + box.x1) / 2;
    for (int i = 0; i < 2; i++) {
        PlotSeries s = {NULL, l->col[cols[i]], l->n, {rgb[i][0], rgb[i][1], rgb[i][2]}, 2, win[i]};
        ImgRect b = {i ? mid : box.x0, box.y0, i ? box.x1 : mid, box.y1};
        plot_chart(img, b, titles[i], "OPTIMISER STEP", ylabels[i], first, last, &s, 1);
    }
}

// The accuracy chart again (over the one two_charts drew) with the held-out list accuracy: each
// evaluation's value held until the next, so the sparse points read as a line.
static void heldout_chart(Image *img, ImgRect box, const TrainLog *l, int train_col, int win) {
    double *held = malloc_check((size_t)l->n * sizeof *held);
    double last = NAN;
    for (int i = 0; i < l->n; i++) held[i] = last = isfinite(l->col[TLOG_EVAL_FULL_ACC][i]) ? l->col[TLOG_EVAL_FULL_ACC][i] : last;
    PlotSeries s[2] = {{"TRAINING STEP", l->col[train_col], l->n, {220, 50, 40}, 2, win},
                       {"HELD-OUT (--EVAL-DATA)", held, l->n, {30, 30, 30}, 3, 1}};
    for (int y = box.y0; y < box.y1; y++)   // clear the single-series chart first
        memset(img->data + ((size_t)y * img->w + box.x0) * 3, 255, (size_t)(box.x1 - box.x0) * 3);
    plot_chart(img, box, "LIST FULL-ORDER ACCURACY", "OPTIMISER STEP", "ACCURACY", lround(l->col[TLOG_STEP][0]),
               lround(l->col[TLOG_STEP][l->n - 1]), s, 2);
    free(held);
}

int cmd_plot(int argc, char **argv) {
    const char *run = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(PLOT_USAGE, stdout); return 0; }
        if (!strcmp(a, "--out")) {
            if (i + 1 >= argc) { fprintf(stderr, "lpoi plot: --out needs a FILE.png\n"); return 2; }
            out = argv[++i];
        } else if (!strncmp(a, "--out=", 6)) {
            out = a + 6;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "lpoi plot: unknown option '%s' (see lpoi plot --help)\n", a);
            return 2;
        } else if (run) {
            fprintf(stderr, "lpoi plot: one RUN only ('%s' and '%s')\n", run, a);
            return 2;
        } else {
            run = a;
        }
    }
    if (!run) { fprintf(stderr, "lpoi plot: no RUN given (see lpoi plot --help)\n"); return 2; }
    if (out && !*out) { fprintf(stderr, "lpoi plot: --out needs a FILE.png\n"); return 2; }

    // RUN/log.jsonl, or RUN itself when it is a file; the PNG goes to RUN/ or beside the file.
    struct stat st;
    bool is_file = stat(run, &st) == 0 && S_ISREG(st.st_mode);
    size_t rl = strlen(run);
    char *log_path = malloc_check(rl + 16), *png = NULL;
    if (is_file) {
        snprintf(log_path, rl + 16, "%s", run);
        if (!out) {
            const char *slash = strrchr(run, '/');
            size_t dl = slash ? (size_t)(slash - run) + 1 : 0;
            png = malloc_check(dl + 16);
            memcpy(png, run, dl);
            snprintf(png + dl, 16, "curves.png");
        }
    } else {
        snprintf(log_path, rl + 16, "%s%slog.jsonl", run, rl && run[rl - 1] == '/' ? "" : "/");
        if (!out) {
            png = malloc_check(rl + 16);
            snprintf(png, rl + 16, "%s%scurves.png", run, rl && run[rl - 1] == '/' ? "" : "/");
        }
    }
    if (out) png = strdup(out);

    int rc = 1;
    LpoiErr err = {{0}};
    TrainLog l;
    if (!train_log_read(log_path, &l, &err)) {
        fprintf(stderr, "lpoi plot: %s\n", err.msg);
        free(log_path);
        free(png);
        return 1;
    }
    if (l.n == 0) {
        fprintf(stderr, "lpoi plot: %s: the log is empty (no optimiser step logged yet); nothing to plot\n", log_path);
        train_log_free(&l);
        free(log_path);
        free(png);
        return 1;
    }
    Image img = plot_canvas(W, H_LOSS + 2 * H_ROW);
    char title[96];
    snprintf(title, sizeof title, "TRAINING LOSSES, %d STEP%s", l.n, l.n == 1 ? "" : "S");
    train_log_plot_losses(&img, (ImgRect){0, 0, W, H_LOSS}, &l, title);
    const int win = plot_smooth_window(l.n);
    {
        const int cols[2] = {l.has_list ? TLOG_LIST_FULL_ACC : TLOG_ACC, TLOG_MARGIN};
        const char *const titles[2] = {l.has_list ? "LIST FULL-ORDER ACCURACY" : "PREFERENCE ACCURACY",
                                       "REWARD MARGIN (CHOSEN - REJECTED)"};
        const uint8_t rgb[2][3] = {{220, 50, 40}, {40, 90, 220}};
        const char *const ylabels[2] = {"ACCURACY", "MARGIN"};
        two_charts(&img, (ImgRect){0, H_LOSS, W, H_LOSS + H_ROW}, &l, cols, titles, ylabels, rgb, (const int[2]){win, win});
        if (l.has_eval) heldout_chart(&img, (ImgRect){0, H_LOSS, W / 2, H_LOSS + H_ROW}, &l, cols[0], win);
    }
    {
        const int cols[2] = {TLOG_LR, TLOG_GRAD_NORM};
        const char *const titles[2] = {"LEARNING RATE", "GRADIENT NORM"};
        const uint8_t rgb[2][3] = {{40, 160, 60}, {30, 30, 30}};
        const char *const ylabels[2] = {"LR", "NORM"};
        two_charts(&img, (ImgRect){0, H_LOSS + H_ROW, W, H_LOSS + 2 * H_ROW}, &l, cols, titles, ylabels, rgb,
                   (const int[2]){1, win});
    }
    if (image_write_png(&img, png, &err)) {
        printf("wrote %s (%d steps from %s)\n", png, l.n, log_path);
        rc = 0;
    } else {
        fprintf(stderr, "lpoi plot: %s\n", err.msg);
    }
    image_free(&img);
    train_log_free(&l);
    free(log_path);
    free(png);
    return rc;
}
