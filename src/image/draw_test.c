// draw_test.c — rectangles clipped to the image, position-keyed noise, mean colour, and the
// inscribed ellipse outline checked against an independent brute-force reference (dense sampling of
// the ellipse curve), for symmetry, for having no gaps, and for clipping equal to cropping.
#include "test/test.h"
#include "image/draw.h"
#include "base/check.h"
#include <math.h>
#include <string.h>

static Image grey_image(int w, int h, uint8_t v) {
    Image img = image_new(w, h);
    memset(img.data, v, (size_t)w * h * 3);
    return img;
}

static bool is_rgb(const Image *img, int x, int y, const uint8_t c[3]) {
    const uint8_t *p = image_pixel(img, x, y);
    return p[0] == c[0] && p[1] == c[1] && p[2] == c[2];
}

TEST(draw_fill_rect_clipped) {
    const ImgRect cases[] = {{2, 3, 5, 6}, {-4, -2, 3, 2}, {7, 5, 40, 40}, {-10, -10, 100, 100}, {20, 1, 30, 4},
                             {3, 3, 3, 9}, {5, 2, 4, 6}};
    const uint8_t c[3] = {9, 200, 77};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        Image img = grey_image(11, 8, 50);
        draw_fill_rect(&img, cases[i], c);
        ImgRect k = img_rect_clip(cases[i], 11, 8);
        int64_t painted = 0, wrong = 0;
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 11; x++) {
                bool in = x >= k.x0 && x < k.x1 && y >= k.y0 && y < k.y1;
                painted += is_rgb(&img, x, y, c);
                wrong += in ? !is_rgb(&img, x, y, c) : image_pixel(&img, x, y)[0] != 50;
            }
        EXPECT_EQ_INT(wrong, 0);
        EXPECT_EQ_INT(painted, img_rect_area(k));
        image_free(&img);
    }
    Image img = grey_image(6, 6, 1);
    draw_rect_outline(&img, (ImgRect){1, 1, 5, 5}, 1, c);
    int n = 0;
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 6; x++) n += is_rgb(&img, x, y, c);
    EXPECT_EQ_INT(n, 12);
    EXPECT(!is_rgb(&img, 2, 2, c) && is_rgb(&img, 1, 4, c) && !is_rgb(&img, 0, 0, c));
    image_free(&img);
}

TEST(draw_noise_keyed_by_position) {
    Image a = grey_image(20, 10, 0), b = grey_image(20, 10, 0), c = grey_image(20, 10, 0);
    draw_fill_rect_noise(&a, (ImgRect){2, 2, 9, 7}, 42);
    draw_fill_rect_noise(&b, (ImgRect){0, 0, 20, 10}, 42);
    draw_fill_rect_noise(&c, (ImgRect){0, 0, 20, 10}, 43);
    int mismatch = 0, same_other_seed = 0;
    int hist[256] = {0};
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 20; x++) {
            if (x >= 2 && x < 9 && y >= 2 && y < 7) mismatch += memcmp(image_pixel(&a, x, y), image_pixel(&b, x, y), 3) != 0;
            same_other_seed += memcmp(image_pixel(&b, x, y), image_pixel(&c, x, y), 3) == 0;
            hist[image_pixel(&b, x, y)[0]]++;
        }
    EXPECT_EQ_INT(mismatch, 0);
    EXPECT(same_other_seed < 3);
    int distinct = 0;
    for (int i = 0; i < 256; i++) distinct += hist[i] > 0;
    EXPECT_MSG(distinct > 100, "only %d distinct red values in 200 noise pixels", distinct);
    image_free(&a); image_free(&b); image_free(&c);
}

TEST(draw_mean_colour) {
    Image img = image_new(2, 1);
    uint8_t *p = img.data;
    p[0] = 0; p[1] = 10; p[2] = 255; p[3] = 255; p[4] = 11; p[5] = 255;
    uint8_t m[3];
    image_mean_rgb(&img, m);
    EXPECT_EQ_INT(m[0], 128);   // 127.5 rounds up
    EXPECT_EQ_INT(m[1], 11);    // 10.5 rounds up
    EXPECT_EQ_INT(m[2], 255);
    image_free(&img);
}

// Reference distance from a point to the ellipse curve: the nearest of REF_N points sampled along
// it (independent of the bisection used by draw.c). With perimeters under 100 px the samples are
// < 0.005 px apart, so the distance is exact to ~1e-5 px; pixels within 1e-3 of the threshold are
// skipped as ambiguous.
#define REF_N 20000
static double ref_px[REF_N], ref_py[REF_N];
static void ref_sample(double cx, double cy, double a, double b) {
    for (int i = 0; i < REF_N; i++) {
        double t = 2 * M_PI * i / REF_N;
        ref_px[i] = cx + a * cos(t);
        ref_py[i] = cy + b * sin(t);
    }
}
static double ref_distance(double px, double py) {
    double best = INFINITY;
    for (int i = 0; i < REF_N; i++) {
        double dx = ref_px[i] - px, dy = ref_py[i] - py;
        best = fmin(best, dx * dx + dy * dy);
    }
    return sqrt(best);
}

TEST(draw_ellipse_matches_reference) {
    const struct { ImgRect r; int lw; } cases[] = {
        {{3, 2, 28, 17}, 1}, {{3, 2, 28, 17}, 3}, {{0, 0, 31, 23}, 2}, {{10, 1, 11, 20}, 1},   // 1 px wide
        {{1, 10, 30, 11}, 2}, {{5, 5, 9, 9}, 5}, {{4, 3, 25, 6}, 1}, {{2, 2, 22, 21}, 4}, {{7, 7, 8, 8}, 1}};
    const uint8_t red[3] = {255, 0, 0};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        ImgRect r = cases[i].r;
        int lw = cases[i].lw;
        Image img = grey_image(31, 23, 90);
        draw_ellipse_outline(&img, r, lw, red);
        double cx = 0.5 * (r.x0 + r.x1), cy = 0.5 * (r.y0 + r.y1), a = 0.5 * (r.x1 - r.x0), b = 0.5 * (r.y1 - r.y0);
        ref_sample(cx, cy, a, b);
        int wrong = 0, outside_rect = 0, ambiguous = 0, painted = 0;
        for (int y = 0; y < 23; y++)
            for (int x = 0; x < 31; x++) {
                bool got = is_rgb(&img, x, y, red);
                painted += got;
                bool in_rect = x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1;
                if (got && !in_rect) outside_rect++;
                double px = x + 0.5, py = y + 0.5;
                double f = (px - cx) * (px - cx) / (a * a) + (py - cy) * (py - cy) / (b * b);
                if (fabs(f - 1) < 1e-9) { ambiguous++; continue; }
                bool inside = f < 1;
                EXPECT(inside == ellipse_contains_pixel(r, x, y));
                if (!inside) { wrong += got; continue; }
                double d = ref_distance(px, py);
                if (fabs(d - lw) < 1e-3) { ambiguous++; continue; }
                wrong += got != (d < lw);
            }
        EXPECT_MSG(wrong == 0 && outside_rect == 0 && painted > 0, "case %zu: %d wrong, %d outside rect, %d painted",
                   i, wrong, outside_rect, painted);
        // Symmetry about both axes of the rectangle.
        int asym = 0;
        for (int y = r.y0; y < r.y1; y++)
            for (int x = r.x0; x < r.x1; x++) {
                int mx = r.x0 + r.x1 - 1 - x, my = r.y0 + r.y1 - 1 - y;
                asym += is_rgb(&img, x, y, red) != is_rgb(&img, mx, y, red);
                asym += is_rgb(&img, x, y, red) != is_rgb(&img, x, my, red);
            }
        EXPECT_EQ_INT(asym, 0);
        // No gaps: every column that meets the ellipse has a stroke pixel at its top and bottom
        // inside pixel, every row at its leftmost and rightmost inside pixel.
        int gaps = 0;
        for (int x = r.x0; x < r.x1; x++)
            for (int y = r.y0; y < r.y1; y++)
                if (ellipse_contains_pixel(r, x, y)) {
                    bool first = !ellipse_contains_pixel(r, x, y - 1), last = !ellipse_contains_pixel(r, x, y + 1);
                    if ((first || last) && !is_rgb(&img, x, y, red)) gaps++;
                    bool left = !ellipse_contains_pixel(r, x - 1, y), right = !ellipse_contains_pixel(r, x + 1, y);
                    if ((left || right) && !is_rgb(&img, x, y, red)) gaps++;
                }
        EXPECT_EQ_INT(gaps, 0);
        image_free(&img);
    }
}

TEST(draw_ellipse_thick_is_filled_and_clipping_equals_cropping) {
    const uint8_t red[3] = {255, 0, 0};
    // Stroke thicker than the semi-minor axis: the whole inside is painted.
    Image img = grey_image(20, 12, 0);
    ImgRect r = {1, 2, 19, 9};
    draw_ellipse_outline(&img, r, 4, red);
    int wrong = 0;
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 20; x++) wrong += is_rgb(&img, x, y, red) != ellipse_contains_pixel(r, x, y);
    EXPECT_EQ_INT(wrong, 0);
    image_free(&img);
    // An ellipse hanging over the image border equals the same ellipse on a big canvas, cropped.
    const ImgRect rs[] = {{-7, -3, 15, 9}, {5, 4, 30, 25}, {-20, -20, 40, 40}};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(rs); i++) {
        Image small = grey_image(17, 13, 5), big = grey_image(17 + 60, 13 + 60, 5);
        draw_ellipse_outline(&small, rs[i], 2, red);
        ImgRect shifted = {rs[i].x0 + 30, rs[i].y0 + 30, rs[i].x1 + 30, rs[i].y1 + 30};
        draw_ellipse_outline(&big, shifted, 2, red);
        int diff = 0;
        for (int y = 0; y < 13; y++)
            for (int x = 0; x < 17; x++) diff += memcmp(image_pixel(&small, x, y), image_pixel(&big, x + 30, y + 30), 3) != 0;
        EXPECT_MSG(diff == 0, "case %zu: %d pixels differ", i, diff);
        image_free(&small); image_free(&big);
    }
    // Degenerate input draws nothing.
    Image e = grey_image(5, 5, 3), e0 = grey_image(5, 5, 3);
    draw_ellipse_outline(&e, (ImgRect){2, 2, 2, 4}, 1, red);
    draw_ellipse_outline(&e, (ImgRect){1, 1, 4, 4}, 0, red);
    draw_ellipse_outline(&e, (ImgRect){6, 6, 9, 9}, 1, red);
    EXPECT(image_equal(&e, &e0));
    image_free(&e); image_free(&e0);
}
