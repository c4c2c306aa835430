// vision_fixture_test.h — helpers shared by the CLIP and LLaVA unit tests (clip_test.c,
// llava_test.c): config literals, tiny random checkpoints written to /tmp (damaged on request, in
// any key layout).
#pragma once
#include "models/clip.h"
#include "models/llava.h"
#include "models/model_fixture_test.h"

// Writes random tensors for specs (norm/LN weights ~1 + 0.2 N(0,1), biases 0.1 N, embeddings 0.5 N,
// linears and the patch conv N(0, 1/fan_in)) as one safetensors file, damaged by d (may be NULL).
void vt_write_specs(const char *path, const WeightSpecs *specs, const MtDamage *d, uint64_t seed);
// The same written to /tmp/lpoi_<name>_XXXXXX and bound with load (mt_load_random).
bool vt_load_random(const char *name, ModelLoad load, void *m, Backend *be, const void *cfg, const WeightSpecs *specs,
                    const MtDamage *d, uint64_t seed, LpoiErr *err);

// Tiny configs. CLIP: 8 wide, 2 heads, 3 layers, image 14 / patch 4 (3x3 patches, 2 px left over).
extern const char *const VT_TINY_CLIP;
// LLaVA around VT_TINY_CLIP-like vision (image 12 / patch 4: 9 image tokens), LLaMA GQA 4q/2kv,
// vocab 40, image token 37.
extern const char *const VT_TINY_LLAVA;
