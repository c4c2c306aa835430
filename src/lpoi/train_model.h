// train_model.h — what the training loop asks of a vision-language model, so that trainer.c,
// trainer_heldout.c, trainer_eval.c and checkpoint.c call one interface instead of one model's
// functions: the adapter switch and its tensors (enumerated under their PEFT names, for AdamW and
// the checkpoints), loading and saving the adapter folder, and the sequence log-probs of a batch
// with their backward into the adapters.
// The batch is the model's own (LlavaBatch for LLaVA: trainer_build_batch makes it); the data side
// (tokenising with the model's chat template, pixels, the batch) is still LLaVA's in
// trainer_setup.c — it is the next part to move behind this interface for Idefics2.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"
#include "nn/weights.h"
#include "models/idefics2.h"
#include "models/llava.h"

typedef struct {
    const char *kind;   // "LLaVA" (in messages)
    // Adapters of rank r on the PEFT target_modules spec `targets`, PEFT's init from seed (lora_B = 0).
    bool (*lora_setup)(void *m, const char *targets, int r, double alpha, uint64_t seed, LpoiErr *err);
    void (*set_lora)(void *m, bool on);        // on: the policy; off: the reference model
    void (*zero_grad)(void *m);
    size_t (*lora_count)(const void *m);
    void (*lora_tensor)(const void *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param, float **grad);
    bool (*lora_load)(void *m, const WeightSource *src, LpoiErr *err);               // tensors of a checkpoint
    bool (*adapter_load_dir)(void *m, const char *dir, LpoiErr *err);                // creates and loads
    bool (*adapter_save_dir)(const void *m, const char *dir, const char *base_model, int r, double alpha, LpoiErr *err);
    // logp [B] (host) of the model's batch; for_backward keeps what logps_backward needs.
    bool (*logps_forward)(void *m, const void *batch, bool for_backward, float *logp, LpoiErr *err);
    void (*logps_backward)(void *m, const float *dlogp);   // LoRA gradients += from dlogp [B] (host)
} TrainModelOps;

typedef struct {
    const TrainModelOps *ops;
    void *m;            // the model (LlavaModel *)
} TrainModel;

// The LLaVA-1.5 implementation over m (not owned; the batch is a LlavaBatch).
TrainModel train_model_llava(LlavaModel *m);
// The Idefics2 implementation (the batch is an Idefics2Batch). The trainer does not open Idefics2
// folders yet (its data side is LLaVA's); train_model_idefics2_test.c runs a step through it.
TrainModel train_model_idefics2(Idefics2Model *m);

static inline void tm_set_lora(const TrainModel *t, bool on) { t->ops->set_lora(t->m, on); }
static inline void tm_zero_grad(const TrainModel *t) { t->ops->zero_grad(t->m); }
static inline size_t tm_lora_count(const TrainModel *t) { return t->ops->lora_count(t->m); }
static inline bool tm_logps_forward(const TrainModel *t, const void *batch, bool for_backward, float *logp, LpoiErr *err) {
    return t->ops->logps_forward(t->m, batch, for_backward, logp, err);
}
static inline void tm_logps_backward(const TrainModel *t, const float *dlogp) { t->ops->logps_backward(t->m, dlogp); }
