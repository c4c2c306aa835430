// weights.h — binding Hugging Face tensors to a model, for every model: a model is its math plus a
// spec table. (It sits in nn/, below models/, because nn/lora.h loads adapters through it.) The
// table lists each tensor the config implies (name under the detected spelling,
// shape, and where its pointer goes); binding is two passes:
//   plan    find every spec in the source, check shape and dtype (F32/F16/BF16/F64, converted to
//           fp32), and find every tensor of ours that no spec names; all problems go into ONE
//           WeightErrors, printed as one line: "N missing (a, b, ...); N unexpected (...);
//           N mis-shaped (x is [..], expected [..]); N not F32/F16/BF16 (y is I32)"
//   upload  only when every plan of the model is clean: one backend block, each spec's pointer set
//           into it. A bad checkpoint is one error and never a half-loaded model. Tensors are fp32 in
//           that block, but for the Linear weights (SPEC_LINEAR) of a backend whose precision is bf16
//           or fp16 (be->precision, `--precision`): those are stored in 16 bits (Linear.w16), copied
//           straight from the file's mapping when it holds that type already. Either way the host
//           holds at most one bounded staging buffer, never an fp32 copy of a tensor or the model.
// "Ours" is the WeightRules: name prefixes (or exact names) every tensor under which must be a
// spec, and names accepted and skipped (HF's _keys_to_ignore_on_load: rotary inv_freq buffers, a
// tied lm_head).
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "base/error.h"
#include "base/safetensors.h"
#include "nn/linear.h"

// A set of tensors to bind from: a model folder/file (st_model_open) or one safetensors file;
// only names beginning with `prefix` are looked at, with the prefix removed (NULL/"" = all).
typedef struct {
    const StModel *model;
    const StFile *file;
    const char *prefix;
    const char *what;        // shown in errors (the path)
} WeightSource;

size_t ws_count(const WeightSource *s);
const char *ws_local(const WeightSource *s, size_t i);         // name i without the prefix, or NULL
const StTensor *ws_find(const WeightSource *s, const char *name);
const char *ws_what(const WeightSource *s, const char *def);   // s->what, or def
// True when `prefix` + `name` is in s (spelling detection: "is the embedding under this prefix?").
bool ws_has(const WeightSource *s, const char *prefix, const char *name);
bool str_starts(const char *s, const char *prefix);
// Spelling detection: the first entry of a table (n entries, stride bytes apart, each starting with
// its `const char *prefix`) under whose prefix `probe` exists, or NULL.
const void *ws_detect(const WeightSource *s, const void *table, size_t n, size_t stride, const char *probe);

// ---- spec tables ----
#define WEIGHT_MAX_DIMS 4
typedef struct {
    char name[160];                  // relative to the source prefix, with the model's spelling
    int ndim;
    int64_t shape[WEIGHT_MAX_DIMS];
    const float **dst;               // receives the tensor's fp32 backend pointer (NULL: not wired)
    Linear *linear;                  // a Linear's weight (dst == &linear->w): may be stored in 16 bits
    bool is_linear;                  // SPEC_LINEAR (also in tables made without a model: memory plans)
} WeightSpec;

typedef struct { WeightSpec *v; size_t n, cap; } WeightSpecs;   // a growing table
void specs_add(WeightSpecs *s, const float **dst, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define SPEC1(s, dst, d0, ...) specs_add((s), (dst), 1, (const int64_t[]){(d0)}, __VA_ARGS__)
#define SPEC2(s, dst, d0, d1, ...) specs_add((s), (dst), 2, (const int64_t[]){(d0), (d1)}, __VA_ARGS__)
// The weight [out, in] of Linear l (NULL: not wired), which 16-bit precision stores in 16 bits.
#define SPEC_LINEAR(s, l, out, in, ...)                                                            \
    do {                                                                                           \
        Linear *l_ = (l);                                                                          \
        SPEC2((s), l_ ? &l_->w : NULL, (out), (in), __VA_ARGS__);                                  \
        (s)->v[(s)->n - 1].linear = l_;                                                            \
        (s)->v[(s)->n - 1].is_linear = true;                                                       \
    } while (0)
void specs_free(WeightSpecs *s);

// ---- one error accumulator ----
typedef struct { char text[220]; size_t len; int n; } NameList;   // the first 3 items, and a count
void names_add(NameList *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct { NameList missing, unexpected, shape, dtype; } WeightErrors;
// Checks one tensor against a spec's name/shape; t NULL counts as missing.
void weights_check(WeightErrors *e, const char *name, const StTensor *t, int ndim, const int64_t *shape);
bool weights_clean(const WeightErrors *e);
// The one-line list (empty when clean); returns msg.
const char *weights_errors_text(const WeightErrors *e, char *msg, size_t cap);

void fmt_dims(char *buf, size_t cap, int ndim, const int64_t *d);   // "[2,3]"
bool float_dtype(Dtype t);                                          // F32/F16/BF16/F64

// ---- rules and the two passes ----
typedef struct {
    const char *owned[4];    // NULL-terminated: "prefix." (every name under it), an exact name, or "" (every name)
    const char *ignored[4];  // NULL-terminated: exact names, or "head*tail" patterns, accepted and skipped
} WeightRules;

typedef struct {
    WeightSpecs specs;
    const StTensor **found;  // [specs.n]
    WeightErrors errors;
} WeightPlan;

// Pass 1: resolves p->specs in src (found, errors; nothing is read). true when clean.
bool weights_plan(WeightPlan *p, const WeightSource *src, const WeightRules *rules);
// "<title> do not match the config (names under "<prefix>"): <list>"
void weights_plan_text(const WeightPlan *p, const char *title, const char *prefix, char *msg, size_t cap);
void weights_plan_free(WeightPlan *p);
// Pass 2: every planned tensor into one new backend block (*floats: its size in 4-byte words), each
// spec's dst (or its Linear's w16) pointed into it: fp32, or 16 bits as the header says. NULL + err
// only on a read error (the plan has checked names/shapes/dtypes).
float *weights_upload(Backend *be, const WeightPlan *p, size_t *floats, LpoiErr *err);
// Reads t as fp32 into backend memory dst (LoRA tensors: the model already owns the memory).
bool weights_read_into(Backend *be, float *dst, const StTensor *t, LpoiErr *err);
