// tiny_model.c — the tiny LLaVA folder of `lpoi demo` (see tiny_model.h).
//
// Tokenizer merges. With no pre-tokenizer (as LLaMA's legacy tokenizer.json), BPE runs over a whole
// normalised segment such as "▁USER:▁", so merges may act anywhere in it. Each word w becomes one
// token through a "prefix chain": merges (w[0], w[1]) → w[0..2), (w[0..2), w[2]) → w[0..3), ... For
// the "▁w" forms every chain starts at a "▁", the only place a word can start; all "▁" chains are
// ranked before all bare chains, so a word preceded by "▁" always completes as "▁w" before a bare
// chain could take a piece of it. Bare forms exist for words that follow no space ("What" after
// "<image>\n"). Both lpoi's tokenizer and HF tokenizers apply the same merge ranks, so whatever
// the merges do to other text, they do it identically (the oracle test encodes with both).
#include "demo/tiny_model.h"
#include "base/check.h"
#include "base/rng.h"
#include "base/strbuf.h"
#include "base/safetensors.h"
#include "base/file.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPACE "\xE2\x96\x81"   // "▁" U+2581

TinyModelOptions tiny_model_default(void) {
    return (TinyModelOptions){.image_size = 64, .patch_size = 16,
                              .vision_hidden = 64, .vision_layers = 3, .vision_heads = 4, .vision_ffn = 128,
                              .text_hidden = 64, .text_layers = 2, .text_heads = 4, .text_kv_heads = 2, .text_ffn = 128,
                              .words = NULL, .seed = 1};
}

bool tiny_model_check(const TinyModelOptions *o, LpoiErr *err) {
    if (o->patch_size < 1 || o->image_size < o->patch_size || o->image_size > 4096 || o->image_size % o->patch_size)
        return err_set(err, "image size %d must be a multiple of the patch size %d (and at most 4096)", o->image_size,
                       o->patch_size);
    int dims[][2] = {{o->vision_hidden, o->vision_heads}, {o->text_hidden, o->text_heads}};
    for (int i = 0; i < 2; i++)
        if (dims[i][1] < 1 || dims[i][0] < dims[i][1] || dims[i][0] % dims[i][1] || dims[i][0] > 8192)
            return err_set(err, "%s hidden size %d is not a multiple of its %d heads", i ? "text" : "vision", dims[i][0],
                           dims[i][1]);
    if ((o->text_hidden / o->text_heads) % 2) return err_set(err, "text head dim must be even (RoPE)");
    if (o->text_kv_heads < 1 || o->text_heads % o->text_kv_heads) return err_set(err, "text heads must be a multiple of the KV heads");
    if (o->vision_layers < 2 || o->text_layers < 1 || o->vision_layers > 64 || o->text_layers > 64)
        return err_set(err, "need 2..64 vision layers (feature layer -2) and 1..64 text layers");
    if (o->vision_ffn < 1 || o->text_ffn < 1 || o->vision_ffn > 65536 || o->text_ffn > 65536)
        return err_set(err, "FFN sizes must be in [1, 65536]");
    return true;
}

// ---- tokenizer ----
typedef struct { char **items; int count, cap; } StrList;

static void list_add(StrList *l, const char *s) {
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 512;
        l->items = realloc_check(l->items, (size_t)l->cap * sizeof *l->items);
    }
    l->items[l->count] = strdup(s);
    if (!l->items[l->count]) LPOI_DIE("out of memory");
    l->count++;
}
static int list_find(const StrList *l, const char *s) {
    for (int i = 0; i < l->count; i++) if (!strcmp(l->items[i], s)) return i;
    return -1;
}
static void list_free(StrList *l) {
    for (int i = 0; i < l->count; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

// UTF-8 length of the character starting at s.
static size_t utf8_char_len(const char *s) {
    unsigned char c = (unsigned char)*s;
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

// Adds the prefix chain of `form` (merges as "left\x01right" in merges, new tokens in vocab).
static void add_chain(const char *form, StrList *vocab, StrList *merges) {
    size_t n = strlen(form), first = utf8_char_len(form);
    char left[256], pair[520];
    if (n >= sizeof left || first >= n) return;   // one character: already a token
    memcpy(left, form, first);
    left[first] = 0;
    for (size_t at = first; at < n;) {
        size_t cl = utf8_char_len(form + at);
        char right[8];
        memcpy(right, form + at, cl);
        right[cl] = 0;
        snprintf(pair, sizeof pair, "%s\x01%s", left, right);
        if (list_find(merges, pair) < 0) list_add(merges, pair);
        memcpy(left + at, right, cl + 1);
        at += cl;
        if (list_find(vocab, left) < 0) list_add(vocab, left);
    }
}

static const char *const TEMPLATE_WORDS[] = {"USER", "ASSISTANT", NULL};

char *tiny_model_tokenizer_json(const char *const *words, int *image_id, int *pad_id, int *vocab_size) {
    StrList vocab = {0}, merges = {0};
    list_add(&vocab, "<unk>");
    list_add(&vocab, "<s>");
    list_add(&vocab, "</s>");
    for (int b = 0; b < 256; b++) {
        char t[8];
        snprintf(t, sizeof t, "<0x%02X>", b);
        list_add(&vocab, t);
    }
    list_add(&vocab, SPACE);
    for (int c = '!'; c <= '~'; c++) {
        char t[2] = {(char)c, 0};
        list_add(&vocab, t);
    }
    // "▁w" chains for every word first, then bare chains (see the file comment).
    for (int pass = 0; pass < 2; pass++)
        for (int set = 0; set < 2; set++) {
            const char *const *ws = set == 0 ? TEMPLATE_WORDS : words;
            for (int i = 0; ws && ws[i]; i++) {
                char form[256];
                snprintf(form, sizeof form, "%s%s", pass == 0 ? SPACE : "", ws[i]);
                add_chain(form, &vocab, &merges);
            }
        }
    int n_model = vocab.count;
    *image_id = n_model;
    *pad_id = n_model + 1;
    *vocab_size = n_model + 2;

    StrBuf b = {0};
    strbuf_str(&b, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [\n");
    const char *specials[] = {"<unk>", "<s>", "</s>", "<image>", "<pad>"};
    int special_ids[] = {0, 1, 2, *image_id, *pad_id};
    for (int i = 0; i < 5; i++)
        strbuf_printf(&b,
                "    {\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                "\"normalized\": false, \"special\": true}%s\n",
                special_ids[i], specials[i], i < 4 ? "," : "");
    strbuf_str(&b, "  ],\n"
                "  \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"" SPACE
                "\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"" SPACE "\"}]},\n"
                "  \"pre_tokenizer\": null,\n"
                "  \"post_processor\": {\"type\": \"TemplateProcessing\", "
                "\"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], "
                "\"pair\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, "
                "{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 1}}, {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}], "
                "\"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}}},\n"
                "  \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\": \"" SPACE
                "\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, {\"type\": \"Strip\", "
                "\"content\": \" \", \"start\": 1, \"stop\": 0}]},\n"
                "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": \"<unk>\",\n"
                "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": true,\n"
                "    \"byte_fallback\": true,\n    \"ignore_merges\": false,\n    \"vocab\": {");
    for (int i = 0; i < vocab.count; i++) {
        strbuf_str(&b, i ? ",\n      " : "\n      ");
        strbuf_json_str(&b, vocab.items[i]);
        strbuf_printf(&b, ": %d", i);
    }
    strbuf_str(&b, "\n    },\n    \"merges\": [");
    for (int i = 0; i < merges.count; i++) {
        char *sep = strchr(merges.items[i], '\x01');
        *sep = 0;
        strbuf_str(&b, i ? ",\n      [" : "\n      [");
        strbuf_json_str(&b, merges.items[i]);
        strbuf_str(&b, ", ");
        strbuf_json_str(&b, sep + 1);
        strbuf_str(&b, "]");
    }
    strbuf_str(&b, "\n    ]\n  }\n}\n");
    list_free(&vocab);
    list_free(&merges);
    return b.s;
}

// ---- weights ----
typedef struct {
    StWriter *w;
    Rng rng;
    float **blocks;
    int nblocks;
} WeightsOut;

typedef enum { INIT_ONE, INIT_ZERO, INIT_NORMAL } InitKind;

static void add_tensor(WeightsOut *o, const char *name, int ndim, const uint64_t *shape, InitKind kind, float std) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    float *d = malloc_check(n * sizeof(float));
    for (size_t i = 0; i < n; i++) d[i] = kind == INIT_ONE ? 1.0f : kind == INIT_ZERO ? 0.0f : std * rng_normal(&o->rng);
    o->blocks = realloc_check(o->blocks, (size_t)(o->nblocks + 1) * sizeof *o->blocks);
    o->blocks[o->nblocks++] = d;
    st_writer_add_f32(o->w, name, ndim, shape, d);
}
static void add1(WeightsOut *o, const char *name, uint64_t a, InitKind k, float std) {
    uint64_t s[1] = {a};
    add_tensor(o, name, 1, s, k, std);
}
static void add2(WeightsOut *o, const char *name, uint64_t a, uint64_t b, InitKind k, float std) {
    uint64_t s[2] = {a, b};
    add_tensor(o, name, 2, s, k, std);
}
// nn.Linear [out, in] with N(0, 1/in) weights (and zero bias).
static void add_linear(WeightsOut *o, const char *prefix, uint64_t out, uint64_t in, bool bias) {
    char name[256];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add2(o, name, out, in, INIT_NORMAL, 1.0f / sqrtf((float)in));
    if (bias) {
        snprintf(name, sizeof name, "%s.bias", prefix);
        add1(o, name, out, INIT_ZERO, 0);
    }
}
static void add_layernorm(WeightsOut *o, const char *prefix, uint64_t c) {
    char name[256];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add1(o, name, c, INIT_ONE, 0);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add1(o, name, c, INIT_ZERO, 0);
}

static bool write_weights(const TinyModelOptions *t, int vocab, const char *path, LpoiErr *err) {
    WeightsOut o = {.w = st_writer_new()};
    rng_seed(&o.rng, t->seed * 0x9e3779b97f4a7c15ull + 12345);
    char name[256];
    uint64_t Cv = (uint64_t)t->vision_hidden, Ct = (uint64_t)t->text_hidden, p = (uint64_t)t->patch_size;
    uint64_t G = (uint64_t)(t->image_size / t->patch_size);
    // vision tower (CLIPVisionModel without the "vision_model." level, as transformers 5 writes it)
    add1(&o, "vision_tower.embeddings.class_embedding", Cv, INIT_NORMAL, 0.5f);
    uint64_t pshape[4] = {Cv, 3, p, p};
    add_tensor(&o, "vision_tower.embeddings.patch_embedding.weight", 4, pshape, INIT_NORMAL, 1.0f / sqrtf(3.0f * p * p));
    add2(&o, "vision_tower.embeddings.position_embedding.weight", G * G + 1, Cv, INIT_NORMAL, 0.5f);
    add_layernorm(&o, "vision_tower.pre_layrnorm", Cv);
    for (int l = 0; l < t->vision_layers; l++) {
        const char *projs[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
        for (int i = 0; i < 4; i++) {
            snprintf(name, sizeof name, "vision_tower.encoder.layers.%d.self_attn.%s", l, projs[i]);
            add_linear(&o, name, Cv, Cv, true);
        }
        snprintf(name, sizeof name, "vision_tower.encoder.layers.%d.layer_norm1", l);
        add_layernorm(&o, name, Cv);
        snprintf(name, sizeof name, "vision_tower.encoder.layers.%d.layer_norm2", l);
        add_layernorm(&o, name, Cv);
        snprintf(name, sizeof name, "vision_tower.encoder.layers.%d.mlp.fc1", l);
        add_linear(&o, name, (uint64_t)t->vision_ffn, Cv, true);
        snprintf(name, sizeof name, "vision_tower.encoder.layers.%d.mlp.fc2", l);
        add_linear(&o, name, Cv, (uint64_t)t->vision_ffn, true);
    }
    add_layernorm(&o, "vision_tower.post_layernorm", Cv);
    // projector
    add_linear(&o, "multi_modal_projector.linear_1", Ct, Cv, true);
    add_linear(&o, "multi_modal_projector.linear_2", Ct, Ct, true);
    // language model
    uint64_t D = Ct / (uint64_t)t->text_heads, H = (uint64_t)t->text_heads, KVH = (uint64_t)t->text_kv_heads;
    uint64_t F = (uint64_t)t->text_ffn;
    add2(&o, "language_model.model.embed_tokens.weight", (uint64_t)vocab, Ct, INIT_NORMAL, 1.0f);
    for (int l = 0; l < t->text_layers; l++) {
        struct { const char *n; uint64_t out, in; } lin[] = {
            {"self_attn.q_proj", H * D, Ct}, {"self_attn.k_proj", KVH * D, Ct}, {"self_attn.v_proj", KVH * D, Ct},
            {"self_attn.o_proj", Ct, H * D}, {"mlp.gate_proj", F, Ct}, {"mlp.up_proj", F, Ct}, {"mlp.down_proj", Ct, F},
        };
        for (size_t i = 0; i < LPOI_ARRAY_LEN(lin); i++) {
            snprintf(name, sizeof name, "language_model.model.layers.%d.%s", l, lin[i].n);
            add_linear(&o, name, lin[i].out, lin[i].in, false);
        }
        snprintf(name, sizeof name, "language_model.model.layers.%d.input_layernorm.weight", l);
        add1(&o, name, Ct, INIT_ONE, 0);
        snprintf(name, sizeof name, "language_model.model.layers.%d.post_attention_layernorm.weight", l);
        add1(&o, name, Ct, INIT_ONE, 0);
    }
    add1(&o, "language_model.model.norm.weight", Ct, INIT_ONE, 0);
    add_linear(&o, "language_model.lm_head", (uint64_t)vocab, Ct, false);
    bool ok = st_writer_write(o.w, path, err);
    st_writer_free(o.w);
    for (int i = 0; i < o.nblocks; i++) free(o.blocks[i]);
    free(o.blocks);
    return ok;
}

// ---- the JSON files ----
static char *config_json(const TinyModelOptions *t, int image_id, int pad_id, int vocab) {
    int G = t->image_size / t->patch_size;
    StrBuf b = {0};
    strbuf_printf(&b,
            "{\n"
            "  \"architectures\": [\n    \"LlavaForConditionalGeneration\"\n  ],\n"
            "  \"dtype\": \"float32\",\n"
            "  \"image_seq_length\": %d,\n"
            "  \"image_token_index\": %d,\n"
            "  \"model_type\": \"llava\",\n"
            "  \"multimodal_projector_bias\": true,\n"
            "  \"pad_token_id\": %d,\n"
            "  \"projector_hidden_act\": \"gelu\",\n",
            G * G, image_id, pad_id);
    strbuf_printf(&b,
            "  \"text_config\": {\n"
            "    \"attention_bias\": false,\n    \"attention_dropout\": 0.0,\n    \"bos_token_id\": 1,\n"
            "    \"eos_token_id\": 2,\n    \"head_dim\": %d,\n    \"hidden_act\": \"silu\",\n    \"hidden_size\": %d,\n"
            "    \"initializer_range\": 0.02,\n    \"intermediate_size\": %d,\n    \"max_position_embeddings\": 512,\n"
            "    \"mlp_bias\": false,\n    \"model_type\": \"llama\",\n    \"num_attention_heads\": %d,\n"
            "    \"num_hidden_layers\": %d,\n    \"num_key_value_heads\": %d,\n    \"pad_token_id\": %d,\n"
            "    \"pretraining_tp\": 1,\n    \"rms_norm_eps\": 1e-05,\n"
            "    \"rope_parameters\": {\n      \"rope_theta\": 10000.0,\n      \"rope_type\": \"default\"\n    },\n"
            "    \"tie_word_embeddings\": false,\n    \"use_cache\": true,\n    \"vocab_size\": %d\n  },\n",
            t->text_hidden / t->text_heads, t->text_hidden, t->text_ffn, t->text_heads, t->text_layers, t->text_kv_heads,
            pad_id, vocab);
    strbuf_printf(&b,
            "  \"tie_word_embeddings\": false,\n"
            "  \"transformers_version\": \"5.24.0\",\n"
            "  \"vision_config\": {\n"
            "    \"attention_dropout\": 0.0,\n    \"hidden_act\": \"quick_gelu\",\n    \"hidden_size\": %d,\n"
            "    \"image_size\": %d,\n    \"initializer_factor\": 1.0,\n    \"initializer_range\": 0.02,\n"
            "    \"intermediate_size\": %d,\n    \"layer_norm_eps\": 1e-05,\n    \"model_type\": \"clip_vision_model\",\n"
            "    \"num_attention_heads\": %d,\n    \"num_channels\": 3,\n    \"num_hidden_layers\": %d,\n"
            "    \"patch_size\": %d,\n    \"projection_dim\": 512\n  },\n"
            "  \"vision_feature_layer\": -2,\n"
            "  \"vision_feature_select_strategy\": \"default\"\n}\n",
            t->vision_hidden, t->image_size, t->vision_ffn, t->vision_heads, t->vision_layers, t->patch_size);
    return b.s;
}

static const char GENERATION_CONFIG[] =
    "{\n  \"bos_token_id\": 1,\n  \"do_sample\": false,\n  \"eos_token_id\": 2,\n  \"pad_token_id\": %d,\n"
    "  \"transformers_version\": \"5.24.0\"\n}\n";

// llava-hf/llava-1.5-7b-hf chat_template.json's template (chat_template.h renders the same text).
static const char CHAT_TEMPLATE[] =
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in "
    "message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}"
    "{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "{{ 'ASSISTANT:' }}{% endif %}";

static const char TOKENIZER_CONFIG[] =
    "{\n  \"add_bos_token\": true,\n  \"add_eos_token\": false,\n  \"add_prefix_space\": null,\n"
    "  \"backend\": \"tokenizers\",\n  \"bos_token\": \"<s>\",\n  \"clean_up_tokenization_spaces\": false,\n"
    "  \"eos_token\": \"</s>\",\n  \"extra_special_tokens\": {\n    \"image_token\": \"<image>\"\n  },\n"
    "  \"image_token\": \"<image>\",\n  \"model_max_length\": 512,\n  \"pad_token\": \"<pad>\",\n"
    "  \"padding_side\": \"left\",\n  \"processor_class\": \"LlavaProcessor\",\n  \"tokenizer_class\": \"LlamaTokenizer\",\n"
    "  \"unk_token\": \"<unk>\",\n  \"use_default_system_prompt\": false\n}\n";

static const char SPECIAL_TOKENS_MAP[] =
    "{\n  \"bos_token\": \"<s>\",\n  \"eos_token\": \"</s>\",\n  \"image_token\": \"<image>\",\n"
    "  \"pad_token\": \"<pad>\",\n  \"unk_token\": \"<unk>\"\n}\n";

static void image_processor_json(StrBuf *b, int R, const char *indent, bool nested) {
    strbuf_printf(b,
            "{\n%s  \"crop_size\": {\n%s    \"height\": %d,\n%s    \"width\": %d\n%s  },\n"
            "%s  \"do_center_crop\": true,\n%s  \"do_convert_rgb\": true,\n%s  \"do_normalize\": true,\n"
            "%s  \"do_rescale\": true,\n%s  \"do_resize\": true,\n"
            "%s  \"image_mean\": [\n%s    0.48145466,\n%s    0.4578275,\n%s    0.40821073\n%s  ],\n"
            "%s  \"image_processor_type\": \"CLIPImageProcessor\",\n"
            "%s  \"image_std\": [\n%s    0.26862954,\n%s    0.26130258,\n%s    0.27577711\n%s  ],\n",
            indent, indent, R, indent, R, indent, indent, indent, indent, indent, indent, indent, indent, indent, indent,
            indent, indent, indent, indent, indent, indent, indent);
    if (!nested) strbuf_printf(b, "%s  \"processor_class\": \"LlavaProcessor\",\n", indent);
    strbuf_printf(b,
            "%s  \"resample\": 3,\n%s  \"rescale_factor\": 0.00392156862745098,\n"
            "%s  \"size\": {\n%s    \"shortest_edge\": %d\n%s  }\n%s}",
            indent, indent, indent, indent, R, indent, indent);
}

static bool write_text(const char *dir, const char *file, const char *text, LpoiErr *err) {
    char path[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path) return err_set(err, "%s: path too long", dir);
    return file_write_atomic(path, text, strlen(text), err);
}

bool tiny_model_write(const TinyModelOptions *t, const char *dir, LpoiErr *err) {
    if (!tiny_model_check(t, err)) return false;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return err_set(err, "%s: cannot create folder: %s", dir, strerror(errno));
    int image_id, pad_id, vocab;
    char *tok = tiny_model_tokenizer_json(t->words, &image_id, &pad_id, &vocab);
    char *cfg = config_json(t, image_id, pad_id, vocab);
    StrBuf gen = {0}, proc = {0}, pre = {0};
    strbuf_printf(&gen, GENERATION_CONFIG, pad_id);
    image_processor_json(&pre, t->image_size, "", false);
    strbuf_str(&pre, "\n");
    strbuf_str(&proc, "{\n  \"image_processor\": ");
    image_processor_json(&proc, t->image_size, "  ", true);
    strbuf_str(&proc, ",\n  \"image_token\": \"<image>\",\n  \"num_additional_image_tokens\": 1,\n");
    strbuf_printf(&proc, "  \"patch_size\": %d,\n  \"processor_class\": \"LlavaProcessor\",\n"
                   "  \"vision_feature_select_strategy\": \"default\"\n}\n", t->patch_size);
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    bool ok = write_text(dir, "config.json", cfg, err) && write_text(dir, "generation_config.json", gen.s, err) &&
              write_text(dir, "tokenizer.json", tok, err) && write_text(dir, "tokenizer_config.json", TOKENIZER_CONFIG, err) &&
              write_text(dir, "special_tokens_map.json", SPECIAL_TOKENS_MAP, err) &&
              write_text(dir, "chat_template.jinja", CHAT_TEMPLATE, err) &&
              write_text(dir, "processor_config.json", proc.s, err) &&
              write_text(dir, "preprocessor_config.json", pre.s, err) && write_weights(t, vocab, path, err);
    free(tok);
    free(cfg);
    free(gen.s);
    free(proc.s);
    free(pre.s);
    return ok;
}
