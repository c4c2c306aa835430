// golden_vision.h — golden runners for the vision tower and LLaVA (src/models/clip.c, llava.c),
// listed in golden_ops.c's RUNNERS table. Cases are written by tools/golden_llava.py.
#pragma once
#include "check/golden.h"

void golden_run_model_clip(GoldenRun *r);      // kind "model.clip"
void golden_run_model_llava(GoldenRun *r);     // kind "model.llava"
#define GOLDEN_CLIP_OPS                                                                                   \
    OP_GEMM, OP_MATMUL_FORWARD, OP_MATMUL_BACKWARD, OP_EMBEDDING_FORWARD, OP_EMBEDDING_BACKWARD,          \
        OP_LAYERNORM_FORWARD, OP_LAYERNORM_BACKWARD, OP_GELU_FORWARD, OP_GELU_BACKWARD, OP_ADD, OP_AXPY,  \
        OP_ATTENTION_FORWARD, OP_ATTENTION_BACKWARD
#define GOLDEN_LLAVA_OPS                                                                                  \
    GOLDEN_CLIP_OPS, OP_RMSNORM_FORWARD, OP_RMSNORM_BACKWARD, OP_ROPE_FORWARD, OP_ROPE_BACKWARD,          \
        OP_SWIGLU_FORWARD, OP_SWIGLU_BACKWARD, OP_LOGPROB_FORWARD, OP_LOGPROB_BACKWARD
