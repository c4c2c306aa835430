// negatives_test.c — pixel-exact checks of the listwise negative lists on synthetic images of odd
// sizes: growth side for boxes on each edge and every tie, extents (round half up, k = 1 untouched,
// k = L the whole box), monotonic masks, 1-pixel boxes, boxes covering the image, L = 2..8, fills,
// ellipse pixels only inside the masked part, box clipping/validation, the centre-crop warning
// geometry and the released-negatives path mapping.
#include "test/test.h"
#include "lpoi/negatives.h"
#include "base/check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// Channels in [20, 219]: never black, never red, so every change is visible.
static Image pattern(int w, int h) {
    Image img = image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = image_pixel(&img, x, y);
            p[0] = (uint8_t)(20 + (x * 37 + y * 11) % 200);
            p[1] = (uint8_t)(20 + (x * 5 + y * 53) % 200);
            p[2] = (uint8_t)(20 + (x * y * 3) % 200);
        }
    return img;
}

static bool px_eq(const Image *a, const Image *b, int x, int y) {
    return !memcmp(image_pixel(a, x, y), image_pixel(b, x, y), 3);
}
static bool px_is(const Image *a, int x, int y, uint8_t r, uint8_t g, uint8_t b) {
    const uint8_t *p = image_pixel(a, x, y);
    return p[0] == r && p[1] == g && p[2] == b;
}
static bool in_rect(ImgRect r, int x, int y) { return x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1; }

TEST(negatives_growth_side_and_ties) {
    const int W = 31, H = 23;
    struct { ImgRect box; NegSide side; } cases[] = {
        {{0, 5, 10, 15}, NEG_SIDE_LEFT},      // on the left edge
        {{20, 5, 31, 15}, NEG_SIDE_RIGHT},    // on the right edge
        {{8, 0, 20, 9}, NEG_SIDE_TOP},        // on the top edge
        {{8, 14, 20, 23}, NEG_SIDE_BOTTOM},   // on the bottom edge
        {{10, 2, 20, 12}, NEG_SIDE_TOP},      // inside: top (2) nearest
        {{3, 6, 20, 18}, NEG_SIDE_LEFT},      // inside: left (3) nearest
        {{12, 8, 29, 18}, NEG_SIDE_RIGHT},    // right 2 < bottom 5
        {{12, 8, 25, 22}, NEG_SIDE_BOTTOM},   // bottom 1
        // ties: order left, right, top, bottom
        {{0, 0, 10, 10}, NEG_SIDE_LEFT},      // left + top corner
        {{0, 13, 10, 23}, NEG_SIDE_LEFT},     // left + bottom corner
        {{21, 0, 31, 10}, NEG_SIDE_RIGHT},    // right + top corner
        {{21, 13, 31, 23}, NEG_SIDE_RIGHT},   // right + bottom corner
        {{0, 3, 31, 20}, NEG_SIDE_LEFT},      // full width: left and right touch
        {{5, 0, 20, 23}, NEG_SIDE_TOP},       // full height: top and bottom touch
        {{0, 0, 31, 23}, NEG_SIDE_LEFT},      // whole image
        {{4, 4, 27, 19}, NEG_SIDE_LEFT},      // all four at distance 4
        {{6, 4, 27, 19}, NEG_SIDE_RIGHT},     // right 4 = top 4 = bottom 4 < left 6
        {{6, 4, 20, 19}, NEG_SIDE_TOP},       // top 4 = bottom 4
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        NegSide s = negatives_growth_side(W, H, cases[i].box);
        EXPECT_MSG(s == cases[i].side, "case %zu: %s, expected %s", i, negatives_side_name(s),
                   negatives_side_name(cases[i].side));
    }
}

// Checks one rendered list pixel by pixel against the rule, independently of negatives_mask_rect.
static void check_list(const char *file, int line, const Image *src, ImgRect box, int L, bool prompt) {
    NegSide side = negatives_growth_side(src->w, src->h, box);
    bool horiz = side == NEG_SIDE_LEFT || side == NEG_SIDE_RIGHT;
    int E = horiz ? box.x1 - box.x0 : box.y1 - box.y0;
    NegOptions opt = negatives_default_options();
    opt.visual_prompt = prompt;
    Image *list = calloc_check((size_t)L, sizeof(Image));
    negatives_render_list(src, box, L, &opt, list);
    ImgRect prev = {box.x0, box.y0, box.x0, box.y0};
    for (int k = 1; k <= L; k++) {
        const Image *img = &list[k - 1];
        // Expected extent: round((k-1) E / (L-1)) with halves up, via doubles on small integers.
        int m = (int)floor((double)(k - 1) * E / (L - 1) + 0.5);
        ImgRect want = box;
        if (side == NEG_SIDE_LEFT) want.x1 = box.x0 + m;
        if (side == NEG_SIDE_RIGHT) want.x0 = box.x1 - m;
        if (side == NEG_SIDE_TOP) want.y1 = box.y0 + m;
        if (side == NEG_SIDE_BOTTOM) want.y0 = box.y1 - m;
        ImgRect got = negatives_mask_rect(box, side, k, L);
        if (img_rect_area(got) != img_rect_area(want) || (m > 0 && memcmp(&got, &want, sizeof got)))
            test_fail_at(file, line, "L=%d k=%d: mask rect [%d,%d,%d,%d], expected [%d,%d,%d,%d]", L, k, got.x0,
                         got.y0, got.x1, got.y1, want.x0, want.y0, want.x1, want.y1);
        if (!img_rect_contains(got, prev) || !img_rect_contains(box, got))
            test_fail_at(file, line, "L=%d k=%d: masks not nested inside the box", L, k);
        prev = got;
        if (k == 1 && !image_equal(img, src)) test_fail_at(file, line, "L=%d: image 1 differs from the original", L);
        if (k == L && img_rect_area(got) != img_rect_area(box)) test_fail_at(file, line, "L=%d: image L does not cover the box", L);
        int bad = 0, red = 0, red_outside_ellipse = 0;
        for (int y = 0; y < src->h; y++)
            for (int x = 0; x < src->w; x++) {
                bool in = m > 0 && in_rect(want, x, y);
                if (!in) { bad += !px_eq(img, src, x, y); continue; }
                bool is_red = px_is(img, x, y, 255, 0, 0);
                red += is_red;
                if (is_red) red_outside_ellipse += !ellipse_contains_pixel(want, x, y);
                else bad += !px_is(img, x, y, 0, 0, 0);
            }
        if (bad || red_outside_ellipse) test_fail_at(file, line, "L=%d k=%d: %d wrong pixels, %d red outside the ellipse", L, k, bad, red_outside_ellipse);
        if (prompt != (red > 0) && m > 0) test_fail_at(file, line, "L=%d k=%d: visual prompt %s but %d red pixels", L, k, prompt ? "on" : "off", red);
        // Monotonic: what is masked (black, or red stroke) in image k is masked in image k + 1.
        if (k < L) {
            int lost = 0;
            for (int y = 0; y < src->h; y++)
                for (int x = 0; x < src->w; x++)
                    if (!px_eq(img, src, x, y)) lost += px_eq(&list[k], src, x, y);
            if (lost) test_fail_at(file, line, "L=%d k=%d: %d masked pixels are unmasked in image %d", L, k, lost, k + 1);
        }
    }
    for (int k = 0; k < L; k++) image_free(&list[k]);
    free(list);
}
#define CHECK_LIST(src, box, L, prompt) check_list(__FILE__, __LINE__, (src), (box), (L), (prompt))

TEST(negatives_lists_pixel_exact) {
    const int sizes[][2] = {{31, 23}, {17, 40}, {1, 1}, {2, 9}};
    for (size_t s = 0; s < LPOI_ARRAY_LEN(sizes); s++) {
        int W = sizes[s][0], H = sizes[s][1];
        Image src = pattern(W, H);
        ImgRect boxes[] = {
            {0, 0, W, H},                                   // whole image
            {0, H / 4, (W + 1) / 2, H - H / 4},             // left edge
            {W / 2, H / 3, W, H / 3 + 1},                   // right edge, 1 px tall
            {W / 4, 0, W - W / 4, (H + 2) / 3},             // top edge
            {W / 3, H - (H + 1) / 2, W / 3 + 1, H},         // bottom edge, 1 px wide
            {W / 2, H / 2, W / 2 + 1, H / 2 + 1},           // 1 x 1 in the middle
            {0, 0, 1, 1},                                   // 1 x 1 in the corner
            {W / 5, H / 6, W - W / 7, H - H / 5},           // inside
        };
        for (size_t b = 0; b < LPOI_ARRAY_LEN(boxes); b++) {
            ImgRect box = img_rect_clip(boxes[b], W, H);
            if (img_rect_empty(box)) continue;
            for (int L = 2; L <= 8; L++) {
                CHECK_LIST(&src, box, L, false);
                CHECK_LIST(&src, box, L, true);
            }
        }
        image_free(&src);
    }
}

TEST(negatives_extent_rounding) {
    ImgRect box = {0, 0, 10, 3};   // width 10, left edge
    // L = 5: (k-1)/4 * 10 = 0, 2.5, 5, 7.5, 10 → 0, 3, 5, 8, 10 (halves up).
    const int want5[] = {0, 3, 5, 8, 10};
    for (int k = 1; k <= 5; k++) {
        ImgRect m = negatives_mask_rect(box, NEG_SIDE_LEFT, k, 5);
        EXPECT_EQ_INT(img_rect_empty(m) ? 0 : m.x1 - m.x0, want5[k - 1]);
    }
    // A 1-pixel-wide box with L = 5: 0, round(.25)=0, round(.5)=1, 1, 1.
    ImgRect one = {4, 0, 5, 3};
    const int want1[] = {0, 0, 1, 1, 1};
    for (int k = 1; k <= 5; k++) {
        ImgRect m = negatives_mask_rect(one, NEG_SIDE_RIGHT, k, 5);
        EXPECT_EQ_INT(img_rect_empty(m) ? 0 : m.x1 - m.x0, want1[k - 1]);
        if (!img_rect_empty(m)) EXPECT(m.x0 == 4 && m.x1 == 5);
    }
    // Growth from the right / bottom anchors at the far side of the box.
    ImgRect m = negatives_mask_rect((ImgRect){3, 4, 13, 9}, NEG_SIDE_RIGHT, 2, 3);
    EXPECT(m.x0 == 8 && m.x1 == 13 && m.y0 == 4 && m.y1 == 9);
    m = negatives_mask_rect((ImgRect){3, 4, 13, 9}, NEG_SIDE_BOTTOM, 2, 3);
    EXPECT(m.x0 == 3 && m.x1 == 13 && m.y0 == 6 && m.y1 == 9);   // round(2.5) = 3 rows
}

TEST(negatives_fills_and_line_width) {
    Image src = pattern(40, 30);
    ImgRect box = {0, 5, 20, 25};
    uint8_t mean[3];
    image_mean_rgb(&src, mean);
    NegOptions opt = negatives_default_options();
    opt.visual_prompt = false;
    opt.fill = NEG_FILL_MEAN;
    Image img;
    negatives_render(&src, box, 3, 3, &opt, &img);
    int bad = 0;
    for (int y = 5; y < 25; y++)
        for (int x = 0; x < 20; x++) bad += memcmp(image_pixel(&img, x, y), mean, 3) != 0;
    EXPECT_EQ_INT(bad, 0);
    image_free(&img);
    // Noise: the same pixel gets the same noise in every image of the list; the seed changes it.
    opt.fill = NEG_FILL_NOISE;
    opt.seed = 7;
    Image a, b, c;
    negatives_render(&src, box, 2, 3, &opt, &a);   // 10 columns
    negatives_render(&src, box, 3, 3, &opt, &b);   // 20 columns
    opt.seed = 8;
    negatives_render(&src, box, 3, 3, &opt, &c);
    int mismatch = 0, same = 0;
    for (int y = 5; y < 25; y++)
        for (int x = 0; x < 10; x++) {
            mismatch += !px_eq(&a, &b, x, y);
            same += px_eq(&b, &c, x, y);
        }
    EXPECT_EQ_INT(mismatch, 0);
    EXPECT(same < 3);
    image_free(&a); image_free(&b); image_free(&c);
    image_free(&src);

    EXPECT_EQ_INT(negatives_line_width(336, 336), 3);
    EXPECT_EQ_INT(negatives_line_width(640, 480), 5);
    EXPECT_EQ_INT(negatives_line_width(50, 50), 1);     // round(0.5) = 1
    EXPECT_EQ_INT(negatives_line_width(1000, 149), 1);
    EXPECT_EQ_INT(negatives_line_width(150, 1000), 2);  // round(1.5) = 2
    EXPECT_EQ_INT(negatives_line_width(3, 1), 1);

    // An explicit stroke width is honoured: a 3-px stroke paints more than a 1-px one.
    Image s2 = pattern(60, 60), t1, t3;
    NegOptions o1 = negatives_default_options(), o3 = o1;
    o1.line_width = 1; o3.line_width = 3;
    negatives_render(&s2, (ImgRect){0, 0, 40, 40}, 2, 2, &o1, &t1);
    negatives_render(&s2, (ImgRect){0, 0, 40, 40}, 2, 2, &o3, &t3);
    int r1 = 0, r3 = 0;
    for (int y = 0; y < 60; y++)
        for (int x = 0; x < 60; x++) { r1 += px_is(&t1, x, y, 255, 0, 0); r3 += px_is(&t3, x, y, 255, 0, 0); }
    EXPECT(r1 > 60 && r3 > 2 * r1);
    image_free(&s2); image_free(&t1); image_free(&t3);
}

TEST(negatives_box_to_rect) {
    LpoiErr err = {{0}};
    ImgRect r;
    EXPECT(negatives_box_to_rect(31, 23, (const double[4]){2.2, 3.7, 10.1, 8.0}, &r, &err));
    EXPECT(r.x0 == 2 && r.y0 == 3 && r.x1 == 11 && r.y1 == 8);
    EXPECT(negatives_box_to_rect(31, 23, (const double[4]){-5, -1, 40, 30}, &r, &err));
    EXPECT(r.x0 == 0 && r.y0 == 0 && r.x1 == 31 && r.y1 == 23);
    EXPECT(negatives_box_to_rect(31, 23, (const double[4]){30.5, 22.5, 30.6, 22.6}, &r, &err));
    EXPECT(r.x0 == 30 && r.y0 == 22 && r.x1 == 31 && r.y1 == 23);
    EXPECT(!negatives_box_to_rect(31, 23, (const double[4]){5, 5, 5, 9}, &r, &err));
    EXPECT_MSG(strstr(err.msg, "empty"), "%s", err.msg);
    EXPECT(!negatives_box_to_rect(31, 23, (const double[4]){9, 5, 4, 9}, &r, &err));
    EXPECT(!negatives_box_to_rect(31, 23, (const double[4]){40, 5, 50, 9}, &r, &err));
    EXPECT_MSG(strstr(err.msg, "outside the 31 x 23 image"), "%s", err.msg);
    EXPECT(!negatives_box_to_rect(31, 23, (const double[4]){-9, 0, 0, 9}, &r, &err));
    EXPECT(!negatives_box_to_rect(31, 23, (const double[4]){0, 0, INFINITY, 9}, &r, &err));
    EXPECT(!negatives_box_to_rect(31, 23, (const double[4]){NAN, 0, 3, 9}, &r, &err));
    NegFill f;
    EXPECT(negatives_fill_parse("noise", &f) && f == NEG_FILL_NOISE);
    EXPECT(!negatives_fill_parse("blur", &f));
}

TEST(negatives_centre_crop_kept_fraction) {
    // Square images lose nothing.
    EXPECT_NEAR(negatives_crop_kept_fraction(500, 500, (ImgRect){0, 0, 50, 500}, 336), 1.0, 1e-12, 0);
    // 672 x 336 → no resize, crop columns [168, 504).
    EXPECT_NEAR(negatives_crop_kept_fraction(672, 336, (ImgRect){0, 0, 100, 336}, 336), 0.0, 1e-12, 0);
    EXPECT_NEAR(negatives_crop_kept_fraction(672, 336, (ImgRect){150, 10, 250, 20}, 336), 0.82, 1e-12, 0);
    EXPECT_NEAR(negatives_crop_kept_fraction(672, 336, (ImgRect){200, 0, 300, 336}, 336), 1.0, 1e-12, 0);
    // 1000 x 500 → 672 x 336; crop [168, 504) resized = [250, 750) original.
    EXPECT_NEAR(negatives_crop_kept_fraction(1000, 500, (ImgRect){200, 0, 300, 500}, 336), 0.5, 1e-12, 0);
    // Portrait: 400 x 1000 → 336 x 840 (int(336*1000/400) = 840); crop rows [252, 588) = [300, 700).
    EXPECT_NEAR(negatives_crop_kept_fraction(400, 1000, (ImgRect){0, 650, 400, 750}, 336), 0.5, 1e-12, 0);
    // Truncation of the long side: 333 x 1000 → 336 x int(1009.009) = 1009; offset (1009-336)/2 = 336.
    double f = negatives_crop_kept_fraction(333, 1000, (ImgRect){0, 0, 333, 1000}, 336);
    EXPECT_NEAR(f, 336.0 / 1009.0, 1e-12, 0);
    EXPECT_NEAR(negatives_crop_kept_fraction(10, 10, (ImgRect){3, 3, 3, 3}, 336), 1.0, 0, 0);
}

TEST(negatives_release_path) {
    LpoiErr err = {{0}};
    char *p;
    EXPECT(negatives_release_path("data/images/a/b.jpg", 25, &p, &err));
    EXPECT_STREQ(p, "data/ours_cmask_until_list5/ours_cmask_until25/a/b.jpg");
    free(p);
    EXPECT(negatives_release_path("/x/images/y/images/z.jpg", 100, &p, &err));
    EXPECT_STREQ(p, "/x/images/y/ours_cmask_until_list5/ours_cmask_until100/z.jpg");
    free(p);
    EXPECT(negatives_release_path("images/llava-reasoning-3730.jpg", 50, &p, &err));
    EXPECT_STREQ(p, "ours_cmask_until_list5/ours_cmask_until50/llava-reasoning-3730.jpg");
    free(p);
    EXPECT(!negatives_release_path("my_images/x.jpg", 25, &p, &err));
    EXPECT(!negatives_release_path("data/images", 25, &p, &err));
    EXPECT(!negatives_release_path("data/images/x.jpg", 30, &p, &err));
    EXPECT(p == NULL);
}
