// wordnet_lemmas.h — nltk's WordNetLemmatizer().lemmatize(token) (noun) for the tokens lpoi's scorers
// care about: AMBER's vocabulary and the refined CHAIR table's words. The table is generated from
// WordNet 3.0 (tools/wordnet_lemma_table.py); any other token is returned unchanged, which is what
// the scorers need (they drop words outside their vocabulary either way).
#pragma once

extern const char *const WORDNET_LEMMAS[][2];   // {token, lemma}, sorted by bytes of token
extern const int WORDNET_N_LEMMAS;

const char *wordnet_lemma(const char *token);   // the lemma, or token itself
