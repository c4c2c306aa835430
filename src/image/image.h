// image.h — the RGB8 image type, decoding (stb_image) and PNG encoding (zlib).
//
// Every image in lpoi is 8-bit RGB, row-major, interleaved: the shape is (H, W, 3) and pixel (x, y)
// channel c lives at data[((size_t)y * w + x) * 3 + c]. Whatever the file holds is converted to that
// on load exactly as HF/PIL `Image.open(f).convert("RGB")` does for it: grey → R = G = B = grey,
// grey+alpha and RGBA → alpha dropped (NOT composited on a background), palette → palette colours,
// 16-bit grey PNG → min(value, 255) (PIL's I;16 → RGB clips), other 16-bit channels → their high
// byte, GIF → its first frame. (transformers' CLIP/LLaVA processors composite alpha onto white
// instead: model inputs load through image_decode_raw_* + preprocess_to_rgb, i.e. preprocess_load_image.)
//
// Decoding treats the file as hostile: the size of the file and the pixel count named by its header
// are checked (stbi_info) BEFORE any pixel is decoded, so a 100000 x 100000 header costs nothing but
// a one-line error. Every error is one line "<name>: <reason>" in an LpoiErr; nothing aborts.
//
// Known differences from PIL (documented, not bugs): stb_image's JPEG decoder (IDCT, chroma
// upsampling) is not libjpeg-turbo's, so JPEG pixels can differ from PIL's by a few levels (at most
// 2 on the test images); EXIF orientation is not applied (PIL's Image.open does not apply it either;
// transformers' load_image does); transparent pixels of a GIF frame decode as black where PIL gives
// the palette colour of the transparent index.
// Formats: PNG, JPEG (baseline and progressive), BMP, GIF, PNM (binary P5/P6 with maxval 255).
// TGA, PSD and HDR are disabled on purpose: TGA has no magic number, so random bytes could
// "decode" as an image.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"

typedef struct {
    int w, h;         // W, H: width and height in pixels, both >= 1 for a valid image
    uint8_t *data;    // (H, W, 3) RGB8, row-major; owned (image_free)
} Image;

// Limits applied before decoding. Zero fields mean "use the default".
#define IMAGE_DEFAULT_MAX_PIXELS     (64ull << 20)   // 64 Mpx (an 8192 x 8192 image)
#define IMAGE_DEFAULT_MAX_FILE_BYTES (512ull << 20)  // 512 MiB of encoded data
typedef struct {
    uint64_t max_pixels;      // W * H above this is refused (default IMAGE_DEFAULT_MAX_PIXELS)
    uint64_t max_file_bytes;  // encoded size above this is refused (default IMAGE_DEFAULT_MAX_FILE_BYTES)
} ImageLimits;

// A zero-filled (black) W x H image. W, H >= 1 and W * H * 3 must fit in memory (asserted: callers
// pass sizes they computed, never unchecked file content). Dies on out-of-memory like malloc_check.
Image image_new(int w, int h);
Image image_clone(const Image *src);
void  image_free(Image *img);                // frees data, zeroes the struct; NULL-safe
static inline uint8_t *image_pixel(const Image *img, int x, int y) {
    return img->data + ((size_t)y * (size_t)img->w + (size_t)x) * 3;
}
// true when both images have the same size and identical pixels.
bool image_equal(const Image *a, const Image *b);

// Decodes [buf, buf+size) into *out (which the caller later frees with image_free). `name` is what
// error messages call the data (a file name, "<memory>"). limits may be NULL (defaults).
// On failure *out is left empty ({0}) and err holds "<name>: <reason>".
bool image_decode_memory(Image *out, const void *buf, size_t size, const char *name,
                         const ImageLimits *limits, LpoiErr *err);
// Reads and decodes a file; errors name the path.
bool image_decode_file(Image *out, const char *path, const ImageLimits *limits, LpoiErr *err);
// The pixels as transformers' convert_to_rgb sees them (PIL's mode before its convert("RGBA") →
// alpha_composite onto white → "RGB"), for preprocess_load_image: channels 1 grey (L), 2 grey+alpha
// (LA, or L with a PNG tRNS grey key: stb expands the key to alpha 0/255, as PIL's convert("RGBA")
// does), 3 RGB, 4 RGBA (PNG RGBA, palette PNG with tRNS, and every GIF: stb leaves the first
// frame's transparent pixels (0, 0, 0, 0)). Kept as RGB on purpose, because HF never composites them: an RGB
// PNG's tRNS key (PIL keeps mode "RGB", which convert_to_rgb returns unchanged) and BMP (PIL reads
// 32-bit BI_RGB as BGRX = RGB; stb would call the X byte alpha). 16-bit grey is clipped to 1 channel
// as above (its tRNS key, if any, is ignored); other 16-bit PNGs keep their high bytes. Same checks,
// limits and errors as image_decode_memory (one shared path).
typedef struct {
    int w, h, channels;   // W, H >= 1; C in 1..4
    uint8_t *data;        // (H, W, C) uint8, row-major; owned (raw_image_free)
} RawImage;
bool image_decode_raw_memory(RawImage *out, const void *buf, size_t size, const char *name,
                             const ImageLimits *limits, LpoiErr *err);
bool image_decode_raw_file(RawImage *out, const char *path, const ImageLimits *limits, LpoiErr *err);
void raw_image_free(RawImage *img);   // NULL-safe
// Reads only the header: width, height and the number of channels stored in the file (1 grey,
// 2 grey+alpha, 3 RGB, 4 RGBA). Applies the same limits as decoding.
bool image_probe_memory(const void *buf, size_t size, const char *name, const ImageLimits *limits,
                        int *w, int *h, int *channels, LpoiErr *err);

// ---- PNG output (png_write.c) ----
// Encodes img as an 8-bit RGB PNG (colour type 2, no interlace, per-row adaptive filter chosen by
// the minimum sum of absolute differences, zlib deflate at `level` 0..9, or -1 for zlib's default).
// *out is malloc'ed; the caller frees it. Fails (err) only on absurd sizes or a zlib error.
bool png_encode(const Image *img, int level, uint8_t **out, size_t *out_size, LpoiErr *err);
// Encodes with zlib level 1 and writes atomically (temp file, fsync, rename): a crash leaves the old
// file or the new one, never a partial PNG. Errors name the path. Level 1 because negatives are
// written by the thousand: on a 1024 x 768 photograph it is ~5x faster than level 6 (64 vs 300 ms)
// for a file ~10% larger.
bool image_write_png(const Image *img, const char *path, LpoiErr *err);
