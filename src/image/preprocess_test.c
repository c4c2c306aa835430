// preprocess_test.c — the CLIP/LLaVA processor config (the real llava-1.5 file, defaults, every
// error), the size rules (truncated long side, pad-to-square), HF's floor-centred crop with zero
// padding, LLaVA's pad colour and placement, Pillow's alpha composite onto white (values checked
// with Pillow 13.0), the fused resize+crop against the step-by-step pipeline, and the rescale /
// normalise arithmetic. Bit-exactness against transformers is the image.clip golden cases' job.
#include "test/test.h"
#include "image/preprocess.h"
#include "base/check.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define LLAVA_DIR "../shared/data/hf/llava-hf__llava-1.5-7b-hf"

static Image pattern_image(int w, int h, int seed) {
    Image img = image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) image_pixel(&img, x, y)[c] = (uint8_t)((x * 37 + y * 11 + c * 85 + seed * 7 + x * y) & 255);
    return img;
}

static bool parse_cfg(const char *json, PreprocessConfig *cfg, LpoiErr *err) {
    LpoiErr jerr = {{0}};
    JsonDoc *doc = json_parse(json, strlen(json), &jerr);
    if (!doc) return err_set(err, "test JSON does not parse: %s", jerr.msg);
    bool ok = preprocess_config_from_json(cfg, json_root(doc), err);
    json_free(doc);
    return ok;
}

TEST(preprocess_config_real_llava15) {
    struct stat st;
    if (stat(LLAVA_DIR, &st) != 0) { test_skip(LLAVA_DIR " is absent"); return; }
    PreprocessConfig cfg;
    LpoiErr err = {{0}};
    bool ok = preprocess_config_load(&cfg, LLAVA_DIR "/preprocessor_config.json", &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (!ok) return;
    EXPECT(cfg.kind == PREPROCESS_CLIP);
    EXPECT(cfg.do_convert_rgb && cfg.do_resize && cfg.do_center_crop && cfg.do_rescale && cfg.do_normalize && !cfg.do_pad);
    EXPECT_EQ_INT(cfg.shortest_edge, 336);
    EXPECT_EQ_INT(cfg.crop_w, 336);
    EXPECT_EQ_INT(cfg.crop_h, 336);
    EXPECT_EQ_INT(cfg.resample, RESAMPLE_BICUBIC);
    EXPECT(cfg.rescale_factor == 1.0 / 255.0);   // the file's 0.00392156862745098 is Python's 1/255
    EXPECT(cfg.mean[0] == 0.48145466 && cfg.mean[1] == 0.4578275 && cfg.mean[2] == 0.40821073);
    EXPECT(cfg.std[0] == 0.26862954 && cfg.std[1] == 0.26130258 && cfg.std[2] == 0.27577711);
    PreprocessConfig by_dir;   // a model folder works too
    EXPECT(preprocess_config_load(&by_dir, LLAVA_DIR, &err) && memcmp(&by_dir, &cfg, sizeof cfg) == 0);
    uint8_t bg[3];
    EXPECT(preprocess_pad_color(&cfg, bg, &err));
    EXPECT(bg[0] == 122 && bg[1] == 116 && bg[2] == 104);   // tuple(int(x * 255) for x in image_mean)
    int w, h;
    EXPECT(preprocess_output_size(&cfg, 640, 480, &w, &h, &err) && w == 336 && h == 336);
}

TEST(preprocess_config_defaults_and_variants) {
    PreprocessConfig cfg;
    LpoiErr err = {{0}};
    EXPECT(parse_cfg("{\"image_processor_type\": \"CLIPImageProcessor\"}", &cfg, &err));
    EXPECT(cfg.shortest_edge == 224 && cfg.crop_w == 224 && cfg.crop_h == 224 && cfg.resample == RESAMPLE_BICUBIC);
    EXPECT(cfg.do_center_crop && !cfg.do_pad && cfg.rescale_factor == 1.0 / 255.0);
    // older CLIPFeatureExtractor files: integer size (shortest edge) and crop_size (square)
    EXPECT(parse_cfg("{\"feature_extractor_type\": \"CLIPFeatureExtractor\", \"size\": 336, \"crop_size\": 300}", &cfg, &err));
    EXPECT(cfg.shortest_edge == 336 && cfg.size_w == 0 && cfg.crop_w == 300 && cfg.crop_h == 300);
    EXPECT(parse_cfg("{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": 50, \"default_to_square\": true}", &cfg, &err));
    EXPECT(cfg.shortest_edge == 0 && cfg.size_w == 50 && cfg.size_h == 50);
    EXPECT(parse_cfg("{\"image_processor_type\": \"LlavaImageProcessor\", \"do_pad\": true, \"resample\": 2, "
                     "\"size\": {\"height\": 30, \"width\": 40, \"shortest_edge\": null}, \"image_mean\": 0.5, \"image_std\": [1, 2, 3]}",
                     &cfg, &err));
    EXPECT(cfg.kind == PREPROCESS_LLAVA && cfg.do_pad && cfg.resample == RESAMPLE_BILINEAR);
    EXPECT(cfg.size_h == 30 && cfg.size_w == 40 && cfg.shortest_edge == 0);
    EXPECT(cfg.mean[0] == 0.5 && cfg.mean[2] == 0.5 && cfg.std[2] == 3);
}

TEST(preprocess_config_errors) {
    const struct { const char *json, *want; } cases[] = {
        {"[]", "JSON object"},
        {"{}", "no image_processor_type"},
        {"{\"image_processor_type\": \"SiglipImageProcessor\"}", "SiglipImageProcessor"},
        {"{\"image_processor_type\": 3}", "not a string"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"resample\": 0}", "NEAREST"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"resample\": 9}", "resample: 9"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"resample\": 2.5}", "resample"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": {\"shortest_edge\": 336, \"longest_edge\": 672}}", "longest_edge"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": {\"height\": 336}}", "size"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": {\"shortest_edge\": 0}}", "size.shortest_edge"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": \"336\"}", "size"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"crop_size\": {\"height\": 70000, \"width\": 3}}", "crop_size.height"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"crop_size\": {\"height\": 3}}", "crop_size.width"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"image_mean\": [0.5, 0.5]}", "image_mean"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"image_std\": [0.5, 0, 0.5]}", "image_std[1]"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"image_std\": [0.5, \"a\", 0.5]}", "image_std[1]"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"do_resize\": \"yes\"}", "do_resize"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"do_pad\": true}", "do_pad"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"pad_size\": {\"height\": 3, \"width\": 3}}", "pad_size"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"data_format\": \"channels_last\"}", "data_format"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"rescale_factor\": null}", "rescale_factor"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\", \"image_mean\": null}", "image_mean"},
        {"{\"image_processor_type\": \"LlavaImageProcessor\", \"do_pad\": true, \"image_mean\": [1.5, 0, 0]}", "pad colour"},
        {"{\"image_processor_type\": \"LlavaImageProcessor\", \"do_pad\": true, \"image_mean\": [-0.1, 0, 0]}", "pad colour"},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        PreprocessConfig cfg = preprocess_config_default(PREPROCESS_CLIP);
        LpoiErr err = {{0}};
        bool ok = parse_cfg(cases[i].json, &cfg, &err);
        EXPECT_MSG(!ok && strstr(err.msg, cases[i].want), "%s: got %s \"%s\", want an error with \"%s\"", cases[i].json,
                   ok ? "success" : "error", err.msg, cases[i].want);
    }
    // a file: errors name it
    PreprocessConfig cfg;
    LpoiErr err = {{0}};
    EXPECT(!preprocess_config_load(&cfg, "testdata/no_such_dir/preprocessor_config.json", &err) && strstr(err.msg, "no_such_dir"));
}

TEST(preprocess_resize_sizes) {
    PreprocessConfig cfg = preprocess_config_default(PREPROCESS_CLIP);
    cfg.shortest_edge = 336;
    const int cases[][4] = {
        {640, 480, 448, 336}, {480, 640, 336, 448}, {336, 336, 336, 336}, {1, 7, 336, 2352}, {451, 300, 505, 336},
        {600, 400, 504, 336}, {3, 50, 336, 5600}, {1000, 999, 336, 336},   // int(336·1000/999) = int(336.336...) = 336
        {999, 1000, 336, 336}, {335, 1000, 336, 1002},                      // int(1002.985...) = 1002 (truncated)
    };
    LpoiErr err = {{0}};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        int w = 0, h = 0;
        EXPECT(preprocess_resize_size(&cfg, cases[i][0], cases[i][1], &w, &h, &err));
        EXPECT_MSG(w == cases[i][2] && h == cases[i][3], "%dx%d -> %dx%d, want %dx%d", cases[i][0], cases[i][1], w, h,
                   cases[i][2], cases[i][3]);
    }
    int w, h;
    EXPECT(preprocess_resize_size(&cfg, 1, 1000000, &w, &h, &err) && w == 336 && h == 336000000);   // virtual
    EXPECT(!preprocess_resize_size(&cfg, 1, 10000000, &w, &h, &err) && strstr(err.msg, "2^31"));
    EXPECT(!preprocess_resize_size(&cfg, 0, 10, &w, &h, &err));
    cfg.do_pad = true;   // pad to square first: always shortest_edge square
    EXPECT(preprocess_resize_size(&cfg, 31, 20, &w, &h, &err) && w == 336 && h == 336);
    cfg.do_pad = false;
    cfg.do_resize = false;
    EXPECT(preprocess_resize_size(&cfg, 31, 20, &w, &h, &err) && w == 31 && h == 20);
    EXPECT(preprocess_output_size(&cfg, 31, 20, &w, &h, &err) && w == 224 && h == 224);   // the default crop
}

TEST(preprocess_center_crop_floor_and_padding) {
    Image img = pattern_image(7, 6, 1);
    Image c = preprocess_center_crop(&img, 4, 3);   // offsets (7-4)//2 = 1, (6-3)//2 = 1
    for (int y = 0; y < 3; y++) EXPECT(memcmp(image_pixel(&c, 0, y), image_pixel(&img, 1, 1 + y), 4 * 3) == 0);
    image_free(&c);
    // Larger than the image: HF pads with zeros, the image at ceil((crop - dim)/2): 2 rows (10-6=4 ->
    // 2) and 2 columns (10-7=3 -> ceil 1.5 = 2).
    c = preprocess_center_crop(&img, 10, 10);
    int bad = 0;
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++) {
            bool in = x >= 2 && x < 9 && y >= 2 && y < 8;
            const uint8_t *p = image_pixel(&c, x, y);
            bad += in ? memcmp(p, image_pixel(&img, x - 2, y - 2), 3) != 0 : (p[0] | p[1] | p[2]) != 0;
        }
    EXPECT_EQ_INT(bad, 0);
    image_free(&c);
    // Padding on one axis, cropping on the other: columns from (7-3)//2 = 2, rows padded ceil(3/2) = 2.
    c = preprocess_center_crop(&img, 3, 9);
    EXPECT(memcmp(image_pixel(&c, 0, 2), image_pixel(&img, 2, 0), 9) == 0);
    EXPECT(image_pixel(&c, 1, 1)[0] == 0 && image_pixel(&c, 1, 8)[2] == 0);
    EXPECT(memcmp(image_pixel(&c, 0, 7), image_pixel(&img, 2, 5), 9) == 0);
    image_free(&c);
    image_free(&img);
}

TEST(preprocess_pad_square_placement) {
    const uint8_t bg[3] = {122, 116, 104};
    Image wide = pattern_image(7, 2, 2), tall = pattern_image(2, 5, 3);
    Image a = preprocess_pad_square(&wide, bg), b = preprocess_pad_square(&tall, bg);
    EXPECT(a.w == 7 && a.h == 7 && b.w == 5 && b.h == 5);
    // wide: rows start at (7-2)//2 = 2; tall: columns start at (5-2)//2 = 1
    EXPECT(memcmp(image_pixel(&a, 0, 2), wide.data, 7 * 3) == 0 && memcmp(image_pixel(&a, 0, 3), image_pixel(&wide, 0, 1), 7 * 3) == 0);
    EXPECT(memcmp(image_pixel(&a, 3, 1), bg, 3) == 0 && memcmp(image_pixel(&a, 6, 4), bg, 3) == 0);
    EXPECT(memcmp(image_pixel(&b, 1, 0), tall.data, 6) == 0 && memcmp(image_pixel(&b, 0, 4), bg, 3) == 0);
    EXPECT(memcmp(image_pixel(&b, 3, 2), bg, 3) == 0);
    image_free(&a);
    image_free(&b);
    image_free(&wide);
    image_free(&tall);
}

TEST(preprocess_to_rgb_composites_on_white) {
    // Pillow 13.0: alpha_composite(white, RGBA) then convert("RGB"):
    // (0,10,200,128) -> (127,132,227); alpha 0 -> white; alpha 255 -> unchanged; (100,200,30,1) -> (254,255,254)
    const uint8_t rgba[] = {0, 10, 200, 128, 50, 0, 255, 0, 7, 8, 9, 255, 100, 200, 30, 1};
    const uint8_t want[] = {127, 132, 227, 255, 255, 255, 7, 8, 9, 254, 255, 254};
    Image out;
    LpoiErr err = {{0}};
    EXPECT(preprocess_to_rgb(&out, rgba, 4, 1, 4, &err));
    EXPECT(memcmp(out.data, want, sizeof want) == 0);
    image_free(&out);
    const uint8_t la[] = {0, 128, 9, 255, 200, 0};   // LA: grey composited the same way
    EXPECT(preprocess_to_rgb(&out, la, 3, 1, 2, &err));
    EXPECT(out.data[0] == 127 && out.data[2] == 127 && out.data[3] == 9 && out.data[8] == 255);
    image_free(&out);
    const uint8_t grey[] = {0, 77, 255};
    EXPECT(preprocess_to_rgb(&out, grey, 1, 3, 1, &err));
    EXPECT(out.data[3] == 77 && out.data[4] == 77 && out.data[5] == 77 && out.data[8] == 255);
    image_free(&out);
    EXPECT(!preprocess_to_rgb(&out, grey, 1, 3, 5, &err) && strstr(err.msg, "channels"));
    EXPECT(!preprocess_to_rgb(&out, grey, 0, 3, 1, &err));
}

TEST(preprocess_normalize_arithmetic) {
    // rescale in float64 then float32, normalise in float32: (float(v/255) - float(mean)) / float(std)
    PreprocessConfig cfg = preprocess_config_default(PREPROCESS_CLIP);
    Image img = image_new(2, 1);
    uint8_t px[6] = {0, 128, 255, 7, 1, 254};
    memcpy(img.data, px, 6);
    float out[6];
    preprocess_normalize(&cfg, &img, out);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 2; i++) {
            float x = (float)((double)px[i * 3 + c] * (1.0 / 255.0));
            float want = (x - (float)cfg.mean[c]) / (float)cfg.std[c];
            EXPECT(out[c * 2 + i] == want);
        }
    EXPECT_NEAR(out[0], (0 - 0.48145466) / 0.26862954, 1e-6, 0);
    cfg.do_rescale = false;
    cfg.do_normalize = false;
    preprocess_normalize(&cfg, &img, out);
    EXPECT(out[0] == 0 && out[1] == 7 && out[2] == 128 && out[5] == 254);
    image_free(&img);
}

TEST(preprocess_fused_crop_equals_steps) {
    // The fused window resize must give what resize-then-crop gives, including crops that pad.
    PreprocessConfig cfg = preprocess_config_default(PREPROCESS_LLAVA);
    const int shapes[][2] = {{41, 29}, {29, 50}, {3, 50}, {50, 3}, {13, 9}, {336, 336}, {7, 7}};
    const int params[][3] = {{24, 20, 20}, {16, 25, 20}, {11, 30, 14}, {30, 17, 21}};   // shortest, crop w, crop h
    for (size_t s = 0; s < LPOI_ARRAY_LEN(shapes); s++)
        for (size_t p = 0; p < LPOI_ARRAY_LEN(params); p++)
            for (int pad = 0; pad < 2; pad++) {
                cfg.shortest_edge = params[p][0];
                cfg.crop_w = params[p][1];
                cfg.crop_h = params[p][2];
                cfg.do_pad = pad;
                Image src = pattern_image(shapes[s][0], shapes[s][1], (int)(s + p));
                LpoiErr err = {{0}};
                Image fused, sq = {0}, full;
                uint8_t bg[3] = {122, 116, 104};
                if (pad) sq = preprocess_pad_square(&src, bg);
                int rw, rh;
                EXPECT(preprocess_resize_size(&cfg, src.w, src.h, &rw, &rh, &err));
                EXPECT(image_resize(&full, pad ? &sq : &src, rw, rh, RESAMPLE_BICUBIC, &err));
                Image steps = preprocess_center_crop(&full, cfg.crop_w, cfg.crop_h);
                EXPECT_MSG(preprocess_image_u8(&cfg, &src, &fused, &err), "%s", err.msg);
                EXPECT_MSG(image_equal(&fused, &steps), "%dx%d shortest %d crop %dx%d pad %d", src.w, src.h, cfg.shortest_edge,
                           cfg.crop_w, cfg.crop_h, pad);
                PixelValues pv;
                EXPECT(preprocess_image(&cfg, &src, &pv, &err));
                EXPECT(pv.c == 3 && pv.w == cfg.crop_w && pv.h == cfg.crop_h);
                float *want = malloc_check((size_t)3 * steps.w * steps.h * sizeof *want);
                preprocess_normalize(&cfg, &steps, want);
                EXPECT(memcmp(want, pv.data, (size_t)3 * steps.w * steps.h * sizeof *want) == 0);
                free(want);
                pixel_values_free(&pv);
                image_free(&fused);
                image_free(&steps);
                image_free(&full);
                image_free(&sq);
                image_free(&src);
            }
}

TEST(preprocess_llava15_extreme_aspect) {
    // 1 x 4000 with the real sizes: the resize is to 336 x 1344000 (452 Mpx, more than any image we
    // would allocate), but only the 336 x 336 crop is computed. Without the crop it is refused.
    PreprocessConfig cfg = preprocess_config_default(PREPROCESS_CLIP);
    cfg.shortest_edge = cfg.crop_w = cfg.crop_h = 336;
    Image src = pattern_image(1, 4000, 5);
    LpoiErr err = {{0}};
    PixelValues pv;
    bool ok = preprocess_image(&cfg, &src, &pv, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (ok) {
        EXPECT(pv.w == 336 && pv.h == 336);
        int varying = 0;   // a 1-pixel-wide source gives constant rows
        for (size_t r = 0; r < (size_t)3 * 336; r++)
            for (int x = 1; x < 336; x++) varying += pv.data[r * 336 + (size_t)x] != pv.data[r * 336];
        EXPECT_EQ_INT(varying, 0);
        pixel_values_free(&pv);
    }
    cfg.do_center_crop = false;
    ok = preprocess_image(&cfg, &src, &pv, &err);
    EXPECT_MSG(!ok && strstr(err.msg, "limit"), "a full 336 x 1344000 resize must be refused, got: %s", ok ? "ok" : err.msg);
    if (ok) pixel_values_free(&pv);
    image_free(&src);
}

// A transparent FILE through the model-input loader: testdata/images/rgba.png (Pillow, tools/
// make_test_images.py: RGB pattern + alpha (x·29 + y·71) & 255) decodes raw to 4 channels whose RGB
// is what Pillow's convert("RGB") gives (expected_rgba.png.png) and whose alpha is the generator's;
// preprocess_load_image is then exactly preprocess_to_rgb of those pixels (the path the image.clip
// goldens pin to transformers), so its pixel_values are HF's. Plus the channel count per format.
TEST(preprocess_load_image_composites_rgba_file) {
    char p[256], q[256];
    snprintf(p, sizeof p, "%s/images/rgba.png", test_data_dir());
    snprintf(q, sizeof q, "%s/images/expected_rgba.png.png", test_data_dir());
    LpoiErr err = {{0}};
    RawImage raw;
    Image pil = {0}, want = {0}, got = {0};
    EXPECT_MSG(image_decode_raw_file(&raw, p, NULL, &err), "%s", err.msg);
    EXPECT_MSG(image_decode_file(&pil, q, NULL, &err), "%s", err.msg);
    EXPECT(raw.w == 13 && raw.h == 7 && raw.channels == 4 && pil.w == 13 && pil.h == 7);
    if (raw.channels != 4 || pil.w != 13) { raw_image_free(&raw); image_free(&pil); return; }
    int bad = 0, transparent = 0;
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 13; x++) {
            const uint8_t *r = raw.data + ((size_t)y * 13 + (size_t)x) * 4;
            bad += memcmp(r, image_pixel(&pil, x, y), 3) != 0 || r[3] != ((x * 29 + y * 71) & 255);
            transparent += r[3] == 0;
        }
    EXPECT(bad == 0 && transparent > 0);
    EXPECT(preprocess_to_rgb(&want, raw.data, raw.w, raw.h, 4, &err));
    EXPECT_MSG(preprocess_load_image(&got, p, NULL, &err), "%s", err.msg);
    EXPECT(image_equal(&got, &want) && !image_equal(&got, &pil));
    EXPECT(image_pixel(&got, 0, 0)[0] == 255 && image_pixel(&got, 0, 0)[1] == 255 && image_pixel(&got, 0, 0)[2] == 255);  // alpha(0,0) = 0
    PreprocessConfig cfg = preprocess_config_default(PREPROCESS_CLIP);
    PixelValues a = {0}, b = {0};
    EXPECT(preprocess_image(&cfg, &got, &a, &err) && preprocess_image(&cfg, &want, &b, &err));
    EXPECT(a.data && b.data && memcmp(a.data, b.data, (size_t)a.c * a.h * a.w * sizeof *a.data) == 0);
    pixel_values_free(&a); pixel_values_free(&b);
    raw_image_free(&raw); image_free(&pil); image_free(&want); image_free(&got);

    // Channels as PIL's mode before convert_to_rgb (see image.h).
    const struct { const char *file; int ch; } cases[] = {
        {"grey.png", 1}, {"grey_alpha.png", 2}, {"rgb.png", 3}, {"rgba.png", 4}, {"palette.png", 3},
        {"palette_trns.png", 4}, {"grey16.png", 1}, {"rgba.bmp", 3}, {"grey.pgm", 1}, {"two_frames.gif", 4},
        {"smooth_grey.jpg", 1}, {"smooth_444.jpg", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(p, sizeof p, "%s/images/%s", test_data_dir(), cases[i].file);
        EXPECT_MSG(image_decode_raw_file(&raw, p, NULL, &err), "%s", err.msg);
        EXPECT_MSG(raw.channels == cases[i].ch, "%s: %d channels, want %d", cases[i].file, raw.channels, cases[i].ch);
        raw_image_free(&raw);
    }
    EXPECT(!image_decode_raw_file(&raw, "/nonexistent/x.png", NULL, &err) && strstr(err.msg, "/nonexistent/x.png"));
}
