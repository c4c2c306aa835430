// merge.h — `lpoi merge`: a PEFT LoRA adapter folded into the weights of a Hugging Face checkpoint,
// as PEFT's merge_and_unload() + save_pretrained write it (tools/test_merge.py checks that):
//   W' = dtype( float(W) + fl(fl(B·A) · fl(alpha / r)) )
// for every adapted Linear (A [r, in], B [out, r], W [out, in]); every other tensor is copied byte for
// byte, each tensor keeps its name, dtype and shape, and every file of the model folder that is not
// safetensors (config, tokenizer, processor, generation config, shard index) is copied as is.
#pragma once
#include <stdbool.h>
#include "base/error.h"

typedef struct {
    int modules;           // Linears merged
    int tensors;           // tensors written
    int files;             // other files copied
} MergeStats;

// Reads model_dir (model.safetensors or a sharded index + shards) and adapter_dir
// (adapter_config.json + adapter_model.safetensors) and writes the merged folder out_dir, which must
// not exist or be empty: it is built beside out_dir and renamed into place, so a failure leaves
// nothing behind. Adapter modules are matched to checkpoint tensors by name, in either LLaVA layout
// (transformers 5 "model.language_model." / hub "language_model.model."). false + err (naming the
// file and tensor) when the adapter is not plain LoRA or does not fit the checkpoint.
bool merge_adapter_dir(const char *model_dir, const char *adapter_dir, const char *out_dir, MergeStats *st,
                       LpoiErr *err);
