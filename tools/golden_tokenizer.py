#!/usr/bin/env python3
"""golden_tokenizer.py — the HF `tokenizers` oracle for lpoi's BPE tokenizer (src/text/).

Writes, into testdata/tokenizer/ (all byte-for-byte reproducible):
  tiny_*.json           small tokenizer.json files built here with the tokenizers library: one BPE
                        model (byte_fallback, trained on the small corpus below) serialised in the
                        pipelines we must support — LLaMA/llava legacy form (Prepend "▁" + Replace
                        normalizer, pair merges), Mistral form (Metaspace prepend_scheme "first",
                        "a b" string merges), Metaspace "always" + split + ignore_merges with a
                        Metaspace decoder, Metaspace "never" — plus a hand-made one with pieces that
                        contain spaces, a partial byte vocabulary, no unk fusing and no decoder;
  expected_<name>.json  for each tiny tokenizer and for the real ones in ../shared/data/hf (which
                        are read, never copied): the edge-case corpus + seeded random strings with
                        their ids (with and without special tokens) and decodes (skipping specials
                        or not), and random id lists with their decodes;
  chat_llava15.json     conversations rendered with llava-1.5-7b-hf's real chat_template.json
                        (jinja2, with transformers' {% generation %} tag as a no-op);
  bad/*.json            malformed tokenizer.json files the loader must refuse (src/text/tokenizer_test.c
                        checks each message).
and src/text/tokenizer_unicode.c: the code points tokenizers treats as word characters for
single_word added tokens (measured from the library itself, so it is its exact table).

usage: python tools/golden_tokenizer.py [--hf ../shared/data/hf] [--out testdata/tokenizer] [--unicode FILE]
"""
import argparse
import json
import os
import random
import sys

os.environ.setdefault("RUST_BACKTRACE", "0")   # HF panics we catch (see decode_or_none) stay short
from golden_common import generator   # noqa: E402
import tokenizers   # noqa: E402
from tokenizers import AddedToken, Tokenizer   # noqa: E402

VERSION = tokenizers.__version__
GENERATOR = generator(__file__, tokenizers)
SP = "\u2581"
BYTES = ["<0x%02X>" % b for b in range(256)]

CORPUS = """The quick brown fox jumps over the lazy dog near the river bank.
A man is riding a bicycle down the street while a woman walks her dog.
What is in the image? There is a cat sitting on a red chair next to a table.
The picture shows two people playing tennis on a sunny day in the park.
USER: Describe the image in detail. ASSISTANT: The image shows a kitchen with a stove.
There are three apples and a banana in the bowl on the wooden table.
Is there a person in the image? No, there is no person in the image.
The train is stopped at the station, and passengers are waiting on the platform.
A large airplane is flying in the clear blue sky above the city buildings.
def tokenize(text): return [token for token in text.split(" ") if token]
for i in range(10): print(i, i * 2, i ** 2)
Le chat est assis sur la chaise rouge à côté de la fenêtre ouverte.
Das Bild zeigt einen Hund, der über die grüne Wiese läuft.
El perro está corriendo en el parque con una pelota amarilla.
The numbers 12, 345 and 6789 appear on the sign: call 555-0100 today!
Hello, world! How are you doing today? I'm fine, thanks.
猫が椅子の上に座っています。犬が公園で走っています。
图片中有一只猫坐在红色的椅子上。
The hallucination rate drops when the model looks at the masked object.
    indented code line with four spaces
\tand a tab-indented line
two  spaces   three    four
""".splitlines()


# ---------------------------------------------------------------------------------------------
# tiny tokenizers

def train_base():
    """One BPE model trained on CORPUS, with LLaMA's id layout (<unk> <s> </s>, the 256 byte tokens,
    then the pieces). A plain deterministic BPE trainer (most frequent pair, ties to the smallest
    pair) rather than tokenizers' BpeTrainer, whose tie-breaking follows Rust's randomly seeded
    hash maps and would change the files on every run. Words are cut before each ▁ as LLaMA's
    SentencePiece training does; chars seen fewer than 3 times stay out of the alphabet, so they
    need byte fallback."""
    from collections import Counter
    words = Counter()
    for line in CORPUS * 3:
        text = SP + line.replace(" ", SP)
        start = 0
        for i in range(1, len(text) + 1):
            if i == len(text) or text[i] == SP:
                words[text[start:i]] += 1
                start = i
    chars = Counter()
    for w, c in words.items():
        for ch in w:
            chars[ch] += c
    alphabet = sorted(ch for ch, c in chars.items() if c >= 3)
    vocab = {t: i for i, t in enumerate(["<unk>", "<s>", "</s>"] + BYTES)}
    for ch in alphabet:
        vocab[ch] = len(vocab)
    seqs = {w: [ch if ch in vocab else None for ch in w] for w in words}
    merges = []
    while len(vocab) < 700:
        pairs = Counter()
        for w, seq in seqs.items():
            for a, b in zip(seq, seq[1:]):
                if a is not None and b is not None:
                    pairs[(a, b)] += words[w]
        if not pairs:
            break
        (a, b), _ = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        merges.append([a, b])
        vocab[a + b] = len(vocab)
        for w, seq in seqs.items():
            out, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and seq[i] == a and seq[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            seqs[w] = out
    # multi-▁ pieces, as LLaMA has ("▁▁", "▁▁▁▁"), with their merges
    for a, b in ((SP, SP), (SP + SP, SP + SP)):
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
            merges.append([a, b])
    return {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
            "vocab": vocab, "merges": merges}


def llama_decoder():
    return {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": SP}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}


def template(bos=True, eos=False):
    single, specials = [], {}
    if bos:
        single.append({"SpecialToken": {"id": "<s>", "type_id": 0}})
        specials["<s>"] = {"id": "<s>", "ids": [1], "tokens": ["<s>"]}
    single.append({"Sequence": {"id": "A", "type_id": 0}})
    if eos:
        single.append({"SpecialToken": {"id": "</s>", "type_id": 0}})
        specials["</s>"] = {"id": "</s>", "ids": [2], "tokens": ["</s>"]}
    return {"type": "TemplateProcessing", "single": single,
            "pair": single + [{"Sequence": {"id": "B", "type_id": 1}}], "special_tokens": specials}


def added(content, special=True, normalized=False, lstrip=False, rstrip=False, single_word=False):
    return dict(content=content, special=special, normalized=normalized, lstrip=lstrip, rstrip=rstrip,
                single_word=single_word)


def assemble(model, normalizer, pre_tokenizer, decoder, post, extra_added):
    """Builds tokenizer.json text; the added tokens get their ids from the library itself."""
    base = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post,
            "decoder": decoder, "model": model}
    tok = Tokenizer.from_str(json.dumps(base))
    specials = [added("<unk>"), added("<s>"), added("</s>")] + extra_added
    for a in specials:
        t = AddedToken(a["content"], special=a["special"], normalized=a["normalized"], lstrip=a["lstrip"],
                       rstrip=a["rstrip"], single_word=a["single_word"])
        (tok.add_special_tokens if a["special"] else tok.add_tokens)([t])
    return tok


def string_merges(model):
    m = dict(model)
    m["merges"] = [a + " " + b for a, b in model["merges"]]
    return m


def build_tiny(base):
    out = {}
    legacy_norm = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": SP}, {"type": "Replace", "pattern": {"String": " "}, "content": SP}]}
    out["tiny_llama"] = assemble(base, legacy_norm, None, llama_decoder(), template(), [
        added("<image>"), added("<pad>"),
        added("hello world", special=False, normalized=True),     # matched as "▁hello▁world"
        added("<R>", rstrip=True), added("<L>", lstrip=True)])
    ms = lambda scheme, split: {"type": "Metaspace", "replacement": SP, "prepend_scheme": scheme, "split": split}
    out["tiny_mistral"] = assemble(string_merges(base), None, ms("first", False), llama_decoder(), template(), [
        added("<fake_token_around_image>"), added("<image>"), added("<end_of_utterance>"),
        added("cat", special=False, normalized=True), added("<W>", single_word=True)])
    always = dict(base)
    always["ignore_merges"] = True
    out["tiny_always"] = assemble(always, None, ms("always", True),
                                  {"type": "Metaspace", "replacement": SP, "prepend_scheme": "always", "split": True},
                                  template(bos=True, eos=True), [
        added("<image>", lstrip=True, rstrip=True), added("dog", special=False, normalized=True, single_word=True)])
    out["tiny_never"] = assemble(string_merges(base), None, ms("never", False),
                                 {"type": "Sequence", "decoders": [
                                     {"type": "Metaspace", "replacement": SP, "prepend_scheme": "never", "split": False},
                                     {"type": "ByteFallback"}, {"type": "Fuse"},
                                     {"type": "Strip", "content": " ", "start": 2, "stop": 1}]},
                                 None, [added("<image>")])
    # hand-made: raw text (no normalizer / pre-tokenizer), pieces with spaces (pair merges are the
    # only way to write them), a partial byte vocabulary, unk not fused, no decoder
    vocab = {"<unk>": 0, "a": 1, "b": 2, " ": 3, "a ": 4, " b": 5, "a b": 6, "ab": 7, "<0xC3>": 8, "<0xA9>": 9,
             "c": 10, "cc": 11, "ccc": 12, "cccc": 13, "\n": 14}
    raw = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
           "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": True, "ignore_merges": False,
           "vocab": vocab, "merges": [["a", " "], ["a ", "b"], ["a", "b"], [" ", "b"], ["c", "c"], ["cc", "c"],
                                      ["cc", "cc"]]}
    out["tiny_raw"] = assemble(raw, None, None, None, None, [added("[X]")])
    return out


# ---------------------------------------------------------------------------------------------
# corpus

EDGE = [
    "", " ", "  ", "   ", "hello", " hello", "  hello", "hello ", "hello  ", " hello world ", "hello world",
    "a  b   c    d", "\t", "\n", "\r\n", "\n\n", "line1\nline2\n\nline3", "\ttabbed\ttext\t", " \n \t ",
    "    def f(x):\n        return x\n", "café naïve résumé", "Ünïcödé", "日本語のテキスト", "中文字符", "한국어",
    "emoji 😀🎉👍🏽", "👨‍👩‍👧", "flags 🇯🇵🇫🇷", "combining e\u0301 a\u0308", "zero\u200bwidth", "nbsp\u00a0here",
    "\u3000ideographic space", "line\u2028sep", "<image>", "<image>\nWhat is in the image?",
    "USER: <image>\nWhat is this? ASSISTANT:", "<image><image>", "<image>\n<image>\nUSER:", " <image>", "<image> ",
    "a<s>b", "<s>", "</s>", "<s></s>", "text</s>", " <s> x", "< image>", "<image", "image>", "<<image>>",
    "<im<image>age>", "<pad><unk>", "<unk>", "<0x0A>", "<0xZZ>", "\u2581", "\u2581\u2581hello", "▁ ▁",
    "__init__", "don't stop", "Hello, World!", "\x00", "a\x00b", "\x7f", "\x1b[0m", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010ffff",
    "\ufffd", "\ufeffBOM", "1234567890", "3.14159", "2024-01-01", "$100,000.00", "0000", "x" * 300,
    "supercalifragilisticexpialidocious" * 20, "ab" * 500, "a" * 1000, " " * 100, "\n" * 50, "😀" * 40,
    "hello world hello world", "hello worldhello world", "xhello world", "<fake_token_around_image><image>"
    "<fake_token_around_image>", "User:<image><end_of_utterance>\nAssistant:", "<R>x", "x <R> y", "x  <L>y",
    "a <L>", "<L><R>", " <R>  <L> ", "cat", "concatenate the cat", "a cat", "<W>", "x<W>", "x <W> y", "é<W>",
    "_<W>_", "dog", "hotdog", "a dog.", "the <image> dog", "a b", "a  b", "ab ab", "aab", "cccccccc",
    "ccccccc", "[X]", "a[X]b", "é", "éé", "中", "a中b", "é中中é",
]

RANDOM_PIECES = ["the", "cat", "dog", "image", "hello", "world", "▁", " ", "  ", "\n", "\t", "\r", "<image>", "<s>",
                 "</s>", "<pad>", "<unk>", "<fake_token_around_image>", "<end_of_utterance>", "<R>", "<L>", "<W>",
                 "[X]", "ASSISTANT:", "USER:", "é", "ü", "中", "文", "😀", "👍🏽", "1", "42", "3.5", ",", ".", "?", "!",
                 "'", "\"", "(", ")", "a", "b", "c", "ab", "cc", "hello world", "\u00a0", "\u3000", "\u200b",
                 "<", ">", "image", "_", "-", "ä", "ß", "ñ", "日本", "한", "\U0001F600", "x"]


def random_strings(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.7:
                parts.append(rng.choice(RANDOM_PIECES))
            elif r < 0.85:
                parts.append(rng.choice(CORPUS))
            else:   # a random code point from a few blocks (no surrogates)
                lo, hi = rng.choice([(0x20, 0x7E), (0xA0, 0x2FF), (0x370, 0x52F), (0x2000, 0x206F),
                                     (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x1F300, 0x1FAFF),
                                     (0x1, 0x1F), (0xE000, 0xF8FF), (0x10000, 0x10FFFF)])
                parts.append(chr(rng.randint(lo, hi)))
        out.append("".join(parts))
    return out


def long_text():
    return " ".join(CORPUS) * 2


def random_id_lists(tok, n, seed):
    rng = random.Random(seed)
    V = tok.get_vocab_size()
    byte_ids = [tok.token_to_id(b) for b in BYTES if tok.token_to_id(b) is not None]
    out = [[], [0], [1], [2], [V], [V + 100, 1, 2]]
    for _ in range(n):
        ids = []
        for _ in range(rng.randint(1, 16)):
            r = rng.random()
            if r < 0.4 and byte_ids:
                ids.append(rng.choice(byte_ids))
            elif r < 0.5:
                ids.append(rng.choice([0, 1, 2, V - 1, V, V + 7]))
            else:
                ids.append(rng.randrange(V))
        out.append(ids)
    # byte runs worth naming: lone lead byte, truncated sequence at the end, valid 3- and 4-byte runs
    bid = lambda b: tok.token_to_id("<0x%02X>" % b)
    if all(bid(b) is not None for b in (0xE5, 0x85, 0xA5, 0xF0, 0x9F, 0x98, 0x80, 0xC3, 0xA9)):
        out += [[bid(0xE5)], [bid(0xE5), bid(0x85)], [bid(0xE5), bid(0x85), bid(0xA5)],
                [bid(0xF0), bid(0x9F), bid(0x98), bid(0x80)], [bid(0xF0), bid(0x9F), bid(0x98)],
                [bid(0xC3), bid(0xA9), bid(0xE5)], [bid(0xC3), 1, bid(0xA9)]]
    return out


def decode_or_none(tok, ids, skip):
    """HF's decode, or None where it panics (Strip with stop > 0 indexes out of bounds on an empty
    string and slices backwards when start and stop overlap; lpoi returns what is left, or "")."""
    try:
        return tok.decode(ids, skip_special_tokens=skip)
    except BaseException as e:   # pyo3's PanicException derives from BaseException
        if type(e).__name__ != "PanicException":
            raise
        return None


def expected(tok, strings, id_lists, tokenizer_path, config_path=None):
    cases = []
    for s in strings:
        e = tok.encode(s, add_special_tokens=True)
        p = tok.encode(s, add_special_tokens=False)
        cases.append({"text": s, "ids": e.ids, "ids_plain": p.ids,
                      "decoded": decode_or_none(tok, e.ids, True),
                      "decoded_special": decode_or_none(tok, e.ids, False)})
    decs = [{"ids": ids, "text": decode_or_none(tok, ids, True),
             "text_special": decode_or_none(tok, ids, False)} for ids in id_lists]
    # id -> token for every added token and a spread of model ids (normalized added tokens show
    # their normalized form here, and decode uses that form)
    ids = sorted(set(tok.get_added_tokens_decoder()) | set(range(0, tok.get_vocab_size(), 97)))
    id_to_token = [[i, tok.id_to_token(i)] for i in ids]
    out = {"generator": GENERATOR, "tokenizer": tokenizer_path,
           "vocab_size": tok.get_vocab_size(), "id_to_token": id_to_token, "encode": cases, "decode": decs}
    if config_path:
        out["config"] = config_path
    return out


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


def corpus_for(seed):
    return EDGE + random_strings(80, seed) + [long_text()]


# ---------------------------------------------------------------------------------------------
# chat template

def chat_cases(template_json):
    import jinja2
    from jinja2.ext import Extension
    from jinja2 import nodes

    class Generation(Extension):   # transformers' {% generation %}: marks assistant text, renders it as is
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, "jinja2.ext.loopcontrols"])
    tpl = env.from_string(json.load(open(template_json))["chat_template"])
    user = lambda text, images=1: {"role": "user", "content": [{"type": "image"}] * images +
                                   ([{"type": "text", "text": text}] if text is not None else [])}
    asst = lambda text: {"role": "assistant", "content": [{"type": "text", "text": text}]}
    system = lambda text: {"role": "system", "content": [{"type": "text", "text": text}]}
    convs = [
        ([user("What is in the image?")], True),
        ([user("What is in the image?")], False),
        ([user("Describe it.", 0)], True),
        ([user("Compare them.", 2)], True),
        ([user(None)], True),
        ([user("What is this?"), asst("A cat on a chair.")], False),
        ([user("What is this?"), asst("A cat."), user("What color?", 0)], True),
        ([system("You are helpful."), user("Hi")], True),
        ([user("  spaced  \n text "), asst(" answer ")], False),
    ]
    out = []
    for msgs, gen in convs:
        out.append({"messages": msgs, "add_generation_prompt": gen, "text": tpl.render(messages=msgs, add_generation_prompt=gen)})
    return out


# ---------------------------------------------------------------------------------------------
# malformed files

def mini_llama():
    """A small valid llava-style tokenizer.json that each malformed file changes in one place."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x41>": 3, "<0x42>": 4, SP: 5, "a": 6, "b": 7, SP + "a": 8,
             "ab": 9, "c": 10}
    model = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
             "vocab": vocab, "merges": [[SP, "a"], ["a", "b"]]}
    norm = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": SP}, {"type": "Replace", "pattern": {"String": " "}, "content": SP}]}
    return assemble(model, norm, None, llama_decoder(), template(), [added("<image>")])


def bad_files(good_text):
    good = json.loads(good_text)

    def mod(fn):
        j = json.loads(good_text)
        fn(j)
        return json.dumps(j, ensure_ascii=False)

    def set_path(path, value):
        def f(j):
            o = j
            for k in path[:-1]:
                o = o[k]
            o[path[-1]] = value
        return f

    vocab = good["model"]["vocab"]
    first_merge = good["model"]["merges"][0]
    bad = {
        "not_json": "{\"model\": ",
        "root_array": "[]",
        "no_model": mod(lambda j: j.pop("model")),
        "model_wordpiece": mod(set_path(["model", "type"], "WordPiece")),
        "vocab_not_object": mod(set_path(["model", "vocab"], [])),
        "vocab_negative_id": mod(lambda j: j["model"]["vocab"].__setitem__("zz", -1)),
        "vocab_fractional_id": mod(lambda j: j["model"]["vocab"].__setitem__("zz", 1.5)),
        "vocab_huge_id": mod(lambda j: j["model"]["vocab"].__setitem__("zz", 4294967296)),
        "vocab_sparse_id": mod(lambda j: j["model"]["vocab"].__setitem__("zz", 100000)),
        "vocab_duplicate_id": mod(lambda j: j["model"]["vocab"].__setitem__("zz", 5)),
        "vocab_byte_token_not_hex": mod(lambda j: j["model"]["vocab"].__setitem__("<0xZZ>", len(vocab))),
        "vocab_byte_token_minus": mod(lambda j: j["model"]["vocab"].__setitem__("<0x-1>", len(vocab))),
        "merge_piece_missing": mod(lambda j: j["model"]["merges"].append(["nothere", "a"])),
        "merge_result_missing": mod(lambda j: j["model"]["merges"].append(["<0x41>", "<0x42>"])),
        "merge_three_parts": mod(lambda j: j["model"].__setitem__("merges", [" ".join(m) for m in j["model"]["merges"]] + ["a b c"])),
        "merge_mixed_forms": mod(lambda j: j["model"]["merges"].append(" ".join(first_merge))),
        "merge_pair_of_three": mod(lambda j: j["model"]["merges"].append(["a", "b", "c"])),
        "dropout": mod(set_path(["model", "dropout"], 0.1)),
        "fuse_unk_string": mod(set_path(["model", "fuse_unk"], "yes")),
        "subword_prefix": mod(set_path(["model", "continuing_subword_prefix"], "##")),
        "normalizer_nfkc": mod(set_path(["normalizer"], {"type": "NFKC"})),
        "normalizer_regex": mod(set_path(["normalizer", "normalizers", 1, "pattern"], {"Regex": " +"})),
        "normalizer_no_type": mod(set_path(["normalizer"], {"prepend": "x"})),
        "pre_tokenizer_bytelevel": mod(set_path(["pre_tokenizer"], {"type": "ByteLevel"})),
        "metaspace_bad_scheme": mod(set_path(["pre_tokenizer"], {"type": "Metaspace", "replacement": SP, "prepend_scheme": "sometimes", "split": False})),
        "metaspace_two_char_replacement": mod(set_path(["pre_tokenizer"], {"type": "Metaspace", "replacement": "ab", "prepend_scheme": "first", "split": False})),
        "decoder_bytelevel": mod(set_path(["decoder"], {"type": "ByteLevel"})),
        "decoder_strip_negative": mod(set_path(["decoder", "decoders", 3, "start"], -1)),
        "post_processor_bert": mod(set_path(["post_processor"], {"type": "BertProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1]})),
        "template_id_out_of_range": mod(set_path(["post_processor", "special_tokens", "<s>", "ids"], [10 ** 6])),
        "template_unknown_special": mod(set_path(["post_processor", "single", 0, "SpecialToken", "id"], "<nope>")),
        "added_token_wrong_id": mod(lambda j: j["added_tokens"][-1].__setitem__("id", 5)),
        "added_token_no_content": mod(lambda j: j["added_tokens"][-1].pop("content")),
        "added_token_empty": mod(lambda j: j["added_tokens"][-1].__setitem__("content", "")),
        "added_token_duplicate": mod(lambda j: j["added_tokens"].append(dict(j["added_tokens"][-1]))),
        "added_token_byte_shape": mod(lambda j: j["added_tokens"].append({**j["added_tokens"][-1], "content": "<0x+F>", "id": j["added_tokens"][-1]["id"] + 1})),
        "truncation_set": mod(set_path(["truncation"], {"max_length": 8, "strategy": "LongestFirst", "stride": 0, "direction": "Right"})),
    }
    return bad


# ---------------------------------------------------------------------------------------------
# Unicode word-character table (single_word)

def unicode_table(path):
    vocab = {"<unk>": 0}
    t = Tokenizer.from_str(json.dumps({"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
                                       "normalizer": None, "pre_tokenizer": None, "post_processor": None,
                                       "decoder": None, "model": {"type": "BPE", "vocab": vocab, "merges": [],
                                                                   "unk_token": "<unk>"}}))
    t.add_special_tokens([AddedToken("<W>", single_word=True, normalized=False)])
    w = t.token_to_id("<W>")
    cps = [c for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    before = t.encode_batch([chr(c) + "<W>" for c in cps], add_special_tokens=False)
    after = t.encode_batch(["<W>" + chr(c) for c in cps], add_special_tokens=False)
    ranges = []
    for c, b, a in zip(cps, before, after):
        is_word = w not in b.ids
        assert is_word == (w not in a.ids), hex(c)
        if is_word:
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
    lines = ["// tokenizer_unicode.c — GENERATED by tools/golden_tokenizer.py from tokenizers " + VERSION + "; do not edit.",
             "// The code points HF tokenizers treats as word characters when it decides whether a",
             "// single_word added token is glued to a word (Rust char::is_alphanumeric, plus '_'), measured",
             "// from the library itself, as inclusive ranges.",
             '#include "text/tokenizer_internal.h"', "",
             "static const uint32_t word_ranges[][2] = {"]
    row = []
    for a, b in ranges:
        row.append("{0x%X, 0x%X}," % (a, b))
        if len(row) == 6:
            lines.append("    " + " ".join(row))
            row = []
    if row:
        lines.append("    " + " ".join(row))
    lines += ["};", "",
              "bool tok_is_word_char(uint32_t cp) {",
              "    size_t lo = 0, hi = sizeof word_ranges / sizeof word_ranges[0];",
              "    while (lo < hi) {",
              "        size_t mid = (lo + hi) / 2;",
              "        if (cp < word_ranges[mid][0]) hi = mid;",
              "        else if (cp > word_ranges[mid][1]) lo = mid + 1;",
              "        else return true;",
              "    }",
              "    return false;",
              "}", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print(f"{path}: {len(ranges)} ranges")


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hf", default="../shared/data/hf", help="folder with the real HF tokenizer files")
    ap.add_argument("--out", default="testdata/tokenizer")
    ap.add_argument("--unicode", default="src/text/tokenizer_unicode.c",
                    help="where to write the word-character table ('' to skip, it takes ~20 s)")
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "bad"), exist_ok=True)

    if args.unicode:
        unicode_table(args.unicode)

    base = train_base()
    tiny = build_tiny(base)
    for i, (name, tok) in enumerate(sorted(tiny.items())):
        path = os.path.join(args.out, name + ".json")
        text = tok.to_str()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        tok = Tokenizer.from_file(path)   # what the C side will read
        exp = expected(tok, corpus_for(1000 + i), random_id_lists(tok, 60, 2000 + i), path)
        write_json(os.path.join(args.out, "expected_" + name + ".json"), exp)
        print(f"{path}: vocab {tok.get_vocab_size()}, {len(exp['encode'])} strings, {len(exp['decode'])} id lists")

    real = {"llava15": ("llava-hf__llava-1.5-7b-hf/tokenizer.json", None),
            "mistral7b": ("mistralai__Mistral-7B-v0.1/tokenizer.json", None),
            # Idefics2's tokenizer = Mistral's plus the tokens in its tokenizer_config.json (the real
            # idefics2 tokenizer.json is not in data/hf), added the way transformers adds them
            "idefics2_on_mistral": ("mistralai__Mistral-7B-v0.1/tokenizer.json",
                                    "HuggingFaceM4__idefics2-8b/tokenizer_config.json")}
    for i, (name, (rel, cfg)) in enumerate(real.items()):
        src = os.path.join(args.hf, rel)
        if not os.path.exists(src):
            print(f"{src}: absent, expected_{name}.json not regenerated", file=sys.stderr)
            continue
        tok = Tokenizer.from_file(src)
        if cfg:
            conf = json.load(open(os.path.join(args.hf, cfg)))
            for id_, a in sorted(conf.get("added_tokens_decoder", {}).items(), key=lambda kv: int(kv[0])):
                if tok.token_to_id(a["content"]) is None:
                    t = AddedToken(a["content"], special=a["special"], normalized=a["normalized"],
                                   lstrip=a["lstrip"], rstrip=a["rstrip"], single_word=a["single_word"])
                    (tok.add_special_tokens if a["special"] else tok.add_tokens)([t])
                    assert tok.token_to_id(a["content"]) == int(id_), a
        rel_path = "../shared/data/hf/" + rel
        exp = expected(tok, corpus_for(3000 + i), random_id_lists(tok, 60, 4000 + i), rel_path,
                       "../shared/data/hf/" + cfg if cfg else None)
        write_json(os.path.join(args.out, "expected_" + name + ".json"), exp)
        print(f"expected_{name}.json: {len(exp['encode'])} strings, {len(exp['decode'])} id lists")

    chat = os.path.join(args.hf, "llava-hf__llava-1.5-7b-hf/chat_template.json")
    if os.path.exists(chat):
        write_json(os.path.join(args.out, "chat_llava15.json"),
                   {"generator": "tools/golden_tokenizer.py (jinja2, llava-1.5-7b-hf chat_template.json)",
                    "cases": chat_cases(chat)})

    good = mini_llama().to_str()
    for name, text in sorted(bad_files(good).items()):
        with open(os.path.join(args.out, "bad", name + ".json"), "w", encoding="utf-8") as f:
            f.write(text)
    print(f"{len(bad_files(good))} malformed files in {args.out}/bad")


if __name__ == "__main__":
    main()
