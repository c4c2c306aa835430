// words.h — the word splitter the official CHAIR and AMBER scripts share: nltk.word_tokenize, that is a
// Punkt sentence split followed by NLTK's improved Treebank word tokenizer (NLTKWordTokenizer), each
// regex pass reproduced in C (words.c says where we knowingly differ). No lowercasing here: CHAIR
// lowercases first, AMBER does not.
#pragma once
#include <stddef.h>

// Tokens of one text: tok[i] points into one buffer owned by the struct.
typedef struct {
    char **tok;
    int n, cap;
    char *buf;
    size_t buf_len, buf_cap;
} Words;

// Appends the tokens of text[0..len) to w ({0} is an empty list). Text is UTF-8; bytes >= 0x80 count
// as letters except the quote characters the tokenizer splits off (« » “ ” ‘ ’ „).
void words_tokenize(Words *w, const char *text, size_t len);
void words_clear(Words *w);   // empties the list, keeps the memory
void words_free(Words *w);
