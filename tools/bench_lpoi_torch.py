#!/usr/bin/env python3
"""bench_lpoi_torch.py — one LPOI training step in PyTorch, as the public LPOI code runs it, beside lpoi's.

The public implementation (fatemehpesaran310/lpoi: lpoi_llava7b.py + my_dpo_trainer_5img.py) trains
LlavaForConditionalGeneration loaded in fp16 with PEFT LoRA "all-linear" (r 8, alpha 8, dropout 0; PEFT keeps
the adapters in fp32), gradient checkpointing on, micro-batch 1, and per example:
  policy     concatenated_forward: (chosen, rejected) on image x1 in one batch of 2, then the image list
             (chosen on x1..x5) in one batch of 5: 7 sequences with gradients;
  reference  the same two forwards under no_grad with the adapter disabled (recomputed every step);
  loss       TRL sigmoid DPO on the text pair + the Plackett-Luce list term (dpo_pl5_loss) + the anchor
             -logsigmoid(beta (pi_w - r_w)), beta 0.1, mean over the batch;
  update     HF Trainer: clip_grad_norm_ 1.0, AdamW (torch), lr 1e-6.
Mode "cached" is the same step with the reference log-probs computed once beforehand (TRL's
precompute_ref_log_probs): the policy forwards and the update only.

The model is the given config (default: the real llava-1.5-7b-hf config) with random weights made on the device
(std 0.02; LoRA B random too, so that the policy differs from the reference and the first loss is not a
constant), 336 px random pixel values, ~100 text tokens + 576 image tokens, L = 5. Everything lpoi needs to run
the same step is written under --work: model/ (config.json + safetensors in the checkpoint dtype), adapter/
(PEFT save_pretrained), inputs.safetensors (token ids, labels, pixel values); bench/bench_lpoi.c reads them.
The first step's log-probs and loss are printed and written to WORK/torch.json, with the median step time per
mode, so that both sides' first losses can be compared before any timing counts (tools/gpucheck.sh does).

usage: python3 tools/bench_lpoi_torch.py [--config CONFIG] [--work DIR] [--steps N] [--device cuda|cpu]
           [--dtype fp16|bf16|fp32] [--tiny] [--modes public,cached] [--no-checkpointing] [--no-save]
  --tiny  shrink the config (2 layers, widths 64, image 28 px, vocab 512): a CPU smoke test of the whole
          script (it must run end to end and print the first loss).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

DEFAULT_CONFIG = "../shared/data/hf/llava-hf__llava-1.5-7b-hf/config.json"


def tiny_config(cfg):
    """The same architecture at toy size (CPU smoke test)."""
    cfg = json.loads(json.dumps(cfg))
    t, v = cfg.setdefault("text_config", {}), cfg.setdefault("vision_config", {})
    t.update(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=4, vocab_size=32064)
    v.update(hidden_size=48, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4, image_size=28,
             patch_size=14, projection_dim=32)
    cfg["vision_feature_layer"] = -2
    return cfg


def build_inputs(torch, cfg, L, text_tokens, seed):
    """Random token ids (no image/pad ids), 576 (or the config's) image tokens after a short prompt, chosen and
    rejected answers, L random images. Returns host tensors."""
    g = torch.Generator().manual_seed(seed)
    vcfg = cfg["vision_config"]
    side, patch = vcfg.get("image_size", 336), vcfg.get("patch_size", 14)
    n_img = (side // patch) ** 2   # "default" feature strategy: the CLS row dropped
    image_id = cfg.get("image_token_index", cfg.get("image_token_id", 32000))
    vocab = min(cfg.get("text_config", {}).get("vocab_size", 32064), 32000)   # ordinary tokens below the image id
    prompt_len = max(4, text_tokens // 4)
    ans_len = max(4, (text_tokens - prompt_len) // 2)

    def rand_ids(n):
        return torch.randint(3, vocab, (n,), generator=g, dtype=torch.int64)

    prompt = torch.cat([torch.tensor([1]), rand_ids(2), torch.full((n_img,), image_id), rand_ids(prompt_len - 3)])
    chosen, rejected = rand_ids(ans_len), rand_ids(ans_len - 3)
    pix = torch.randn(L, 3, side, side, generator=g)
    return prompt, chosen, rejected, pix


def sequences(torch, prompt, answers):
    """Right-padded ids, mask and labels (-100 on the prompt and padding) for prompt + each answer."""
    T = max(len(prompt) + len(a) for a in answers)
    ids = torch.zeros(len(answers), T, dtype=torch.int64)
    mask = torch.zeros(len(answers), T, dtype=torch.int64)
    labels = torch.full((len(answers), T), -100, dtype=torch.int64)
    for i, a in enumerate(answers):
        n = len(prompt) + len(a)
        ids[i, :n] = torch.cat([prompt, a])
        mask[i, :n] = 1
        labels[i, len(prompt):n] = a
    return ids, mask, labels


def batch_logps(torch, model, ids, mask, labels, pix):
    """TRL get_batch_logps: logits[:, :-1] against labels[:, 1:], summed over the scored tokens (fp32)."""
    out = model(input_ids=ids, attention_mask=mask, pixel_values=pix, use_cache=False)
    logits = out.logits[:, :-1].float()
    lab = labels[:, 1:].clone()
    keep = lab != -100
    lab[~keep] = 0
    per = torch.gather(logits.log_softmax(-1), 2, lab.unsqueeze(2)).squeeze(2)
    return (per * keep).sum(-1)


def lpoi_loss(torch, F, pol, ref, beta):
    """pol/ref: [7] = chosen x1, rejected x1 (text pair), chosen x1..x5 (list). The public code's terms."""
    pc, pr, plist = pol[0], pol[1], pol[2:]
    rc, rr, rlist = ref[0], ref[1], ref[2:]
    dpo = -F.logsigmoid(beta * ((pc - rc) - (pr - rr)))
    s = beta * (plist - rlist)
    pl = sum(torch.logsumexp(s[k:], 0) - s[k] for k in range(len(s) - 1))   # dpo_pl5_loss, in log domain
    anchor = -F.logsigmoid(beta * (pc - rc))
    return dpo + pl + anchor


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=DEFAULT_CONFIG)
    ap.add_argument("--work", default="build/bench_lpoi")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--device", default=None)
    ap.add_argument("--dtype", default=None, help="fp16 (the public code's), bf16, fp32 (default: fp16 on a GPU, fp32 on the CPU)")
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--list", type=int, default=5)
    ap.add_argument("--text-tokens", type=int, default=100)
    ap.add_argument("--modes", default="public,cached")
    ap.add_argument("--no-checkpointing", action="store_true")
    ap.add_argument("--no-save", action="store_true", help="do not write the model, adapter and inputs for lpoi")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--lr", type=float, default=1e-6)
    ap.add_argument("--beta", type=float, default=0.1)
    args = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
        from transformers import LlavaConfig, LlavaForConditionalGeneration
        from peft import LoraConfig, get_peft_model
    except Exception as e:  # noqa: BLE001
        print(f"bench_lpoi_torch: skipped (torch/transformers/peft not importable: {e})")
        return 0
    dev = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dname = args.dtype or ("fp16" if dev.type == "cuda" else "fp32")
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[dname]
    with open(args.config) as f:
        cfg = json.load(f)
    if args.tiny:
        cfg = tiny_config(cfg)
    L = args.list
    torch.manual_seed(args.seed)
    t0 = time.time()
    config = LlavaConfig.from_dict(cfg)
    with torch.device(dev):
        model = LlavaForConditionalGeneration._from_config(config, dtype=dtype)
    model.eval()   # no dropout anywhere (the LoRA dropout is 0; CLIP/LLaMA have none in training either)
    n_params = sum(p.numel() for p in model.parameters())
    t_model = time.time() - t0
    os.makedirs(args.work, exist_ok=True)
    if not args.no_save:
        t1 = time.time()
        model.save_pretrained(os.path.join(args.work, "model"), max_shard_size="20GB")
        t_save = time.time() - t1
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear"))
    g = torch.Generator(device=dev).manual_seed(args.seed + 1)
    with torch.no_grad():   # B random (PEFT starts it at 0): the policy then differs from the reference
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g, device=dev, dtype=p.dtype) * 0.02)
    if not args.no_save:
        model.save_pretrained(os.path.join(args.work, "adapter"))
    lora_params = [p for n, p in model.named_parameters() if p.requires_grad]
    n_lora = sum(p.numel() for p in lora_params)

    prompt, chosen, rejected, pix = build_inputs(torch, cfg, L, args.text_tokens, args.seed)
    text_ids, text_mask, text_labels = sequences(torch, prompt, [chosen, rejected])
    list_ids, list_mask, list_labels = sequences(torch, prompt, [chosen] * L)
    if not args.no_save:
        from safetensors.torch import save_file
        save_file({"prompt": prompt.to(torch.int32), "chosen": chosen.to(torch.int32),
                   "rejected": rejected.to(torch.int32), "pixel_values": pix.float().contiguous()},
                  os.path.join(args.work, "inputs.safetensors"))
    to = lambda x: x.to(dev)  # noqa: E731
    text = (to(text_ids), to(text_mask), to(text_labels), to(pix[:1].repeat(2, 1, 1, 1)).to(dtype))
    lst = (to(list_ids), to(list_mask), to(list_labels), to(pix).to(dtype))
    print(f"bench_lpoi_torch: torch {torch.__version__} on {dev} ({torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'CPU'}), "
          f"{dname}, {n_params / 1e9:.3f} B parameters (made in {t_model:.1f} s), LoRA {n_lora / 1e6:.2f} M, "
          f"T = {text_ids.shape[1]} tokens ({len(chosen)} + {len(rejected)} answer tokens), L = {L}", flush=True)

    if not args.no_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.train()   # as the HF Trainer runs it (checkpointing acts in train mode; no dropout is active)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def reference():
        with torch.no_grad(), model.disable_adapter():
            return torch.cat([batch_logps(torch, model, *text), batch_logps(torch, model, *lst)])

    def step(ref_cached):
        ref = ref_cached if ref_cached is not None else reference()
        pol = torch.cat([batch_logps(torch, model, *text), batch_logps(torch, model, *lst)])
        loss = lpoi_loss(torch, F, pol, ref.detach(), args.beta)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora_params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.detach(), pol.detach(), ref.detach()

    results = {"device": str(dev), "dtype": dname, "parameters": n_params, "tokens": int(text_ids.shape[1]),
               "list": L, "modes": {}}
    snapshot = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    for mode in [m for m in args.modes.split(",") if m]:
        with torch.no_grad():   # every mode starts from the same adapter and a fresh optimiser
            for n, p in model.named_parameters():
                if n in snapshot:
                    p.copy_(snapshot[n])
        opt = torch.optim.AdamW(lora_params, lr=args.lr, weight_decay=0.0)
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        t_ref = time.time()
        cached = reference() if mode == "cached" else None
        sync()
        t_ref = time.time() - t_ref
        times = []
        for s in range(args.steps):
            sync()
            ts = time.time()
            loss, pol, ref = step(cached)
            sync()
            times.append(time.time() - ts)
            if s == 0:
                first = {"loss": float(loss), "policy_logps": [float(x) for x in pol], "reference_logps": [float(x) for x in ref]}
                print(f"bench_lpoi_torch: {mode}: first loss {first['loss']:.6f}; policy log-probs "
                      + " ".join(f"{x:.4f}" for x in first["policy_logps"]), flush=True)
        timed = times[1:] if len(times) > 1 else times   # the first step warms up (allocator, kernels)
        med = statistics.median(timed)
        peak = torch.cuda.max_memory_allocated() if dev.type == "cuda" else 0
        results["modes"][mode] = dict(first, step_s=med, steps=len(timed), examples_per_s=1.0 / med,
                                      reference_pass_s=t_ref, peak_bytes=peak)
        print(f"bench_lpoi_torch: {mode}: median step {med * 1e3:.1f} ms over {len(timed)} steps "
              f"({1.0 / med:.3f} examples/s), peak device memory {peak / 1e9:.2f} GB", flush=True)
        if not math.isfinite(first["loss"]):
            print("bench_lpoi_torch: the first loss is not finite", file=sys.stderr)
            return 1
    with open(os.path.join(args.work, "torch.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
