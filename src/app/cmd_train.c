// cmd_train.c — `lpoi train`: LoRA preference training (DPO / mDPO / LPOI) of a LLaVA-1.5 folder;
// everything is in src/lpoi/trainer*.c. Also the tool mode --dump-logits (see --help).
#include "app/commands.h"
#include "lpoi/trainer.h"
#include <stdio.h>
#include <string.h>

// --dump-logits FILE --model DIR [--adapter DIR [--write-adapter DIR]] --image IMG --prompt Q [--answer A] [--device D]
static int dump_logits(int argc, char **argv) {
    TrainDumpArgs a = {.device = "cpu"};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = !strcmp(k, "--dump-logits") ? &a.out
                           : !strcmp(k, "--model")     ? &a.model_dir
                           : !strcmp(k, "--adapter")   ? &a.adapter_dir
                           : !strcmp(k, "--image")     ? &a.image
                           : !strcmp(k, "--prompt")    ? &a.prompt
                           : !strcmp(k, "--answer")    ? &a.answer
                           : !strcmp(k, "--write-adapter") ? &a.adapter_out
                           : !strcmp(k, "--device")    ? &a.device : NULL;
        if (!dst || !v) {
            fprintf(stderr, "lpoi train --dump-logits: %s %s\n", dst ? "missing value for" : "unknown option", k);
            return 2;
        }
        *dst = v;
        i++;
    }
    if (a.adapter_out && !a.adapter_dir) {
        fprintf(stderr, "lpoi train --dump-logits: --write-adapter needs --adapter\n");
        return 2;
    }
    if (!a.out || !a.model_dir || !a.image || !a.prompt) {
        fprintf(stderr, "lpoi train --dump-logits FILE needs --model, --image and --prompt\n");
        return 2;
    }
    LpoiErr err = {{0}};
    if (!train_dump_logits(&a, &err)) {
        fprintf(stderr, "lpoi train: %s\n", err.msg);
        return 1;
    }
    printf("wrote %s\n", a.out);
    return 0;
}

int cmd_train(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            train_print_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--dump-logits")) return dump_logits(argc, argv);
    }
    TrainOptions o;
    train_options_default(&o);
    o.device = "auto";   // the command's default: the GPU when one works (the library's stays cpu)
    LpoiErr err = {{0}};
    if (!train_options_parse(&o, argc, argv, &err) || !train_options_check(&o, &err)) {
        fprintf(stderr, "lpoi train: %s\n\n", err.msg);
        train_print_usage(stderr);
        return 2;
    }
    return train_run(&o);
}
