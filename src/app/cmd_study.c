// cmd_study.c — `lpoi study`: parses the flags and runs the effect study (demo/study.h).
#include "app/commands.h"
#include "demo/study.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *to, int code) {
    StudyArgs d = study_defaults(false), q = study_defaults(true);
    fprintf(to,
            "usage: lpoi study --out DIR [--seeds N] [--quick] [--steps N] [--examples N] [--heldout N]\n"
            "                  [--device cpu|cuda|auto] [--quiet] [--rescore]\n"
            "\n"
            "The effect study in the demo's synthetic world (pictures of coloured shapes, the truth known):\n"
            "for each seed a new world and tiny random LLaVA (the base), then LoRA adapters trained as\n"
            "`lpoi demo` trains them with DPO, mDPO and LPOI (L = 5, visual prompt on), and LPOI with\n"
            "L = 3, L = 4 and without the visual prompt; every model describes the held-out pictures\n"
            "(\"What is in the image?\", greedy) and CHAIR scores the descriptions with the world's objects\n"
            "(\"red circle\", ...) as the vocabulary. Writes DIR/study.md (mean +- sample standard\n"
            "deviation over seeds), DIR/study.json, DIR/study.png and each run under DIR/seed-S/<variant>/.\n"
            "About 10 minutes on 2 idle CPU cores at the defaults.\n"
            "\n"
            "  --out DIR        output folder (must not exist or be empty)\n"
            "  --seeds N        seeds 1..N (default %d)\n"
            "  --quick          a pipeline check in seconds: %d seeds, %d steps, %d examples, %d held-out, %dx%d px\n"
            "  --steps N        optimiser steps per training (default %d)\n"
            "  --examples N     training examples per seed (default %d)\n"
            "  --heldout N      held-out pictures per seed (default %d)\n"
            "  --device D       cpu (default), cuda or auto\n"
            "  --quiet          only the final table\n"
            "  --rescore        score the descriptions of the study already in DIR again (same flags), no training\n"
            "Exit status: 0 ok, 1 on a failure, 2 on a usage error or an --out folder that is not empty.\n",
            d.seeds, q.seeds, q.steps, q.examples, q.heldout, q.image_size, q.image_size, d.steps, d.examples, d.heldout);
    return code;
}

static bool parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

int cmd_study(int argc, char **argv) {
    bool quick = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--quick")) quick = true;
    StudyArgs a = study_defaults(quick);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) return usage(stdout, 0);
        if (!strcmp(o, "--quick")) continue;
        if (!strcmp(o, "--quiet")) { a.quiet = true; continue; }
        if (!strcmp(o, "--rescore")) { a.rescore = true; continue; }
        if (!v) { fprintf(stderr, "lpoi study: %s needs a value (see --help)\n", o); return 2; }
        if (!strcmp(o, "--out")) a.out = v;
        else if (!strcmp(o, "--device")) a.device = v;
        else if (!strcmp(o, "--seeds")) ok = parse_int(v, 1, 100, &a.seeds);
        else if (!strcmp(o, "--steps")) ok = parse_int(v, 1, 1000000, &a.steps);
        else if (!strcmp(o, "--examples")) ok = parse_int(v, 1, 1000000, &a.examples);
        else if (!strcmp(o, "--heldout")) ok = parse_int(v, 1, 100000, &a.heldout);
        else { fprintf(stderr, "lpoi study: unknown option '%s' (see --help)\n", o); return 2; }
        if (!ok) { fprintf(stderr, "lpoi study: bad value '%s' for %s\n", v, o); return 2; }
        i++;
    }
    if (!a.out) { fprintf(stderr, "lpoi study: --out DIR is required (see --help)\n"); return 2; }
    return study_run(&a);
}
