// study.h — the effect study behind `lpoi study` (issue 14 item 5): does LPOI make the model
// hallucinate less than mDPO and DPO, in the demo's synthetic world where the truth is known?
//
// Per seed (the world, the tiny random base model and the training all change with it):
//   data     synth.h's pictures of coloured shapes (seed s), train + held-out splits
//   base     tiny_model.h's random LLaVA-1.5 (seed s), no training
//   trained  the same LoRA recipe as `lpoi demo` with DPO, mDPO and LPOI (L = 5, visual prompt on),
//            and LPOI with L = 3 and 4 and with the visual prompt off (the paper's Tables 3-4)
//   answers  greedy descriptions of every held-out picture ("What is in the image?")
//   scored   by eval/chair.h with the world's objects as the vocabulary: an object is a colour and a
//            shape ("red circle"), so naming the wrong colour or the wrong shape is a hallucination;
//            a shape-only vocabulary too ("circle, circles")
// Then the mean and the sample standard deviation over seeds of each metric per variant:
// OUT/study.md (a markdown table), OUT/study.json, OUT/study.png (bars with the seeds as dots),
// and every run's folder (OUT/seed-S/<variant>/: the training run, descriptions.jsonl).
#pragma once
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *out, *device;
    int seeds;                        // seeds 1..seeds
    int steps, examples, heldout, batch, image_size, patch_size, max_new;
    double lr, beta;
    bool quiet;                       // no per-run progress lines
    bool rescore;                     // score the descriptions.jsonl of a study already in `out` again
                                      // (the same settings), without training
} StudyArgs;

// The defaults `lpoi study --help` prints; quick: a pipeline check in seconds (tiny everything).
StudyArgs study_defaults(bool quick);

// Runs the study; the table goes to stdout, progress too, errors to stderr. Returns the exit code:
// 0, 1 (a failure) or 2 (an --out folder that is not empty).
int study_run(const StudyArgs *a);

// text with every "<colour> <shape>" of the world (any case, whole words, the shape maybe plural)
// written without its space ("A red circles." -> "A redcircles."), malloc'ed: CHAIR matches single
// words (and two-word objects only from its fixed COCO list), so the colour-shape vocabulary is
// "redcircle, redcircles".
char *study_glue_objects(const char *text);
