// cmd_merge.c — `lpoi merge`: a PEFT LoRA adapter merged into a Hugging Face checkpoint
// (lpoi/merge.h), the folder PEFT's merge_and_unload() + save_pretrained would write.
#include "app/commands.h"
#include "lpoi/merge.h"
#include <stdio.h>
#include <string.h>

static const char *MERGE_USAGE =
    "usage: lpoi merge --model DIR --adapter ADAPTER_DIR --out OUT_DIR\n"
    "\n"
    "Writes OUT_DIR, a Hugging Face checkpoint with the LoRA adapter merged into the weights, as PEFT's\n"
    "merge_and_unload() + save_pretrained would: W + (lora_alpha / r) * B @ A for every adapted Linear,\n"
    "computed in fp32 and stored in the checkpoint's dtype (F32, F16 or BF16); every other tensor and\n"
    "every other file of DIR (config, tokenizer, processor, generation config) copied unchanged.\n"
    "\n"
    "  --model DIR       a checkpoint folder (model.safetensors or a sharded index), e.g. LLaVA-1.5\n"
    "  --adapter DIR     a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors), e.g. RUN/adapter\n"
    "  --out OUT_DIR     must not exist or be empty; built beside it and renamed into place, so a failed\n"
    "                    merge leaves nothing behind\n"
    "\n"
    "Exit status: 0 ok, 1 if the model or adapter cannot be used (reason on stderr), 2 on a usage error.\n";

int cmd_merge(int argc, char **argv) {
    const char *model = NULL, *adapter = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(MERGE_USAGE, stdout); return 0; }
        if (!v) { fprintf(stderr, "lpoi merge: %s needs a value (see --help)\n", a); return 2; }
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--adapter")) adapter = v;
        else if (!strcmp(a, "--out")) out = v;
        else { fprintf(stderr, "lpoi merge: unknown option '%s' (see --help)\n", a); return 2; }
        i++;
    }
    if (!model || !adapter || !out) { fputs(MERGE_USAGE, stderr); return 2; }
    MergeStats st;
    LpoiErr err = {{0}};
    if (!merge_adapter_dir(model, adapter, out, &st, &err)) {
        fprintf(stderr, "lpoi merge: %s\n", err.msg);
        return 1;
    }
    printf("lpoi merge: %d Linear%s merged, %d tensors and %d other file%s written to %s\n", st.modules,
           st.modules == 1 ? "" : "s", st.tensors, st.files, st.files == 1 ? "" : "s", out);
    return 0;
}
