// lr_schedule_test.c — every schedule against transformers' get_scheduler + torch LambdaLR
// (tools/lr_schedule_reference.py): the learning rate at each step 0..T, peak 1e-3.
#include "lpoi/lr_schedule.h"
#include "test/test.h"
#include <string.h>

TEST(lr_schedules_equal_hf) {
    static const struct { const char *name; int warmup, total; double lr[11]; } CASES[] = {
    {"linear", 0, 7, {0.001, 0.0008571428571428571, 0.0007142857142857143, 0.0005714285714285714, 0.00042857142857142855, 0.0002857142857142857, 0.00014285714285714284, 0.0}},
    {"linear", 3, 10, {0.0, 0.0003333333333333333, 0.0006666666666666666, 0.001, 0.0008571428571428571, 0.0007142857142857143, 0.0005714285714285714, 0.00042857142857142855, 0.0002857142857142857, 0.00014285714285714284, 0.0}},
    {"linear", 4, 4, {0.0, 0.00025, 0.0005, 0.00075, 0.0}},
    {"cosine", 0, 7, {0.001, 0.0009504844339512095, 0.0008117449009293668, 0.0006112604669781572, 0.00038873953302184284, 0.00018825509907063325, 4.9515566048790485e-05, 0.0}},
    {"cosine", 3, 10, {0.0, 0.0003333333333333333, 0.0006666666666666666, 0.001, 0.0009504844339512095, 0.0008117449009293668, 0.0006112604669781572, 0.00038873953302184284, 0.00018825509907063325, 4.9515566048790485e-05, 0.0}},
    {"cosine", 4, 4, {0.0, 0.00025, 0.0005, 0.00075, 0.001}},
    {"constant", 0, 7, {0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001}},
    {"constant", 3, 10, {0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001}},
    {"constant", 4, 4, {0.001, 0.001, 0.001, 0.001, 0.001}},
    {"constant_with_warmup", 0, 7, {0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001}},
    {"constant_with_warmup", 3, 10, {0.0, 0.0003333333333333333, 0.0006666666666666666, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001}},
    {"constant_with_warmup", 4, 4, {0.0, 0.00025, 0.0005, 0.00075, 0.001}},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        LrSchedule s;
        EXPECT(lr_schedule_parse(CASES[i].name, &s) && !strcmp(lr_schedule_name(s), CASES[i].name));
        for (int step = 0; step <= CASES[i].total; step++)
            EXPECT_NEAR(1e-3 * lr_schedule_factor(s, step, CASES[i].warmup, CASES[i].total), CASES[i].lr[step], 1e-18, 1e-15);
    }
    LrSchedule s;
    EXPECT(!lr_schedule_parse("polynomial", &s));
}
