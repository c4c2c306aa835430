#!/usr/bin/env python3
"""bench_cpu_step.py — one LPOI training step on the CPU: lpoi beside PyTorch at equal work, one run.

Equal work (issue 18): both sides train the same random LLaVA-1.5 folder on the same records and the
same image lists (written once by `lpoi negatives`), LoRA all-linear r 8 / alpha 8, micro-batch 1, E
examples per optimiser step, LPOI objective (DPO + anchor + Plackett-Luce list, beta 0.1), reference
log-probs cached (computed once before timing, as lpoi caches them), six scored sequences per example
(chosen and rejected on x_1, chosen on x_2..x_5), the LM head applied only to the scored rows, fp32,
the same number of threads. PyTorch runs its six sequences of an example as one padded batch (sdpa
attention), then gradient clipping at 1.0 and torch.optim.AdamW.

Before timing counts, the two sides must agree: PyTorch loads lpoi's adapter after step 1
(OUT/checkpoint-1) and computes step 2's loss and gradient norm over the same E examples (one epoch
= one step, so the step's mean does not depend on the data order); both must match lpoi's log.

Reported: seconds per step (median of the steps after the first), examples/s, the ratio, peak RSS of
each side. The machine is named from /proc/cpuinfo. Needs /work/venv-like Python (torch,
transformers, peft, safetensors, pillow; tools/requirements.txt) and a built lpoi.

usage: python3 tools/bench_cpu_step.py [--size small|mid|large] [--examples 4] [--steps 4]
                                       [--threads 2] [--lpoi build/lpoi] [--keep DIR]
"""
import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
PHOTOS = ["chelsea.png", "coffee.png", "astronaut_crop.png"]
QUESTIONS = ["What is in the picture?", "Describe the image in detail.", "What is the main object here?",
             "Is there anything unusual in this image?"]
CHOSEN = ["There is a cat lying on a striped blanket.", "A cup of coffee stands on a saucer on the table.",
          "A person in a white suit smiles at the camera.", "The object in the middle is small and round."]
REJECTED = ["There is a dog sitting on a chair by the window.", "A glass of orange juice is next to a plate.",
            "A man holds a red umbrella in the rain.", "Two birds are flying over the water."]
# (text hidden, text layers, text heads, text intermediate, vision hidden, vision layers, vision heads, image side)
SIZES = {
    "small": (128, 2, 4, 344, 64, 2, 4, 112),
    "mid": (512, 8, 8, 1376, 256, 4, 4, 224),
    "large": (1024, 12, 16, 2752, 512, 6, 8, 224),
}
VOCAB = 32064   # llava-1.5's: the head's cost is real; the tiny tokenizer only uses its first 707 ids
BETA = 0.1


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def make_model(out, size):
    import torch
    from tokenizers import Tokenizer
    from transformers import (CLIPImageProcessor, LlamaTokenizerFast, LlavaConfig, LlavaForConditionalGeneration,
                              LlavaProcessor)
    sys.path.insert(0, HERE)
    from golden_llava import randomize
    th, tl, tH, ti, vh, vl, vH, R = SIZES[size]
    tk = Tokenizer.from_file(os.path.join(ROOT, "testdata/tokenizer/tiny_llama.json"))
    tok = LlamaTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                             pad_token="<pad>", add_bos_token=True, add_eos_token=False)
    tok.image_token = "<image>"
    image_id = tok.convert_tokens_to_ids("<image>")
    n_img = (R // 14) ** 2
    ip = CLIPImageProcessor(size={"shortest_edge": R}, crop_size={"height": R, "width": R}, resample=3)
    proc = LlavaProcessor(image_processor=ip, tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
                          num_additional_image_tokens=1, image_token="<image>")
    cfg = LlavaConfig(vision_config=dict(model_type="clip_vision_model", hidden_size=vh, intermediate_size=4 * vh,
                                         num_hidden_layers=vl, num_attention_heads=vH, image_size=R, patch_size=14),
                      text_config=dict(model_type="llama", vocab_size=VOCAB, hidden_size=th, intermediate_size=ti,
                                       num_hidden_layers=tl, num_attention_heads=tH, num_key_value_heads=tH,
                                       rms_norm_eps=1e-5, max_position_embeddings=2048, bos_token_id=1,
                                       eos_token_id=2, pad_token_id=703),
                      image_token_index=image_id, image_seq_length=n_img, vision_feature_layer=-2,
                      vision_feature_select_strategy="default", pad_token_id=703)
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(cfg).to(torch.float32).eval()
    randomize(model, torch.Generator().manual_seed(1234))
    with torch.no_grad():   # keep logits at a sane scale for a 32064-row head
        model.lm_head.weight.mul_(0.1)
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def make_data(work, n):
    from PIL import Image
    rows = []
    for i in range(n):
        name = PHOTOS[i % len(PHOTOS)]
        w, h = Image.open(os.path.join(ROOT, "testdata/images/photos", name)).size
        box = [w // 4 + 3 * i % 7, h // 4, 3 * w // 4, 3 * h // 4 - 2 * i % 5]
        rows.append({"img_path": os.path.join(ROOT, "testdata/images/photos", name),
                     "prompt": QUESTIONS[i % len(QUESTIONS)], "chosen": CHOSEN[i % len(CHOSEN)],
                     "rejected": REJECTED[(i + 1) % len(REJECTED)], "boxes": [box]})
    path = os.path.join(work, "data.jsonl")
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path, rows


def run_lpoi(args, work, model_dir, data):
    neg = os.path.join(work, "neg")
    subprocess.run([args.lpoi, "negatives", "--data", data, "--out", neg, "--list-size", "5"], check=True,
                   stdout=subprocess.DEVNULL)
    out = os.path.join(work, "run")
    cmd = [args.lpoi, "train", "--model", model_dir, "--data", data, "--negatives", os.path.join(neg, "manifest.jsonl"),
           "--out", out, "--device", "cpu", "--micro-batch", "1", "--grad-accum", str(args.examples),
           "--epochs", str(args.steps), "--save-every", "1", "--keep-checkpoints", "0", "--lr", "1e-3",
           "--max-length", "1024", "--quiet"]
    env = dict(os.environ, LPOI_THREADS=str(args.threads))
    t0 = time.time()
    child = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(child.pid, 0)   # this child's own peak RSS
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"bench_cpu_step: {' '.join(cmd)} failed (exit {child.returncode})")
    wall = time.time() - t0
    rss = usage.ru_maxrss / 1024   # MiB
    log = [json.loads(l) for l in open(os.path.join(out, "log.jsonl")) if l.strip()]
    return neg, out, log, wall, rss


def lists_from_manifest(neg):
    lists = {}
    for line in open(os.path.join(neg, "manifest.jsonl")):
        m = json.loads(line)
        lists[m["index"]] = [os.path.join(neg, p) for p in m["images"]]
    return lists


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="mid")
    ap.add_argument("--examples", type=int, default=4, help="examples per optimiser step (= the data set)")
    ap.add_argument("--steps", type=int, default=4, help="optimiser steps per side (the first is warm-up)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lpoi", default=os.path.join(ROOT, "build", "lpoi"))
    ap.add_argument("--keep", default=None, help="work folder to keep (default: a temporary one)")
    ap.add_argument("--make-model", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_model:
        warnings.filterwarnings("ignore")
        print(make_model(args.make_model, args.size))
        return 0
    if args.steps < 2:
        ap.error("--steps must be >= 2 (step 2 is the agreement check)")
    warnings.filterwarnings("ignore")
    work = args.keep or tempfile.mkdtemp(prefix="bench_cpu_step_")
    os.makedirs(work, exist_ok=True)
    model_dir = os.path.join(work, "model")
    # made in a child process so that this process's peak RSS is PyTorch's training alone
    n_params = int(subprocess.run([sys.executable, __file__, "--make-model", model_dir, "--size", args.size],
                                  check=True, capture_output=True, text=True).stdout.split()[-1])
    data, rows = make_data(work, args.examples)

    # ---- lpoi ----
    neg, run, log, lpoi_wall, lpoi_rss = run_lpoi(args, work, model_dir, data)
    lpoi_step_s = statistics.median(l["seconds"] for l in log[1:])

    # ---- PyTorch, equal work ----
    # (torch is imported only now: Linux keeps a process's peak RSS across fork and exec, so lpoi's
    # peak would otherwise start at this process's size)
    import torch
    torch.set_num_threads(args.threads)
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from PIL import Image
    from safetensors.torch import load_file
    from transformers import LlavaForConditionalGeneration, LlavaProcessor
    proc = LlavaProcessor.from_pretrained(model_dir)
    tok = proc.tokenizer
    base = LlavaForConditionalGeneration.from_pretrained(model_dir, torch_dtype=torch.float32,
                                                         attn_implementation="sdpa")
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear"))
    ck = load_file(os.path.join(run, "checkpoint-1", "adapter_model.safetensors"))
    res = set_peft_model_state_dict(model, ck)
    assert not res.unexpected_keys, res.unexpected_keys
    model.train()
    lists = lists_from_manifest(neg)
    bos, eos, pad = tok.bos_token_id, tok.eos_token_id, tok.pad_token_id

    n_img = base.config.image_seq_length
    image_id = base.config.image_token_index

    def tokens(question, answer):
        # as lpoi's data_tokenize (TRL build_tokenized_answer on the llava-1.5 template): prompt
        # "USER: <image>\n{q} ", response "ASSISTANT: {a} "; split the joint encoding at len(prompt ids)
        # (one earlier when the last prompt token merged), BOS in front, EOS at the end, then <image>
        # expanded to the image's n_img tokens as the processor does
        p, a = f"USER: <image>\n{question} ", f"ASSISTANT: {answer} "
        pi = tok(p, add_special_tokens=False)["input_ids"]
        fi = tok(p + a, add_special_tokens=False)["input_ids"]
        start = len(pi) if fi[:len(pi)] == pi else len(pi) - 1
        prompt = [bos] + fi[:start]
        prompt = [x for t in prompt for x in ([image_id] * n_img if t == image_id else [t])]
        return prompt, fi[start:] + [eos]

    examples = []
    for i, r in enumerate(rows):
        pix = proc.image_processor([Image.open(f).convert("RGB") for f in lists[i]], return_tensors="pt")["pixel_values"]
        pc, ac = tokens(r["prompt"], r["chosen"])
        _, ar = tokens(r["prompt"], r["rejected"])
        seqs = [(pc, ac, 0), (pc, ar, 0)] + [(pc, ac, k) for k in range(1, 5)]
        T = max(len(p) + len(a) for p, a, _ in seqs)
        ids = torch.full((6, T), pad, dtype=torch.long)
        att = torch.zeros((6, T), dtype=torch.long)
        rows_b, rows_t, labels, owner = [], [], [], []
        for b, (p, a, _) in enumerate(seqs):
            s = p + a
            ids[b, :len(s)] = torch.tensor(s)
            att[b, :len(s)] = 1
            for t in range(len(p), len(s)):   # the logit at t-1 predicts token t
                rows_b.append(b); rows_t.append(t - 1); labels.append(s[t]); owner.append(b)
        examples.append(dict(ids=ids, att=att, pix=pix[[k for _, _, k in seqs]], rb=torch.tensor(rows_b),
                             rt=torch.tensor(rows_t), lab=torch.tensor(labels), own=torch.tensor(owner)))

    def seq_logps(ex):
        h = model.base_model.model.model(input_ids=ex["ids"], attention_mask=ex["att"],
                                         pixel_values=ex["pix"]).last_hidden_state
        lg = model.base_model.model.lm_head(h[ex["rb"], ex["rt"]])           # [rows, V]: scored rows only
        lp = torch.log_softmax(lg.float(), -1).gather(1, ex["lab"][:, None])[:, 0]
        return torch.zeros(6, dtype=lp.dtype).index_add(0, ex["own"], lp)  # [6]

    def example_loss(pol, ref):
        c, r = pol[0] - ref[0], pol[1] - ref[1]
        dpo = torch.nn.functional.softplus(-BETA * (c - r))
        anchor = torch.nn.functional.softplus(-BETA * c)
        S = BETA * (pol[[0, 2, 3, 4, 5]] - ref[[0, 2, 3, 4, 5]])
        lst = sum(torch.logsumexp(S[k:], 0) - S[k] for k in range(4))
        return dpo + anchor + lst

    with torch.no_grad(), model.disable_adapter():
        refs = [seq_logps(ex).double() for ex in examples]   # cached once, like lpoi's ref_logps

    def step(opt=None):
        model.zero_grad(set_to_none=True)
        total = 0.0
        for ex, ref in zip(examples, refs):
            loss = example_loss(seq_logps(ex).double(), ref) / len(examples)
            loss.backward()
            total += float(loss)
        gn = float(torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0))
        if opt is not None:
            opt.step()
        return total, gn

    loss2, gn2 = step()
    agree_loss = abs(loss2 - log[1]["loss"]) / max(abs(log[1]["loss"]), 1e-12)
    agree_gn = abs(gn2 - log[1]["grad_norm"]) / max(abs(log[1]["grad_norm"]), 1e-12)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, eps=1e-8, weight_decay=0.0)
    times = []
    for _ in range(args.steps):
        t0 = time.time()
        step(opt)
        times.append(time.time() - t0)
    torch_step_s = statistics.median(times[1:])
    torch_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    E = args.examples
    print(f"bench_cpu_step: {cpu_name()}, {os.cpu_count()} CPUs visible, {args.threads} threads both sides; "
          f"torch {torch.__version__}")
    print(f"model '{args.size}': {n_params / 1e6:.1f} M parameters (vocab {VOCAB}), "
          f"{examples[0]['ids'].shape[1]} tokens per sequence, 6 sequences per example, {E} examples per step")
    print(f"agreement at step 2 (same adapter, same examples): loss lpoi {log[1]['loss']:.9g} torch {loss2:.9g} "
          f"(rel {agree_loss:.1e}); grad norm lpoi {log[1]['grad_norm']:.9g} torch {gn2:.9g} (rel {agree_gn:.1e})")
    print("| side | s/step (median of steps 2..) | examples/s | peak RSS MiB |")
    print("|---|---|---|---|")
    print(f"| lpoi | {lpoi_step_s:.3f} | {E / lpoi_step_s:.3f} | {lpoi_rss:.0f} |")
    print(f"| PyTorch | {torch_step_s:.3f} | {E / torch_step_s:.3f} | {torch_rss:.0f} |")
    print(f"lpoi / PyTorch examples/s: {torch_step_s / lpoi_step_s:.2f}x")
    ok = agree_loss < 1e-4 and agree_gn < 1e-3
    if not ok:
        print("bench_cpu_step: the two sides DISAGREE: the timing does not count", file=sys.stderr)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
