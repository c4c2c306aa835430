// rng.h — a small deterministic RNG (splitmix64 state advance, xorshift-free) for initialisation,
// data sampling and tests. Same seed, same numbers, on every machine.
#pragma once
#include <stdint.h>

typedef struct { uint64_t state; } Rng;

static inline void rng_seed(Rng *r, uint64_t seed) { r->state = seed; }
static inline uint64_t rng_u64(Rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
// Uniform in [0, 1) with 24 bits of precision.
static inline float rng_uniform(Rng *r) { return (float)(rng_u64(r) >> 40) * (1.0f / 16777216.0f); }
// Uniform integer in [0, n), n > 0 (slight modulo bias is irrelevant for n << 2^64).
static inline uint64_t rng_below(Rng *r, uint64_t n) { return rng_u64(r) % n; }
// Standard normal (Box–Muller).
float rng_normal(Rng *r);
