// verify.h — is the fully masked image x_L a hard negative? (paper §3.1, Algorithm 1 lines 10-12;
// issue 13 part 3). A vision-language model (LLaVA-1.5 today) is asked a yes/no question about x_L
// and answers through the log-probabilities of its first answer token.
//
// Rules (VERIFY_RULE_TEXT):
//  - answer (default, the paper's: "if the filtering model answers (x_L, q, w) to be positive answer
//    then go to line 5 with a different object b"): the user turn is
//      Question: {q}\nAnswer: {w}\nIs this answer correct for the image? Answer yes or no.
//    with q the question and w the chosen answer.
//  - object (the object's presence): the user turn is
//      Is there a {object} in the image? Answer yes or no.
//    ("an" before a vowel), with the candidate's canonical lexicon name.
//  "<image>" in q or w is removed (mDPO-style prompts carry one; the template adds the image). The
//  turn goes into the model's chat template (llava-1.5: "USER: <image>\n... ASSISTANT:"), and the
//  scores are logp_yes = log p(" Yes" | x_L, turn) and logp_no = log p(" No" | x_L, turn) as the
//  answer, tokenized after the prompt: one token each for LLaVA-1.5 ("▁Yes" 3869, "▁No" 1939), so
//  this is the first answer token; a tokenizer that splits them (the tiny test vocabulary) scores
//  the whole continuation. The masking FAILED (the
//  model still accepts the chosen answer / still sees the object, so it does not hallucinate) when
//  logp_yes - logp_no >= margin (default 0: "Yes" at least as likely as "No"; ties count as
//  failed, since they give no evidence of a hallucination). A failed candidate makes the caller try
//  the next one. The margin calibrates a model biased towards one answer (a negative margin fails
//  more candidates).
#pragma once
#include <stdbool.h>
#include "base/error.h"
#include "image/image.h"

extern const char VERIFY_RULE_TEXT[];   // for --help (ends with '\n')

typedef enum { VERIFY_ANSWER, VERIFY_OBJECT } VerifyRule;
const char *verify_rule_name(VerifyRule r);   // "answer", "object"
bool verify_rule_parse(const char *s, VerifyRule *r);

// The user turn of the rule (malloc'ed). question and chosen are used by VERIFY_ANSWER, object by
// VERIFY_OBJECT; NULL reads as "".
char *verify_question(VerifyRule r, const char *question, const char *chosen, const char *object);

typedef struct {
    double logp_yes, logp_no;   // log-probabilities of the answers " Yes" and " No"
    int yes_tokens, no_tokens;  // tokens each answer was scored over (1 and 1 for LLaVA-1.5)
    bool masking_failed;        // logp_yes - logp_no >= margin
} VerifyScore;
bool verify_masking_failed(double logp_yes, double logp_no, double margin);

typedef struct Verifier Verifier;
// Loads the model folder (LLaVA-1.5: config.json, safetensors, tokenizer.json, preprocessor config).
Verifier *verifier_open(const char *model_dir, const char *device, VerifyRule rule, double margin, LpoiErr *err);
void verifier_close(Verifier *v);
VerifyRule verifier_rule(const Verifier *v);
// Scores x_L (the image in memory, at its own resolution: the model's preprocessing runs here).
bool verifier_check(Verifier *v, const Image *x_l, const char *question, const char *chosen, const char *object,
                    VerifyScore *out, LpoiErr *err);
