// golden_image.c — runners for the image.* golden cases (tools/golden_preprocess.py).
//
// Image work is host code, so each runner takes the input pixels through the backend (gr_in_int:
// the harness checks the range, marks the tensor used and checks it comes back unchanged), reads
// them back, runs src/image on the host and compares with gr_expect_host. uint8 tensors are compared
// as floats with the case's atol (the generator writes 1e-6 for everything): any difference of one
// level fails, so they must be identical.
// Contract (config fields; tensors):
//   image.resize  {in_width, in_height, width, height, filter (PIL code), image?}
//                 in.image U8 [in_height, in_width, 3] (absent when `image` names a file)
//                 -> out.image U8 [height, width, 3]: Pillow's Image.resize((width, height), filter)
//   image.clip    {processor (a preprocessor_config.json object), in_width, in_height, channels, image?}
//                 in.image U8 [in_height, in_width, channels] (channels 1 L, 2 LA, 3 RGB, 4 RGBA)
//                 -> out.resized U8 [h, w, 3]   after convert/pad/resize, before the crop (optional)
//                    out.image U8 [ch, cw, 3]   the uint8 image HF rescales and normalises (optional)
//                    out.pixel_values F32 [3, ch, cw] HF's pixel_values (optional)
// `image`, when present, is a path relative to the case file's folder (a committed PNG, decoded by
// image_decode_file; used for photographs so they are stored once, in testdata/images/photos).
#include "check/golden_image.h"
#include "image/preprocess.h"
#include "image/resample.h"
#include "base/check.h"
#include <string.h>

#define SHAPE GR_SHAPE

// The input image: from the in.image tensor, or decoded from config "image" (then channels == 3).
// Returns raw H x W x C pixels (malloc'ed) or NULL after recording an error.
static uint8_t *load_input(GoldenRun *r, int w, int h, int channels) {
    const JsonValue *cfg = gr_case(r)->config;
    const char *rel = json_get_str(cfg, "image");
    if (!gr_ready(r)) return NULL;
    if (rel) {
        if (channels != 3) { gr_error(r, "config: an image file is decoded to RGB; channels must be 3"); return NULL; }
        const char *path = gr_case(r)->path, *slash = strrchr(path, '/');
        char full[4096];
        if ((size_t)snprintf(full, sizeof full, "%.*s%s", slash ? (int)(slash - path + 1) : 0, path, rel) >= sizeof full) {
            gr_error(r, "config: image path too long");
            return NULL;
        }
        Image img;
        LpoiErr err = {{0}};
        if (!image_decode_file(&img, full, NULL, &err)) { gr_error(r, "%s", err.msg); return NULL; }
        if (img.w != w || img.h != h) {
            gr_error(r, "%s is %dx%d, the case was written for %dx%d", full, img.w, img.h, w, h);
            image_free(&img);
            return NULL;
        }
        return img.data;   // ownership moves to the caller (the Image struct is not kept)
    }
    int32_t *tmp = gr_in_int_host(r, "in.image", SHAPE(h, w, channels), 0, 255);
    if (!tmp) return NULL;
    size_t n = gr_numel(r, SHAPE(h, w, channels));
    uint8_t *px = malloc_check(n);
    for (size_t i = 0; i < n; i++) px[i] = (uint8_t)tmp[i];
    free(tmp);
    return px;
}

static void expect_image(GoldenRun *r, const Image *img, const char *name) {
    size_t n = (size_t)img->w * (size_t)img->h * 3;
    float *f = malloc_check(n * sizeof *f + sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = img->data[i];
    gr_expect_host(r, f, name, SHAPE(img->h, img->w, 3));
    free(f);
}

void golden_run_image_resize(GoldenRun *r) {
    int in_w = gr_cfg_int(r, "in_width", 1, GR_MAX_DIM), in_h = gr_cfg_int(r, "in_height", 1, GR_MAX_DIM);
    int w = gr_cfg_int(r, "width", 1, GR_MAX_DIM), h = gr_cfg_int(r, "height", 1, GR_MAX_DIM);
    int filter = gr_cfg_int(r, "filter", 0, 100);
    if (gr_ready(r) && !resample_filter_supported(filter)) {
        gr_error(r, "config: filter %d (%s) is not implemented", filter, resample_filter_name(filter));
        return;
    }
    uint8_t *px = load_input(r, in_w, in_h, 3);
    if (!px) return;
    Image src = {.w = in_w, .h = in_h, .data = px}, out;
    LpoiErr err = {{0}};
    if (!image_resize(&out, &src, w, h, (ResampleFilter)filter, &err)) {
        gr_error(r, "%s", err.msg);
    } else {
        expect_image(r, &out, "out.image");
        image_free(&out);
    }
    image_free(&src);
}

void golden_run_image_clip(GoldenRun *r) {
    int in_w = gr_cfg_int(r, "in_width", 1, GR_MAX_DIM), in_h = gr_cfg_int(r, "in_height", 1, GR_MAX_DIM);
    int channels = gr_cfg_int(r, "channels", 1, 4);
    const JsonValue *proc = json_get(gr_case(r)->config, "processor");
    PreprocessConfig cfg;
    LpoiErr err = {{0}};
    if (!gr_ready(r)) return;
    if (!proc) { gr_error(r, "config: missing \"processor\""); return; }
    if (!preprocess_config_from_json(&cfg, proc, &err)) { gr_error(r, "config.processor: %s", err.msg); return; }
    uint8_t *px = load_input(r, in_w, in_h, channels);
    if (!px) return;
    Image rgb = {0};
    bool ok = true;
    if (channels == 3) {
        rgb = (Image){.w = in_w, .h = in_h, .data = px};
        px = NULL;
    } else {
        ok = preprocess_to_rgb(&rgb, px, in_w, in_h, channels, &err);
    }
    free(px);
    if (ok && gr_has(r, "out.resized")) {   // the geometric steps one by one, the resize in full
        Image sq = {0}, resized = {0};
        uint8_t bg[3];
        int rw, rh;
        ok = preprocess_resize_size(&cfg, in_w, in_h, &rw, &rh, &err);
        if (ok && cfg.do_pad) {
            ok = preprocess_pad_color(&cfg, bg, &err);
            if (ok) sq = preprocess_pad_square(&rgb, bg);
        }
        const Image *src = cfg.do_pad ? &sq : &rgb;
        if (ok) {
            if (cfg.do_resize) ok = image_resize(&resized, src, rw, rh, cfg.resample, &err);
            else resized = image_clone(src);
        }
        if (ok) expect_image(r, &resized, "out.resized");
        image_free(&resized);
        image_free(&sq);
    }
    Image u8 = {0};
    if (ok) ok = preprocess_image_u8(&cfg, &rgb, &u8, &err);
    if (ok && gr_has(r, "out.image")) expect_image(r, &u8, "out.image");
    if (ok && gr_has(r, "out.pixel_values")) {
        PixelValues pv;
        ok = preprocess_image(&cfg, &rgb, &pv, &err);
        if (ok) {
            gr_expect_host(r, pv.data, "out.pixel_values", SHAPE(3, pv.h, pv.w));
            pixel_values_free(&pv);
        }
    }
    if (!ok) gr_error(r, "%s", err.msg);
    image_free(&u8);
    image_free(&rgb);
}
