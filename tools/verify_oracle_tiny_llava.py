"""The HF oracle for lpoi's verification scores (src/lpoi/verify_test.c): on testdata/tiny_llava and
an image, log p(" Yes") and log p(" No") after the llava-1.5 prompt, each summed over the tokens the
continuation adds when prompt + continuation is tokenized whole (as lpoi does), from
LlavaForConditionalGeneration's logits. Prints one JSON line per prompt:
{"prompt", "yes_ids", "no_ids", "logp_yes", "logp_no"}.
Run: /work/venv/bin/python tools/verify_oracle_tiny_llava.py IMAGE [--cont=" dog" ...] "user turn" ...
(--cont replaces " Yes" and " No" by other continuations, named cont0, cont1, ...)"""
import json, os, sys
import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration, LlavaProcessor

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DIR = os.path.join(ROOT, "testdata/tiny_llava")

def main():
    image = Image.open(sys.argv[1]).convert("RGB")
    proc = LlavaProcessor.from_pretrained(DIR)
    model = LlavaForConditionalGeneration.from_pretrained(DIR, attn_implementation="eager").eval()
    conts = [a[len("--cont="):] for a in sys.argv[2:] if a.startswith("--cont=")]
    named = [("cont%d" % i, c) for i, c in enumerate(conts)] or [("yes", " Yes"), ("no", " No")]
    for turn in [a for a in sys.argv[2:] if not a.startswith("--cont=")]:
        text = f"USER: <image>\n{turn} ASSISTANT:"
        inputs = proc(images=image, text=text, return_tensors="pt")
        n = inputs["input_ids"].shape[1]
        out = {"prompt": turn}
        for name, cont in named:
            full = proc(images=image, text=text + cont, return_tensors="pt")
            ids = full["input_ids"][0]
            assert torch.equal(ids[:n], inputs["input_ids"][0]), cont
            with torch.no_grad():
                lp = model(**full).logits[0].double().log_softmax(-1)
            tail = ids[n:]
            out[name + "_ids"] = tail.tolist()
            out["logp_" + name] = float(sum(lp[n - 1 + j, int(t)] for j, t in enumerate(tail)))
        print(json.dumps(out))

main()
