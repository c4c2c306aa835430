// idefics2_preprocess_test.c — the Idefics2 processor config (the real idefics2-8b file, defaults,
// every refusal), the resize rule (values worked out by hand from HF's get_resize_output_image_size),
// the split geometry and the batch layout (padding, mask, empty samples). Bit-exactness against
// transformers is the image.idefics2 golden cases' job.
#include "test/test.h"
#include "image/idefics2_preprocess.h"
#include "base/check.h"
#include <string.h>
#include <sys/stat.h>

#define IDEFICS2_DIR "../shared/data/hf/HuggingFaceM4__idefics2-8b"

static bool parse(const char *json, Idefics2ImageConfig *cfg, LpoiErr *err) {
    LpoiErr jerr = {{0}};
    JsonDoc *doc = json_parse(json, strlen(json), &jerr);
    if (!doc) return err_set(err, "test JSON does not parse: %s", jerr.msg);
    bool ok = idefics2_image_config_from_json(cfg, json_root(doc), "cfg", err);
    json_free(doc);
    return ok;
}

TEST(idefics2_image_config_real) {
    struct stat st;
    if (stat(IDEFICS2_DIR, &st) != 0) { test_skip(IDEFICS2_DIR " is absent"); return; }
    Idefics2ImageConfig cfg;
    LpoiErr err = {{0}};
    bool ok = idefics2_image_config_load(&cfg, IDEFICS2_DIR, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (!ok) return;
    EXPECT(cfg.do_convert_rgb && cfg.do_resize && cfg.do_rescale && cfg.do_normalize && cfg.do_pad && cfg.do_image_splitting);
    EXPECT_EQ_INT(cfg.shortest_edge, 378);
    EXPECT_EQ_INT(cfg.longest_edge, 980);
    EXPECT_EQ_INT(cfg.resample, RESAMPLE_BILINEAR);
    EXPECT(cfg.rescale_factor == 1.0 / 255.0 && cfg.mean[1] == 0.5 && cfg.std[2] == 0.5);
}

TEST(idefics2_image_config_defaults_and_refusals) {
    Idefics2ImageConfig cfg;
    LpoiErr err = {{0}};
    EXPECT(parse("{\"image_processor_type\": \"Idefics2ImageProcessor\"}", &cfg, &err));
    EXPECT(!cfg.do_image_splitting && cfg.do_pad && cfg.shortest_edge == 378 && cfg.longest_edge == 980);
    EXPECT(parse("{\"image_processor_type\": \"Idefics2ImageProcessorPil\", \"size\": {\"height\": 7, \"width\": 9}, "
                 "\"image_mean\": 0.25, \"processor_class\": \"x\"}", &cfg, &err));
    EXPECT(cfg.size_h == 7 && cfg.size_w == 9 && cfg.longest_edge == 0 && cfg.mean[2] == 0.25);
    static const struct { const char *json, *reason; } bad[] = {
        {"{}", "\"image_processor_type\" is missing"},
        {"{\"image_processor_type\": \"CLIPImageProcessor\"}", "image_processor_type"},
        {"{\"image_processor_type\": \"Idefics2ImageProcessor\", \"size\": 378}", "\"size\" must be"},
        {"{\"image_processor_type\": \"Idefics2ImageProcessor\", \"size\": {\"shortest_edge\": 378}}", "\"longest_edge\" is missing"},
        {"{\"image_processor_type\": \"Idefics2ImageProcessor\", \"size\": {\"max_height\": 3}}", "max_height"},
        {"{\"image_processor_type\": \"Idefics2ImageProcessor\", \"size\": {\"height\": 3, \"longest_edge\": 9}}", "or height and width"},
        {"{\"image_processor_type\": \"Idefics2ImageProcessor\", \"size\": {\"height\": 0, \"width\": 9}}", "\"height\""},
        {"{\"image_processor_type\": \"Idefics2ImageProcessor\", \"resample\": 0}", "NEAREST"},
        {"{\"image_processor_type\": \"Idefics2ImageProcessor\", \"image_std\": [0.5, 0, 0.5]}", "division by zero"},
        {"{\"image_processor_type\": \"Idefics2ImageProcessor\", \"image_mean\": [0.5, 0.5]}", "3 numbers"},
        {"{\"image_processor_type\": \"Idefics2ImageProcessor\", \"do_pad\": 1}", "\"do_pad\""},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(bad); i++) {
        err = (LpoiErr){{0}};
        bool ok = parse(bad[i].json, &cfg, &err);
        EXPECT_MSG(!ok && strstr(err.msg, bad[i].reason) && !strchr(err.msg, '\n'),
                   "%s: got \"%s\", expected a refusal naming %s", bad[i].json, err.msg, bad[i].reason);
    }
}

TEST(idefics2_resize_rule) {
    Idefics2ImageConfig cfg = idefics2_image_config_default();
    LpoiErr err = {{0}};
    static const int cases[][4] = {
        // in_w, in_h -> out_w, out_h (Python: get_resize_output_image_size with 378 / 980)
        {640, 480, 640, 480},     // inside the bounds: unchanged
        {2000, 1000, 980, 490},   // wide: width to 980, height int(980 / 2.0)
        {1000, 3000, 378, 980},   // tall: height to 980, width int(980 · 1/3) = 326, raised to 378
        {451, 300, 451, 378},     // short side below 378: raised alone (aspect not kept)
        {10, 5, 378, 378},
        {1999, 1001, 980, 490},   // int(980 / (1999/1001)) = int(490.74...)
        {980, 980, 980, 980},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++) {
        int w = 0, h = 0;
        EXPECT(idefics2_resize_size(&cfg, cases[i][0], cases[i][1], &w, &h, &err));
        EXPECT_MSG(w == cases[i][2] && h == cases[i][3], "%dx%d -> %dx%d, expected %dx%d", cases[i][0], cases[i][1], w, h,
                   cases[i][2], cases[i][3]);
    }
}

TEST(idefics2_batch_layout) {
    Idefics2ImageConfig cfg = idefics2_image_config_default();
    cfg.do_resize = false;
    cfg.do_image_splitting = true;
    Image a = image_new(5, 4), c = image_new(3, 7);
    memset(a.data, 255, (size_t)5 * 4 * 3);
    memset(c.data, 0, (size_t)3 * 7 * 3);
    const Image *rows[3] = {&a, NULL, &c};
    int counts[3] = {1, 0, 1};
    Idefics2Pixels px;
    LpoiErr err = {{0}};
    bool ok = idefics2_preprocess(&cfg, rows, counts, 3, &px, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (ok) {
        EXPECT(px.n_samples == 3 && px.n_images == 5 && px.w == 5 && px.h == 7);
        EXPECT(px.count[0] == 5 && px.count[1] == 0 && px.count[2] == 5);
        size_t plane = 35;
        // sample 0, quarter 1 ([:2, 2:] of 5x4): 3 wide, 2 high, white → (1 − 0.5)/0.5 = 1
        const float *q1 = px.pixel_values + 1 * 3 * plane;
        const uint8_t *m1 = px.pixel_attention_mask + 1 * plane;
        EXPECT(q1[0] == 1.0f && q1[2] == 1.0f && q1[3] == 0.0f && q1[5] == 1.0f && q1[2 * 5] == 0.0f);
        EXPECT(m1[0] == 1 && m1[2] == 1 && m1[3] == 0 && m1[2 * 5] == 0);
        // sample 1: all padding
        size_t zeros = 0;
        for (size_t i = 0; i < 5 * plane; i++) zeros += px.pixel_attention_mask[5 * plane + i] == 0;
        EXPECT_EQ_INT(zeros, 5 * plane);
        // sample 2, the whole 3x7 black image: −1 inside, 0 outside, mask 3 wide
        const float *whole = px.pixel_values + (10 + 4) * 3 * plane;
        EXPECT(whole[0] == -1.0f && whole[2] == -1.0f && whole[3] == 0.0f && whole[6 * 5 + 2] == -1.0f);
        idefics2_pixels_free(&px);
    }
    cfg.do_pad = false;   // sizes differ: HF would return a ragged list
    EXPECT(!idefics2_preprocess(&cfg, rows, counts, 3, &px, &err) && strstr(err.msg, "ragged"));
    Image thin = image_new(1, 9);
    const Image *one[1] = {&thin};
    int n1[1] = {1};
    cfg.do_pad = true;
    EXPECT(!idefics2_preprocess(&cfg, one, n1, 1, &px, &err) && strstr(err.msg, "empty quarters"));
    image_free(&a);
    image_free(&c);
    image_free(&thin);
}
