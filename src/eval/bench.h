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
