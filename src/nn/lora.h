// lora.h — one LoRA set with PEFT semantics, used by every model: rank r, alpha, targets chosen by
// PEFT module name, one backend block for the parameters and one for the gradients (so one AdamW
// call updates them and one file write saves them), PEFT's init, zeroing, enumeration under PEFT
// names, and loading through the weights.h binding (one error list, nothing uploaded unless clean).
//
// A model describes its adaptable Linears once, as LoraModules: the module path of each kind inside
// a layer ("self_attn.q_proj", ...; PEFT's target name is the last part, "q_proj") and the layer path
// ("layers.%d."). The set then owns, per layer and per targeted kind in that order, A [r, in] then
// B [out, r]; tensor i of the enumeration is (layer, kind, A/B) in that storage order, named
//   base_model.model.<module><layer path><kind path>.lora_A.weight
// where <module> is the model's path in the adapter (e.g. "model.language_model.").
// Linear (nn/linear.h) stays the per-layer view: lora_create points each targeted Linear at its A/B.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "base/rng.h"
#include "nn/weights.h"
#include "nn/linear.h"

typedef struct {
    const char *const *paths;   // [n] module path of each kind inside a layer
    int n;
    const char *layer_fmt;      // "layers.%d." / "encoder.layers.%d.", or "" (one group, no layers)
} LoraModules;

static inline unsigned lora_all(const LoraModules *k) { return (1u << k->n) - 1; }   // PEFT "all-linear"
const char *lora_kind_name(const LoraModules *k, int kind);                          // "q_proj"

// What PEFT's target_modules choose from in one model: its parts (LLaVA: vision tower, projector,
// language model), each with the module-name prefix PEFT sees (model.language_model.; module name =
// prefix + layer path + kind path) and its layer count.
typedef struct {
    const char *model;                // "LLaMA", "LLaVA" (in errors)
    const LoraModules *const *parts;  // [nparts]
    const char *const *quals;         // [nparts] part qualifiers for list entries ("language_model."), or NULL
    const char *const *prefixes;      // [nparts] PEFT module-name prefix of each part
    const int *n_layers;              // [nparts] layer counts, or NULL when the model is not known (kind names only)
    const char *const *unadapted;     // NULL-terminated: Linear module names PEFT may select that lpoi has no
                                      // adapter for ("lm_head"): a regex selecting one is refused
    int nparts;
} LoraTargetSpace;

// PEFT target_modules: "all-linear", or comma-separated names, each adapting the kinds of every part
// whose name it is, or only of part p when written after quals[p] (e.g. "language_model.q_proj");
// and PEFT's own forms: an entry that is no kind name matches a module whose name equals it or ends
// with "." + it ("self_attn.q_proj"), and a spec holding regex characters is a regex that must
// full-match the module name (PEFT's str target_modules; Python's \d, (?:...) and lazy quantifiers are
// accepted, lookaround is refused). A target must select a kind in every one of the part's layers
// or in none. bits[p] receives part p's kinds.
bool lora_parse_targets(const char *spec, const LoraTargetSpace *ts, unsigned *bits, LpoiErr *err);

typedef struct {
    const LoraModules *modules;
    int r;                      // 0: no adapters
    float alpha;                // scale alpha / r
    unsigned targets;           // bit (1 << kind)
    int n_layer;
    Linear *lin0;               // the Linear of (layer l, kind k) is lin0 + k, l·layer_stride bytes on
    size_t layer_stride;
    Backend *be;
    float *mem, *grad;          // backend, [floats] each
    size_t floats;
} LoraSet;

// Zeroed adapters (and zeroed gradients) of rank r on the targeted kinds of n_layer layers.
void lora_create(LoraSet *s, Backend *be, const LoraModules *modules, Linear *lin0, size_t layer_stride, int n_layer,
                 int r, float alpha, unsigned targets);
void lora_free(LoraSet *s);
// Detaches every Linear the set adapted (r = 0: no adapter) and frees it, so the model runs (and can
// take another adapter) as the base. lora_free alone leaves the Linears pointing at the freed block.
void lora_remove(LoraSet *s);
size_t lora_count(const LoraSet *s);   // 2 · layers · targets (0 without adapters)
// Tensor i: PEFT name under `module` (when name is non-NULL), shape [rows, cols], parameter and
// gradient pointers (backend memory); any output may be NULL.
void lora_tensor(const LoraSet *s, size_t i, const char *module, char *name, size_t cap, int64_t shape[2],
                 float **param, float **grad);
// PEFT's init from rng (continuing its stream): A ~ kaiming_uniform(a=√5) = U(-1/√in, 1/√in), B = 0.
void lora_init(LoraSet *s, Rng *rng);
void lora_zero_grad(LoraSet *s);

// Loading, pass 1: the first of modules (NULL-terminated) under which tensor 0 exists (modules[0]
// when none), and every tensor under it into p (names, shapes, dtypes). rules (may be NULL) name
// the adapter tensors that must all be ours (unexpected ones are listed too). Pass 2: lora_upload.
const char *lora_find_module(const LoraSet *s, const WeightSource *src, const char *const *modules);
bool lora_plan(const LoraSet *s, const WeightSource *src, const char *module, const WeightRules *rules, WeightPlan *p);
// Pass 2 in two steps, so that a failed read leaves the adapter as it was (never half replaced):
// lora_stage reads every planned tensor (fp32) into a host copy of the set's block (NULL + err on a
// read error, nothing changed); lora_commit uploads that copy over the set and frees it.
// lora_upload is the two for one set; a model with several sets stages them all, then commits.
float *lora_stage(const LoraSet *s, const WeightPlan *p, LpoiErr *err);
void lora_commit(LoraSet *s, float *staged);
bool lora_upload(LoraSet *s, const WeightPlan *p, LpoiErr *err);
// Pass 2 of one set's load: uploads when p is clean, else "<src what>: <title> (r=R) does not match
// the model: <list>"; frees p.
bool lora_load_planned(LoraSet *s, WeightPlan *p, const WeightSource *src, const char *title, LpoiErr *err);
