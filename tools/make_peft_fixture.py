#!/usr/bin/env python3
"""make_peft_fixture.py — writes testdata/tiny_llava_peft/: two LoRA adapters for testdata/tiny_llava
made by PEFT itself (get_peft_model + save_pretrained, random A and B so that they change the output),
and what HF + PEFT do with them, for `make test` to compare against without Python:

  all_linear/          target_modules "all-linear" (vision tower, projector, language model), r 2, alpha 8
  text_regex/          target_modules a regex string (PEFT full-match semantics) selecting the language
                       model's q_proj, v_proj and down_proj only, r 4, alpha 6
  expected.json        greedy generate with all_linear on (image, prompt) — `lpoi generate --image
                       --adapter` must give these ids — and text-only greedy generate with text_regex
                       (`lpoi generate --prompt --adapter` on the LLaVA folder's language model)
  merged_text_regex.safetensors
                       the weights PEFT's merge_and_unload() gives for text_regex's six adapted Linears,
                       under the checkpoint's own (hub layout) names — `lpoi merge` must write them

usage: /work/venv/bin/python tools/make_peft_fixture.py [--out DIR]
"""
import argparse
import json
import os
import warnings

import torch
from peft import LoraConfig, get_peft_model
from PIL import Image
from safetensors.torch import save_file
from transformers import LlavaForConditionalGeneration, LlavaProcessor

warnings.filterwarnings("ignore")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODEL = os.path.join(ROOT, "testdata", "tiny_llava")
IMAGE = "testdata/images/photos/chelsea.png"
PROMPT = "What is in the picture?"
TEXT_PROMPT = "hello world"
MAX_NEW = 10
TEXT_REGEX = r"model\.language_model\.layers\.\d+\.(self_attn\.(q_proj|v_proj)|mlp\.down_proj)"


def hub_name(v5):  # transformers 5 state-dict name -> the name tiny_llava's file uses
    for a, b in [("model.language_model.", "language_model.model."), ("model.vision_tower.", "vision_tower."),
                 ("model.multi_modal_projector.", "multi_modal_projector."), ("lm_head.", "language_model.lm_head.")]:
        if v5.startswith(a):
            return b + v5[len(a):]
    return v5


def greedy(model, gap_check=True, **inputs):
    """HF greedy generate, checked to be far from ties (top-2 logit gap > 1e-3 at every step)."""
    out = model.generate(**inputs, max_new_tokens=MAX_NEW, do_sample=False, output_scores=True,
                         return_dict_in_generate=True)
    for s in out.scores:
        top = torch.topk(s[0], 2).values
        assert not gap_check or float(top[0] - top[1]) > 1e-3, "greedy step too close to a tie"
    return out.sequences[0, inputs["input_ids"].shape[1]:].tolist()


def make_adapter(targets, r, alpha, seed, folder):
    torch.manual_seed(seed)
    base = LlavaForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float32).eval()
    model = get_peft_model(base, LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, init_lora_weights=False))
    model.eval()
    model.save_pretrained(folder)
    readme = os.path.join(folder, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.relpath(os.path.join(ROOT, "testdata", "tiny_llava_peft")))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    proc = LlavaProcessor.from_pretrained(MODEL)
    image = Image.open(os.path.join(ROOT, IMAGE)).convert("RGB")
    expected = {"about": "HF + PEFT (transformers %s) greedy generate on testdata/tiny_llava with these adapters"
                % __import__("transformers").__version__, "image": IMAGE, "max_new": MAX_NEW}
    with torch.no_grad():
        m = make_adapter("all-linear", 2, 8, 1, os.path.join(args.out, "all_linear"))
        inputs = proc(images=image, text="USER: <image>\n" + PROMPT + " ASSISTANT:", return_tensors="pt")
        base_ids = None
        with m.disable_adapter():
            base_ids = greedy(m, gap_check=False, **inputs)
        ids = greedy(m, **inputs)
        assert ids != base_ids, "the adapter does not change the answer"
        expected["image_case"] = {"adapter": "all_linear", "prompt": PROMPT, "generated_ids": ids}

        m = make_adapter(TEXT_REGEX, 4, 6, 2, os.path.join(args.out, "text_regex"))
        tids = proc.tokenizer(TEXT_PROMPT, return_tensors="pt").input_ids
        with m.disable_adapter():
            base_ids = greedy(m, gap_check=False, input_ids=tids)
        ids = greedy(m, input_ids=tids)
        assert ids != base_ids, "the adapter does not change the answer"
        expected["text_case"] = {"adapter": "text_regex", "prompt": TEXT_PROMPT, "prompt_ids": tids[0].tolist(),
                                 "generated_ids": ids}
        merged = m.merge_and_unload()
        sd = merged.state_dict()
        adapted = [k for k in sd if TEXT_REGEX_KEY(k)]
        assert len(adapted) == 6, adapted
        save_file({hub_name(k): sd[k].contiguous() for k in adapted}, os.path.join(args.out, "merged_text_regex.safetensors"),
                  metadata={"format": "pt"})
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(json.dumps(expected))


def TEXT_REGEX_KEY(k):
    import re
    return k.endswith(".weight") and re.fullmatch(TEXT_REGEX, k[:-len(".weight")]) is not None


if __name__ == "__main__":
    main()
