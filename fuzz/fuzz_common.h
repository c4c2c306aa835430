// fuzz_common.h — what the libFuzzer targets share: an invariant check that aborts (so libFuzzer
// saves the input) and the tiny test tokenizer, loaded once (targets run from the repository root).
#pragma once
#include "text/tokenizer.h"
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s\n", #c); abort(); } } while (0)

static inline Tokenizer *fuzz_tiny_tokenizer(const char *target) {
    LpoiErr err = {{0}};
    Tokenizer *t = tokenizer_load_dir("testdata/tiny_llava", &err);
    if (!t) {
        fprintf(stderr, "%s: %s (run from the repository root)\n", target, err.msg);
        exit(1);
    }
    return t;
}
