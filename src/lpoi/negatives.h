// negatives.h — LPOI's listwise negative images (paper §3.2, Algorithm 1 lines 6-8): from an image
// x and the box b of its key object, the list x_1..x_L where x_k masks (k-1)/(L-1) of b, growing
// from the side of b nearest the image edge, with a red ellipse outline marking the masked part.
// x_1 is the untouched original (no mask, no ellipse); x_L hides the whole box.
//
// The paper fixes the fraction and says "starting from the side closest to the image edge"; its
// Figure 2 shows a black mask spanning the box's full height, growing horizontally from the side that
// touches the image border, and a red ellipse inscribed in the masked part. Everything else is
// unspecified (reference/lpoi_reference.md §2.5); lpoi's exact rule, NEGATIVES_RULE_TEXT below, is:
//
//  1. Box → pixels. The box is (x0, y0, x1, y1) in pixel-edge coordinates of the original image
//     (x1, y1 exclusive: (0, 0, W, H) is the whole image); it is clipped to the image, then widened
//     to whole pixels: [floor(x0), ceil(x1)) x [floor(y0), ceil(y1)). Non-finite values, x1 <= x0,
//     y1 <= y0, or nothing left after clipping is an error.
//  2. Growth side. The distances from each box side to the image border on that side are
//     left = x0, right = W - x1, top = y0, bottom = H - y1 (pixels, after step 1). The mask grows
//     from the side with the smallest distance; ties go in the order left, right, top, bottom.
//     Left/right growth is horizontal (the mask is a full-height band of the box), top/bottom growth
//     vertical (a full-width band). Ties prefer horizontal growth because that is what the paper's
//     figure shows; a box touching the left and top edges, or covering the whole image, grows from
//     the left.
//  3. Extent. With E the box extent along the growth direction (width for left/right, height for
//     top/bottom), image k masks m_k = round((k-1) * E / (L-1)) pixel columns/rows, computed in
//     integers with halves rounded up: m_k = floor((2 (k-1) E + (L-1)) / (2 (L-1))). So m_1 = 0
//     (image 1 is the original), m_L = E (the whole box), and m_k never decreases: mask k ⊆ mask k+1.
//     An image k > 1 whose m_k is 0 (a box thinner than L-1 pixels) is identical to the original.
//  4. Fill. Black (0, 0, 0) by default, as in the paper; or the mean colour of the whole original
//     image (rounded per channel); or uniform RGB noise that depends only on (seed, x, y), so every
//     image of a list shows the same noise where their masks overlap.
//  5. Visual prompt. On every image with a non-empty mask, a red (255, 0, 0) ellipse outline
//     inscribed in the masked rectangle, stroke width max(1, round(min(W, H) / 100)) pixels (3 px
//     for a 336 x 336 image, 5 px for 640 x 480), painted over the fill; the stroke never leaves
//     the masked rectangle (see draw_ellipse_outline). Optional (off with --no-visual-prompt).
//  6. Resolution. Masks and ellipses are drawn on the original image at its own resolution, before
//     any model preprocessing. A CLIP-style centre crop can cut an edge-anchored mask: use
//     negatives_crop_kept_fraction to warn.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "base/error.h"
#include "image/image.h"
#include "image/draw.h"

// The rule above as a few lines for `--help` (ends with a newline).
extern const char NEGATIVES_RULE_TEXT[];

#define NEGATIVES_MAX_LIST 64   // L is 2..NEGATIVES_MAX_LIST (the paper uses 3, 4, 5; 5 is best)

typedef enum { NEG_FILL_BLACK, NEG_FILL_MEAN, NEG_FILL_NOISE } NegFill;
typedef enum { NEG_SIDE_LEFT, NEG_SIDE_RIGHT, NEG_SIDE_TOP, NEG_SIDE_BOTTOM } NegSide;

typedef struct {
    NegFill fill;          // default NEG_FILL_BLACK
    bool visual_prompt;    // red ellipse outline in the masked part (default true)
    int line_width;        // ellipse stroke in pixels; 0 = max(1, round(min(W, H) / 100))
    uint64_t seed;         // for NEG_FILL_NOISE
} NegOptions;

NegOptions negatives_default_options(void);
const char *negatives_fill_name(NegFill f);       // "black", "mean", "noise"
bool negatives_fill_parse(const char *s, NegFill *out);
const char *negatives_side_name(NegSide s);       // "left", "right", "top", "bottom"

// Step 1: a box in (possibly fractional) pixel coordinates → the whole-pixel box inside a W x H image.
// Errors: "box [..] is empty" / "box [..] lies outside the W x H image" / "box has a non-finite ...".
bool negatives_box_to_rect(int w, int h, const double box[4], ImgRect *out, LpoiErr *err);

// How a record's boxes are written (--box-format): corners (x0, y0, x1, y1) or corner + size
// (x, y, w, h), in pixels of the original image or normalised to [0, 1] by its width and height.
typedef enum { BOX_XYXY, BOX_XYWH, BOX_NORM_XYXY, BOX_NORM_XYWH, BOX_NFORMATS } BoxFormat;
extern const char *const BOX_FORMAT_NAMES[BOX_NFORMATS];   // "xyxy", "xywh", "norm-xyxy", "norm-xywh"
bool box_format_parse(const char *s, BoxFormat *f);
static inline bool box_format_normalised(BoxFormat f) { return f == BOX_NORM_XYXY || f == BOX_NORM_XYWH; }
// A box as written in format f → corners (x0, y0, x1, y1), still normalised for the norm- formats;
// false + err when it is empty, or a normalised one leaves [0, 1].
bool box_to_corners(BoxFormat f, const double in[4], double out[4], LpoiErr *err);
// Warnings for boxes read as pixels: every coordinate in [0, 1] (normalised boxes read as pixels
// become a 1-pixel box) and boxes narrower or lower than BOX_TINY_PX pixels.
enum { BOX_TINY_PX = 4 };
bool box_looks_normalised(const double corners[4]);
bool box_is_tiny(const double corners[4]);
// Step 2.
NegSide negatives_growth_side(int w, int h, ImgRect box);
// Step 3: the masked rectangle of image k (1..L); empty for k = 1. box must be non-empty.
ImgRect negatives_mask_rect(ImgRect box, NegSide side, int k, int list_size);
// Step 5's default stroke width for a W x H image.
int negatives_line_width(int w, int h);

// Renders image k (1..L) of the list into *out (a new image; the caller frees it). box must come from
// negatives_box_to_rect for this image; list_size in 2..NEGATIVES_MAX_LIST (asserted: validate first).
void negatives_render(const Image *src, ImgRect box, int k, int list_size, const NegOptions *opt, Image *out);
// Renders the whole list: out[0..L-1] = images 1..L.
void negatives_render_list(const Image *src, ImgRect box, int list_size, const NegOptions *opt, Image *out);

// The fraction (0..1) of the area of `mask` (pixels of a W x H image) that survives a CLIP-style
// preprocessing: shortest-edge resize to R (HF: short side = R, long side = int(R * long / short))
// then a floor-centred R x R crop. 1 when nothing is cut or the mask is empty. Geometry only: the
// resampling filter's few-pixel blur at the crop border is ignored.
double negatives_crop_kept_fraction(int w, int h, ImgRect mask, int crop_size);

// The released LPOI negatives (ours_cmask_until_list5.zip) live beside the originals:
// ".../images/a/b.jpg" → ".../ours_cmask_until_list5/ours_cmask_until<P>/a/b.jpg" for P = 25, 50, 75,
// 100 (k = 2..5). Unlike the reference scripts' str.replace, only the LAST path component named
// exactly "images" is replaced. Writes a malloc'ed path to *out; false (err) when the path has no
// "images" component or percent is not one of 25/50/75/100.
bool negatives_release_path(const char *img_path, int percent, char **out, LpoiErr *err);
