// yesno.h — reading a free-form answer to a yes/no question as Yes, No or neither.
//
// The public LPOI post-processing maps any answer containing the substring "no" to No, so "snow",
// "not sure", "There is a notebook" and "I know" all become No. The rule here:
//  1. The first word decides when it is an answer word: yes/yeah/yep/correct/true/sure -> Yes;
//     no/nope/not/none/never/false/incorrect -> No ("No, ...", "Yes, but no cat" -> Yes, "Not sure" -> No).
//  2. Otherwise, an answer that says it does not know ("I'm not sure", "I cannot tell", "unclear") is
//     neither (step 5).
//  3. Otherwise a negation anywhere, as a whole word: no, not, none, nothing, nobody, neither, nor,
//     never, cannot, without, or a word ending in n't ("There is no dog", "The cat isn't visible") -> No.
//  4. Otherwise the whole word "yes" anywhere -> Yes.
//  5. Otherwise neither (YESNO_UNKNOWN): counted as an unreadable answer, never as Yes or No.
// Words are split on anything that is not a letter or an apostrophe, compared case-insensitively;
// leading quotes, asterisks and spaces do not count ("**Yes**" -> Yes).
#pragma once
#include <stddef.h>

typedef enum { YESNO_UNKNOWN = 0, YESNO_YES, YESNO_NO } YesNo;

YesNo yesno_read(const char *answer, size_t len);
const char *yesno_name(YesNo a);   // "Yes", "No", "?"
