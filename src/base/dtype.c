// dtype.c — dtype table and scalar conversions (unaligned-safe: every load goes through memcpy).
#include "dtype.h"
#include "check.h"
#include <string.h>
#include <math.h>

static const struct { const char *name; int bits; bool usable; } DTYPES[DTYPE_COUNT] = {
    [DTYPE_BOOL] = {"BOOL", 8, true},     [DTYPE_U8] = {"U8", 8, true},
    [DTYPE_I8] = {"I8", 8, true},         [DTYPE_I16] = {"I16", 16, true},
    [DTYPE_U16] = {"U16", 16, false},     [DTYPE_F16] = {"F16", 16, true},
    [DTYPE_BF16] = {"BF16", 16, true},    [DTYPE_I32] = {"I32", 32, true},
    [DTYPE_U32] = {"U32", 32, false},     [DTYPE_F32] = {"F32", 32, true},
    [DTYPE_I64] = {"I64", 64, true},      [DTYPE_U64] = {"U64", 64, false},
    [DTYPE_F64] = {"F64", 64, true},      [DTYPE_C64] = {"C64", 64, false},
    [DTYPE_F8_E5M2] = {"F8_E5M2", 8, false},         [DTYPE_F8_E4M3] = {"F8_E4M3", 8, false},
    [DTYPE_F8_E8M0] = {"F8_E8M0", 8, false},         [DTYPE_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8, false},
    [DTYPE_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8, false}, [DTYPE_F4] = {"F4", 4, false},
    [DTYPE_F6_E2M3] = {"F6_E2M3", 6, false},         [DTYPE_F6_E3M2] = {"F6_E3M2", 6, false},
};

const char *dtype_name(Dtype t) { return (t >= 0 && t < DTYPE_COUNT) ? DTYPES[t].name : "?"; }
int dtype_bits(Dtype t) { return (t >= 0 && t < DTYPE_COUNT) ? DTYPES[t].bits : 0; }
bool dtype_usable(Dtype t) { return t >= 0 && t < DTYPE_COUNT && DTYPES[t].usable; }

Dtype dtype_from_name(const char *s, size_t len) {
    for (int t = 0; t < DTYPE_COUNT; t++)
        if (strlen(DTYPES[t].name) == len && memcmp(DTYPES[t].name, s, len) == 0) return (Dtype)t;
    return DTYPE_INVALID;
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else {  // subnormal: normalise
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff);
    uint32_t man = x & 0x7fffff;
    if (exp == 255) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    int32_t e = exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {  // subnormal or zero in half
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        int shift = 14 - e;
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;  // may carry into exponent: correct
    return (uint16_t)half;
}

float bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);  // quiet NaN
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

void dtype_to_f32(float *dst, const void *src, Dtype t, size_t n) {
    const unsigned char *p = src;
    switch (t) {
    case DTYPE_F32: memcpy(dst, src, n * 4); return;
    case DTYPE_F16: for (size_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = f16_to_f32(h); } return;
    case DTYPE_BF16: for (size_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = bf16_to_f32(h); } return;
    case DTYPE_F64: for (size_t i = 0; i < n; i++) { double d; memcpy(&d, p + 8 * i, 8); dst[i] = (float)d; } return;
    case DTYPE_I64: for (size_t i = 0; i < n; i++) { int64_t v; memcpy(&v, p + 8 * i, 8); dst[i] = (float)v; } return;
    case DTYPE_I32: for (size_t i = 0; i < n; i++) { int32_t v; memcpy(&v, p + 4 * i, 4); dst[i] = (float)v; } return;
    case DTYPE_I16: for (size_t i = 0; i < n; i++) { int16_t v; memcpy(&v, p + 2 * i, 2); dst[i] = (float)v; } return;
    case DTYPE_I8: for (size_t i = 0; i < n; i++) dst[i] = (float)(int8_t)p[i]; return;
    case DTYPE_U8: for (size_t i = 0; i < n; i++) dst[i] = (float)p[i]; return;
    case DTYPE_BOOL: for (size_t i = 0; i < n; i++) dst[i] = p[i] ? 1.0f : 0.0f; return;
    default: LPOI_DIE("dtype_to_f32: dtype %s is not usable; callers must check dtype_usable first", dtype_name(t));
    }
}

void dtype_from_f32(void *dst, Dtype t, const float *src, size_t n) {
    unsigned char *p = dst;
    switch (t) {
    case DTYPE_F32: memcpy(dst, src, n * 4); return;
    case DTYPE_F16: for (size_t i = 0; i < n; i++) { uint16_t h = f32_to_f16(src[i]); memcpy(p + 2 * i, &h, 2); } return;
    case DTYPE_BF16: for (size_t i = 0; i < n; i++) { uint16_t h = f32_to_bf16(src[i]); memcpy(p + 2 * i, &h, 2); } return;
    default: LPOI_DIE("dtype_from_f32: cannot write dtype %s", dtype_name(t));
    }
}
