#!/usr/bin/env python3
"""golden_gdino_text.py — the HF oracle for Grounding DINO's text front end (src/text/wordpiece.c,
src/models/gdino_text.c).

Writes (byte-for-byte reproducible):
  src/text/wordpiece_unicode.c   the BertNormalizer / BertPreTokenizer character tables, measured
                                 from the tokenizers library itself one code point at a time (so
                                 they are its exact tables, whatever Unicode version its crates use),
                                 and checked back against it on pairs of characters; and Python's
                                 str.lower (the phrases' lower-casing), measured from str.lower;
  testdata/gdino/wordpiece_<name>.json   for the real tokenizers in ../shared/data/hf (read, never
                                 copied): the hostile corpus + seeded random strings with their ids
                                 (with and without [CLS]/[SEP], and truncated to 256 as
                                 truncation=True, max_length=256 does), and random id lists with their
                                 decodes as transformers' batch_decode gives them;
  testdata/gdino/captions.json   Grounding DINO's caption rules on the real tokenizer: phrases →
                                 caption (GroundingDinoProcessor._merge_candidate_labels_text) → ids,
                                 the text self-attention mask and position ids of
                                 generate_masks_with_special_tokens_and_transfer_map (single and
                                 padded batches), and the text position embedding of
                                 GroundingDinoEncoderLayer.get_text_position_embeddings.

usage: /work/venv/bin/python tools/golden_gdino_text.py [--hf ../shared/data/hf] [--out testdata/gdino]
                                                       [--unicode src/text/wordpiece_unicode.c]
"""
import argparse
import json
import os
import random
import sys
import unicodedata
from types import SimpleNamespace

from golden_common import ROOT, generator
import torch
import tokenizers
import transformers
from tokenizers import normalizers, pre_tokenizers
from transformers import BertTokenizer
from transformers.models.grounding_dino.modeling_grounding_dino import (
    SPECIAL_TOKENS, GroundingDinoEncoderLayer, generate_masks_with_special_tokens_and_transfer_map)
from transformers.models.grounding_dino.processing_grounding_dino import _merge_candidate_labels_text

GENERATOR = generator(__file__, tokenizers, transformers, torch)
GDINO = "IDEA-Research__grounding-dino-tiny"
BERT = "google-bert__bert-base-uncased"
MAX_TEXT_LEN = 256

# ---------------------------------------------------------------------------------------------
# the character tables

def scalars():
    return (cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)


def hangul(cp):
    s = cp - 0xAC00
    out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
    if s % 28:
        out.append(0x11A7 + s % 28)
    return "".join(map(chr, out))


def ranges(cps):
    out = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def c_ranges(name, rs, per_line=6):
    """An exported WpRanges: inclusive [first, last] code point pairs, sorted."""
    lines = [f"static const uint32_t {name}_v[][2] = {{"]
    for i in range(0, len(rs), per_line):
        lines.append("    " + " ".join(f"{{0x{a:X}, 0x{b:X}}}," for a, b in rs[i:i + per_line]))
    lines += ["};", f"const WpRanges {name} = {{{name}_v, {len(rs)}}};"]
    return lines


def c_string(b):
    # three-digit octal escapes: a hex escape would swallow a following hex digit
    return '"' + "".join(f"\\{x:03o}" if x < 0x20 or x >= 0x7F or x in (0x22, 0x5C, 0x3F) else chr(x) for x in b) + '"'


def measure_bert():
    """What BertNormalizer(clean_text, handle_chinese_chars, lowercase, strip_accents=None) does to
    each code point on its own, sorted into: deleted, padded with spaces (Chinese), turned into a
    space, Hangul (decomposed by the algorithm in C), and the rest as an explicit mapping; the
    canonical combining classes that survive (NFD reorders runs of them across characters); and
    the characters BertPreTokenizer isolates (punctuation) or drops (whitespace)."""
    norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    deleted, chinese, space, mapped, out1 = [], [], [], {}, {}
    for cp in scalars():
        c = chr(cp)
        o = norm.normalize_str(c)
        out1[cp] = o
        if o == c:
            continue
        if o == "":
            deleted.append(cp)
        elif o == " ":
            space.append(cp)
        elif 0xAC00 <= cp <= 0xD7A3:
            assert o == hangul(cp), hex(cp)
        elif o == f" {c} ":
            chinese.append(cp)
        else:
            mapped[cp] = o
    # Chinese characters: padded with spaces after their own mapping (the compatibility ideographs
    # map to unified ones); deleted characters are removed first, whatever their range.
    in_chinese = set(chinese) | set(cp for cp, o in mapped.items() if len(o) == 3 and o[0] == o[2] == " ")
    mapped = {cp: (o[1] if cp in in_chinese else o) for cp, o in mapped.items()}
    mapped = {cp: o for cp, o in mapped.items() if o != chr(cp)}
    compat = sorted(cp for cp in in_chinese if cp in mapped)

    # Canonical combining classes as the library's NFD sees them (its crate's Unicode version, not
    # Python's): a survivor with class > 7 moves in front of U+1E94A (class 7); one with 0 < class <
    # 226 moves behind U+1D16D (class 226). The values are Python's, checked on every pair below.
    lo, hi = "\U0001E94A", "\U0001D16D"
    assert norm.normalize_str(hi + lo) == lo + hi
    ccc = {}
    for cp, o in out1.items():
        if len(o) != 1:
            continue
        if norm.normalize_str(o + lo) == lo + o or norm.normalize_str(hi + o) == o + hi or o in (lo, hi):
            k = unicodedata.combining(o)
            assert k > 0, f"U+{ord(o):04X}: the library reorders it, Python's table says class 0"
            ccc[ord(o)] = k
    marks = sorted(ccc)
    for a in marks:   # the C rule (stable sort of each run by class) predicts every pair
        for b in marks:
            want = norm.normalize_str(chr(a) + chr(b))
            pred = chr(b) + chr(a) if ccc[a] > ccc[b] else chr(a) + chr(b)
            assert want == pred, (hex(a), hex(b))

    punct, white = [], []
    for cp in scalars():
        r = pre.pre_tokenize_str("a" + chr(cp) + "b")
        if len(r) == 3:
            punct.append(cp)
        elif len(r) == 2:
            white.append(cp)
        else:
            assert len(r) == 1, hex(cp)

    return {"deleted": deleted, "space": space, "chinese": in_chinese, "punct": punct, "white": white,
            "ccc": ccc, "mapped": mapped, "compat": compat}


def measure_py_lower():
    """Python's str.lower(), which GroundingDinoProcessor applies to each phrase: the per-character
    mapping, and the two properties of its final-sigma rule (Σ → ς after a cased letter, not before
    one, case-ignorable characters skipped), measured from str.lower itself: with A cased,
    "AΣ"+c lowers to a final ς iff c is case-ignorable or not cased; "A"+c+"Σ" iff c is
    case-ignorable or cased."""
    lower, ignorable, cased = {}, [], []
    for cp in scalars():
        c = chr(cp)
        if cp != 0x3A3 and c.lower() != c:
            lower[cp] = c.lower()
        after = ("A\u03a3" + c).lower()[1] == "\u03c2"
        between = ("A" + c + "\u03a3").lower()[-1] == "\u03c2"
        if after and between:
            ignorable.append(cp)
        elif between:
            cased.append(cp)
    return {"lower": lower, "ignorable": ignorable, "cased": cased}


def c_mapping(name, mapping):
    """A sorted {cp, off, len} table into one UTF-8 string, for map_find."""
    blob, entries = b"", []
    for cp in sorted(mapping):
        b = mapping[cp].encode()
        entries.append((cp, len(blob), len(b)))
        blob += b
    lines = [f"static const WpMapEntry {name}_v[] = {{"]
    for i in range(0, len(entries), 5):
        lines.append("    " + " ".join(f"{{0x{cp:X}, {o}, {n}}}," for cp, o, n in entries[i:i + 5]))
    lines += ["};", f"static const char {name}_text[] ="]
    for i in range(0, len(blob), 24):
        lines.append("    " + c_string(blob[i:i + 24]))
    return lines + [";", f"const WpMap {name} = {{{name}_v, {len(entries)}, {name}_text}};"]


def unicode_tables(path):
    b, p = measure_bert(), measure_py_lower()
    lines = [f"// wordpiece_unicode.c — GENERATED by tools/golden_gdino_text.py from tokenizers {tokenizers.__version__} and "
             f"Python {sys.version.split()[0]} (Unicode {unicodedata.unidata_version}); do not edit.",
             "// BertNormalizer(clean_text, handle_chinese_chars, lowercase; strip_accents follows lowercase) applied",
             "// to one code point at a time, BertPreTokenizer's split classes (measured from the tokenizers library",
             "// itself; src/text/wordpiece.h says how wordpiece.c combines them), and Python's str.lower(), which",
             "// HF processors apply to phrases (measured from str.lower, final-sigma rule included).",
             '#include "text/wordpiece_internal.h"', "",
             "// control and format characters clean_text removes (and accents strip_accents removes)"]
    lines += c_ranges("wp_deleted", ranges(b["deleted"]))
    lines += ["", "// whitespace clean_text turns into ' '"] + c_ranges("wp_to_space", ranges(b["space"]))
    lines += ["", "// Chinese characters handle_chinese_chars pads with spaces (tokenizers' is_chinese_char)"]
    lines += c_ranges("wp_chinese", ranges(b["chinese"]))
    lines += ["", "// punctuation BertPreTokenizer isolates"] + c_ranges("wp_punct", ranges(b["punct"]))
    lines += ["", "// whitespace BertPreTokenizer splits on"] + c_ranges("wp_white", ranges(b["white"]))
    marks = sorted(b["ccc"])
    lines += ["", "// canonical combining classes of the marks that survive (NFD sorts runs of them): {cp, class}",
              "static const uint32_t wp_combining_v[][2] = {"]
    for i in range(0, len(marks), 6):
        lines.append("    " + " ".join(f"{{0x{m:X}, {b['ccc'][m]}}}," for m in marks[i:i + 6]))
    lines += ["};", f"const WpRanges wp_combining = {{wp_combining_v, {len(marks)}}};", "",
              "// the rest of BertNormalizer: lower-casing and decompositions (accents removed)"]
    lines += c_mapping("wp_mapping", b["mapped"])
    lines += ["", "// Python's str.lower(): Case_Ignorable, Cased (and not case-ignorable), the mappings but U+03A3"]
    lines += c_ranges("py_ignorable", ranges(p["ignorable"])) + c_ranges("py_cased", ranges(p["cased"]))
    lines += c_mapping("py_lower", p["lower"])
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}: {len(b['deleted'])} deleted, {len(b['space'])} to space, {len(b['chinese'])} Chinese "
          f"({len(b['compat'])} remapped), {len(b['mapped'])} mapped, {len(marks)} marks, {len(b['punct'])} punctuation, "
          f"{len(b['white'])} whitespace; str.lower: {len(p['lower'])} mappings, {len(p['ignorable'])} case-ignorable, "
          f"{len(p['cased'])} cased")


# ---------------------------------------------------------------------------------------------
# the corpus

HOSTILE = [
    "", " ", "a", "A", "a cat.", "A Cat. A Remote Control.", "a cat . a dog ?", "the cat's toy isn't here!",
    "  leading and trailing   spaces  ", "tabs\tand\nnewlines\r\nand\x0bvertical\x0cform feeds",
    "Crème Brûlée à la carte, naïve café, Ångström, Øresund, ŒUVRE, ß, ẞ", "İstanbul ıi ǅ ǈ ǋ Ǳ",
    "ΟΔΟΣ ΣΟΦΟΣ σς ς", "ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３", "ﬁne ﬂour ﬀ ﬃ ℌ ℍ ™ ½ ① ⅷ Ⅻ",
    "猫が椅子の上に座っています。", "图片中有一只猫坐在红色的椅子上。", "한국어 텍스트 각 힣", "𠀀𠀁 𪜀 丽 豈 更",
    "ไทย ภาษา", "العربية مرحبا", "עברית", "हिन्दी भाषा", "emoji 🐱‍👤 👍🏽 🇫🇷 a🐶b",
    "zero\u200bwidth\u200cjoin\u200d\ufeffbom", "ctrl\x00nul\x01\x1f\x7f\x85\x9f end", "rep\ufffdlacement",
    "soft\u00adhyphen", "dir\u202amarks\u202e\u2066", "private \ue000\U000f0000\U0010fffd use", "unassigned \u0378 \U000e0080",
    "combining a\u0301 e\u0300\u0323 o\u0302\u0303 n\u0303", "marks \u0c3c\U00016ff0 \U0001d165\U0001d16d\U0001d165",
    "x\u1b44\u08d4y \u302e\u302f\u302e", "[CLS] a cat [SEP]", "[cls] lower [sep]", "a[MASK]b [PAD][UNK]",
    "[CLS][CLS]", "[ CLS ]", "[CLS", "##suffix ## #", "unaffable unbelievable hyphenated-word e-mail",
    "snake_case CamelCase ALLCAPS mIxEd", "numbers 3.14159 1,000,000 2024-12-08 12:30", "$100 €5 £3 ¥7 50%",
    "quotes \"double\" 'single' «guillemets» „low“ ‘curly’", "brackets (round) [square] {curly} <angle>",
    "punct ¡¿‽⁂※ … — – ‐ · • ′ ″ ‰ § ¶ † ‡", "math + − × ÷ = ≠ ≤ ≥ ∞ ∑ ∫ √ ∂", "^`~|\\/@#&*_",
    "a" * 100, "a" * 101, "b" * 99 + "é", "é" * 101, "x" * 100 + " y", "supercalifragilisticexpialidocious" * 3,
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "word" + "\u0301" * 120, "\u0301" * 5, "qqqqzzzzxxxx jjjjkkkk", "ꙮ ꭐ ꮰ 𝐀𝐁𝐂 𝔸𝔹ℂ", "Ⓐⓑⓒ ⒜⒝",
    "a person. a bicycle. a car. a motorcycle. an airplane. a bus. a train. a truck. a boat.",
    "the man on the left? the dog!", "Mr. Smith's dog, Rex, barked.", "...", "?!?!", ". . .", " . ",
]


def random_strings(rng, n):
    pool = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,?!'-#[]") +
            list("éèêëàâäôöûüçñÉÀÇÑßøåæœ") + list("猫犬鳥图片中有한국어ไทยअआइ") + ["\u0301", "\u0308", "\u200b", "\t", "\n"] +
            ["[CLS]", "[SEP]", "[MASK]", "##", "İ", "Σ", "ﬁ", "①", "🐱", "\x00", "\ufffd", "\u3000", "\u00a0"])
    out = []
    for _ in range(n):
        k = rng.randint(1, 40)
        parts = []
        for _ in range(k):
            if rng.random() < 0.1:
                cp = rng.randint(0, 0x10FFFF)
                while 0xD800 <= cp <= 0xDFFF:
                    cp = rng.randint(0, 0x10FFFF)
                parts.append(chr(cp))
            else:
                parts.append(rng.choice(pool))
        out.append("".join(parts))
    return out


def wide_strings(rng, n):
    """Code points from the whole Unicode range (and the corners the tables treat specially: Hangul,
    CJK and compatibility ideographs, reordered marks, Σ)."""
    corner = [0x20, 0x41, 0x2E, 0x3A3, 0x301, 0x1D15E, 0x1D165, 0x1D16D, 0x16FF0, 0x302E, 0x1B44, 0x8D4]
    out = []
    for _ in range(n):
        s = []
        for _ in range(rng.randint(1, 30)):
            r = rng.random()
            if r < 0.5:
                cp = rng.randint(0, 0x10FFFF)
            elif r < 0.8:
                cp = rng.randint(0, 0x3000)
            else:
                cp = rng.choice(corner + [0xAC00 + rng.randint(0, 11171), 0x4E00 + rng.randint(0, 100), 0xF900 + rng.randint(0, 300)])
            s.append(chr(cp) if not 0xD800 <= cp <= 0xDFFF else "x")
        out.append("".join(s))
    return out


def long_texts(rng):
    words = ["a", "cat", "remote", "control", "person", "bicycle", "unaffable", "naïve", "猫", ".", ",", "?"]
    return [" ".join(rng.choice(words) for _ in range(n)) for n in (120, 255, 300, 600)]


def tokenizer_case(tok, label, rng):
    texts = HOSTILE + random_strings(rng, 300) + wide_strings(rng, 400) + long_texts(rng)
    encode = []
    for t in texts:
        plain = tok(t, add_special_tokens=False)["input_ids"]
        special = tok(t)["input_ids"]
        trunc = tok(t, truncation=True, max_length=MAX_TEXT_LEN)["input_ids"]
        row = {"text": t, "ids": plain, "ids_special": special}
        if trunc != special:
            row["ids_trunc256"] = trunc
        encode.append(row)
    vocab = tok.vocab_size
    decode = []
    for i in range(120):
        n = rng.randint(0, 12)
        ids = [rng.randint(0, vocab - 1) if rng.random() < 0.7 else rng.choice([0, 100, 101, 102, 103, 1012, 1029, 1010, 1005, 1055, 2025, 1000 + rng.randint(0, 2000)]) for _ in range(n)]
        decode.append({"ids": ids, "text": tok.batch_decode([ids])[0]})
    # the phrases post-processing reads back: runs of real caption tokens
    for t in HOSTILE[:40]:
        ids = tok(t)["input_ids"]
        decode.append({"ids": ids, "text": tok.batch_decode([ids])[0]})
    return {"generator": GENERATOR, "tokenizer": label, "clean_up_tokenization_spaces": tok.clean_up_tokenization_spaces,
            "encode": encode, "decode": decode}


# ---------------------------------------------------------------------------------------------
# captions, masks, position ids, text position embedding

PHRASE_SETS = [
    ["a cat"], ["a cat", "a remote control"], ["A Cat ", "  a DOG"], ["person", "bicycle", "car", "motorcycle"],
    ["the man on the left", "what is this?", "a dog"], ["naïve café", "猫", "한국어"], ["x"],
    ["a very long phrase with many words in it to make a long block", "b"],
    ["ΟΔΟΣ", "ΣΑΣ Σ", "aΣ'", "Σ", "A\u0345Σ\u0301b"], ["İstanbul", "ǅemal", "ẞ STRASSE"], ["\u3000 Ｃat\u00a0", "\x1ctab\t"],
    ["[CLS] Cat", "[MASK]"],
]
RAW_CAPTIONS = ["a cat.", "a cat. a remote control.", "a cat", ". a cat .", "cat?dog.bird", "[CLS] a . [SEP] b",
                "what? why. how", "..", "a . . b"]


def masks_of(ids_rows):
    ids = torch.tensor(ids_rows, dtype=torch.long)
    mask, pos = generate_masks_with_special_tokens_and_transfer_map(ids, torch.tensor(SPECIAL_TOKENS, dtype=torch.long))
    return ["".join("1" if v else "0" for v in row) for row in mask[0].tolist()] if len(ids_rows) == 1 else \
        [["".join("1" if v else "0" for v in row) for row in m] for m in mask.tolist()], pos.tolist()


def caption_cases(tok):
    cases = []
    for phrases in PHRASE_SETS:
        caption = _merge_candidate_labels_text(phrases)
        ids = tok(caption)["input_ids"]
        mask, pos = masks_of([ids])
        cases.append({"phrases": phrases, "caption": caption, "ids": ids, "mask": mask, "position_ids": pos[0]})
    for caption in RAW_CAPTIONS:
        ids = tok(caption)["input_ids"]
        mask, pos = masks_of([ids])
        cases.append({"caption": caption, "ids": ids, "mask": mask, "position_ids": pos[0]})
    batches = []
    for texts in (["a cat. a dog.", "a remote control."], ["x.", "a b c. d e. f.", "one"]):
        enc = tok(texts, padding=True)
        mask, pos = masks_of(enc["input_ids"])
        batches.append({"captions": texts, "ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                        "mask": mask, "position_ids": pos})
    # the text position embedding the encoder layers add (d_model 256, temperature 10000)
    ids = tok(_merge_candidate_labels_text(["a cat", "a remote control", "x"]))["input_ids"]
    _, pos = masks_of([ids])
    feats = torch.zeros(1, len(ids), 256)   # only its dtype matters
    p = torch.tensor(pos, dtype=torch.long)
    # the encoder layer's own method (self only supplies d_model): it casts the ids to the features'
    # dtype before the embedding, so the embedding's final .to(ids dtype) keeps float32
    emb = GroundingDinoEncoderLayer.get_text_position_embeddings(SimpleNamespace(d_model=256), feats, None, p)
    assert emb.dtype == torch.float32
    pe = {"position_ids": pos[0], "d_model": 256, "embedding": [float(f"{v:.9g}") for v in emb[0].reshape(-1).tolist()],
          "dtype": str(emb.dtype)}
    return {"generator": GENERATOR, "special_tokens": SPECIAL_TOKENS, "max_text_len": MAX_TEXT_LEN,
            "cases": cases, "batches": batches, "text_position_embedding": pe}


def dump(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=True, indent=None, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hf", default=os.path.join(ROOT, "..", "shared", "data", "hf"))
    ap.add_argument("--out", default=os.path.join(ROOT, "testdata", "gdino"))
    ap.add_argument("--unicode", default=os.path.join(ROOT, "src", "text", "wordpiece_unicode.c"),
                    help="where to write the character tables ('' to skip)")
    args = ap.parse_args()
    if args.unicode:
        unicode_tables(args.unicode)
    gdir, bdir = os.path.join(args.hf, GDINO), os.path.join(args.hf, BERT)
    if not os.path.isdir(gdir) or not os.path.isdir(bdir):
        print(f"error: {args.hf} lacks {GDINO} or {BERT}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    gtok = transformers.AutoTokenizer.from_pretrained(gdir)
    # the raw tokenizers library on tokenizer.json gives the same ids (what the C reads)
    raw = tokenizers.Tokenizer.from_file(os.path.join(gdir, "tokenizer.json"))
    for t in HOSTILE:
        assert raw.encode(t).ids == gtok(t)["input_ids"], t
    btok = BertTokenizer.from_pretrained(bdir)   # reads vocab.txt (the constructor ignores vocab_file)
    assert btok("[CLS]")["input_ids"] == [101, 101, 102]
    dump(tokenizer_case(gtok, f"{GDINO}/tokenizer.json", random.Random(12)), os.path.join(args.out, "wordpiece_gdino.json"))
    dump(tokenizer_case(btok, f"{BERT}/vocab.txt", random.Random(13)), os.path.join(args.out, "wordpiece_bert_vocab.json"))
    dump(caption_cases(gtok), os.path.join(args.out, "captions.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
