// draw.c — rectangles, noise and inscribed ellipse outlines on RGB8 images (see draw.h).
// Invariants: every write goes through a rectangle already clipped to the image; the ellipse test
// is exact integer arithmetic, so whether a pixel is inside never depends on floating-point rounding.
#include "image/draw.h"
#include "base/check.h"
#include <math.h>
#include <string.h>

ImgRect img_rect_clip(ImgRect r, int w, int h) {
    return (ImgRect){LPOI_MAX(r.x0, 0), LPOI_MAX(r.y0, 0), LPOI_MIN(r.x1, w), LPOI_MIN(r.y1, h)};
}

bool img_rect_contains(ImgRect b, ImgRect a) {
    return img_rect_empty(a) || (a.x0 >= b.x0 && a.y0 >= b.y0 && a.x1 <= b.x1 && a.y1 <= b.y1);
}

void draw_fill_rect(Image *img, ImgRect r, const uint8_t rgb[3]) {
    r = img_rect_clip(r, img->w, img->h);
    if (img_rect_empty(r)) return;
    for (int y = r.y0; y < r.y1; y++) {
        uint8_t *p = image_pixel(img, r.x0, y);
        for (int x = r.x0; x < r.x1; x++, p += 3) { p[0] = rgb[0]; p[1] = rgb[1]; p[2] = rgb[2]; }
    }
}

static inline uint64_t mix64(uint64_t z) {   // splitmix64 finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void draw_fill_rect_noise(Image *img, ImgRect r, uint64_t seed) {
    r = img_rect_clip(r, img->w, img->h);
    if (img_rect_empty(r)) return;
    uint64_t s = mix64(seed + 0x9e3779b97f4a7c15ull);
    for (int y = r.y0; y < r.y1; y++) {
        uint8_t *p = image_pixel(img, r.x0, y);
        for (int x = r.x0; x < r.x1; x++, p += 3) {
            uint64_t v = mix64(s ^ ((uint64_t)(uint32_t)y << 32 | (uint32_t)x));
            p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16);
        }
    }
}

void image_mean_rgb(const Image *img, uint8_t out[3]) {
    uint64_t sum[3] = {0, 0, 0}, n = (uint64_t)img->w * (uint64_t)img->h;
    const uint8_t *p = img->data;
    for (uint64_t i = 0; i < n; i++, p += 3) { sum[0] += p[0]; sum[1] += p[1]; sum[2] += p[2]; }
    for (int c = 0; c < 3; c++) out[c] = (uint8_t)((sum[c] + n / 2) / n);
}

void draw_rect_outline(Image *img, ImgRect r, int lw, const uint8_t rgb[3]) {
    if (img_rect_empty(r) || lw < 1) return;
    int64_t t = LPOI_MIN((int64_t)lw, (int64_t)LPOI_MAX(r.x1 - r.x0, r.y1 - r.y0));
    int t32 = (int)t;
    draw_fill_rect(img, (ImgRect){r.x0, r.y0, r.x1, (int)LPOI_MIN((int64_t)r.y0 + t32, r.y1)}, rgb);   // top
    draw_fill_rect(img, (ImgRect){r.x0, (int)LPOI_MAX((int64_t)r.y1 - t32, r.y0), r.x1, r.y1}, rgb);   // bottom
    draw_fill_rect(img, (ImgRect){r.x0, r.y0, (int)LPOI_MIN((int64_t)r.x0 + t32, r.x1), r.y1}, rgb);   // left
    draw_fill_rect(img, (ImgRect){(int)LPOI_MAX((int64_t)r.x1 - t32, r.x0), r.y0, r.x1, r.y1}, rgb);   // right
}

// ---------------------------------------------------------------------------------------------
// ellipse

// In doubled coordinates relative to the centre: X = 2x + 1 - (x0 + x1) (= 2 * (x + 0.5 - cx)),
// Y likewise, and the doubled axes W = x1 - x0, H = y1 - y0. The pixel centre is inside or on the
// ellipse iff (X/W)^2 + (Y/H)^2 <= 1  <=>  X^2 H^2 + Y^2 W^2 <= W^2 H^2, exact in 128 bits.
static bool inside2(int64_t X, int64_t Y, int64_t W, int64_t H) {
    __int128 x2 = (__int128)X * X, y2 = (__int128)Y * Y, w2 = (__int128)W * W, h2 = (__int128)H * H;
    return x2 * h2 + y2 * w2 <= w2 * h2;
}

bool ellipse_contains_pixel(ImgRect r, int x, int y) {
    if (img_rect_empty(r)) return false;
    int64_t X = 2 * (int64_t)x + 1 - ((int64_t)r.x0 + r.x1), Y = 2 * (int64_t)y + 1 - ((int64_t)r.y0 + r.y1);
    return inside2(X, Y, (int64_t)r.x1 - r.x0, (int64_t)r.y1 - r.y0);
}

// Root of F(s) = (r0 z0 / (s + r0))^2 + (z1 / (s + 1))^2 - 1 by bisection (Eberly).
static double ellipse_root(double r0, double z0, double z1, double g) {
    double n0 = r0 * z0, s0 = z1 - 1, s1 = g < 0 ? 0 : hypot(n0, z1) - 1, s = 0;
    for (int i = 0; i < 2200; i++) {
        s = 0.5 * (s0 + s1);
        if (s == s0 || s == s1) break;
        double q0 = n0 / (s + r0), q1 = z1 / (s + 1);
        g = q0 * q0 + q1 * q1 - 1;
        if (g > 0) s0 = s;
        else if (g < 0) s1 = s;
        else break;
    }
    return s;
}

// Distance from (y0, y1), y0, y1 >= 0, to the ellipse with semi-axes e0 >= e1 > 0.
static double ellipse_distance_q1(double e0, double e1, double y0, double y1) {
    if (y1 > 0) {
        if (y0 > 0) {
            double z0 = y0 / e0, z1 = y1 / e1, g = z0 * z0 + z1 * z1 - 1;
            if (g == 0) return 0;
            double r0 = (e0 / e1) * (e0 / e1), sbar = ellipse_root(r0, z0, z1, g);
            double x0 = r0 * y0 / (sbar + r0), x1 = y1 / (sbar + 1);
            return hypot(x0 - y0, x1 - y1);
        }
        return fabs(y1 - e1);
    }
    double numer0 = e0 * y0, denom0 = e0 * e0 - e1 * e1;
    if (numer0 < denom0) {
        double xde0 = numer0 / denom0, x0 = e0 * xde0, x1 = e1 * sqrt(1 - xde0 * xde0);
        return hypot(x0 - y0, x1);
    }
    return fabs(y0 - e0);
}

// Distance from a pixel centre (doubled coordinates X, Y) to the ellipse curve (doubled axes W, H).
static double ellipse_distance(int64_t X, int64_t Y, int64_t W, int64_t H) {
    double ax = 0.5 * (double)W, ay = 0.5 * (double)H, px = 0.5 * fabs((double)X), py = 0.5 * fabs((double)Y);
    return ax >= ay ? ellipse_distance_q1(ax, ay, px, py) : ellipse_distance_q1(ay, ax, py, px);
}

void draw_ellipse_outline(Image *img, ImgRect r, int lw, const uint8_t rgb[3]) {
    if (img_rect_empty(r) || lw < 1) return;
    ImgRect c = img_rect_clip(r, img->w, img->h);
    if (img_rect_empty(c)) return;
    int64_t W = (int64_t)r.x1 - r.x0, H = (int64_t)r.y1 - r.y0, sx = (int64_t)r.x0 + r.x1, sy = (int64_t)r.y0 + r.y1;
    // Along a row, the distance to the boundary of a convex set is concave, so the pixels at
    // distance >= lw form one interval: scan in from the left until the first such pixel, then in
    // from the right; everything scanned on the way (inside the ellipse) is stroke.
    for (int y = c.y0; y < c.y1; y++) {
        int64_t Y = 2 * (int64_t)y + 1 - sy;
        uint8_t *row = image_pixel(img, 0, y);
        int x = c.x0, stop = c.x1;
        bool reached_inner = false;
        for (; x < c.x1; x++) {
            int64_t X = 2 * (int64_t)x + 1 - sx;
            if (!inside2(X, Y, W, H)) continue;
            if (ellipse_distance(X, Y, W, H) >= (double)lw) { reached_inner = true; stop = x; break; }
            memcpy(row + (size_t)x * 3, rgb, 3);
        }
        if (!reached_inner) continue;
        for (x = c.x1 - 1; x > stop; x--) {
            int64_t X = 2 * (int64_t)x + 1 - sx;
            if (!inside2(X, Y, W, H)) continue;
            if (ellipse_distance(X, Y, W, H) >= (double)lw) break;
            memcpy(row + (size_t)x * 3, rgb, 3);
        }
    }
}
