// model_fixture_test.h — helpers every model test shares (llama, clip, llava): config literals
// parsed through a model's parser, table-driven refusal checks, random checkpoints and adapters,
// backend downloads, and a finite-difference check of a scalar loss.
#pragma once
#include "backend/backend.h"
#include "base/dtype.h"
#include "base/json.h"
#include "base/rng.h"
#include "models/model.h"
#include "nn/weights.h"
#include "test/test.h"
#include <string.h>

#define EXPECT_ERR_HAS(err, needle) \
    EXPECT_MSG(strstr((err).msg, (needle)) != NULL, "error \"%s\" does not mention \"%s\"", (err).msg, (needle))

// Parses a JSON literal of the test (dies on a typo in the test itself).
JsonDoc *mt_json(const char *text);
// Parses a config literal with a model's parser ("config.json" names it in errors).
bool mt_parse(ModelConfigParse parse, const char *json, void *cfg, LpoiErr *err);

// The real llava-1.5-7b checkpoint's folder (its config and index only; tests skip where it is absent).
#define MT_LLAVA_DIR "../shared/data/hf/llava-hf__llava-1.5-7b-hf"
// Its config read through parse into cfg, and its weight_map (686 names; *doc owns it). NULL after
// a skip or a test failure.
const JsonValue *mt_real_llava_index(ModelConfigParse parse, void *cfg, JsonDoc **doc);

// Every case must be refused with an error naming its needle (and `also`, when non-NULL).
typedef struct { const char *json, *needle; } MtRefusal;
void mt_expect_refusals_at(const char *file, int line, ModelConfigParse parse, void *cfg, const MtRefusal *cases,
                           size_t n, const char *also);
#define MT_EXPECT_REFUSALS(parse, cfg, cases, also) \
    mt_expect_refusals_at(__FILE__, __LINE__, (parse), (cfg), (cases), sizeof(cases) / sizeof *(cases), (also))

// Writes one random tensor per spec as one safetensors file, values from value(name, spec, rng)
// stored as dtype (F32 when 0; I32 truncates the values), after the damage: drop one, add one
// (shape [3], last), grow one's first dim by one, rename prefixes (from -> to, the first that fits).
typedef struct {
    const char *drop, *extra, *reshape;
    const char *rename_from[4], *rename_to[4];
    Dtype dtype;
} MtDamage;
typedef float (*MtValue)(const WeightSpec *s, Rng *rng);
void mt_write_specs(const char *path, const WeightSpecs *specs, const MtDamage *d, MtValue value, uint64_t seed);

// Writes the specs (mt_write_specs) to /tmp/lpoi_<name>_XXXXXX and binds that file with load.
bool mt_load_random(const char *name, ModelLoad load, void *m, Backend *be, const void *cfg, const WeightSpecs *specs,
                    const MtDamage *d, MtValue value, uint64_t seed, LpoiErr *err);

// Random A and B (both non-zero: 0.5 N(0,1)/√in) for every adapter tensor of the sets, in order
// (a model's storage order: LLaVA's vision, projector, language model), from one stream.
void mt_lora_randomize(const LoraSet *const *sets, int n, uint64_t seed);

float *mt_fetch(Backend *be, const float *dev, size_t n);   // n floats of backend memory (malloc'ed)

// Backend scratch buffers of one test, freed together.
typedef struct { Backend *be; void *bufs[16]; int n; } MtScratch;
float *mt_scratch(MtScratch *s, size_t n);   // n floats, uninitialised
// n floats of N(0, 1) (TestRng from seed); *host keeps a malloc'ed copy when host is non-NULL.
float *mt_scratch_random(MtScratch *s, size_t n, uint64_t seed, float **host);
void mt_scratch_free(MtScratch *s);

// Central differences (step 1e-2) of loss() w.r.t. the n floats at dev (backend memory) against
// analytic (host). The forward is fp32, so the tolerance is 1% of the largest element plus 2%
// relative, which still rejects a wrong term; the gradient must not be (numerically) zero.
typedef double (*MtLoss)(void *ctx);
void mt_check_fd_at(const char *file, int line, const char *what, Backend *be, MtLoss loss, void *ctx, float *dev,
                    size_t n, const float *analytic);
// L = Σ_b dlogp[b]·logp[b] of one batch (B rows): the scalar whose finite differences check a
// model's log-prob backward. logps runs the model's forward (no backward kept).
typedef bool (*MtLogps)(void *model, const void *batch, float *logp, LpoiErr *err);
typedef struct {
    MtLogps logps;
    void *model;
    const void *batch;
    const float *dlogp;
    int B;
} MtLogpLoss;
double mt_logp_loss(void *ctx);   // an MtLoss over an MtLogpLoss
#define MT_CHECK_FD(what, be, loss, ctx, dev, n, analytic) \
    mt_check_fd_at(__FILE__, __LINE__, (what), (be), (loss), (ctx), (dev), (n), (analytic))
