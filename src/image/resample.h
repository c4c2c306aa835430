// resample.h — resizing RGB8 images bit-exactly as Pillow's Image.resize does (what HF image
// processors call on uint8 images), for the convolution filters.
//
// The contract is Pillow 13.0.0's src/libImaging/Resample.c (ImagingResample with the whole image
// as the box), checked pixel for pixel against Pillow itself by the image.resize golden cases:
//   - per axis, in double: scale = in/out, filterscale = max(scale, 1), support = filter support ×
//     filterscale; output i is centred at (i + 0.5)·scale and reads source pixels
//     [trunc(center − support + 0.5), trunc(center + support + 0.5)) clamped to the image, each
//     weighted filter((x − center + 0.5) · (1/filterscale)); the weights are divided by their sum
//     (the window is truncated at the edges and renormalised — no edge replication);
//   - the weights become int32 fixed point with 22 fractional bits, rounded half away from zero;
//     each output channel is (2^21 + Σ pixel·weight) >> 22 clamped to [0, 255];
//   - two separable passes with a uint8 image in between. Horizontal first, except when the height
//     shrinks by more than twice as many pixels as the width does ((in_h − out_h) > 0 and
//     (in_h − out_h) > 2·(in_w − out_w)): then vertical first. The order changes the rounding of
//     the intermediate image, so it is part of the contract. This rule is recent (Pillow PR #9549,
//     2026); older Pillow always runs the horizontal pass first, so tall images
//     shrunk in height differ by a level here and there between Pillow versions;
//   - an axis whose size does not change is not resampled; same size both ways is a copy.
// Pillow's `reducing_gap` (a cheap integer pre-reduction) is not applied: HF's resize passes
// reducing_gap=None, so Image.resize resamples the full image in one go, as this file does.
//
// Work is split over output rows with parallel_for; every output byte is computed by one thread
// from the same integers, so results do not depend on the thread count.
#pragma once
#include <stdbool.h>
#include "image/image.h"
#include "base/error.h"

// PIL's Image.Resampling codes: the `resample` field of HF preprocessor configs holds these numbers.
typedef enum {
    RESAMPLE_NEAREST = 0,    // not a convolution: unsupported here (image_resize refuses it)
    RESAMPLE_LANCZOS = 1,    // support 3, windowed sinc
    RESAMPLE_BILINEAR = 2,   // support 1, triangle (Grounding DINO's processor)
    RESAMPLE_BICUBIC = 3,    // support 2, Keys cubic with a = -0.5 (CLIP / LLaVA-1.5)
    RESAMPLE_BOX = 4,        // support 0.5
    RESAMPLE_HAMMING = 5,    // support 1, Hamming-windowed sinc
} ResampleFilter;

// "BICUBIC", ... for a PIL code, "unknown" otherwise.
const char *resample_filter_name(int code);
// true for the codes image_resize implements (LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING).
bool resample_filter_supported(int code);

// Largest output image (or window) image_resize accepts, in pixels: the decoder's default limit.
#define RESAMPLE_MAX_PIXELS IMAGE_DEFAULT_MAX_PIXELS

// Resizes src (w, h >= 1) to out_w x out_h into *out (a new image; free with image_free).
// false + err (one line) for an unsupported filter, a size < 1 or over RESAMPLE_MAX_PIXELS.
bool image_resize(Image *out, const Image *src, int out_w, int out_h, ResampleFilter filter, LpoiErr *err);

// The same resize, but only the window [x0, x0 + win_w) x [y0, y0 + win_h) of the out_w x out_h
// result is computed (into a new win_w x win_h image). Every pixel equals the one image_resize
// gives (same coefficients, same pass order, chosen from the full sizes); pixels outside the
// window are never computed. The window must lie inside the output (false + err otherwise); only
// the window counts against RESAMPLE_MAX_PIXELS, so out_w x out_h may be far larger.
// This is how a resize followed by a centre crop costs only the crop.
bool image_resize_window(Image *out, const Image *src, int out_w, int out_h, ResampleFilter filter,
                         int x0, int y0, int win_w, int win_h, LpoiErr *err);

// Whether Pillow runs the horizontal pass first for this size change (exposed for tests).
bool resample_horizontal_first(int in_w, int in_h, int out_w, int out_h);
