#!/usr/bin/env python3
"""PEFT round trip for Idefics2, both ways: an adapter PEFT writes loads in lpoi and gives HF+PEFT's
logits, and the adapter lpoi writes back loads in PEFT over HF's Idefics2ForConditionalGeneration
with every tensor and gives the same logits.

For each target_modules spec (PEFT's "all-linear"; a list of short names, which PEFT applies in every
part; a regex restricted to one kind per part, which lpoi must write as its own full-match regex):
  1. PEFT: get_peft_model(tiny_idefics2, LoraConfig(target_modules=spec)), random non-zero lora_A/B,
     save_pretrained → peft/;
  2. `build/lpoi train --dump-logits D --adapter peft/ --write-adapter lpoi/ --image chelsea.png
     --prompt Q --answer A`: lpoi's input_ids, pixel_values, pixel_attention_mask and logits with the
     adapter, and the adapter as lpoi writes it (adapter_save_idefics2_dir);
  3. HF + PeftModel.from_pretrained(peft/) on lpoi's inputs: max |lpoi - HF+PEFT|  (PEFT → lpoi);
  4. HF + PeftModel.from_pretrained(lpoi/): no missing or unexpected key, the same adapted modules as
     from peft/, every tensor equal to PEFT's, and max |lpoi - HF+PEFT(lpoi/)|  (lpoi → PEFT).
It fails (exit 1) when a key does not load, the adapter changes nothing, the adapted modules differ,
or logits differ by more than 1e-4.

Run from the repository root after ./nob:   /work/venv/bin/python tools/test_peft_roundtrip_idefics2.py
(output committed as tools/test_peft_roundtrip_idefics2.out; `make test` does not run it).
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import torch
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LPOI = os.path.join(ROOT, "build", "lpoi")
MODEL = os.path.join(ROOT, "testdata", "tiny_idefics2")
IMAGE = os.path.join(ROOT, "testdata", "images", "photos", "chelsea.png")
TOL = 1e-4
SPECS = [
    "all-linear",
    ["q_proj", "fc2", "up_proj"],
    r"model\.vision_model\.encoder\.layers\.\d+\.mlp\.fc1|model\.connector\.modality_projection\.down_proj|"
    r"model\.connector\.perceiver_resampler\.layers\.\d+\.self_attn\.o_proj|model\.text_model\.layers\.\d+\.self_attn\.v_proj",
]

warnings.filterwarnings("ignore", category=FutureWarning)


def base_model():
    from transformers import Idefics2ForConditionalGeneration
    return Idefics2ForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager").eval()


def load_peft(folder):
    from peft import PeftModel
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PeftModel.from_pretrained(base_model(), folder).eval()
    bad = [str(w.message) for w in caught if "missing" in str(w.message).lower() or "unexpected" in str(w.message).lower()]
    return model, bad


def adapted(model):
    return sorted(n for n, m in model.named_modules() if hasattr(m, "lora_A") and len(m.lora_A) > 0)


def logits(model, t):
    with torch.no_grad():
        return model(input_ids=t["input_ids"].long(), pixel_values=t["pixel_values"],
                     pixel_attention_mask=t["pixel_attention_mask"].bool()).logits


def check(tmp, i, spec):
    from peft import LoraConfig, get_peft_model
    tag = spec if isinstance(spec, str) else ",".join(spec)
    peft_dir, lpoi_dir, dump = (os.path.join(tmp, f"{k}{i}") for k in ("peft", "lpoi", "dump"))
    os.makedirs(lpoi_dir)
    torch.manual_seed(100 + i)
    model = get_peft_model(base_model(), LoraConfig(r=4, lora_alpha=8, target_modules=spec, lora_dropout=0.0))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_" in n:
                p.copy_(torch.randn(p.shape) * 0.3)
    model.save_pretrained(peft_dir)
    want_modules = adapted(model)
    p = subprocess.run([LPOI, "train", "--dump-logits", dump, "--model", MODEL, "--adapter", peft_dir, "--write-adapter",
                        lpoi_dir, "--image", IMAGE, "--prompt", "What is in the picture?", "--answer", "A cat on a sofa."],
                       cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"[{tag}] lpoi failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    t = load_file(dump)
    ours = t["logits"]

    ref_base = logits(base_model(), t)
    from_peft, bad = load_peft(peft_dir)
    if bad:
        sys.exit(f"[{tag}] PEFT did not load its own adapter: {bad[0][:300]}")
    ref = logits(from_peft, t)
    from_lpoi, bad = load_peft(lpoi_dir)
    if bad:
        sys.exit(f"[{tag}] PEFT did not load every tensor lpoi wrote: {bad[0][:400]}")
    if adapted(from_lpoi) != want_modules:
        got = set(adapted(from_lpoi))
        sys.exit(f"[{tag}] lpoi's target_modules adapt other modules: extra {sorted(got - set(want_modules))[:4]}, "
                 f"missing {sorted(set(want_modules) - got)[:4]}")
    theirs, mine = load_file(os.path.join(peft_dir, "adapter_model.safetensors")), \
        load_file(os.path.join(lpoi_dir, "adapter_model.safetensors"))
    if sorted(theirs) != sorted(mine):
        sys.exit(f"[{tag}] tensor names differ: {sorted(set(theirs) ^ set(mine))[:4]}")
    tensor_diff = max(float((theirs[k] - mine[k]).abs().max()) for k in theirs)
    ref_lpoi = logits(from_lpoi, t)
    d_in, d_out = float((ours - ref).abs().max()), float((ours - ref_lpoi).abs().max())
    effect = float((ref - ref_base).abs().max())
    cfg = json.load(open(os.path.join(lpoi_dir, "adapter_config.json")))
    print(f"[{tag[:60]}] {len(mine)} LoRA tensors, {len(want_modules)} modules; lpoi's target_modules "
          f"{json.dumps(cfg['target_modules'])[:80]}; logits {tuple(ours.shape)}: max |lpoi - HF+PEFT(peft)| = {d_in:.3g}, "
          f"max |lpoi - HF+PEFT(lpoi's adapter)| = {d_out:.3g}, max |tensor lpoi - PEFT| = {tensor_diff:.3g}, "
          f"adapter effect {effect:.3g}")
    if effect < 1e-3:
        sys.exit(f"[{tag}] the adapter changes the logits by only {effect:.3g}: nothing was tested")
    if not (d_in <= TOL and d_out <= TOL and tensor_diff == 0):
        sys.exit(f"[{tag}] FAIL")
    return max(d_in, d_out)


def main():
    if not os.path.exists(LPOI):
        sys.exit("build/lpoi is missing: run ./nob first")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="lpoi-peft-idefics2-") as tmp:
        worst = max(check(tmp, i, s) for i, s in enumerate(SPECS))
    print(f"PASS: max logit difference {worst:.3g} (tolerance {TOL})")


if __name__ == "__main__":
    main()
