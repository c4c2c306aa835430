#!/usr/bin/env python3
"""bench_generate.py — greedy decoding speed, lpoi vs Hugging Face `generate`, on the same random model.

Writes a random LlamaForCausalLM folder per size (HF save_pretrained, fp32, HF's own initialisation,
the LLaVA-1.5 tokenizer so that the 32064-row head is the real one's size), then times, interleaved
(lpoi, HF, lpoi, HF, ...), greedy generation of --new tokens after a short prompt, and of 1 token:
decode tokens/s = (new - 1) / (t_new - t_1), which leaves out loading and the prompt. lpoi runs as
`lpoi generate` (a process per run; the difference of the two runs cancels the load), HF in this
process (loaded once). Both on --threads threads (LPOI_THREADS, torch.set_num_threads). The generated
ids are compared (they must agree: same weights, same greedy math). Prints the median of the
per-pair ratios.

usage: python tools/bench_generate.py [--lpoi build/lpoi] [--sizes mid,large] [--new 64] [--reps 3]
                                      [--threads 2] [--keep DIR]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER_DIR = os.path.join(HERE, "..", "..", "shared", "data", "hf", "llava-hf__llava-1.5-7b-hf")
SIZES = {  # hidden, layers, heads, kv heads, intermediate
    "mid": (512, 8, 8, 8, 1408),
    "large": (1024, 12, 16, 16, 2816),
}
PROMPT = "Describe the picture in one sentence:"


def make_model(out, size):
    C, L, H, KVH, F = SIZES[size]
    cfg = LlamaConfig(vocab_size=32064, hidden_size=C, num_hidden_layers=L, num_attention_heads=H,
                      num_key_value_heads=KVH, intermediate_size=F, max_position_embeddings=4096,
                      rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).float().eval()
    model.save_pretrained(out, safe_serialization=True)
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        src = os.path.join(TOKENIZER_DIR, f)
        if os.path.exists(src):
            shutil.copy(src, out)
    return model, sum(p.numel() for p in model.parameters())


def lpoi_run(lpoi, model_dir, new, threads):
    time.sleep(0.5)  # torch's OpenMP workers spin ~0.2 s after a call; let them sleep first
    env = dict(os.environ, LPOI_THREADS=str(threads))
    t0 = time.perf_counter()
    r = subprocess.run([lpoi, "generate", "--model", model_dir, "--prompt", PROMPT, "--max-new", str(new), "--ids"],
                       capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"bench_generate: lpoi failed:\n{r.stderr}")
    m = re.search(r"^generated ids:([0-9 ]*)$", r.stdout + r.stderr, re.M)
    return dt, [int(x) for x in m.group(1).split()] if m else None, r.stdout + r.stderr


def hf_run(model, ids, new):
    t0 = time.perf_counter()
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=new, min_new_tokens=new, do_sample=False, eos_token_id=None,
                             pad_token_id=0)
    return time.perf_counter() - t0, out[0, ids.shape[1]:].tolist()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lpoi", default=os.path.join(HERE, "..", "build", "lpoi"))
    ap.add_argument("--sizes", default="mid,large")
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", default=None, help="write the model folders here (default: a temp dir)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from transformers import AutoTokenizer
    root = a.keep or tempfile.mkdtemp(prefix="bench_generate_")
    print(f"torch {torch.__version__} ({torch.backends.mkldnn.is_available() and 'oneDNN' or ''} MKL "
          f"{torch.backends.mkl.is_available()}), {a.threads} threads both sides; {os.cpu_count()} CPUs; "
          f"load {os.getloadavg()[0]:.2f}")
    for size in a.sizes.split(","):
        d = os.path.join(root, size)
        os.makedirs(d, exist_ok=True)
        model, nparam = make_model(d, size)
        tok = AutoTokenizer.from_pretrained(d)
        ids = tok(PROMPT, return_tensors="pt").input_ids
        hf_run(model, ids, 2)  # warm-up
        lp, hf, ratios = [], [], []
        same = None
        for _ in range(a.reps):
            l1, _, _ = lpoi_run(a.lpoi, d, 1, a.threads)
            ln, lids, text = lpoi_run(a.lpoi, d, a.new, a.threads)
            h1, _ = hf_run(model, ids, 1)
            hn, hids = hf_run(model, ids, a.new)
            lt, ht = (a.new - 1) / (ln - l1), (a.new - 1) / (hn - h1)
            lp.append(lt)
            hf.append(ht)
            ratios.append(lt / ht)
            # The rate counts a.new tokens on both sides: it holds only when lpoi produced the same
            # a.new ids as HF (which is forced to; lpoi stops at EOS), in every round.
            same = lids is not None and len(lids) >= len(hids) and lids[-len(hids):] == hids
            if not same:
                sys.exit(f"{size}: lpoi's ids differ from HF generate's (or were not parsed): the timing compares "
                         "different work")
        print(f"{size}: {nparam / 1e6:.0f} M parameters, prompt {ids.shape[1]} tokens, {a.new} new: "
              f"lpoi {statistics.median(lp):.1f} tok/s, HF generate {statistics.median(hf):.1f} tok/s, "
              f"median ratio {statistics.median(ratios):.2f}x; ids {'agree' if same else 'DIFFER' if same is not None else 'not parsed'}")
        sys.stdout.flush()
    if not a.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
