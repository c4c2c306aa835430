// plot.h — the pictures `lpoi demo` and `lpoi plot` write, drawn into RGB8 images (image.h) with no
// library: a 5x7 bitmap font (A-Z, 0-9 and a little punctuation; lower case is drawn as upper case),
// thick lines, line charts of training curves (raw values pale, a trailing mean on top), a strip of
// images side by side with a bar per image. lpoi/train_log.h reads a training log and draws its
// loss chart with these.
#pragma once
#include <stdbool.h>
#include <stdint.h>
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
// when negative) to the largest, with axes, five labelled y ticks, x labels x_first / x_last at the
// ends and ticks at round steps between them (x_first..x_last spread over the n points), the x label
// under the axis, the y label (NULL: none) written downwards along the left edge, a title and a
// legend; inside box but for text too long for it (margins: 64 left, 44 top, 40 bottom).
void plot_chart(Image *img, ImgRect box, const char *title, const char *xlabel, const char *ylabel, long x_first,
                long x_last, const PlotSeries *series, int n_series);
// plot_chart on a new white w x h image, x labelled 1 .. the longest n.
Image plot_curves(const char *title, const char *xlabel, const PlotSeries *series, int n_series, int w, int h);
// The smoothing window train_log_plot_losses uses for n steps: 1 below 20, n/10 below 100, else
// max(10, n/50).
int plot_smooth_window(int n);

// The images (each W x H, all the same size) side by side, magnified `scale` times (nearest
// neighbour), each with labels[i] above it (NULL: none); with values (NULL: none) a bar chart row
// below: one bar per image from a zero line, green up for positive, red down for negative, scaled to
// the largest |value|, with the value printed. A title line on top.
Image plot_strip(const Image *images, int n, int scale, const char *const *labels, const double *values,
                 const char *values_caption, const char *title);
