// generate_llava.c — LLaVA-1.5 generation behind `lpoi generate --image` and `--batch` (generate_llava.h).
// The steps HF's LlavaProcessor + LlavaForConditionalGeneration.generate take, in C:
//   image   decode (image.h) → preprocess_image with the folder's image-processor config
//           (preprocessor_config.json, or the "image_processor" object of processor_config.json as
//           transformers 5 saves it) → pixel_values [1, 3, R, R]
//   text    a prompt without "<image>" is put in the llava-1.5 chat template
//           ("USER: <image>\n{prompt} ASSISTANT:"), one that has it is used as is; encoded with the
//           folder's tokenizer.json (BOS as its post-processor adds it), then every <image> is
//           expanded to the N image tokens of one image (llava_expand_image_tokens)
//   decode  llava_generate: the merged embeddings prefill the KV cache, then greedy / sampled
//           tokens until EOS or --max-new; printed with special tokens skipped.
// The load (tokenizer, image-processor config, backend, model) is a LlavaSession, opened once; the
// per-example steps (image, text, decode) are llava_session_answer. `--batch` (llava_batch) runs
// them for every line of a JSONL file.
#include "lpoi/generate_llava.h"
#include "lpoi/adapter_io.h"
#include "lpoi/generate_idefics2.h"
#include "lpoi/record_fields.h"
#include "models/llava.h"
#include "image/image.h"
#include "image/preprocess.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "base/check.h"
#include "base/file.h"
#include "base/strbuf.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


void llava_answer_free(LlavaAnswer *ans) {
    free(ans->prompt_ids);
    free(ans->ids);
    free(ans->text);
    memset(ans, 0, sizeof *ans);
}

struct LlavaSession {
    char *model_dir;
    Tokenizer *tok;
    PreprocessConfig pc;
    Backend *be;
    LlavaModel m;
    bool have_model;
    int32_t stops[LLAMA_MAX_EOS + 1];
    int nstop;
    Idefics2Session *idefics2;   // an Idefics2 folder (config.json model_type): answered there
};

void llava_session_close(LlavaSession *s) {
    if (!s) return;
    idefics2_session_close(s->idefics2);
    if (s->have_model) llava_free(&s->m);
    if (s->be) backend_destroy(s->be);
    tokenizer_free(s->tok);
    free(s->model_dir);
    free(s);
}

LlavaSession *llava_session_open(const char *model_dir, const char *device, Precision precision, const char *adapter,
                                 LpoiErr *err) {
    LlavaSession *s = calloc_check(1, sizeof *s);
    s->model_dir = strdup(model_dir);
    if (!s->model_dir) LPOI_DIE("out of memory");
    if (model_dir_is_idefics2(model_dir)) {
        if (precision != PRECISION_FP32) {   // its 16-bit path has no test yet: say so rather than ignore the flag
            err_set(err, "%s: --precision %s is not available for Idefics2 yet (fp32 only)", model_dir,
                    precision_name(precision));
            goto fail;
        }
        if (!(s->idefics2 = idefics2_session_open(model_dir, device, adapter, err))) goto fail;
        return s;
    }
    if (!(s->tok = tokenizer_load_dir(model_dir, err))) goto fail;
    if (!preprocess_config_load_dir(&s->pc, model_dir, err)) goto fail;
    if (!(s->be = backend_open(device, err))) goto fail;
    s->be->precision = precision;
    if (!llava_open(&s->m, s->be, model_dir, err)) goto fail;
    s->have_model = true;
    if (adapter && !adapter_load_dir(&s->m, adapter, err)) goto fail;
    const LlavaConfig *c = &s->m.cfg;
    int32_t image_id = tokenizer_token_to_id(s->tok, "<image>", 7);
    if (image_id != c->image_token) {
        err_set(err, "%s: the tokenizer's <image> is id %d but image_token_index is %d", model_dir, image_id,
                c->image_token);
        goto fail;
    }
    for (int i = 0; i < c->text.n_eos; i++) s->stops[s->nstop++] = c->text.eos_ids[i];
    if (tokenizer_eos_id(s->tok) >= 0) s->stops[s->nstop++] = tokenizer_eos_id(s->tok);
    return s;
fail:
    llava_session_close(s);
    return NULL;
}

bool llava_session_set_adapter(LlavaSession *s, const char *adapter, LpoiErr *err) {
    if (s->idefics2)   // the base model answers; adapters are only loaded at open for Idefics2 so far
        return !adapter || err_set(err, "%s: swapping adapters on an Idefics2 model is not available yet (LLaVA-1.5 only)",
                                   s->model_dir);
    llava_lora_remove(&s->m);
    if (!adapter || adapter_load_dir(&s->m, adapter, err)) return true;
    llava_lora_remove(&s->m);   // a half-loaded adapter (created, then refused) must not stay on
    return false;
}

// The inputs of one example: img's pixel values on the backend (*pix) and the ids of the rendered
// text, its one <image> expanded (*ids, *n). *f names the input that could not be used.
static bool session_inputs(LlavaSession *s, const Image *img, const char *image_name, const char *text, float **pix,
                           int32_t **ids_out, int *n_out, LlavaFail *f, LpoiErr *err) {
    Backend *be = s->be;
    const LlavaConfig *c = &s->m.cfg;
    PixelValues pv = {0};
    TokIds ids = {0};
    bool ok = false;
    *f = LLAVA_FAIL_IMAGE;
    if (!preprocess_image(&s->pc, img, &pv, err)) { err_prefix(err, "%s", image_name); goto done; }
    if (pv.c != c->vision.ch || pv.h != c->vision.S || pv.w != c->vision.S) {
        err_set(err, "%s: the image processor makes %dx%dx%d pixel_values but the vision tower takes %dx%dx%d",
                s->model_dir, pv.c, pv.h, pv.w, c->vision.ch, c->vision.S, c->vision.S);
        goto done;
    }
    *f = LLAVA_FAIL_PROMPT;
    if (!tokenizer_encode(s->tok, text, strlen(text), true, &ids, err)) { err_prefix(err, "prompt"); goto done; }
    int n_images = 0;
    for (size_t i = 0; i < ids.count; i++) n_images += ids.ids[i] == c->image_token;
    if (n_images != 1) { err_set(err, "prompt: %d <image> tokens, but one image was given", n_images); goto done; }
    int cap = (int)ids.count + c->tokens_per_image;
    *ids_out = malloc_check((size_t)cap * sizeof **ids_out);
    *n_out = llava_expand_image_tokens(c, ids.ids, (int)ids.count, *ids_out, cap, err);
    if (*n_out < 0) { free(*ids_out); *ids_out = NULL; goto done; }
    size_t np = (size_t)pv.c * pv.h * pv.w;
    *pix = be->alloc(be, np * sizeof(float));
    be->upload(be, *pix, pv.data, np * sizeof(float));
    ok = true;
done:
    tok_ids_free(&ids);
    pixel_values_free(&pv);
    return ok;
}

// A prompt without "<image>" goes in the llava-1.5 chat template; one that has it is used as is.
static char *render_prompt(const char *prompt) {
    char *text = strstr(prompt, "<image>") ? strdup(prompt) : chat_llava15_prompt(prompt);
    if (!text) LPOI_DIE("out of memory");
    return text;
}

bool llava_session_answer(LlavaSession *s, const LlavaGenArgs *a, LlavaAnswer *ans, LlavaFail *fail, LpoiErr *err) {
    if (s->idefics2) return idefics2_session_answer(s->idefics2, a, ans, fail, err);
    memset(ans, 0, sizeof *ans);
    bool ok = false;
    LlavaFail f = LLAVA_FAIL_IMAGE;
    Image img = {0};
    char *text = NULL;
    float *pix = NULL;

    if (!preprocess_load_image(&img, a->image, NULL, err)) goto done;
    text = render_prompt(a->prompt);
    if (!session_inputs(s, &img, a->image, text, &pix, &ans->prompt_ids, &ans->n_prompt, &f, err)) goto done;
    f = LLAVA_FAIL_GENERATE;
    LlamaGenOpts o = {.max_new = a->max_new, .temperature = a->temperature, .top_p = a->top_p, .seed = a->seed,
                      .stop_ids = s->stops, .n_stop = s->nstop};
    ans->ids = malloc_check((size_t)(a->max_new > 0 ? a->max_new : 1) * sizeof *ans->ids);
    ans->n = llava_generate(&s->m, ans->prompt_ids, ans->n_prompt, 1, pix, &o, ans->ids, err);
    if (ans->n < 0) goto done;
    ans->text = tokenizer_decode(s->tok, ans->ids, (size_t)ans->n, true, &ans->text_len);
    ok = true;
    f = LLAVA_FAIL_NONE;
done:
    if (pix) s->be->free(s->be, pix);
    free(text);
    image_free(&img);
    if (!ok) llava_answer_free(ans);
    if (fail) *fail = f;
    return ok;
}

// The tokens cont adds after text: text + cont is encoded whole and must begin with text's ids (as
// training tokenizes an answer after its prompt). malloc'ed into *out, *n >= 1.
static bool continuation_ids(const Tokenizer *tok, const char *text, const TokIds *prefix, const char *cont,
                             int32_t **out, int *n, LpoiErr *err) {
    size_t lt = strlen(text), lc = strlen(cont);
    char *full = malloc_check(lt + lc + 1);
    memcpy(full, text, lt);
    memcpy(full + lt, cont, lc + 1);
    TokIds ids = {0};
    bool ok = tokenizer_encode(tok, full, lt + lc, true, &ids, err);
    if (ok && (ids.count <= prefix->count || memcmp(ids.ids, prefix->ids, prefix->count * sizeof *ids.ids)))
        ok = err_set(err, "\"%s\" adds no token of its own after the prompt (the tokenizer merges it into the "
                     "prompt's last tokens)", cont);
    if (ok) {
        *n = (int)(ids.count - prefix->count);
        *out = malloc_check((size_t)*n * sizeof **out);
        memcpy(*out, ids.ids + prefix->count, (size_t)*n * sizeof **out);
    }
    tok_ids_free(&ids);
    free(full);
    return ok;
}

// sum_j log_softmax(rows[j])[tail[j]] over n rows of V logits, in double.
static double score_rows(const float *rows, size_t V, const int32_t *tail, int n) {
    double total = 0;
    for (int j = 0; j < n; j++) {
        const float *r = rows + (size_t)j * V;
        double mx = r[0], sum = 0;
        for (size_t v = 1; v < V; v++) mx = r[v] > mx ? r[v] : mx;
        for (size_t v = 0; v < V; v++) sum += exp((double)r[v] - mx);
        total += (double)r[tail[j]] - mx - log(sum);
    }
    return total;
}

bool llava_session_continuation_logps(LlavaSession *s, const Image *img, const char *prompt, const char *const *cont,
                                      int n_cont, double *logp, int *n_tok, LpoiErr *err) {
    if (s->idefics2) return err_set(err, "%s: verification with an Idefics2 model is not available yet (LLaVA-1.5 only)",
                                    s->model_dir);
    Backend *be = s->be;
    size_t V = (size_t)s->m.cfg.text.V;
    char *text = render_prompt(prompt);
    TokIds prefix = {0};
    int32_t **tails = calloc_check((size_t)(n_cont > 0 ? n_cont : 1), sizeof *tails);
    int32_t *ids = NULL, *seq = NULL;
    int n = 0, longest = 0;
    float *pix = NULL, *logits = NULL, *rows = NULL;
    LlavaFail f;
    bool ok = tokenizer_encode(s->tok, text, strlen(text), true, &prefix, err);
    for (int i = 0; ok && i < n_cont; i++) {
        ok = continuation_ids(s->tok, text, &prefix, cont[i], &tails[i], &n_tok[i], err);
        for (int j = 0; ok && j < n_tok[i]; j++)
            if (tails[i][j] < 0 || (size_t)tails[i][j] >= V || tails[i][j] == s->m.cfg.image_token)
                ok = err_set(err, "\"%s\" encodes to token %d, not a text token of the model", cont[i], tails[i][j]);
        if (ok && n_tok[i] > longest) longest = n_tok[i];
    }
    if (ok) ok = session_inputs(s, img, "image", text, &pix, &ids, &n, &f, err);
    if (ok) {
        seq = malloc_check((size_t)(n + longest) * sizeof *seq);
        memcpy(seq, ids, (size_t)n * sizeof *seq);
        logits = be->alloc(be, (size_t)(n + longest) * V * sizeof(float));
        rows = malloc_check((size_t)longest * V * sizeof *rows);
    }
    // One forward of prompt + continuation per continuation, except that a one-token continuation
    // is scored from the row before it, which every forward of this prompt shares (causal).
    bool have_first_row = false;
    for (int i = 0; ok && i < n_cont; i++) {
        int k = n_tok[i];
        if (k > 1 || !have_first_row) {
            memcpy(seq + n, tails[i], (size_t)k * sizeof *seq);
            LlavaBatch b = {.B = 1, .T = n + k, .input_ids = seq, .n_images = 1, .pixel_values = pix};
            if (!(ok = llava_logits(&s->m, &b, logits, err))) break;
            // Rows n-1 .. n+k-2 predict the continuation's tokens; row n-1 is the shared one.
            be->download(be, rows, logits + (size_t)(n - 1) * V, (size_t)k * V * sizeof *rows);
            have_first_row = true;   // rows[0] is row n-1 after any forward of this prompt
        }
        logp[i] = score_rows(rows, V, tails[i], k);
    }
    if (logits) be->free(be, logits);
    if (pix) be->free(be, pix);
    for (int i = 0; i < n_cont; i++) free(tails[i]);
    free(tails);
    free(rows);
    free(seq);
    free(ids);
    tok_ids_free(&prefix);
    free(text);
    return ok;
}

bool llava_answer(const LlavaGenArgs *a, LlavaAnswer *ans, LpoiErr *err) {
    memset(ans, 0, sizeof *ans);
    LlavaSession *s = llava_session_open(a->model_dir, a->device, a->precision, a->adapter, err);
    if (!s) return false;
    bool ok = llava_session_answer(s, a, ans, NULL, err);
    llava_session_close(s);
    return ok;
}

// ---- batch ----

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return false;
    return true;
}

// One line → its output JSON line in *line_out; false + "field: reason".
static bool batch_line(LlavaSession *s, const LlavaBatchArgs *a, const char *dir, const char *text, size_t len,
                       size_t lineno, StrBuf *line_out, LpoiErr *err) {
    LpoiErr e = {{0}};
    JsonDoc *doc = json_parse(text, len, &e);
    if (!doc) return err_set(err, "json: %s", e.msg);
    bool ok = false;
    char *path = NULL, *image = NULL, *prompt = NULL;
    const char *image_field;
    LlavaAnswer ans = {0};
    const JsonValue *root = json_root(doc), *id;
    if (root->type != JSON_OBJECT) { err_set(err, "json: not an object"); goto done; }
    // The same image and prompt fields as training records (img_path / image / images, TRL messages).
    if (!record_image(root, "image", &image, &image_field, err)) goto done;
    if (!record_text(root, "prompt", "user", false, &prompt, NULL, err)) goto done;
    id = json_get(root, "id");
    if (id && id->type != JSON_STRING && id->type != JSON_NUMBER && id->type != JSON_NULL) {
        err_set(err, "id: must be a string or a number");
        goto done;
    }
    if (image[0] != '/' && dir) {
        size_t n = strlen(dir) + strlen(image) + 2;
        path = malloc_check(n);
        snprintf(path, n, "%s/%s", dir, image);
    }
    LlavaGenArgs g = {.image = path ? path : image, .prompt = prompt, .max_new = a->max_new,
                      .temperature = a->temperature, .top_p = a->top_p, .seed = a->seed};
    LlavaFail fail;
    if (!llava_session_answer(s, &g, &ans, &fail, &e)) {
        const char *field = fail == LLAVA_FAIL_IMAGE ? "image" : fail == LLAVA_FAIL_PROMPT ? "prompt" : "generate";
        // The prompt step's messages already start with "prompt: ".
        if (fail == LLAVA_FAIL_PROMPT && !strncmp(e.msg, "prompt: ", 8)) err_set(err, "%s", e.msg);
        else err_set(err, "%s: %s", field, e.msg);
        goto done;
    }
    line_out->len = 0;
    strbuf_printf(line_out, "{\"line\": %zu, \"id\": ", lineno);
    if (!id || id->type == JSON_NULL) strbuf_printf(line_out, "null");
    else if (id->type == JSON_NUMBER) strbuf_printf(line_out, "%s", id->str);
    else strbuf_json_text(line_out, id->str, id->len);
    strbuf_printf(line_out, ", \"image\": ");
    strbuf_json_text(line_out, image, strlen(image));
    strbuf_printf(line_out, ", \"prompt\": ");
    strbuf_json_text(line_out, prompt, strlen(prompt));
    strbuf_printf(line_out, ", \"answer\": ");
    strbuf_json_text(line_out, ans.text, ans.text_len);
    strbuf_printf(line_out, "}\n");
    ok = true;
done:
    llava_answer_free(&ans);
    free(path);
    free(image);
    free(prompt);
    json_free(doc);
    return ok;
}

bool llava_batch(const LlavaBatchArgs *a, LlavaBatchStats *st, LpoiErr *err) {
    memset(st, 0, sizeof *st);
    // Read once into memory: the lines are counted, then answered, and a pipe cannot be rewound.
    size_t in_len;
    char *in = file_read_all(a->batch, (size_t)1 << 30, &in_len, err);
    if (!in) return false;
    FILE *f = in_len ? fmemopen(in, in_len, "rb") : fopen("/dev/null", "rb");
    if (!f) { free(in); return err_set(err, "%s: cannot open: %s", a->batch, strerror(errno)); }
    bool ok = false, out_open = false;
    char *line = NULL, *dir = NULL;
    size_t cap = 0, total = 0, lineno = 0, done_lines = 0;
    ssize_t n;
    StrBuf out = {0};
    AtomicFile af;
    LlavaSession *s = NULL;
    while ((n = getline(&line, &cap, f)) >= 0) total += !is_blank(line, (size_t)n);
    if (ferror(f)) { err_set(err, "%s: read error", a->batch); goto done; }
    if (total == 0) { err_set(err, "%s: no examples (every line is blank)", a->batch); goto done; }
    rewind(f);
    // Relative image paths: from the batch file's folder, or from the current one when the batch
    // comes through a pipe or a terminal (/dev/stdin, /dev/fd/N, a FIFO: its folder means nothing).
    struct stat bst;
    const char *slash = stat(a->batch, &bst) == 0 && S_ISREG(bst.st_mode) ? strrchr(a->batch, '/') : NULL;
    if (slash) dir = strndup(a->batch, slash == a->batch ? 1 : (size_t)(slash - a->batch));
    if (slash && !dir) LPOI_DIE("out of memory");
    if (!(s = llava_session_open(a->model_dir, a->device, a->precision, a->adapter, err))) goto done;
    if (a->out) {
        if (!atomic_file_begin(&af, a->out, err)) goto done;
        out_open = true;
    }
    double t0 = now_s(), last = t0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        if (is_blank(line, len)) continue;
        done_lines++;
        LpoiErr e = {{0}};
        if (!batch_line(s, a, dir, line, len, lineno, &out, &e)) {
            if (!a->skip_bad) { err_set(err, "%s:%zu: %s", a->batch, lineno, e.msg); goto done; }
            if (a->log) fprintf(a->log, "skipped: %s:%zu: %s\n", a->batch, lineno, e.msg);
            st->skipped++;
            continue;
        }
        if (out_open) {
            if (!atomic_file_write(&af, out.s, out.len, err)) { out_open = false; goto done; }
        } else if (fwrite(out.s, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
            err_set(err, "stdout: write failed: %s", strerror(errno));
            goto done;
        }
        st->answered++;
        double t = now_s();
        if (a->log && a->progress && (st->answered % 10 == 0 || t - last > 10)) {
            fprintf(a->log, "lpoi generate: %zu/%zu lines, %d answers, %.2f examples/s\n", done_lines, total,
                    st->answered, st->answered / (t - t0 > 1e-9 ? t - t0 : 1e-9));
            last = t;
        }
    }
    if (ferror(f)) { err_set(err, "%s: read error", a->batch); goto done; }
    st->seconds = now_s() - t0;
    if (st->answered == 0) { err_set(err, "%s: no line could be answered (%d skipped)", a->batch, st->skipped); goto done; }
    if (out_open) {
        out_open = false;
        if (!atomic_file_commit(&af, err)) goto done;
    }
    ok = true;
done:
    if (out_open) atomic_file_abort(&af);
    llava_session_close(s);
    free(out.s);
    free(dir);
    free(line);
    fclose(f);
    free(in);
    return ok;
}
