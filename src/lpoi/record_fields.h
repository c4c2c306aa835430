// record_fields.h — the image and text fields of a record, read the same way by `lpoi train`
// (dataset.c), `lpoi negatives` and `lpoi generate --batch`, in every layout users bring:
//   image   "img_path" (LPOI / mDPO), "image" (LLaVA-style), or "images" (TRL vision DPO): a list
//           of exactly one entry, a path string or an object with a "path" string (HF datasets'
//           Image feature as JSON)
//   text    a plain string, or TRL's conversational form: a list of chat messages {"role",
//           "content"}, where content is a string or a list of parts {"type": "text", "text"} /
//           {"type": "image"}; the prompt is one "user" message (optionally after "system"
//           messages, which lpoi's llava-1.5 template has no place for: refused), an answer one
//           "assistant" message. Its text parts are joined; image parts are counted.
#pragma once
#include <stdbool.h>
#include "base/error.h"
#include "base/json.h"

// The image path of obj (malloc'ed) and the key it came from ("img_path", "image" or "images").
// false + err "field: reason" when it is malformed, or "<name>: missing ..." when none is there.
bool record_image(const JsonValue *obj, const char *name, char **path, const char **field, LpoiErr *err);
// The text of obj[key] (malloc'ed), with role the message role a conversational value must hold
// ("user" for a prompt, "assistant" for an answer); *n_image_parts (may be NULL) counts the image
// parts of the message. false + err "key: reason".
bool record_text(const JsonValue *obj, const char *key, const char *role, bool allow_empty, char **text,
                 int *n_image_parts, LpoiErr *err);
