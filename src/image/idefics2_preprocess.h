// idefics2_preprocess.h — HF Idefics2ImageProcessor (the PIL backend, Idefics2ImageProcessorPil of
// transformers 5.24) on RGB8 images: images → pixel_values + pixel_attention_mask, bit-exact.
//
// Order (Idefics2ImageProcessorPil._preprocess), all on uint8 until the rescale:
//   convert to RGB     as CLIP's (preprocess_to_rgb: alpha composited onto WHITE); callers load model
//                      inputs with preprocess_load_image
//   split              do_image_splitting: the four quarters [:H//2, :W//2], [:H//2, W//2:],
//                      [H//2:, :W//2], [H//2:, W//2:] (odd sizes: the right/bottom ones are one pixel
//                      larger), then the whole image: 5 images per input image, split BEFORE the resize
//   resize             size {"shortest_edge": S, "longest_edge": L} (get_resize_output_image_size):
//                      a side over L is brought to L keeping the aspect ratio (the other side
//                      int(L / (w / h)) or int(L · (w / h)) in float64, truncated), then EACH side is
//                      raised to at least S on its own (small images get stretched, not scaled); or
//                      {"height", "width"}: exactly that. Pillow resize (resample.h; BILINEAR by default)
//   rescale, normalise float32(float64(v) · rescale_factor), then float32 (x − mean) / std (mean/std 0.5)
//   pad                do_pad: every image of the batch into the largest H and the largest W (separately)
//                      of the batch, at the top left, zeros (0.0, after normalising) elsewhere;
//                      samples with fewer images get all-zero images (mask all 0)
// Output: pixel_values [B, N, 3, H, W] float32 and pixel_attention_mask [B, N, H, W] (1 = a real
// pixel). Equal to HF's exactly (the golden cases measure 0 difference).
// Not bit-exact with the torchvision backend ("Idefics2ImageProcessor" resolves to it when
// torchvision is installed): it resizes float tensors with antialiasing.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "image/image.h"
#include "image/resample.h"
#include "base/json.h"
#include "base/error.h"

#define IDEFICS2_SPLIT_COUNT 5   // do_image_splitting: four quarters plus the whole image

typedef struct {
    bool do_convert_rgb, do_resize, do_rescale, do_normalize, do_pad, do_image_splitting;
    int shortest_edge, longest_edge;   // size {"shortest_edge", "longest_edge"}; 0 when height/width is used
    int size_h, size_w;                // size {"height", "width"}; 0 when the edges are used
    ResampleFilter resample;           // PIL code (2 = BILINEAR)
    double rescale_factor;             // 1/255
    double mean[3], std[3];            // image_mean, image_std (0.5, IMAGENET_STANDARD)
} Idefics2ImageConfig;

// The class defaults (Idefics2ImageProcessorPil): edges 378/980, BILINEAR, 1/255, mean/std 0.5,
// every do_* on except do_image_splitting.
Idefics2ImageConfig idefics2_image_config_default(void);
// A parsed preprocessor_config.json object: image_processor_type must name Idefics2ImageProcessor
// (or its Pil/Fast forms); other keys than the ones read are ignored, as HF ignores them. Values lpoi
// cannot reproduce (another size rule, an unsupported filter, a zero std) are errors naming the key,
// "<what>: \"key\" ...".
bool idefics2_image_config_from_json(Idefics2ImageConfig *cfg, const JsonValue *obj, const char *what, LpoiErr *err);
// <path>: a preprocessor_config.json or a model folder holding one. Errors name the file.
bool idefics2_image_config_load(Idefics2ImageConfig *cfg, const char *path, LpoiErr *err);

// A model folder's processor: preprocessor_config.json, else the "image_processor" object of
// processor_config.json (where transformers 5 save_pretrained writes it).
bool idefics2_image_config_load_dir(Idefics2ImageConfig *cfg, const char *dir, LpoiErr *err);

// The size an in_w x in_h image (or crop) is resized to (the input size when do_resize is off).
bool idefics2_resize_size(const Idefics2ImageConfig *cfg, int in_w, int in_h, int *out_w, int *out_h, LpoiErr *err);

// The uint8 images one input image becomes (split if on, then resized): out[0..*n), *n = 1 or 5.
// Free each with image_free.
bool idefics2_image_u8(const Idefics2ImageConfig *cfg, const Image *rgb, Image out[IDEFICS2_SPLIT_COUNT], int *n,
                       LpoiErr *err);

typedef struct {
    int n_samples;                   // B
    int n_images;                    // N: images per sample, the largest count (after splitting)
    int h, w;                        // H, W: the padded size
    int *count;                      // [B] the real images of each sample (the rest are padding)
    float *pixel_values;             // [B, N, 3, H, W]
    uint8_t *pixel_attention_mask;   // [B, N, H, W]: 1 where a real pixel is
} Idefics2Pixels;
void idefics2_pixels_free(Idefics2Pixels *px);

// A batch: sample b holds images[b][0..counts[b]) (RGB, as preprocess_to_rgb makes them); counts[b]
// may be 0. Without do_pad every processed image must have the same size and every sample the same
// count (HF returns a ragged list otherwise), and the mask is all ones.
bool idefics2_preprocess(const Idefics2ImageConfig *cfg, const Image *const *images, const int *counts, int n_samples,
                         Idefics2Pixels *out, LpoiErr *err);
