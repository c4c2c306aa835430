// png_write.c — an 8-bit RGB PNG encoder on zlib (deflate for IDAT, crc32 for chunk CRCs).
// Layout: signature, IHDR (colour type 2, bit depth 8, no interlace), IDAT chunks of at most 1 MiB
// each, IEND. Each scanline gets the filter (None, Sub, Up, Average, Paeth) whose output has the
// smallest sum of |signed byte| — libpng's default heuristic — which keeps files small for the
// flat black masks and photographs alike. The output is deterministic for a given image and level.
#include "image/image.h"
#include "base/check.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PNG_IDAT_MAX (1u << 20)

static void put_u32be(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

// Appends one chunk (length, type, data, CRC over type + data) at out + *pos.
static void put_chunk(uint8_t *out, size_t *pos, const char type[4], const uint8_t *data, uint32_t len) {
    uint8_t *p = out + *pos;
    put_u32be(p, len);
    memcpy(p + 4, type, 4);
    if (len) memcpy(p + 8, data, len);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, p + 4, 4 + len);
    put_u32be(p + 8 + len, (uint32_t)crc);
    *pos += 12 + (size_t)len;
}

static inline uint8_t paeth(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

// Filters one row (n bytes, bpp = 3) with filter type f into dst; returns sum of |(int8_t)byte|.
static uint64_t filter_row(int f, const uint8_t *row, const uint8_t *prev, size_t n, uint8_t *dst) {
    uint64_t cost = 0;
    for (size_t i = 0; i < n; i++) {
        int a = i >= 3 ? row[i - 3] : 0, b = prev ? prev[i] : 0, c = (i >= 3 && prev) ? prev[i - 3] : 0;
        uint8_t v;
        switch (f) {
        case 0: v = row[i]; break;
        case 1: v = (uint8_t)(row[i] - a); break;
        case 2: v = (uint8_t)(row[i] - b); break;
        case 3: v = (uint8_t)(row[i] - ((a + b) >> 1)); break;
        default: v = (uint8_t)(row[i] - paeth(a, b, c)); break;
        }
        dst[i] = v;
        cost += (uint64_t)abs((int)(int8_t)v);
    }
    return cost;
}

bool png_encode(const Image *img, int level, uint8_t **out, size_t *out_size, LpoiErr *err) {
    *out = NULL; *out_size = 0;
    if (!img || !img->data || img->w <= 0 || img->h <= 0)
        return err_set(err, "png: empty image");
    if (level < -1 || level > 9) return err_set(err, "png: compression level %d is not in -1..9", level);
    size_t row_bytes, raw_size;
    if (!size_mul_ok((size_t)img->w, 3, &row_bytes) || !size_add_ok(row_bytes, 1, &raw_size) ||
        !size_mul_ok(raw_size, (size_t)img->h, &raw_size) || raw_size > (size_t)1 << 40)
        return err_set(err, "png: %d x %d image is too large to encode", img->w, img->h);

    // 1. Filtered scanlines: [filter byte][row_bytes] per row.
    uint8_t *raw = malloc_check(raw_size), *trial = malloc_check(row_bytes);
    for (int y = 0; y < img->h; y++) {
        const uint8_t *row = img->data + (size_t)y * row_bytes;
        const uint8_t *prev = y > 0 ? row - row_bytes : NULL;
        uint8_t *dst = raw + (size_t)y * (row_bytes + 1);
        uint64_t best = UINT64_MAX;
        for (int f = 0; f < 5; f++) {
            uint64_t cost = filter_row(f, row, prev, row_bytes, trial);
            if (cost < best) { best = cost; dst[0] = (uint8_t)f; memcpy(dst + 1, trial, row_bytes); }
        }
    }
    free(trial);

    // 2. Deflate (zlib stream, as PNG requires).
    uLong zcap = compressBound((uLong)raw_size);
    uint8_t *z = malloc_check(zcap);
    uLongf zlen = zcap;
    int zrc = compress2(z, &zlen, raw, (uLong)raw_size, level);
    free(raw);
    if (zrc != Z_OK) { free(z); return err_set(err, "png: zlib compress2 failed (code %d)", zrc); }

    // 3. Chunks.
    size_t nidat = zlen / PNG_IDAT_MAX + 1;
    size_t total = 8 + (12 + 13) + (size_t)zlen + 12 * nidat + 12;
    uint8_t *png = malloc_check(total);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    memcpy(png, sig, 8);
    size_t pos = 8;
    uint8_t ihdr[13];
    put_u32be(ihdr, (uint32_t)img->w);
    put_u32be(ihdr + 4, (uint32_t)img->h);
    ihdr[8] = 8;    // bit depth
    ihdr[9] = 2;    // colour type: truecolour
    ihdr[10] = 0;   // compression: deflate
    ihdr[11] = 0;   // filter method 0 (adaptive)
    ihdr[12] = 0;   // no interlace
    put_chunk(png, &pos, "IHDR", ihdr, 13);
    for (size_t off = 0; off < zlen || off == 0; off += PNG_IDAT_MAX) {
        size_t len = LPOI_MIN((size_t)zlen - off, (size_t)PNG_IDAT_MAX);
        put_chunk(png, &pos, "IDAT", z + off, (uint32_t)len);
        if (len < PNG_IDAT_MAX) break;
    }
    put_chunk(png, &pos, "IEND", NULL, 0);
    free(z);
    LPOI_ASSERT(pos <= total);
    *out = png;
    *out_size = pos;
    return true;
}

bool image_write_png(const Image *img, const char *path, LpoiErr *err) {
    uint8_t *png;
    size_t n;
    if (!png_encode(img, 1, &png, &n, err)) return err_prefix(err, "%s", path);
    bool ok = file_write_atomic(path, png, n, err);
    free(png);
    return ok;
}
