// groupnorm.h — launch constants of cu/groupnorm.cu (GroupNorm on channels-last [N,P,C]), shared with
// cuda_groupnorm.c.
#pragma once

#define GN_BLOCK 256        // threads of a group block (forward, dx backward): block_sum needs full warps
#define GN_DW_ROWS 8        // warps of a dw/db block, each summing every 8th (n, p) row of 32 channels
