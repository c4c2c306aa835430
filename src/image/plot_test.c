// plot_test.c — the drawing of plot.h: every glyph is 5x7, text lands where plot_text_width says,
// lines reach both end points and stay clipped, the chart / strip come out the promised size with
// the curves and bars in their colours and a chart drawn into a box stays inside it.
#include "test/test.h"
#include "image/plot.h"
#include "base/check.h"
#include "image/draw.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int count_rgb(const Image *img, const uint8_t rgb[3], ImgRect r) {
    int n = 0;
    for (int y = r.y0; y < r.y1; y++)
        for (int x = r.x0; x < r.x1; x++) n += !memcmp(image_pixel(img, x, y), rgb, 3);
    return n;
}

TEST(plot_text_and_lines) {
    static const uint8_t INK[3] = {1, 2, 3};
    Image img = image_new(80, 20);
    const char *s = "S_1 > S_5: 100% \"OK\";*?";
    plot_text(&img, 2, 3, 1, s, INK);
    int w = plot_text_width(s, 1);
    EXPECT_EQ_INT(w, 6 * (int)strlen(s) - 1);
    // Ink only inside the text box, and some in every non-blank glyph cell.
    EXPECT_EQ_INT(count_rgb(&img, INK, (ImgRect){0, 0, 80, 3}), 0);
    EXPECT_EQ_INT(count_rgb(&img, INK, (ImgRect){0, 10, 80, 20}), 0);
    for (size_t i = 0; i < strlen(s) && 2 + 6 * (int)i + 5 <= 80; i++) {
        int ink = count_rgb(&img, INK, (ImgRect){2 + 6 * (int)i, 3, 2 + 6 * (int)i + 5, 10});
        if (s[i] == ' ') EXPECT_EQ_INT(ink, 0);
        else EXPECT_MSG(ink > 0, "glyph '%c' drew nothing", s[i]);
    }
    image_free(&img);
    // Lines: both ends painted, clipped at the border without touching memory outside.
    Image l = image_new(10, 10);
    plot_line(&l, -5, -5, 14, 14, 3, INK);
    EXPECT(!memcmp(image_pixel(&l, 0, 0), INK, 3) && !memcmp(image_pixel(&l, 9, 9), INK, 3));
    EXPECT(memcmp(image_pixel(&l, 9, 0), INK, 3) != 0);
    image_free(&l);
}

TEST(plot_chart_and_strip) {
    double a[50], b[50];
    for (int i = 0; i < 50; i++) { a[i] = 5.0 - 0.1 * i; b[i] = i == 10 ? NAN : 0.5; }
    PlotSeries s[] = {{"TOTAL", a, 50, {200, 0, 0}, 0, 0}, {"DPO", b, 50, {0, 0, 200}, 1, 0}};
    Image c = plot_curves("TITLE", "STEP", s, 2, 300, 200);
    EXPECT(c.w == 300 && c.h == 200);
    EXPECT(count_rgb(&c, s[0].rgb, (ImgRect){60, 40, 300, 200}) > 100);
    EXPECT(count_rgb(&c, s[1].rgb, (ImgRect){60, 40, 300, 200}) > 100);
    image_free(&c);

    Image imgs[3];
    for (int i = 0; i < 3; i++) {
        imgs[i] = image_new(8, 6);
        memset(imgs[i].data, 40 * (i + 1), 8 * 6 * 3);
    }
    const char *labels[] = {"A", "B", "C"};
    double v[] = {1.0, 0.2, -0.5};
    Image st = plot_strip(imgs, 3, 4, labels, v, "CAPTION", "T");
    EXPECT_EQ_INT(st.w, 2 * 12 + 3 * 32 + 2 * 10);
    static const uint8_t POS[3] = {40, 160, 60}, NEG[3] = {210, 50, 40};
    EXPECT(count_rgb(&st, POS, (ImgRect){0, 0, st.w, st.h}) > 0);
    EXPECT(count_rgb(&st, NEG, (ImgRect){0, 0, st.w, st.h}) > 0);
    // The magnified second image: a 32 x 24 block of its colour.
    uint8_t g[3] = {80, 80, 80};
    EXPECT_EQ_INT(count_rgb(&st, g, (ImgRect){0, 0, st.w, st.h}), 32 * 24);
    image_free(&st);
    for (int i = 0; i < 3; i++) image_free(&imgs[i]);
}

TEST(plot_chart_in_box_and_smoothing) {
    // A noisy series smoothed: the pale raw colour and the line colour both appear, and nothing
    // outside the box is touched.
    double y[200];
    for (int i = 0; i < 200; i++) y[i] = 1.0 + (i % 2 ? 0.5 : -0.5) + 1e-6 * i;
    PlotSeries s = {"NOISY", y, 200, {220, 50, 40}, 2, 10};
    Image img = plot_canvas(400, 300);
    ImgRect box = {100, 50, 400, 300};
    plot_chart(&img, box, "T", "STEP", "Y", 7, 206, &s, 1);
    const uint8_t pale[3] = {220 + 35 * 3 / 4, 50 + 205 * 3 / 4, 40 + 215 * 3 / 4}, white[3] = {255, 255, 255};
    EXPECT(count_rgb(&img, s.rgb, box) > 100);
    EXPECT(count_rgb(&img, pale, box) > 100);
    EXPECT_EQ_INT(count_rgb(&img, white, (ImgRect){0, 0, 100, 300}), 100 * 300);
    EXPECT_EQ_INT(count_rgb(&img, white, (ImgRect){100, 0, 400, 50}), 300 * 50);
    // The smoothed line runs at y = 1 (pixel row ~153), the raw values reach 0.5 (row ~206): past the
    // first steps, the rows around 0.5 hold pale ink only.
    ImgRect low = {200, 190, 384, 222};
    EXPECT_EQ_INT(count_rgb(&img, s.rgb, low), 0);
    EXPECT(count_rgb(&img, pale, low) > 20);
    EXPECT(count_rgb(&img, s.rgb, (ImgRect){200, 145, 384, 162}) > 100);
    image_free(&img);
    EXPECT_EQ_INT(plot_smooth_window(10), 1);
    EXPECT_EQ_INT(plot_smooth_window(50), 5);
    EXPECT_EQ_INT(plot_smooth_window(500), 10);
    EXPECT_EQ_INT(plot_smooth_window(5000), 100);
}

// Axes: round-number x ticks between the labelled ends, and the y label along the left edge.
TEST(plot_chart_ticks_and_y_label) {
    double y[200];
    for (int i = 0; i < 200; i++) y[i] = i;
    PlotSeries s = {NULL, y, 200, {220, 50, 40}, 2, 1};
    Image with = plot_canvas(600, 300), without = plot_canvas(600, 300);
    ImgRect box = {0, 0, 600, 300};
    plot_chart(&with, box, "T", "STEP", "LOSS", 1, 200, &s, 1);
    plot_chart(&without, box, "T", "STEP", NULL, 1, 1, &s, 1);
    const int axis_y = 300 - 40;   // area.y1: bottom margin 40; ticks at 50, 100, 150
    int marks_with = 0, marks_without = 0;
    for (int x = 64; x < 600 - 16; x++) {   // the tick marks hang 1..4 px under the axis
        marks_with += image_pixel(&with, x, axis_y + 3)[0] < 128;
        marks_without += image_pixel(&without, x, axis_y + 3)[0] < 128;
    }
    EXPECT_MSG(marks_with == 3 && marks_without == 0, "%d / %d tick marks", marks_with, marks_without);
    int ink_left = 0;   // the stacked y label in the left margin, clear of the tick labels
    for (int yy = 44; yy < axis_y; yy++)
        for (int x = 0; x < 12; x++) ink_left += image_pixel(&with, x, yy)[0] < 128;
    EXPECT(ink_left > 20);
    image_free(&with);
    image_free(&without);
}
