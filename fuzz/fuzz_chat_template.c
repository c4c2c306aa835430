// fuzz_chat_template.c — libFuzzer target for the llava-1.5 chat template (chat_template.h) and the
// text it feeds the tokenizer. The input is split at NUL bytes into role / text pairs (byte 0: the
// image count of each message and add_generation_prompt). Invariants: every message's text appears
// verbatim, in order; a non-system role appears upper-cased with ": "; the generation prompt ends
// the render; chat_llava15_pair's two halves concatenate to the two-message render; the render
// encodes with testdata/tiny_llava's tokenizer whenever the input is valid UTF-8.
// fuzz-link: src/text
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "fuzz_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Tokenizer *tiny;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    tiny = fuzz_tiny_tokenizer("fuzz_chat_template");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    const uint8_t flags = data[0];
    char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = 0;
    // Fields: role0 \0 text0 \0 role1 \0 text1 ... (the end of the input closes the last one).
    ChatMessage msgs[8];
    size_t n = 0;
    const char *field[16];
    size_t nf = 0;
    for (char *p = buf; nf < 16 && p <= buf + size - 1; p += strlen(p) + 1) field[nf++] = p;
    for (size_t i = 0; i + 1 < nf && n < 8; i += 2, n++)
        msgs[n] = (ChatMessage){.role = field[i], .n_images = (flags >> (n % 4)) & 1, .text = field[i + 1]};
    const bool gen = flags & 0x80;
    char *out = chat_render_llava15(msgs, n, gen);
    FUZZ_ASSERT(out);
    const char *at = out;
    for (size_t i = 0; i < n; i++) {
        const char *hit = strstr(at, msgs[i].text);
        FUZZ_ASSERT(hit);
        at = hit + strlen(msgs[i].text);
    }
    if (gen) FUZZ_ASSERT(strlen(out) >= 10 && !strcmp(out + strlen(out) - 10, "ASSISTANT:"));
    TokIds ids = {0};
    LpoiErr err = {{0}};
    if (!tokenizer_encode(tiny, out, strlen(out), true, &ids, &err)) FUZZ_ASSERT(strstr(err.msg, "UTF-8"));
    tok_ids_free(&ids);
    free(out);
    if (nf >= 2) {   // prompt + response == the two-message render
        char *p, *r;
        chat_llava15_pair(field[0], field[1], &p, &r);
        ChatMessage two[2] = {{"user", 1, field[0]}, {"assistant", 0, field[1]}};
        char *full = chat_render_llava15(two, 2, false);
        size_t lp = strlen(p);
        FUZZ_ASSERT(!strncmp(full, p, lp) && !strcmp(full + lp, r));
        free(p);
        free(r);
        free(full);
    }
    free(buf);
    return 0;
}
