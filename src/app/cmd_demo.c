// cmd_demo.c — `lpoi demo`: parses the flags and runs the embedded end-to-end job (demo/demo.h);
// `--char-model` runs the older character-model smoke test (demo/demo_char.h).
#include "app/commands.h"
#include "demo/demo.h"
#include "demo/demo_char.h"
#include "demo/synth.h"
#include "lpoi/trainer_options.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *to, int code) {
    DemoArgs d = demo_defaults();
    TrainOptions t;
    train_options_default(&t);
    fprintf(to,
            "usage: lpoi demo [--out DIR] [--steps N] [--examples N] [--heldout N] [--list-size L] [--seed N]\n"
            "                 [--lr X] [--lora-r R] [--lora-alpha A] [--batch N] [--beta B] [--objective lpoi|dpo|mdpo]\n"
            "                 [--device cpu|cuda|auto]\n"
            "                 [--prepare-only] [--quiet]\n"
            "       lpoi demo --char-model [...]   (the older character-model smoke test; --char-model --help)\n"
            "\n"
            "The embedded end-to-end job, no download and no GPU needed (about a minute on 2 idle CPU cores):\n"
            "  1. OUT/data   a synthetic preference set: %dx%d pictures of 1-3 coloured shapes on solid,\n"
            "                gradient or noise backgrounds; prompt \"%s\"; the chosen answer\n"
            "                names the main object (\"A red circle.\"), the rejected one an absent object; the\n"
            "                main object's true box is the box LPOI masks (train.jsonl, heldout.jsonl, images/)\n"
            "  2. OUT/model  a tiny random LLaVA-1.5-architecture model in Hugging Face format (CLIP vision\n"
            "                tower, projector, LLaMA, BPE tokenizer, processor; transformers loads it:\n"
            "                tools/test_demo_model_loads.py --dir OUT compares its logits with lpoi's)\n"
            "  3. held-out evaluation with the initial adapter (B = 0: S_k = 0 for every image, a tie)\n"
            "  4. LPOI training (text DPO + anchor + listwise ranking of L progressively masked images,\n"
            "     LoRA on every linear layer) into OUT/run (log.jsonl, OUT/run/adapter = PEFT adapter)\n"
            "  5. held-out evaluation again: full-order list accuracy (S_1 > ... > S_L; chance 1/L!),\n"
            "     pairwise accuracy (chance 1/2) and mean S_1 - S_L, before and after, and how often the\n"
            "     true answer beats the hallucinated one; OUT/list_strip.png (one held-out list with its\n"
            "     S_k), OUT/loss_curves.png, OUT/adapter_check.safetensors (lpoi's logits with the adapter)\n"
            "Exit status 1 when (with --objective lpoi) the held-out full-order accuracy did not end at least\n"
            "25 points above chance.\n"
            "\n"
            "  --out DIR        output folder, must not exist or be empty (default: ./lpoi-demo, or\n"
            "                   ./lpoi-demo-2, -3, ... when taken)\n"
            "  --steps N        optimiser steps (default %d)\n"
            "  --examples N     training examples (default %d)\n"
            "  --heldout N      held-out examples (default %d)\n"
            "  --list-size L    images per list, 2..8 (default %d, as the paper)\n"
            "  --seed N         data, model and training seed (default %llu)\n"
            "  --lr X           peak learning rate, linear decay (default %g)\n"
            "  --lora-r R       LoRA rank (default %d)\n"
            "  --lora-alpha A   LoRA alpha, scale alpha / r (default %g, as lpoi train)\n"
            "  --batch N        examples per optimiser step (default %d)\n"
            "  --beta B         DPO / LPOI beta (default %g)\n"
            "  --objective O    lpoi (default), or a baseline to compare with: dpo (text DPO only) or mdpo\n"
            "                   (DPO + anchor + image-conditional term with a random crop); the held-out lists\n"
            "                   are scored the same way for all three\n"
            "  --device D       cpu (default), cuda or auto\n"
            "  --prepare-only   write OUT/data, OUT/model and OUT/model_check.safetensors, then stop\n"
            "  --quiet          no training progress line\n",
            d.image_size, d.image_size, SYNTH_PROMPT, d.steps, d.examples, d.heldout, d.list_size,
            (unsigned long long)d.seed, d.lr, d.lora_r, t.lora_alpha, d.batch, d.beta);
    return code;
}

static bool parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

static bool parse_dbl(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0) return false;
    *out = v;
    return true;
}

int cmd_demo(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--char-model")) return demo_char_model(argc, argv);
    DemoArgs a = demo_defaults();
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) return usage(stdout, 0);
        if (!strcmp(arg, "--prepare-only")) { a.prepare_only = true; continue; }
        if (!strcmp(arg, "--quiet")) { a.quiet = true; continue; }
        if (!val) { fprintf(stderr, "lpoi demo: unknown option or missing value: %s\n", arg); return usage(stderr, 2); }
        int seed = 0;
        bool ok = true;
        if (!strcmp(arg, "--out")) a.out = val;
        else if (!strcmp(arg, "--device")) a.device = val;
        else if (!strcmp(arg, "--steps")) ok = parse_int(val, 1, 1000000, &a.steps);
        else if (!strcmp(arg, "--examples")) ok = parse_int(val, 1, 1000000, &a.examples);
        else if (!strcmp(arg, "--heldout")) ok = parse_int(val, 1, 1000000, &a.heldout);
        else if (!strcmp(arg, "--list-size")) ok = parse_int(val, 2, 8, &a.list_size);
        else if (!strcmp(arg, "--lora-r")) ok = parse_int(val, 1, 256, &a.lora_r);
        else if (!strcmp(arg, "--lora-alpha")) ok = parse_dbl(val, &a.lora_alpha) && a.lora_alpha > 0;
        else if (!strcmp(arg, "--batch")) ok = parse_int(val, 1, 4096, &a.batch);
        else if (!strcmp(arg, "--seed")) { ok = parse_int(val, 0, 2000000000, &seed); a.seed = (uint64_t)seed; }
        else if (!strcmp(arg, "--lr")) ok = parse_dbl(val, &a.lr);
        else if (!strcmp(arg, "--beta")) ok = parse_dbl(val, &a.beta);
        else if (!strcmp(arg, "--objective")) ok = obj_kind_parse(val, &a.objective);
        else { fprintf(stderr, "lpoi demo: unknown option %s\n", arg); return usage(stderr, 2); }
        if (!ok) { fprintf(stderr, "lpoi demo: bad value for %s: %s\n", arg, val); return 2; }
        i++;
    }
    return demo_run(&a);
}
