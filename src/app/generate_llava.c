// generate_llava.c — `lpoi generate --model DIR --image IMG --prompt TEXT` on a LLaVA-1.5 folder.
// The steps HF's LlavaProcessor + LlavaForConditionalGeneration.generate take, in C:
//   image   decode (image.h) → preprocess_image with the folder's image-processor config
//           (preprocessor_config.json, or the "image_processor" object of processor_config.json as
//           transformers 5 saves it) → pixel_values [1, 3, S, S]
//   text    a prompt without "<image>" is put in the llava-1.5 chat template
//           ("USER: <image>\n{prompt} ASSISTANT:"), one that has it is used as is; encoded with the
//           folder's tokenizer.json (BOS as its post-processor adds it), then every <image> is
//           expanded to the N image tokens of one image (llava_expand_image_tokens)
//   decode  llava_generate: the merged embeddings prefill the KV cache, then greedy / sampled
//           tokens until EOS or --max-new; printed with special tokens skipped.
#include "app/generate_llava.h"
#include "models/llava.h"
#include "image/image.h"
#include "image/preprocess.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "base/check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// preprocessor_config.json, else processor_config.json's "image_processor" (transformers 5).
static bool load_image_config(PreprocessConfig *pc, const char *dir, LpoiErr *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    if (access(path, R_OK) == 0) return preprocess_config_load(pc, path, err);
    snprintf(path, sizeof path, "%s/processor_config.json", dir);
    size_t size;
    char *text = file_read_all(path, 16u << 20, &size, err);
    if (!text) return err_prefix(err, "%s: no preprocessor_config.json either", dir);
    LpoiErr e = {{0}};
    JsonDoc *doc = json_parse(text, size, &e);
    free(text);
    if (!doc) return err_set(err, "%s: %s", path, e.msg);
    const JsonValue *ip = json_get(json_root(doc), "image_processor");
    bool ok = ip && ip->type == JSON_OBJECT;
    if (!ok) err_set(err, "%s: no \"image_processor\" object (and no preprocessor_config.json)", path);
    else if (!(ok = preprocess_config_from_json(pc, ip, &e))) err_set(err, "%s: image_processor: %s", path, e.msg);
    json_free(doc);
    return ok;
}

void llava_answer_free(LlavaAnswer *ans) {
    free(ans->prompt_ids);
    free(ans->ids);
    free(ans->text);
    memset(ans, 0, sizeof *ans);
}

bool llava_answer(const LlavaGenArgs *a, LlavaAnswer *ans, LpoiErr *err) {
    memset(ans, 0, sizeof *ans);
    bool ok = false, have_model = false;
    Tokenizer *tok = NULL;
    Backend *be = NULL;
    LlavaModel m;
    Image img = {0};
    PixelValues pv = {0};
    TokIds ids = {0};
    char *text = NULL;
    float *pix = NULL;
    PreprocessConfig pc;

    if (!(tok = tokenizer_load_dir(a->model_dir, err))) goto done;
    if (!load_image_config(&pc, a->model_dir, err)) goto done;
    if (!image_decode_file(&img, a->image, NULL, err)) goto done;
    if (!preprocess_image(&pc, &img, &pv, err)) { err_prefix(err, "%s", a->image); goto done; }
    if (!(be = backend_open(a->device, err))) goto done;
    if (!llava_open(&m, be, a->model_dir, err)) goto done;
    have_model = true;
    const LlavaConfig *c = &m.cfg;
    if (pv.c != c->vision.ch || pv.h != c->vision.S || pv.w != c->vision.S) {
        err_set(err, "%s: the image processor makes %dx%dx%d pixel_values but the vision tower takes %dx%dx%d",
                a->model_dir, pv.c, pv.h, pv.w, c->vision.ch, c->vision.S, c->vision.S);
        goto done;
    }
    int32_t image_id = tokenizer_token_to_id(tok, "<image>", 7);
    if (image_id != c->image_token) {
        err_set(err, "%s: the tokenizer's <image> is id %d but image_token_index is %d", a->model_dir, image_id,
                c->image_token);
        goto done;
    }
    text = strstr(a->prompt, "<image>") ? strdup(a->prompt) : chat_llava15_prompt(a->prompt);
    if (!text) LPOI_DIE("out of memory");
    if (!tokenizer_encode(tok, text, strlen(text), true, &ids, err)) { err_prefix(err, "prompt"); goto done; }
    int n_images = 0;
    for (size_t i = 0; i < ids.count; i++) n_images += ids.ids[i] == c->image_token;
    if (n_images != 1) { err_set(err, "prompt: %d <image> tokens, but one image was given", n_images); goto done; }
    int cap = (int)ids.count + c->tokens_per_image;
    ans->prompt_ids = malloc_check((size_t)cap * sizeof *ans->prompt_ids);
    ans->n_prompt = llava_expand_image_tokens(c, ids.ids, (int)ids.count, ans->prompt_ids, cap, err);
    if (ans->n_prompt < 0) goto done;
    size_t np = (size_t)pv.c * pv.h * pv.w;
    pix = be->alloc(be, np * sizeof(float));
    be->upload(be, pix, pv.data, np * sizeof(float));
    int32_t stops[LLAMA_MAX_EOS + 1];
    int nstop = 0;
    for (int i = 0; i < c->text.n_eos; i++) stops[nstop++] = c->text.eos_ids[i];
    if (tokenizer_eos_id(tok) >= 0) stops[nstop++] = tokenizer_eos_id(tok);
    LlamaGenOpts o = {.max_new = a->max_new, .temperature = a->temperature, .top_p = a->top_p, .seed = a->seed,
                      .stop_ids = stops, .n_stop = nstop};
    ans->ids = malloc_check((size_t)(a->max_new > 0 ? a->max_new : 1) * sizeof *ans->ids);
    ans->n = llava_generate(&m, ans->prompt_ids, ans->n_prompt, 1, pix, &o, ans->ids, err);
    if (ans->n < 0) goto done;
    size_t len;
    ans->text = tokenizer_decode(tok, ans->ids, (size_t)ans->n, true, &len);
    ok = true;
done:
    if (pix) be->free(be, pix);
    if (have_model) llava_free(&m);
    if (be) backend_destroy(be);
    free(text);
    tok_ids_free(&ids);
    pixel_values_free(&pv);
    image_free(&img);
    tokenizer_free(tok);
    if (!ok) llava_answer_free(ans);
    return ok;
}

int generate_llava(const LlavaGenArgs *a) {
    LlavaAnswer ans;
    LpoiErr err = {{0}};
    if (!llava_answer(a, &ans, &err)) {
        fprintf(stderr, "lpoi: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", ans.text);
    if (a->print_ids) {
        printf("prompt ids:");
        for (int i = 0; i < ans.n_prompt; i++) printf(" %d", ans.prompt_ids[i]);
        printf("\ngenerated ids:");
        for (int i = 0; i < ans.n; i++) printf(" %d", ans.ids[i]);
        printf("\n");
    }
    llava_answer_free(&ans);
    return 0;
}
