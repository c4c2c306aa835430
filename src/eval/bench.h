// bench.h — the benchmarks lpoi can score (CHAIR, AMBER generative and discriminative, POPE-style
// yes/no probing), their items (one question about one image each), and scoring an answers file.
// The seam with `lpoi eval`: these signatures are fixed (SEAM_EVAL.md); functions may be added.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { BENCH_CHAIR, BENCH_AMBER, BENCH_AMBER_DISC, BENCH_POPE } BenchKind;
bool bench_from_name(const char *name, BenchKind *out);        // "chair", "amber", "amber-disc", "pope"
const char *bench_name(BenchKind b);
// One question to ask the model about one image. id is the bench's own id as a string.
typedef struct { char *id; char *image; /* file name relative to the images folder */ char *question; } BenchItem;
// data_dir: the bench's data folder (e.g. ../shared/data/amber for AMBER; ../shared/data for CHAIR/POPE,
// which read coco_eval/ and chair/). Returns false with a one-line reason in err.
bool bench_items_load(BenchKind b, const char *data_dir, BenchItem **items, int *n, char *err, size_t errlen);
void bench_items_free(BenchItem *items, int n);
// answers_path: JSONL, one {"id": "<id>", "answer": "<text>"} per line (extra keys ignored).
// Writes the metrics JSON atomically to out_json (NULL: do not write) and prints a table to `table`
// (NULL: no table). Unknown ids, empty answers, non-UTF-8: counted skips or a one-line error (documented).
bool bench_score_file(BenchKind b, const char *data_dir, const char *answers_path, const char *out_json,
                      FILE *table, char *err, size_t errlen);

// ---- additions to the seam ----
// What bench_score_file reads (--data DIR):
//   chair, pope   DIR/coco_eval/instances_val2014_100.json and DIR/chair/synonyms_rohrbach2018.txt
//   amber(-disc)  DIR/{annotations,relation,query_all}.json, DIR/safe_words.txt, DIR/metrics.txt
// The answers file: malformed JSON, a line that is not UTF-8, a missing "id"/"answer", an id the bench
// does not have and an id answered twice are errors ("FILE:LINE: reason"); an answer that is empty or
// only whitespace is skipped and counted ("empty"), and so is every item without an answer ("missing").
// Metrics are over the answers scored; a file with none to score is an error.
typedef struct {
    const char *synonyms;       // chair/pope: another vocabulary file (default: the variant's table)
    bool chair_rlhfv;           // chair: Object HalBench's rule-based variant (chair.h CHAIR_RLHFV) with
                                // DIR/chair/synonyms_refine_rlhfv.txt; default the original
    const char *gt_captions;    // chair: a COCO captions JSON whose objects join the ground truth
    const char *similar_pairs;  // amber: word pairs standing in for spaCy similarity > 0.8 (amber.h)
    bool exact_yes_no;          // amber-disc/pope: only "Yes"/"No" exactly count (AMBER's own comparison)
    const char *per_answer;     // also write each answer's reading as JSONL (atomically): chair and amber
                                // {"id", "objects", "hallucinated"}; amber-disc and pope {"id", "truth", "read"}
} BenchOptions;
bool bench_score_file_opts(BenchKind b, const char *data_dir, const char *answers_path, const char *out_json,
                           FILE *table, const BenchOptions *opt, char *err, size_t errlen);
