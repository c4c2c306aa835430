// resample.c — Pillow-exact separable resampling of RGB8 images (see resample.h for the contract).
//
// Layout of the work: per axis, a coefficient table (first source index, tap count, and the int32
// fixed-point weights of every output index in the requested window, stored back to back); then
// one or two passes, each parallel over output rows. Coefficients are computed exactly as Pillow
// computes them, in the same double-precision expression order (the order matters for the last bit
// of a weight, and a weight that rounds differently in fixed point can flip an output pixel).
// Invariant: every output channel is the clamped (2^21 + Σ p·k) >> 22 of Pillow; the accumulators
// are int32 as in Pillow, which cannot overflow for normalised weights (Σ|k| < 2 for every filter
// here, and 255 · 2 · 2^22 < 2^31).
#include "image/resample.h"
#include "base/check.h"
#include "base/threads.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PRECISION_BITS 22               // 32 − 8 bits of result − 2 bits of headroom, as Pillow
#define ROUND_HALF (1 << (PRECISION_BITS - 1))

// ---------------------------------------------------------------------------------------------
// filters: the same functions and expression order as Pillow's Resample.c

static double filter_box(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

static double filter_bilinear(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double filter_hamming(double x) {
    if (x < 0.0) x = -x;
    if (x == 0.0) return 1.0;
    if (x >= 1.0) return 0.0;
    x = x * M_PI;
    return sin(x) / x * (0.54f + 0.46f * cos(x));   // float constants, promoted: as Pillow writes it
}

static double filter_bicubic(double x) {
    const double a = -0.5;                 // Keys' parameter (Pillow's choice; OpenCV uses -0.75)
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double filter_lanczos(double x) {
    return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0.0;
}

typedef struct {
    double (*fn)(double);
    double support;      // radius in source pixels at scale 1
    const char *name;
} Filter;

static const Filter *filter_get(int code) {
    static const Filter lanczos = {filter_lanczos, 3.0, "LANCZOS"}, bilinear = {filter_bilinear, 1.0, "BILINEAR"},
                        bicubic = {filter_bicubic, 2.0, "BICUBIC"}, box = {filter_box, 0.5, "BOX"},
                        hamming = {filter_hamming, 1.0, "HAMMING"};
    switch (code) {
    case RESAMPLE_LANCZOS: return &lanczos;
    case RESAMPLE_BILINEAR: return &bilinear;
    case RESAMPLE_BICUBIC: return &bicubic;
    case RESAMPLE_BOX: return &box;
    case RESAMPLE_HAMMING: return &hamming;
    default: return NULL;
    }
}

const char *resample_filter_name(int code) {
    if (code == RESAMPLE_NEAREST) return "NEAREST";
    const Filter *f = filter_get(code);
    return f ? f->name : "unknown";
}

bool resample_filter_supported(int code) { return filter_get(code) != NULL; }

bool resample_horizontal_first(int in_w, int in_h, int out_w, int out_h) {
    // Pillow: vertical first "if height is being scaled down more than twice the amount the width is"
    // (differences in pixels, in int arithmetic; a width that grows makes the right side negative).
    int64_t dh = (int64_t)in_h - out_h, dw = (int64_t)in_w - out_w;
    return !(dh > 0 && dh > dw * 2);
}

// ---------------------------------------------------------------------------------------------
// coefficients

typedef struct {
    int n;              // output indices in the window
    int *first;         // [n] first source index read
    int *count;         // [n] taps (>= 1)
    size_t *off;        // [n] offset of the taps in k
    int32_t *k;         // all taps, fixed point
} Coeffs;

static void coeffs_free(Coeffs *c) {
    free(c->first);
    free(c->count);
    free(c->off);
    free(c->k);
    memset(c, 0, sizeof *c);
}

static int32_t to_fixed(double w) {
    // round half away from zero, as Pillow's normalize_coeffs_8bpc
    return w < 0 ? (int32_t)(-0.5 + w * (1 << PRECISION_BITS)) : (int32_t)(0.5 + w * (1 << PRECISION_BITS));
}

// Coefficients for outputs [o0, o0 + n) of an in_size -> out_size resize of one axis.
static bool coeffs_build(Coeffs *c, int in_size, int out_size, int o0, int n, const Filter *f, LpoiErr *err) {
    memset(c, 0, sizeof *c);
    // Pillow: box = (float)size; scale = (double)(in1 - in0) / outSize; the float matters above 2^24.
    const float in1 = (float)in_size, in0 = 0.0f;
    double scale = (double)(in1 - in0) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = f->support * filterscale;
    double inv_filterscale = 1.0 / filterscale;
    c->n = n;
    c->first = malloc_check((size_t)n * sizeof *c->first);
    c->count = malloc_check((size_t)n * sizeof *c->count);
    c->off = malloc_check((size_t)n * sizeof *c->off);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        double center = in0 + (o0 + i + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        LPOI_ASSERT(xmax > xmin);   // center lies in [0, in_size) and support >= 0.5
        c->first[i] = xmin;
        c->count[i] = xmax - xmin;
        c->off[i] = total;
        if (!size_add_ok(total, (size_t)(xmax - xmin), &total) || total > ((size_t)1 << 31))
            return err_set(err, "resize %d -> %d: coefficient table too large", in_size, out_size);
    }
    c->k = malloc_check((total ? total : 1) * sizeof *c->k);
    for (int i = 0; i < n; i++) {
        double center = in0 + (o0 + i + 0.5) * scale;
        int xmin = c->first[i], cnt = c->count[i];
        int32_t *k = c->k + c->off[i];
        // Pillow stores w, sums, then divides each stored w; recomputing w gives the same doubles.
        double ww = 0.0;
        for (int x = 0; x < cnt; x++) ww += f->fn((x + xmin - center + 0.5) * inv_filterscale);
        for (int x = 0; x < cnt; x++) {
            double w = f->fn((x + xmin - center + 0.5) * inv_filterscale);
            if (ww != 0.0) w /= ww;
            k[x] = to_fixed(w);
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// passes

static inline uint8_t clip8(int32_t s) {
    int32_t v = s >> PRECISION_BITS;   // arithmetic shift (floor), as Pillow relies on
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

typedef struct {
    const uint8_t *src;
    size_t src_stride;     // bytes per source row
    uint8_t *dst;
    size_t dst_stride;     // bytes per destination row
    const Coeffs *c;
    int src_row0;          // horizontal: destination row r reads source row r + src_row0
    int shift;             // source index = coefficient index - shift (rows for vertical, columns for horizontal)
    int col0;              // vertical: first source column read
    int width;             // vertical: pixels per row; horizontal: unused (c->n)
} Pass;

static void pass_horizontal_rows(void *ctx, size_t begin, size_t end, int thread) {
    (void)thread;
    const Pass *p = ctx;
    const Coeffs *c = p->c;
    for (size_t r = begin; r < end; r++) {
        const uint8_t *row = p->src + (r + (size_t)p->src_row0) * p->src_stride;
        uint8_t *out = p->dst + r * p->dst_stride;
        for (int i = 0; i < c->n; i++) {
            const uint8_t *px = row + (size_t)(c->first[i] - p->shift) * 3;
            const int32_t *k = c->k + c->off[i];
            int32_t s0 = ROUND_HALF, s1 = ROUND_HALF, s2 = ROUND_HALF;
            for (int t = 0; t < c->count[i]; t++) {
                int32_t w = k[t];
                s0 += px[3 * t + 0] * w;
                s1 += px[3 * t + 1] * w;
                s2 += px[3 * t + 2] * w;
            }
            out[3 * i + 0] = clip8(s0);
            out[3 * i + 1] = clip8(s1);
            out[3 * i + 2] = clip8(s2);
        }
    }
}

static void pass_vertical_rows(void *ctx, size_t begin, size_t end, int thread) {
    (void)thread;
    const Pass *p = ctx;
    const Coeffs *c = p->c;
    size_t m = (size_t)p->width * 3;
    int32_t *acc = malloc_check(m * sizeof *acc);
    for (size_t r = begin; r < end; r++) {
        for (size_t j = 0; j < m; j++) acc[j] = ROUND_HALF;
        const int32_t *k = c->k + c->off[r];
        for (int t = 0; t < c->count[r]; t++) {
            const uint8_t *row = p->src + (size_t)(c->first[r] - p->shift + t) * p->src_stride + (size_t)p->col0 * 3;
            int32_t w = k[t];
            for (size_t j = 0; j < m; j++) acc[j] += row[j] * w;
        }
        uint8_t *out = p->dst + r * p->dst_stride;
        for (size_t j = 0; j < m; j++) out[j] = clip8(acc[j]);
    }
    free(acc);
}

// Rows per parallel chunk: about 64K multiply-adds at least, so tiny images stay on one thread.
static size_t min_rows(size_t macs_per_row) {
    size_t r = macs_per_row ? (size_t)65536 / macs_per_row : 1;
    return r ? r : 1;
}

static size_t taps_total(const Coeffs *c) { return c->n ? c->off[c->n - 1] + (size_t)c->count[c->n - 1] : 0; }

// ---------------------------------------------------------------------------------------------

static bool size_ok(int w, int h, uint64_t limit) {
    return w >= 1 && h >= 1 && (uint64_t)w * (uint64_t)h <= limit;
}

bool image_resize_window(Image *out, const Image *src, int out_w, int out_h, ResampleFilter filter,
                         int x0, int y0, int win_w, int win_h, LpoiErr *err) {
    *out = (Image){0};
    const Filter *f = filter_get((int)filter);
    if (!f) return err_set(err, "resize: unsupported resampling filter %d (%s); supported: 1 LANCZOS, 2 BILINEAR, "
                                "3 BICUBIC, 4 BOX, 5 HAMMING", (int)filter, resample_filter_name((int)filter));
    if (!src || !src->data || src->w < 1 || src->h < 1) return err_set(err, "resize: empty source image");
    if (out_w < 1 || out_h < 1) return err_set(err, "resize: output size %dx%d must be at least 1x1", out_w, out_h);
    if (x0 < 0 || y0 < 0 || win_w < 1 || win_h < 1 || win_w > out_w - x0 || win_h > out_h - y0)
        return err_set(err, "resize: window %dx%d at (%d, %d) is not inside the %dx%d output", win_w, win_h, x0, y0,
                       out_w, out_h);
    // Only the window is materialised (coefficients too), so only its size is limited.
    if (!size_ok(win_w, win_h, RESAMPLE_MAX_PIXELS))
        return err_set(err, "resize: output size %dx%d is over the limit of %llu pixels", win_w, win_h,
                       (unsigned long long)RESAMPLE_MAX_PIXELS);
    const int in_w = src->w, in_h = src->h;
    const bool need_h = out_w != in_w, need_v = out_h != in_h;
    const size_t src_stride = (size_t)in_w * 3;

    if (!need_h && !need_v) {   // Pillow copies; the window is a crop of the source
        *out = image_new(win_w, win_h);
        for (int y = 0; y < win_h; y++)
            memcpy(out->data + (size_t)y * win_w * 3, src->data + (size_t)(y0 + y) * src_stride + (size_t)x0 * 3,
                   (size_t)win_w * 3);
        return true;
    }

    Coeffs ch = {0}, cv = {0};
    if (need_h && !coeffs_build(&ch, in_w, out_w, x0, win_w, f, err)) goto fail;
    if (need_v && !coeffs_build(&cv, in_h, out_h, y0, win_h, f, err)) goto fail;

    Image res = image_new(win_w, win_h);
    if (need_h && !need_v) {
        Pass p = {.src = src->data, .src_stride = src_stride, .dst = res.data, .dst_stride = (size_t)win_w * 3,
                  .c = &ch, .src_row0 = y0};
        parallel_for((size_t)win_h, min_rows(taps_total(&ch) * 3), pass_horizontal_rows, &p);
    } else if (!need_h && need_v) {
        Pass p = {.src = src->data, .src_stride = src_stride, .dst = res.data, .dst_stride = (size_t)win_w * 3,
                  .c = &cv, .col0 = x0, .width = win_w};
        parallel_for((size_t)win_h, min_rows(taps_total(&cv) / (size_t)win_h * (size_t)win_w * 3), pass_vertical_rows, &p);
    } else if (resample_horizontal_first(in_w, in_h, out_w, out_h)) {
        // Horizontal over only the source rows the vertical taps read, then vertical.
        int r0 = cv.first[0], r1 = cv.first[win_h - 1] + cv.count[win_h - 1];
        for (int i = 0; i < win_h; i++) {   // monotone in i; guard anyway
            if (cv.first[i] < r0) r0 = cv.first[i];
            if (cv.first[i] + cv.count[i] > r1) r1 = cv.first[i] + cv.count[i];
        }
        if (!size_ok(win_w, r1 - r0, 4 * RESAMPLE_MAX_PIXELS)) {
            image_free(&res);
            err_set(err, "resize %dx%d -> %dx%d: intermediate image too large", in_w, in_h, out_w, out_h);
            goto fail;
        }
        Image tmp = image_new(win_w, r1 - r0);
        Pass ph = {.src = src->data, .src_stride = src_stride, .dst = tmp.data, .dst_stride = (size_t)win_w * 3,
                   .c = &ch, .src_row0 = r0};
        parallel_for((size_t)(r1 - r0), min_rows(taps_total(&ch) * 3), pass_horizontal_rows, &ph);
        Pass pv = {.src = tmp.data, .src_stride = (size_t)win_w * 3, .dst = res.data, .dst_stride = (size_t)win_w * 3,
                   .c = &cv, .shift = r0, .col0 = 0, .width = win_w};
        parallel_for((size_t)win_h, min_rows(taps_total(&cv) / (size_t)win_h * (size_t)win_w * 3), pass_vertical_rows, &pv);
        image_free(&tmp);
    } else {
        // Vertical first, over only the source columns the horizontal taps read, then horizontal.
        int c0 = ch.first[0], c1 = ch.first[win_w - 1] + ch.count[win_w - 1];
        for (int i = 0; i < win_w; i++) {
            if (ch.first[i] < c0) c0 = ch.first[i];
            if (ch.first[i] + ch.count[i] > c1) c1 = ch.first[i] + ch.count[i];
        }
        if (!size_ok(c1 - c0, win_h, 4 * RESAMPLE_MAX_PIXELS)) {
            image_free(&res);
            err_set(err, "resize %dx%d -> %dx%d: intermediate image too large", in_w, in_h, out_w, out_h);
            goto fail;
        }
        Image tmp = image_new(c1 - c0, win_h);
        Pass pv = {.src = src->data, .src_stride = src_stride, .dst = tmp.data, .dst_stride = (size_t)(c1 - c0) * 3,
                   .c = &cv, .col0 = c0, .width = c1 - c0};
        parallel_for((size_t)win_h, min_rows(taps_total(&cv) / (size_t)win_h * (size_t)(c1 - c0) * 3),
                     pass_vertical_rows, &pv);
        Pass ph = {.src = tmp.data, .src_stride = (size_t)(c1 - c0) * 3, .dst = res.data,
                   .dst_stride = (size_t)win_w * 3, .c = &ch, .shift = c0};
        parallel_for((size_t)win_h, min_rows(taps_total(&ch) * 3), pass_horizontal_rows, &ph);
        image_free(&tmp);
    }
    coeffs_free(&ch);
    coeffs_free(&cv);
    *out = res;
    return true;
fail:
    coeffs_free(&ch);
    coeffs_free(&cv);
    return false;
}

bool image_resize(Image *out, const Image *src, int out_w, int out_h, ResampleFilter filter, LpoiErr *err) {
    return image_resize_window(out, src, out_w, out_h, filter, 0, 0, out_w, out_h, err);
}
