// cmd_score.c — `lpoi score --bench chair|amber|amber-disc|pope --answers FILE [--data DIR] [--out
// metrics.json]`: scores a model's answers with lpoi's C ports of the hallucination benchmarks
// (src/eval/bench.h), prints a table and writes the metrics JSON atomically. Exit: 0 scored, 1 bad
// input (one line "FILE:LINE: reason"), 2 usage error.
#include "app/commands.h"
#include "eval/bench.h"
#include <stdio.h>
#include <string.h>

static const char SCORE_USAGE[] =
    "usage: lpoi score --bench chair|amber|amber-disc|pope --answers FILE [--data DIR] [--out metrics.json]\n"
    "\n"
    "Scores answers (JSONL, one {\"id\": \"<item id>\", \"answer\": \"<text>\"} per line, as lpoi eval\n"
    "writes them; other keys are ignored) offline, in C:\n"
    "  chair       CHAIR_s / CHAIR_i of descriptions of the 100 COCO val2014 images with instance\n"
    "              annotations (ids: COCO image ids), as the original script of Rohrbach et al. 2018\n"
    "              computes them (nltk tokens, pattern's singularize, its synonym table and special\n"
    "              cases); also CHAIR_i with each object once per answer, CHAIR_s over answers\n"
    "              naming an object (Object HalBench's \"Response Hall\") and object recall\n"
    "  amber       AMBER generative CHAIR, Cover, Hal, Cog (ids 1-1004)\n"
    "  amber-disc  AMBER discriminative accuracy / precision / recall / F1, positive class No, for\n"
    "              existence, attribute (state, number, action) and relation (ids 1005-15220)\n"
    "  pope        POPE-style yes/no probing on the same 100 COCO images, random / popular /\n"
    "              adversarial absent objects (ids like random/42/dog)\n"
    "\n"
    "options:\n"
    "  --data DIR        chair, pope: the folder with coco_eval/ and chair/ (default ../shared/data);\n"
    "                    amber, amber-disc: AMBER's data folder (default ../shared/data/amber)\n"
    "  --out FILE        also write the metrics as JSON (atomically)\n"
    "  --per-answer F    also write each answer's reading as JSONL: chair, amber {id, objects or\n"
    "                    nouns, hallucinated}; amber-disc, pope {id, truth, read}\n"
    "  --gt-captions F   chair: reference captions of the images (a COCO captions JSON or a list of\n"
    "                    {image_id, caption}); their objects join the ground truth, as in the\n"
    "                    original CHAIR (default: instance annotations only)\n"
    "  --variant V       chair: original (default: Rohrbach et al. 2018, pattern's singularize,\n"
    "                    chair/synonyms_rohrbach2018.txt) or rlhfv (Object HalBench's rule-based path:\n"
    "                    WordNet lemmas, chair/synonyms_refine_rlhfv.txt, all its two-word entries)\n"
    "  --synonyms F      chair, pope: another object vocabulary (\"name, synonym, ...\" per line)\n"
    "  --similar F       amber: word pairs that count as similar (two words a line), standing in\n"
    "                    for spaCy similarity > 0.8, which lpoi cannot compute (default: none)\n"
    "  --exact           amber-disc, pope: only the answers \"Yes\" and \"No\" count (AMBER's own\n"
    "                    comparison); default: lpoi's yes/no reading (the first word decides; else\n"
    "                    \"not sure\", \"cannot tell\"... -> unreadable; else a negation word -> No;\n"
    "                    else \"yes\" -> Yes; else unreadable; src/eval/yesno.h)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Bad input is an error naming the file and line: malformed JSON, text that is not UTF-8, an id\n"
    "the benchmark does not have, an id answered twice, no answer to score at all. Empty answers are\n"
    "skipped and counted, and so are unanswered items; the metrics are over the answers scored.\n"
    "Not offline: nltk's POS tagger (AMBER's nouns: lpoi reads vocabulary words as nouns unless a\n"
    "small rule makes them adjectives, modals or verbs) and spaCy vectors (see --similar).\n"
    "\n"
    "Exit status: 0 scored, 1 bad input or write error, 2 usage error.\n";

int cmd_score(int argc, char **argv) {
    const char *bench = NULL, *answers = NULL, *data = NULL, *out = NULL;
    BenchOptions opt = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(SCORE_USAGE, stdout); return 0; }
        if (!strcmp(a, "--exact")) { opt.exact_yes_no = true; continue; }
        if (!strcmp(a, "--variant")) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            if (strcmp(v, "original") && strcmp(v, "rlhfv")) {
                fprintf(stderr, "lpoi score: --variant must be original or rlhfv\n");
                return 2;
            }
            opt.chair_rlhfv = !strcmp(v, "rlhfv");
            continue;
        }
        static const char *const VALUED[] = {"--bench", "--answers", "--data", "--out", "--gt-captions", "--synonyms", "--similar",
                                             "--per-answer"};
        const char **dst[] = {&bench, &answers, &data, &out, &opt.gt_captions, &opt.synonyms, &opt.similar_pairs, &opt.per_answer};
        int k = -1;
        for (int v = 0; v < 8; v++) if (!strcmp(a, VALUED[v])) k = v;
        if (k < 0) {
            fprintf(stderr, "lpoi score: unknown %s '%s' (see lpoi score --help)\n", a[0] == '-' ? "option" : "argument", a);
            return 2;
        }
        if (i + 1 >= argc) { fprintf(stderr, "lpoi score: %s needs a value\n", a); return 2; }
        *dst[k] = argv[++i];
    }
    BenchKind kind;
    if (!bench) { fprintf(stderr, "lpoi score: --bench is required (chair, amber, amber-disc or pope)\n"); return 2; }
    if (!bench_from_name(bench, &kind)) {
        fprintf(stderr, "lpoi score: unknown bench '%s' (chair, amber, amber-disc or pope)\n", bench);
        return 2;
    }
    if (!answers) { fprintf(stderr, "lpoi score: --answers FILE is required\n"); return 2; }
    if (!data) data = kind == BENCH_AMBER || kind == BENCH_AMBER_DISC ? "../shared/data/amber" : "../shared/data";
    char err[1024];
    if (!bench_score_file_opts(kind, data, answers, out, stdout, &opt, err, sizeof err)) {
        fprintf(stderr, "lpoi score: %s\n", err);
        return 1;
    }
    if (out) printf("metrics written to %s\n", out);
    if (opt.per_answer) printf("per-answer readings written to %s\n", opt.per_answer);
    return 0;
}
