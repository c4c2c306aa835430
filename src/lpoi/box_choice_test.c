// box_choice_test.c — the box choice rule on a table of detection lists: threshold (strict), label
// matching (plural, synonym, multi-word, merged and partial labels), highest score and ties, invalid
// boxes, the fall-through to the next candidate, the "not in the text" draw and the caption.
#include "test/test.h"
#include "lpoi/box_choice.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(x0, y0, x1, y1) {x0, y0, x1, y1}

typedef struct {
    const char *what, *cls;
    Detection d[4];
    int n;
    int want;   // detection index, -1 none
} BoxCase;

static const BoxCase CASES[] = {
    {"exact label", "dog", {{B(0, 0, 10, 10), 0.5, "dog"}}, 1, 0},
    {"plural label", "dog", {{B(0, 0, 10, 10), 0.5, "dogs"}}, 1, 0},
    {"synonym label", "dog", {{B(0, 0, 10, 10), 0.5, "puppy"}}, 1, 0},
    {"capitals and article", "dog", {{B(0, 0, 10, 10), 0.5, "A Dog"}}, 1, 0},
    {"other class", "dog", {{B(0, 0, 10, 10), 0.9, "cat"}}, 1, -1},
    {"multi-word wins", "dog", {{B(0, 0, 10, 10), 0.9, "hot dog"}}, 1, -1},
    {"multi-word class", "hot dog", {{B(0, 0, 10, 10), 0.9, "hot dog"}, {B(0, 0, 5, 5), 0.95, "dog"}}, 2, 0},
    {"partial label", "traffic light", {{B(0, 0, 10, 10), 0.9, "traffic"}}, 1, -1},
    {"merged label names two", "dog", {{B(0, 0, 10, 10), 0.9, "dog cat"}}, 1, -1},
    {"highest score", "cat", {{B(0, 0, 1, 1), 0.4, "cat"}, {B(0, 0, 2, 2), 0.8, "cat"}, {B(0, 0, 3, 3), 0.6, "cats"}}, 3, 1},
    {"tie: first", "cat", {{B(0, 0, 1, 1), 0.7, "cat"}, {B(0, 0, 2, 2), 0.7, "cat"}}, 2, 0},
    {"at threshold: out", "cat", {{B(0, 0, 1, 1), 0.35, "cat"}}, 1, -1},
    {"just above", "cat", {{B(0, 0, 1, 1), 0.3500001, "cat"}}, 1, 0},
    {"empty box skipped", "cat", {{B(5, 5, 5, 9), 0.9, "cat"}, {B(0, 0, 2, 2), 0.5, "cat"}}, 2, 1},
    {"nan score skipped", "cat", {{B(0, 0, 1, 1), NAN, "cat"}, {B(0, 0, 2, 2), 0.5, "cat"}}, 2, 1},
    {"inf box skipped", "cat", {{B(0, 0, INFINITY, 1), 0.9, "cat"}}, 1, -1},
    {"null label", "cat", {{B(0, 0, 1, 1), 0.9, NULL}}, 1, -1},
    {"no detections", "cat", {{B(0, 0, 0, 0), 0, NULL}}, 0, -1},
    {"the class missing from the lexicon", "unicorn", {{B(0, 0, 1, 1), 0.9, "unicorn"}}, 1, -1},
};

TEST(box_choice_table) {
    ObjLexicon *lx = obj_lexicon_builtin();
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const BoxCase *c = &CASES[i];
        int got = box_choose(lx, obj_lexicon_find_class(lx, c->cls), c->d, c->n, 0.35);
        EXPECT_MSG(got == c->want, "%s: chose %d, expected %d", c->what, got, c->want);
    }
    obj_lexicon_free(lx);
}

TEST(box_choice_candidates_in_order) {
    ObjLexicon *lx = obj_lexicon_builtin();
    ObjCandidates oc;
    obj_candidates(lx, "What is on the couch?", "A cat sleeps. A remote lies by it.", "A dog sleeps.", &oc);
    EXPECT_EQ_INT(oc.candidates.n, 3);   // cat, couch, remote
    Detection d[] = {{B(0, 0, 10, 10), 0.9, "remote"}, {B(0, 0, 20, 20), 0.3, "cat"}, {B(1, 1, 5, 5), 0.6, "sofa"},
                     {B(2, 2, 6, 6), 0.8, "dog"}};
    BoxPick p;
    // The cat is below the threshold: the next candidate, the couch (labelled "sofa"), is chosen
    // although the remote scores higher.
    EXPECT(box_choose_first(lx, oc.candidates.items, oc.candidates.n, d, 4, 0.35, &p));
    EXPECT_EQ_INT(p.candidate, 1);
    EXPECT_EQ_INT(p.detection, 2);
    EXPECT(box_choose_first(lx, oc.candidates.items, oc.candidates.n, d, 4, 0.25, &p));
    EXPECT_EQ_INT(p.candidate, 0);
    EXPECT_EQ_INT(p.detection, 1);
    EXPECT(!box_choose_first(lx, oc.candidates.items, oc.candidates.n, d, 4, 0.95, &p));
    EXPECT_EQ_INT(p.candidate, -1);
    EXPECT_EQ_INT(p.detection, -1);
    EXPECT(!box_choose_first(lx, oc.candidates.items, 0, d, 4, 0.35, &p));
    // Not in the text: only the dog (the remote, cat and sofa are candidates).
    for (uint64_t seed = 0; seed < 5; seed++)
        EXPECT_EQ_INT(box_choose_other(lx, oc.candidates.items, oc.candidates.n, d, 4, 0.35, seed), 3);
    EXPECT_EQ_INT(box_choose_other(lx, oc.candidates.items, oc.candidates.n, d, 4, 0.85, 0), -1);
    // With two others, both are drawn for some seed, and the same seed draws the same.
    Detection e[] = {{B(0, 0, 1, 1), 0.9, "bird"}, {B(0, 0, 1, 1), 0.9, "kite"}};
    int seen[2] = {0, 0};
    for (uint64_t seed = 0; seed < 32; seed++) {
        int k = box_choose_other(lx, oc.candidates.items, oc.candidates.n, e, 2, 0.35, seed);
        EXPECT(k == 0 || k == 1);
        if (k >= 0) seen[k]++;
        EXPECT_EQ_INT(k, box_choose_other(lx, oc.candidates.items, oc.candidates.n, e, 2, 0.35, seed));
    }
    EXPECT(seen[0] > 0 && seen[1] > 0);
    StrBuf cap = {0};
    box_caption(lx, oc.candidates.items, oc.candidates.n, &cap);
    EXPECT_STREQ(cap.s, "cat. couch. remote.");
    free(cap.s);
    obj_candidates_free(&oc);
    obj_lexicon_free(lx);
}
