// amber_test.c — AMBER against its oracle (tools/amber_reference.py, inference.py transcribed): per-answer
// nouns and hallucinated nouns, the raw counters and the printed metrics for 1,004 generative answers;
// counters and metrics for 2,031 discriminative answers (the official exact "Yes"/"No" reading). Plus
// the yes/no reading rule's table and the noun reading's cases.
#include "test/test.h"
#include "eval/amber.h"
#include "eval/yesno.h"
#include "base/check.h"
#include "base/json.h"
#include <string.h>
#include <unistd.h>

#define AMBER_DIR "../shared/data/amber"

TEST(yesno_reading_rule) {
    static const struct { const char *answer; YesNo want, substring_no; } CASES[] = {
        // answer                                      lpoi         LPOI's "contains no"
        {"Yes", YESNO_YES, YESNO_YES},
        {"No", YESNO_NO, YESNO_NO},
        {"yes.", YESNO_YES, YESNO_YES},
        {"No, there is no dog in the image.", YESNO_NO, YESNO_NO},
        {"There is no dog.", YESNO_NO, YESNO_NO},
        {"not", YESNO_NO, YESNO_NO},
        {"Not really.", YESNO_NO, YESNO_NO},
        {"The dog is not visible.", YESNO_NO, YESNO_NO},
        {"The cat isn't on the bed.", YESNO_NO, YESNO_UNKNOWN},
        {"The cat isn\xe2\x80\x99t on the bed.", YESNO_NO, YESNO_UNKNOWN},
        {"snow", YESNO_UNKNOWN, YESNO_NO},
        {"Yes, there is snow on the ground.", YESNO_YES, YESNO_NO},
        {"Yes, a notebook.", YESNO_YES, YESNO_NO},
        {"I know there is a dog: yes.", YESNO_YES, YESNO_NO},
        {"Yes, but there is no cat.", YESNO_YES, YESNO_NO},
        {"**Yes**", YESNO_YES, YESNO_YES},
        {"\"No.\"", YESNO_NO, YESNO_NO},
        {"Nope", YESNO_NO, YESNO_NO},
        {"There are none.", YESNO_NO, YESNO_NO},
        {"A dog is sitting on the sofa.", YESNO_UNKNOWN, YESNO_UNKNOWN},
        {"Nothing like that.", YESNO_NO, YESNO_NO},
        {"", YESNO_UNKNOWN, YESNO_UNKNOWN},
        {"Snowboard: yes", YESNO_YES, YESNO_NO},
        {"NO", YESNO_NO, YESNO_NO},
        {"I'm not sure whether there is a dog.", YESNO_UNKNOWN, YESNO_NO},
        {"I cannot tell from this image.", YESNO_UNKNOWN, YESNO_NO},
        {"It is unclear; no.", YESNO_UNKNOWN, YESNO_NO},
        {"No, I am not sure.", YESNO_NO, YESNO_NO},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(CASES); i++) {
        YesNo got = yesno_read(CASES[i].answer, strlen(CASES[i].answer));
        EXPECT_MSG(got == CASES[i].want, "\"%s\" read as %s, expected %s", CASES[i].answer, yesno_name(got),
                   yesno_name(CASES[i].want));
        // The table's third column documents what the substring rule did (LPOI's script: "no" in the
        // lowercased answer -> No, else "yes" -> Yes); check that the column is what it claims.
        char low[256];
        size_t n = strlen(CASES[i].answer);
        for (size_t k = 0; k <= n && k < sizeof low; k++) low[k] = (char)(CASES[i].answer[k] | (CASES[i].answer[k] >= 'A' && CASES[i].answer[k] <= 'Z' ? 32 : 0));
        YesNo sub = strstr(low, "no") ? YESNO_NO : strstr(low, "yes") ? YESNO_YES : YESNO_UNKNOWN;
        EXPECT_MSG(sub == CASES[i].substring_no, "\"%s\": the substring rule gives %s", CASES[i].answer, yesno_name(sub));
    }
}

static AmberData *load(void) {
    if (access(AMBER_DIR "/annotations.json", R_OK) != 0) {
        test_skip("../shared/data/amber absent");
        return NULL;
    }
    char err[512];
    AmberData *a = amber_load(AMBER_DIR, err, sizeof err);
    EXPECT_MSG(a != NULL, "%s", err);
    return a;
}

static char *nouns_of(const AmberData *a, const char *text) {
    const char *w[64];
    int n = amber_nouns(a, text, w, 64);
    static char out[512];
    out[0] = 0;
    for (int i = 0; i < n; i++) { if (i) strcat(out, "|"); strcat(out, w[i]); }
    return out;
}

TEST(amber_noun_reading) {
    AmberData *a = load();
    if (!a) return;
    static const char *const CASES[][2] = {
        {"An orange cat sits by an orange and a banana.", "cat|orange|banana"},   // adjective, then noun
        {"You can see a can of beer on the table.", "can|beer|table"},    // modal vs noun
        {"Dogs run. The dogs chase balls.", "dog|ball"},                  // no lowercasing: "Dogs" is not a word of it
        {"She wears earrings and sunglasses.", ""},                        // lemmas "earring", "sunglass" are not in the vocabulary
        {"They watch TV; people like to watch the sea.", "TV|people|sea"},      // verbs after a pronoun, "to"
        {"The cat is orange, and a dog sits next to water.", "cat|dog|water"},   // predicate adjective; "next to" is no infinitive
        {"Children play; the children near a hot dog stand with the light on.", "child|dog|light"},   // "Children" kept its capital
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(CASES); i++) {
        const char *got = nouns_of(a, CASES[i][0]);
        EXPECT_MSG(!strcmp(got, CASES[i][1]), "nouns of \"%s\": %s, expected %s", CASES[i][0], got, CASES[i][1]);
    }
    amber_free(a);
}

static JsonDoc *load_doc(const char *path) {
    LpoiErr e = {{0}};
    JsonDoc *d = json_load_file(path, 1 << 26, &e);
    EXPECT_MSG(d != NULL, "%s", e.msg);
    return d;
}

static double counter(JsonValue *metrics, const char *name) {
    double v = -1;
    json_get_f64(json_get(metrics, "counters"), name, &v);
    return v;
}

TEST(amber_generative_matches_oracle) {
    AmberData *a = load();
    if (!a) return;
    JsonDoc *in = load_doc("testdata/eval/amber_responses.json");
    JsonDoc *want = load_doc("testdata/eval/amber_responses.metrics.json");
    char *golden = test_read_text("testdata/eval/amber_responses.golden.jsonl");
    if (in && want && golden) {
        AmberCount c;
        amber_count_init(a, &c);
        JsonValue *arr = json_root(in);
        char *line = golden;
        int mismatches = 0;
        for (size_t i = 0; i < arr->count; i++) {
            int64_t id;
            json_get_i64(arr->items[i], "id", &id);
            const char *resp = json_get_str(arr->items[i], "response");
            char hall[1024];
            amber_add_generative(a, &c, (int)id, resp, hall, sizeof hall);
            char *e = strchr(line, '\n');
            *e = 0;
            LpoiErr err = {{0}};
            JsonDoc *g = json_parse(line, strlen(line), &err);
            line = e + 1;
            char wn[1024] = "", wh[1024] = "";
            JsonValue *gn = json_get(json_root(g), "nouns"), *gh = json_get(json_root(g), "hallucinated");
            for (size_t k = 0; k < gn->count; k++) { if (k) strcat(wn, "|"); strcat(wn, gn->items[k]->str); }
            for (size_t k = 0; k < gh->count; k++) { if (k) strcat(wh, "|"); strcat(wh, gh->items[k]->str); }
            const char *gotn = nouns_of(a, resp);
            if (strcmp(wn, gotn) || strcmp(wh, hall)) {
                if (mismatches++ < 10)
                    fprintf(stderr, "    id %lld: \"%s\": nouns %s / %s, hallucinated %s / %s (lpoi / oracle)\n", (long long)id, resp,
                            gotn, wn, hall, wh);
            }
            json_free(g);
        }
        EXPECT_EQ_INT(mismatches, 0);
        JsonValue *w = json_root(want);
        EXPECT_NEAR(c.chair_score, counter(w, "chair_score"), 1e-9, 0);
        EXPECT_NEAR(c.chair_num, counter(w, "chair_num"), 1e-9, 0);
        EXPECT_NEAR(c.safe_cover_score, counter(w, "safe_cover_score"), 1e-9, 0);
        EXPECT_NEAR(c.safe_cover_num, counter(w, "safe_cover_num"), 1e-9, 0);
        EXPECT_NEAR(c.hallu_cover_score, counter(w, "hallu_cover_score"), 1e-9, 0);
        EXPECT_NEAR(c.hallu_cover_num, counter(w, "hallu_cover_num"), 1e-9, 0);
        EXPECT_NEAR(c.non_hallu_score, counter(w, "non_hallu_score"), 1e-9, 0);
        EXPECT_NEAR(c.non_hallu_num, counter(w, "non_hallu_num"), 1e-9, 0);
        AmberGenMetrics m = amber_gen_metrics(&c, true);
        double chair = NAN, cover = NAN, hal = NAN, cog = NAN;   // a missing key fails, never compares 0 with 0
        EXPECT(json_get_f64(w, "CHAIR", &chair) && json_get_f64(w, "Cover", &cover) && json_get_f64(w, "Hal", &hal) &&
               json_get_f64(w, "Cog", &cog));
        EXPECT_NEAR(m.chair, chair, 1e-12, 0);
        EXPECT_NEAR(m.cover, cover, 1e-12, 0);
        EXPECT_NEAR(m.hal, hal, 1e-12, 0);
        EXPECT_NEAR(m.cog, cog, 1e-12, 0);
    }
    free(golden);
    json_free(in);
    json_free(want);
    amber_free(a);
}

TEST(amber_discriminative_matches_oracle) {
    AmberData *a = load();
    if (!a) return;
    JsonDoc *in = load_doc("testdata/eval/amber_disc.json");
    JsonDoc *want = load_doc("testdata/eval/amber_disc.metrics.json");
    if (in && want) {
        AmberCount c;
        amber_count_init(a, &c);
        JsonValue *arr = json_root(in);
        for (size_t i = 0; i < arr->count; i++) {
            int64_t id;
            json_get_i64(arr->items[i], "id", &id);
            amber_add_discriminative(a, &c, (int)id, json_get_str(arr->items[i], "response"), true);
        }
        JsonValue *w = json_root(want);
        static const char *const PRE[] = {"", "as_", "an_", "aa_", "ha_", "asso_"};
        for (int d = 0; d < 6; d++) {
            char name[64];
            snprintf(name, sizeof name, "%sqa_correct_score", PRE[d]);
            EXPECT_NEAR(c.correct_score[d], counter(w, name), 1e-9, 0);
            snprintf(name, sizeof name, "%sqa_ans_no_score", PRE[d]);
            EXPECT_NEAR(c.ans_no_score[d], counter(w, name), 1e-9, 0);
            snprintf(name, sizeof name, "%sqa_ans_no_num", PRE[d]);
            EXPECT_NEAR(c.ans_no_num[d], counter(w, name), 1e-9, 0);
            snprintf(name, sizeof name, "%sqa_no_num", PRE[d]);
            EXPECT_NEAR(c.no_num[d], counter(w, name), 1e-9, 0);
        }
        for (int dim = 0; dim < 7; dim++) {
            AmberDiscMetrics m = amber_disc_metrics(&c, dim, true);
            JsonValue *o = json_get(w, amber_disc_dim_name(dim));
            double acc = -1, p = -1, r = -1, f1 = -1;
            json_get_f64(o, "accuracy", &acc);
            json_get_f64(o, "precision", &p);
            json_get_f64(o, "recall", &r);
            json_get_f64(o, "f1", &f1);
            EXPECT_MSG(m.accuracy == acc && m.precision == p && m.recall == r && m.f1 == f1,
                       "%s: lpoi %.1f %.1f %.1f %.1f, oracle %.1f %.1f %.1f %.1f", amber_disc_dim_name(dim), m.accuracy,
                       m.precision, m.recall, m.f1, acc, p, r, f1);
        }
    }
    json_free(in);
    json_free(want);
    amber_free(a);
}
