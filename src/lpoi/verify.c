// verify.c — the verification rule of verify.h on a LLaVA-1.5 session.
#include "lpoi/verify.h"
#include "lpoi/generate_llava.h"
#include "base/check.h"
#include "base/strbuf.h"
#include <stdlib.h>
#include <string.h>

const char VERIFY_RULE_TEXT[] =
    "Verification of x_L (the fully masked image): the model is asked, in its chat template,\n"
    "  answer: \"Question: {q}\\nAnswer: {chosen}\\nIs this answer correct for the image? Answer yes or no.\"\n"
    "  object: \"Is there a {object} in the image? Answer yes or no.\"\n"
    "and log p(\" Yes\") - log p(\" No\") as its answer (one token each for LLaVA-1.5) >= the margin\n"
    "(default 0) means the masking failed (the model still accepts the answer / sees the object):\n"
    "the next object is tried.\n";

const char *verify_rule_name(VerifyRule r) { return r == VERIFY_OBJECT ? "object" : "answer"; }

bool verify_rule_parse(const char *s, VerifyRule *r) {
    if (!strcmp(s, "answer")) *r = VERIFY_ANSWER;
    else if (!strcmp(s, "object")) *r = VERIFY_OBJECT;
    else return false;
    return true;
}

// s without its "<image>" placeholders (the chat template adds the one image).
static void put_without_image(StrBuf *b, const char *s) {
    for (const char *p = s ? s : ""; *p;) {
        const char *hit = strstr(p, "<image>");
        size_t n = hit ? (size_t)(hit - p) : strlen(p);
        strbuf_put(b, p, n);
        p += n + (hit ? 7 : 0);
    }
}

char *verify_question(VerifyRule r, const char *question, const char *chosen, const char *object) {
    StrBuf b = {0};
    if (r == VERIFY_OBJECT) {
        const char *o = object ? object : "";
        bool an = strchr("aeiouAEIOU", o[0]) != NULL && o[0];
        strbuf_printf(&b, "Is there %s ", an ? "an" : "a");
        put_without_image(&b, o);
        strbuf_str(&b, " in the image? Answer yes or no.");
    } else {
        strbuf_str(&b, "Question: ");
        put_without_image(&b, question);
        strbuf_str(&b, "\nAnswer: ");
        put_without_image(&b, chosen);
        strbuf_str(&b, "\nIs this answer correct for the image? Answer yes or no.");
    }
    return b.s;
}

bool verify_masking_failed(double logp_yes, double logp_no, double margin) { return !(logp_yes - logp_no < margin); }

struct Verifier {
    LlavaSession *s;
    VerifyRule rule;
    double margin;
};

Verifier *verifier_open(const char *model_dir, const char *device, VerifyRule rule, double margin, LpoiErr *err) {
    LlavaSession *s = llava_session_open(model_dir, device, PRECISION_FP32, NULL, err);
    if (!s) return NULL;
    Verifier *v = calloc_check(1, sizeof *v);
    *v = (Verifier){s, rule, margin};
    return v;
}

void verifier_close(Verifier *v) {
    if (!v) return;
    llava_session_close(v->s);
    free(v);
}

VerifyRule verifier_rule(const Verifier *v) { return v->rule; }

bool verifier_check(Verifier *v, const Image *x_l, const char *question, const char *chosen, const char *object,
                    VerifyScore *out, LpoiErr *err) {
    char *q = verify_question(v->rule, question, chosen, object);
    static const char *const CONT[2] = {" Yes", " No"};
    double lp[2];
    int ntok[2];
    bool ok = llava_session_continuation_logps(v->s, x_l, q, CONT, 2, lp, ntok, err);
    free(q);
    if (!ok) return err_prefix(err, "verify");
    *out = (VerifyScore){lp[0], lp[1], ntok[0], ntok[1], verify_masking_failed(lp[0], lp[1], v->margin)};
    return true;
}
