#!/usr/bin/env python3
"""test_tied_llava.py — a LLaVA whose config.json says tie_word_embeddings true at the top level and
false in text_config (what save_pretrained writes for such a model) loads in lpoi with the head tied,
as transformers ties it (LlavaConfig ORs the two flags), and gives transformers' logits.

1. transformers builds a random model of testdata/tiny_llava's config with tie_word_embeddings=True at
   the top (text_config keeps false) and save_pretrained writes it (no lm_head in the file: it is tied);
2. `build/lpoi train --dump-logits` runs one image + prompt through it;
3. transformers runs the same input_ids and pixel_values; max |lpoi - HF| must be <= 1e-4.

Run from the repository root after ./nob:   /work/venv/bin/python tools/test_tied_llava.py
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "testdata", "tiny_llava")


def main():
    with tempfile.TemporaryDirectory(prefix="lpoi-tied-") as tmp:
        cfg = LlavaConfig.from_pretrained(MODEL)
        cfg.tie_word_embeddings = True
        cfg.text_config.tie_word_embeddings = False
        torch.manual_seed(0)
        model = LlavaForConditionalGeneration(cfg).eval()   # random init, head tied (loading tiny_llava's own
        # distinct lm_head would leave it untied: transformers ties only weights that agree)
        folder = os.path.join(tmp, "tied")
        model.save_pretrained(folder)
        LlavaProcessor.from_pretrained(MODEL).save_pretrained(folder)
        saved = json.load(open(os.path.join(folder, "config.json")))
        with safe_open(os.path.join(folder, "model.safetensors"), "pt") as f:
            names = list(f.keys())
        assert saved["tie_word_embeddings"] is True and saved["text_config"]["tie_word_embeddings"] is False, saved
        assert not any("lm_head" in n for n in names), "save_pretrained kept an lm_head"
        dump = os.path.join(tmp, "dump.safetensors")
        p = subprocess.run([os.path.join(ROOT, "build", "lpoi"), "train", "--dump-logits", dump, "--model", folder,
                            "--image", os.path.join(ROOT, "testdata/images/photos/chelsea.png"), "--prompt",
                            "What is in the picture?"], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"FAIL: lpoi refused the tied folder: {p.stderr.strip()}")
        t = load_file(dump)
        hf = LlavaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
        assert hf.lm_head.weight.data_ptr() == hf.model.language_model.embed_tokens.weight.data_ptr(), "HF did not tie"
        with torch.no_grad():
            ref = hf(input_ids=t["input_ids"].long(), pixel_values=t["pixel_values"]).logits
        diff = float((t["logits"] - ref).abs().max())
        print(f"tied head: {len(names)} tensors saved (no lm_head), logits {tuple(ref.shape)}: max |lpoi - HF| = {diff:.3g}")
        if not diff <= 1e-4:
            sys.exit("FAIL")
    print("PASS")


if __name__ == "__main__":
    main()
