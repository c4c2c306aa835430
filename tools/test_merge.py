#!/usr/bin/env python3
"""test_merge.py — `lpoi merge` against PEFT: the folder it writes must hold the weights that PEFT's
merge_and_unload() + save_pretrained write for the same checkpoint and adapter.

For testdata/tiny_llava in fp32 and a bf16 copy of it, and each adapter of testdata/tiny_llava_peft
(all-linear: vision tower, projector and language model; and a regex-targeted language-model one):
  1. `build/lpoi merge --model M --adapter A --out OUT`;
  2. PeftModel.from_pretrained(LlavaForConditionalGeneration(M), A).merge_and_unload().save_pretrained(REF);
  3. both folders loaded back with LlavaForConditionalGeneration.from_pretrained: every tensor of the
     state dicts compared (max |lpoi - PEFT|, and in bf16 the number of elements that differ), and
     the logits of one image + prompt.
It fails (exit 1) when a state-dict key is missing or when fp32 weights differ by more than 1e-6 (bf16:
more than one bf16 ulp on more than 0.1% of the merged elements).

Run from the repository root after ./nob:   /work/venv/bin/python tools/test_merge.py
"""
import os
import subprocess
import sys
import tempfile
import warnings

import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration, LlavaProcessor

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LPOI = os.path.join(ROOT, "build", "lpoi")
MODEL = os.path.join(ROOT, "testdata", "tiny_llava")
PEFT = os.path.join(ROOT, "testdata", "tiny_llava_peft")


def logits(folder, dtype):
    proc = LlavaProcessor.from_pretrained(MODEL)
    image = Image.open(os.path.join(ROOT, "testdata/images/photos/chelsea.png")).convert("RGB")
    inputs = proc(images=image, text="USER: <image>\nWhat is in the picture? ASSISTANT:", return_tensors="pt")
    m = LlavaForConditionalGeneration.from_pretrained(folder, dtype=dtype).eval()
    with torch.no_grad():
        return m(**inputs).logits.float(), m.state_dict()


def check(tmp, dtype, adapter):
    from peft import PeftModel
    name = f"{str(dtype).split('.')[-1]}-{adapter}"
    model = MODEL
    if dtype != torch.float32:  # a copy of the checkpoint in dtype, as save_pretrained writes it
        model = os.path.join(tmp, f"base-{name}")
        LlavaForConditionalGeneration.from_pretrained(MODEL, dtype=dtype).save_pretrained(model)
        LlavaProcessor.from_pretrained(MODEL).save_pretrained(model)
    ours = os.path.join(tmp, f"lpoi-{name}")
    p = subprocess.run([LPOI, "merge", "--model", model, "--adapter", os.path.join(PEFT, adapter), "--out", ours],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"lpoi merge failed: {p.stdout}{p.stderr}")
    ref = os.path.join(tmp, f"peft-{name}")
    base = LlavaForConditionalGeneration.from_pretrained(model, dtype=dtype)
    PeftModel.from_pretrained(base, os.path.join(PEFT, adapter)).merge_and_unload().save_pretrained(ref)
    lo, sd_ours = logits(ours, dtype)
    lr, sd_ref = logits(ref, dtype)
    sd_base_logits, sd_base = logits(model, dtype)
    if set(sd_ours) != set(sd_ref):
        sys.exit(f"[{name}] state-dict keys differ: {sorted(set(sd_ours) ^ set(sd_ref))[:5]}")
    worst, differ, merged, beyond_ulp = 0.0, 0, 0, 0
    for k in sd_ref:
        a, b = sd_ours[k].float(), sd_ref[k].float()
        worst = max(worst, float((a - b).abs().max()))
        differ += int((a != b).sum())
        if dtype != torch.float32:   # one rounding step of the stored dtype apart at most
            ulp = (torch.nextafter(sd_ref[k], torch.full_like(sd_ref[k], float("inf"))).float() - b).abs()
            beyond_ulp += int(((a - b).abs() > ulp).sum())
        if not torch.equal(sd_ref[k], sd_base[k]):
            merged += sd_ref[k].numel()
    dl = float((lo - lr).abs().max())
    effect = float((lr - sd_base_logits).abs().max())
    print(f"[{name}] {len(sd_ref)} tensors, {merged} merged elements: max |lpoi - PEFT| weight = {worst:.3g} "
          f"({differ} elements differ), logits {dl:.3g} (adapter effect on the logits {effect:.3g})")
    if dtype == torch.float32 and worst > 1e-6:
        sys.exit(f"[{name}] FAIL: fp32 weights differ by {worst:.3g}")
    if dtype != torch.float32 and (differ > max(1, merged // 1000) or beyond_ulp):
        sys.exit(f"[{name}] FAIL: {differ} bf16 elements differ, {beyond_ulp} by more than one ulp")
    # Logits: the same weights up to those roundings give logits within a small fraction of the
    # adapter's own effect on them (fp32: rounding only).
    if dl > (1e-4 if dtype == torch.float32 else 0.05 * effect):
        sys.exit(f"[{name}] FAIL: logits differ by {dl:.3g} (adapter effect {effect:.3g})")
    return worst


def main():
    if not os.path.exists(LPOI):
        sys.exit("build/lpoi is missing: run ./nob first")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="lpoi-merge-") as tmp:
        for dtype in [torch.float32, torch.bfloat16]:
            for adapter in ["all_linear", "text_regex"]:
                check(tmp, dtype, adapter)
    print("PASS")


if __name__ == "__main__":
    main()
