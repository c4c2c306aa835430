// idefics2_preprocess.c — HF Idefics2ImageProcessor (see idefics2_preprocess.h for the recipe).
// The config reader, the resize rule, the split, then the batch: normalise each image into its slot
// of the padded [B, N, 3, H, W] block. Resampling and the rescale/normalise table are CLIP's
// (resample.h, preprocess_normalize), so both processors round identically.
#include "image/idefics2_preprocess.h"
#include "image/preprocess.h"
#include "base/check.h"
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

Idefics2ImageConfig idefics2_image_config_default(void) {
    return (Idefics2ImageConfig){
        .do_convert_rgb = true, .do_resize = true, .do_rescale = true, .do_normalize = true, .do_pad = true,
        .do_image_splitting = false,
        .shortest_edge = 378, .longest_edge = 980,
        .resample = RESAMPLE_BILINEAR,
        .rescale_factor = 1.0 / 255.0,
        .mean = {0.5, 0.5, 0.5}, .std = {0.5, 0.5, 0.5},
    };
}

// ---------------------------------------------------------------------------------------------
// config

static void read_triple(JsonCfg *c, const char *key, double out[3], bool nonzero) {
    const JsonValue *v = json_get(c->obj, key);
    if (!c->ok || !v || v->type == JSON_NULL) return;
    double x[3];
    if (v->type == JSON_NUMBER) {
        x[0] = x[1] = x[2] = v->number;
    } else if (v->type == JSON_ARRAY && v->count == 3) {
        for (int i = 0; i < 3; i++) {
            if (v->items[i]->type != JSON_NUMBER) { json_cfg_fail(c, "\"%s\"[%d] must be a number", key, i); return; }
            x[i] = v->items[i]->number;
        }
    } else {
        json_cfg_fail(c, "\"%s\" must be a list of 3 numbers (R, G, B) or one number", key);
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (!isfinite(x[i]) || fabs(x[i]) > 1e30) { json_cfg_fail(c, "\"%s\"[%d] is not a finite number", key, i); return; }
        if (nonzero && (float)x[i] == 0.0f) { json_cfg_fail(c, "\"%s\"[%d] is 0 (division by zero)", key, i); return; }
        out[i] = x[i];
    }
}

// size: {"shortest_edge", "longest_edge"} (both) or {"height", "width"} (both); HF raises on anything
// else, and so do we (an integer size becomes {"shortest_edge"} alone in HF: a ValueError).
static void read_size(JsonCfg *c, Idefics2ImageConfig *cfg) {
    const JsonValue *v = json_get(c->obj, "size");
    if (!c->ok || !v || v->type == JSON_NULL) return;
    if (v->type != JSON_OBJECT) {
        json_cfg_fail(c, "\"size\" must be {\"shortest_edge\": S, \"longest_edge\": L} or {\"height\": H, \"width\": W}");
        return;
    }
    static const char *const known[] = {"shortest_edge", "longest_edge", "height", "width"};
    for (size_t i = 0; i < v->count; i++) {
        bool ok = v->items[i]->type == JSON_NULL;   // SizeDict keeps unset keys as None
        for (size_t k = 0; k < LPOI_ARRAY_LEN(known) && !ok; k++)
            ok = strlen(known[k]) == v->key_lens[i] && !memcmp(v->keys[i], known[k], v->key_lens[i]);
        if (!ok) {
            char q[64];
            json_cfg_fail(c, "\"size\": key %s is not supported (Idefics2 takes shortest_edge + longest_edge, "
                          "or height + width)", json_quote_short(q, sizeof q, v->keys[i], v->key_lens[i]));
            return;
        }
    }
    char what[300];
    snprintf(what, sizeof what, "%s: size", c->what);
    JsonCfg s;
    json_cfg_open(&s, v, what, c->err);
    bool edges = json_cfg_has(&s, "shortest_edge") || json_cfg_has(&s, "longest_edge");
    bool hw = json_cfg_has(&s, "height") || json_cfg_has(&s, "width");
    if (edges == hw) {
        json_cfg_fail(c, "\"size\" must hold shortest_edge and longest_edge, or height and width");
        return;
    }
    if (edges) {
        if (json_cfg_need(&s, "shortest_edge")) json_cfg_need(&s, "longest_edge");
        cfg->shortest_edge = (int)json_cfg_int(&s, "shortest_edge", 0, 1, PREPROCESS_MAX_SIZE);
        cfg->longest_edge = (int)json_cfg_int(&s, "longest_edge", 0, 1, PREPROCESS_MAX_SIZE);
        cfg->size_h = cfg->size_w = 0;
    } else {
        if (json_cfg_need(&s, "height")) json_cfg_need(&s, "width");
        cfg->size_h = (int)json_cfg_int(&s, "height", 0, 1, PREPROCESS_MAX_SIZE);
        cfg->size_w = (int)json_cfg_int(&s, "width", 0, 1, PREPROCESS_MAX_SIZE);
        cfg->shortest_edge = cfg->longest_edge = 0;
    }
    c->ok = s.ok;
}

bool idefics2_image_config_from_json(Idefics2ImageConfig *out, const JsonValue *obj, const char *what, LpoiErr *err) {
    JsonCfg c;
    if (!json_cfg_open(&c, obj, what, err)) return false;
    static const char *const types[] = {"Idefics2ImageProcessor", "Idefics2ImageProcessorPil", "Idefics2ImageProcessorFast"};
    json_cfg_need(&c, "image_processor_type");
    json_cfg_enum(&c, "image_processor_type", 0, types, (int)LPOI_ARRAY_LEN(types));
    Idefics2ImageConfig cfg = idefics2_image_config_default();
    cfg.do_convert_rgb = json_cfg_bool(&c, "do_convert_rgb", cfg.do_convert_rgb);
    cfg.do_resize = json_cfg_bool(&c, "do_resize", cfg.do_resize);
    cfg.do_rescale = json_cfg_bool(&c, "do_rescale", cfg.do_rescale);
    cfg.do_normalize = json_cfg_bool(&c, "do_normalize", cfg.do_normalize);
    cfg.do_pad = json_cfg_bool(&c, "do_pad", cfg.do_pad);
    cfg.do_image_splitting = json_cfg_bool(&c, "do_image_splitting", cfg.do_image_splitting);
    read_size(&c, &cfg);
    int code = (int)json_cfg_int(&c, "resample", RESAMPLE_BILINEAR, 0, 5);
    if (c.ok && !resample_filter_supported(code))
        json_cfg_fail(&c, "\"resample\": %d (%s) is not supported", code, resample_filter_name(code));
    cfg.resample = (ResampleFilter)code;
    cfg.rescale_factor = json_cfg_num(&c, "rescale_factor", cfg.rescale_factor);
    read_triple(&c, "image_mean", cfg.mean, false);
    read_triple(&c, "image_std", cfg.std, true);
    if (!c.ok) return false;
    *out = cfg;
    return true;
}

bool idefics2_image_config_load(Idefics2ImageConfig *cfg, const char *path, LpoiErr *err) {
    char file[4200];
    struct stat st;
    bool dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if ((size_t)snprintf(file, sizeof file, dir ? "%s/preprocessor_config.json" : "%s", path) >= sizeof file)
        return err_set(err, "%s: path too long", path);
    JsonDoc *doc = json_load_file(file, (size_t)1 << 20, err);
    if (!doc) return false;
    bool ok = idefics2_image_config_from_json(cfg, json_root(doc), file, err);
    json_free(doc);
    return ok;
}

bool idefics2_image_config_load_dir(Idefics2ImageConfig *cfg, const char *dir, LpoiErr *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    if (access(path, R_OK) == 0) return idefics2_image_config_load(cfg, path, err);
    snprintf(path, sizeof path, "%s/processor_config.json", dir);
    JsonDoc *doc = json_load_file(path, (size_t)1 << 20, err);
    if (!doc) return err_prefix(err, "%s: no preprocessor_config.json either", dir);
    char what[4300];
    snprintf(what, sizeof what, "%s: image_processor", path);
    bool ok = idefics2_image_config_from_json(cfg, json_get(json_root(doc), "image_processor"), what, err);
    json_free(doc);
    return ok;
}

// ---------------------------------------------------------------------------------------------
// geometry

bool idefics2_resize_size(const Idefics2ImageConfig *cfg, int in_w, int in_h, int *out_w, int *out_h, LpoiErr *err) {
    if (in_w < 1 || in_h < 1) return err_set(err, "image size %dx%d is empty", in_w, in_h);
    int64_t w = in_w, h = in_h;
    if (cfg->do_resize && cfg->longest_edge > 0) {
        // get_resize_output_image_size: Python floats, int() truncates.
        double aspect = (double)in_w / (double)in_h;
        int64_t max_len = cfg->longest_edge, min_len = cfg->shortest_edge;
        if (w >= h && w > max_len) {
            w = max_len;
            h = (int64_t)((double)w / aspect);
        } else if (h > w && h > max_len) {
            h = max_len;
            w = (int64_t)((double)h * aspect);
        }
        if (h < min_len) h = min_len;
        if (w < min_len) w = min_len;
    } else if (cfg->do_resize) {
        w = cfg->size_w;
        h = cfg->size_h;
    }
    if (w < 1 || h < 1 || (uint64_t)w * (uint64_t)h > RESAMPLE_MAX_PIXELS)
        return err_set(err, "resizing %dx%d gives a %lldx%lld image (empty or over %llu pixels)", in_w, in_h,
                       (long long)w, (long long)h, (unsigned long long)RESAMPLE_MAX_PIXELS);
    *out_w = (int)w;
    *out_h = (int)h;
    return true;
}

static Image crop(const Image *img, int x0, int y0, int w, int h) {
    Image out = image_new(w, h);
    for (int y = 0; y < h; y++) memcpy(image_pixel(&out, 0, y), image_pixel(img, x0, y0 + y), (size_t)w * 3);
    return out;
}

static bool resize_one(const Idefics2ImageConfig *cfg, const Image *src, Image *out, LpoiErr *err) {
    int w, h;
    if (!idefics2_resize_size(cfg, src->w, src->h, &w, &h, err)) return false;
    if (!cfg->do_resize) { *out = image_clone(src); return true; }
    return image_resize(out, src, w, h, cfg->resample, err);
}

bool idefics2_image_u8(const Idefics2ImageConfig *cfg, const Image *rgb, Image out[IDEFICS2_SPLIT_COUNT], int *n,
                       LpoiErr *err) {
    *n = 0;
    if (!rgb || !rgb->data || rgb->w < 1 || rgb->h < 1) return err_set(err, "idefics2 preprocess: empty image");
    if (!cfg->do_image_splitting) {
        if (!resize_one(cfg, rgb, &out[0], err)) return false;
        *n = 1;
        return true;
    }
    // An image 1 pixel wide or high splits into empty quarters, which HF cannot resize either.
    if (rgb->w < 2 || rgb->h < 2) return err_set(err, "image splitting: a %dx%d image has empty quarters", rgb->w, rgb->h);
    int mw = rgb->w / 2, mh = rgb->h / 2;
    const int box[4][4] = {{0, 0, mw, mh}, {mw, 0, rgb->w - mw, mh}, {0, mh, mw, rgb->h - mh}, {mw, mh, rgb->w - mw, rgb->h - mh}};
    for (int i = 0; i < IDEFICS2_SPLIT_COUNT; i++) {
        Image part = i < 4 ? crop(rgb, box[i][0], box[i][1], box[i][2], box[i][3]) : (Image){0};
        bool ok = resize_one(cfg, i < 4 ? &part : rgb, &out[i], err);
        image_free(&part);
        if (!ok) {
            for (int j = 0; j < i; j++) image_free(&out[j]);
            return false;
        }
    }
    *n = IDEFICS2_SPLIT_COUNT;
    return true;
}

// ---------------------------------------------------------------------------------------------
// the batch

void idefics2_pixels_free(Idefics2Pixels *px) {
    if (!px) return;
    free(px->count);
    free(px->pixel_values);
    free(px->pixel_attention_mask);
    *px = (Idefics2Pixels){0};
}

bool idefics2_preprocess(const Idefics2ImageConfig *cfg, const Image *const *images, const int *counts, int n_samples,
                         Idefics2Pixels *out, LpoiErr *err) {
    *out = (Idefics2Pixels){0};
    if (n_samples < 1) return err_set(err, "idefics2 preprocess: no samples");
    int per = cfg->do_image_splitting ? IDEFICS2_SPLIT_COUNT : 1;
    size_t total = 0;
    int n_max = 0;
    for (int b = 0; b < n_samples; b++) {
        if (counts[b] < 0 || counts[b] > (1 << 16) / per) return err_set(err, "sample %d: %d images", b, counts[b]);
        total += (size_t)counts[b] * (size_t)per;
        if (counts[b] * per > n_max) n_max = counts[b] * per;
    }
    if (total == 0) return err_set(err, "idefics2 preprocess: the batch holds no image");
    Image *u8 = calloc_check(total, sizeof *u8);
    size_t k = 0;
    bool ok = true;
    for (int b = 0; b < n_samples && ok; b++)
        for (int i = 0; i < counts[b] && ok; i++) {
            int n;
            ok = idefics2_image_u8(cfg, &images[b][i], &u8[k], &n, err);
            if (!ok) err_prefix(err, "sample %d image %d", b, i);
            else k += (size_t)n;
        }
    int H = 0, W = 0;
    for (size_t i = 0; i < k; i++) {
        H = u8[i].h > H ? u8[i].h : H;
        W = u8[i].w > W ? u8[i].w : W;
        if (ok && !cfg->do_pad && (u8[i].h != u8[0].h || u8[i].w != u8[0].w))
            ok = err_set(err, "do_pad is false but the images differ in size (%dx%d, %dx%d): HF returns a ragged list",
                         u8[0].w, u8[0].h, u8[i].w, u8[i].h);
    }
    for (int b = 0; b < n_samples && ok && !cfg->do_pad; b++)
        if (counts[b] * per != n_max) ok = err_set(err, "do_pad is false but the samples hold different numbers of images");
    size_t plane = (size_t)H * (size_t)W, n_slots = (size_t)n_samples * (size_t)n_max;
    if (ok && plane * 3 * n_slots > ((size_t)1 << 34) / sizeof(float))
        ok = err_set(err, "idefics2 preprocess: %zu images of %dx%d is too large a batch", n_slots, W, H);
    if (ok) {
        out->n_samples = n_samples;
        out->n_images = n_max;
        out->h = H;
        out->w = W;
        out->count = malloc_check((size_t)n_samples * sizeof *out->count);
        out->pixel_values = calloc_check(n_slots * 3 * plane, sizeof(float));
        out->pixel_attention_mask = calloc_check(n_slots * plane, 1);
        // The rescale/normalise table of CLIP's processor, from this config.
        PreprocessConfig norm = {.do_rescale = cfg->do_rescale, .do_normalize = cfg->do_normalize,
                                 .rescale_factor = cfg->rescale_factor};
        memcpy(norm.mean, cfg->mean, sizeof norm.mean);
        memcpy(norm.std, cfg->std, sizeof norm.std);
        float *chw = NULL;
        k = 0;
        for (int b = 0; b < n_samples; b++) {
            out->count[b] = counts[b] * per;
            for (int j = 0; j < counts[b] * per; j++, k++) {
                const Image *im = &u8[k];
                size_t slot = (size_t)b * (size_t)n_max + (size_t)j;
                chw = realloc_check(chw, (size_t)3 * (size_t)im->w * (size_t)im->h * sizeof *chw);
                preprocess_normalize(&norm, im, chw);
                float *dst = out->pixel_values + slot * 3 * plane;
                uint8_t *mask = out->pixel_attention_mask + slot * plane;
                for (int c = 0; c < 3; c++)
                    for (int y = 0; y < im->h; y++)
                        memcpy(dst + (size_t)c * plane + (size_t)y * W, chw + ((size_t)c * im->h + y) * im->w,
                               (size_t)im->w * sizeof *chw);
                for (int y = 0; y < im->h; y++) memset(mask + (size_t)y * W, 1, (size_t)im->w);
            }
        }
        free(chw);
    }
    for (size_t i = 0; i < k; i++) image_free(&u8[i]);
    free(u8);
    return ok;
}
