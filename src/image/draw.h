// draw.h — pixel-exact drawing on RGB8 images: filled rectangles (solid or seeded noise), rectangle
// outlines, and ellipse outlines inscribed in a rectangle. Everything is clipped to the image:
// rectangles may lie partly or wholly outside it, and nothing outside [0, W) x [0, H) is touched.
//
// Coordinates are integer pixel EDGES: a rectangle {x0, y0, x1, y1} is the half-open pixel set
// [x0, x1) x [y0, y1), so {0, 0, W, H} is the whole image and x1 - x0 is the width in pixels.
// Pixel (x, y) has its centre at (x + 0.5, y + 0.5).
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "image/image.h"

typedef struct { int x0, y0, x1, y1; } ImgRect;   // half-open [x0, x1) x [y0, y1), pixel edges

static inline bool img_rect_empty(ImgRect r) { return r.x1 <= r.x0 || r.y1 <= r.y0; }
static inline int64_t img_rect_area(ImgRect r) {
    return img_rect_empty(r) ? 0 : (int64_t)(r.x1 - r.x0) * (int64_t)(r.y1 - r.y0);
}
// r ∩ [0, w) x [0, h); an empty intersection comes back with x1 <= x0 or y1 <= y0.
ImgRect img_rect_clip(ImgRect r, int w, int h);
// true when every pixel of a lies in b (an empty a is contained in anything).
bool img_rect_contains(ImgRect b, ImgRect a);

static const uint8_t DRAW_BLACK[3] = {0, 0, 0};
static const uint8_t DRAW_RED[3] = {255, 0, 0};
static const uint8_t DRAW_GREEN[3] = {0, 255, 0};

void draw_fill_rect(Image *img, ImgRect r, const uint8_t rgb[3]);
// Fills r with uniform random RGB noise that depends only on (seed, x, y): the same pixel gets the
// same colour whatever rectangle covers it, so nested masks drawn with one seed agree pixel for pixel.
void draw_fill_rect_noise(Image *img, ImgRect r, uint64_t seed);
// The mean colour of the whole image, each channel rounded to nearest (halves up).
void image_mean_rgb(const Image *img, uint8_t out[3]);
// A rectangle outline `line_width` pixels thick, drawn inside r (line_width >= 1).
void draw_rect_outline(Image *img, ImgRect r, int line_width, const uint8_t rgb[3]);

// The ellipse inscribed in r (centre = centre of r, semi-axes (x1 - x0)/2 and (y1 - y0)/2) drawn as
// an outline `line_width` pixels thick (>= 1): pixel (x, y) is painted when its centre lies inside
// or on the ellipse AND its Euclidean distance to the ellipse curve is < line_width. So the stroke
// lies entirely within r (never outside the masked area it marks), its outer edge is the inscribed
// ellipse, and an ellipse thinner than 2 * line_width comes out filled. Computed exactly: integer
// arithmetic for inside/outside, a robust point-to-ellipse distance (bisection on the normal-line
// equation, after D. Eberly, "Distance from a point to an ellipse") for the stroke.
void draw_ellipse_outline(Image *img, ImgRect r, int line_width, const uint8_t rgb[3]);
// Whether the centre of pixel (x, y) lies inside or on the ellipse inscribed in r (exact).
bool ellipse_contains_pixel(ImgRect r, int x, int y);
