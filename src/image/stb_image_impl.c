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
// stb_image 2.27 shifts by a negative bit count on some corrupt JPEGs (its bit reader lets
// code_bits go below zero; later upstream versions check). On x86 that yields garbage bits in a
// file that is rejected or garbage anyway, not a memory error; we cannot patch the system header,
// so under clang (the fuzz build) the shift check is switched off for stb's functions only, and
// ASan plus every other UBSan check keep running over them.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("shift"))), apply_to = function)
#endif
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
