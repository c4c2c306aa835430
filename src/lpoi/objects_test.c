// objects_test.c — the text rules of objects.h on a table of sentences → ordered candidate classes
// (plurals, synonyms, multi-word names, punctuation, capitals, negation, hyphens, possessives), the
// paper's priority order over (question, chosen, rejected), and --objects FILE (CHAIR's synonym
// lists when ../shared/data is present).
#include "test/test.h"
#include "lpoi/objects.h"
#include "base/file.h"
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

// The candidates of (q, chosen, rejected) as "a|b|c" canonical names (into a static buffer).
static const char *names_of(const ObjLexicon *lx, const ObjMentions *m) {
    static char buf[4][512];
    static int slot;
    char *b = buf[slot++ & 3];
    size_t k = 0;
    b[0] = 0;
    for (int i = 0; i < m->n && k < 500; i++)
        k += (size_t)snprintf(b + k, 512 - k, "%s%s", i ? "|" : "", obj_lexicon_class_name(lx, m->items[i].cls));
    return b;
}

typedef struct { const char *text, *want; } TextCase;

// One sentence as the chosen answer (no question): candidates in order of first mention.
static const TextCase SENTENCES[] = {
    {"A dog sits on a bench.", "dog|bench"},
    {"Two dogs and three cats.", "dog|cat"},
    {"The DOG chased a Cat", "dog|cat"},
    {"A hot dog on a plate next to a dog.", "hot dog|dog"},
    {"A hot-dog stand.", "hot dog"},
    {"The traffic lights are red.", "traffic light"},
    {"A traffic light.", "traffic light"},
    {"The light is on.", ""},
    {"A man and a woman.", "person"},
    {"Several people walk by.", "person"},
    {"The children play with a kite.", "person|kite"},
    {"Three mice and a keyboard.", "mouse|keyboard"},
    {"Knives, forks and spoons.", "knife|fork|spoon"},
    {"A puppy and two ponies.", "dog|horse"},
    {"Buses and sandwiches.", "bus|sandwich"},
    {"The dog's bowl is empty.", "dog|bowl"},
    {"The dogs' bowls are empty.", "dog|bowl"},
    {"The dog\xe2\x80\x99s leash.", "dog"},
    {"There is no dog in the image.", ""},
    {"There are no dogs or cats here.", ""},
    {"No, a dog is there.", "dog"},
    {"There isn't a cat, but a dog sleeps.", "dog"},
    {"A room without a television.", ""},
    {"Not a single car was seen, only a bus.", "bus"},
    {"A teddy bear and a bear.", "teddy bear|bear"},
    {"A cell phone, a cellphone and a phone.", "cell phone"},
    {"A sofa, a couch.", "couch"},
    {"hot, dog", "dog"},
    {"A pizza.A cake.", "pizza|cake"},   // '.' separates words even where it ends no sentence
    {"A wine glass and a glass of water.", "wine glass"},
    {"The giraffes eat leaves.", "giraffe"},
    {"A fire hydrant (red) near a stop sign.", "fire hydrant|stop sign"},
    {"Cafe\xcc\x81 tables", "dining table"},
    {"Caf\xc3\xa9 dog", "dog"},
    {"A policeman and two policemen.", ""},   // not in the built-in lexicon (CHAIR's lists have it)
    {"2 laptops, 1 tv.", "laptop|tv"},
    {"A TV monitor.", "tv"},
    {"An umbrella—and a handbag.", "umbrella|handbag"},
    {"\"Surfboards\" on the beach!", "surfboard"},
    {"The remote control is on the table.", "remote|dining table"},
    {"A baseball bat and a baseball glove.", "baseball bat|baseball glove"},
    {"", ""},
    {"Nothing here at all.", ""},
    {"A refrigerator; a fridge; an oven.", "refrigerator|oven"},
};

TEST(objects_sentence_table) {
    ObjLexicon *lx = obj_lexicon_builtin();
    EXPECT_EQ_INT(obj_lexicon_classes(lx), 80);
    for (size_t i = 0; i < sizeof SENTENCES / sizeof SENTENCES[0]; i++) {
        const TextCase *c = &SENTENCES[i];
        ObjCandidates oc;
        obj_candidates(lx, NULL, c->text, NULL, &oc);
        const char *got = names_of(lx, &oc.candidates);
        EXPECT_MSG(!strcmp(got, c->want), "\"%s\": got \"%s\", expected \"%s\"", c->text, got, c->want);
        obj_candidates_free(&oc);
    }
    obj_lexicon_free(lx);
}

// The paper's order: first sentence of the chosen answer, then the question, then the rest.
typedef struct { const char *q, *chosen, *rejected, *cands, *hall, *neg; } RecordCase;
static const RecordCase RECORDS[] = {
    {"What is the man holding?", "He holds a frisbee. A dog watches him.", "He holds a kite and a cat watches.",
     "frisbee|person|dog", "kite|cat", ""},
    {"Is there a cat on the sofa?", "No, there is no cat. A dog lies on the couch!", "Yes, a cat sleeps on the sofa.",
     "couch|dog", "cat", "cat"},
    {"Describe the image.", "A bus.\nA car and a truck.", "A bus and a train.", "bus|car|truck", "train", ""},
    {"What color is the car?", "It is red. The car is parked by a bench.", "", "car|bench", "", ""},
    {"", "Sheep graze. Two sheep and a dog.", "Sheep and a horse.", "sheep|dog", "horse", ""},
    {"Where is the dog?", "The dog is on the bed.", "The dog's on the couch next to a cat.", "dog|bed", "couch|cat", ""},
    // The chosen answer says there is no clock: the question's clock is no candidate either.
    {"Is there a clock?", "There is not a clock, only a vase. It has a book.", NULL, "vase|book", "", "clock"},
    // "Mr." ends the first sentence (abbreviations are not special).
    {"Is there a clock?", "Mr. Smith has a book. A vase.", NULL, "clock|book|vase", "", ""},
};

TEST(objects_record_order) {
    ObjLexicon *lx = obj_lexicon_builtin();
    for (size_t i = 0; i < sizeof RECORDS / sizeof RECORDS[0]; i++) {
        const RecordCase *c = &RECORDS[i];
        ObjCandidates oc;
        obj_candidates(lx, c->q, c->chosen, c->rejected, &oc);
        const char *got = names_of(lx, &oc.candidates), *hall = names_of(lx, &oc.hallucinated),
                   *neg = names_of(lx, &oc.negated);
        EXPECT_MSG(!strcmp(got, c->cands), "record %zu: candidates \"%s\", expected \"%s\"", i, got, c->cands);
        EXPECT_MSG(!strcmp(hall, c->hall), "record %zu: hallucinated \"%s\", expected \"%s\"", i, hall, c->hall);
        EXPECT_MSG(!strcmp(neg, c->neg), "record %zu: negated \"%s\", expected \"%s\"", i, neg, c->neg);
        obj_candidates_free(&oc);
    }
    obj_lexicon_free(lx);
}

TEST(objects_parts_and_offsets) {
    ObjLexicon *lx = obj_lexicon_builtin();
    const char *chosen = "A cat. The Hot-Dogs are there.";
    ObjCandidates oc;
    obj_candidates(lx, "Any dog?", chosen, NULL, &oc);
    EXPECT_EQ_INT(oc.candidates.n, 3);
    if (oc.candidates.n == 3) {
        EXPECT_EQ_INT(oc.candidates.items[0].part, OBJ_FIRST_SENTENCE);
        EXPECT_EQ_INT(oc.candidates.items[1].part, OBJ_QUESTION);
        EXPECT_EQ_INT(oc.candidates.items[2].part, OBJ_ANSWER_REST);
        const ObjMention *m = &oc.candidates.items[2];
        EXPECT_MSG(m->len == 8 && !memcmp(chosen + m->offset, "Hot-Dogs", 8), "span %zu+%zu", m->offset, m->len);
        EXPECT_STREQ(obj_part_name(m->part), "answer");
    }
    obj_candidates_free(&oc);
    EXPECT_EQ_INT(obj_first_sentence_len("Hi. There", 9), 3);
    EXPECT_EQ_INT(obj_first_sentence_len("3.5 cats", 8), 8);
    EXPECT_EQ_INT(obj_first_sentence_len("a\nb", 3), 1);
    int cls[4];
    EXPECT_EQ_INT(obj_phrase_classes(lx, "two dogs", cls, 4), 1);
    EXPECT_STREQ(obj_lexicon_class_name(lx, cls[0]), "dog");
    EXPECT_EQ_INT(obj_phrase_classes(lx, "no dog", cls, 4), 1);   // labels: negation ignored
    obj_lexicon_free(lx);
}

TEST(objects_lexicon_file) {
    ObjLexicon *lx = obj_lexicon_builtin();
    LpoiErr err = {{0}};
    const char *extra = "# extra objects\n\nperson, policeman\nlamp, lampshade, desk lamp,\n  \nbench, park bench\n";
    EXPECT(obj_lexicon_add_text(lx, extra, strlen(extra), "extra.txt", &err));
    EXPECT_EQ_INT(obj_lexicon_classes(lx), 81);
    EXPECT_EQ_INT(obj_lexicon_find_class(lx, "lamp"), 80);
    ObjCandidates oc;
    obj_candidates(lx, NULL, "Two policemen sit on a park bench under desk lamps.", NULL, &oc);
    EXPECT_STREQ(names_of(lx, &oc.candidates), "person|bench|lamp");
    obj_candidates_free(&oc);
    const char *bad = "dog\nthis name has far too many words in it\n";
    EXPECT(!obj_lexicon_add_text(lx, bad, strlen(bad), "bad.txt", &err));
    EXPECT_MSG(strstr(err.msg, "bad.txt:2:") != NULL, "%s", err.msg);
    EXPECT(!obj_lexicon_add_file(lx, "/nonexistent/objects.txt", &err));
    obj_lexicon_free(lx);

    // CHAIR's synonym lists (Rohrbach et al. 2018), read at run time, never committed.
    const char *chair = "../shared/data/chair/synonyms_rohrbach2018.txt";
    if (access(chair, R_OK) != 0) { test_skip("../shared/data/chair absent"); return; }
    ObjLexicon *cl = obj_lexicon_new();
    EXPECT_MSG(obj_lexicon_add_file(cl, chair, &err), "%s", err.msg);
    EXPECT_EQ_INT(obj_lexicon_classes(cl), 80);
    obj_candidates(cl, "What is the policeman riding?", "A policeman rides a motor bike past a fire hydrant.",
                   "He rides a horse.", &oc);
    EXPECT_STREQ(names_of(cl, &oc.candidates), "person|motorcycle|fire hydrant");
    EXPECT_STREQ(names_of(cl, &oc.hallucinated), "horse");
    obj_candidates_free(&oc);
    obj_lexicon_free(cl);
}
