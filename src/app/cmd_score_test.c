// cmd_score_test.c — `lpoi score` end to end: the CHAIR responses scored from an answers file give the
// oracle's CHAIR_s / CHAIR_i (testdata/eval/chair_responses.metrics.json) in the metrics JSON; bad
// answers files (unknown id, an id twice, not UTF-8, malformed JSON, missing file, a generative AMBER id
// under amber-disc) are one-line errors with exit 1 that leave an existing metrics file alone; empty
// answers and unanswered items are counted skips; usage errors exit 2. Plus the benchmarks' items and
// POPE's questions checked against the annotations.
#include "test/test.h"
#include "app/commands.h"
#include "eval/bench.h"
#include "eval/coco.h"
#include "eval/pope.h"
#include "base/check.h"
#include "base/json.h"
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#define SHARED "../shared/data"

static bool have_data(void) {
    if (access(SHARED "/coco_eval/instances_val2014_100.json", R_OK) == 0 && access(SHARED "/amber/annotations.json", R_OK) == 0)
        return true;
    test_skip("../shared/data (coco_eval, amber) absent");
    return false;
}

// The CHAIR responses fixture as an answers file ({"id": "<image id>", "answer": ...} per line).
static void write_chair_answers(const char *path, const char *extra) {
    char *in = test_read_text("testdata/eval/chair_responses.jsonl");
    LPOI_ASSERT(in);
    size_t cap = strlen(in) * 2 + 4096, len = 0;
    char *out = malloc_check(cap);
    for (char *line = in; line && *line;) {
        char *e = strchr(line, '\n');
        if (e) *e = 0;
        LpoiErr err = {{0}};
        JsonDoc *d = json_parse(line, strlen(line), &err);
        int64_t img = 0;
        json_get_i64(json_root(d), "image_id", &img);
        char esc[2048];
        json_escape(esc, sizeof esc, json_get_str(json_root(d), "caption"), strlen(json_get_str(json_root(d), "caption")));
        len += (size_t)snprintf(out + len, cap - len, "{\"id\": \"%lld\", \"answer\": %s, \"model\": \"x\"}\n", (long long)img, esc);
        json_free(d);
        line = e ? e + 1 : NULL;
    }
    if (extra) len += (size_t)snprintf(out + len, cap - len, "%s", extra);
    test_write_text(path, out);
    free(out);
    free(in);
}

// The command's metrics JSON against an oracle metrics file (fractions there, percent here).
static void expect_chair_metrics(const char *got_path, const char *want_path) {
    LpoiErr e = {{0}};
    JsonDoc *got = json_load_file(got_path, 1 << 20, &e), *want = json_load_file(want_path, 1 << 20, &e);
    EXPECT_MSG(got && want, "%s", e.msg);
    static const char *const KEYS[][2] = {{"CHAIR_s", "CHAIRs"}, {"CHAIR_i", "CHAIRi"}, {"CHAIR_s_refine", "CHAIRs_refine"},
                                          {"recall", "obj_rec"}};
    for (size_t k = 0; got && want && k < LPOI_ARRAY_LEN(KEYS); k++) {
        double g = -1, w = -1;
        EXPECT(json_get_f64(json_root(got), KEYS[k][0], &g) && json_get_f64(json_root(want), KEYS[k][1], &w));
        EXPECT_MSG(fabs(g - 100 * w) <= 1e-7, "%s: %s = %.10g, oracle %.10g", got_path, KEYS[k][0], g, 100 * w);
    }
    json_free(got);
    json_free(want);
}

TEST(cmd_score_chair_matches_oracle_metrics) {
    if (!have_data()) return;
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "score_chair");
    const char *ans = test_path(dir, "answers.jsonl"), *out = test_path(dir, "metrics.json");
    write_chair_answers(ans, NULL);
    const char *per = test_path(dir, "per_answer.jsonl");
    char *argv[] = {"score", "--bench", "chair", "--answers", (char *)ans, "--gt-captions", "testdata/eval/chair_gt_captions.json",
                    "--out", (char *)out, "--per-answer", (char *)per, NULL};
    char *printed;
    int rc = test_run_command(cmd_score, 11, argv, &printed);
    EXPECT_MSG(rc == 0, "exit %d: %s", rc, printed);
    EXPECT(printed && strstr(printed, "CHAIR_s          68.00"));
    free(printed);
    expect_chair_metrics(out, "testdata/eval/chair_responses.metrics.json");
    const char *out2 = test_path(dir, "rlhfv.json");
    char *argv2[] = {"score", "--bench", "chair", "--variant", "rlhfv", "--answers", (char *)ans, "--gt-captions",
                     "testdata/eval/chair_gt_captions.json", "--out", (char *)out2, NULL};
    rc = test_run_command(cmd_score, 11, argv2, &printed);
    EXPECT_MSG(rc == 0, "exit %d: %s", rc, printed);
    free(printed);
    expect_chair_metrics(out2, "testdata/eval/chair_rlhfv_responses.metrics.json");
    // The per-answer readings: one line per answer, the oracle's objects and hallucinations.
    char *lines = test_read_text(per), *golden = test_read_text("testdata/eval/chair_responses.golden.jsonl");
    EXPECT(lines && golden);
    if (lines && golden) {
        LpoiErr err = {{0}};
        char *e1 = strchr(lines, '\n'), *e2 = strchr(golden, '\n');
        *e1 = *e2 = 0;
        JsonDoc *a = json_parse(lines, strlen(lines), &err), *b = json_parse(golden, strlen(golden), &err);
        EXPECT(a && b);
        if (a && b) {
            JsonValue *ha = json_get(json_root(a), "hallucinated"), *hb = json_get(json_root(b), "hallucinated");
            JsonValue *oa = json_get(json_root(a), "objects"), *ob = json_get(json_root(b), "objects");
            EXPECT(ha && hb && oa && ob && ha->count == hb->count && oa->count == ob->count);
            for (size_t i = 0; ha && hb && i < ha->count && i < hb->count; i++) EXPECT_STREQ(ha->items[i]->str, hb->items[i]->items[1]->str);
            for (size_t i = 0; oa && ob && i < oa->count && i < ob->count; i++) EXPECT_STREQ(oa->items[i]->str, ob->items[i]->str);
        }
        json_free(a);
        json_free(b);
    }
    free(lines);
    free(golden);
}

// Runs lpoi score on an answers file with `extra` appended; expects exit 1 and `needle` in the message,
// and that an existing metrics file is untouched.
static void expect_bad(const char *bench, const char *extra, const char *needle, bool chair_lines) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "score_bad");
    const char *ans = test_path(dir, "answers.jsonl"), *out = test_path(dir, "metrics.json");
    if (chair_lines) write_chair_answers(ans, extra);
    else test_write_text(ans, extra);
    test_write_text(out, "old");
    char *argv[] = {"score", "--bench", (char *)bench, "--answers", (char *)ans, "--out", (char *)out, NULL};
    char *printed;
    int rc = test_run_command(cmd_score, 7, argv, &printed);
    EXPECT_MSG(rc == 1 && printed && strstr(printed, needle), "%s with %s: exit %d, printed %s (expected '%s')", bench,
               extra, rc, printed, needle);
    EXPECT_MSG(printed && !strchr(printed, '\n') [1], "more than one line: %s", printed);
    free(printed);
    char *kept = test_read_text(out);
    EXPECT(kept && !strcmp(kept, "old"));
    free(kept);
    DIR *d = opendir(dir);
    int files = 0;
    for (struct dirent *x; d && (x = readdir(d));) files += x->d_name[0] != '.';
    if (d) closedir(d);
    EXPECT_EQ_INT(files, 2);   // no temp file left behind
}

TEST(cmd_score_bad_answers_are_one_line_errors) {
    if (!have_data()) return;
    expect_bad("chair", "{\"id\": \"999999\", \"answer\": \"a dog\"}\n", "answers.jsonl:101: id \"999999\" is not an item of chair", true);
    expect_bad("chair", "{\"id\": \"42\", \"answer\": \"a dog\"}\n", "answers.jsonl:101: id \"42\" answered twice", true);
    expect_bad("chair", "{\"id\": \"42\", \"answer\": \"a d\xffg\"}\n", "answers.jsonl:1: not UTF-8 (byte 28 of the line)", false);
    expect_bad("chair", "{\"id\": \"42\", \"answer\": \n", "answers.jsonl:1: offset", false);
    expect_bad("chair", "[1, 2]\n", "answers.jsonl:1: expected a JSON object", false);
    expect_bad("pope", "\n{\"id\": \"random/42/dog\", \"answer\": \" \"}\n", "answers.jsonl: no answers to score (1 empty, 1391 of 1392 items unanswered)", false);
    expect_bad("chair", "{\"id\": \"42\"}\n", "answers.jsonl:1: needs a string or number \"id\" and a string \"answer\"", false);
    expect_bad("amber-disc", "{\"id\": 3, \"answer\": \"Yes\"}\n", "id \"3\" is not an item of amber-disc (a generative id? use --bench amber)", false);
    char *argv[] = {"score", "--bench", "pope", "--answers", "/nonexistent/answers.jsonl", NULL};
    char *printed;
    EXPECT_EQ_INT(test_run_command(cmd_score, 5, argv, &printed), 1);
    EXPECT(printed && strstr(printed, "/nonexistent/answers.jsonl"));
    free(printed);
}

TEST(cmd_score_counts_empty_and_missing_answers) {
    if (!have_data()) return;
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "score_empty");
    const char *ans = test_path(dir, "answers.jsonl"), *out = test_path(dir, "m.json");
    test_write_text(ans, "{\"id\": 42, \"answer\": \"A dog on a couch.\"}\n\n{\"id\": \"73\", \"answer\": \"  \"}\n");
    char *argv[] = {"score", "--bench", "chair", "--answers", (char *)ans, "--out", (char *)out, NULL};
    char *printed;
    EXPECT_EQ_INT(test_run_command(cmd_score, 7, argv, &printed), 0);
    EXPECT(printed && strstr(printed, "1 of 100 items scored (1 empty answers skipped, 98 items unanswered)"));
    free(printed);
    LpoiErr e = {{0}};
    JsonDoc *m = json_load_file(out, 1 << 20, &e);
    int64_t scored = -1, empty = -1, missing = -1, hall = -1;
    EXPECT(m && json_get_i64(json_root(m), "scored", &scored) && json_get_i64(json_root(m), "skipped_empty", &empty) &&
           json_get_i64(json_root(m), "missing", &missing) && json_get_i64(json_root(m), "hallucinated_mentions", &hall));
    EXPECT(scored == 1 && empty == 1 && missing == 98 && hall == 1);   // image 42 has a dog, no couch
    json_free(m);
}

TEST(cmd_score_usage_errors) {
    char *a1[] = {"score", "--answers", "x.jsonl", NULL};
    EXPECT_COMMAND_EXIT(cmd_score, 2, 3, a1);
    char *a2[] = {"score", "--bench", "mmhal", "--answers", "x.jsonl", NULL};
    EXPECT_COMMAND_EXIT(cmd_score, 2, 5, a2);
    char *a3[] = {"score", "--bench", "chair", NULL};
    EXPECT_COMMAND_EXIT(cmd_score, 2, 3, a3);
    char *a4[] = {"score", "--bench", "chair", "--answers", "x", "--frob", NULL};
    EXPECT_COMMAND_EXIT(cmd_score, 2, 6, a4);
    char *a6[] = {"score", "--bench", "chair", "--variant", "opera", "--answers", "x", NULL};
    EXPECT_COMMAND_EXIT(cmd_score, 2, 7, a6);
    char *a5[] = {"score", "--help", NULL};
    EXPECT_COMMAND_EXIT(cmd_score, 0, 2, a5);
}

TEST(bench_items_of_every_benchmark) {
    if (!have_data()) return;
    static const struct { const char *name, *dir, *first_id, *first_image; int n; } B[] = {
        {"chair", SHARED, "42", "COCO_val2014_000000000042.jpg", 100},
        {"amber", SHARED "/amber", "1", "AMBER_1.jpg", 1004},
        {"amber-disc", SHARED "/amber", "1005", "AMBER_1.jpg", 14216},
        {"pope", SHARED, "random/42/dog", "COCO_val2014_000000000042.jpg", 1392},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(B); i++) {
        BenchKind k;
        EXPECT(bench_from_name(B[i].name, &k) && !strcmp(bench_name(k), B[i].name));
        BenchItem *it;
        int n;
        char err[512];
        bool ok = bench_items_load(k, B[i].dir, &it, &n, err, sizeof err);
        EXPECT_MSG(ok, "%s", err);
        if (!ok) continue;
        EXPECT_EQ_INT(n, B[i].n);
        EXPECT_STREQ(it[0].id, B[i].first_id);
        EXPECT_STREQ(it[0].image, B[i].first_image);
        bench_items_free(it, n);
    }
    BenchItem *it;
    int n;
    char err[512];
    EXPECT(!bench_items_load(BENCH_AMBER, "/nonexistent", &it, &n, err, sizeof err) && strstr(err, "/nonexistent/relation.json"));
}

// Every question's truth agrees with the annotations; popular negatives are the most frequent absent
// objects, counted here independently; all-"Yes" answers give recall 1, precision = positive share.
TEST(pope_questions_follow_the_annotations) {
    if (!have_data()) return;
    char err[512];
    ChairVocab *v = chair_vocab_load(SHARED "/chair/synonyms_rohrbach2018.txt", err, sizeof err);
    CocoGt gt;
    EXPECT(v && coco_gt_load(&gt, v, SHARED "/coco_eval/instances_val2014_100.json", NULL, err, sizeof err));
    if (!v) return;
    int nobj = chair_vocab_size(v), nq;
    PopeQuestion *q = pope_questions(&gt, nobj, &nq);
    int *freq = calloc_check((size_t)nobj, sizeof *freq);
    for (int i = 0; i < gt.n; i++)
        for (int k = 0; k < gt.images[i].n_objs; k++) freq[gt.images[i].objs[k]]++;
    PopeCount all_yes[3] = {{0}};
    long positives = 0;
    for (int i = 0; i < nq; i++) {
        const CocoImage *im = &gt.images[coco_gt_find(&gt, q[i].image_id)];
        bool present = false;
        for (int k = 0; k < im->n_objs; k++) present |= im->objs[k] == q[i].obj;
        EXPECT_MSG(present == q[i].present, "question %d (%s/%lld/%s) has the wrong truth", i, pope_setting_name(q[i].setting),
                   (long long)q[i].image_id, chair_vocab_name(v, q[i].obj));
        if (q[i].setting == POPE_POPULAR && !q[i].present)   // no absent object is more frequent than a chosen one...
            for (int o = 0; o < nobj; o++) {
                bool in_img = false, chosen = false;
                for (int k = 0; k < im->n_objs; k++) in_img |= im->objs[k] == o;
                for (int j = 0; j < nq; j++)
                    chosen |= q[j].setting == POPE_POPULAR && q[j].image_id == q[i].image_id && !q[j].present && q[j].obj == o;
                EXPECT_MSG(in_img || chosen || freq[o] <= freq[q[i].obj], "popular %lld: %s (in %d images) skipped for %s (%d)",
                           (long long)q[i].image_id, chair_vocab_name(v, o), freq[o], chair_vocab_name(v, q[i].obj), freq[q[i].obj]);
            }
        pope_count_add(&all_yes[q[i].setting], q[i].present, YESNO_YES);
        positives += q[i].setting == POPE_RANDOM && q[i].present;
    }
    PopeMetrics m = pope_metrics(&all_yes[POPE_RANDOM]);
    EXPECT_NEAR(m.recall, 1.0, 1e-12, 0);
    EXPECT_NEAR(m.yes_ratio, 1.0, 1e-12, 0);
    EXPECT_NEAR(m.precision, (double)positives / (double)all_yes[POPE_RANDOM].total, 1e-12, 0);
    EXPECT_NEAR(m.accuracy, m.precision, 1e-12, 0);
    free(freq);
    free(q);
    coco_gt_free(&gt);
    chair_vocab_free(v);
}
