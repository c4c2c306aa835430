// dtype.h — element types as safetensors names them, and fp16/bf16 <-> fp32 conversion.
// Every dtype of the format is recognised (so a file can be listed); only the "usable" ones
// can be converted to fp32 for compute. Sub-byte types report their size in bits.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef enum {
    DTYPE_BOOL, DTYPE_U8, DTYPE_I8, DTYPE_I16, DTYPE_U16, DTYPE_F16, DTYPE_BF16,
    DTYPE_I32, DTYPE_U32, DTYPE_F32, DTYPE_I64, DTYPE_U64, DTYPE_F64, DTYPE_C64,
    DTYPE_F8_E5M2, DTYPE_F8_E4M3, DTYPE_F8_E8M0, DTYPE_F8_E4M3FNUZ, DTYPE_F8_E5M2FNUZ,
    DTYPE_F4, DTYPE_F6_E2M3, DTYPE_F6_E3M2,
    DTYPE_COUNT,
    DTYPE_INVALID = -1,
} Dtype;

const char *dtype_name(Dtype t);               // "F32", ...
Dtype       dtype_from_name(const char *s, size_t len);  // DTYPE_INVALID if unknown (exact, case-sensitive)
int         dtype_bits(Dtype t);               // 1..128
bool        dtype_usable(Dtype t);             // F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL

// Converts n elements of a usable dtype at src (any alignment) to fp32.
void dtype_to_f32(float *dst, const void *src, Dtype t, size_t n);
// Converts n fp32 values to F32/F16/BF16 at dst (any alignment); round-to-nearest-even.
void dtype_from_f32(void *dst, Dtype t, const float *src, size_t n);

float    f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float    bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
