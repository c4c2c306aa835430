// golden.h — golden cases: the contract between the PyTorch oracle (tools/golden_ops.py) and a
// backend. A case is one safetensors file:
//   __metadata__  kind    "op.rmsnorm", ...   (which runner replays it)
//                 config  JSON object string  (op parameters: sizes, eps, theta, ...)
//                 atol, rtol                  (defaults for every checked tensor)
//                 atol.<tensor>, rtol.<tensor> (optional per-tensor overrides)
//                 seed, generator             (provenance; informational)
//   tensors       param.* weights, in.* inputs (in.dout: the cotangent of L = Σ out·in.dout),
//                 out.* expected outputs, grad.* expected dL/d(input or param).
// An element passes when |got - want| <= atol + rtol·|want| (±inf must match exactly; NaN never
// passes). For each tensor we report the max abs error, the max rel error and the share of the
// tolerance used (max over elements of |err| / (atol + rtol·|want|)).
//
// Invariants the harness enforces, whatever the backend:
//   - every buffer lives between two guard regions of sentinel values, checked after the op;
//   - outputs and activation gradients start POISONED (NaN), so an element the op forgets fails;
//   - parameter gradients start at zero, and every backward runs twice: activation gradients must
//     come out the same (=), parameter gradients doubled (+=);
//   - read-only inputs must come back bit-identical;
//   - every tensor in the file must be consumed by the runner (a typo is an error, not a silent pass);
//   - a broken file (unknown kind, missing tensor, wrong shape, id out of range, bad config) is one
//     line naming the file and the tensor/field, and counts as a failure, never a crash.
#pragma once
#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>
#include "base/safetensors.h"
#include "base/json.h"
#include "backend/backend.h"

typedef struct {
    const char *path;
    StFile st;
    const char *kind;              // metadata "kind" (points into st)
    JsonDoc *config_doc;
    const JsonValue *config;       // parsed metadata "config" (a JSON object)
    const char *config_text;       // the raw string (points into st)
    double atol, rtol;             // case defaults
} GoldenCase;

// Opens and validates the metadata of a case (not the tensors: the runner checks those).
bool golden_case_open(GoldenCase *gc, const char *path, LpoiErr *err);
void golden_case_close(GoldenCase *gc);
// Tolerance for one tensor: "atol.<name>"/"rtol.<name>" if present, else the case defaults.
// false + err when an override is not a valid non-negative number.
bool golden_case_tol(const GoldenCase *gc, const char *name, double *atol, double *rtol, LpoiErr *err);

typedef enum { GOLDEN_PASS, GOLDEN_FAIL, GOLDEN_SKIP, GOLDEN_ERROR } GoldenStatus;

typedef struct {
    GoldenStatus status;     // ERROR: the case could not be run (counts as failed)
    char reason[512];        // ERROR/SKIP: why; FAIL: which tensors
    int checked, failed;     // tensor comparisons (and guard/input checks) done / failed
    double worst_share;      // largest share of tolerance used over all checks
    char worst_name[96];
    double ms;
} GoldenResult;

typedef struct {
    bool verbose;            // print every tensor line (default: only failing ones)
    FILE *out;               // where lines go (NULL: stdout)
} GoldenOptions;

// Replays one case file against be and prints its lines. Never aborts on file content.
GoldenResult golden_run_file(const char *path, Backend *be, const GoldenOptions *opt);
const char *golden_status_name(GoldenStatus s);   // "PASS", "FAIL", "SKIP", "ERROR"

// ---------------------------------------------------------------------------------------------
// The runner API (used by golden_ops.c and future golden_<family>.c files).
// Errors are sticky: after the first error or skip every call does nothing and returns NULL/0,
// so a runner reads its config and tensors in straight-line code and checks gr_ready() once
// before launching ops.
typedef struct GoldenRun GoldenRun;

typedef struct {
    const char *kind;              // "op.rmsnorm"
    void (*run)(GoldenRun *r);
    const char *what;              // one line for --help / listings
    const OpId *needs;             // ops every case of the kind needs: skipped before run unless the
    size_t n_needs;                // backend has them all (runners whose ops depend on the case call gr_need)
} GoldenRunner;
// The needs of a runner table row: GR_OPS(OP_GEMM, OP_ADD) expands to both fields; GR_NO_OPS for a
// runner that calls gr_need itself.
#define GR_OPS(...) (const OpId[]){__VA_ARGS__}, sizeof((OpId[]){__VA_ARGS__}) / sizeof(OpId)
#define GR_NO_OPS NULL, 0

const GoldenRunner *golden_runner_find(const char *kind);
size_t golden_runner_count(void);
const GoldenRunner *golden_runner_at(size_t i);

// Shapes are passed as (const int64_t *dims, int ndim); GR_SHAPE(N, C) expands to both.
#define GR_SHAPE(...) (const int64_t[]){__VA_ARGS__}, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define GR_MAX_DIM (1 << 24)          // bound on any size read from a config

Backend *gr_backend(GoldenRun *r);
const GoldenCase *gr_case(GoldenRun *r);
bool gr_error(GoldenRun *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));  // records, returns false
// Marks the case skipped unless be implements op. Returns whether it does.
bool gr_need(GoldenRun *r, OpId op);
bool gr_ready(GoldenRun *r);          // no error and not skipped

// config (an error names the field when a required one is missing or out of range)
int    gr_cfg_int(GoldenRun *r, const char *key, int64_t lo, int64_t hi);                 // required
int    gr_cfg_int_or(GoldenRun *r, const char *key, int64_t lo, int64_t hi, int64_t def); // optional
double gr_cfg_num(GoldenRun *r, const char *key);                                         // required, finite
double gr_cfg_num_or(GoldenRun *r, const char *key, double def);
bool   gr_cfg_bool_or(GoldenRun *r, const char *key, bool def);
const char *gr_cfg_str(GoldenRun *r, const char *key);                                    // required

bool gr_has(GoldenRun *r, const char *name);   // tensor present in the file
// Product of dims with overflow and size checks (0 + error when too big).
size_t gr_numel(GoldenRun *r, const int64_t *dims, int ndim);

// Device buffers (all guarded; all freed when the case ends).
// A read-only input: converted to fp32, uploaded; must be bit-identical after the ops.
const float *gr_in(GoldenRun *r, const char *name, const int64_t *dims, int ndim);
// An integer input converted to int32, every value checked lo <= v <= hi.
const int32_t *gr_in_int(GoldenRun *r, const char *name, const int64_t *dims, int ndim, int64_t lo, int64_t hi);
// A tensor the op modifies in place (initial value from the file).
float *gr_inout(GoldenRun *r, const char *name, const int64_t *dims, int ndim);
float *gr_out(GoldenRun *r, const char *what, size_t n);     // poisoned with NaN
float *gr_zeros(GoldenRun *r, const char *what, size_t n);   // zero (parameter gradients)

// Downloads n = numel(dims) floats at dev, checks its guards, compares with tensor `name`
// (whose shape must be dims) scaled by factor; label (may be NULL) is appended to the line.
void gr_expect(GoldenRun *r, const float *dev, const char *name, const int64_t *dims, int ndim,
               double factor, const char *label);
// Same for a value already on the host (e.g. sum_squares' return value).
void gr_expect_host(GoldenRun *r, const float *host, const char *name, const int64_t *dims, int ndim);
// gr_expect if the file has `name`; otherwise only checks the buffer's guards.
void gr_expect_opt(GoldenRun *r, const float *dev, const char *name, const int64_t *dims, int ndim);
// gr_expect for memory the runner does not own (a model's activations or LoRA gradients: no guards),
// divided by `divisor` first (a gradient accumulated over that many backward passes; 1 otherwise).
void gr_expect_dev(GoldenRun *r, const float *dev, const char *name, const int64_t *dims, int ndim, double divisor);

// Host copies, malloc'ed (caller frees; NULL once the run has an error): any device memory, and
// inputs read as gr_in / gr_in_int do (so they are consumed and checked unchanged) for runners
// whose model takes host arrays.
void *gr_download(GoldenRun *r, const void *dev, size_t bytes);
float *gr_in_host(GoldenRun *r, const char *name, const int64_t *dims, int ndim);
int32_t *gr_in_int_host(GoldenRun *r, const char *name, const int64_t *dims, int ndim, int64_t lo, int64_t hi);

// ---- comparison (exposed for tests) ----
typedef struct {
    size_t n, bad, worst;       // elements, out of tolerance, index of the worst element
    double max_abs, max_rel, share;   // share: max |err| / (atol + rtol |want|) (inf for NaN)
    float got_worst, want_worst;
} GoldenCmp;
GoldenCmp golden_compare(const float *got, const float *want, size_t n, double factor, double atol, double rtol);

// Marks the weights a model loader bound straight from the case file (param.*, lora.*) as consumed
// inputs (read through gr_in), so they are also checked to come back unchanged.
void gr_consume_weights(GoldenRun *r);
// Compares a LoRA gradient (model memory, [out or r, r or in]) with grad.<PEFT name>, accumulated
// over `passes` backward passes.
void gr_expect_lora_grad(GoldenRun *r, const char *peft_name, const float *grad, const int64_t shape[2], int passes);
// The batch of a language-model case on the host: B, T from in.attention_mask [B,T] (at most 2^20
// tokens); the mask, in.labels (-100 or < V) and, with ids, in.input_ids (< V) read as int32 through
// gr_in_int; logp [B], room for the log-probs. false (an error) when the mask is not [B,T].
typedef struct { int B, T; int32_t *mask, *labels, *ids; float *logp; } GrTextBatch;
bool gr_text_batch(GoldenRun *r, int V, bool ids, GrTextBatch *b);
void gr_text_batch_free(GrTextBatch *b);
// The adapter of a model case: the config member "lora" = {r, lora_alpha, target_modules (list or
// string)}, the targets joined comma-separated (PEFT list semantics are the model's). false (a
// sticky error) when malformed.
typedef struct { int rank; float alpha; char targets[512]; } GrLora;
bool gr_lora_config(GoldenRun *r, GrLora *lora);
