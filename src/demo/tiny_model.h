// tiny_model.h — writes a tiny, randomly initialised LLaVA-1.5-architecture checkpoint folder in
// Hugging Face format, from C, for `lpoi demo`: the same files `LlavaForConditionalGeneration.
// save_pretrained` + `LlavaProcessor.save_pretrained` write with transformers 5.x, so that both lpoi
// and transformers load it (tools/test_demo_model_loads.py checks the logits agree).
//
// Folder contents:
//   config.json                LlavaConfig: CLIP vision_config (quick_gelu, feature layer -2, strategy
//                              "default"), LLaMA text_config, image_token_index = the <image> id,
//                              image_seq_length = (R / p)², multimodal_projector_bias, "gelu" projector
//   generation_config.json     bos / eos / pad, greedy
//   model.safetensors          F32, names and order exactly as transformers 5.24 save_pretrained writes
//                              them (vision_tower.*, multi_modal_projector.*, language_model.model.*,
//                              language_model.lm_head.weight; compare testdata/tiny_llava)
//   tokenizer.json             a LLaMA-style BPE (Prepend "▁" + Replace " "→"▁" normalizer, byte_fallback,
//                              "<s> $A" template) whose vocabulary holds: <unk> <s> </s>, the 256
//                              <0xNN> byte tokens, "▁" and every printable ASCII character, and each of
//                              `words` (plus the chat template's USER / ASSISTANT) as ONE token both with
//                              and without a leading "▁" (merge chains, see tiny_model.c); then the
//                              added tokens <image> and <pad>
//   tokenizer_config.json      LlamaTokenizer, add_bos_token, special tokens, image_token
//   special_tokens_map.json
//   chat_template.jinja        the llava-1.5 template (llava-hf/llava-1.5-7b-hf), byte for byte
//   processor_config.json      LlavaProcessor with its CLIPImageProcessor (transformers 5 layout), for an
//   preprocessor_config.json   R x R input (shortest_edge R, crop R x R, bicubic, OpenAI mean/std); the
//                              older separate file too, for loaders that look for it
//
// Initialisation (seeded, machine-independent): "unit-ish" so that the image carries signal all the
// way to the answer's log-probs (HF's 0.02-std init would make every path but the residual vanish):
// Gaussian with std 1/√fan_in for linear weights (lm_head too) and the patch embedding (fan_in 3p²),
// std 1 for embed_tokens, std 0.5 for the class and position embeddings; zero biases, norms 1.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "base/error.h"

typedef struct {
    int image_size, patch_size;                   // R, p (R % p == 0): (R/p)² image tokens per image
    int vision_hidden, vision_layers, vision_heads, vision_ffn;
    int text_hidden, text_layers, text_heads, text_kv_heads, text_ffn;
    const char *const *words;                     // NULL-terminated words to give whole tokens (may be NULL)
    uint64_t seed;
} TinyModelOptions;

// Defaults: R 64, p 16 (16 image tokens); CLIP 64 wide, 3 layers (2 run: feature layer -2), 4 heads,
// 128 FFN; LLaMA 64 wide, 2 layers, 4 heads / 2 KV heads (GQA), 128 FFN; seed 1; words NULL.
TinyModelOptions tiny_model_default(void);
bool tiny_model_check(const TinyModelOptions *o, LpoiErr *err);

// Writes the folder (created if needed; existing files are replaced atomically).
bool tiny_model_write(const TinyModelOptions *o, const char *dir, LpoiErr *err);

// The tokenizer.json text alone (malloc'ed, NUL-terminated); *image_id / *pad_id / *vocab_size get
// the ids of <image> and <pad> and the total vocabulary (model vocab + added tokens).
char *tiny_model_tokenizer_json(const char *const *words, int *image_id, int *pad_id, int *vocab_size);
