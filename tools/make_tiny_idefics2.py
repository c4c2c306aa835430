#!/usr/bin/env python3
"""make_tiny_idefics2.py — writes testdata/tiny_idefics2/: a tiny random Idefics2 checkpoint folder made
by HF save_pretrained (Idefics2ForConditionalGeneration; Idefics2Processor = Idefics2ImageProcessorPil
with small edges and image splitting + the tiny Mistral-style tokenizer of testdata/tokenizer/tiny_mistral.json,
which already holds <fake_token_around_image> = 702, <image> = 703, <end_of_utterance> = 704, + idefics2-8b's
chat template), and expected_generate.json: what HF answers greedily for a photograph and a question
rendered with the chat template, which lpoi must reproduce id for id (src/models/idefics2_e2e_test.c:
image file → processor → chat template → expansion → tokenizer → model → generate).

The model: SigLIP 16 wide, 2 layers, patch 7, position table 4x4; connector to Mistral 16 wide, perceiver
4 latents x 2 layers (GQA 4/2); Mistral 2 layers, GQA 4/2, vocab 707; weights at unit-ish scale (as
tools/golden_llava.py) so that greedy decoding is far from ties: every step's top-2 logit gap is
asserted > 1e-3, and the cached HF generate is checked against a cache-free argmax loop.

usage: /work/venv/bin/python tools/make_tiny_idefics2.py [--out DIR]
"""
import argparse
import json
import os
import sys
import warnings

import torch
from PIL import Image
from tokenizers import Tokenizer
from transformers import Idefics2Config, Idefics2ForConditionalGeneration, LlamaTokenizerFast
from transformers.models.idefics2.image_processing_pil_idefics2 import Idefics2ImageProcessorPil
from transformers.models.idefics2.processing_idefics2 import Idefics2Processor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_llava import randomize  # noqa: E402
from golden_idefics2 import CHAT_TEMPLATE  # noqa: E402

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
IMAGE = "testdata/images/photos/chelsea.png"
QUESTIONS = ["What is in the picture?", "Describe it"]
MAX_NEW = 10
M = 4   # resampler_n_latents = image_seq_len


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.relpath(os.path.join(ROOT, "testdata", "tiny_idefics2")))
    args = ap.parse_args()
    torch.set_num_threads(1)
    tk = Tokenizer.from_file(os.path.join(ROOT, "testdata/tokenizer/tiny_mistral.json"))
    tok = LlamaTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                             pad_token="<unk>", add_bos_token=True, add_eos_token=False)
    ids = tok.convert_tokens_to_ids(["<fake_token_around_image>", "<image>", "<end_of_utterance>"])
    assert ids == [702, 703, 704], ids
    ip = Idefics2ImageProcessorPil(size={"shortest_edge": 14, "longest_edge": 35}, do_image_splitting=True)
    proc = Idefics2Processor(image_processor=ip, tokenizer=tok, image_seq_len=M, chat_template=CHAT_TEMPLATE)
    cfg = Idefics2Config(
        image_token_id=703, tie_word_embeddings=False,
        vision_config=dict(hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=2,
                           image_size=28, patch_size=7),
        perceiver_config=dict(hidden_size=16, rms_norm_eps=1e-5, resampler_n_latents=M, resampler_depth=2,
                              resampler_n_heads=4, resampler_head_dim=4, num_key_value_heads=2),
        text_config=dict(model_type="mistral", vocab_size=tk.get_vocab_size(), hidden_size=16, intermediate_size=24,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
                         max_position_embeddings=256, sliding_window=None, bos_token_id=1, eos_token_id=2,
                         pad_token_id=0))
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    model = Idefics2ForConditionalGeneration(cfg).to(torch.float32).eval()
    g = torch.Generator().manual_seed(4321)
    randomize(model, g)
    with torch.no_grad():
        lat = model.model.connector.perceiver_resampler.latents
        lat.copy_(torch.randn(lat.shape, generator=g))
    model.generation_config.eos_token_id = 2
    model.generation_config.pad_token_id = 0
    model.generation_config.do_sample = False
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    proc.save_pretrained(args.out)
    os.chmod(os.path.join(args.out, "model.safetensors"), 0o644)   # save_pretrained writes it 0600

    # Reload everything from the folder, as a user would, and answer.
    proc = Idefics2Processor.from_pretrained(args.out)
    # from_pretrained picks the torchvision backend when it is installed; lpoi matches the PIL one.
    proc.image_processor = Idefics2ImageProcessorPil(**{k: v for k, v in proc.image_processor.to_dict().items()
                                                        if k in ("size", "do_image_splitting", "resample",
                                                                 "image_mean", "image_std", "rescale_factor")})
    model = Idefics2ForConditionalGeneration.from_pretrained(args.out, attn_implementation="eager").eval()
    image = Image.open(os.path.join(ROOT, IMAGE))
    cases = []
    for q in QUESTIONS:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}]
        text = proc.apply_chat_template(messages, add_generation_prompt=True)
        inputs = proc(images=[image], text=text, return_tensors="pt")
        ids = inputs["input_ids"]
        assert int((ids == 703).sum()) == 5 * M, ids
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=MAX_NEW, do_sample=False)[0, ids.shape[1]:]
            seq = ids
            for _ in range(len(out)):
                lg = model(input_ids=seq, pixel_values=inputs["pixel_values"],
                           pixel_attention_mask=inputs["pixel_attention_mask"]).logits[0, -1]
                top = lg.topk(2).values
                assert top[0] - top[1] > 1e-3, "near tie in greedy decoding"
                seq = torch.cat([seq, lg.argmax().view(1, 1)], 1)
        assert torch.equal(out, seq[0, ids.shape[1]:]), (out, seq)
        assert len(set(out.tolist())) > 2, f"degenerate continuation {out.tolist()}"
        cases.append({"question": q, "text": text, "prompt_ids": ids[0].tolist(), "generated_ids": out.tolist(),
                      "pixel_values_shape": list(inputs["pixel_values"].shape),
                      "pixel_values_sum": float(inputs["pixel_values"].double().sum())})
    exp = {"image": IMAGE, "max_new": MAX_NEW, "cases": cases,
           "about": "HF greedy generate (transformers %s) on this folder with Idefics2ImageProcessorPil; lpoi must "
                    "give the same ids" % __import__("transformers").__version__}
    with open(os.path.join(args.out, "expected_generate.json"), "w") as f:
        json.dump(exp, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    assert total < 2_000_000, total
    print(f"wrote {args.out} ({total} bytes): {[c['generated_ids'] for c in cases]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
