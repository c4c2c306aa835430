// dino_preprocess.c — HF GroundingDinoImageProcessor (PIL backend); the recipe is in dino_preprocess.h.
// The resampling and the rescale/normalise table are the CLIP path's (resample.c, preprocess.c).
#include "image/dino_preprocess.h"
#include "image/preprocess.h"
#include "base/check.h"
#include "base/file.h"
#include <math.h>
#include <string.h>
#include <sys/stat.h>

DinoPreprocessConfig dino_preprocess_default(void) {
    return (DinoPreprocessConfig){
        .do_resize = true, .do_rescale = true, .do_normalize = true, .do_pad = true,
        .shortest_edge = 800, .longest_edge = 1333,
        .resample = RESAMPLE_BILINEAR,
        .rescale_factor = 1.0 / 255.0,
        .mean = {0.485, 0.456, 0.406},   // IMAGENET_DEFAULT_MEAN / STD
        .std = {0.229, 0.224, 0.225},
    };
}

// ---- config ---------------------------------------------------------------------------------------

static bool read_triple(const JsonValue *v, const char *key, double out[3], bool nonzero, LpoiErr *err) {
    if (!v || v->type == JSON_NULL) return true;
    double x[3];
    if (v->type == JSON_NUMBER) {
        x[0] = x[1] = x[2] = v->number;
    } else if (v->type == JSON_ARRAY && v->count == 3) {
        for (int i = 0; i < 3; i++) {
            if (v->items[i]->type != JSON_NUMBER) return err_set(err, "%s[%d]: expected a number", key, i);
            x[i] = v->items[i]->number;
        }
    } else {
        return err_set(err, "%s: expected a list of 3 numbers (R, G, B)", key);
    }
    for (int i = 0; i < 3; i++) {
        if (!isfinite(x[i]) || fabs(x[i]) > 1e30) return err_set(err, "%s[%d]: not a finite number", key, i);
        if (nonzero && (float)x[i] == 0.0f) return err_set(err, "%s[%d]: is 0 (division by zero)", key, i);
        out[i] = x[i];
    }
    return true;
}

static bool read_size(const JsonValue *v, DinoPreprocessConfig *c, LpoiErr *err) {
    if (!v || v->type == JSON_NULL) return true;
    int64_t se, le;
    if (v->type != JSON_OBJECT || !json_get_i64(v, "shortest_edge", &se) || !json_get_i64(v, "longest_edge", &le))
        return err_set(err, "size: lpoi implements {\"shortest_edge\": E, \"longest_edge\": M} (HF's other rules, "
                            "height/width and max_height/max_width, are not supported)");
    for (size_t i = 0; i < v->count; i++) {
        const char *k = v->keys[i];
        if (strcmp(k, "shortest_edge") && strcmp(k, "longest_edge") && v->items[i]->type != JSON_NULL)
            return err_set(err, "size: key \"%s\" is not supported next to shortest_edge/longest_edge", k);
    }
    if (se < 1 || se > 16384 || le < se || le > 16384)
        return err_set(err, "size: shortest_edge %lld and longest_edge %lld must satisfy 1 <= shortest <= longest <= 16384",
                       (long long)se, (long long)le);
    c->shortest_edge = (int)se;
    c->longest_edge = (int)le;
    return true;
}

static bool config_from_json(DinoPreprocessConfig *cfg, const JsonValue *obj, const char *what, LpoiErr *err) {
    if (!obj || obj->type != JSON_OBJECT) return err_set(err, "expected a JSON object");
    static const char *const types[] = {"GroundingDinoImageProcessor", "GroundingDinoImageProcessorPil",
                                        "GroundingDinoImageProcessorFast"};
    const char *type = json_get_str(obj, "image_processor_type");
    bool known = false;
    for (size_t i = 0; type && i < LPOI_ARRAY_LEN(types); i++) known = known || !strcmp(type, types[i]);
    if (!known) return err_set(err, "image_processor_type: %s is not GroundingDinoImageProcessor", type ? type : "(missing)");
    DinoPreprocessConfig c = dino_preprocess_default();
    JsonCfg j;
    json_cfg_open(&j, obj, what, err);
    c.do_resize = json_cfg_bool(&j, "do_resize", c.do_resize);
    c.do_rescale = json_cfg_bool(&j, "do_rescale", c.do_rescale);
    c.do_normalize = json_cfg_bool(&j, "do_normalize", c.do_normalize);
    c.do_pad = json_cfg_bool(&j, "do_pad", c.do_pad);
    c.rescale_factor = json_cfg_num(&j, "rescale_factor", c.rescale_factor);
    int64_t rs = json_cfg_int(&j, "resample", RESAMPLE_BILINEAR, 0, 5);
    if (!j.ok) return false;   // err: "<what>: \"key\" must be ..."
    if (!resample_filter_supported((int)rs))
        return err_set(err, "resample: %lld (%s) is not supported (BILINEAR 2, BICUBIC 3, LANCZOS 1, BOX 4, HAMMING 5)",
                       (long long)rs, resample_filter_name((int)rs));
    c.resample = (ResampleFilter)rs;
    if (!read_size(json_get(obj, "size"), &c, err) || !read_triple(json_get(obj, "image_mean"), "image_mean", c.mean, false, err) ||
        !read_triple(json_get(obj, "image_std"), "image_std", c.std, true, err))
        return false;
    const JsonValue *v = json_get(obj, "pad_size");
    if (v && v->type != JSON_NULL) return err_set(err, "pad_size: a fixed pad size is not supported (batches pad to their largest image)");
    const char *df = json_get_str(obj, "data_format");
    if (df && strcmp(df, "channels_first")) return err_set(err, "data_format: \"%s\" is not supported (channels_first only)", df);
    *cfg = c;
    return true;
}

bool dino_preprocess_config_from_json(DinoPreprocessConfig *cfg, const JsonValue *obj, const char *what, LpoiErr *err) {
    if (config_from_json(cfg, obj, what, err)) return true;
    if (strncmp(err->msg, what, strlen(what)) != 0) err_prefix(err, "%s", what);   // JsonCfg named it already
    return false;
}

bool dino_preprocess_config_load(DinoPreprocessConfig *cfg, const char *path, LpoiErr *err) {
    struct stat st;
    char *file = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? file_path_join(path, "preprocessor_config.json") : strdup(path);
    JsonDoc *doc = json_load_file(file, (size_t)1 << 20, err);
    bool ok = doc && dino_preprocess_config_from_json(cfg, json_root(doc), file, err);
    json_free(doc);
    free(file);
    return ok;
}

// ---- sizes ----------------------------------------------------------------------------------------

bool dino_resize_size(const DinoPreprocessConfig *cfg, int in_w, int in_h, int *out_w, int *out_h, LpoiErr *err) {
    if (in_w < 1 || in_h < 1) return err_set(err, "image size %dx%d is empty", in_w, in_h);
    if (!cfg->do_resize) { *out_w = in_w; *out_h = in_h; return true; }
    // transformers' get_size_with_aspect_ratio((h, w), E, M), in Python's float64 arithmetic.
    int64_t h = in_h, w = in_w, size = cfg->shortest_edge, oh, ow;
    double mn = (double)(h < w ? h : w), mx = (double)(h < w ? w : h), raw = 0;
    bool capped = mx / mn * (double)size > (double)cfg->longest_edge;
    if (capped) {
        raw = (double)cfg->longest_edge * mn / mx;
        size = (int64_t)rint(raw);   // round(): half to even, as the default rounding mode
    }
    if ((h <= w && h == size) || (w <= h && w == size)) {
        oh = h;
        ow = w;
    } else if (w < h) {
        ow = size;
        oh = capped ? (int64_t)(raw * (double)h / (double)w) : (int64_t)((double)(size * h) / (double)w);
    } else {
        oh = size;
        ow = capped ? (int64_t)(raw * (double)w / (double)h) : (int64_t)((double)(size * w) / (double)h);
    }
    if (oh < 1 || ow < 1)
        return err_set(err, "a %dx%d image resizes to an empty %lldx%lld one (aspect ratio too extreme for shortest "
                            "edge %d, longest edge %d)", in_w, in_h, (long long)ow, (long long)oh, cfg->shortest_edge, cfg->longest_edge);
    *out_w = (int)ow;
    *out_h = (int)oh;
    return true;
}

// ---- the batch ------------------------------------------------------------------------------------

void dino_batch_free(DinoBatch *b) {
    if (!b) return;
    free(b->pixel_values);
    free(b->pixel_mask);
    free(b->sizes);
    *b = (DinoBatch){0};
}

bool dino_preprocess_batch(const DinoPreprocessConfig *cfg, const Image *const *rgb, size_t n, DinoBatch *out, LpoiErr *err) {
    *out = (DinoBatch){0};
    if (n == 0) return err_set(err, "no images");
    int (*sizes)[2] = calloc_check(n, sizeof *sizes);
    int H = 0, W = 0;
    for (size_t i = 0; i < n; i++) {
        const Image *im = rgb[i];
        if (!im || !im->data || im->w < 1 || im->h < 1) { free(sizes); return err_set(err, "image %zu is empty", i + 1); }
        if ((uint64_t)im->w * (uint64_t)im->h > RESAMPLE_MAX_PIXELS) {
            free(sizes);
            return err_set(err, "image %zu is %dx%d, over the %llu-pixel limit", i + 1, im->w, im->h, (unsigned long long)RESAMPLE_MAX_PIXELS);
        }
        if (!dino_resize_size(cfg, im->w, im->h, &sizes[i][1], &sizes[i][0], err)) { free(sizes); return err_prefix(err, "image %zu", i + 1); }
        H = LPOI_MAX(H, sizes[i][0]);
        W = LPOI_MAX(W, sizes[i][1]);
    }
    for (size_t i = 0; i < n && !cfg->do_pad; i++)
        if (sizes[i][0] != H || sizes[i][1] != W) {
            err_set(err, "do_pad is false but image %zu resizes to %dx%d and another to %dx%d", i + 1, sizes[i][1], sizes[i][0], W, H);
            free(sizes);
            return false;
        }
    size_t plane = (size_t)H * (size_t)W, total;
    if (!size_mul_ok(plane, 3 * n, &total) || total > ((size_t)1 << 34) / sizeof(float)) {
        free(sizes);
        return err_set(err, "a batch of %zu images of %dx%d is too large", n, W, H);
    }
    // The normalisation of preprocess.c on a CLIP-shaped config: the same float32 table.
    PreprocessConfig pc = preprocess_config_default(PREPROCESS_CLIP);
    pc.do_rescale = cfg->do_rescale;
    pc.do_normalize = cfg->do_normalize;
    pc.rescale_factor = cfg->rescale_factor;
    memcpy(pc.mean, cfg->mean, sizeof pc.mean);
    memcpy(pc.std, cfg->std, sizeof pc.std);
    float *pv = calloc_check(total, sizeof *pv);   // the padding stays 0.0
    uint8_t *mask = calloc_check(n * plane, 1);
    float *tmp = NULL;
    for (size_t i = 0; i < n; i++) {
        int h = sizes[i][0], w = sizes[i][1];
        Image resized = {0};
        const Image *src = rgb[i];
        if (w != src->w || h != src->h) {
            if (!image_resize(&resized, src, w, h, cfg->resample, err)) {
                free(pv); free(mask); free(sizes); free(tmp);
                return err_prefix(err, "image %zu", i + 1);
            }
            src = &resized;
        }
        tmp = realloc_check(tmp, (size_t)3 * (size_t)w * (size_t)h * sizeof *tmp);
        preprocess_normalize(&pc, src, tmp);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                memcpy(pv + ((i * 3 + (size_t)c) * (size_t)H + (size_t)y) * (size_t)W, tmp + ((size_t)c * h + y) * (size_t)w,
                       (size_t)w * sizeof *tmp);
        for (int y = 0; y < h; y++) memset(mask + (i * (size_t)H + (size_t)y) * (size_t)W, 1, (size_t)w);
        image_free(&resized);
    }
    free(tmp);
    *out = (DinoBatch){.b = (int)n, .h = H, .w = W, .pixel_values = pv, .pixel_mask = mask, .sizes = sizes};
    return true;
}
