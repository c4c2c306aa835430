// trainer_heldout_test.c — `lpoi train --eval-data --eval-every`: the held-out list accuracy logged
// during training equals what a separate evaluation of the saved adapter gives (train_evaluate: its
// own model load, reference pass and scoring), the log lines carry it only at the evaluated steps,
// and `lpoi plot` draws it.
#include "app/commands.h"
#include "lpoi/train_log.h"
#include "lpoi/trainer.h"
#include "test/test.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>

TEST(train_heldout_eval_logged_and_equal_to_evaluate) {
    char dir[64];
    test_tmp_dir(dir, sizeof dir, "heldout");
    const char *demo = test_path(dir, "demo");
    char *argv[] = {"demo", "--out", (char *)demo, "--examples", "12", "--heldout", "6", "--prepare-only", "--quiet"};
    EXPECT_COMMAND_EXIT(cmd_demo, 0, 9, argv);
    char model[300], data[300], heldout[300], run[300];
    snprintf(model, sizeof model, "%s/model", demo);
    snprintf(data, sizeof data, "%s/data/train.jsonl", demo);
    snprintf(heldout, sizeof heldout, "%s/data/heldout.jsonl", demo);
    snprintf(run, sizeof run, "%s/run", dir);
    TrainOptions o;
    train_options_default(&o);
    o.model_dir = model;
    o.data_path = data;
    o.out_dir = run;
    o.eval_data = heldout;
    o.eval_every = 2;
    o.lr = 0.01;
    o.grad_accum = 4;
    o.max_steps = 3;
    o.quiet = true;
    EXPECT_EQ_INT(train_run(&o), TRAIN_OK);
    char log[400];
    snprintf(log, sizeof log, "%s/log.jsonl", run);
    TrainLog l;
    LpoiErr err = {{0}};
    EXPECT_MSG(train_log_read(log, &l, &err), "%s", err.msg);
    EXPECT_EQ_INT(l.n, 3);
    if (l.n == 3) {
        EXPECT(l.has_eval);
        EXPECT(isnan(l.col[TLOG_EVAL_FULL_ACC][0]) && !isnan(l.col[TLOG_EVAL_FULL_ACC][1]) &&
               !isnan(l.col[TLOG_EVAL_FULL_ACC][2]));   // steps 2 and 3 (the last)
        char adapter[400];
        snprintf(adapter, sizeof adapter, "%s/adapter", run);
        TrainOptions e = o;
        e.data_path = heldout;
        TrainEval ev;
        EXPECT_MSG(train_evaluate(&e, adapter, &ev, &err), "%s", err.msg);
        EXPECT_NEAR(l.col[TLOG_EVAL_FULL_ACC][2], ev.full_acc, 1e-6, 0);
        EXPECT_NEAR(l.col[TLOG_EVAL_PAIR_ACC][2], ev.pair_acc, 1e-6, 0);
        EXPECT_NEAR(l.col[TLOG_EVAL_GAP][2], ev.gap, 1e-5, 1e-5);
        train_eval_free(&ev);
    }
    train_log_free(&l);
    char *pargv[] = {"plot", run};
    EXPECT_COMMAND_EXIT(cmd_plot, 0, 2, pargv);
    file_rmtree(dir);
}
