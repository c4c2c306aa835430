// dino_preprocess_test.c — GroundingDinoImageProcessor (PIL backend) against transformers 5.24 +
// Pillow (testdata/gdino/preprocess.json, tools/golden_gdino_preprocess.py): the resize rule on
// edge-case and random sizes, and whole batches (pixel_values and pixel_mask) bit for bit; the
// real config on photographs by CRC32 of the float32 bytes. Bad configs and images refused.
#include "test/test.h"
#include "image/dino_preprocess.h"
#include "image/preprocess.h"
#include "base/json.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

static JsonDoc *golden(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/gdino/preprocess.json", test_data_dir());
    LpoiErr err = {{0}};
    JsonDoc *d = json_load_file(path, (size_t)1 << 26, &err);
    if (!d) test_fail_at(__FILE__, __LINE__, "%s", err.msg);
    return d;
}

static int64_t geti(const JsonValue *o, const char *k) {
    int64_t v = -1;
    json_get_i64(o, k, &v);
    return v;
}

TEST(dino_resize_size_matches_hf) {
    JsonDoc *doc = golden();
    if (!doc) return;
    const JsonValue *sizes = json_get(json_root(doc), "sizes");
    EXPECT(sizes && sizes->count > 600);
    int bad = 0;
    for (size_t i = 0; sizes && i < sizes->count; i++) {
        const JsonValue *s = sizes->items[i], *o = json_get(s, "out");
        DinoPreprocessConfig c = dino_preprocess_default();
        c.shortest_edge = (int)geti(s, "shortest_edge");
        c.longest_edge = (int)geti(s, "longest_edge");
        int h = (int)geti(s, "h"), w = (int)geti(s, "w"), oh = (int)o->items[0]->number, ow = (int)o->items[1]->number, gw = -1, gh = -1;
        LpoiErr err = {{0}};
        bool ok = dino_resize_size(&c, w, h, &gw, &gh, &err);
        if (oh < 1 || ow < 1) {   // HF would go on with an empty side; lpoi refuses
            EXPECT_MSG(!ok && strstr(err.msg, "empty"), "%dx%d: %s", w, h, err.msg);
            continue;
        }
        if ((!ok || gw != ow || gh != oh) && bad++ < 5)
            test_fail_at(__FILE__, __LINE__, "E %d M %d: %dx%d -> %dx%d, want %dx%d (%s)", c.shortest_edge, c.longest_edge, w, h, gw,
                         gh, ow, oh, err.msg);
    }
    json_free(doc);
}

static Image image_of(const JsonValue *im) {
    Image out = {0};
    const char *photo = json_get_str(im, "photo");
    LpoiErr err = {{0}};
    if (photo) {
        char path[512];
        snprintf(path, sizeof path, "%s/images/photos/%s", test_data_dir(), photo);
        EXPECT_MSG(preprocess_load_image(&out, path, NULL, &err), "%s", err.msg);
        return out;
    }
    int w = (int)geti(im, "w"), h = (int)geti(im, "h");
    const char *hex = json_get_str(im, "rgb_hex");
    out = image_new(w, h);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out.data[i] = (uint8_t)v;
    }
    return out;
}

TEST(dino_preprocess_matches_hf) {
    JsonDoc *doc = golden();
    if (!doc) return;
    const JsonValue *batches = json_get(json_root(doc), "batches");
    EXPECT(batches && batches->count >= 13);
    for (size_t k = 0; batches && k < batches->count; k++) {
        const JsonValue *b = batches->items[k], *ims = json_get(b, "images"), *shape = json_get(b, "shape");
        const char *name = json_get_str(b, "name");
        LpoiErr err = {{0}};
        DinoPreprocessConfig cfg;
        EXPECT_MSG(dino_preprocess_config_from_json(&cfg, json_get(b, "config"), name, &err), "%s", err.msg);
        Image imgs[4];
        const Image *ptrs[4];
        for (size_t i = 0; i < ims->count && i < 4; i++) { imgs[i] = image_of(ims->items[i]); ptrs[i] = &imgs[i]; }
        DinoBatch out;
        if (!dino_preprocess_batch(&cfg, ptrs, ims->count, &out, &err)) {
            test_fail_at(__FILE__, __LINE__, "%s: %s", name, err.msg);
        } else {
            size_t n = (size_t)out.b * 3 * out.h * out.w;
            EXPECT_MSG(out.b == shape->items[0]->number && out.h == shape->items[2]->number && out.w == shape->items[3]->number,
                       "%s: shape [%d, 3, %d, %d]", name, out.b, out.h, out.w);
            uint32_t crc = (uint32_t)crc32(0, (const Bytef *)out.pixel_values, (uInt)(n * sizeof(float)));
            EXPECT_MSG(crc == (uint32_t)geti(b, "pixel_values_crc32"), "%s: pixel_values CRC32 %08x differs", name, crc);
            const JsonValue *pv = json_get(b, "pixel_values"), *samples = json_get(b, "samples");
            if (pv && pv->count == n) {
                float *want = malloc(n * sizeof *want);
                for (size_t i = 0; i < n; i++) want[i] = (float)pv->items[i]->number;
                EXPECT_CLOSE_F32(name, out.pixel_values, want, n, 0, 0);
                free(want);
            }
            for (size_t i = 0; samples && i < samples->count; i++) {
                size_t at = (size_t)samples->items[i]->items[0]->number;
                EXPECT(at < n && out.pixel_values[at] == (float)samples->items[i]->items[1]->number);
            }
            if (json_get(b, "pixel_mask_crc32")) {
                uint32_t mc = (uint32_t)crc32(0, out.pixel_mask, (uInt)((size_t)out.b * out.h * out.w));
                EXPECT_MSG(mc == (uint32_t)geti(b, "pixel_mask_crc32"), "%s: pixel_mask differs", name);
            }
        }
        dino_batch_free(&out);
        for (size_t i = 0; i < ims->count && i < 4; i++) image_free(&imgs[i]);
    }
    json_free(doc);
}

TEST(dino_preprocess_refusals) {
    LpoiErr err = {{0}};
    DinoPreprocessConfig c = dino_preprocess_default(), got;
    static const struct { const char *json, *needle; } bad[] = {
        {"{\"image_processor_type\": \"CLIPImageProcessor\"}", "not GroundingDinoImageProcessor"},
        {"{\"image_processor_type\": \"GroundingDinoImageProcessor\", \"size\": {\"height\": 800, \"width\": 800}}", "shortest_edge"},
        {"{\"image_processor_type\": \"GroundingDinoImageProcessor\", \"size\": {\"shortest_edge\": 900, \"longest_edge\": 800}}", "must satisfy"},
        {"{\"image_processor_type\": \"GroundingDinoImageProcessor\", \"resample\": 0}", "NEAREST"},
        {"{\"image_processor_type\": \"GroundingDinoImageProcessor\", \"resample\": 9}", "\"resample\""},
        {"{\"image_processor_type\": \"GroundingDinoImageProcessor\", \"image_std\": [0.2, 0, 0.2]}", "division by zero"},
        {"{\"image_processor_type\": \"GroundingDinoImageProcessor\", \"pad_size\": {\"height\": 9, \"width\": 9}}", "pad_size"},
        {"{\"image_processor_type\": \"GroundingDinoImageProcessor\", \"do_pad\": 3}", "\"do_pad\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        JsonDoc *d = json_parse(bad[i].json, strlen(bad[i].json), &err);
        EXPECT(d);
        EXPECT_MSG(!dino_preprocess_config_from_json(&got, json_root(d), "cfg.json", &err) && strstr(err.msg, bad[i].needle) &&
                   !strncmp(err.msg, "cfg.json", 8), "case %zu: %s", i, err.msg);
        json_free(d);
    }
    int w, h;
    EXPECT(!dino_resize_size(&c, 0, 5, &w, &h, &err) && strstr(err.msg, "empty"));
    EXPECT(!dino_resize_size(&c, 10000, 1, &w, &h, &err) && strstr(err.msg, "resizes to an empty"));
    Image zero = {0}, a = image_new(4, 3), b2 = image_new(3, 4);
    const Image *one[] = {&zero}, *two[] = {&a, &b2};
    DinoBatch out;
    EXPECT(!dino_preprocess_batch(&c, one, 1, &out, &err) && strstr(err.msg, "image 1 is empty"));
    EXPECT(!dino_preprocess_batch(&c, two, 0, &out, &err) && strstr(err.msg, "no images"));
    c.do_pad = false;
    EXPECT(!dino_preprocess_batch(&c, two, 2, &out, &err) && strstr(err.msg, "do_pad is false"));
    Image huge = {.w = 100000, .h = 100000, .data = a.data};   // never read: refused by its size
    const Image *h1[] = {&huge};
    EXPECT(!dino_preprocess_batch(&c, h1, 1, &out, &err) && strstr(err.msg, "limit"));
    image_free(&a);
    image_free(&b2);
}

// The real config on a photograph, timed (printed; the bound only catches a pathological slowdown).
TEST(dino_preprocess_real_speed) {
    char path[512];
    snprintf(path, sizeof path, "%s/images/photos/chelsea.png", test_data_dir());
    Image im;
    LpoiErr err = {{0}};
    EXPECT_MSG(preprocess_load_image(&im, path, NULL, &err), "%s", err.msg);
    if (!im.data) return;
    DinoPreprocessConfig c = dino_preprocess_default();
    const Image *one[] = {&im};
    DinoBatch out;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 5; i++) {
        EXPECT(dino_preprocess_batch(&c, one, 1, &out, &err));
        dino_batch_free(&out);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) * 1e-6) / 5;
    fprintf(stderr, "    451x300 photograph -> pixel_values [1, 3, 800, 1202]: %.1f ms\n", ms);
    EXPECT(ms < 5000);
    image_free(&im);
}
