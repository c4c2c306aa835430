// study_test.c — `lpoi study --quick`: the whole pipeline (worlds, base models, six trainings per
// seed, descriptions, CHAIR) runs in seconds and writes a well-formed table: every variant with every
// metric as mean ± sd over the seeds, in the markdown, the JSON (means equal to the per-seed values'
// mean) and the plot; --rescore reproduces the table from the descriptions on disk.
#include "app/commands.h"
#include "demo/study.h"
#include "eval/chair.h"
#include "test/test.h"
#include "base/file.h"
#include "base/json.h"
#include "image/image.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const VARIANT_NAMES[] = {"base", "dpo", "mdpo", "lpoi", "lpoi-L3", "lpoi-L4", "lpoi-novp"};
static const char *const METRICS[] = {"chair_s", "chair_i", "shape_chair_i", "main_named", "cover",
                                      "first_colour_right", "first_shape_right", "mentions"};
#define NMETRICS ((int)(sizeof METRICS / sizeof *METRICS))

TEST(study_quick_writes_a_wellformed_table) {
    char dir[128], out[160];
    test_tmp_dir(dir, sizeof dir, "study");
    snprintf(out, sizeof out, "%s/s", dir);
    char *argv[] = {"study", "--quick", "--out", out};
    char *printed = NULL;
    int rc = test_run_command(cmd_study, 4, argv, &printed);
    EXPECT_MSG(rc == 0, "exit %d: %s", rc, printed ? printed : "");
    free(printed);
    char *md = test_read_text(test_path(out, "study.md")), *js = test_read_text(test_path(out, "study.json"));
    EXPECT(md && js);
    if (md) {
        int rows = 0;
        for (char *p = md; (p = strstr(p, "\n| ")); p++) rows++;
        EXPECT_MSG(rows == 7, "%d table rows after the header and the separator (want the 7 variants):\n%s", rows, md);
        for (int v = 0; v < 7; v++) {
            char cell[32];
            snprintf(cell, sizeof cell, "| %s |", VARIANT_NAMES[v]);
            EXPECT_MSG(strstr(md, cell), "no row %s", cell);
        }
        EXPECT(strstr(md, " ± ") && strstr(md, "over 2 seeds"));
    }
    LpoiErr err = {{0}};
    JsonDoc *d = js ? json_parse(js, strlen(js), &err) : NULL;
    EXPECT_MSG(d != NULL, "study.json: %s", err.msg);
    const JsonValue *vars = d ? json_get(json_root(d), "variants") : NULL;
    EXPECT(vars && vars->type == JSON_ARRAY && vars->count == 7);
    for (size_t v = 0; vars && v < vars->count; v++) {
        const JsonValue *var = json_at(vars, v);
        EXPECT_STREQ(json_get_str(var, "name"), VARIANT_NAMES[v]);
        for (int m = 0; m < NMETRICS; m++) {
            const JsonValue *o = json_get(var, METRICS[m]), *per = o ? json_get(o, "per_seed") : NULL;
            double mean = -1, sd = -1;
            EXPECT_MSG(o && json_get_f64(o, "mean", &mean) && json_get_f64(o, "sd", &sd) && per && per->count == 2,
                       "%s.%s", VARIANT_NAMES[v], METRICS[m]);
            if (!per || per->count != 2) continue;
            double x0 = per->items[0]->number, x1 = per->items[1]->number;
            EXPECT_NEAR(mean, (x0 + x1) / 2, 1e-5, 1e-5);
            EXPECT_NEAR(sd, fabs(x0 - x1) / sqrt(2.0), 1e-5, 1e-5);   // sample sd of two values
            if (m != NMETRICS - 1) EXPECT(x0 >= 0 && x0 <= 1 && x1 >= 0 && x1 <= 1);
        }
    }
    json_free(d);
    Image img = {0};
    EXPECT_MSG(image_decode_file(&img, test_path(out, "study.png"), NULL, &err), "%s", err.msg);
    EXPECT(img.w > 400 && img.h > 300);
    image_free(&img);
    // Every run's descriptions are on disk; --rescore gives the same table from them.
    EXPECT(access(test_path(out, "seed-2/lpoi-novp/descriptions.jsonl"), R_OK) == 0);
    EXPECT(access(test_path(out, "seed-1/lists-novp/manifest.jsonl"), R_OK) == 0);
    char *argv2[] = {"study", "--quick", "--out", out, "--rescore"};
    rc = test_run_command(cmd_study, 5, argv2, &printed);
    EXPECT_MSG(rc == 0, "rescore: exit %d: %s", rc, printed ? printed : "");
    free(printed);
    char *md2 = test_read_text(test_path(out, "study.md"));
    EXPECT_MSG(md && md2 && !strcmp(md, md2), "--rescore changed the table:\n%s\nthen\n%s", md, md2);
    free(md2);
    // A second study into the same folder is refused.
    char *argv3[] = {"study", "--quick", "--out", out};
    EXPECT_EQ_INT(test_run_command(cmd_study, 4, argv3, &printed), 2);
    free(printed);
    free(md);
    free(js);
    file_rmtree(dir);
}

TEST(study_glue_objects) {
    static const char *const CASES[][2] = {
        {"A red circle.", "A redcircle."},
        {"Two Red circles and a blue square", "Two Redcircles and a bluesquare"},
        {"a red circlet, infrared square, red  circle", "a red circlet, infrared square, red  circle"},
        {"red square", "redsquare"},
        {"", ""},
        {"orange triangles!", "orangetriangles!"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        char *got = study_glue_objects(CASES[i][0]);
        EXPECT_STREQ(got, CASES[i][1]);
        free(got);
    }
    // What CHAIR then finds with the study's vocabulary format (glued canonical, glued plural).
    char err[256];
    ChairVocab *v = chair_vocab_parse("redcircle, redcircles\nbluesquare, bluesquares\ncircle, circles\n", "test", err, sizeof err);
    EXPECT_MSG(v != NULL, "%s", err);
    if (!v) return;
    char *glued = study_glue_objects("Two red circles, a circle and a blue square.");
    int objs[8], n = chair_mentions(v, glued, objs, 8);
    EXPECT_EQ_INT(n, 3);
    if (n == 3) {
        EXPECT_STREQ(chair_vocab_name(v, objs[0]), "redcircle");
        EXPECT_STREQ(chair_vocab_name(v, objs[1]), "circle");
        EXPECT_STREQ(chair_vocab_name(v, objs[2]), "bluesquare");
    }
    free(glued);
    chair_vocab_free(v);
}
