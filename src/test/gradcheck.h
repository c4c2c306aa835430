// gradcheck.h — finite-difference gradient checks and a tiny deterministic RNG for op tests.
// Every backward is checked against central differences of a scalar loss L = Σ out·dout (random
// dout) that the test evaluates in double precision with its own straightforward reference of the
// forward. Numeric gradients are then accurate to ~1e-9 relative, so the fp32 analytic gradient can be
// held to ~1e-4 relative, and EXPECT_GRAD proves that tolerance is sharp each time it runs: the same
// comparison must reject a copy of the analytic gradient whose largest element is off by 1%.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "base/rng.h"

// ---- RNG: base/rng.h's splitmix64 with a scrambled seed, identical on every platform ----
typedef struct { Rng rng; } TestRng;

TestRng  trng_seed(uint64_t seed);             // distinct seeds give unrelated streams
uint64_t trng_next(TestRng *r);
double   trng_uniform(TestRng *r);                 // [0, 1), 53 random bits
double   trng_normal(TestRng *r);                  // N(0, 1), Box-Muller
int      trng_int(TestRng *r, int n);              // [0, n)
void     trng_fill_normal(TestRng *r, float *x, size_t n, double stddev);
void     trng_fill_uniform(TestRng *r, float *x, size_t n, double lo, double hi);

// ---- small buffers ----
float  *gc_alloc_f32(size_t n);                    // zeroed, dies on OOM; free() it
double *gc_alloc_f64(size_t n);
void    gc_f32_to_f64(double *dst, const float *src, size_t n);
void    gc_f64_to_f32(float *dst, const double *src, size_t n);
// Fills with NaN so tests notice an op that reads its output or leaves elements unwritten.
void    gc_fill_nan(float *x, size_t n);

// ---- finite differences ----
// The loss at the current contents of the double inputs that ctx points at.
typedef double (*GcLossFn)(void *ctx);

// numeric[k] = (L(x + h e_k) - L(x - h e_k)) / 2h with h = step * max(1, |x_k|); x is perturbed in place
// and restored exactly.
void gradcheck_numeric(GcLossFn loss, void *ctx, double *x, size_t n, double step, double *numeric);

typedef struct {
    size_t bad;              // elements with |a - n| > atol + rtol |n| (NaN counts as bad)
    size_t worst;            // index of the element that exceeds its tolerance the most
    double worst_analytic, worst_numeric;
    double max_abs_numeric;
} GcResult;
GcResult gradcheck_compare(const float *analytic, const double *numeric, size_t n, double atol, double rtol);

// True when the tolerance would reject a copy of the gradient whose largest element is off by 1%
// (and the gradient is not identically zero): the check can fail at all.
bool gradcheck_sharp(const double *numeric, size_t n, double atol, double rtol);

// Fails the running test when analytic (fp32, from the backward under test) disagrees with the
// numeric gradient of loss w.r.t. x, or when the tolerance is too loose to reject a 1% error in the
// largest gradient element. Returns true when both hold.
bool gradcheck_expect_at(const char *file, int line, const char *what, GcLossFn loss, void *ctx, double *x,
                         const float *analytic, size_t n, double atol, double rtol);
#define EXPECT_GRAD(what, loss, ctx, x, analytic, n, atol, rtol) \
    gradcheck_expect_at(__FILE__, __LINE__, (what), (loss), (ctx), (x), (analytic), (n), (atol), (rtol))

// Σ a·b in double (the usual L = Σ out·dout).
double gc_dot_f64(const double *a, const double *b, size_t n);
// Bitwise equality, for determinism checks across thread counts.
bool gc_same_bits(const void *a, const void *b, size_t bytes);
