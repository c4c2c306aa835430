// verify_test.c — the verification rule: its questions, the decision (ties, margin), and the scores
// on testdata/tiny_llava (random weights: the mechanics, not a meaningful answer) against HF, from
// tools/verify_oracle_tiny_llava.py (transformers 5.24, fp32):
//   /work/venv/bin/python tools/verify_oracle_tiny_llava.py testdata/images/photos/chelsea.png
//       "Is there a cat in the image? Answer yes or no."
//       $'Question: What is this?\nAnswer: A cat on a sofa.\nIs this answer correct for the image? Answer yes or no.'
// The tiny vocabulary splits " Yes" and " No" into 3 tokens each (329 92 384 / 329 288 310), so
// whole continuations are scored, which also exercises the multi-token path.
#include "test/test.h"
#include "lpoi/verify.h"
#include "lpoi/generate_llava.h"
#include "image/preprocess.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TINY "testdata/tiny_llava"

TEST(verify_questions) {
    char *q = verify_question(VERIFY_OBJECT, NULL, NULL, "umbrella");
    EXPECT_STREQ(q, "Is there an umbrella in the image? Answer yes or no.");
    free(q);
    q = verify_question(VERIFY_OBJECT, "ignored", "ignored", "hot dog");
    EXPECT_STREQ(q, "Is there a hot dog in the image? Answer yes or no.");
    free(q);
    q = verify_question(VERIFY_ANSWER, "<image>\nWhat is this?", "A cat.", "ignored");
    EXPECT_STREQ(q, "Question: \nWhat is this?\nAnswer: A cat.\nIs this answer correct for the image? Answer yes or no.");
    free(q);
    q = verify_question(VERIFY_ANSWER, NULL, NULL, NULL);
    EXPECT_STREQ(q, "Question: \nAnswer: \nIs this answer correct for the image? Answer yes or no.");
    free(q);
    VerifyRule r;
    EXPECT(verify_rule_parse("object", &r) && r == VERIFY_OBJECT);
    EXPECT(verify_rule_parse("answer", &r) && r == VERIFY_ANSWER);
    EXPECT(!verify_rule_parse("yes", &r));
    EXPECT_STREQ(verify_rule_name(VERIFY_OBJECT), "object");
}

TEST(verify_decision) {
    EXPECT(verify_masking_failed(-0.1, -2.0, 0));    // Yes more likely: the model still sees it
    EXPECT(!verify_masking_failed(-2.0, -0.1, 0));   // No more likely: it hallucinates: verified
    EXPECT(verify_masking_failed(-1.0, -1.0, 0));    // a tie gives no evidence: failed
    EXPECT(verify_masking_failed(-2.0, -0.1, -5));   // a negative margin fails more
    EXPECT(!verify_masking_failed(-0.1, -2.0, 5));
    EXPECT(verify_masking_failed(0.0 / 0.0, -1.0, 0));   // NaN: failed, never verified
}

TEST(verify_tiny_llava_matches_hf) {
    if (access(TINY "/config.json", R_OK)) { test_skip(TINY " not found (run from the repository root)"); return; }
    LpoiErr err = {{0}};
    Image img = {0};
    EXPECT_MSG(preprocess_load_image(&img, "testdata/images/photos/chelsea.png", NULL, &err), "%s", err.msg);
    struct { VerifyRule rule; const char *q, *chosen, *object; double yes, no; } cases[] = {
        {VERIFY_OBJECT, NULL, NULL, "cat", -21.94420168970047, -20.658244867915155},
        {VERIFY_ANSWER, "What is this?", "A cat on a sofa.", NULL, -21.916109390974214, -20.435832530168994},
    };
    for (int i = 0; i < 2; i++) {
        Verifier *v = verifier_open(TINY, "cpu", cases[i].rule, 0.0, &err);
        EXPECT_MSG(v != NULL, "%s", err.msg);
        if (!v) continue;
        VerifyScore sc;
        EXPECT_MSG(verifier_check(v, &img, cases[i].q, cases[i].chosen, cases[i].object, &sc, &err), "%s", err.msg);
        EXPECT_NEAR(sc.logp_yes, cases[i].yes, 2e-4, 0);
        EXPECT_NEAR(sc.logp_no, cases[i].no, 2e-4, 0);
        EXPECT_EQ_INT(sc.yes_tokens, 3);
        EXPECT_EQ_INT(sc.no_tokens, 3);
        EXPECT(!sc.masking_failed);   // No is more likely for this random model
        verifier_close(v);
        // The margin only moves the decision, never the scores.
        v = verifier_open(TINY, "cpu", cases[i].rule, -5.0, &err);
        VerifyScore sc2;
        EXPECT(v && verifier_check(v, &img, cases[i].q, cases[i].chosen, cases[i].object, &sc2, &err));
        EXPECT(sc2.masking_failed);
        EXPECT(sc2.logp_yes == sc.logp_yes && sc2.logp_no == sc.logp_no);
        verifier_close(v);
    }
    image_free(&img);
    EXPECT(verifier_open("/nonexistent/model", "cpu", VERIFY_ANSWER, 0, &err) == NULL);
    EXPECT_MSG(strstr(err.msg, "/nonexistent/model") != NULL, "%s", err.msg);
}

// The exposed scorer on one- and two-token continuations: " dog" (one forward), " cat" (two
// tokens: its own forward), " the" (one token, scored from the row the " cat" forward shares).
//   tools/verify_oracle_tiny_llava.py testdata/images/photos/chelsea.png --cont=" dog" --cont=" cat"
//       --cont=" the" "What is this?"
TEST(verify_continuation_logps_match_hf) {
    if (access(TINY "/config.json", R_OK)) { test_skip(TINY " not found (run from the repository root)"); return; }
    LpoiErr err = {{0}};
    Image img = {0};
    EXPECT_MSG(preprocess_load_image(&img, "testdata/images/photos/chelsea.png", NULL, &err), "%s", err.msg);
    LlavaSession *s = llava_session_open(TINY, "cpu", PRECISION_FP32, NULL, &err);
    EXPECT_MSG(s != NULL, "%s", err.msg);
    if (!s) { image_free(&img); return; }
    const char *cont[] = {" dog", " cat", " the"};
    const double want[] = {-4.149026722007442, -13.755911845504276, -6.529145062261272};
    const int want_n[] = {1, 2, 1};
    double lp[3];
    int n[3];
    EXPECT_MSG(llava_session_continuation_logps(s, &img, "What is this?", cont, 3, lp, n, &err), "%s", err.msg);
    for (int i = 0; i < 3; i++) {
        EXPECT_NEAR(lp[i], want[i], 2e-4, 0);
        EXPECT_EQ_INT(n[i], want_n[i]);
    }
    const char *empty[] = {""};
    EXPECT(!llava_session_continuation_logps(s, &img, "What is this?", empty, 1, lp, n, &err));
    EXPECT_MSG(strstr(err.msg, "adds no token") != NULL, "%s", err.msg);
    llava_session_close(s);
    image_free(&img);
}
