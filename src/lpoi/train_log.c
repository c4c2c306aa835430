// train_log.c — see train_log.h.
#include "lpoi/train_log.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const TRAIN_LOG_KEYS[TLOG_NCOLS] = {"step", "loss", "dpo", "anchor", "list", "cond", "acc", "margin",
                                               "list_full_acc", "lr", "grad_norm", "eval_list_full_acc",
                                               "eval_list_pair_acc", "eval_S_gap"};

void train_log_free(TrainLog *l) {
    for (int c = 0; c < TLOG_NCOLS; c++) free(l->col[c]);
    memset(l, 0, sizeof *l);
}

// One line into column row l->n (capacity already there).
static bool log_line(TrainLog *l, const char *line, size_t len, LpoiErr *err) {
    LpoiErr e = {{0}};
    JsonDoc *doc = json_parse(line, len, &e);
    if (!doc) return err_set(err, "not JSON (%s)", e.msg);
    const JsonValue *r = json_root(doc);
    bool ok = r->type == JSON_OBJECT;
    if (!ok) err_set(err, "not a JSON object");
    for (int c = 0; c < TLOG_NCOLS && ok; c++) {
        const JsonValue *v = json_get(r, TRAIN_LOG_KEYS[c]);
        double *dst = &l->col[c][l->n];
        *dst = NAN;
        if (!v) {
            if (c == TLOG_STEP) ok = err_set(err, "no \"step\"");
        } else if (!json_get_f64(r, TRAIN_LOG_KEYS[c], dst)) {
            ok = err_set(err, "\"%s\" is not a number", TRAIN_LOG_KEYS[c]);
        }
    }
    if (ok) {
        if (json_get(r, "list_full_acc")) l->has_list = true;
        if (json_get(r, "eval_list_full_acc")) l->has_eval = true;
        double cond = l->col[TLOG_COND][l->n];
        if (json_get(r, "reward_crop") || (isfinite(cond) && cond != 0)) l->has_cond = true;
    }
    json_free(doc);
    return ok;
}

bool train_log_read(const char *path, TrainLog *l, LpoiErr *err) {
    memset(l, 0, sizeof *l);
    size_t size;
    char *text = file_read_all(path, 1u << 30, &size, err);
    if (!text) return false;
    int cap = 0, lineno = 0;
    bool ok = true;
    for (char *line = text, *end = text + size; ok && line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
        lineno++;
        if (len && line[len - 1] == '\r') len--;
        bool blank = true;
        for (size_t i = 0; i < len && blank; i++) blank = line[i] == ' ' || line[i] == '\t';
        if (!blank) {
            if (l->n == cap) {
                cap = cap ? 2 * cap : 256;
                for (int c = 0; c < TLOG_NCOLS; c++) l->col[c] = realloc_check(l->col[c], (size_t)cap * sizeof(double));
            }
            LpoiErr e = {{0}};
            if (log_line(l, line, len, &e)) l->n++;
            else ok = err_set(err, "%s:%d: %s", path, lineno, e.msg);
        }
        line = nl ? nl + 1 : end;
    }
    free(text);
    if (!ok) train_log_free(l);
    return ok;
}

void train_log_plot_losses(Image *img, ImgRect box, const TrainLog *l, const char *title) {
    static const int cols[] = {TLOG_LOSS, TLOG_DPO, TLOG_ANCHOR, TLOG_LIST, TLOG_COND};
    static const char *const names[] = {"TOTAL", "TEXT DPO", "ANCHOR", "LISTWISE (PLACKETT-LUCE)", "CONDITIONAL (MDPO)"};
    static const uint8_t rgb[][3] = {{30, 30, 30}, {40, 90, 220}, {40, 160, 60}, {220, 50, 40}, {150, 60, 190}};
    const int win = plot_smooth_window(l->n);
    PlotSeries s[5];
    int ns = 0;
    for (int c = 0; c < 5; c++) {
        bool show = true;
        if (cols[c] == TLOG_LIST) {
            show = l->has_list;
            for (int i = 0; i < l->n && !show; i++) show = isfinite(l->col[TLOG_LIST][i]) && l->col[TLOG_LIST][i] != 0;
        } else if (cols[c] == TLOG_COND) {
            show = l->has_cond;
        }
        if (show) s[ns++] = (PlotSeries){names[c], l->col[cols[c]], l->n, {rgb[c][0], rgb[c][1], rgb[c][2]}, 2, win};
    }
    char full[256];
    if (win > 1) snprintf(full, sizeof full, "%s - LINES: MEAN OF %d STEPS", title ? title : "", win);
    else snprintf(full, sizeof full, "%s", title ? title : "");
    long first = l->n ? lround(l->col[TLOG_STEP][0]) : 1, last = l->n ? lround(l->col[TLOG_STEP][l->n - 1]) : 1;
    plot_chart(img, box, full, "OPTIMISER STEP", "LOSS", first, last, s, ns);
}
