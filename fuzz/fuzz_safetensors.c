// fuzz_safetensors.c — libFuzzer target for the safetensors reader (st_open_memory).
// Any input must give either a clean refusal with a one-line message or a file whose invariants
// hold: tensors sorted and contiguous inside the buffer, names findable, every usable tensor
// readable as fp32. Build and run: see fuzz/README.md.
#include "base/safetensors.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    StFile f;
    LpoiErr err = {{0}};
    if (!st_open_memory(&f, data, size, "fuzz", &err)) {
        FUZZ_ASSERT(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL && strncmp(err.msg, "fuzz: ", 6) == 0);
        return 0;
    }
    const unsigned char *buffer = data + 8 + f.header_len;
    uint64_t expect_begin = 0;
    for (size_t i = 0; i < f.count; i++) {
        const StTensor *t = &f.tensors[i];
        FUZZ_ASSERT(t->begin == expect_begin && t->end >= t->begin);
        FUZZ_ASSERT(t->data == buffer + t->begin && t->end <= size - 8 - f.header_len);
        FUZZ_ASSERT(st_find(&f, t->name) == t);
        expect_begin = t->end;
        if (!dtype_usable(t->dtype)) {
            FUZZ_ASSERT(!st_read_f32(t, NULL, &err));
            continue;
        }
        // numel <= bytes in the file for every usable dtype, so this allocation is bounded
        float *out = malloc((size_t)t->numel * sizeof(float) + 1);
        FUZZ_ASSERT(out && st_read_f32(t, out, &err));
        volatile float sink = 0;
        for (uint64_t k = 0; k < t->numel; k++) sink += out[k];
        (void)sink;
        free(out);
    }
    FUZZ_ASSERT(expect_begin == size - 8 - f.header_len);
    for (size_t i = 0; i < f.meta_count; i++) FUZZ_ASSERT(st_meta(&f, f.meta_keys[i]) != NULL);
    st_close(&f);
    return 0;
}
