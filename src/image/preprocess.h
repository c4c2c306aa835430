// preprocess.h — HF CLIPImageProcessor / LlavaImageProcessor (the PIL backend) on RGB8 images:
// the image → pixel_values step of LLaVA-1.5, bit-exact with transformers 5.24 + Pillow 13.0.
//
// Order (PilBackend._preprocess, LlavaImageProcessorPil._preprocess), all on uint8 until the rescale:
//   convert to RGB        grey → RGB; alpha (LA, RGBA) composited onto WHITE with Pillow's integer
//                         alpha_composite (transformers 5.24 convert_to_rgb). image_decode_* drop
//                         alpha instead, so model inputs are read with preprocess_load_image: raw
//                         channels, then this composite
//   pad to square         LLaVA with do_pad only: a max(W,H) square of colour int(mean·255) per channel
//                         ((122, 116, 104) for the OpenAI mean), the image at offset (max−dim)//2
//   resize                Pillow Image.resize (resample.h) to size {"shortest_edge": E}: the short side
//                         becomes E, the long side int(E·long/short) (truncated); or to {"height","width"}
//   centre crop           top = (H − crop_h)//2, left = (W − crop_w)//2 (floor); where the image is
//                         smaller than the crop, zero (black) pixels fill the rest, the image at
//                         ceil((crop − dim)/2) — the same floor formula with negative offsets
//   rescale               float32(float64(v) · rescale_factor)
//   normalize             float32 (x − float32(mean)) / float32(std), per channel
// Output: pixel_values float32 [3, H, W] (CHW). With every step on, pixel values equal HF's exactly
// (the golden cases measure 0 difference; they allow 1e-6).
// The resize and the crop are fused: only the cropped window of the resized image is computed
// (image_resize_window gives exactly the pixels a full resize would).
// Not bit-exact with transformers' torchvision backend ("CLIPImageProcessor" resolves to it in 5.x
// when torchvision is installed): that one resizes float tensors with antialiasing.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "image/image.h"
#include "image/resample.h"
#include "base/json.h"
#include "base/error.h"

typedef enum {
    PREPROCESS_CLIP,     // CLIPImageProcessor (llava-hf's llava-1.5 checkpoints ship this one)
    PREPROCESS_LLAVA,    // LlavaImageProcessor: CLIP plus the optional pad-to-square (do_pad)
} PreprocessKind;

#define PREPROCESS_MAX_SIZE 16384   // bound on size / crop sizes read from a config

typedef struct {
    PreprocessKind kind;
    bool do_convert_rgb, do_resize, do_center_crop, do_rescale, do_normalize;
    bool do_pad;                 // LLaVA pad-to-square (only valid for PREPROCESS_LLAVA)
    int shortest_edge;           // size {"shortest_edge": E}; 0 when size is {"height", "width"}
    int size_h, size_w;          // size {"height": H, "width": W}; 0 when shortest_edge is used
    int crop_h, crop_w;          // crop_size
    ResampleFilter resample;     // PIL code (3 = BICUBIC for CLIP)
    double rescale_factor;       // 1/255
    double mean[3], std[3];      // image_mean, image_std (RGB)
} PreprocessConfig;

// The class defaults HF uses for keys a config leaves out (CLIP and LLaVA share them: shortest edge
// 224, crop 224x224, BICUBIC, 1/255, OpenAI CLIP mean/std, every do_* on, do_pad off).
PreprocessConfig preprocess_config_default(PreprocessKind kind);
// Reads a parsed preprocessor_config.json object: image_processor_type (or the older
// feature_extractor_type) must name CLIP or LLaVA; size, crop_size, resample, rescale_factor,
// image_mean, image_std, do_*; other keys are ignored, as HF ignores them. Values lpoi cannot
// reproduce exactly (another filter, size with longest_edge, do_pad on CLIP, channels_last, ...)
// are errors naming the key. err: "<key>: <reason>" (callers prefix the file name).
bool preprocess_config_from_json(PreprocessConfig *cfg, const JsonValue *obj, LpoiErr *err);
// Loads <path> (a preprocessor_config.json, or a model folder that holds one). Errors name the file.
bool preprocess_config_load(PreprocessConfig *cfg, const char *path, LpoiErr *err);
// A model folder's processor: preprocessor_config.json, else the "image_processor" object of
// processor_config.json (where transformers 5 writes it).
bool preprocess_config_load_dir(PreprocessConfig *cfg, const char *dir, LpoiErr *err);

// Sizes after each geometric step, for an in_w x in_h input (false + err if a side would exceed
// int range, e.g. a 1 x 10^7 image with shortest_edge 336). With the centre crop on, only the crop
// is ever materialised, so a huge intermediate size is fine; without it the resized image must fit
// RESAMPLE_MAX_PIXELS (preprocess_image_u8 fails otherwise).
bool preprocess_resize_size(const PreprocessConfig *cfg, int in_w, int in_h, int *out_w, int *out_h, LpoiErr *err);
bool preprocess_output_size(const PreprocessConfig *cfg, int in_w, int in_h, int *out_w, int *out_h, LpoiErr *err);

// transformers' convert_to_rgb on H x W x C uint8 pixels (C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA).
bool preprocess_to_rgb(Image *out, const uint8_t *pixels, int w, int h, int channels, LpoiErr *err);
// A model input file as transformers sees it: image_decode_raw_file, then preprocess_to_rgb (alpha
// composited onto white). limits may be NULL. Use this, not image_decode_file, for pixel_values.
bool preprocess_load_image(Image *out, const char *path, const ImageLimits *limits, LpoiErr *err);
// The pad colour: int(mean[c] · 255) (false + err when outside [0, 255]).
bool preprocess_pad_color(const PreprocessConfig *cfg, uint8_t rgb[3], LpoiErr *err);
// LLaVA's pad_to_square: a new max(w,h)² image of colour bg with img centred ((max − dim)//2).
Image preprocess_pad_square(const Image *img, const uint8_t bg[3]);
// HF center_crop on uint8 (zero fill where the crop extends past the image).
Image preprocess_center_crop(const Image *img, int crop_w, int crop_h);

// The geometric part: pad (if on), resize (if on), crop (if on) → *out, the uint8 image that gets
// rescaled and normalised. The crop window alone is resampled.
bool preprocess_image_u8(const PreprocessConfig *cfg, const Image *rgb, Image *out, LpoiErr *err);
// Rescale and normalise img (W x H) into chw[3 * H * W].
void preprocess_normalize(const PreprocessConfig *cfg, const Image *img, float *chw);

typedef struct {
    int c, h, w;        // 3, H, W
    float *data;        // [C, H, W], owned (pixel_values_free)
} PixelValues;
void pixel_values_free(PixelValues *pv);

// The whole pipeline on an RGB image (decoded by image.h, or made by preprocess_to_rgb).
bool preprocess_image(const PreprocessConfig *cfg, const Image *rgb, PixelValues *out, LpoiErr *err);
