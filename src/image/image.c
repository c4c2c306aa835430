// image.c — RGB8 images: allocation, and decoding with stb_image behind hostile-input checks.
// Order of checks for every decode: encoded size (empty, over the limit, over stb's int range) →
// format by magic number → JPEG marker structure (complete, sane Huffman tables), PNG chunk lengths
// within the file, PNM header and length → header only (PNG's IHDR read directly, then stbi_info: width, height) → pixel-count
// limit → structural completeness of BMP and GIF → the decode (stbi_load_from_memory, 3 channels).
// The completeness checks exist because stb silently pads missing data (JPEG grey, BMP/GIF zeros,
// PNM uninitialised memory) where PIL refuses the file as truncated; so do we.
#include "image/image.h"
#include "base/check.h"
#include "base/file.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stb/stb_image.h>

Image image_new(int w, int h) {
    LPOI_ASSERT(w > 0 && h > 0);
    size_t n;
    LPOI_ASSERT(size_mul_ok((size_t)w, (size_t)h, &n) && size_mul_ok(n, 3, &n));
    return (Image){.w = w, .h = h, .data = calloc_check(n, 1)};
}

Image image_clone(const Image *src) {
    Image img = image_new(src->w, src->h);
    memcpy(img.data, src->data, (size_t)src->w * (size_t)src->h * 3);
    return img;
}

void image_free(Image *img) {
    if (!img) return;
    free(img->data);
    *img = (Image){0};
}

bool image_equal(const Image *a, const Image *b) {
    return a->w == b->w && a->h == b->h &&
           memcmp(a->data, b->data, (size_t)a->w * (size_t)a->h * 3) == 0;
}

// ---------------------------------------------------------------------------------------------
// completeness checks (run after the header was accepted, before decoding)

static uint32_t rd_u16le(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd_u32le(const uint8_t *p) { return rd_u16le(p) | rd_u16le(p + 2) << 16; }

// JPEG: walk the marker segments from SOI to EOI, skipping entropy-coded data after each SOS.
// stb_image decodes a truncated scan as grey without complaint; libjpeg/PIL call it truncated.
// Huffman tables (DHT) are validated on the way, as stb does not bound their code counts.
static const char *jpeg_check_complete(const uint8_t *p, size_t n) {
    size_t i = 2;   // after SOI (stbi_info verified it)
    for (;;) {
        while (i < n && p[i] != 0xFF) i++;           // stray bytes between segments (libjpeg skips them)
        while (i < n && p[i] == 0xFF) i++;           // fill bytes
        if (i >= n) return "truncated JPEG (no end-of-image marker)";
        uint8_t m = p[i++];
        if (m == 0xD9) return NULL;                  // EOI
        if (m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;   // standalone markers
        if (n - i < 2) return "truncated JPEG (segment header cut off)";
        size_t len = (size_t)p[i] << 8 | p[i + 1];
        if (len < 2) return "corrupt JPEG (segment length < 2)";
        if (n - i < len) return "truncated JPEG (segment cut off)";
        if (m == 0xC4) {   // DHT: stb_image 2.27 writes past its 257-entry tables when a table
                           // declares more than 256 codes (found by fuzz/fuzz_image.c), so check here
            for (size_t j = i + 2, end = i + len; j < end;) {
                if (end - j < 17) return "corrupt JPEG (Huffman table header cut off)";
                size_t codes = 0;
                for (int c = 1; c <= 16; c++) codes += p[j + (size_t)c];
                if (codes > 256) return "corrupt JPEG (Huffman table with more than 256 codes)";
                if (end - j - 17 < codes) return "corrupt JPEG (Huffman table longer than its segment)";
                j += 17 + codes;
            }
        }
        i += len;
        if (m != 0xDA) continue;
        // Entropy-coded data: ends at the first marker that is not a stuffed 0xFF00 or an RSTn.
        for (;;) {
            if (n - i < 2) return "truncated JPEG (scan data cut off)";
            if (p[i] == 0xFF) {
                uint8_t q = p[i + 1];
                if (q == 0x00 || (q >= 0xD0 && q <= 0xD7)) { i += 2; continue; }
                if (q == 0xFF) { i++; continue; }
                break;                               // a real marker: back to the segment loop
            }
            i++;
        }
    }
}

// BMP with uncompressed rows: the file must hold offset + stride * |height| bytes. stb reads
// missing rows as zeros.
static const char *bmp_check_complete(const uint8_t *p, size_t n) {
    if (n < 26) return "truncated BMP (header cut off)";
    uint64_t off = rd_u32le(p + 10), hsz = rd_u32le(p + 14);
    uint64_t w, h, bpp, comp;
    if (hsz == 12) {
        w = rd_u16le(p + 18); h = rd_u16le(p + 20); bpp = rd_u16le(p + 24); comp = 0;
    } else {
        if (n < 34) return "truncated BMP (header cut off)";
        int32_t sw = (int32_t)rd_u32le(p + 18), sh = (int32_t)rd_u32le(p + 22);
        w = sw < 0 ? (uint64_t)(-(int64_t)sw) : (uint64_t)sw;
        h = sh < 0 ? (uint64_t)(-(int64_t)sh) : (uint64_t)sh;
        bpp = rd_u16le(p + 28); comp = rd_u32le(p + 30);
    }
    if (comp != 0 && comp != 3 && comp != 6) return NULL;   // not raw rows: leave it to stb
    // w, h <= 2^31 and bpp < 2^16: no overflow in 64 bits.
    uint64_t stride = (w * bpp + 31) / 32 * 4, need = off + stride * h;
    if (need > n) return "truncated BMP (pixel rows cut off)";
    return NULL;
}

// GIF: the first image's LZW data (a chain of sub-blocks ending in a 0-length block) must be whole.
static const char *gif_check_complete(const uint8_t *p, size_t n) {
    size_t i = 13;
    if (n < i) return "truncated GIF (header cut off)";
    if (p[10] & 0x80) i += 3 * ((size_t)2 << (p[10] & 7));
    for (;;) {
        if (i >= n) return "truncated GIF (no image data)";
        uint8_t b = p[i++];
        if (b == 0x3B) return "GIF has no image (trailer before the first frame)";
        bool image = b == 0x2C;
        if (b == 0x21) {
            i++;                                     // extension label
        } else if (image) {
            if (n - i < 10) return "truncated GIF (image descriptor cut off)";
            uint8_t fl = p[i + 8];
            i += 9;
            if (fl & 0x80) i += 3 * ((size_t)2 << (fl & 7));
            i++;                                     // LZW minimum code size
        } else {
            return "corrupt GIF (unknown block)";
        }
        for (;;) {                                   // sub-blocks
            if (i >= n) return "truncated GIF (data cut off)";
            size_t s = p[i++];
            if (s == 0) break;
            if (n - i < s) return "truncated GIF (data cut off)";
            i += s;
        }
        if (image) return NULL;
    }
}

static bool check_limit(const char *name, uint64_t w, uint64_t h, uint64_t max_px, LpoiErr *err);

// PNG: every chunk must lie inside the file. stb trusts an IDAT's length field and grows its
// buffer to it before noticing the data is missing (a 60-byte file can ask for 2 GiB).
static const char *png_check_chunks(const uint8_t *p, size_t n) {
    size_t i = 8;
    while (n - i >= 12) {
        uint32_t len = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
        if (len > 0x7FFFFFFFu) return "corrupt PNG (chunk length above 2^31 - 1)";
        if (n - i - 12 < len) return "truncated PNG (chunk cut off)";
        if (!memcmp(p + i + 4, "IEND", 4)) return NULL;
        i += 12 + (size_t)len;
    }
    return i == n ? NULL : "truncated PNG (chunk header cut off)";
}

// PNG (chunks already checked by png_check_chunks) without its empty IDAT chunks: malloc'ed copy
// (*n_out bytes), or NULL when it has none. An empty IDAT carries no bytes of the zlib stream, and
// Pillow reads a PNG with one; stb, given one before the image data, copies 0 bytes into its
// still-NULL buffer (memcpy(NULL, ..., 0): undefined behaviour that UBSan reports), so stb is given
// the file without them.
static uint8_t *png_without_empty_idat(const uint8_t *p, size_t n, size_t *n_out) {
    uint8_t *out = NULL;
    size_t o = 0;
    for (size_t i = 8; n - i >= 12;) {
        uint32_t len = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
        bool empty_idat = len == 0 && !memcmp(p + i + 4, "IDAT", 4);
        if (empty_idat && !out) {   // the first one: copy everything before it
            out = malloc_check(n);
            memcpy(out, p, i);
            o = i;
        } else if (!empty_idat && out) {
            memcpy(out + o, p + i, 12 + (size_t)len);
            o += 12 + (size_t)len;
        }
        if (!memcmp(p + i + 4, "IEND", 4)) break;
        i += 12 + (size_t)len;
    }
    *n_out = o;
    return out;
}


// PNM (P5/P6): header "P6 <w> <h> <maxval>" (whitespace, '#' comments), ONE whitespace byte, then
// raw samples. Checked whole before stb sees the file: stb's header parser overflows int on long
// numbers (found by fuzz/fuzz_image.c), and its decoder ignores a short read and returns
// uninitialised memory. Only maxval 255 is accepted: stb does not rescale other maxvals (PIL does).
static bool pnm_check(const uint8_t *p, size_t n, const char *name, uint64_t max_px, LpoiErr *err) {
    size_t i = 2;
    uint64_t v[3];
    for (int f = 0; f < 3; f++) {
        for (;;) {   // whitespace and comments, as stb skips them
            while (i < n && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r'))) i++;
            if (i < n && p[i] == '#') { while (i < n && p[i] != '\n' && p[i] != '\r') i++; continue; }
            break;
        }
        if (i >= n || p[i] < '0' || p[i] > '9') return err_set(err, "%s: truncated or corrupt PNM header", name);
        v[f] = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            v[f] = v[f] * 10 + (uint64_t)(p[i++] - '0');
            if (v[f] > 1u << 30) return err_set(err, "%s: corrupt PNM header (number too large)", name);
        }
    }
    if (!check_limit(name, v[0], v[1], max_px, err)) return false;
    if (v[2] != 255) return err_set(err, "%s: unsupported PNM maxval %llu (only 255 is read exactly like PIL)",
                                    name, (unsigned long long)v[2]);
    if (i >= n) return err_set(err, "%s: truncated PNM (no pixel data)", name);
    i++;   // the single whitespace byte after maxval
    uint64_t need = v[0] * v[1] * (p[1] == '6' ? 3 : 1);   // <= 2^30 * 2^30 * 3: no overflow
    if (n - i < need) return err_set(err, "%s: truncated PNM (pixel data cut off)", name);
    return true;
}

// ---------------------------------------------------------------------------------------------

// stb's reason as printable ASCII: "XXXX PNG chunk not known" carries 4 bytes from the file.
static const char *stb_reason(void) {
    static _Thread_local char buf[96];
    const char *r = stbi_failure_reason();
    if (!r || !*r) return "corrupt image (stb_image gave no reason)";
    size_t i = 0;
    for (; r[i] && i + 1 < sizeof buf; i++) buf[i] = r[i] >= 0x20 && r[i] < 0x7F ? r[i] : '?';
    buf[i] = 0;
    return buf;
}

// The format by its magic number (stb_image's own detection is not told apart from corruption).
static const char *sniff_format(const uint8_t *p, size_t n) {
    if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return "JPEG";
    if (n >= 2 && p[0] == 'B' && p[1] == 'M') return "BMP";
    if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6))) return "GIF";
    if (n >= 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '7') return "PNM";
    return NULL;
}

static bool check_limit(const char *name, uint64_t w, uint64_t h, uint64_t max_px, LpoiErr *err) {
    if (w == 0 || h == 0) return err_set(err, "%s: image has no pixels (%llu x %llu)", name,
                                         (unsigned long long)w, (unsigned long long)h);
    uint64_t px = w * h;   // both < 2^32
    if (px > max_px)
        return err_set(err, "%s: %llu x %llu image (%llu pixels) is larger than the limit of %llu pixels", name,
                       (unsigned long long)w, (unsigned long long)h, (unsigned long long)px, (unsigned long long)max_px);
    return true;
}

bool image_probe_memory(const void *buf, size_t size, const char *name, const ImageLimits *limits,
                        int *w_out, int *h_out, int *channels_out, LpoiErr *err) {
    uint64_t max_px = limits && limits->max_pixels ? limits->max_pixels : IMAGE_DEFAULT_MAX_PIXELS;
    uint64_t max_bytes = limits && limits->max_file_bytes ? limits->max_file_bytes : IMAGE_DEFAULT_MAX_FILE_BYTES;
    const uint8_t *p = buf;
    if (size == 0) return err_set(err, "%s: empty file, not an image", name);
    if (size > max_bytes || size > (size_t)INT_MAX)
        return err_set(err, "%s: %zu bytes of encoded image, more than the limit of %llu", name, size,
                       (unsigned long long)LPOI_MIN(max_bytes, (uint64_t)INT_MAX));
    const char *fmt = sniff_format(p, size);
    if (!fmt) return err_set(err, "%s: not a PNG, JPEG, BMP, GIF or PNM image (unrecognised format)", name);
    if (!strcmp(fmt, "PNM") && p[1] != '5' && p[1] != '6')
        return err_set(err, "%s: unsupported PNM variant P%c (only binary P5/P6 are read)", name, p[1]);
    // JPEG: the whole marker structure is checked before stb reads anything (its header parser
    // already builds Huffman tables, see jpeg_check_complete).
    if (!strcmp(fmt, "JPEG")) {
        const char *why = jpeg_check_complete(p, size);
        if (why) return err_set(err, "%s: %s", name, why);
    }
    if (!strcmp(fmt, "PNM") && !pnm_check(p, size, name, max_px, err)) return false;
    if (!strcmp(fmt, "PNG")) {
        const char *why = png_check_chunks(p, size);
        if (why) return err_set(err, "%s: %s", name, why);
    }
    // PNG: the size is at a fixed place, and stb refuses > 2^30 bytes before saying how big.
    if (!strcmp(fmt, "PNG") && size >= 24 && !memcmp(p + 12, "IHDR", 4)) {
        uint64_t w = (uint64_t)p[16] << 24 | p[17] << 16 | p[18] << 8 | p[19];
        uint64_t h = (uint64_t)p[20] << 24 | p[21] << 16 | p[22] << 8 | p[23];
        if (!check_limit(name, w, h, max_px, err)) return false;
    }
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(buf, (int)size, &w, &h, &comp))
        return err_set(err, "%s: corrupt or unsupported %s header (stb_image cannot read it)", name, fmt);
    if (w <= 0 || h <= 0) return err_set(err, "%s: image has no pixels (%d x %d)", name, w, h);
    if (!check_limit(name, (uint64_t)w, (uint64_t)h, max_px, err)) return false;
    *w_out = w; *h_out = h;
    if (channels_out) *channels_out = comp;
    return true;
}

// Does the PNG (chunks already checked by png_check_chunks) carry a tRNS chunk before its first IDAT?
static bool png_has_trns(const uint8_t *p, size_t n) {
    for (size_t i = 8; n - i >= 12;) {
        uint32_t len = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
        if (!memcmp(p + i + 4, "tRNS", 4)) return true;
        if (!memcmp(p + i + 4, "IDAT", 4) || !memcmp(p + i + 4, "IEND", 4)) return false;
        i += 12 + (size_t)len;
    }
    return false;
}

// decode_pixels (below) after its checks: stb on buf.
static bool decode_checked(const void *buf, size_t size, const char *name, bool rgb, bool png, bool bmp, bool gif,
                           int w, int h, int comp, uint8_t **px_out, int *w_out, int *h_out, int *ch_out, LpoiErr *err) {
    const uint8_t *p = buf;
    int w2 = 0, h2 = 0, comp2 = 0;
    if (png && p[24] == 16 && p[25] == 0) {
        // 16-bit grey PNG: PIL opens it as mode I;16 and convert("RGB") clips each value to 255;
        // stb's 8-bit path would take the high byte instead, so decode 16-bit and clip here.
        uint16_t *g = stbi_load_16_from_memory(buf, (int)size, &w2, &h2, &comp2, 1);
        if (!g) return err_set(err, "%s: cannot decode: %s", name, stb_reason());
        if (w2 != w || h2 != h) {
            stbi_image_free(g);
            return err_set(err, "%s: corrupt image (header says %d x %d, decoder produced %d x %d)", name, w, h, w2, h2);
        }
        int ch = rgb ? 3 : 1;
        uint8_t *o = malloc_check((size_t)w * (size_t)h * (size_t)ch);   // <= 3 * 64 Mpx: no overflow
        for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
            memset(o + (size_t)ch * i, g[i] > 255 ? 255 : g[i], (size_t)ch);
        stbi_image_free(g);
        *px_out = o; *w_out = w; *h_out = h; *ch_out = ch;
        return true;
    }
    // The channel count asked of stb (always explicit: with 0, stb returns grey/RGB + a tRNS key as
    // one channel more than the count it reports).
    int ch = 3;
    if (!rgb) {
        if (png) ch = p[25] == 0 && png_has_trns(p, size) ? 2 : comp;   // stbi_info: palette + tRNS = 4
        else if (gif) ch = 4;      // stb: transparent pixels of the first frame are (0, 0, 0, 0)
        else if (!bmp) ch = comp;  // JPEG, PNM: 1 or 3
    }
    uint8_t *px = stbi_load_from_memory(buf, (int)size, &w2, &h2, &comp2, ch);
    if (!px) return err_set(err, "%s: cannot decode: %s", name, stb_reason());
    if (w2 != w || h2 != h) {   // header and decoder disagree: never trust either
        stbi_image_free(px);
        return err_set(err, "%s: corrupt image (header says %d x %d, decoder produced %d x %d)", name, w, h, w2, h2);
    }
    // stb allocates with malloc (STBI_MALLOC default), so the buffer is ours to free() later.
    *px_out = px; *w_out = w; *h_out = h; *ch_out = ch;
    return true;
}

// The one decode path behind image_decode_memory (rgb: 3 channels, alpha dropped) and
// image_decode_raw_memory (rgb false: the channels HF/PIL's convert_to_rgb sees, see image.h).
// *px is malloc'ed (stb uses malloc/calloc) with *channels samples per pixel.
static bool decode_pixels(const void *buf, size_t size, const char *name, const ImageLimits *limits, bool rgb,
                          uint8_t **px_out, int *w_out, int *h_out, int *ch_out, LpoiErr *err) {
    *px_out = NULL;
    int w, h, comp;
    if (!image_probe_memory(buf, size, name, limits, &w, &h, &comp, err)) return false;
    const uint8_t *p = buf;
    const char *why = NULL;
    bool bmp = size >= 2 && p[0] == 'B' && p[1] == 'M', gif = size >= 6 && !memcmp(p, "GIF8", 4);
    bool png = size >= 26 && !memcmp(p, "\x89PNG", 4);
    if (bmp) why = bmp_check_complete(p, size);
    else if (gif) why = gif_check_complete(p, size);
    if (why) return err_set(err, "%s: %s", name, why);

    size_t png_n;
    uint8_t *png_copy = png ? png_without_empty_idat(p, size, &png_n) : NULL;
    if (png_copy) { buf = png_copy; size = png_n; }
    bool ok = decode_checked(buf, size, name, rgb, png, bmp, gif, w, h, comp, px_out, w_out, h_out, ch_out, err);
    free(png_copy);
    return ok;
}

bool image_decode_memory(Image *out, const void *buf, size_t size, const char *name,
                         const ImageLimits *limits, LpoiErr *err) {
    *out = (Image){0};
    int w, h, ch;
    uint8_t *px;
    if (!decode_pixels(buf, size, name, limits, true, &px, &w, &h, &ch, err)) return false;
    *out = (Image){.w = w, .h = h, .data = px};
    return true;
}

bool image_decode_raw_memory(RawImage *out, const void *buf, size_t size, const char *name,
                             const ImageLimits *limits, LpoiErr *err) {
    *out = (RawImage){0};
    RawImage r;
    if (!decode_pixels(buf, size, name, limits, false, &r.data, &r.w, &r.h, &r.channels, err)) return false;
    *out = r;
    return true;
}

void raw_image_free(RawImage *img) {
    if (!img) return;
    free(img->data);
    *img = (RawImage){0};
}

// The file's bytes within limits->max_file_bytes (default IMAGE_DEFAULT_MAX_FILE_BYTES); NULL + err.
static char *read_image_file(const char *path, const ImageLimits *limits, size_t *size, LpoiErr *err) {
    uint64_t max_bytes = limits && limits->max_file_bytes ? limits->max_file_bytes : IMAGE_DEFAULT_MAX_FILE_BYTES;
    *size = 0;
    return file_read_all(path, max_bytes, size, err);
}

bool image_decode_file(Image *out, const char *path, const ImageLimits *limits, LpoiErr *err) {
    *out = (Image){0};
    size_t size;
    char *buf = read_image_file(path, limits, &size, err);
    if (!buf) return false;
    bool ok = image_decode_memory(out, buf, size, path, limits, err);
    free(buf);
    return ok;
}

bool image_decode_raw_file(RawImage *out, const char *path, const ImageLimits *limits, LpoiErr *err) {
    *out = (RawImage){0};
    size_t size;
    char *buf = read_image_file(path, limits, &size, err);
    if (!buf) return false;
    bool ok = image_decode_raw_memory(out, buf, size, path, limits, err);
    free(buf);
    return ok;
}
