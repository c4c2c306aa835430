// preprocess.c — HF CLIP/LLaVA image preprocessing (see preprocess.h for the exact recipe).
// Config reading first (every key HF would use, with errors for what we do not reproduce), then the
// geometric steps on uint8, then the per-channel rescale/normalise table.
#include "image/preprocess.h"
#include "base/check.h"
#include "base/file.h"
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const double OPENAI_CLIP_MEAN[3] = {0.48145466, 0.4578275, 0.40821073};
static const double OPENAI_CLIP_STD[3] = {0.26862954, 0.26130258, 0.27577711};

PreprocessConfig preprocess_config_default(PreprocessKind kind) {
    PreprocessConfig c = {
        .kind = kind,
        .do_convert_rgb = true, .do_resize = true, .do_center_crop = true, .do_rescale = true, .do_normalize = true,
        .do_pad = false,
        .shortest_edge = 224, .crop_h = 224, .crop_w = 224,
        .resample = RESAMPLE_BICUBIC,
        .rescale_factor = 1.0 / 255.0,   // Python's 1/255 (what the configs write: 0.00392156862745098)
    };
    memcpy(c.mean, OPENAI_CLIP_MEAN, sizeof c.mean);
    memcpy(c.std, OPENAI_CLIP_STD, sizeof c.std);
    return c;
}

// ---------------------------------------------------------------------------------------------
// config

static bool read_bool(const JsonValue *obj, const char *key, bool *out, LpoiErr *err) {
    const JsonValue *v = json_get(obj, key);
    if (!v) return true;
    if (v->type != JSON_BOOL) return err_set(err, "%s: expected true or false", key);
    *out = v->boolean;
    return true;
}

static bool read_dim(const JsonValue *v, const char *what, int *out, LpoiErr *err) {
    int64_t x;
    if (!v || !json_as_i64(v, &x)) return err_set(err, "%s: expected an integer", what);
    if (x < 1 || x > PREPROCESS_MAX_SIZE) return err_set(err, "%s: %lld is out of range [1, %d]", what, (long long)x, PREPROCESS_MAX_SIZE);
    *out = (int)x;
    return true;
}

// Only these keys of a size dict; anything else is a resize rule we do not implement.
static bool only_keys(const JsonValue *obj, const char *what, const char *const *keys, size_t nkeys, LpoiErr *err) {
    for (size_t i = 0; i < obj->count; i++) {
        bool known = false;
        for (size_t k = 0; k < nkeys; k++)
            known = known || (strlen(keys[k]) == obj->key_lens[i] && !memcmp(obj->keys[i], keys[k], obj->key_lens[i]));
        if (known) continue;
        if (obj->items[i]->type == JSON_NULL) continue;   // HF's SizeDict keeps unset keys as None
        char q[64];
        return err_set(err, "%s: key %s is not supported (lpoi implements {\"shortest_edge\": E} and "
                            "{\"height\": H, \"width\": W})", what, json_quote_short(q, sizeof q, obj->keys[i], obj->key_lens[i]));
    }
    return true;
}

static const JsonValue *get_nonnull(const JsonValue *obj, const char *key) {
    const JsonValue *v = json_get(obj, key);
    return v && v->type != JSON_NULL ? v : NULL;
}

static bool read_size(const JsonValue *v, bool default_to_square, PreprocessConfig *c, LpoiErr *err) {
    static const char *const keys[] = {"shortest_edge", "height", "width"};
    if (v->type == JSON_NUMBER) {   // get_size_dict(int): square or shortest edge
        int s;
        if (!read_dim(v, "size", &s, err)) return false;
        if (default_to_square) { c->shortest_edge = 0; c->size_h = c->size_w = s; }
        else { c->shortest_edge = s; c->size_h = c->size_w = 0; }
        return true;
    }
    if (v->type != JSON_OBJECT) return err_set(err, "size: expected an object or an integer");
    if (!only_keys(v, "size", keys, LPOI_ARRAY_LEN(keys), err)) return false;
    const JsonValue *se = get_nonnull(v, "shortest_edge"), *h = get_nonnull(v, "height"), *w = get_nonnull(v, "width");
    if (se && !h && !w) {
        c->size_h = c->size_w = 0;
        return read_dim(se, "size.shortest_edge", &c->shortest_edge, err);
    }
    if (!se && h && w) {
        c->shortest_edge = 0;
        return read_dim(h, "size.height", &c->size_h, err) && read_dim(w, "size.width", &c->size_w, err);
    }
    return err_set(err, "size: expected {\"shortest_edge\": E} or {\"height\": H, \"width\": W}");
}

static bool read_crop(const JsonValue *v, PreprocessConfig *c, LpoiErr *err) {
    static const char *const keys[] = {"height", "width"};
    if (v->type == JSON_NUMBER) {   // get_size_dict(int, param_name="crop_size") is square
        if (!read_dim(v, "crop_size", &c->crop_h, err)) return false;
        c->crop_w = c->crop_h;
        return true;
    }
    if (v->type != JSON_OBJECT) return err_set(err, "crop_size: expected {\"height\": H, \"width\": W} or an integer");
    if (!only_keys(v, "crop_size", keys, LPOI_ARRAY_LEN(keys), err)) return false;
    return read_dim(get_nonnull(v, "height"), "crop_size.height", &c->crop_h, err) &&
           read_dim(get_nonnull(v, "width"), "crop_size.width", &c->crop_w, err);
}

static bool read_triple(const JsonValue *v, const char *key, double out[3], bool nonzero, LpoiErr *err) {
    double x[3];
    if (v->type == JSON_NUMBER) {
        x[0] = x[1] = x[2] = v->number;
    } else if (v->type == JSON_ARRAY) {
        if (v->count != 3) return err_set(err, "%s: expected 3 values (R, G, B), got %zu", key, v->count);
        for (int i = 0; i < 3; i++) {
            if (v->items[i]->type != JSON_NUMBER) return err_set(err, "%s[%d]: expected a number", key, i);
            x[i] = v->items[i]->number;
        }
    } else {
        return err_set(err, "%s: expected a list of 3 numbers", key);
    }
    for (int i = 0; i < 3; i++) {
        if (!isfinite(x[i]) || fabs(x[i]) > 1e30) return err_set(err, "%s[%d]: not a finite number", key, i);
        if (nonzero && (float)x[i] == 0.0f) return err_set(err, "%s[%d]: is 0 (division by zero)", key, i);
        out[i] = x[i];
    }
    return true;
}

static bool kind_from_name(const char *s, PreprocessKind *kind) {
    static const struct { const char *name; PreprocessKind kind; } names[] = {
        {"CLIPImageProcessor", PREPROCESS_CLIP},   {"CLIPImageProcessorPil", PREPROCESS_CLIP},
        {"CLIPImageProcessorFast", PREPROCESS_CLIP}, {"CLIPFeatureExtractor", PREPROCESS_CLIP},
        {"LlavaImageProcessor", PREPROCESS_LLAVA}, {"LlavaImageProcessorPil", PREPROCESS_LLAVA},
        {"LlavaImageProcessorFast", PREPROCESS_LLAVA},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(names); i++)
        if (!strcmp(s, names[i].name)) { *kind = names[i].kind; return true; }
    return false;
}

bool preprocess_config_from_json(PreprocessConfig *cfg, const JsonValue *obj, LpoiErr *err) {
    if (!obj || obj->type != JSON_OBJECT) return err_set(err, "expected a JSON object");
    const char *type_key = "image_processor_type";
    const JsonValue *tv = json_get(obj, type_key);
    if (!tv) tv = json_get(obj, type_key = "feature_extractor_type");
    if (!tv) return err_set(err, "no image_processor_type (expected CLIPImageProcessor or LlavaImageProcessor)");
    PreprocessKind kind;
    char q[96];
    if (tv->type != JSON_STRING || !kind_from_name(tv->str, &kind))
        return err_set(err, "%s: %s is not supported (lpoi implements CLIPImageProcessor and LlavaImageProcessor)", type_key,
                       tv->type == JSON_STRING ? json_quote_short(q, sizeof q, tv->str, tv->len) : "(not a string)");
    PreprocessConfig c = preprocess_config_default(kind);

    if (!read_bool(obj, "do_convert_rgb", &c.do_convert_rgb, err) || !read_bool(obj, "do_resize", &c.do_resize, err) ||
        !read_bool(obj, "do_center_crop", &c.do_center_crop, err) || !read_bool(obj, "do_rescale", &c.do_rescale, err) ||
        !read_bool(obj, "do_normalize", &c.do_normalize, err) || !read_bool(obj, "do_pad", &c.do_pad, err))
        return false;
    bool default_to_square = false;   // CLIP and LLaVA class attribute
    if (!read_bool(obj, "default_to_square", &default_to_square, err)) return false;

    const JsonValue *v;
    if ((v = get_nonnull(obj, "size")) && !read_size(v, default_to_square, &c, err)) return false;
    if ((v = get_nonnull(obj, "crop_size")) && !read_crop(v, &c, err)) return false;
    if ((v = get_nonnull(obj, "resample"))) {
        int64_t code;
        if (!json_as_i64(v, &code)) return err_set(err, "resample: expected a PIL filter code (an integer)");
        if (code < 0 || code > 100 || !resample_filter_supported((int)code))
            return err_set(err, "resample: %lld (%s) is not supported; lpoi implements 2 (BILINEAR), 3 (BICUBIC) and "
                                "1 (LANCZOS), 4 (BOX), 5 (HAMMING)", (long long)code,
                           code >= 0 && code <= 100 ? resample_filter_name((int)code) : "unknown");
        c.resample = (ResampleFilter)code;
    }
    if ((v = get_nonnull(obj, "rescale_factor"))) {
        if (v->type != JSON_NUMBER || !isfinite(v->number)) return err_set(err, "rescale_factor: expected a number");
        c.rescale_factor = v->number;
    }
    if ((v = get_nonnull(obj, "image_mean")) && !read_triple(v, "image_mean", c.mean, false, err)) return false;
    if ((v = get_nonnull(obj, "image_std")) && !read_triple(v, "image_std", c.std, true, err)) return false;
    // HF validation: a step that is on needs its parameters (null overrides a class default with None).
    if (c.do_rescale && (v = json_get(obj, "rescale_factor")) && v->type == JSON_NULL)
        return err_set(err, "rescale_factor: is null but do_rescale is true");
    if (c.do_normalize && (((v = json_get(obj, "image_mean")) && v->type == JSON_NULL) ||
                           ((v = json_get(obj, "image_std")) && v->type == JSON_NULL)))
        return err_set(err, "image_mean/image_std: null but do_normalize is true");
    if (c.do_resize && (v = json_get(obj, "size")) && v->type == JSON_NULL) return err_set(err, "size: is null but do_resize is true");
    if (c.do_center_crop && (v = json_get(obj, "crop_size")) && v->type == JSON_NULL)
        return err_set(err, "crop_size: is null but do_center_crop is true");

    if (c.do_pad && kind != PREPROCESS_LLAVA)
        return err_set(err, "do_pad: CLIPImageProcessor's do_pad pads a batch to its largest image, which lpoi does not "
                            "implement (LlavaImageProcessor's do_pad is the pad-to-square)");
    if ((v = get_nonnull(obj, "pad_size"))) return err_set(err, "pad_size: batch padding is not supported");
    const char *df = json_get_str(obj, "data_format");
    if (df && strcmp(df, "channels_first") != 0)
        return err_set(err, "data_format: %s is not supported (pixel_values are channels_first)", json_quote_short(q, sizeof q, df, strlen(df)));
    if (c.do_pad) {
        uint8_t bg[3];
        if (!preprocess_pad_color(&c, bg, err)) return false;
    }
    *cfg = c;
    return true;
}

bool preprocess_config_load(PreprocessConfig *cfg, const char *path, LpoiErr *err) {
    char file[4096];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if ((size_t)snprintf(file, sizeof file, "%s/preprocessor_config.json", path) >= sizeof file)
            return err_set(err, "%s: path too long", path);
    } else {
        if ((size_t)snprintf(file, sizeof file, "%s", path) >= sizeof file) return err_set(err, "%s: path too long", path);
    }
    size_t n = 0;
    char *text = file_read_all(file, (size_t)1 << 20, &n, err);
    if (!text) return false;   // err names the file
    LpoiErr jerr = {{0}};
    JsonDoc *doc = json_parse(text, n, &jerr);
    free(text);
    if (!doc) return err_set(err, "%s: invalid JSON: %s", file, jerr.msg);
    bool ok = preprocess_config_from_json(cfg, json_root(doc), err);
    json_free(doc);
    if (!ok) err_prefix(err, "%s", file);
    return ok;
}

// ---------------------------------------------------------------------------------------------
// sizes

static int64_t floor_div2(int64_t a) { return a >= 0 ? a / 2 : -((-a + 1) / 2); }

bool preprocess_resize_size(const PreprocessConfig *cfg, int in_w, int in_h, int *out_w, int *out_h, LpoiErr *err) {
    if (in_w < 1 || in_h < 1) return err_set(err, "image size %dx%d is empty", in_w, in_h);
    if (cfg->do_pad) in_w = in_h = in_w > in_h ? in_w : in_h;
    if (!cfg->do_resize) { *out_w = in_w; *out_h = in_h; return true; }
    int64_t w, h;
    if (cfg->shortest_edge > 0) {
        // get_resize_output_image_size(default_to_square=False): new_long = int(E * long / short),
        // a float64 true division (exact operands, correctly rounded) then truncation.
        int64_t s = cfg->shortest_edge, shorter = in_w <= in_h ? in_w : in_h, longer = in_w <= in_h ? in_h : in_w;
        double q = (double)(s * longer) / (double)shorter;
        if (!(q < (double)INT32_MAX)) return err_set(err, "resizing %dx%d to shortest edge %d gives a side over 2^31", in_w, in_h, cfg->shortest_edge);
        int64_t nl = (int64_t)q;
        if (in_w <= in_h) { w = s; h = nl; } else { h = s; w = nl; }
    } else {
        w = cfg->size_w;
        h = cfg->size_h;
    }
    if (w < 1 || h < 1) return err_set(err, "resizing %dx%d gives an empty %lldx%lld image", in_w, in_h, (long long)w, (long long)h);
    *out_w = (int)w;
    *out_h = (int)h;
    return true;
}

bool preprocess_output_size(const PreprocessConfig *cfg, int in_w, int in_h, int *out_w, int *out_h, LpoiErr *err) {
    if (!preprocess_resize_size(cfg, in_w, in_h, out_w, out_h, err)) return false;
    if (cfg->do_center_crop) { *out_w = cfg->crop_w; *out_h = cfg->crop_h; }
    return true;
}

// ---------------------------------------------------------------------------------------------
// geometric steps

bool preprocess_to_rgb(Image *out, const uint8_t *px, int w, int h, int channels, LpoiErr *err) {
    *out = (Image){0};
    if (w < 1 || h < 1 || (uint64_t)w * (uint64_t)h > RESAMPLE_MAX_PIXELS)
        return err_set(err, "convert to RGB: image size %dx%d is empty or too large", w, h);
    if (channels < 1 || channels > 4) return err_set(err, "convert to RGB: %d channels (expected 1, 2, 3 or 4)", channels);
    Image img = image_new(w, h);
    size_t n = (size_t)w * (size_t)h;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = px + i * (size_t)channels;
        uint8_t *o = img.data + i * 3;
        uint32_t rgb[3], a = 255;
        switch (channels) {
        case 1: rgb[0] = rgb[1] = rgb[2] = p[0]; break;
        case 2: rgb[0] = rgb[1] = rgb[2] = p[0]; a = p[1]; break;
        case 3: rgb[0] = p[0]; rgb[1] = p[1]; rgb[2] = p[2]; break;
        default: rgb[0] = p[0]; rgb[1] = p[1]; rgb[2] = p[2]; a = p[3]; break;
        }
        if (channels == 2 || channels == 4) {
            // Pillow's ImagingAlphaComposite(white, src) in integer arithmetic (7 extra bits); with an
            // opaque white destination: coef1 = a·255·255·128 / (255·255) = 128·a, coef2 = 128·(255 − a).
            if (a == 0) {
                rgb[0] = rgb[1] = rgb[2] = 255;
            } else {
                uint32_t outa255 = a * 255 + 255 * (255 - a);
                uint32_t coef1 = a * 255 * 255 * 128 / outa255, coef2 = 255 * 128 - coef1;
                for (int c = 0; c < 3; c++) {
                    uint32_t t = rgb[c] * coef1 + 255 * coef2 + (0x80 << 7);
                    rgb[c] = (((t >> 8) + t) >> 8) >> 7;
                }
            }
        }
        o[0] = (uint8_t)rgb[0];
        o[1] = (uint8_t)rgb[1];
        o[2] = (uint8_t)rgb[2];
    }
    *out = img;
    return true;
}

bool preprocess_load_image(Image *out, const char *path, const ImageLimits *limits, LpoiErr *err) {
    *out = (Image){0};
    RawImage raw;
    if (!image_decode_raw_file(&raw, path, limits, err)) return false;
    bool ok = preprocess_to_rgb(out, raw.data, raw.w, raw.h, raw.channels, err);
    if (!ok) err_prefix(err, "%s", path);
    raw_image_free(&raw);
    return ok;
}

bool preprocess_pad_color(const PreprocessConfig *cfg, uint8_t rgb[3], LpoiErr *err) {
    for (int c = 0; c < 3; c++) {
        double v = cfg->mean[c] * 255;   // Python: int(x * 255), truncation toward zero
        if (!(v > -1.0 && v < 256.0))
            return err_set(err, "image_mean[%d] = %g: the pad colour int(mean * 255) = %.0f is not a uint8", c, cfg->mean[c], trunc(v));
        rgb[c] = (uint8_t)(int)v;
    }
    return true;
}

Image preprocess_pad_square(const Image *img, const uint8_t bg[3]) {
    if (img->w == img->h) return image_clone(img);
    int m = img->w > img->h ? img->w : img->h;
    Image sq = image_new(m, m);
    size_t n = (size_t)m * (size_t)m;
    for (size_t i = 0; i < n; i++) memcpy(sq.data + 3 * i, bg, 3);
    int x0 = img->w > img->h ? 0 : (m - img->w) / 2, y0 = img->w > img->h ? (m - img->h) / 2 : 0;
    for (int y = 0; y < img->h; y++)
        memcpy(image_pixel(&sq, x0, y0 + y), image_pixel(img, 0, y), (size_t)img->w * 3);
    return sq;
}

// Source offset of HF's crop along one axis: floor((dim − crop)/2), negative when padding.
static int crop_offset(int dim, int crop) { return (int)floor_div2((int64_t)dim - crop); }

// Copies the part of the crop window (crop_w x crop_h at offsets ox, oy of a dim_w x dim_h image)
// that lies inside the image: the intersection in image coordinates.
typedef struct { int x0, y0, x1, y1; } Span;
static Span crop_span(int dim_w, int dim_h, int ox, int oy, int crop_w, int crop_h) {
    Span s = {LPOI_MAX(ox, 0), LPOI_MAX(oy, 0), LPOI_MIN(ox + crop_w, dim_w), LPOI_MIN(oy + crop_h, dim_h)};
    return s;
}

Image preprocess_center_crop(const Image *img, int crop_w, int crop_h) {
    Image out = image_new(crop_w, crop_h);   // zero filled
    int ox = crop_offset(img->w, crop_w), oy = crop_offset(img->h, crop_h);
    Span s = crop_span(img->w, img->h, ox, oy, crop_w, crop_h);
    for (int y = s.y0; y < s.y1; y++)
        memcpy(image_pixel(&out, s.x0 - ox, y - oy), image_pixel(img, s.x0, y), (size_t)(s.x1 - s.x0) * 3);
    return out;
}

bool preprocess_image_u8(const PreprocessConfig *cfg, const Image *rgb, Image *out, LpoiErr *err) {
    *out = (Image){0};
    if (!rgb || !rgb->data || rgb->w < 1 || rgb->h < 1) return err_set(err, "preprocess: empty image");
    int rw, rh;
    if (!preprocess_resize_size(cfg, rgb->w, rgb->h, &rw, &rh, err)) return false;
    Image padded = {0};
    const Image *src = rgb;
    if (cfg->do_pad && rgb->w != rgb->h) {
        uint8_t bg[3];
        if (!preprocess_pad_color(cfg, bg, err)) return false;
        padded = preprocess_pad_square(rgb, bg);
        src = &padded;
    }
    bool ok = true;
    if (!cfg->do_resize) {
        *out = cfg->do_center_crop ? preprocess_center_crop(src, cfg->crop_w, cfg->crop_h) : image_clone(src);
    } else if (!cfg->do_center_crop) {
        ok = image_resize(out, src, rw, rh, cfg->resample, err);
    } else {
        // Resize only the part of the resized image that the crop keeps, straight into place.
        int ox = crop_offset(rw, cfg->crop_w), oy = crop_offset(rh, cfg->crop_h);
        Span s = crop_span(rw, rh, ox, oy, cfg->crop_w, cfg->crop_h);
        Image win;
        ok = image_resize_window(&win, src, rw, rh, cfg->resample, s.x0, s.y0, s.x1 - s.x0, s.y1 - s.y0, err);
        if (ok) {
            if (s.x0 == ox && s.y0 == oy && win.w == cfg->crop_w && win.h == cfg->crop_h) {
                *out = win;
            } else {
                *out = image_new(cfg->crop_w, cfg->crop_h);
                for (int y = 0; y < win.h; y++)
                    memcpy(image_pixel(out, s.x0 - ox, s.y0 - oy + y), image_pixel(&win, 0, y), (size_t)win.w * 3);
                image_free(&win);
            }
        }
    }
    image_free(&padded);
    return ok;
}

void preprocess_normalize(const PreprocessConfig *cfg, const Image *img, float *chw) {
    // Every output value depends on (channel, byte) only: a 3 x 256 table computed with numpy's
    // arithmetic — rescale in float64 then cast, normalise in float32.
    float lut[3][256];
    for (int c = 0; c < 3; c++) {
        float mean = (float)cfg->mean[c], std = (float)cfg->std[c];
        for (int v = 0; v < 256; v++) {
            float x = cfg->do_rescale ? (float)((double)v * cfg->rescale_factor) : (float)v;
            if (cfg->do_normalize) x = (x - mean) / std;
            lut[c][v] = x;
        }
    }
    size_t n = (size_t)img->w * (size_t)img->h;
    for (int c = 0; c < 3; c++) {
        float *o = chw + (size_t)c * n;
        const uint8_t *p = img->data + c;
        for (size_t i = 0; i < n; i++) o[i] = lut[c][p[3 * i]];
    }
}

void pixel_values_free(PixelValues *pv) {
    if (!pv) return;
    free(pv->data);
    *pv = (PixelValues){0};
}

bool preprocess_image(const PreprocessConfig *cfg, const Image *rgb, PixelValues *out, LpoiErr *err) {
    *out = (PixelValues){0};
    Image u8;
    if (!preprocess_image_u8(cfg, rgb, &u8, err)) return false;
    out->c = 3;
    out->h = u8.h;
    out->w = u8.w;
    out->data = malloc_check((size_t)3 * (size_t)u8.w * (size_t)u8.h * sizeof(float));
    preprocess_normalize(cfg, &u8, out->data);
    image_free(&u8);
    return true;
}

bool preprocess_config_load_dir(PreprocessConfig *pc, const char *dir, LpoiErr *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    if (access(path, R_OK) == 0) return preprocess_config_load(pc, path, err);
    snprintf(path, sizeof path, "%s/processor_config.json", dir);
    size_t size;
    char *text = file_read_all(path, 16u << 20, &size, err);
    if (!text) return err_prefix(err, "%s: no preprocessor_config.json either", dir);
    LpoiErr e = {{0}};
    JsonDoc *doc = json_parse(text, size, &e);
    free(text);
    if (!doc) return err_set(err, "%s: %s", path, e.msg);
    const JsonValue *ip = json_get(json_root(doc), "image_processor");
    bool ok = ip && ip->type == JSON_OBJECT;
    if (!ok) err_set(err, "%s: no \"image_processor\" object (and no preprocessor_config.json)", path);
    else if (!(ok = preprocess_config_from_json(pc, ip, &e))) err_set(err, "%s: image_processor: %s", path, e.msg);
    json_free(doc);
    return ok;
}
