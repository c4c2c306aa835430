// words_test.c — the C word_tokenize against the oracle's (nltk 3.9.1 NLTKWordTokenizer after an
// untrained Punkt) on 800 random strings of clitics, quotes, brackets, abbreviations, initials,
// numbers and ellipses (testdata/eval/tokenizer_random.golden.jsonl, tools/tokenizer_golden.py).
#include "test/test.h"
#include "eval/words.h"
#include "base/json.h"
#include <stdlib.h>
#include <string.h>

TEST(words_tokenize_random_strings_match_nltk) {
    char *text = test_read_text("testdata/eval/tokenizer_random.golden.jsonl");
    EXPECT(text != NULL);
    if (!text) return;
    int lines = 0, bad = 0;
    for (char *line = text; line && *line;) {
        char *e = strchr(line, '\n');
        if (e) *e = 0;
        LpoiErr err = {{0}};
        JsonDoc *d = json_parse(line, strlen(line), &err);
        const char *s = d ? json_get_str(json_root(d), "text") : NULL;
        JsonValue *want = d ? json_get(json_root(d), "tokens") : NULL;
        EXPECT_MSG(s && want, "line %d: %s", lines + 1, err.msg);
        if (s && want) {
            Words w = {0};
            words_tokenize(&w, s, strlen(s));
            bool same = (size_t)w.n == want->count;
            for (int i = 0; same && i < w.n; i++) same = !strcmp(w.tok[i], want->items[i]->str);
            if (!same && bad++ < 5) {
                fprintf(stderr, "    \"%s\": lpoi", s);
                for (int i = 0; i < w.n; i++) fprintf(stderr, " |%s", w.tok[i]);
                fprintf(stderr, "\n");
            }
            words_free(&w);
        }
        json_free(d);
        lines++;
        line = e ? e + 1 : NULL;
    }
    EXPECT_EQ_INT(lines, 800);
    EXPECT_MSG(bad == 0, "%d of %d strings tokenized differently from nltk", bad, lines);
    free(text);
}
