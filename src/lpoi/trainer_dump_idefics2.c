// trainer_dump_idefics2.c — train_dump_logits for an Idefics2 folder (trainer.h): one image + prompt
// (+ answer) as Idefics2Processor makes it, the logits with the PEFT adapter, for the PEFT round-trip
// check (tools/test_peft_roundtrip_idefics2.py).
#include "lpoi/trainer.h"
#include "lpoi/trainer_internal.h"
#include "lpoi/adapter_io.h"
#include "lpoi/generate_idefics2.h"
#include "models/idefics2.h"
#include "text/chat_idefics2.h"
#include "base/check.h"
#include "base/safetensors.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The text of the example: the generation prompt, or with an answer the training pair
// "User:<image>{q}<end_of_utterance>\nAssistant: {a}<end_of_utterance>\n".
static char *example_text(const TrainDumpArgs *a) {
    if (!a->answer) return idefics2_prompt_text(a->prompt);
    char *p, *r;
    chat_idefics2_pair(a->prompt, a->answer, &p, &r);
    size_t lp = strlen(p), lr = strlen(r);
    char *text = malloc_check(lp + lr + 1);
    memcpy(text, p, lp);
    memcpy(text + lp, r, lr + 1);
    free(p);
    free(r);
    return text;
}

bool train_dump_logits_idefics2(const TrainDumpArgs *a, LpoiErr *err) {
    Tokenizer *tok = NULL;
    Backend *be = NULL;
    Idefics2Model m;
    Idefics2ImageConfig ic;
    Idefics2Pixels px = {0};
    TokIds ids = {0};
    bool have = false, ok = false;
    float *logits = NULL, *host = NULL;
    char *text = example_text(a);
    LlavaFail fail;
    if (!(tok = tokenizer_load_dir(a->model_dir, err))) goto done;
    if (!idefics2_image_config_load_dir(&ic, a->model_dir, err)) goto done;
    if (!(be = backend_open(a->device ? a->device : "cpu", err))) goto done;
    if (!idefics2_open(&m, be, a->model_dir, err)) goto done;
    have = true;
    if (a->adapter_dir) {
        if (!adapter_load_idefics2_dir(&m, a->adapter_dir, err)) goto done;
        if (a->adapter_out) {
            int r;
            double alpha;
            if (!adapter_config_read(a->adapter_dir, &r, &alpha, err) ||
                !adapter_save_idefics2_dir(&m, a->adapter_out, a->model_dir, r, alpha, err))
                goto done;
        }
    }
    idefics2_set_lora(&m, a->adapter_dir != NULL);
    if (!idefics2_encode_example(tok, &ic, m.cfg.perceiver.M, a->image, text, &ids, &px, &fail, err)) goto done;
    int T = (int)ids.count;
    size_t V = (size_t)m.cfg.text.V;
    logits = be->alloc(be, (size_t)T * V * sizeof(float));
    Idefics2Batch b = {.B = 1, .T = T, .input_ids = ids.ids, .N = px.n_images, .H = px.h, .W = px.w,
                       .pixel_values = px.pixel_values, .pixel_mask = px.pixel_attention_mask};
    if (!idefics2_logits(&m, &b, logits, err)) goto done;
    host = malloc_check((size_t)T * V * sizeof *host);
    be->download(be, host, logits, (size_t)T * V * sizeof *host);
    StWriter *w = st_writer_new();
    uint64_t sid[2] = {1, (uint64_t)T}, slg[3] = {1, (uint64_t)T, V},
             spv[5] = {1, (uint64_t)px.n_images, 3, (uint64_t)px.h, (uint64_t)px.w},
             spm[4] = {1, (uint64_t)px.n_images, (uint64_t)px.h, (uint64_t)px.w};
    st_writer_add(w, "input_ids", DTYPE_I32, 2, sid, ids.ids);
    st_writer_add_f32(w, "pixel_values", 5, spv, px.pixel_values);
    st_writer_add(w, "pixel_attention_mask", DTYPE_U8, 4, spm, px.pixel_attention_mask);
    st_writer_add_f32(w, "logits", 3, slg, host);
    ok = train_dump_write(w, a, text, err);
done:
    if (logits) be->free(be, logits);
    if (have) idefics2_free(&m);
    if (be) backend_destroy(be);
    free(host);
    free(text);
    tok_ids_free(&ids);
    idefics2_pixels_free(&px);
    tokenizer_free(tok);
    return ok;
}
