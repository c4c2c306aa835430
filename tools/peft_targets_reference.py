#!/usr/bin/env python3
"""peft_targets_reference.py — which Linears PEFT adapts for a target_modules, on a plain LLaMA and
Mistral (LlamaForCausalLM / MistralForCausalLM, 3 decoder layers: not lpoi's old assumed 256) and on
testdata/tiny_llava (2 text layers, 3 vision layers). Printed as C initialisers: the selected kinds of
each part (bit k = kind k in lpoi's order), or "some" when PEFT adapts a kind in some layers only, "none"
when PEFT finds no module, "other" when it adapts a module that is no LoRA kind of lpoi (lm_head):
lpoi refuses those three.
Used by src/models/lora_targets_peft_test.c (LLaMA, Mistral) and llava_hf_forms_test.c (LLaVA).

usage: /work/venv/bin/python tools/peft_targets_reference.py
"""
import os
import torch
import transformers
from peft import LoraConfig, get_peft_model

LLAMA_KINDS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
CLIP_KINDS = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]
PROJ_KINDS = ["linear_1", "linear_2"]

LLAMA_SPECS = [
    "q_proj,v_proj",
    "self_attn.q_proj",
    "model.layers.0.self_attn.q_proj",  # one layer only
    r"model\.layers\.\d+\.self_attn\.(q_proj|v_proj)",
    r"model\.layers\.(0|1|2)\.mlp\.(gate|up|down)_proj",
    r"model\.layers\.[012]\.self_attn\.o_proj",
    r"model\.layers\.(0|1)\.self_attn\.q_proj",  # 2 of 3 layers
    r".*\.(k_proj|down_proj)",
    r"layers\.\d+\.self_attn\.q_proj",  # no "model." prefix: full match fails
    r".*lm_head",
    r"(.*\.q_proj|lm_head)",  # q_proj and the head: lpoi has no adapter for the head
]
LLAVA_SPECS = [
    r"model\.language_model\.layers\.(0|1)\.self_attn\.q_proj",  # every text layer of the tiny model
    r"model\.vision_tower\.encoder\.layers\.[0-2]\.mlp\.fc1",
    r"model\.vision_tower\.encoder\.layers\.[01]\.mlp\.fc1",  # 2 of 3 vision layers
    r"(.*language_model.*\.v_proj|lm_head)",
]


def selection(model, parts, spec):
    """parts: [(module-name prefix, kinds, n_layers or 0)] -> per part a bit mask, or 'some'/'none'."""
    try:
        pm = get_peft_model(model, LoraConfig(r=2, target_modules=spec if "\\" in spec or "*" in spec or "(" in spec
                                              or "[" in spec else spec.split(",")))
    except ValueError as e:
        assert "not found in the base model" in str(e) or "were not found" in str(e), e
        return "none"
    names = {n[len("base_model.model."):-len(".lora_A")] for n, _ in pm.named_modules() if n.endswith(".lora_A")}
    pm.unload()
    ours = {f"{prefix}layers.{l}.{path}" if n_layers else f"{prefix}{path}"
            for prefix, _, n_layers, paths in parts for path in paths for l in range(max(n_layers, 1))}
    if names - ours:
        return "other"
    out = []
    for prefix, kinds, n_layers, paths in parts:
        bits = 0
        for k, path in enumerate(paths):
            hit = [f"{prefix}layers.{l}.{path}" in names for l in range(n_layers)] if n_layers else [f"{prefix}{path}" in names]
            if any(hit) and not all(hit):
                return "some"
            bits |= (1 << k) if all(hit) else 0
        out.append(bits)
    return out


LLAMA_PATHS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
               "mlp.up_proj", "mlp.down_proj"]
CLIP_PATHS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2"]

torch.manual_seed(0)
small = dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=3, num_attention_heads=2,
             num_key_value_heads=1)
for arch, cfg_cls, cls in [("llama", transformers.LlamaConfig, transformers.LlamaForCausalLM),
                           ("mistral", transformers.MistralConfig, transformers.MistralForCausalLM)]:
    print(f"    // {arch} ({cls.__name__}, 3 layers)")
    for spec in LLAMA_SPECS:
        sel = selection(cls(cfg_cls(**small)), [("model.", LLAMA_KINDS, 3, LLAMA_PATHS)], spec)
        want = f'0, "{sel}"' if isinstance(sel, str) else f"{sel[0]:#x}, NULL"
        print(f'    {{"{spec.encode("unicode_escape").decode()}", {want}}},')

here = os.path.dirname(os.path.abspath(__file__))
tiny = os.path.join(here, "..", "testdata", "tiny_llava")
print("    // testdata/tiny_llava (LlavaForConditionalGeneration: 3 vision layers, 2 text layers)")
for spec in LLAVA_SPECS:
    model = transformers.LlavaForConditionalGeneration.from_pretrained(tiny)
    sel = selection(model, [("model.vision_tower.encoder.", CLIP_KINDS, 3, CLIP_PATHS),
                            ("model.multi_modal_projector.", PROJ_KINDS, 0, PROJ_KINDS),
                            ("model.language_model.", LLAMA_KINDS, 2, LLAMA_PATHS)], spec)
    want = f'{{0}}, "{sel}"' if isinstance(sel, str) else "{" + ", ".join(f"{b:#x}" for b in sel) + "}, NULL"
    print(f'    {{"{spec.encode("unicode_escape").decode()}", {want}}},')
