// lora_targets_peft_test.c — PEFT target_modules on a plain LLaMA/Mistral (dotted paths and regex
// strings on LlamaForCausalLM's module names "model.layers.N.…", which were refused), and the "every
// layer or none" rule counted over the model's own 3 layers (it counted 256, so a regex naming every
// layer of a small model was refused; the LLaVA cases are in llava_hf_forms_test.c). Expected: what
// PEFT 0.21.2 selects (tools/peft_targets_reference.py: get_peft_model on a 3-layer LlamaForCausalLM
// and MistralForCausalLM, which select the same); "some" (some layers only), "none" (no module) and
// "other" (lm_head, no lpoi LoRA kind) are refused by lpoi.
#include "models/llama.h"
#include "test/test.h"
#include <string.h>

static const char *refusal_text(const char *why) {
    return !strcmp(why, "some") ? "some layers only" : !strcmp(why, "other") ? "lm_head" : "no LLaMA Linear";
}

TEST(llama_lora_targets_peft_forms) {
    static const struct { const char *spec; unsigned bits; const char *refused; } CASES[] = {
        {"q_proj,v_proj", 0x5, NULL},
        {"self_attn.q_proj", 0x1, NULL},
        {"model.layers.0.self_attn.q_proj", 0, "some"},
        {"model\\.layers\\.\\d+\\.self_attn\\.(q_proj|v_proj)", 0x5, NULL},
        {"model\\.layers\\.(0|1|2)\\.mlp\\.(gate|up|down)_proj", 0x70, NULL},
        {"model\\.layers\\.[012]\\.self_attn\\.o_proj", 0x8, NULL},
        {"model\\.layers\\.(0|1)\\.self_attn\\.q_proj", 0, "some"},
        {".*\\.(k_proj|down_proj)", 0x42, NULL},
        {"layers\\.\\d+\\.self_attn\\.q_proj", 0, "none"},
        {".*lm_head", 0, "other"},
        {"(.*\\.q_proj|lm_head)", 0, "other"},
    };
    LlamaConfig cfg = {.n_layer = 3};
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        unsigned bits = 0;
        LpoiErr err = {{0}};
        bool ok = llama_lora_parse_targets(CASES[i].spec, &cfg, &bits, &err);
        if (CASES[i].refused) {
            EXPECT_MSG(!ok, "%s accepted (PEFT: %s)", CASES[i].spec, CASES[i].refused);
            EXPECT_MSG(strstr(err.msg, refusal_text(CASES[i].refused)) != NULL, "%s: %s", CASES[i].spec, err.msg);
        } else {
            EXPECT_MSG(ok, "%s: %s", CASES[i].spec, err.msg);
            EXPECT_MSG(!ok || bits == CASES[i].bits, "%s: %#x, PEFT %#x", CASES[i].spec, bits, CASES[i].bits);
        }
    }
    unsigned bits;
    LpoiErr err = {{0}};
    EXPECT(!llama_lora_parse_targets("model\\.layers\\.\\d+\\.self_attn\\.q_proj", NULL, &bits, &err) &&
           strstr(err.msg, "layer counts"));   // without the config: kind names only
    EXPECT(llama_lora_parse_targets("q_proj,down_proj", NULL, &bits, &err) && bits == 0x41);
}
