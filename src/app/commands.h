// commands.h — one function per subcommand, each in src/app/cmd_<name>.c.
// argv[0] is the subcommand name; return the process exit code (0 ok, 1 failure, 2 usage).
#pragma once

int cmd_inspect(int argc, char **argv);   // cmd_inspect.c: list safetensors tensors, validate files
int cmd_check(int argc, char **argv);     // cmd_check.c: replay golden cases against a backend
int cmd_demo(int argc, char **argv);      // cmd_demo.c: the embedded end-to-end job
int cmd_devices(int argc, char **argv);   // cmd_devices.c: which backends and GPUs are usable
int cmd_negatives(int argc, char **argv); // cmd_negatives.c: listwise negative image lists as PNGs
int cmd_generate(int argc, char **argv); // cmd_generate.c: continue a prompt with a LLaMA/Mistral model (KV cache)
int cmd_train(int argc, char **argv);    // cmd_train.c: LoRA preference training (DPO / mDPO / LPOI)
int cmd_plot(int argc, char **argv);     // cmd_plot.c: a training run's curves (RUN/log.jsonl) as a PNG
int cmd_merge(int argc, char **argv);    // cmd_merge.c: a PEFT adapter merged into an HF checkpoint
int cmd_eval(int argc, char **argv);     // cmd_eval.c: hallucination benchmarks of a model and its adapters
int cmd_study(int argc, char **argv);    // cmd_study.c: the effect study of DPO / mDPO / LPOI in the demo world
int cmd_score(int argc, char **argv);    // cmd_score.c: CHAIR / AMBER / POPE metrics of an answers file
