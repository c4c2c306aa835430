// cmd_generate.c — `lpoi generate`: continue a text prompt with a LLaMA/Mistral checkpoint (or the
// language model of a LLaVA checkpoint), greedy or sampled, with a KV cache (src/models/llama_generate.c).
// The prompt is encoded with the folder's tokenizer.json (BOS added as its post-processor says), used
// as is: no chat template. With --image the folder is a LLaVA-1.5 checkpoint (lpoi/generate_llava.c)
// or, when its config.json says model_type "idefics2", an Idefics2 one (lpoi/generate_idefics2.c);
// with --batch the same for every line of a JSONL file, the model loaded once (llava_batch).
#include "app/commands.h"
#include "lpoi/adapter_io.h"
#include "lpoi/generate_llava.h"
#include "models/llama.h"
#include "text/tokenizer.h"
#include "base/check.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *GENERATE_USAGE =
    "usage: lpoi generate --model DIR [--image IMG] --prompt TEXT [options]\n"
    "       lpoi generate --model DIR --batch FILE.jsonl [--out OUT.jsonl] [--skip-bad] [options]\n"
    "\n"
    "Continues TEXT with the language model in DIR (config.json, model.safetensors or a sharded index,\n"
    "tokenizer.json [+ tokenizer_config.json]): LlamaForCausalLM, MistralForCausalLM, or the text part of\n"
    "a LLaVA / Idefics2 checkpoint. Prints the continuation (special tokens skipped).\n"
    "\n"
    "  --image IMG       DIR is a LLaVA-1.5 or an Idefics2 checkpoint (+ preprocessor_config.json or\n"
    "                    processor_config.json; the type from config.json's model_type): answer TEXT about\n"
    "                    IMG; TEXT goes into the model's chat template (llava-1.5: \"USER: <image>\\nTEXT\n"
    "                    ASSISTANT:\", idefics2: \"User:<image>TEXT<end_of_utterance>\\nAssistant:\") unless it\n"
    "                    already holds <image>; Idefics2 splits the image as its processor config says\n"
    "                    (do_image_splitting) and stops at generation_config.json's eos_token_id too\n"
    "  --batch FILE      DIR is a LLaVA-1.5 or Idefics2 checkpoint, loaded once; answer every line of FILE, a JSONL of\n"
    "                    {\"image\": path, \"prompt\": text, \"id\": optional string or number} (a relative\n"
    "                    [the image also as img_path or images: [path], the prompt also as TRL chat messages]\n"
    "                    path is taken from FILE's folder; blank lines skipped), each as --image/--prompt\n"
    "                    would (same options, every line starting from --seed), one output line each:\n"
    "                    {\"line\": N, \"id\": ... or null, \"image\": ..., \"prompt\": ..., \"answer\": text}\n"
    "  --out OUT         with --batch: write the lines to OUT (a temp file renamed into place at the end, so\n"
    "                    a failed run leaves OUT as it was); default stdout, line by line\n"
    "  --skip-bad        with --batch: skip a bad line (FILE:LINE: field: reason on stderr) and count it,\n"
    "                    instead of failing the run; progress and a summary go to stderr\n"
    "  --adapter DIR     apply the PEFT LoRA adapter in DIR (adapter_config.json + adapter_model.safetensors,\n"
    "                    e.g. RUN/adapter from lpoi train); without --image/--batch it must adapt the\n"
    "                    language model only\n"
    "  --max-new N       tokens to generate at most (default 32); stops earlier at EOS\n"
    "  --temperature T   0 = greedy (default); > 0 samples from softmax(logits / T)\n"
    "  --top-p P         nucleus sampling mass in (0, 1] (default 1 = off)\n"
    "  --seed N          sampling seed (default 0)\n"
    "  --ids             also print the prompt and generated token ids (not with --batch)\n"
    "  --device D        auto (default: the GPU when one works, else the CPU, saying why), cpu or cuda\n"
    "  --precision P     fp32 (the default on every device today), bf16 or fp16: how the frozen Linear\n"
    "                    weights are stored (16 bits: half the memory and bytes per token; their GEMMs round\n"
    "                    the activation operand to that type, fp32 accumulation; not yet validated on a GPU)\n"
    "\n"
    "Exit status: 0 ok, 1 if the model, tokenizer or prompt cannot be used (with --batch: a bad line\n"
    "without --skip-bad, reported as FILE:LINE: field: reason, or no line answered), 2 on a usage error.\n";

static bool parse_num(const char *s, double lo, double hi, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

// The answers go to stdout: a failed write there (a full disk behind a redirect) is exit 1, never
// a silently cut answer.
static int stdout_checked(int rc) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "lpoi generate: stdout: write failed: %s\n", strerror(errno));
        return 1;
    }
    return rc;
}

// Prints llava_answer's text (and ids with print_ids). Returns the exit code (0 ok, 1 when the
// model, image, tokenizer or prompt cannot be used).
static int generate_llava(const LlavaGenArgs *a) {
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
    return stdout_checked(0);
}

// llava_batch with the log on stderr (progress when out is a file or stderr a terminal) and a
// summary line there. Returns the exit code (0 ok, 1 when the model or a line cannot be used).
static int generate_llava_batch(const LlavaBatchArgs *a) {
    LlavaBatchArgs b = *a;
    b.log = stderr;
    b.progress = a->out || isatty(2);
    LlavaBatchStats st;
    LpoiErr err = {{0}};
    if (!llava_batch(&b, &st, &err)) {
        fprintf(stderr, "lpoi: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "lpoi generate: %d answer%s in %.1f s (%.2f examples/s)", st.answered, st.answered == 1 ? "" : "s", st.seconds,
            st.seconds > 0 ? st.answered / st.seconds : 0.0);
    if (a->skip_bad) fprintf(stderr, "; skipped %d bad line%s", st.skipped, st.skipped == 1 ? "" : "s");
    if (a->out) fprintf(stderr, "; wrote %s", a->out);
    fputc('\n', stderr);
    return 0;
}

int cmd_generate(int argc, char **argv) {
    const char *model_dir = NULL, *prompt = NULL, *device = "auto", *image = NULL, *batch = NULL, *out_path = NULL;
    const char *adapter = NULL;
    Precision precision = PRECISION_FP32;
    double max_new = 32, temperature = 0, top_p = 1, seed = 0;
    bool print_ids = false, skip_bad = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(GENERATE_USAGE, stdout); return 0; }
        if (!strcmp(a, "--ids")) { print_ids = true; continue; }
        if (!strcmp(a, "--skip-bad")) { skip_bad = true; continue; }
        if (!v) { fprintf(stderr, "lpoi generate: %s needs a value (see --help)\n", a); return 2; }
        if (!strcmp(a, "--model")) model_dir = v;
        else if (!strcmp(a, "--prompt")) prompt = v;
        else if (!strcmp(a, "--image")) image = v;
        else if (!strcmp(a, "--batch")) batch = v;
        else if (!strcmp(a, "--out")) out_path = v;
        else if (!strcmp(a, "--device")) device = v;
        else if (!strcmp(a, "--adapter")) adapter = v;
        else if (!strcmp(a, "--precision")) ok = precision_parse(v, &precision);
        else if (!strcmp(a, "--max-new")) ok = parse_num(v, 1, 1 << 16, &max_new);
        else if (!strcmp(a, "--temperature")) ok = parse_num(v, 0, 1e3, &temperature);
        else if (!strcmp(a, "--top-p")) ok = parse_num(v, 1e-6, 1, &top_p);
        else if (!strcmp(a, "--seed")) ok = parse_num(v, 0, 9007199254740992.0, &seed);
        else { fprintf(stderr, "lpoi generate: unknown option '%s' (see --help)\n", a); return 2; }
        if (!ok) { fprintf(stderr, "lpoi generate: bad value '%s' for %s\n", v, a); return 2; }
        i++;
    }
    if (batch) {
        const char *bad = !model_dir ? "--batch needs --model" : prompt ? "--batch takes the prompts from FILE, not --prompt"
                        : image ? "--batch takes the images from FILE, not --image" : print_ids ? "--ids is not for --batch" : NULL;
        if (bad) { fprintf(stderr, "lpoi generate: %s (see --help)\n", bad); return 2; }
        LlavaBatchArgs ba = {.model_dir = model_dir, .device = device, .batch = batch, .out = out_path, .skip_bad = skip_bad, .adapter = adapter,
                             .precision = precision,
                             .max_new = (int)max_new, .temperature = (float)temperature, .top_p = (float)top_p,
                             .seed = (uint64_t)seed};
        return generate_llava_batch(&ba);
    }
    if (out_path || skip_bad) { fprintf(stderr, "lpoi generate: %s is for --batch (see --help)\n", out_path ? "--out" : "--skip-bad"); return 2; }
    if (!model_dir || !prompt) { fputs(GENERATE_USAGE, stderr); return 2; }
    if (image) {
        LlavaGenArgs ga = {.model_dir = model_dir, .image = image, .prompt = prompt, .device = device, .adapter = adapter,
                           .precision = precision, .max_new = (int)max_new, .temperature = (float)temperature, .top_p = (float)top_p,
                           .seed = (uint64_t)seed, .print_ids = print_ids};
        return generate_llava(&ga);
    }
    LpoiErr err = {{0}};
    Tokenizer *tok = tokenizer_load_dir(model_dir, &err);
    if (!tok) { fprintf(stderr, "lpoi: %s\n", err.msg); return 1; }
    Backend *be = backend_open(device, &err);
    if (!be) { fprintf(stderr, "lpoi: %s\n", err.msg); tokenizer_free(tok); return 1; }
    be->precision = precision;
    LlamaModel m;
    TokIds ids = {0};
    int rc = 1;
    if (!llama_open(&m, be, model_dir, &err)) { fprintf(stderr, "lpoi: %s\n", err.msg); goto done_be; }
    if (adapter && !adapter_load_llama_dir(&m, adapter, &err)) { fprintf(stderr, "lpoi: %s\n", err.msg); goto done; }
    if (!tokenizer_encode(tok, prompt, strlen(prompt), true, &ids, &err)) { fprintf(stderr, "lpoi: prompt: %s\n", err.msg); goto done; }
    int32_t stops[LLAMA_MAX_EOS + 1];
    int nstop = 0;
    for (int i = 0; i < m.cfg.n_eos; i++) stops[nstop++] = m.cfg.eos_ids[i];
    if (tokenizer_eos_id(tok) >= 0) stops[nstop++] = tokenizer_eos_id(tok);
    LlamaGenOpts o = {.max_new = (int)max_new, .temperature = (float)temperature, .top_p = (float)top_p,
                      .seed = (uint64_t)seed, .stop_ids = stops, .n_stop = nstop};
    int32_t *out = malloc_check((size_t)o.max_new * sizeof *out);
    int n = llama_generate(&m, ids.ids, (int)ids.count, &o, out, &err);
    if (n < 0) {
        fprintf(stderr, "lpoi: %s\n", err.msg);
    } else {
        size_t len;
        char *text = tokenizer_decode(tok, out, (size_t)n, true, &len);
        fwrite(text, 1, len, stdout);
        fputc('\n', stdout);
        free(text);
        if (print_ids) {
            printf("prompt ids:");
            for (size_t i = 0; i < ids.count; i++) printf(" %d", ids.ids[i]);
            printf("\ngenerated ids:");
            for (int i = 0; i < n; i++) printf(" %d", out[i]);
            printf("\n");
        }
        rc = 0;
    }
    free(out);
done:
    llama_free(&m);
done_be:
    tok_ids_free(&ids);
    backend_destroy(be);
    tokenizer_free(tok);
    return rc ? rc : stdout_checked(rc);
}
