// dino_preprocess.h — HF GroundingDinoImageProcessor (the PIL backend, GroundingDinoImageProcessorPil)
// on RGB8 images: images → pixel_values + pixel_mask for Grounding DINO, bit-exact with
// transformers 5.24 + Pillow 13 (tools/golden_gdino_preprocess.py; the values are identical).
//
// Per image, on uint8 until the rescale (as preprocess.h):
//   resize      size {"shortest_edge": E, "longest_edge": M} (800, 1333), HF's
//               get_size_with_aspect_ratio in float64: if long/short·E > M, E becomes
//               round(M·short/long) (Python's round, half to even) and the long side
//               int(raw·long/short) with raw = M·short/long unrounded; else the long side is
//               int(E·long/short); an image whose short side already equals E is left as it is.
//               Pillow's resize with the configured filter (BILINEAR) and its antialiasing
//               (resample.h)
//   rescale, normalise   float32(float64(v)·rescale_factor), then (x − mean)/std in float32
// Batch: pixel_values [B, 3, H, W] with H, W the largest resized height and width; each image at the
// top left, ZEROS after it (padding happens after the normalisation, so a pad is 0.0, not black);
// pixel_mask [B, H, W]: 1 on the image, 0 on the padding (do_pad). do_pad false needs one size.
// Refused (one line): another size rule, pad_size, a zero-size or oversized image, a resize to an
// empty side (a 1 x 10000 image: round(1333/10000) = 0).
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"
#include "base/json.h"
#include "image/image.h"
#include "image/resample.h"

typedef struct {
    bool do_resize, do_rescale, do_normalize, do_pad;
    int shortest_edge, longest_edge;   // 800, 1333
    ResampleFilter resample;           // BILINEAR
    double rescale_factor;             // 1/255
    double mean[3], std[3];            // ImageNet
} DinoPreprocessConfig;

// The class defaults (what HF uses for keys the file leaves out).
DinoPreprocessConfig dino_preprocess_default(void);
// A parsed preprocessor_config.json object; err "<what>: <key>: reason" (what names the file).
bool dino_preprocess_config_from_json(DinoPreprocessConfig *cfg, const JsonValue *obj, const char *what, LpoiErr *err);
// <path>: a preprocessor_config.json or a folder holding one. Errors name the file.
bool dino_preprocess_config_load(DinoPreprocessConfig *cfg, const char *path, LpoiErr *err);

// The resized size of an in_w x in_h image (false + err for an empty input or output).
bool dino_resize_size(const DinoPreprocessConfig *cfg, int in_w, int in_h, int *out_w, int *out_h, LpoiErr *err);

typedef struct {
    int b, h, w;            // batch, padded height and width
    float *pixel_values;    // [B, 3, H, W]
    uint8_t *pixel_mask;    // [B, H, W]: 1 = image, 0 = padding
    int (*sizes)[2];        // [B]: each image's (h, w) after resizing (the part pixel_mask marks)
} DinoBatch;
void dino_batch_free(DinoBatch *b);

// The whole processor on n RGB images (preprocess_load_image reads files as transformers does).
bool dino_preprocess_batch(const DinoPreprocessConfig *cfg, const Image *const *rgb, size_t n, DinoBatch *out,
                           LpoiErr *err);
