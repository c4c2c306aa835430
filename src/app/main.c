// main.c — `lpoi <command> [args]`: dispatch to src/app/cmd_<command>.c.
#include "app/commands.h"
#include "base/threads.h"
#include <stdio.h>
#include <string.h>

#define LPOI_VERSION "0.1.0"

typedef struct { const char *name; int (*run)(int, char **); const char *summary; } Command;

static const Command COMMANDS[] = {
    {"demo",    cmd_demo,    "run the embedded end-to-end job (no downloads, CPU or GPU)"},
    {"check",   cmd_check,   "replay golden cases (oracle outputs from PyTorch) against a backend"},
    {"inspect", cmd_inspect, "list the tensors of safetensors files or model folders; validate them"},
    {"devices", cmd_devices, "show the CPU backend and any usable GPU with the PTX variant it gets"},
    {"generate", cmd_generate, "continue a prompt (LLaMA/Mistral), or answer about images (LLaVA-1.5, Idefics2; --image/--batch), --adapter"},
    {"train",   cmd_train,   "LoRA preference training of LLaVA-1.5 with LPOI, mDPO or DPO (PEFT adapters out)"},
    {"merge",   cmd_merge,   "merge a PEFT LoRA adapter into a checkpoint (an HF folder, as PEFT merge_and_unload)"},
    {"plot",    cmd_plot,    "draw a training run's curves (RUN/log.jsonl: losses, list accuracy, margin, lr) to a PNG"},
    {"eval",    cmd_eval,    "answer and score hallucination benchmarks (CHAIR, AMBER, POPE, MMHal) for adapters side by side"},
    {"study",   cmd_study,   "the effect study: DPO, mDPO and LPOI adapters in the demo world, scored with CHAIR"},
    {"score",   cmd_score,   "score answers offline: CHAIR, AMBER (generative, discriminative), POPE-style yes/no"},
    {"negatives", cmd_negatives, "build LPOI's listwise negative image lists (masked boxes) as PNGs + manifest; object from the text, verified"},
};

static void usage(FILE *to) {
    fprintf(to, "lpoi %s — listwise preference optimisation for vision-language models, in C\n\n"
                "usage: lpoi <command> [options]   (lpoi <command> --help for details)\n\ncommands:\n", LPOI_VERSION);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        fprintf(to, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(to, "\nenvironment: LPOI_THREADS (CPU threads, default: all online CPUs), LPOI_CPU_ISA (avx512, avx2 or\n"
                "             portable: force the CPU GEMM path; default: the best this CPU has)\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("lpoi %s\n", LPOI_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) {
            threads_count();   // a bad LPOI_THREADS stops here (exit 2), before a command changes any file
            return COMMANDS[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "lpoi: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
