// demo_plot.h — the pictures `lpoi demo` writes, drawn into RGB8 images (image.h) with no library:
// a 5x7 bitmap font (A-Z, 0-9 and a little punctuation; lower case is drawn as upper case), thick
// lines, a line chart of training curves, and a strip of images side by side with a bar per image.
#pragma once
#include <stdint.h>
#include "image/image.h"

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
} PlotSeries;

// A w x h line chart of the series against x = 1..n, y from 0 (or the smallest value when negative)
// to the largest, with axes, a few labelled y ticks, first/last x labels, a title and a legend.
Image plot_curves(const char *title, const char *xlabel, const PlotSeries *series, int n_series, int w, int h);

// The images (each W x H, all the same size) side by side, magnified `scale` times (nearest
// neighbour), each with labels[i] above it (NULL: none); with values (NULL: none) a bar chart row
// below: one bar per image from a zero line, green up for positive, red down for negative, scaled to
// the largest |value|, with the value printed. A title line on top.
Image plot_strip(const Image *images, int n, int scale, const char *const *labels, const double *values,
                 const char *values_caption, const char *title);
