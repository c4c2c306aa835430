// plot.h — the pictures `lpoi demo` and `lpoi plot` write, drawn into RGB8 images (image.h) with no
// library: a 5x7 bitmap font (A-Z, 0-9 and a little punctuation; lower case is drawn as upper case),
// thick lines, line charts of training curves (raw values pale, a trailing mean on top), a strip of
// images side by side with a bar per image; and the reader of a training log (RUN/log.jsonl, one
// JSON object per optimiser step, as lpoi/trainer.c writes it) with the loss chart both commands draw.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "base/error.h"
#include "image/draw.h"
#include "image/image.h"

// A new white w x h image to draw on.
Image plot_canvas(int w, int h);

// Text in the 5x7 font, each font pixel `scale` x `scale`, top-left at (x, y); clipped to the image.
// Characters without a glyph are drawn as a blank.
void plot_text(Image *img, int x, int y, int scale, const char *s, const uint8_t rgb[3]);
int plot_text_width(const char *s, int scale);   // 6 · scale per character, less the last gap
// A line `width` pixels thick (squares stamped along a Bresenham path), clipped to the image.
void plot_line(Image *img, int x0, int y0, int x1, int y1, int width, const uint8_t rgb[3]);

typedef struct {
    const char *label;   // NULL: not in the legend
    const double *y;     // [n]; non-finite values are skipped
    int n;
    uint8_t rgb[3];
    int width;           // line width in pixels (0: 2)
    int smooth;          // > 1: every raw value as a thin pale line under everything, and on top the
                         // trailing mean over `smooth` values (finite ones) in rgb; <= 1: the raw line
} PlotSeries;

// A line chart of the series against x = 1..n filling `box` of img: y from 0 (or the smallest value
// when negative) to the largest, with axes, a few labelled y ticks, x labels x_first / x_last at the
// ends, a title and a legend; inside box but for text too long for it (margins: 64 left, 44 top, 40 bottom).
void plot_chart(Image *img, ImgRect box, const char *title, const char *xlabel, long x_first, long x_last,
                const PlotSeries *series, int n_series);
// plot_chart on a new white w x h image, x labelled 1 .. the longest n.
Image plot_curves(const char *title, const char *xlabel, const PlotSeries *series, int n_series, int w, int h);
// The smoothing window plot_log_losses uses for n steps: 1 below 20, n/10 below 100, else
// max(10, n/50).
int plot_smooth_window(int n);

// The images (each W x H, all the same size) side by side, magnified `scale` times (nearest
// neighbour), each with labels[i] above it (NULL: none); with values (NULL: none) a bar chart row
// below: one bar per image from a zero line, green up for positive, red down for negative, scaled to
// the largest |value|, with the value printed. A title line on top.
Image plot_strip(const Image *images, int n, int scale, const char *const *labels, const double *values,
                 const char *values_caption, const char *title);

// ---- training logs (RUN/log.jsonl) ----
typedef enum {
    PLOG_STEP, PLOG_LOSS, PLOG_DPO, PLOG_ANCHOR, PLOG_LIST, PLOG_COND, PLOG_ACC, PLOG_MARGIN, PLOG_LIST_FULL_ACC,
    PLOG_LR, PLOG_GRAD_NORM, PLOG_NCOLS
} PlotLogCol;
extern const char *const PLOT_LOG_KEYS[PLOG_NCOLS];   // "step", "loss", "dpo", ... (the log's keys)

typedef struct {
    int n;                        // steps (lines)
    double *col[PLOG_NCOLS];      // [n] each; a key missing from a line is NaN there
    bool has_list;                // some line has "list_full_acc" (a listwise objective: lpoi)
    bool has_cond;                // some line has "reward_crop" or a non-zero "cond" (mdpo)
} PlotLog;

// Reads a training log. Blank lines are skipped; every other line must be a JSON object with a
// numeric "step", and the keys of PLOT_LOG_KEYS it has must be numbers. Errors: the file's own
// ("PATH: ..."), or "PATH:LINE: reason" for a bad line. An empty log is no error (n = 0).
bool plot_log_read(const char *path, PlotLog *l, LpoiErr *err);
void plot_log_free(PlotLog *l);

// The loss chart of a log into box: total, text DPO, anchor, listwise (has_list or any non-zero
// value) and conditional (has_cond), each smoothed (plot_smooth_window) over its raw values;
// x labelled with the first and last step. The title gets " - LINES: MEAN OF W STEPS" when W > 1.
void plot_log_losses(Image *img, ImgRect box, const PlotLog *l, const char *title);
