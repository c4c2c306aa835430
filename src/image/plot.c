// plot.c — see plot.h. Everything is clipped per pixel, so callers may draw anywhere.
#include "image/plot.h"
#include "base/check.h"
#include "image/draw.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// 5x7 glyphs, 7 rows of 5 cells ('#' = ink), in the order of GLYPH_CHARS.
static const char GLYPH_CHARS[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-+:%=/(),_><|'!?\";*";
static const char *const GLYPHS[] = {
    ".###.#...##..###.#.###..##...#.###.",  // 0
    "..#...##....#....#....#....#...###.",  // 1
    ".###.#...#....#...#...#...#...#####",  // 2
    "#####...#...#.....#.....##...#.###.",  // 3
    "...#...##..#.#.#..#.#####...#....#.",  // 4
    "######....####.....#....##...#.###.",  // 5
    "..##..#...#....####.#...##...#.###.",  // 6
    "#####....#...#...#...#....#....#...",  // 7
    ".###.#...##...#.###.#...##...#.###.",  // 8
    ".###.#...##...#.####....#...#..##..",  // 9
    ".###.#...##...#######...##...##...#",  // A
    "####.#...##...#####.#...##...#####.",  // B
    ".###.#...##....#....#....#...#.###.",  // C
    "###..#..#.#...##...##...##..#.###..",  // D
    "######....#....####.#....#....#####",  // E
    "######....#....####.#....#....#....",  // F
    ".###.#...##....#.####...##...#.####",  // G
    "#...##...##...#######...##...##...#",  // H
    ".###...#....#....#....#....#...###.",  // I
    "..###...#....#....#....#.#..#..##..",  // J
    "#...##..#.#.#..##...#.#..#..#.#...#",  // K
    "#....#....#....#....#....#....#####",  // L
    "#...###.###.#.##.#.##...##...##...#",  // M
    "#...##...###..##.#.##..###...##...#",  // N
    ".###.#...##...##...##...##...#.###.",  // O
    "####.#...##...#####.#....#....#....",  // P
    ".###.#...##...##...##.#.##..#..##.#",  // Q
    "####.#...##...#####.#.#..#..#.#...#",  // R
    ".#####....#.....###.....#....#####.",  // S
    "#####..#....#....#....#....#....#..",  // T
    "#...##...##...##...##...##...#.###.",  // U
    "#...##...##...##...##...#.#.#...#..",  // V
    "#...##...##...##.#.##.#.##.#.#.#.#.",  // W
    "#...##...#.#.#...#...#.#.#...##...#",  // X
    "#...##...#.#.#...#....#....#....#..",  // Y
    "#####....#...#...#...#...#....#####",  // Z
    "..........................##...##..",  // .
    "...............#####...............",  // -
    ".......#....#..#####..#....#.......",  // +
    "......##...##........##...##.......",  // :
    "##..###..#...#...#...#...#..###..##",  // %
    "..........#####.....#####..........",  // =
    "....#....#...#...#...#...#....#....",  // /
    "...#...#...#....#....#.....#.....#.",  // (
    ".#.....#.....#....#....#...#...#...",  // )
    ".....................##....#...#...",  // ,
    "..............................#####",  // _
    ".#.....#.....#.....#...#...#...#...",  // >
    "...#...#...#...#.....#.....#.....#.",  // <
    "..#....#....#....#....#....#....#..",  // |
    "..#....#...#.......................",  // '
    "..#....#....#....#....#.........#..",  // !
    ".###.#...#....#...#...#.........#..",  // ?
    ".#.#..#.#..#.#.....................",  // "
    "......##...##........##....#...#...",  // ;
    ".......#..#.#.#.###.#.#.#..#.......",  // *
};

static const char *glyph_of(char c) {
    if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    const char *p = c ? strchr(GLYPH_CHARS, c) : NULL;
    return p ? GLYPHS[p - GLYPH_CHARS] : NULL;
}

int plot_text_width(const char *s, int scale) {
    int n = (int)strlen(s);
    return n ? (6 * n - 1) * scale : 0;
}

void plot_text(Image *img, int x, int y, int scale, const char *s, const uint8_t rgb[3]) {
    for (; *s; s++, x += 6 * scale) {
        const char *g = glyph_of(*s);
        if (!g) continue;
        for (int r = 0; r < 7; r++)
            for (int c = 0; c < 5; c++)
                if (g[r * 5 + c] == '#')
                    draw_fill_rect(img, (ImgRect){x + c * scale, y + r * scale, x + (c + 1) * scale, y + (r + 1) * scale}, rgb);
    }
}

void plot_line(Image *img, int x0, int y0, int x1, int y1, int width, const uint8_t rgb[3]) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;
    int lo = (width - 1) / 2, hi = width / 2 + 1;
    for (;;) {
        draw_fill_rect(img, (ImgRect){x0 - lo, y0 - lo, x0 + hi, y0 + hi}, rgb);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) { e += dy; x0 += sx; }
        if (e2 <= dx) { e += dx; y0 += sy; }
    }
}

static const uint8_t WHITE[3] = {255, 255, 255}, INK[3] = {30, 30, 30}, GRID[3] = {225, 225, 225}, AXIS[3] = {90, 90, 90};

static void fill_all(Image *img, const uint8_t rgb[3]) { draw_fill_rect(img, (ImgRect){0, 0, img->w, img->h}, rgb); }

Image plot_canvas(int w, int h) {
    Image img = image_new(w, h);
    fill_all(&img, WHITE);
    return img;
}

static void fmt_num(char *buf, size_t cap, double v) {
    double a = fabs(v);
    if (a == 0) snprintf(buf, cap, "0");
    else if (a >= 1e5) snprintf(buf, cap, "%.1e", v);
    else if (a >= 100) snprintf(buf, cap, "%.0f", v);
    else if (a >= 1) snprintf(buf, cap, "%.1f", v);
    else if (a >= 0.01) snprintf(buf, cap, "%.2f", v);
    else snprintf(buf, cap, "%.2g", v);   // learning rates: 0.0023, 0.00078, 1.2e-06
}

int plot_smooth_window(int n) { return n < 20 ? 1 : n < 100 ? n / 10 : LPOI_MAX(10, n / 50); }

// Trailing mean over `win` values (the finite ones; NaN where none is).
static void trailing_mean(const double *y, int n, int win, double *out) {
    for (int i = 0; i < n; i++) {
        double sum = 0;
        int cnt = 0;
        for (int j = LPOI_MAX(0, i - win + 1); j <= i; j++)
            if (isfinite(y[j])) { sum += y[j]; cnt++; }
        out[i] = cnt ? sum / cnt : NAN;
    }
}

static void draw_series(Image *img, ImgRect area, int nmax, double ymin, double ymax, const double *y, int n, int lw,
                        const uint8_t rgb[3]) {
    int aw = area.x1 - area.x0, ah = area.y1 - area.y0, px = -1, py = -1;
    for (int i = 0; i < n; i++) {
        double v = y[i];
        if (!isfinite(v)) { px = -1; continue; }
        int x = area.x0 + (nmax > 1 ? (int)lround((double)i / (nmax - 1) * (aw - 1)) : aw / 2);
        int yy = area.y1 - 1 - (int)lround((v - ymin) / (ymax - ymin) * (ah - 1));
        if (px >= 0) plot_line(img, px, py, x, yy, lw, rgb);
        else plot_line(img, x, yy, x, yy, lw, rgb);
        px = x;
        py = yy;
    }
}

// A step of 1, 2 or 5 · 10^k giving about `target` intervals over span.
static long nice_step(long span, int target) {
    double raw = (double)(span > 0 ? span : 1) / target, p = 1;
    while (p * 10 <= raw) p *= 10;
    long s = (long)p;
    return raw <= s ? s : raw <= 2 * s ? 2 * s : raw <= 5 * s ? 5 * s : 10 * s;
}

// The x ticks between x_first and x_last (the ends are labelled by the caller): a mark on the axis at
// every multiple of a nice step, labelled where the label keeps clear of its neighbours.
static void x_ticks(Image *img, ImgRect area, long x_first, long x_last) {
    if (x_last <= x_first) return;
    int aw = area.x1 - area.x0;
    long step = nice_step(x_last - x_first, LPOI_MAX(2, aw / 90));
    int last_right = area.x0 + plot_text_width("0000000", 1);   // clear of the first label
    int end_left = area.x1 - 1 - plot_text_width("0000000", 1);
    for (long v = (x_first / step + 1) * step; v < x_last; v += step) {
        int x = area.x0 + (int)lround((double)(v - x_first) / (double)(x_last - x_first) * (aw - 1));
        plot_line(img, x, area.y1, x, area.y1 + 4, 1, AXIS);
        char lab[32];
        snprintf(lab, sizeof lab, "%ld", v);
        int w = plot_text_width(lab, 1), lx = x - w / 2;
        if (lx > last_right + 6 && lx + w < end_left) {
            plot_text(img, lx, area.y1 + 8, 1, lab, INK);
            last_right = lx + w;
        }
    }
}

// The y-axis label, one letter under the other along the chart's left edge.
static void y_label(Image *img, ImgRect box, ImgRect area, const char *s) {
    int n = (int)strlen(s), h = 9 * n, y = area.y0 + LPOI_MAX(0, (area.y1 - area.y0 - h) / 2);
    for (int i = 0; i < n; i++, y += 9) {
        char one[2] = {s[i], 0};
        plot_text(img, box.x0 + 4, y, 1, one, INK);
    }
}

void plot_chart(Image *img, ImgRect box, const char *title, const char *xlabel, const char *ylabel, long x_first,
                long x_last, const PlotSeries *series, int n_series) {
    const int left = 64, right = 16, top = 44, bottom = 40;
    ImgRect area = {box.x0 + left, box.y0 + top, box.x1 - right, box.y1 - bottom};
    LPOI_ASSERT(area.x1 > area.x0 + 1 && area.y1 > area.y0 + 1);
    double ymin = 0, ymax = 0;
    int nmax = 0;
    for (int s = 0; s < n_series; s++) {
        nmax = LPOI_MAX(nmax, series[s].n);
        for (int i = 0; i < series[s].n; i++)
            if (isfinite(series[s].y[i])) { ymin = fmin(ymin, series[s].y[i]); ymax = fmax(ymax, series[s].y[i]); }
    }
    if (ymax <= ymin) ymax = ymin + 1;
    double span = ymax - ymin;
    ymax += 0.04 * span;
    int aw = area.x1 - area.x0, ah = area.y1 - area.y0;
    // grid and y ticks
    for (int t = 0; t <= 4; t++) {
        double v = ymin + (ymax - ymin) * t / 4;
        int y = area.y1 - (int)lround((v - ymin) / (ymax - ymin) * ah);
        plot_line(img, area.x0, y, area.x1 - 1, y, 1, GRID);
        char lab[32];
        fmt_num(lab, sizeof lab, v);
        plot_text(img, area.x0 - 8 - plot_text_width(lab, 1), y - 3, 1, lab, INK);
    }
    // curves: the pale raw lines of smoothed series first, then every series' line on top
    double *smooth = malloc_check((size_t)LPOI_MAX(nmax, 1) * sizeof *smooth);
    for (int s = 0; s < n_series; s++) {
        if (series[s].smooth <= 1) continue;
        uint8_t pale[3];
        for (int k = 0; k < 3; k++) pale[k] = (uint8_t)(series[s].rgb[k] + (255 - series[s].rgb[k]) * 3 / 4);
        draw_series(img, area, nmax, ymin, ymax, series[s].y, series[s].n, 1, pale);
    }
    for (int s = 0; s < n_series; s++) {
        const double *y = series[s].y;
        if (series[s].smooth > 1) {
            trailing_mean(series[s].y, series[s].n, series[s].smooth, smooth);
            y = smooth;
        }
        draw_series(img, area, nmax, ymin, ymax, y, series[s].n, series[s].width > 0 ? series[s].width : 2, series[s].rgb);
    }
    free(smooth);
    // axes, x labels, title, legend
    plot_line(img, area.x0, area.y0, area.x0, area.y1, 1, AXIS);
    plot_line(img, area.x0, area.y1, area.x1 - 1, area.y1, 1, AXIS);
    char lab[32];
    snprintf(lab, sizeof lab, "%ld", x_first);
    plot_text(img, area.x0 - 2, area.y1 + 8, 1, lab, INK);
    snprintf(lab, sizeof lab, "%ld", x_last);
    plot_text(img, area.x1 - plot_text_width(lab, 1), area.y1 + 8, 1, lab, INK);
    x_ticks(img, area, x_first, x_last);
    if (xlabel) plot_text(img, area.x0 + (aw - plot_text_width(xlabel, 2)) / 2, area.y1 + 18, 2, xlabel, INK);
    if (ylabel) y_label(img, box, area, ylabel);
    if (title) plot_text(img, area.x0, box.y0 + 8, 2, title, INK);
    int lx = area.x0;
    for (int s = 0; s < n_series; s++) {
        if (!series[s].label) continue;
        draw_fill_rect(img, (ImgRect){lx, box.y0 + 28, lx + 14, box.y0 + 36}, series[s].rgb);
        plot_text(img, lx + 18, box.y0 + 29, 1, series[s].label, INK);
        lx += 18 + plot_text_width(series[s].label, 1) + 18;
    }
}

Image plot_curves(const char *title, const char *xlabel, const PlotSeries *series, int n_series, int w, int h) {
    Image img = plot_canvas(w, h);
    int nmax = 0;
    for (int s = 0; s < n_series; s++) nmax = LPOI_MAX(nmax, series[s].n);
    plot_chart(&img, (ImgRect){0, 0, w, h}, title, xlabel, NULL, 1, nmax, series, n_series);
    return img;
}

Image plot_strip(const Image *images, int n, int scale, const char *const *labels, const double *values,
                 const char *values_caption, const char *title) {
    LPOI_ASSERT(n >= 1 && scale >= 1);
    const int gap = 10, margin = 12, title_h = 30, label_h = 18, bar_h = values ? 2 * 60 + 40 : 0;
    int iw = images[0].w * scale, ih = images[0].h * scale;
    int W = 2 * margin + n * iw + (n - 1) * gap, H = margin + title_h + label_h + ih + bar_h + margin;
    Image img = image_new(W, H);
    fill_all(&img, WHITE);
    if (title) plot_text(&img, margin, margin, 2, title, INK);
    int y_img = margin + title_h + label_h;
    double vmax = 0;
    for (int i = 0; values && i < n; i++) if (isfinite(values[i])) vmax = fmax(vmax, fabs(values[i]));
    int zero = y_img + ih + 20 + 60;
    if (values) {
        plot_line(&img, margin, zero, W - margin - 1, zero, 1, AXIS);
        if (values_caption) plot_text(&img, margin, H - margin - 7, 1, values_caption, INK);
    }
    for (int i = 0; i < n; i++) {
        const Image *src = &images[i];
        LPOI_ASSERT(src->w == images[0].w && src->h == images[0].h);
        int x0 = margin + i * (iw + gap);
        for (int y = 0; y < ih; y++)
            for (int x = 0; x < iw; x++) memcpy(image_pixel(&img, x0 + x, y_img + y), image_pixel(src, x / scale, y / scale), 3);
        if (labels && labels[i]) plot_text(&img, x0 + (iw - plot_text_width(labels[i], 1)) / 2, y_img - 13, 1, labels[i], INK);
        if (values && isfinite(values[i])) {
            int len = vmax > 0 ? (int)lround(fabs(values[i]) / vmax * 56) : 0;
            static const uint8_t POS[3] = {40, 160, 60}, NEG[3] = {210, 50, 40};
            int bx0 = x0 + iw / 2 - 14, bx1 = x0 + iw / 2 + 14;
            if (values[i] >= 0) draw_fill_rect(&img, (ImgRect){bx0, zero - len, bx1, zero}, POS);
            else draw_fill_rect(&img, (ImgRect){bx0, zero + 1, bx1, zero + 1 + len}, NEG);
            char lab[32];
            snprintf(lab, sizeof lab, "%+.3f", values[i]);
            int ty = values[i] >= 0 ? zero + 6 : zero - 12;
            plot_text(&img, x0 + (iw - plot_text_width(lab, 1)) / 2, ty, 1, lab, INK);
        }
    }
    return img;
}
