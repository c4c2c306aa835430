#!/usr/bin/env python3
"""make_tiny_llava.py — writes testdata/tiny_llava/: a tiny random LLaVA-1.5 checkpoint folder made
by HF save_pretrained (model, LlavaProcessor — transformers 5 keeps the image processor inside
processor_config.json, there is no preprocessor_config.json — = CLIPImageProcessor (PIL backend) + the tiny LLaMA
tokenizer of testdata/tokenizer/tiny_llama.json, which already holds <image> = 702 and <pad> = 703),
and expected_generate.json: what HF greedy generate answers for one image and prompt, which
`lpoi generate --model testdata/tiny_llava --image IMG --prompt TEXT` must reproduce id for id.

The model: CLIP 32 wide, 3 layers (feature layer -2), image 28 / patch 14 (4 image tokens); LLaMA
32 wide, 2 layers, GQA 4q/2kv, vocab 707; weights at unit-ish scale (as tools/golden_llava.py) so
that greedy decoding is far from ties: every step's top-2 logit gap is asserted > 1e-3, and the
cached HF generate is checked against a cache-free argmax loop.

usage: python tools/make_tiny_llava.py [--out DIR]
"""
import argparse
import json
import os
import sys
import warnings

import torch
from PIL import Image
from tokenizers import Tokenizer
from transformers import (CLIPImageProcessor, LlamaTokenizerFast, LlavaConfig, LlavaForConditionalGeneration,
                          LlavaProcessor)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_llava import randomize  # noqa: E402

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
IMAGE = "testdata/images/photos/chelsea.png"
PROMPTS = ["What is in the picture?", "hello world"]
MAX_NEW = 12


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.relpath(os.path.join(ROOT, "testdata", "tiny_llava")))
    args = ap.parse_args()
    torch.set_num_threads(1)
    tk = Tokenizer.from_file(os.path.join(ROOT, "testdata/tokenizer/tiny_llama.json"))
    tok = LlamaTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                             pad_token="<pad>", add_bos_token=True, add_eos_token=False)
    image_id = tok.convert_tokens_to_ids("<image>")
    assert image_id == 702, image_id
    tok.image_token = "<image>"
    ip = CLIPImageProcessor(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28}, resample=3)
    proc = LlavaProcessor(image_processor=ip, tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
                          num_additional_image_tokens=1, image_token="<image>")
    cfg = LlavaConfig(vision_config=dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=40,
                                         num_hidden_layers=3, num_attention_heads=4, image_size=28, patch_size=14),
                      text_config=dict(model_type="llama", vocab_size=tk.get_vocab_size(), hidden_size=32,
                                       intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                                       num_key_value_heads=2, rms_norm_eps=1e-5, max_position_embeddings=128,
                                       bos_token_id=1, eos_token_id=2, pad_token_id=703),
                      image_token_index=image_id, image_seq_length=4, vision_feature_layer=-2,
                      vision_feature_select_strategy="default", pad_token_id=703, attn_implementation="eager")
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(cfg).to(torch.float32).eval()
    randomize(model, torch.Generator().manual_seed(1234))
    model.generation_config.eos_token_id = 2
    model.generation_config.pad_token_id = 703
    model.generation_config.do_sample = False
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    proc.save_pretrained(args.out)

    # Reload everything from the folder, as a user would, and answer.
    proc = LlavaProcessor.from_pretrained(args.out)
    model = LlavaForConditionalGeneration.from_pretrained(args.out, attn_implementation="eager").eval()
    image = Image.open(os.path.join(ROOT, IMAGE))
    cases = []
    for q in PROMPTS:
        text = f"USER: <image>\n{q} ASSISTANT:"   # the llava-1.5 chat template with one image
        inputs = proc(images=image, text=text, return_tensors="pt")
        ids = inputs["input_ids"]
        assert int((ids == image_id).sum()) == 4, ids
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=MAX_NEW, do_sample=False)[0, ids.shape[1]:]
            seq = ids
            for _ in range(len(out)):
                lg = model(input_ids=seq, pixel_values=inputs["pixel_values"]).logits[0, -1]
                top = lg.topk(2).values
                assert top[0] - top[1] > 1e-3, "near tie in greedy decoding"
                seq = torch.cat([seq, lg.argmax().view(1, 1)], 1)
        assert torch.equal(out, seq[0, ids.shape[1]:]), (out, seq)
        assert len(set(out.tolist())) > 2, f"degenerate continuation {out.tolist()}"
        cases.append({"prompt": q, "prompt_ids": ids[0].tolist(), "generated_ids": out.tolist(),
                      "text": tok.decode(out, skip_special_tokens=True),
                      "pixel_values_sum": float(inputs["pixel_values"].double().sum())})
    exp = {"image": IMAGE, "max_new": MAX_NEW, "cases": cases,
           "about": "HF greedy generate (transformers %s) on this folder; lpoi generate must give the same ids"
                    % __import__("transformers").__version__}
    with open(os.path.join(args.out, "expected_generate.json"), "w") as f:
        json.dump(exp, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    assert total < 2_000_000, total
    print(f"wrote {args.out} ({total} bytes): {[c['generated_ids'] for c in cases]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
