// fuzz_tokenizer.c — libFuzzer target for tokenizer.json loading and encoding. Byte 0 picks the mode:
//   even: the rest is a tokenizer.json (tokenizer_load_json); an accepted one encodes and decodes a
//         few fixed strings (plain, special-token text, byte fallback, invalid UTF-8);
//   odd:  the rest is text for testdata/tiny_llava's tokenizer (LLaMA form) to encode and decode.
// Invariants: a refusal is one line naming the input; encode fails only with a message and leaves
// the ids untouched; every id is < vocab size; decode always returns a NUL-terminated string.
// fuzz-link: src/text
#include "text/tokenizer.h"
#include "fuzz_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Tokenizer *tiny;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    tiny = fuzz_tiny_tokenizer("fuzz_tokenizer");
    return 0;
}

static void encode_decode(const Tokenizer *t, const char *text, size_t len) {
    TokIds ids = {0};
    LpoiErr err = {{0}};
    for (int special = 0; special < 2; special++) {
        size_t before = ids.count;
        if (!tokenizer_encode(t, text, len, special, &ids, &err)) {
            FUZZ_ASSERT(ids.count == before && err.msg[0] && !strchr(err.msg, '\n'));
            continue;
        }
        for (size_t i = before; i < ids.count; i++) FUZZ_ASSERT(ids.ids[i] >= 0 && (size_t)ids.ids[i] < tokenizer_vocab_size(t));
    }
    for (int skip = 0; skip < 2; skip++) {
        size_t n;
        char *s = tokenizer_decode(t, ids.ids, ids.count, skip, &n);
        FUZZ_ASSERT(s && s[n] == 0);
        free(s);
    }
    tok_ids_free(&ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *rest = (const char *)data + 1;
    const size_t n = size - 1;
    if (data[0] & 1) {
        encode_decode(tiny, rest, n);
        return 0;
    }
    LpoiErr err = {{0}};
    Tokenizer *t = tokenizer_load_json(rest, n, "fuzz.json", &err);
    if (!t) {
        FUZZ_ASSERT(!strncmp(err.msg, "fuzz.json", 9) && !strchr(err.msg, '\n'));
        return 0;
    }
    static const char *const texts[] = {"Hello world", " <s>a</s> <image>\n b", "\xe2\x96\x81\xf0\x9f\x98\x80 x", "\xff\xfe", ""};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) encode_decode(t, texts[i], strlen(texts[i]));
    tokenizer_free(t);
    return 0;
}
