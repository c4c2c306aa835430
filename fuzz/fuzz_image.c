// fuzz_image.c — libFuzzer target for image decoding (stb_image behind lpoi's checks).
// Beyond "no crash, no leak, no uninitialised read": an accepted image has W, H >= 1 within the pixel
// limit, and re-encoding it with our PNG writer and decoding that gives the same pixels; a refused one
// has a one-line message naming the input. nob's fuzz rule links only src/base, so the image sources
// are compiled into this target directly. Build and run: `./nob fuzz` (FUZZ_SECONDS per target).
#include "image/image.c"
#include "image/png_write.c"
#include "image/stb_image_impl.c"
#include <stdio.h>

#define FUZZ_ASSERT(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const ImageLimits lim = {.max_pixels = 1u << 16};   // small (256 x 256), so the fuzzer stays fast
    LpoiErr err = {{0}};
    Image img;
    if (!image_decode_memory(&img, data, size, "fuzz", &lim, &err)) {
        FUZZ_ASSERT(img.data == NULL && !strncmp(err.msg, "fuzz: ", 6) && !strchr(err.msg, '\n'));
        return 0;
    }
    FUZZ_ASSERT(img.w >= 1 && img.h >= 1 && (uint64_t)img.w * (uint64_t)img.h <= lim.max_pixels && img.data);
    uint64_t sum = 0;   // touches every byte: MSan/ASan see any uninitialised or short buffer
    for (size_t i = 0; i < (size_t)img.w * img.h * 3; i++) sum += img.data[i];
    (void)sum;
    uint8_t *png;
    size_t n;
    FUZZ_ASSERT(png_encode(&img, 1, &png, &n, &err));
    Image back;
    FUZZ_ASSERT(image_decode_memory(&back, png, n, "png", NULL, &err) && image_equal(&img, &back));
    image_free(&back);
    free(png);
    image_free(&img);
    return 0;
}
