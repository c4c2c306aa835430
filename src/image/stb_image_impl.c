// stb_image_impl.c — the one translation unit that compiles stb_image (Debian's libstb-dev header).
// Only the formats with a magic number are enabled (see image.h for why TGA/PSD/HDR are off);
// files are read by lpoi itself (size-limited), so stb's stdio API is disabled. The header's own
// warnings under -Wall -Wextra are silenced here and only here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"
// stb_image 2.27 has two kinds of undefined behaviour on corrupt input that are not memory errors:
// it shifts by a negative bit count on some JPEGs (its bit reader lets code_bits go below zero;
// later upstream versions check), giving garbage bits in a file that is garbage anyway, and it
// computes NULL + 0 for a zero-length first IDAT chunk. We cannot patch the system header, so
// under clang (the fuzz build) those two checks are switched off for stb's functions only; ASan
// and every other UBSan check keep running over them. Real memory bugs found by fuzzing are
// prevented by checks in image.c before stb sees the data.
// A third: a progressive JPEG whose DC predictor keeps growing overflows int in
// `dc * (1 << succ_low)` (stb 2.27 does not clamp it; testdata/images/bad/progressive_dc_overflow.jpg).
// That is signed overflow, undefined behaviour the optimiser may exploit, so stb's functions are
// compiled with wrapping signed arithmetic (-fwrapv semantics: the pixels are garbage, as the file
// is, and the same on every build); under wrapping there is nothing for UBSan to report.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("shift", "pointer-overflow", "signed-integer-overflow"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC optimize("wrapv")
#endif
// stb allocates its decoder state (Huffman and quantisation tables among it) with malloc and reads
// tables a file never defined: uninitialised heap, which the fuzzer turned into an out-of-bounds
// read (index 1366300047 into a 257-entry table). With calloc, an undefined table is all zeros and
// decodes as garbage pixels at worst. Output buffers pass through image_free's free().
#include <stdlib.h>
#define STBI_MALLOC(sz) calloc(1, (sz))
#define STBI_REALLOC(p, newsz) realloc((p), (newsz))
#define STBI_FREE(p) free(p)
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ONLY_PNM
#include <stb/stb_image.h>
#if defined(__clang__)
#pragma clang attribute pop
#endif
#pragma GCC diagnostic pop
