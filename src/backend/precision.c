// precision.c — the names of the weight-storage precisions (backend.h Precision, `--precision`).
#include "backend/backend.h"
#include <string.h>

static const char *const NAMES[] = {[PRECISION_FP32] = "fp32", [PRECISION_BF16] = "bf16", [PRECISION_FP16] = "fp16"};

const char *precision_name(Precision p) { return p >= PRECISION_FP32 && p <= PRECISION_FP16 ? NAMES[p] : "?"; }

bool precision_parse(const char *s, Precision *p) {
    for (int i = PRECISION_FP32; i <= PRECISION_FP16; i++)
        if (s && !strcmp(s, NAMES[i])) return *p = (Precision)i, true;
    return false;
}

Dtype precision_dtype(Precision p) { return p == PRECISION_BF16 ? DTYPE_BF16 : p == PRECISION_FP16 ? DTYPE_F16 : DTYPE_F32; }
