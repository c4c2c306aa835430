#!/usr/bin/env python3
"""golden_idefics2_step.py — one LPOI training step of Idefics2 in PyTorch (transformers + PEFT), the
oracle of src/lpoi/train_model_idefics2_test.c: testdata/idefics2_step/{adapter/, step.safetensors}.

The step, on testdata/tiny_idefics2 with the processor WITHOUT image splitting (as the paper trains):
  one example, L = 3: the photograph x_1 and two masked copies x_2 (the box half black), x_3 (all of
  it black); question q, chosen w, rejected l. Rows (as the trainer orders them):
    0 w | x_1,  1 l | x_1,  2 w | x_2,  3 w | x_3
  text "User:<image>{q}<end_of_utterance>\\n" + "Assistant: {a}<end_of_utterance>\\n" through
  Idefics2Processor (BOS, image-token expansion), labels -100 over the prompt and padding (right).
  PEFT LoRA r = 4, alpha = 8 on all-linear with random non-zero A and B (saved by PEFT: adapter/).
  π = TRL get_batch_logps with the adapter, r = the same with it disabled; β = 0.1, δ = 0, and the LPOI
  loss as src/lpoi/objectives.h defines it (the list's π_1 is row 0's π_w):
    dpo = −log σ(β[(π_w − r_w) − (π_l − r_l)]), anchor = −log σ(β(π_w − r_w)),
    list = Σ_{k<L} [logsumexp_{j≥k} S_j − S_k], S_k = β(π_k − r_k);   loss = dpo + anchor + list.
step.safetensors: in.* (input_ids, attention_mask, labels I32 [4,T], pixel_values F32 [4,1,3,H,W],
pixel_attention_mask U8 [4,1,H,W]), out.logps, out.logps_ref [4], out.loss [1], grad.<PEFT tensor
name> (d loss / d lora_*) for every adapter tensor, and out.generated_ids: HF greedy generate with the
adapter for the question (what `lpoi generate --adapter STEP/adapter` must print).

usage: /work/venv/bin/python tools/golden_idefics2_step.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden_common  # noqa: E402,F401  (AVX2 kernels before torch is imported)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from golden_llama import get_batch_logps  # noqa: E402

ROOT = golden_common.ROOT
MODEL = os.path.join(ROOT, "testdata", "tiny_idefics2")
OUT = os.path.join(ROOT, "testdata", "idefics2_step")
IMAGE = os.path.join(ROOT, "testdata", "images", "photos", "chelsea.png")
BOX = (60, 40, 200, 160)
Q, CHOSEN, REJECTED = "What is in the picture?", "A cat on a sofa.", "A dog in a park."
BETA = 0.1
MAX_NEW = 8


def generate_with_adapter(model):
    """HF greedy generate with the adapter on, as `lpoi generate --adapter` runs it: the folder's own
    processor (image splitting as saved), the question through the chat template, MAX_NEW tokens;
    every step's top-2 logit gap is asserted > 1e-3 (far from ties)."""
    from transformers import Idefics2Processor
    from transformers.models.idefics2.image_processing_pil_idefics2 import Idefics2ImageProcessorPil
    proc = Idefics2Processor.from_pretrained(MODEL)
    proc.image_processor = Idefics2ImageProcessorPil(**{k: v for k, v in proc.image_processor.to_dict().items() if k in (
        "size", "do_image_splitting", "resample", "image_mean", "image_std", "rescale_factor")})
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": Q}]}]
    text = proc.apply_chat_template(messages, add_generation_prompt=True)
    inputs = proc(images=[Image.open(IMAGE)], text=text, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=MAX_NEW, do_sample=False)[0, inputs["input_ids"].shape[1]:]
        seq = inputs["input_ids"]
        for tok in out:
            lg = model(input_ids=seq, pixel_values=inputs["pixel_values"],
                       pixel_attention_mask=inputs["pixel_attention_mask"]).logits[0, -1]
            top = lg.topk(2).values
            assert top[0] - top[1] > 1e-3 and int(lg.argmax()) == int(tok), "near tie or cache mismatch"
            seq = torch.cat([seq, tok.view(1, 1)], 1)
    return out


def main():
    from peft import LoraConfig, get_peft_model
    from transformers import Idefics2ForConditionalGeneration, Idefics2Processor
    from transformers.models.idefics2.image_processing_pil_idefics2 import Idefics2ImageProcessorPil
    torch.set_num_threads(1)
    proc = Idefics2Processor.from_pretrained(MODEL)
    ip = proc.image_processor.to_dict()
    proc.image_processor = Idefics2ImageProcessorPil(**{k: v for k, v in ip.items() if k in (
        "size", "resample", "image_mean", "image_std", "rescale_factor")}, do_image_splitting=False)
    x1 = Image.open(IMAGE).convert("RGB")
    x2, x3 = x1.copy(), x1.copy()
    ImageDraw.Draw(x2).rectangle((BOX[0], BOX[1], (BOX[0] + BOX[2]) // 2, BOX[3]), fill=(0, 0, 0))
    ImageDraw.Draw(x3).rectangle(BOX, fill=(0, 0, 0))
    prompt = f"User:<image>{Q}<end_of_utterance>\n"
    rows = []
    for answer, img in [(CHOSEN, x1), (REJECTED, x1), (CHOSEN, x2), (CHOSEN, x3)]:
        p = proc(text=prompt, images=[img], return_tensors="pt")
        full = proc(text=prompt + f"Assistant: {answer}<end_of_utterance>\n", images=[img], return_tensors="pt")
        n = p["input_ids"].shape[1]
        ids = full["input_ids"][0]
        assert torch.equal(ids[:n], p["input_ids"][0]), "the prompt's tokens merged with the answer's"
        rows.append((ids, n, full["pixel_values"][0], full["pixel_attention_mask"][0]))
    T = max(len(r[0]) for r in rows)
    B = len(rows)
    input_ids = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.long)
    labels = torch.full((B, T), -100, dtype=torch.long)
    for b, (ids, n, _, _) in enumerate(rows):
        input_ids[b, :len(ids)] = ids
        mask[b, :len(ids)] = 1
        labels[b, n:len(ids)] = ids[n:]
    pix = torch.stack([r[2] for r in rows])
    pmask = torch.stack([r[3] for r in rows])

    base = Idefics2ForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager")
    torch.manual_seed(7)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", lora_dropout=0.0))
    with torch.no_grad():
        for n, prm in model.named_parameters():
            if "lora_" in n:
                prm.copy_(torch.randn(prm.shape) * 0.1)
    os.makedirs(OUT, exist_ok=True)
    model.save_pretrained(os.path.join(OUT, "adapter"))
    os.remove(os.path.join(OUT, "adapter", "README.md"))   # PEFT's model-card boilerplate
    cfg_path = os.path.join(OUT, "adapter", "adapter_config.json")   # PEFT saves a set: sorted, for a stable file
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["target_modules"] = sorted(cfg["target_modules"])
    cfg["base_model_name_or_path"] = "testdata/tiny_idefics2"
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    model.train()   # dropout is 0 everywhere (tiny config); train() as the trainer's step
    kw = dict(input_ids=input_ids, attention_mask=mask, pixel_values=pix, pixel_attention_mask=pmask)
    with torch.no_grad(), model.disable_adapter():
        ref = get_batch_logps(model(**kw).logits, labels)
    pol = get_batch_logps(model(**kw).logits, labels)
    pw, pl, rw, rl = pol[0], pol[1], ref[0], ref[1]
    dpo = -F.logsigmoid(BETA * ((pw - rw) - (pl - rl)))
    anchor = -F.logsigmoid(BETA * (pw - rw))
    S = BETA * (torch.stack([pol[0], pol[2], pol[3]]) - torch.stack([ref[0], ref[2], ref[3]]))
    lst = sum(torch.logsumexp(S[k:], 0) - S[k] for k in range(len(S) - 1))
    loss = dpo + anchor + lst
    loss.backward()
    t = {"in.input_ids": input_ids.int(), "in.attention_mask": mask.int(), "in.labels": labels.int(),
         "in.pixel_values": pix.float().contiguous(), "in.pixel_attention_mask": pmask.to(torch.uint8).contiguous(),
         "out.logps": pol.detach().float(), "out.logps_ref": ref.float(), "out.loss": loss.detach().float().reshape(1)}
    for n, prm in model.named_parameters():
        if "lora_" in n:
            t["grad." + n.replace(".default", "")] = prm.grad.float().contiguous()
    t["out.generated_ids"] = generate_with_adapter(model).int()
    save_file(t, os.path.join(OUT, "step.safetensors"), metadata={
        "generator": golden_common.generator(__file__, torch, __import__("transformers"), __import__("peft")),
        "terms": f"dpo {dpo.item():.6g} anchor {anchor.item():.6g} list {lst.item():.6g}"})
    print(f"wrote {OUT}: loss {loss.item():.6g} (dpo {dpo.item():.4g}, anchor {anchor.item():.4g}, list {lst.item():.4g}), "
          f"T {T}, image {tuple(pix.shape[-2:])}, {sum(1 for k in t if k.startswith('grad.'))} gradients")


if __name__ == "__main__":
    main()
