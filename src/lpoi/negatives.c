// negatives.c — the listwise negative image list (rule in negatives.h, steps 1-6).
// Invariants: mask k ⊆ mask k+1 ⊆ box; image 1 equals the source byte for byte; every pixel outside
// the mask of image k equals the source; the ellipse stroke lies inside the mask.
#include "lpoi/negatives.h"
#include "base/check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char NEGATIVES_RULE_TEXT[] =
    "Image k of L masks round((k-1)/(L-1) x E) pixels of the object box (halves up; k=1 is the\n"
    "untouched original, k=L the whole box), growing from the box side nearest the image border:\n"
    "distances left=x0, right=W-x1, top=y0, bottom=H-y1 (box clipped to the image, widened to whole\n"
    "pixels); smallest wins, ties in the order left, right, top, bottom. Left/right grow horizontally\n"
    "(a full-height band, E = box width); top/bottom vertically (a full-width band, E = box height).\n"
    "The red ellipse outline is inscribed in the masked band, stroke max(1, round(min(W,H)/100)) px.\n"
    "Masks are drawn at the image's own resolution.\n";

NegOptions negatives_default_options(void) {
    return (NegOptions){.fill = NEG_FILL_BLACK, .visual_prompt = true, .line_width = 0, .seed = 0};
}

const char *negatives_fill_name(NegFill f) {
    switch (f) {
    case NEG_FILL_BLACK: return "black";
    case NEG_FILL_MEAN: return "mean";
    case NEG_FILL_NOISE: return "noise";
    }
    return "?";
}

bool negatives_fill_parse(const char *s, NegFill *out) {
    for (int f = NEG_FILL_BLACK; f <= NEG_FILL_NOISE; f++)
        if (!strcmp(s, negatives_fill_name((NegFill)f))) { *out = (NegFill)f; return true; }
    return false;
}

const char *negatives_side_name(NegSide s) {
    static const char *names[] = {"left", "right", "top", "bottom"};
    return (unsigned)s < 4 ? names[s] : "?";
}

bool negatives_box_to_rect(int w, int h, const double b[4], ImgRect *out, LpoiErr *err) {
    for (int i = 0; i < 4; i++)
        if (!isfinite(b[i])) return err_set(err, "box has a non-finite coordinate");
    if (!(b[2] > b[0]) || !(b[3] > b[1]))
        return err_set(err, "box [%g, %g, %g, %g] is empty (need x0 < x1 and y0 < y1)", b[0], b[1], b[2], b[3]);
    double x0 = fmax(b[0], 0), y0 = fmax(b[1], 0), x1 = fmin(b[2], w), y1 = fmin(b[3], h);
    if (!(x1 > x0) || !(y1 > y0))
        return err_set(err, "box [%g, %g, %g, %g] lies outside the %d x %d image", b[0], b[1], b[2], b[3], w, h);
    // All four are now within [0, w] / [0, h], so the int conversions are safe.
    ImgRect r = {(int)floor(x0), (int)floor(y0), (int)ceil(x1), (int)ceil(y1)};
    LPOI_ASSERT(r.x0 >= 0 && r.y0 >= 0 && r.x1 <= w && r.y1 <= h && !img_rect_empty(r));
    *out = r;
    return true;
}

const char *const BOX_FORMAT_NAMES[BOX_NFORMATS] = {"xyxy", "xywh", "norm-xyxy", "norm-xywh"};

bool box_format_parse(const char *s, BoxFormat *f) {
    for (int k = 0; k < BOX_NFORMATS; k++)
        if (!strcmp(s, BOX_FORMAT_NAMES[k])) { *f = (BoxFormat)k; return true; }
    return false;
}

bool box_to_corners(BoxFormat f, const double in[4], double out[4], LpoiErr *err) {
    for (int i = 0; i < 4; i++)
        if (!isfinite(in[i])) return err_set(err, "[%g, %g, %g, %g] has a non-finite coordinate", in[0], in[1], in[2], in[3]);
    bool wh = f == BOX_XYWH || f == BOX_NORM_XYWH;
    double c[4] = {in[0], in[1], wh ? in[0] + in[2] : in[2], wh ? in[1] + in[3] : in[3]};
    if (!(c[2] > c[0] && c[3] > c[1]))
        return err_set(err, "[%g, %g, %g, %g] is empty as %s (need %s)", in[0], in[1], in[2], in[3], BOX_FORMAT_NAMES[f],
                       wh ? "w > 0 and h > 0" : "x1 > x0 and y1 > y0");
    if (box_format_normalised(f))
        for (int i = 0; i < 4; i++)
            if (c[i] < 0 || c[i] > 1)
                return err_set(err, "[%g, %g, %g, %g] leaves [0, 1], but --box-format is %s (pixels: xyxy or xywh)", in[0],
                               in[1], in[2], in[3], BOX_FORMAT_NAMES[f]);
    memcpy(out, c, sizeof c);
    return true;
}

bool box_looks_normalised(const double c[4]) {
    for (int i = 0; i < 4; i++)
        if (!(c[i] >= 0 && c[i] <= 1)) return false;
    return true;
}

bool box_is_tiny(const double c[4]) { return c[2] - c[0] < BOX_TINY_PX || c[3] - c[1] < BOX_TINY_PX; }

NegSide negatives_growth_side(int w, int h, ImgRect box) {
    int64_t d[4] = {box.x0, (int64_t)w - box.x1, box.y0, (int64_t)h - box.y1};
    int best = 0;
    for (int s = 1; s < 4; s++)
        if (d[s] < d[best]) best = s;   // strict: earlier sides win ties
    return (NegSide)best;
}

// round((k-1) * e / (L-1)), halves up, exact in integers.
static int mask_extent(int e, int k, int list_size) {
    int64_t num = 2 * (int64_t)(k - 1) * e + (list_size - 1), den = 2 * (int64_t)(list_size - 1);
    return (int)(num / den);
}

ImgRect negatives_mask_rect(ImgRect box, NegSide side, int k, int list_size) {
    LPOI_ASSERT(list_size >= 2 && k >= 1 && k <= list_size && !img_rect_empty(box));
    ImgRect m = box;
    switch (side) {
    case NEG_SIDE_LEFT:   m.x1 = box.x0 + mask_extent(box.x1 - box.x0, k, list_size); break;
    case NEG_SIDE_RIGHT:  m.x0 = box.x1 - mask_extent(box.x1 - box.x0, k, list_size); break;
    case NEG_SIDE_TOP:    m.y1 = box.y0 + mask_extent(box.y1 - box.y0, k, list_size); break;
    case NEG_SIDE_BOTTOM: m.y0 = box.y1 - mask_extent(box.y1 - box.y0, k, list_size); break;
    }
    if (img_rect_empty(m)) m = (ImgRect){box.x0, box.y0, box.x0, box.y0};
    return m;
}

int negatives_line_width(int w, int h) {
    int m = LPOI_MIN(w, h);
    return LPOI_MAX(1, (m + 50) / 100);
}

void negatives_render(const Image *src, ImgRect box, int k, int list_size, const NegOptions *opt, Image *out) {
    LPOI_ASSERT(list_size >= 2 && list_size <= NEGATIVES_MAX_LIST && k >= 1 && k <= list_size);
    LPOI_ASSERT(img_rect_contains((ImgRect){0, 0, src->w, src->h}, box) && !img_rect_empty(box));
    NegOptions o = opt ? *opt : negatives_default_options();
    *out = image_clone(src);
    ImgRect m = negatives_mask_rect(box, negatives_growth_side(src->w, src->h, box), k, list_size);
    if (img_rect_empty(m)) return;
    switch (o.fill) {
    case NEG_FILL_BLACK: draw_fill_rect(out, m, DRAW_BLACK); break;
    case NEG_FILL_MEAN: {
        uint8_t mean[3];
        image_mean_rgb(src, mean);
        draw_fill_rect(out, m, mean);
        break;
    }
    case NEG_FILL_NOISE: draw_fill_rect_noise(out, m, o.seed); break;
    }
    if (o.visual_prompt) {
        int lw = o.line_width > 0 ? o.line_width : negatives_line_width(src->w, src->h);
        draw_ellipse_outline(out, m, lw, DRAW_RED);
    }
}

void negatives_render_list(const Image *src, ImgRect box, int list_size, const NegOptions *opt, Image *out) {
    for (int k = 1; k <= list_size; k++) negatives_render(src, box, k, list_size, opt, &out[k - 1]);
}

// Kept share of [a0, a1) (original pixels) after scaling by n/len (resized size n of an original
// extent len) and cropping to [off, off + s) in resized pixels.
static double kept_1d(int a0, int a1, int len, int n, int s) {
    int off = (n - s) / 2;   // floor-centred, as HF center_crop ((n - s) // 2 with n >= s)
    double scale = (double)n / len;
    double lo = fmax(a0 * scale, (double)off), hi = fmin(a1 * scale, (double)(off + s));
    return hi > lo ? (hi - lo) / ((a1 - a0) * scale) : 0.0;
}

double negatives_crop_kept_fraction(int w, int h, ImgRect mask, int s) {
    if (img_rect_empty(mask) || s <= 0 || w <= 0 || h <= 0) return 1.0;
    int shortside = LPOI_MIN(w, h), longside = LPOI_MAX(w, h);
    // HF get_resize_output_image_size(default_to_square=False): int(size * long / short).
    int newlong = (int)((double)((int64_t)s * longside) / (double)shortside);
    int nw = w <= h ? s : newlong, nh = w <= h ? newlong : s;
    if (nw < s || nh < s) return 1.0;   // HF would pad, not cut (cannot happen with newlong >= s)
    return kept_1d(mask.x0, mask.x1, w, nw, s) * kept_1d(mask.y0, mask.y1, h, nh, s);
}

bool negatives_release_path(const char *img_path, int percent, char **out, LpoiErr *err) {
    *out = NULL;
    if (percent != 25 && percent != 50 && percent != 75 && percent != 100)
        return err_set(err, "released LPOI negatives exist for 25/50/75/100%% masks, not %d%%", percent);
    // Find the last component equal to "images".
    const char *hit = NULL;
    size_t n = strlen(img_path);
    for (size_t i = 0; i + 6 <= n; i++)
        if (!strncmp(img_path + i, "images", 6) && (i == 0 || img_path[i - 1] == '/') &&
            (i + 6 == n || img_path[i + 6] == '/'))
            hit = img_path + i;
    if (!hit || hit[6] != '/')
        return err_set(err, "%s: no folder named \"images\" in the path, so the released negatives' "
                       "location (ours_cmask_until_list5/ours_cmask_untilP instead of images) is unknown", img_path);
    size_t pre = (size_t)(hit - img_path);
    char mid[64];
    int m = snprintf(mid, sizeof mid, "ours_cmask_until_list5/ours_cmask_until%d", percent);
    size_t len = pre + (size_t)m + strlen(hit + 6) + 1;
    char *p = malloc_check(len);
    memcpy(p, img_path, pre);
    memcpy(p + pre, mid, (size_t)m);
    strcpy(p + pre + (size_t)m, hit + 6);
    *out = p;
    return true;
}
