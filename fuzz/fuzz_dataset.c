// fuzz_dataset.c — libFuzzer target for the training data path: a JSONL / JSON-array data file (or a
// negatives manifest joined to a fixed data file) through dataset_load, then every record through
// data_tokenize (the llava-1.5 chat template + testdata/tiny_llava's tokenizer, TRL's split and
// keep_end truncation) and laid out as batch rows (data_row_length / data_row_fill) into buffers
// of exactly the computed size, so ASan sees any overrun (issue 16's `<image>`-in-an-answer bug).
// Invariants: a refusal is one line naming the file; an accepted sequence has its prompt inside it,
// exactly one image token, in-vocabulary ids, BOS first and EOS last (unless keep_end cut it).
// Input: byte 0 picks the mode (bit 0: the input is the manifest, bit 1: skip_bad, bit 2: small
// limits that force truncation); the rest is the file. Run from the repository root (`./nob fuzz`).
// fuzz-link: src/text src/image src/lpoi/dataset.c src/lpoi/dataset_build.c src/lpoi/negatives.c src/lpoi/record_fields.c
#include "lpoi/dataset.h"
#include "base/file.h"
#include "text/tokenizer.h"
#include "fuzz_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static Tokenizer *tok;
static char dir[64], data_path[128], manifest_path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    tok = fuzz_tiny_tokenizer("fuzz_dataset");
    LpoiErr err = {{0}};
    snprintf(dir, sizeof dir, "/tmp/fuzz_dataset_%d", (int)getpid());
    file_mkdir(dir, &err);
    snprintf(data_path, sizeof data_path, "%s/data.jsonl", dir);
    snprintf(manifest_path, sizeof manifest_path, "%s/manifest.jsonl", dir);
    return 0;
}

// truncated: TRL's keep_end cuts a response after EOS was appended, so EOS may be gone.
static void check_seq(const DataSeq *q, int32_t image, bool truncated) {
    FUZZ_ASSERT(q->n >= 2 && q->n_prompt >= 1 && q->n_prompt < q->n);
    FUZZ_ASSERT(q->ids[0] == tokenizer_bos_id(tok) && (truncated || q->ids[q->n - 1] == tokenizer_eos_id(tok)));
    int images = 0;
    for (int k = 0; k < q->n; k++) {
        FUZZ_ASSERT(q->ids[k] >= 0 && (size_t)q->ids[k] < tokenizer_vocab_size(tok));
        images += q->ids[k] == image;
    }
    FUZZ_ASSERT(images == 1);
    // The batch row, in buffers of exactly its length (any overrun is an ASan report).
    const int n_image = 1 + (q->n % 7);
    size_t len;
    LpoiErr err = {{0}};
    FUZZ_ASSERT(data_row_length(q, image, n_image, &len, &err));
    int32_t *ids = malloc(len * sizeof *ids), *lab = malloc(len * sizeof *lab), *msk = malloc(len * sizeof *msk);
    FUZZ_ASSERT(data_row_fill(q, image, n_image, len, ids, lab, msk) == len);
    free(ids);
    free(lab);
    free(msk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    LpoiErr err = {{0}};
    const bool manifest = mode & 1;
    if (manifest) {
        static const char fixed[] =
            "{\"img_path\": \"a.png\", \"prompt\": \"What is it?\", \"chosen\": \"A box.\", \"rejected\": \"A cat.\"}\n"
            "{\"img_path\": \"b.png\", \"prompt\": \"And this?\", \"chosen\": \"A dog.\", \"rejected\": \"A car.\"}\n";
        if (!file_write_atomic(data_path, fixed, sizeof fixed - 1, &err) ||
            !file_write_atomic(manifest_path, data + 1, size - 1, &err))
            abort();
    } else if (!file_write_atomic(data_path, data + 1, size - 1, &err)) {
        abort();
    }
    DatasetOptions o = {.manifest = manifest ? manifest_path : NULL, .list_size = manifest ? 3 : 0,
                        .skip_bad = (mode & 2) != 0, .check_files = false};
    Dataset d;
    if (!dataset_load(&d, data_path, &o, &err)) {
        FUZZ_ASSERT(!strchr(err.msg, '\n') && strstr(err.msg, dir));
        return 0;
    }
    const int32_t image = tokenizer_token_to_id(tok, "<image>", 7);
    DataTokLimits lim = {.max_length = mode & 4 ? 24 : 512, .max_prompt_length = mode & 4 ? 12 : 128, .image_token = image};
    for (int i = 0; i < d.n; i++) {
        DataTokens t;
        LpoiErr e = {{0}};
        if (!data_tokenize(&d.rec[i], tok, &lim, &t, &e)) {
            FUZZ_ASSERT(e.msg[0] && !strchr(e.msg, '\n'));
            continue;
        }
        check_seq(&t.chosen, image, t.truncated);
        check_seq(&t.rejected, image, t.truncated);
        data_tokens_free(&t);
    }
    dataset_free(&d);
    return 0;
}
