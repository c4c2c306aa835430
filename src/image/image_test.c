// image_test.c — decoding against Pillow's convert("RGB") (files written by tools/make_test_images.py),
// grey/alpha/palette conversion, our PNG encoder round-tripped through stb_image, and hostile input:
// empty, unknown, truncated at every length, huge headers, limits — always one line naming the file.
#include "test/test.h"
#include "image/image.h"
#include "base/check.h"
#include "base/file.h"
#include "base/rng.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char *img_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/images/%s", test_data_dir(), name);
    return buf;
}

// Decodes testdata/images/<name> and expected_<name>.png; returns the largest channel difference
// (-1 when either failed to decode or the sizes differ).
static int diff_against_pillow(const char *name, int want_w, int want_h) {
    char p1[256], p2[256], e[128];
    snprintf(e, sizeof e, "expected_%s.png", name);
    LpoiErr err = {{0}};
    Image got, want;
    if (!image_decode_file(&got, img_path(p1, sizeof p1, name), NULL, &err)) {
        test_fail_at(__FILE__, __LINE__, "%s", err.msg);
        return -1;
    }
    if (!image_decode_file(&want, img_path(p2, sizeof p2, e), NULL, &err)) {
        test_fail_at(__FILE__, __LINE__, "%s", err.msg);
        image_free(&got);
        return -1;
    }
    int worst = -1;
    if (got.w == want.w && got.h == want.h && got.w == want_w && got.h == want_h) {
        worst = 0;
        for (size_t i = 0; i < (size_t)got.w * got.h * 3; i++)
            worst = LPOI_MAX(worst, abs((int)got.data[i] - (int)want.data[i]));
    } else {
        test_fail_at(__FILE__, __LINE__, "%s: %d x %d, Pillow %d x %d, expected %d x %d", name, got.w, got.h,
                     want.w, want.h, want_w, want_h);
    }
    image_free(&got);
    image_free(&want);
    return worst;
}

TEST(image_decode_lossless_matches_pillow) {
    const char *names[] = {"rgb.png", "grey.png", "grey16.png", "grey_alpha.png", "rgba.png", "palette.png", "palette_trns.png",
                           "rgb.bmp", "grey.bmp", "rgba.bmp", "rgb.ppm", "grey.pgm", "two_frames.gif"};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(names); i++) {
        int d = diff_against_pillow(names[i], 13, 7);
        EXPECT_MSG(d == 0, "%s: max difference %d from Pillow's convert(\"RGB\"), expected exact", names[i], d);
    }
}

// stb_image's JPEG decoder is not libjpeg-turbo's; measured differences on these files are
// recorded here so a change in either shows up.
TEST(image_decode_jpeg_close_to_pillow) {
    const char *names[] = {"smooth_444.jpg", "smooth_420.jpg", "smooth_progressive.jpg", "smooth_grey.jpg"};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(names); i++) {
        int d = diff_against_pillow(names[i], 17, 11);
        EXPECT_MSG(d >= 0 && d <= 2, "%s: max difference %d from Pillow (tolerance 2)", names[i], d);
        if (getenv("LPOI_TEST_VERBOSE")) printf("    %s: max difference from Pillow %d\n", names[i], d);
    }
}

// The committed rgb.png must hold the generator's formula; checks the decode path independently
// of Pillow's expected files, with the exact layout (H, W, 3).
TEST(image_decode_layout_and_grey_alpha_rules) {
    char p[256];
    LpoiErr err = {{0}};
    Image img;
    EXPECT_MSG(image_decode_file(&img, img_path(p, sizeof p, "rgb.png"), NULL, &err), "%s", err.msg);
    if (!img.data) return;
    EXPECT_EQ_INT(img.w, 13);
    EXPECT_EQ_INT(img.h, 7);
    int bad = 0;
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 13; x++) {
            const uint8_t *q = image_pixel(&img, x, y);
            bad += q[0] != ((x * 37 + y * 11) & 255) || q[1] != ((x * 5 + y * 53 + 7) & 255) ||
                   q[2] != ((x * y * 3 + 100) & 255);
        }
    EXPECT_EQ_INT(bad, 0);
    image_free(&img);

    // grey and grey+alpha: R = G = B = grey, alpha dropped (not composited), same grey in both files.
    Image g, ga, rgba;
    EXPECT(image_decode_file(&g, img_path(p, sizeof p, "grey.png"), NULL, &err));
    EXPECT(image_decode_file(&ga, img_path(p, sizeof p, "grey_alpha.png"), NULL, &err));
    EXPECT(image_decode_file(&rgba, img_path(p, sizeof p, "rgba.png"), NULL, &err));
    if (g.data && ga.data && rgba.data) {
        for (int i = 0; i < 13 * 7; i++)
            bad += g.data[3 * i] != g.data[3 * i + 1] || g.data[3 * i] != g.data[3 * i + 2];
        EXPECT_EQ_INT(bad, 0);
        EXPECT(image_equal(&g, &ga));
        Image rgb;
        EXPECT(image_decode_file(&rgb, img_path(p, sizeof p, "rgb.png"), NULL, &err));
        EXPECT(rgb.data && image_equal(&rgb, &rgba));   // alpha dropped: colours unchanged
        image_free(&rgb);
    }
    image_free(&g); image_free(&ga); image_free(&rgba);

    int w, h, c;
    char *buf;
    size_t n;
    buf = file_read_all(img_path(p, sizeof p, "grey_alpha.png"), 1 << 20, &n, &err);
    EXPECT(buf && image_probe_memory(buf, n, "x", NULL, &w, &h, &c, &err));
    EXPECT_EQ_INT(c, 2);
    free(buf);
}

static Image random_image(int w, int h, uint64_t seed, int kind) {
    Image img = image_new(w, h);
    Rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        if (kind == 0) img.data[i] = (uint8_t)rng_u64(&r);                         // noise
        else if (kind == 1) img.data[i] = (uint8_t)(i % 3 == 0 ? 200 : 17);       // flat
        else img.data[i] = (uint8_t)((i / 3) % (size_t)w * 7 + (i / 3) / (size_t)w * 3 + i % 3);   // ramps
    }
    return img;
}

TEST(png_encode_roundtrip) {
    const int sizes[][2] = {{1, 1}, {3, 2}, {2, 5}, {17, 5}, {257, 3}, {31, 64}, {640, 600}};
    for (size_t s = 0; s < LPOI_ARRAY_LEN(sizes); s++)
        for (int kind = 0; kind < 3; kind++) {
            int w = sizes[s][0], h = sizes[s][1];
            Image img = random_image(w, h, 1000 + s * 3 + (size_t)kind, kind);
            uint8_t *png;
            size_t n;
            LpoiErr err = {{0}};
            EXPECT_MSG(png_encode(&img, kind == 0 ? 1 : -1, &png, &n, &err), "%s", err.msg);
            Image back;
            bool ok = image_decode_memory(&back, png, n, "roundtrip", NULL, &err);
            EXPECT_MSG(ok && image_equal(&img, &back), "%d x %d kind %d: %s", w, h, kind, ok ? "pixels differ" : err.msg);
            // Independent structural check: chunk CRCs and that noise 640 x 600 needs 2 IDAT chunks.
            size_t pos = 8, idat = 0;
            bool crc_ok = true;
            while (pos + 12 <= n) {
                uint32_t len = (uint32_t)png[pos] << 24 | (uint32_t)png[pos + 1] << 16 | (uint32_t)png[pos + 2] << 8 | png[pos + 3];
                uLong crc = crc32(crc32(0L, Z_NULL, 0), png + pos + 4, len + 4);
                const uint8_t *c = png + pos + 8 + len;
                crc_ok &= ((uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3]) == (uint32_t)crc;
                idat += !memcmp(png + pos + 4, "IDAT", 4);
                pos += 12 + len;
            }
            EXPECT(crc_ok && pos == n);
            if (w == 640 && kind == 0) EXPECT_EQ_INT(idat, 2);
            free(png);
            image_free(&back);
            image_free(&img);
        }
}

TEST(png_write_file_atomic) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "img_test");
    char path[300];
    snprintf(path, sizeof path, "%s/out.png", dir);
    Image img = random_image(9, 4, 7, 2), back;
    LpoiErr err = {{0}};
    EXPECT_MSG(image_write_png(&img, path, &err), "%s", err.msg);
    EXPECT_MSG(image_decode_file(&back, path, NULL, &err), "%s", err.msg);
    EXPECT(back.data && image_equal(&img, &back));
    image_free(&back);
    // A folder that does not exist: one line naming the path.
    char bad[320];
    snprintf(bad, sizeof bad, "%s/missing/out.png", dir);
    EXPECT(!image_write_png(&img, bad, &err));
    EXPECT_MSG(strstr(err.msg, bad) && !strchr(err.msg, '\n'), "%s", err.msg);
    image_free(&img);
    remove(path);
    rmdir(dir);
}

// The message must be one line that starts with "<name>: " and contains `needle`.
static void expect_reject_at(const char *file, int line, const void *buf, size_t n, const ImageLimits *lim,
                             const char *needle) {
    LpoiErr err = {{0}};
    Image img;
    if (image_decode_memory(&img, buf, n, "case.img", lim, &err)) {
        test_fail_at(file, line, "accepted (%d x %d), expected an error containing '%s'", img.w, img.h, needle);
        image_free(&img);
        return;
    }
    if (img.data || strncmp(err.msg, "case.img: ", 10) || strchr(err.msg, '\n') || (needle && !strstr(err.msg, needle)))
        test_fail_at(file, line, "bad rejection message '%s' (wanted '%s')", err.msg, needle ? needle : "");
}
#define REJECT(buf, n, lim, needle) expect_reject_at(__FILE__, __LINE__, (buf), (n), (lim), (needle))

static void put_be32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16 & 255; p[2] = v >> 8 & 255; p[3] = v & 255; }

TEST(image_decode_rejects_garbage_and_huge) {
    REJECT("", 0, NULL, "empty");
    REJECT("hello, world, not an image at all", 33, NULL, "not a PNG, JPEG, BMP, GIF or PNM");
    REJECT("RIFF\x10\0\0\0WEBPVP8 ", 16, NULL, "unrecognised format");
    uint8_t junk[4096];
    Rng r;
    rng_seed(&r, 5);
    for (int t = 0; t < 50; t++) {
        for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)rng_u64(&r);
        junk[0] = (uint8_t)(t * 5);   // never a magic number
        REJECT(junk, sizeof junk, NULL, NULL);
    }
    // PNG with a 100000 x 100000 IHDR (valid CRC): refused from the header, nothing allocated.
    uint8_t png[8 + 25 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    put_be32(png + 8, 13);
    memcpy(png + 12, "IHDR", 4);
    put_be32(png + 16, 100000);
    put_be32(png + 20, 100000);
    png[24] = 8; png[25] = 2;
    put_be32(png + 29, (uint32_t)crc32(crc32(0L, Z_NULL, 0), png + 12, 17));
    put_be32(png + 33, 0);
    memcpy(png + 37, "IEND", 4);
    put_be32(png + 41, (uint32_t)crc32(crc32(0L, Z_NULL, 0), png + 37, 4));
    REJECT(png, sizeof png, NULL, "100000 x 100000 image (10000000000 pixels) is larger than the limit of 67108864 pixels");
    // JPEG SOF0 with 60000 x 60000.
    const uint8_t jpg[] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0xEA, 0x60, 0xEA, 0x60, 3,
                           1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9};
    REJECT(jpg, sizeof jpg, NULL, "60000 x 60000 image");
    // BMP 30000 x 30000, 24 bpp.
    uint8_t bmp[54] = {'B', 'M'};
    bmp[10] = 54; bmp[14] = 40;
    bmp[18] = 0x30; bmp[19] = 0x75; bmp[22] = 0x30; bmp[23] = 0x75;   // 30000
    bmp[26] = 1; bmp[28] = 24;
    REJECT(bmp, sizeof bmp, NULL, "30000 x 30000 image");
    // PNM: the limit applies to the header numbers before anything is read.
    REJECT("P6\n100000 100000\n255\n", 21, NULL, "100000 x 100000 image");
    REJECT("P6\n3 2\n65535\n", 13, NULL, "unsupported PNM maxval 65535");
    REJECT("P3\n3 2\n255\n", 11, NULL, "unsupported PNM variant P3");
    // Configurable limits: 13 x 7 = 91 pixels.
    char p[256];
    size_t n;
    LpoiErr err = {{0}};
    char *buf = file_read_all(img_path(p, sizeof p, "rgb.png"), 1 << 20, &n, &err);
    EXPECT(buf);
    if (!buf) return;
    REJECT(buf, n, &(ImageLimits){.max_pixels = 90}, "larger than the limit of 90 pixels");
    Image ok;
    EXPECT(image_decode_memory(&ok, buf, n, "x", &(ImageLimits){.max_pixels = 91}, &err));
    image_free(&ok);
    REJECT(buf, n, &(ImageLimits){.max_file_bytes = 50}, "more than the limit of 50");
    free(buf);
}

// Every prefix of every test file either fails with a proper message or (for formats whose end
// carries no pixels, e.g. a PNG without IEND, a GIF without its 2nd frame) decodes to exactly the
// full image. JPEG and BMP prefixes must all fail (stb alone would pad them with grey/black).
TEST(image_decode_truncated_every_length) {
    const char *names[] = {"rgb.png", "palette_trns.png", "rgb.bmp", "grey.bmp", "rgb.ppm", "two_frames.gif",
                           "smooth_444.jpg", "smooth_progressive.jpg", "smooth_grey.jpg"};
    for (size_t f = 0; f < LPOI_ARRAY_LEN(names); f++) {
        char p[256];
        size_t n;
        LpoiErr err = {{0}};
        uint8_t *buf = (uint8_t *)file_read_all(img_path(p, sizeof p, names[f]), 1 << 20, &n, &err);
        EXPECT_MSG(buf, "%s", err.msg);
        if (!buf) continue;
        Image full;
        EXPECT(image_decode_memory(&full, buf, n, names[f], NULL, &err));
        bool must_fail = strstr(names[f], ".jpg") || strstr(names[f], ".bmp") || strstr(names[f], ".ppm");
        int accepted = 0;
        for (size_t len = 0; len < n; len++) {
            uint8_t *cut = malloc_check(len + 1);   // exact-size copy so ASan sees any over-read
            memcpy(cut, buf, len);
            Image img;
            if (image_decode_memory(&img, cut, len, "case.img", NULL, &err)) {
                accepted++;
                EXPECT_MSG(!must_fail, "%s: prefix of %zu of %zu bytes accepted", names[f], len, n);
                EXPECT_MSG(image_equal(&img, &full), "%s: prefix of %zu bytes decoded to other pixels", names[f], len);
                image_free(&img);
            } else {
                EXPECT_MSG(!strncmp(err.msg, "case.img: ", 10) && !strchr(err.msg, '\n'), "%s", err.msg);
            }
            free(cut);
        }
        // A PNG may lose at most its IEND chunk (12 bytes); a GIF everything after the first frame.
        if (strstr(names[f], ".png")) EXPECT_MSG(accepted <= 12, "%s: %d truncated prefixes accepted", names[f], accepted);
        image_free(&full);
        free(buf);
    }
}

TEST(image_decode_file_errors_name_the_file) {
    LpoiErr err = {{0}};
    Image img;
    EXPECT(!image_decode_file(&img, "/nonexistent/dir/x.png", NULL, &err));
    EXPECT_MSG(!strncmp(err.msg, "/nonexistent/dir/x.png: ", 24), "%s", err.msg);
    EXPECT(!image_decode_file(&img, "/tmp", NULL, &err));
    EXPECT_MSG(!strncmp(err.msg, "/tmp: ", 6), "%s", err.msg);
    char p[256];
    EXPECT(!image_decode_file(&img, img_path(p, sizeof p, "../../tools/make_test_images.py"), NULL, &err));
    EXPECT_MSG(strstr(err.msg, "make_test_images.py: not a PNG"), "%s", err.msg);
}

// Inputs found by fuzz/fuzz_image.c. The JPEGs declare Huffman tables with more than 256 codes,
// which makes stb_image 2.27 write past its tables (already in stbi_info for the second one); the
// PPM's width overflows stb's int parser. Also: stb's unknown-chunk message embeds 4 raw bytes
// from the file (here a newline), and a PNG chunk may not claim more bytes than the file has.
TEST(image_decode_fuzz_regressions) {
    const struct { const char *file, *needle; } cases[] = {
        {"bad/dht_too_many_codes.jpg", "Huffman table with more than 256 codes"},
        {"bad/dht_too_many_codes_in_info.jpg", "Huffman table with more than 256 codes"},
        {"bad/pnm_number_overflow.ppm", "corrupt PNM header (number too large)"},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        char p[256];
        LpoiErr err = {{0}};
        Image img;
        EXPECT(!image_decode_file(&img, img_path(p, sizeof p, cases[i].file), NULL, &err));
        EXPECT_MSG(strstr(err.msg, cases[i].needle) && !strchr(err.msg, '\n') && !strncmp(err.msg, p, strlen(p)),
                   "%s", err.msg);
    }
    // A JPEG whose scans use Huffman tables it never defines: stb read them from uninitialised heap
    // (an out-of-bounds index depending on earlier allocations). Now they are zeros: the result
    // must be the same however dirty the heap is.
    char p[256];
    LpoiErr err = {{0}};
    Image first = {0}, again = {0}, junk;
    bool ok1 = image_decode_file(&first, img_path(p, sizeof p, "bad/undefined_huffman_table.jpg"), NULL, &err);
    for (int i = 0; i < 3; i++) {   // leave freed decoder state behind
        EXPECT(image_decode_file(&junk, img_path(p, sizeof p, "smooth_progressive.jpg"), NULL, &err));
        image_free(&junk);
    }
    bool ok2 = image_decode_file(&again, img_path(p, sizeof p, "bad/undefined_huffman_table.jpg"), NULL, &err);
    EXPECT(ok1 == ok2 && (!ok1 || image_equal(&first, &again)));
    image_free(&first);
    image_free(&again);
    // A progressive JPEG whose DC predictor overflows int (signed overflow inside stb, found by the
    // fuzzer under UBSan): stb's code wraps instead (see stb_image_impl.c). Decoding it twice gives
    // the same result, and the sanitizer build (CI) reports nothing.
    ok1 = image_decode_file(&first, img_path(p, sizeof p, "bad/progressive_dc_overflow.jpg"), NULL, &err);
    ok2 = image_decode_file(&again, img_path(p, sizeof p, "bad/progressive_dc_overflow.jpg"), NULL, &err);
    EXPECT(ok1 == ok2 && (!ok1 || image_equal(&first, &again)));
    if (ok1) { image_free(&first); image_free(&again); }

    size_t n;
    uint8_t *png = (uint8_t *)file_read_all(img_path(p, sizeof p, "rgb.png"), 1 << 20, &n, &err);
    EXPECT(png && n > 33);
    if (!png) return;
    // rgb.png with a zero-length critical chunk named "\n\x01\x02\x03" after IHDR (8 + 25 bytes).
    uint8_t *bad = malloc_check(n + 12);
    memcpy(bad, png, 33);
    const uint8_t chunk[8] = {0, 0, 0, 0, '\n', 1, 2, 3};
    memcpy(bad + 33, chunk, 8);
    put_be32(bad + 41, (uint32_t)crc32(crc32(0L, Z_NULL, 0), chunk + 4, 4));
    memcpy(bad + 45, png + 33, n - 33);
    REJECT(bad, n + 12, NULL, "cannot decode: ???? PNG chunk not known");
    // An IDAT that claims 2^31 - 1 bytes in a small file.
    memcpy(bad, png, n);
    put_be32(bad + 33, 0x7FFFFFFF);
    REJECT(bad, n, NULL, "truncated PNG (chunk cut off)");
    // Issue 16, finding 6: an empty IDAT right after IHDR made stb memcpy into a NULL buffer (UB),
    // then the CLI said "cannot decode: " with no reason. Pillow 13 reads such a file as if the
    // empty chunk were not there (checked with tools/ in /work/venv: the same bytes), so it is
    // decoded without it (it was refused); a PNG whose only IDAT is empty is refused, as by Pillow.
    const uint8_t idat0[8] = {0, 0, 0, 0, 'I', 'D', 'A', 'T'};
    memcpy(bad, png, 33);
    memcpy(bad + 33, idat0, 8);
    put_be32(bad + 41, (uint32_t)crc32(crc32(0L, Z_NULL, 0), idat0 + 4, 4));
    memcpy(bad + 45, png + 33, n - 33);
    Image want, got;
    EXPECT(image_decode_memory(&want, png, n, "rgb.png", NULL, &err));
    EXPECT_MSG(image_decode_memory(&got, bad, n + 12, "empty_idat.png", NULL, &err), "%s", err.msg);
    EXPECT(image_equal(&want, &got));
    image_free(&got);
    image_free(&want);
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    memcpy(bad + 45, iend, 12);   // IHDR, an empty IDAT, IEND: no image data at all
    REJECT(bad, 57, NULL, "cannot decode: ");
    free(bad);
    free(png);
}
