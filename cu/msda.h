// msda.h — launch constants of cu/msda.cu (multi-scale deformable attention), shared with cuda_msda.c.
#pragma once

#define MSDA_MAX_LEVELS 8      // four u64 kernel arguments carry (h, w) of two levels each
#define MSDA_MAX_SIDE 65535    // h and w are packed in 16 bits
#define MSDA_BLOCK 256         // forward and per-sample backward blocks
#define MSDA_TILE_W 32         // columns of value one dvalue block owns (its shared accumulator: 32 x 32 floats)
