// vision_fixture_test.h — helpers shared by the CLIP and LLaVA unit tests (clip_test.c,
// llava_test.c): config literals, tiny random checkpoints written to /tmp (damaged on request, in
// any key layout), random adapters, and a finite-difference check of a scalar loss.
#pragma once
#include "models/clip.h"
#include "models/llava.h"
#include "test/test.h"

#define EXPECT_ERR_CONTAINS(err, needle) \
    EXPECT_MSG(strstr((err).msg, (needle)) != NULL, "error \"%s\" does not mention \"%s\"", (err).msg, (needle))

// Parses a JSON literal of the test (dies on a typo in the test itself).
JsonDoc *vt_json(const char *text);

// How to damage a checkpoint: drop one tensor, add one (shape [3]), grow one's first dim by one;
// rename prefixes (from -> to, e.g. the hub layout to transformers 5's), up to 4 pairs.
typedef struct {
    const char *drop, *extra, *reshape;
    const char *rename_from[4], *rename_to[4];
} VtDamage;

// Writes random tensors for specs (norm/LN weights ~1 + 0.2 N(0,1), biases 0.1 N, embeddings 0.5 N,
// linears and the patch conv N(0, 1/fan_in)) as one safetensors file.
void vt_write_specs(const char *path, const WeightSpecs *specs, const VtDamage *d, uint64_t seed);

// Random A and B (both non-zero) for n adapter tensors enumerated by the callback.
typedef void (*VtLoraAt)(const void *model, size_t i, int64_t shape[2], float **param);
void vt_lora_randomize(Backend *be, const void *model, size_t n, VtLoraAt at, uint64_t seed);

float *vt_fetch(Backend *be, const float *dev, size_t n);   // n floats of backend memory (malloc'ed)

// Central differences (step 1e-2) of loss() w.r.t. the n floats at dev (backend memory) against
// analytic (host). The forward is fp32, so the tolerance is 1% of the largest element plus 2%
// relative, which still rejects a wrong term; the gradient must not be (numerically) zero.
typedef double (*VtLoss)(void *ctx);
void vt_check_fd_at(const char *file, int line, const char *what, Backend *be, VtLoss loss, void *ctx, float *dev,
                    size_t n, const float *analytic);
#define VT_CHECK_FD(what, be, loss, ctx, dev, n, analytic) \
    vt_check_fd_at(__FILE__, __LINE__, (what), (be), (loss), (ctx), (dev), (n), (analytic))

// Tiny configs. CLIP: 8 wide, 2 heads, 3 layers, image 14 / patch 4 (3x3 patches, 2 px left over).
extern const char *const VT_TINY_CLIP;
// LLaVA around VT_TINY_CLIP-like vision (image 12 / patch 4: 9 image tokens), LLaMA GQA 4q/2kv,
// vocab 40, image token 37.
extern const char *const VT_TINY_LLAVA;
