// demo_char.h — `lpoi demo --char-model`: the one-block character model of demo_lm.c trained on an
// embedded paragraph through the op table (a smoke test of forward, backward and AdamW on a backend).
#pragma once

// argv[0] is "demo"; "--char-model" may appear anywhere. Returns the exit code.
int demo_char_model(int argc, char **argv);
