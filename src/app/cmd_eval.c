// cmd_eval.c — `lpoi eval`: hallucination benchmarks for a LLaVA-1.5 checkpoint and its adapters,
// side by side (the run: lpoi/eval_run.h; the scorers: eval/bench.h).
#include "app/commands.h"
#include "lpoi/eval_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *EVAL_USAGE =
    "usage: lpoi eval --model DIR [--adapter [NAME=]DIR]... [--base] --bench BENCH --images DIR --out OUT\n"
    "                 [--data DIR] [--max-new N] [--limit N] [--device D] [--precision P]\n"
    "\n"
    "Answers a hallucination benchmark's questions with the LLaVA-1.5 checkpoint DIR (loaded once) and each\n"
    "adapter in turn, greedily, then scores the answers in C and prints the runs side by side.\n"
    "\n"
    "  --bench BENCH     chair       describe each of the 100 annotated COCO val2014 images of\n"
    "                                DATA/coco_eval (CHAIR_s, CHAIR_i)\n"
    "                    amber       AMBER generative: describe each image (CHAIR, Cover, Hal, Cog)\n"
    "                    amber-disc  AMBER discriminative yes/no questions (accuracy, precision, recall, F1)\n"
    "                    pope        POPE-style yes/no object probes on those images (random, popular and\n"
    "                                adversarial negatives; accuracy, precision, recall, F1)\n"
    "                    mmhal       MMHal-Bench: the answers are written into its template\n"
    "                                (OUT/NAME/mmhal_answers.json); the judging (GPT-4) is external;\n"
    "                                an item's image is the last part of its image_src URL\n"
    "  --images DIR      the bench's images (the file names its items give)\n"
    "  --data DIR        the bench's data folder: for chair and pope the folder holding coco_eval/ and\n"
    "                    chair/ (default ../shared/data), for amber and amber-disc AMBER's data (default\n"
    "                    ../shared/data/amber), for mmhal the folder of mmhal-bench_answer_template.json\n"
    "                    (default ../shared/data/mmhal)\n"
    "  --adapter [NAME=]DIR  a PEFT LoRA adapter (e.g. RUN/adapter from lpoi train); repeat for several.\n"
    "                    Its answers go to OUT/NAME/ (NAME: the folder's name, or RUN for RUN/adapter)\n"
    "  --base            also the model without adapter (OUT/base/); the default when no --adapter is given\n"
    "  --max-new N       tokens per answer at most (default 512 for chair, amber and mmhal; 16 for\n"
    "                    amber-disc and pope); answers stop earlier at EOS\n"
    "  --limit N         only the first N items (a quick look)\n"
    "  --device D        auto (default: the GPU when one works, else the CPU), cpu or cuda\n"
    "  --precision P     fp32 (default), bf16 or fp16: how the frozen Linear weights are stored (lpoi generate)\n"
    "\n"
    "Output, per run: OUT/NAME/answers.jsonl ({\"id\", \"image\", \"question\", \"answer\"} per line, appended as\n"
    "each answer is made), OUT/NAME/metrics.json and metrics.txt; then OUT/summary.json and the table on\n"
    "stdout. Progress with an ETA goes to stderr. Resumable: run the same command again after a kill and\n"
    "it goes on where it stopped (a half-written last line is removed, answered items are skipped);\n"
    "OUT/NAME/run.json refuses a resume with another model, adapter, bench, --max-new or --precision.\n"
    "Answers are made one at a time (greedy, a KV cache per answer); there is no batched decoding yet.\n"
    "\n"
    "Exit status: 0 ok, 1 when the model, an adapter, an image, the data or the output cannot be used\n"
    "(one line naming it), 2 on a usage error.\n";

static bool parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

int cmd_eval(int argc, char **argv) {
    EvalArgs a = {.device = "auto", .log = stderr, .table = stdout};
    const char *bench = NULL;
    static char names[EVAL_MAX_RUNS][128];
    bool base = false;
    int max_new = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) { fputs(EVAL_USAGE, stdout); return 0; }
        if (!strcmp(o, "--base")) { base = true; continue; }
        if (!v) { fprintf(stderr, "lpoi eval: %s needs a value (see --help)\n", o); return 2; }
        if (!strcmp(o, "--model")) a.model_dir = v;
        else if (!strcmp(o, "--bench")) bench = v;
        else if (!strcmp(o, "--images")) a.images_dir = v;
        else if (!strcmp(o, "--data")) a.data_dir = v;
        else if (!strcmp(o, "--out")) a.out_dir = v;
        else if (!strcmp(o, "--device")) a.device = v;
        else if (!strcmp(o, "--precision")) ok = precision_parse(v, &a.precision);
        else if (!strcmp(o, "--max-new")) ok = parse_int(v, 1, 1 << 16, &max_new);
        else if (!strcmp(o, "--limit")) ok = parse_int(v, 1, 1 << 30, &a.limit);
        else if (!strcmp(o, "--adapter")) {
            if (a.n_runs == EVAL_MAX_RUNS - 1) { fprintf(stderr, "lpoi eval: at most %d adapters\n", EVAL_MAX_RUNS - 1); return 2; }
            const char *dir = eval_run_name(v, names[a.n_runs], sizeof names[a.n_runs]);
            if (!names[a.n_runs][0] || !strcmp(names[a.n_runs], ".") || !strcmp(names[a.n_runs], "..") || !*dir) {
                fprintf(stderr, "lpoi eval: --adapter %s: no run name (write NAME=DIR)\n", v);
                return 2;
            }
            a.runs[a.n_runs] = (EvalRun){.name = names[a.n_runs], .adapter = dir};
            a.n_runs++;
        } else { fprintf(stderr, "lpoi eval: unknown option '%s' (see --help)\n", o); return 2; }
        if (!ok) { fprintf(stderr, "lpoi eval: bad value '%s' for %s\n", v, o); return 2; }
        i++;
    }
    const char *missing = !a.model_dir ? "--model" : !bench ? "--bench" : !a.images_dir ? "--images" : !a.out_dir ? "--out" : NULL;
    if (missing) { fprintf(stderr, "lpoi eval: %s is required (see --help)\n", missing); return 2; }
    a.mmhal = !strcmp(bench, "mmhal");
    if (!a.mmhal && !bench_from_name(bench, &a.bench)) {
        fprintf(stderr, "lpoi eval: unknown bench '%s' (chair, amber, amber-disc, pope or mmhal)\n", bench);
        return 2;
    }
    if (!a.data_dir)
        a.data_dir = a.mmhal ? "../shared/data/mmhal"
                   : a.bench == BENCH_AMBER || a.bench == BENCH_AMBER_DISC ? "../shared/data/amber" : "../shared/data";
    for (int r = 0; r < a.n_runs; r++)
        for (int q = 0; q < r; q++)
            if (!strcmp(a.runs[r].name, a.runs[q].name)) {
                fprintf(stderr, "lpoi eval: two adapters would both write to %s/%s; name them: --adapter NAME=DIR\n", a.out_dir,
                        a.runs[r].name);
                return 2;
            }
    if (base || a.n_runs == 0) {
        for (int r = 0; r < a.n_runs; r++)
            if (!strcmp(a.runs[r].name, "base")) {
                fprintf(stderr, "lpoi eval: an adapter is named 'base', the base model's folder; rename it: --adapter NAME=DIR\n");
                return 2;
            }
        memmove(&a.runs[1], &a.runs[0], (size_t)a.n_runs * sizeof a.runs[0]);
        a.runs[0] = (EvalRun){.name = "base", .adapter = NULL};
        a.n_runs++;
    }
    a.max_new = max_new ? max_new : eval_default_max_new(a.mmhal, a.bench);
    LpoiErr err = {{0}};
    if (!eval_run(&a, &err)) {
        fprintf(stderr, "lpoi eval: %s\n", err.msg);
        return 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) { fprintf(stderr, "lpoi eval: stdout: write failed\n"); return 1; }
    return 0;
}
