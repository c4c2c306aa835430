// negatives_preview.c — the contact sheet of `lpoi negatives --preview` (negatives_preview.h).
#include "lpoi/negatives_preview.h"
#include "image/plot.h"
#include "image/resample.h"
#include "base/check.h"
#include <stdio.h>
#include <string.h>

enum { MARGIN = 10, GAP = 6, CAPTION = 16, HEADER = 34 };

static int row_height(const NegPreview *p) { return CAPTION + p->cell + GAP; }

void neg_preview_init(NegPreview *p, int max_rows, int L, int cell) {
    LPOI_ASSERT(max_rows >= 1 && L >= 1 && cell >= 8);
    *p = (NegPreview){.max_rows = max_rows, .L = L, .cell = cell};
    p->sheet = plot_canvas(2 * MARGIN + L * cell + (L - 1) * GAP, HEADER + max_rows * row_height(p) + MARGIN);
    static const uint8_t ink[3] = {30, 30, 30};
    plot_text(&p->sheet, MARGIN, 8, 2, "LPOI LISTS", ink);
    char sub[96];
    snprintf(sub, sizeof sub, "IMAGE K MASKS (K-1)/%d OF THE BOX", L - 1);
    plot_text(&p->sheet, MARGIN + plot_text_width("LPOI LISTS", 2) + 12, 14, 1, sub, ink);
    for (int k = 0; k < L; k++) {
        char lab[16];
        snprintf(lab, sizeof lab, "K = %d", k + 1);
        plot_text(&p->sheet, MARGIN + k * (cell + GAP), 26, 1, lab, ink);
    }
}

bool neg_preview_add(NegPreview *p, const Image *list, const char *caption, LpoiErr *err) {
    if (p->rows >= p->max_rows) return true;
    static const uint8_t ink[3] = {30, 30, 30}, frame[3] = {200, 200, 200};
    int y0 = HEADER + p->rows * row_height(p);
    plot_text(&p->sheet, MARGIN, y0 + 4, 1, caption, ink);
    for (int k = 0; k < p->L; k++) {
        const Image *src = &list[k];
        double s = (double)p->cell / (src->w > src->h ? src->w : src->h);
        int w = (int)(src->w * s + 0.5), h = (int)(src->h * s + 0.5);
        w = w < 1 ? 1 : w;
        h = h < 1 ? 1 : h;
        Image t;
        if (!image_resize(&t, src, w, h, RESAMPLE_BILINEAR, err)) return false;
        int cx = MARGIN + k * (p->cell + GAP), cy = y0 + CAPTION;
        draw_fill_rect(&p->sheet, (ImgRect){cx - 1, cy - 1, cx + p->cell + 1, cy + p->cell + 1}, frame);
        draw_fill_rect(&p->sheet, (ImgRect){cx, cy, cx + p->cell, cy + p->cell}, (const uint8_t[3]){255, 255, 255});
        int ox = cx + (p->cell - w) / 2, oy = cy + (p->cell - h) / 2;
        for (int y = 0; y < h; y++) memcpy(image_pixel(&p->sheet, ox, oy + y), image_pixel(&t, 0, y), (size_t)w * 3);
        image_free(&t);
    }
    p->rows++;
    return true;
}

bool neg_preview_write(const NegPreview *p, const char *path, LpoiErr *err) {
    Image out = image_new(p->sheet.w, HEADER + p->rows * row_height(p) + MARGIN);
    memcpy(out.data, p->sheet.data, (size_t)out.w * out.h * 3);
    bool ok = image_write_png(&out, path, err);
    image_free(&out);
    return ok;
}

void neg_preview_free(NegPreview *p) {
    image_free(&p->sheet);
    memset(p, 0, sizeof *p);
}
