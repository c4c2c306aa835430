// fuzz_config.c — libFuzzer target for the JSON config readers a model folder and a run bring:
// the PEFT adapter_config.json (adapter_config_parse), a LLaMA/Mistral config.json
// (llama_config_parse), the image processor config (preprocess_config_from_json) and
// tokenizer_config.json applied to testdata/tiny_llava's tokenizer (tokenizer_apply_config: added
// tokens, special-token names, the BOS/EOS template). The input is one JSON document for all four.
// Invariants: a refusal has a one-line message; an accepted adapter has 1 <= r <= 4096 and
// alpha > 0; an accepted tokenizer still encodes and decodes.
// fuzz-link: src/text src/image src/lpoi/adapter_config.c src/models/llama_config.c
#include "lpoi/adapter_io.h"
#include "models/llama.h"
#include "models/model.h"
#include "image/preprocess.h"
#include "text/tokenizer.h"
#include "base/file.h"
#include "base/json.h"
#include "fuzz_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// llama_config.c's file reader is not under test (and would pull in the model loader).
bool model_config_read(const char *path, ModelConfigParse parse, void *cfg, LpoiErr *err) {
    (void)path, (void)parse, (void)cfg, (void)err;
    abort();
}

static char *tok_json;
static size_t tok_len;
static char cfg_path[96];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    LpoiErr err = {{0}};
    if (!(tok_json = file_read_all("testdata/tiny_llava/tokenizer.json", 1 << 24, &tok_len, &err))) {
        fprintf(stderr, "fuzz_config: %s (run from the repository root)\n", err.msg);
        exit(1);
    }
    snprintf(cfg_path, sizeof cfg_path, "/tmp/fuzz_config_%d.json", (int)getpid());
    return 0;
}

static void one_line(const LpoiErr *e) { FUZZ_ASSERT(e->msg[0] && !strchr(e->msg, '\n')); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    LpoiErr err = {{0}};
    JsonDoc *doc = json_parse((const char *)data, size, &err);
    if (!doc) return 0;
    const JsonValue *root = json_root(doc);
    int64_t r;
    double alpha;
    LpoiErr e = {{0}};
    if (adapter_config_parse(root, "adapter_config.json", &r, &alpha, &e)) FUZZ_ASSERT(r >= 1 && r <= 4096 && alpha > 0);
    else one_line(&e);
    LlamaConfig lc;
    memset(&e, 0, sizeof e);
    if (!llama_config_parse(&lc, root, "config.json", &e)) one_line(&e);
    PreprocessConfig pc;
    memset(&e, 0, sizeof e);
    if (!preprocess_config_from_json(&pc, root, &e)) one_line(&e);
    json_free(doc);

    // tokenizer_config.json reads a path.
    if (!file_write_atomic(cfg_path, data, size, &err)) abort();
    Tokenizer *t = tokenizer_load_json(tok_json, tok_len, "tokenizer.json", &err);
    FUZZ_ASSERT(t);
    memset(&e, 0, sizeof e);
    if (tokenizer_apply_config(t, cfg_path, &e)) {
        TokIds ids = {0};
        FUZZ_ASSERT(tokenizer_encode(t, "Hello <image> world", 19, true, &ids, &e));
        char *s = tokenizer_decode(t, ids.ids, ids.count, false, NULL);
        FUZZ_ASSERT(s);
        free(s);
        tok_ids_free(&ids);
    } else {
        one_line(&e);
    }
    tokenizer_free(t);
    return 0;
}
