// eval_run_test.c — `lpoi eval` on testdata/tiny_llava: adapters swapped on one loaded model answer
// exactly as a model opened with that adapter; a run stopped after some answers (and one left with a
// half-written last line, and one killed by SIGKILL) resumes with no duplicate and no broken line
// and ends with the answers of an uninterrupted run; the MMHal template is filled; the one-line
// errors (unknown bench, missing image, bad adapter, a resume with another adapter).
#include "lpoi/eval_run.h"
#include "lpoi/generate_llava.h"
#include "app/commands.h"
#include "test/test.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include "base/strbuf.h"
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TINY "testdata/tiny_llava"
#define PEFT "testdata/tiny_llava_peft"
#define PHOTOS "testdata/images/photos"

static bool have_tiny(void) {
    if (access(TINY "/config.json", R_OK) || access(PEFT "/all_linear/adapter_config.json", R_OK) ||
        access(PHOTOS "/chelsea.png", R_OK)) {
        test_skip(TINY ", " PEFT " or " PHOTOS " not found (run from the repository root)");
        return false;
    }
    return true;
}

static char *answer_with(LlavaSession *s, const char *prompt) {
    LlavaGenArgs g = {.image = PHOTOS "/chelsea.png", .prompt = prompt, .max_new = 6, .temperature = 0, .top_p = 1};
    LlavaAnswer ans;
    LpoiErr err = {{0}};
    if (!llava_session_answer(s, &g, &ans, NULL, &err)) { EXPECT_MSG(0, "%s", err.msg); return strdup("(failed)"); }
    char *t = strdup(ans.text);
    llava_answer_free(&ans);
    return t;
}

static char *fresh_answer(const char *adapter) {
    LpoiErr err = {{0}};
    LlavaSession *s = llava_session_open(TINY, "cpu", adapter, &err);
    EXPECT_MSG(s != NULL, "%s", err.msg);
    if (!s) return strdup("(no session)");
    char *t = answer_with(s, "What is it?");
    llava_session_close(s);
    return t;
}

TEST(eval_adapter_swap_equals_fresh_session) {
    if (!have_tiny()) return;
    const char *ads[] = {PEFT "/all_linear", PEFT "/text_regex", NULL, PEFT "/all_linear"};
    char *want[4];
    for (int i = 0; i < 4; i++) want[i] = fresh_answer(ads[i]);
    EXPECT_MSG(strcmp(want[0], want[2]) != 0 || strcmp(want[1], want[2]) != 0, "the adapters change nothing: the test would prove nothing");
    LpoiErr err = {{0}};
    LlavaSession *s = llava_session_open(TINY, "cpu", NULL, &err);
    EXPECT_MSG(s != NULL, "%s", err.msg);
    for (int i = 0; s && i < 4; i++) {
        EXPECT_MSG(llava_session_set_adapter(s, ads[i], &err), "%s", err.msg);
        char *got = answer_with(s, "What is it?");
        EXPECT_MSG(!strcmp(got, want[i]), "swap %d (%s): \"%s\", a fresh session says \"%s\"", i, ads[i] ? ads[i] : "base", got, want[i]);
        free(got);
    }
    // A folder that is no adapter fails and leaves the base model on.
    if (s) {
        EXPECT(!llava_session_set_adapter(s, TINY, &err));
        char *got = answer_with(s, "What is it?");
        EXPECT_STREQ(got, want[2]);
        free(got);
    }
    llava_session_close(s);
    for (int i = 0; i < 4; i++) free(want[i]);
}

TEST(eval_run_names) {
    char b[64];
    EXPECT_STREQ(eval_run_name("runs/lpoi/adapter", b, sizeof b), "runs/lpoi/adapter");
    EXPECT_STREQ(b, "lpoi");
    eval_run_name("runs/lpoi/adapter/", b, sizeof b);
    EXPECT_STREQ(b, "lpoi");
    eval_run_name("/x/my_adapter", b, sizeof b);
    EXPECT_STREQ(b, "my_adapter");
    EXPECT_STREQ(eval_run_name("best=runs/a=b/adapter", b, sizeof b), "runs/a=b/adapter");
    EXPECT_STREQ(b, "best");
    eval_run_name("adapter", b, sizeof b);
    EXPECT_STREQ(b, "adapter");
}

// A MMHal-style template of n questions about the photos (image_src's last component names the file).
static void write_template(const char *dir, int n) {
    static const char *const PICS[] = {"chelsea.png", "coffee.png", "astronaut_crop.png"};
    char text[8192];
    size_t len = 0;
    len += (size_t)snprintf(text + len, sizeof text - len, "[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "%s{\"question_type\": \"attribute\", \"image_id\": \"x%d\", \"image_src\": \"https://h/p/%s\", "
                                "\"question\": \"What is %d?\", \"gt_answer\": \"g\", \"model_answer\": \"\"}",
                                i ? ",\n" : "\n", i, PICS[i % 3], i);
    snprintf(text + len, sizeof text - len, "\n]\n");
    test_write_text(test_path(dir, "mmhal-bench_answer_template.json"), text);
}

static EvalArgs mmhal_args(const char *data, const char *out) {
    EvalArgs a = {.model_dir = TINY, .device = "cpu", .mmhal = true, .images_dir = PHOTOS, .data_dir = data, .out_dir = out,
                  .max_new = 4, .n_runs = 2};
    a.runs[0] = (EvalRun){.name = "base", .adapter = NULL};
    a.runs[1] = (EvalRun){.name = "all", .adapter = PEFT "/all_linear"};
    return a;
}

// The lines of path, each checked to parse, with its id; the count of each id 0..n-1 in seen.
static int check_answers(const char *path, int n, int *seen) {
    char *text = test_read_text(path);
    EXPECT_MSG(text != NULL, "%s missing", path);
    if (!text) return 0;
    memset(seen, 0, (size_t)n * sizeof *seen);
    int lines = 0;
    EXPECT_MSG(!*text || text[strlen(text) - 1] == '\n', "%s: the last line has no newline", path);
    for (char *p = text, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        LpoiErr err = {{0}};
        JsonDoc *d = json_parse(p, (size_t)(nl - p), &err);
        EXPECT_MSG(d != NULL, "%s: line %d: %s", path, lines + 1, err.msg);
        const char *id = d ? json_get_str(json_root(d), "id") : NULL;
        int i = id ? atoi(id) : -1;
        if (i >= 0 && i < n) seen[i]++;
        EXPECT(d && json_get_str(json_root(d), "answer"));
        json_free(d);
        lines++;
    }
    free(text);
    return lines;
}

TEST(eval_resume_after_stop_and_cut_line) {
    if (!have_tiny()) return;
    char data[128], out[128], ref[128];
    test_tmp_dir(data, sizeof data, "eval_data");
    test_tmp_dir(out, sizeof out, "eval_out");
    test_tmp_dir(ref, sizeof ref, "eval_ref");
    const int n = 5;
    write_template(data, n);
    LpoiErr err = {{0}};
    EvalArgs a = mmhal_args(data, ref);
    EXPECT_MSG(eval_run(&a, &err), "%s", err.msg);   // the uninterrupted run
    a = mmhal_args(data, out);
    a.stop_after = 3;                                 // "killed" after 3 answers of base
    EXPECT_MSG(eval_run(&a, &err), "%s", err.msg);
    int seen[8];
    EXPECT_EQ_INT(check_answers(test_path(out, "base/answers.jsonl"), n, seen), 3);
    // A kill in the middle of a write: a last line without its newline.
    FILE *f = fopen(test_path(out, "base/answers.jsonl"), "a");
    if (f) { fputs("{\"id\": \"3\", \"image\": \"chel", f); fclose(f); }
    a.stop_after = 0;
    EXPECT_MSG(eval_run(&a, &err), "%s", err.msg);
    for (int r = 0; r < 2; r++) {
        const char *name = r ? "all/answers.jsonl" : "base/answers.jsonl";
        EXPECT_EQ_INT(check_answers(test_path(out, name), n, seen), n);
        for (int i = 0; i < n; i++) EXPECT_MSG(seen[i] == 1, "%s: id %d answered %d times", name, i, seen[i]);
    }
    // The same answers as the uninterrupted run (greedy), line order aside: the same set of lines.
    for (int r = 0; r < 2; r++) {
        const char *name = r ? "all/mmhal_answers.json" : "base/mmhal_answers.json";
        char *got = test_read_text(test_path(out, name)), *want = test_read_text(test_path(ref, name));
        EXPECT_MSG(got && want && !strcmp(got, want), "%s differs from the uninterrupted run's", name);
        // The template's fields survive and every model_answer is filled.
        LpoiErr e = {{0}};
        JsonDoc *d = got ? json_parse(got, strlen(got), &e) : NULL;
        EXPECT_MSG(d != NULL, "%s: %s", name, e.msg);
        const JsonValue *root = d ? json_root(d) : NULL;
        EXPECT(root && root->type == JSON_ARRAY && root->count == (size_t)n);
        for (size_t i = 0; root && i < root->count; i++) {
            const char *ma = json_get_str(json_at(root, i), "model_answer");
            EXPECT(ma != NULL && json_get_str(json_at(root, i), "gt_answer") && json_get_str(json_at(root, i), "image_src"));
        }
        json_free(d);
        free(got);
        free(want);
    }
    char *sum = test_read_text(test_path(out, "summary.json"));
    EXPECT_MSG(sum && strstr(sum, "\"bench\": \"mmhal\"") && strstr(sum, "\"name\": \"all\""), "%s", sum ? sum : "(none)");
    free(sum);
    // A resume with another adapter under the same name is refused.
    a.runs[1].adapter = PEFT "/text_regex";
    EXPECT(!eval_run(&a, &err));
    EXPECT_MSG(strstr(err.msg, "run.json") && strstr(err.msg, "another model, adapter"), "%s", err.msg);
    file_rmtree(data);
    file_rmtree(out);
    file_rmtree(ref);
}

// A real SIGKILL at a random moment: whatever was written, the resumed run ends with each id once.
TEST(eval_resume_after_sigkill) {
    if (!have_tiny()) return;
    char data[128], out[128];
    test_tmp_dir(data, sizeof data, "eval_kdata");
    test_tmp_dir(out, sizeof out, "eval_kout");
    const int n = 48;
    write_template(data, n);
    fflush(stdout);
    fflush(stderr);
    EvalArgs a = mmhal_args(data, out);   // the base model alone, longer answers
    a.n_runs = 1;
    a.max_new = 16;
    LpoiErr err = {{0}};
    pid_t pid = fork();
    if (pid == 0) _exit(eval_run(&a, &err) ? 0 : 1);
    EXPECT(pid > 0);
    // Kill once some answers are there (or after 20 s at the latest).
    for (int t = 0; t < 2000; t++) {
        char *text = test_read_text(test_path(out, "base/answers.jsonl"));
        int lines = 0;
        for (char *p = text; p && (p = strchr(p, '\n')); p++) lines++;
        free(text);
        if (lines >= 3) break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFSIGNALED(st)) fprintf(stderr, "note: the child finished before the kill; the resume had nothing to do\n");
    EXPECT_MSG(eval_run(&a, &err), "%s", err.msg);
    int seen[64];
    EXPECT_EQ_INT(check_answers(test_path(out, "base/answers.jsonl"), n, seen), n);
    for (int i = 0; i < n; i++) EXPECT_MSG(seen[i] == 1, "id %d answered %d times", i, seen[i]);
    file_rmtree(data);
    file_rmtree(out);
}

TEST(eval_command_errors) {
    if (!have_tiny()) return;
    char data[128], out[128];
    test_tmp_dir(data, sizeof data, "eval_edata");
    test_tmp_dir(out, sizeof out, "eval_eout");
    write_template(data, 2);
    char *printed = NULL;
    {   // unknown bench: usage error naming it
        char *argv[] = {"eval", "--model", TINY, "--bench", "cocoa", "--images", PHOTOS, "--out", out};
        EXPECT_EQ_INT(test_run_command(cmd_eval, 9, argv, &printed), 2);
        EXPECT_MSG(printed && strstr(printed, "unknown bench 'cocoa'"), "%s", printed);
        free(printed);
    }
    {   // a missing image: one line naming the file and the item
        char *argv[] = {"eval", "--model", TINY, "--bench", "mmhal", "--data", data, "--images", "testdata", "--out", out};
        EXPECT_EQ_INT(test_run_command(cmd_eval, 11, argv, &printed), 1);
        EXPECT_MSG(printed && strstr(printed, "testdata/chelsea.png: No such file") && strstr(printed, "item 0") &&
                   strstr(printed, "1 more"), "%s", printed);
        free(printed);
    }
    {   // a bad adapter: fails before any answer
        char *argv[] = {"eval", "--model", TINY, "--bench", "mmhal", "--data", data, "--images", PHOTOS, "--out", out,
                        "--adapter", "x=" PEFT "/nowhere"};
        EXPECT_EQ_INT(test_run_command(cmd_eval, 13, argv, &printed), 1);
        EXPECT_MSG(printed && strstr(printed, "--adapter x") && strstr(printed, "nowhere"), "%s", printed);
        EXPECT(access(test_path(out, "base/answers.jsonl"), F_OK) != 0);
        free(printed);
    }
    {   // two adapters with one name
        char *argv[] = {"eval", "--model", TINY, "--bench", "mmhal", "--images", PHOTOS, "--out", out,
                        "--adapter", PEFT "/all_linear", "--adapter", "/elsewhere/all_linear"};
        EXPECT_EQ_INT(test_run_command(cmd_eval, 13, argv, &printed), 2);
        EXPECT_MSG(printed && strstr(printed, "NAME=DIR"), "%s", printed);
        free(printed);
    }
    {   // the whole command: base + an adapter, the table on stdout
        char *argv[] = {"eval", "--model", TINY, "--bench", "mmhal", "--data", data, "--images", PHOTOS, "--out", out,
                        "--base", "--adapter", PEFT "/all_linear", "--max-new", "3", "--device", "cpu"};
        EXPECT_EQ_INT(test_run_command(cmd_eval, 18, argv, &printed), 0);
        EXPECT_MSG(printed && strstr(printed, "judged by GPT-4") && strstr(printed, "all_linear"), "%s", printed);
        free(printed);
        EXPECT(access(test_path(out, "all_linear/mmhal_answers.json"), R_OK) == 0);
    }
    file_rmtree(data);
    file_rmtree(out);
}

TEST(eval_json_text_replaces_bad_bytes) {
    StrBuf b = {0};
    strbuf_json_text(&b, "a\xff" "b\"\xc3\xa9", 6);
    EXPECT_STREQ(b.s, "\"a\xEF\xBF\xBD" "b\\\"\xc3\xa9\"");
    free(b.s);
}

// Every real bench end to end on its first items (../shared/data; the images are stand-ins: each
// item's file name links to a test photo): answers, metrics.json per run, the table, summary.json.
TEST(eval_real_benches_first_items) {
    if (!have_tiny()) return;
    if (access("../shared/data/coco_eval", R_OK) || access("../shared/data/amber", R_OK)) {
        test_skip("../shared/data (coco_eval, amber) not found");
        return;
    }
    char photo[PATH_MAX];
    if (!realpath(PHOTOS "/chelsea.png", photo)) { EXPECT(0); return; }
    static const char *const BENCHES[] = {"chair", "pope", "amber", "amber-disc"};
    for (int b = 0; b < 4; b++) {
        BenchKind kind;
        EXPECT(bench_from_name(BENCHES[b], &kind));
        const char *data = kind == BENCH_AMBER || kind == BENCH_AMBER_DISC ? "../shared/data/amber" : "../shared/data";
        BenchItem *items = NULL;
        int n = 0;
        char emsg[512];
        if (!bench_items_load(kind, data, &items, &n, emsg, sizeof emsg)) { EXPECT_MSG(0, "%s: %s", BENCHES[b], emsg); continue; }
        EXPECT_MSG(n > 0, "%s: no items", BENCHES[b]);
        char imgs[128], out[128];
        test_tmp_dir(imgs, sizeof imgs, "eval_imgs");
        test_tmp_dir(out, sizeof out, "eval_bout");
        const int limit = 3;
        for (int i = 0; i < n && i < limit; i++) {
            const char *link = test_path(imgs, items[i].image);
            if (access(link, F_OK) != 0) EXPECT_MSG(symlink(photo, link) == 0, "%s", link);
        }
        bench_items_free(items, n);
        char lim[8];
        snprintf(lim, sizeof lim, "%d", limit);
        char *argv[] = {"eval", "--model", TINY, "--bench", (char *)BENCHES[b], "--data", (char *)data, "--images", imgs,
                        "--out", out, "--limit", lim, "--max-new", "4", "--base", "--adapter", PEFT "/all_linear", "--device", "cpu"};
        char *printed = NULL;
        int rc = test_run_command(cmd_eval, (int)(sizeof argv / sizeof *argv), argv, &printed);
        EXPECT_MSG(rc == 0, "%s: exit %d: %s", BENCHES[b], rc, printed ? printed : "");
        EXPECT_MSG(printed && strstr(printed, "base") && strstr(printed, "all_linear"), "%s: no table: %s", BENCHES[b], printed);
        free(printed);
        int seen[4];
        EXPECT_EQ_INT(check_answers(test_path(out, "all_linear/answers.jsonl"), 0, seen), limit);
        for (int r = 0; r < 2; r++) {
            const char *m = test_path(out, r ? "all_linear/metrics.json" : "base/metrics.json");
            LpoiErr err = {{0}};
            JsonDoc *d = json_load_file(m, 1 << 24, &err);
            EXPECT_MSG(d != NULL, "%s: %s", BENCHES[b], err.msg);
            json_free(d);
        }
        char *sum = test_read_text(test_path(out, "summary.json"));
        LpoiErr err = {{0}};
        JsonDoc *d = sum ? json_parse(sum, strlen(sum), &err) : NULL;
        EXPECT_MSG(d != NULL, "%s: summary.json: %s", BENCHES[b], err.msg);
        json_free(d);
        free(sum);
        file_rmtree(imgs);
        file_rmtree(out);
    }
}
