// demo_plot_test.c — the demo's drawing: every glyph is 5x7, text lands where plot_text_width says,
// lines reach both end points and stay clipped, and the chart / strip come out the promised size
// with the curves and bars in their colours.
#include "test/test.h"
#include "app/demo_plot.h"
#include "base/check.h"
#include "image/draw.h"
#include <string.h>

static int count_rgb(const Image *img, const uint8_t rgb[3], ImgRect r) {
    int n = 0;
    for (int y = r.y0; y < r.y1; y++)
        for (int x = r.x0; x < r.x1; x++) n += !memcmp(image_pixel(img, x, y), rgb, 3);
    return n;
}

TEST(demo_plot_text_and_lines) {
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

TEST(demo_plot_chart_and_strip) {
    double a[50], b[50];
    for (int i = 0; i < 50; i++) { a[i] = 5.0 - 0.1 * i; b[i] = i == 10 ? NAN : 0.5; }
    PlotSeries s[] = {{"TOTAL", a, 50, {200, 0, 0}, 0}, {"DPO", b, 50, {0, 0, 200}, 1}};
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
