// resample_test.c — properties of the Pillow-exact resize that hold whatever Pillow's exact bits
// are (bit-exactness itself is the image.resize golden cases' job): identity is a copy, constant
// images stay constant, 1-pixel and extreme-aspect images, large up/down factors against an
// independent float reference (within 2 levels: the reference has no fixed point and no uint8
// intermediate), windows equal crops of the full resize in all four pass layouts, results do not
// depend on the thread count, hand-computed values (checked with Pillow 13.0), and errors.
#include "test/test.h"
#include "image/resample.h"
#include "base/check.h"
#include "base/rng.h"
#include "base/threads.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const ResampleFilter FILTERS[] = {RESAMPLE_BICUBIC, RESAMPLE_BILINEAR, RESAMPLE_LANCZOS, RESAMPLE_BOX, RESAMPLE_HAMMING};

static Image pattern_image(int w, int h, uint32_t seed) {
    Image img = image_new(w, h);
    Rng rng;
    rng_seed(&rng, seed);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        uint32_t s = (uint32_t)(rng_u64(&rng) >> 32);
        size_t px = i / 3;
        int x = (int)(px % (size_t)w), y = (int)(px / (size_t)w);
        int v = (x * 255) / (w > 1 ? w - 1 : 1) / 2 + (y * 255) / (h > 1 ? h - 1 : 1) / 4 + (int)(s >> 27);
        img.data[i] = (uint8_t)(i % 3 == 2 ? (int)(s >> 24) : (v > 255 ? 255 : v));
    }
    return img;
}

static Image resize_ok(const Image *src, int w, int h, ResampleFilter f) {
    Image out;
    LpoiErr err = {{0}};
    bool ok = image_resize(&out, src, w, h, f, &err);
    EXPECT_MSG(ok, "resize %dx%d -> %dx%d filter %d: %s", src->w, src->h, w, h, (int)f, err.msg);
    if (!ok) out = image_new(w, h);
    return out;
}

// An independent reference: per axis Pillow's weights (support widened by the downscale factor,
// centre (i + 0.5)·scale, window truncated and renormalised) in double, both passes in double in
// Pillow's order, the intermediate clamped to [0, 255] like Pillow's uint8 one but not rounded, one
// rounding at the end. No fixed point, no uint8 rounding in between: differs by rounding only.
static double ref_filter(ResampleFilter f, double x) {
    x = fabs(x);
    switch (f) {
    case RESAMPLE_BILINEAR: return x < 1 ? 1 - x : 0;
    case RESAMPLE_BICUBIC: return x < 1 ? (1.5 * x - 2.5) * x * x + 1 : x < 2 ? -0.5 * (((x - 5) * x + 8) * x - 4) : 0;
    default: return 0;
    }
}

static double *ref_weights(int in, int out, ResampleFilter f) {
    double *w = calloc_check((size_t)in * out, sizeof *w);   // [out][in]
    double scale = (double)in / out, fs = scale > 1 ? scale : 1;
    for (int i = 0; i < out; i++) {
        double c = (i + 0.5) * scale, sum = 0;
        for (int x = 0; x < in; x++) {   // the filter is 0 outside the support: no window needed
            w[(size_t)i * in + x] = ref_filter(f, (x + 0.5 - c) / fs);
            sum += w[(size_t)i * in + x];
        }
        for (int x = 0; x < in && sum != 0; x++) w[(size_t)i * in + x] /= sum;
    }
    return w;
}

// One axis of a double image (w x h x 3): horizontal (w -> n) or vertical (h -> n), clamped.
static double *ref_pass(const double *img, int w, int h, int n, bool horizontal, ResampleFilter f) {
    int in = horizontal ? w : h, ow = horizontal ? n : w, oh = horizontal ? h : n;
    double *k = ref_weights(in, n, f), *out = calloc_check((size_t)ow * oh * 3, sizeof *out);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 3; c++) {
                double v = 0;
                for (int t = 0; t < in; t++) {
                    size_t src = horizontal ? ((size_t)y * w + t) * 3 + c : ((size_t)t * w + x) * 3 + c;
                    v += k[(size_t)(horizontal ? x : y) * in + t] * img[src];
                }
                out[((size_t)y * ow + x) * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
            }
    free(k);
    return out;
}

static int max_diff_vs_reference(const Image *src, const Image *got, ResampleFilter f) {
    size_t n = (size_t)src->w * src->h * 3;
    double *a = malloc_check(n * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = src->data[i];
    bool hfirst = resample_horizontal_first(src->w, src->h, got->w, got->h);
    double *b = hfirst ? ref_pass(a, src->w, src->h, got->w, true, f) : ref_pass(a, src->w, src->h, got->h, false, f);
    double *c = hfirst ? ref_pass(b, got->w, src->h, got->h, false, f) : ref_pass(b, src->w, got->h, got->w, true, f);
    int worst = 0;
    for (size_t i = 0; i < (size_t)got->w * got->h * 3; i++) {
        int d = abs((int)lround(c[i]) - (int)got->data[i]);
        if (d > worst) worst = d;
    }
    free(a);
    free(b);
    free(c);
    return worst;
}

TEST(resample_same_size_is_a_copy) {
    Image src = pattern_image(19, 7, 1);
    for (size_t f = 0; f < LPOI_ARRAY_LEN(FILTERS); f++) {
        Image out = resize_ok(&src, 19, 7, FILTERS[f]);
        EXPECT(image_equal(&out, &src));
        image_free(&out);
    }
    image_free(&src);
}

TEST(resample_constant_image_stays_constant) {
    const int sizes[][4] = {{1, 1, 9, 4}, {17, 3, 5, 11}, {300, 7, 2, 1}, {1, 500, 3, 3}, {64, 64, 63, 65},
                            {5, 5, 400, 1}, {2, 9, 2, 30}};
    const uint8_t colours[][3] = {{0, 0, 0}, {255, 255, 255}, {1, 128, 254}};
    for (size_t s = 0; s < LPOI_ARRAY_LEN(sizes); s++)
        for (size_t c = 0; c < LPOI_ARRAY_LEN(colours); c++) {
            Image src = image_new(sizes[s][0], sizes[s][1]);
            for (size_t i = 0; i < (size_t)src.w * src.h; i++) memcpy(src.data + 3 * i, colours[c], 3);
            for (size_t f = 0; f < LPOI_ARRAY_LEN(FILTERS); f++) {
                Image out = resize_ok(&src, sizes[s][2], sizes[s][3], FILTERS[f]);
                size_t bad = 0;
                for (size_t i = 0; i < (size_t)out.w * out.h; i++) bad += memcmp(out.data + 3 * i, colours[c], 3) != 0;
                EXPECT_MSG(bad == 0, "%dx%d -> %dx%d filter %d colour %zu: %zu pixels changed", sizes[s][0], sizes[s][1],
                           sizes[s][2], sizes[s][3], (int)FILTERS[f], c, bad);
                image_free(&out);
            }
            image_free(&src);
        }
}

TEST(resample_hand_computed) {
    // Pillow 13.0: Image.fromarray([[0, 255]]).resize((4, 1), BILINEAR) == [0, 64, 191, 255]
    // (weights 3/4, 1/4 -> 63.75 -> fixed point 64.25 -> 64), and the bicubic overshoot of a
    // 0/255 line clamps at both ends: [0,255,0,255,0] -> 9 wide == [0 79 246 149 0 149 246 79 0],
    // -> 3 wide == [106 126 106].
    Image src = image_new(2, 1);
    memset(src.data + 3, 255, 3);
    Image out = resize_ok(&src, 4, 1, RESAMPLE_BILINEAR);
    const uint8_t want4[] = {0, 64, 191, 255};
    for (int i = 0; i < 4; i++) EXPECT_EQ_INT(image_pixel(&out, i, 0)[1], want4[i]);
    image_free(&out);
    image_free(&src);
    src = image_new(5, 1);
    for (int i = 1; i < 5; i += 2) memset(image_pixel(&src, i, 0), 255, 3);
    out = resize_ok(&src, 9, 1, RESAMPLE_BICUBIC);
    const uint8_t want9[] = {0, 79, 246, 149, 0, 149, 246, 79, 0};
    for (int i = 0; i < 9; i++) EXPECT_EQ_INT(image_pixel(&out, i, 0)[0], want9[i]);
    image_free(&out);
    out = resize_ok(&src, 3, 1, RESAMPLE_BICUBIC);
    const uint8_t want3[] = {106, 126, 106};
    for (int i = 0; i < 3; i++) EXPECT_EQ_INT(image_pixel(&out, i, 0)[2], want3[i]);
    image_free(&out);
    image_free(&src);
}

TEST(resample_one_pixel_images) {
    Image src = pattern_image(1, 1, 3);
    for (size_t f = 0; f < LPOI_ARRAY_LEN(FILTERS); f++) {
        Image out = resize_ok(&src, 9, 4, FILTERS[f]);   // every output reads the one pixel, weight 1
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 9; x++) EXPECT(memcmp(image_pixel(&out, x, y), src.data, 3) == 0);
        image_free(&out);
    }
    image_free(&src);
    src = pattern_image(37, 23, 4);   // down to one pixel: a weighted mean, inside the range
    Image out = resize_ok(&src, 1, 1, RESAMPLE_BILINEAR);
    EXPECT(max_diff_vs_reference(&src, &out, RESAMPLE_BILINEAR) <= 1);
    image_free(&out);
    image_free(&src);
}

TEST(resample_extreme_aspect_ratios_and_factors) {
    const struct { int w, h, ow, oh; } cases[] = {
        {1, 300, 1, 3}, {300, 1, 3, 1}, {1, 40, 25, 900}, {3, 2, 200, 150}, {400, 3, 2, 40}, {2, 257, 129, 3}, {250, 120, 1, 1},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        Image src = pattern_image(cases[i].w, cases[i].h, (uint32_t)i);
        for (int f = 0; f < 2; f++) {
            ResampleFilter filt = f ? RESAMPLE_BICUBIC : RESAMPLE_BILINEAR;
            Image out = resize_ok(&src, cases[i].ow, cases[i].oh, filt);
            int d = max_diff_vs_reference(&src, &out, filt);
            EXPECT_MSG(d <= 2, "%dx%d -> %dx%d filter %d: %d levels from the float reference", cases[i].w, cases[i].h,
                       cases[i].ow, cases[i].oh, (int)filt, d);
            image_free(&out);
        }
        image_free(&src);
    }
}

TEST(resample_pass_order_rule) {
    EXPECT(resample_horizontal_first(640, 480, 448, 336));      // typical CLIP downscale
    EXPECT(resample_horizontal_first(480, 640, 336, 448));      // dh 192 <= 2·144
    EXPECT(!resample_horizontal_first(400, 3000, 336, 2520));   // dh 480 > 2·64
    EXPECT(!resample_horizontal_first(20, 90, 33, 41));         // width grows, height shrinks
    EXPECT(resample_horizontal_first(20, 90, 33, 91));          // height grows
    EXPECT(resample_horizontal_first(100, 100, 50, 100));       // dh 0
    EXPECT(resample_horizontal_first(100, 150, 75, 100));       // dh 50 == 2·25: not more than twice
}

TEST(resample_window_equals_crop_of_full) {
    // Sizes chosen to hit every layout: both passes horizontal-first, both vertical-first, one
    // pass each way, and a copy.
    const struct { int w, h, ow, oh; } cases[] = {
        {61, 47, 37, 29}, {40, 300, 36, 50}, {30, 20, 45, 20}, {30, 20, 30, 9}, {23, 17, 23, 17}, {5, 3, 70, 41},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        Image src = pattern_image(cases[i].w, cases[i].h, 10 + (uint32_t)i);
        Image full = resize_ok(&src, cases[i].ow, cases[i].oh, RESAMPLE_BICUBIC);
        const int wins[][4] = {{0, 0, 1, 1}, {3, 2, 7, 5}, {0, 0, cases[i].ow, cases[i].oh},
                               {cases[i].ow - 1, cases[i].oh - 1, 1, 1}, {1, 0, cases[i].ow - 2, cases[i].oh}};
        for (size_t k = 0; k < LPOI_ARRAY_LEN(wins); k++) {
            int x0 = wins[k][0], y0 = wins[k][1], ww = wins[k][2], wh = wins[k][3];
            if (ww < 1 || wh < 1 || x0 + ww > cases[i].ow || y0 + wh > cases[i].oh) continue;
            Image win;
            LpoiErr err = {{0}};
            if (!image_resize_window(&win, &src, cases[i].ow, cases[i].oh, RESAMPLE_BICUBIC, x0, y0, ww, wh, &err)) {
                EXPECT_MSG(false, "%s", err.msg);
                continue;
            }
            size_t bad = 0;
            for (int y = 0; y < wh; y++)
                bad += memcmp(image_pixel(&win, 0, y), image_pixel(&full, x0, y0 + y), (size_t)ww * 3) != 0;
            EXPECT_MSG(bad == 0, "case %zu window %zu: %zu rows differ", i, k, bad);
            image_free(&win);
        }
        image_free(&full);
        image_free(&src);
    }
}

TEST(resample_independent_of_thread_count) {
    Image src = pattern_image(333, 251, 7);
    int before = threads_count();
    threads_set_count(1);
    Image a = resize_ok(&src, 120, 77, RESAMPLE_BICUBIC), c = resize_ok(&src, 41, 600, RESAMPLE_BILINEAR);
    threads_set_count(3);
    Image b = resize_ok(&src, 120, 77, RESAMPLE_BICUBIC), d = resize_ok(&src, 41, 600, RESAMPLE_BILINEAR);
    threads_set_count(before);
    EXPECT(image_equal(&a, &b));
    EXPECT(image_equal(&c, &d));
    image_free(&a);
    image_free(&b);
    image_free(&c);
    image_free(&d);
    image_free(&src);
}

TEST(resample_errors) {
    Image src = pattern_image(4, 4, 0), out;
    LpoiErr err = {{0}};
    EXPECT(!image_resize(&out, &src, 2, 2, RESAMPLE_NEAREST, &err) && strstr(err.msg, "NEAREST"));
    EXPECT(out.data == NULL);
    EXPECT(!image_resize(&out, &src, 2, 2, (ResampleFilter)6, &err) && strstr(err.msg, "unsupported"));
    EXPECT(!image_resize(&out, &src, 0, 2, RESAMPLE_BICUBIC, &err) && strstr(err.msg, "at least 1x1"));
    EXPECT(!image_resize(&out, &src, 2, -1, RESAMPLE_BICUBIC, &err));
    EXPECT(!image_resize(&out, &src, 100000, 100000, RESAMPLE_BICUBIC, &err) && strstr(err.msg, "over the limit"));
    EXPECT(!image_resize_window(&out, &src, 8, 8, RESAMPLE_BICUBIC, 4, 4, 5, 1, &err) && strstr(err.msg, "not inside"));
    EXPECT(!image_resize_window(&out, &src, 8, 8, RESAMPLE_BICUBIC, -1, 0, 2, 2, &err));
    Image empty = {0};
    EXPECT(!image_resize(&out, &empty, 2, 2, RESAMPLE_BICUBIC, &err) && strstr(err.msg, "empty"));
    EXPECT_STREQ(resample_filter_name(RESAMPLE_BICUBIC), "BICUBIC");
    EXPECT_STREQ(resample_filter_name(42), "unknown");
    EXPECT(resample_filter_supported(RESAMPLE_BILINEAR) && !resample_filter_supported(RESAMPLE_NEAREST));
    image_free(&src);
}
