// golden_models.h — golden runners for whole models (src/models/), listed in golden_ops.c's RUNNERS
// table. Cases are written by tools/golden_llama.py (transformers + PEFT).
#pragma once
#include "check/golden.h"

void golden_run_model_llama(GoldenRun *r);     // kinds "model.llama" and "model.mistral"
#define GOLDEN_LLAMA_OPS                                                                                  \
    OP_GEMM, OP_MATMUL_FORWARD, OP_MATMUL_BACKWARD, OP_EMBEDDING_FORWARD, OP_EMBEDDING_BACKWARD,          \
        OP_RMSNORM_FORWARD, OP_RMSNORM_BACKWARD, OP_ROPE_FORWARD, OP_ROPE_BACKWARD, OP_SWIGLU_FORWARD,    \
        OP_SWIGLU_BACKWARD, OP_ADD, OP_ATTENTION_FORWARD, OP_ATTENTION_BACKWARD, OP_LOGPROB_FORWARD,      \
        OP_LOGPROB_BACKWARD
