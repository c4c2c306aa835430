// golden_idefics2.h — golden runners for Idefics2 (src/image/idefics2_preprocess.h, ...), listed in
// golden_ops.c's RUNNERS table. Cases are written by tools/golden_idefics2.py with transformers.
#pragma once
#include "check/golden.h"
#include "check/golden_vision.h"

void golden_run_image_idefics2(GoldenRun *r);   // kind "image.idefics2"
void golden_run_model_siglip(GoldenRun *r);     // kind "model.siglip"
#define GOLDEN_SIGLIP_OPS GOLDEN_CLIP_OPS   // the same ops as CLIP (golden_vision.h)
void golden_run_model_idefics2_connector(GoldenRun *r);   // kind "model.idefics2_connector"
#define GOLDEN_CONNECTOR_OPS                                                                              \
    OP_GEMM, OP_MATMUL_FORWARD, OP_MATMUL_BACKWARD, OP_EMBEDDING_FORWARD, OP_EMBEDDING_BACKWARD,          \
        OP_RMSNORM_FORWARD, OP_RMSNORM_BACKWARD, OP_SWIGLU_FORWARD, OP_SWIGLU_BACKWARD, OP_ADD, OP_AXPY,  \
        OP_ATTENTION_FORWARD, OP_ATTENTION_BACKWARD
void golden_run_model_idefics2(GoldenRun *r);   // kind "model.idefics2"
#define GOLDEN_IDEFICS2_OPS GOLDEN_LLAVA_OPS      // CLIP's, the decoder's and the connector's (golden_vision.h)
