#!/usr/bin/env python3
"""make_bad_safetensors.py — writes the safetensors test files (plain python3, no dependencies).

testdata/bad/<what_is_wrong>.safetensors: malformed files, each broken in exactly one way;
  the C reader must refuse every one with a one-line reason (src/base/safetensors_test.c
  iterates the folder). The reference (Rust) reader refuses them too, except where noted
  (duplicate zero-size names, NUL in a name, > 8 dims: lpoi is stricter on purpose).
testdata/good/: small valid files whose exact contents safetensors_test.c checks, and
  testdata/good/sharded/: a 2-shard model folder with model.safetensors.index.json.

Run from the repository root:  python3 tools/make_bad_safetensors.py
The output is deterministic; rerunning it rewrites the same bytes.
"""
import json
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BAD = os.path.join(ROOT, "testdata", "bad")
GOOD = os.path.join(ROOT, "testdata", "good")


def st_bytes(header, data=b"", n=None):
    """8-byte little-endian header length (n overrides it), the header bytes, the data buffer."""
    if isinstance(header, str):
        header = header.encode("utf-8")
    return struct.pack("<Q", len(header) if n is None else n) + header + data


def hdr(obj):
    return json.dumps(obj, separators=(",", ":"))


def one_tensor(entry, data=b"\0" * 8):
    return st_bytes(hdr({"a": entry}), data)


F32_2 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
VALID = one_tensor(F32_2)


def bad_files():
    """name -> bytes. Every name says what is wrong with the file."""
    b = {}
    b["empty"] = b""
    b["short_4_bytes"] = b"\x10\0\0\0"
    b["short_7_bytes"] = b"\x02\0\0\0\0\0\0"
    b["header_len_huge"] = st_bytes("{}", n=0xFFFFFFFFFFFFFFFF)
    b["header_len_over_100mb_limit"] = st_bytes("{}", n=100_000_001)
    b["header_len_past_end"] = st_bytes("{}", n=10)
    b["header_len_zero"] = st_bytes(b"", b"")
    b["header_only_open_brace"] = st_bytes("{")
    b["header_not_object"] = st_bytes("[]")
    b["header_is_string"] = st_bytes('"a"')
    b["header_bad_utf8"] = st_bytes(b'{"a\xff":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["header_overlong_utf8"] = st_bytes(b'{"a\xc0\xaf":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["header_surrogate_utf8"] = st_bytes(b'{"a\xed\xa0\x80":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["header_above_u10ffff_utf8"] = st_bytes(b'{"a\xf4\x90\x80\x80":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["header_truncated_utf8"] = st_bytes(b'{"a\xe2\x82":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["header_utf8_bom"] = st_bytes(b"\xef\xbb\xbf" + hdr({"a": F32_2}).encode(), b"\0" * 8)
    b["header_nul_padding"] = st_bytes(hdr({"a": F32_2}).encode() + b"\0\0\0", b"\0" * 8)
    b["json_lone_high_surrogate_escape"] = st_bytes('{"a\\ud800":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["json_lone_low_surrogate_escape"] = st_bytes('{"a\\udc00":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["json_high_surrogate_then_letter"] = st_bytes('{"a\\ud800\\u0041":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["json_trailing_comma"] = st_bytes('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},}', b"\0" * 8)
    b["json_single_quotes"] = st_bytes("{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}", b"\0" * 8)
    b["json_garbage_after_object"] = st_bytes(hdr({"a": F32_2}) + " x", b"\0" * 8)
    b["json_two_objects"] = st_bytes(hdr({"a": F32_2}) + "{}", b"\0" * 8)
    b["json_comment"] = st_bytes('{/* c */"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\0" * 8)
    b["json_raw_newline_in_name"] = st_bytes(b'{"a\nb":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["json_invalid_escape"] = st_bytes('{"a\\x":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["json_unterminated_string"] = st_bytes('{"a')
    b["json_leading_zero"] = st_bytes('{"a":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}}', b"\0" * 8)
    b["json_nan_literal"] = st_bytes('{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,8]}}', b"\0" * 8)
    b["json_missing_colon"] = st_bytes('{"a" {"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\0" * 8)
    b["deep_nesting"] = st_bytes('{"__metadata__":' + "[" * 300 + "]" * 300 + "}")
    b["metadata_nested_object"] = st_bytes('{"__metadata__":{"a":{"b":"c"}}}')
    b["metadata_number_value"] = st_bytes('{"__metadata__":{"format":"pt","n":1}}')
    b["metadata_null_value"] = st_bytes('{"__metadata__":{"a":null}}')
    b["metadata_not_object"] = st_bytes('{"__metadata__":"pt"}')
    b["metadata_array"] = st_bytes('{"__metadata__":["format","pt"]}')
    b["metadata_duplicate_key"] = st_bytes('{"__metadata__":{"format":"pt","format":"pt"}}')
    # Two identical zero-size entries: the reference keeps the last one and accepts the file.
    b["duplicate_tensor_name"] = st_bytes(
        '{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["duplicate_tensor_name_nonzero"] = st_bytes(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}',
        b"\0" * 16)
    b["tensor_name_nul"] = st_bytes('{"a\\u0000b":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    b["tensor_entry_not_object"] = st_bytes('{"a":[0,8]}', b"\0" * 8)
    b["offsets_overlap"] = st_bytes(hdr({"a": F32_2, "b": F32_2}), b"\0" * 8)
    b["offsets_partial_overlap"] = st_bytes(
        hdr({"a": F32_2, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}), b"\0" * 12)
    b["offsets_gap"] = st_bytes(
        hdr({"a": F32_2, "b": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}}), b"\0" * 20)
    b["offsets_not_from_zero"] = one_tensor({"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}, b"\0" * 12)
    b["offsets_past_end"] = one_tensor(F32_2, b"\0" * 4)
    b["offsets_end_before_begin"] = one_tensor({"dtype": "F32", "shape": [2], "data_offsets": [8, 0]})
    b["offsets_huge"] = one_tensor({"dtype": "U8", "shape": [8], "data_offsets": [18446744073709551607, 18446744073709551615]})
    b["empty_tensor_inside_another"] = st_bytes(
        hdr({"a": F32_2, "z": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}}), b"\0" * 8)
    b["data_offsets_one_entry"] = one_tensor({"dtype": "F32", "shape": [2], "data_offsets": [8]})
    b["data_offsets_three_entries"] = one_tensor({"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]})
    b["data_offsets_empty"] = one_tensor({"dtype": "F32", "shape": [2], "data_offsets": []})
    b["data_offsets_not_array"] = one_tensor({"dtype": "F32", "shape": [2], "data_offsets": "0,8"})
    b["data_offsets_negative"] = st_bytes('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}}', b"\0" * 8)
    b["data_offsets_negative_zero"] = st_bytes('{"a":{"dtype":"F32","shape":[0],"data_offsets":[-0,0]}}')
    b["data_offsets_fractional"] = st_bytes('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}', b"\0" * 8)
    b["data_offsets_exponent"] = st_bytes('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}}', b"\0" * 8)
    b["data_offsets_above_u64"] = st_bytes('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}', b"\0" * 8)
    b["data_offsets_string"] = st_bytes('{"a":{"dtype":"F32","shape":[2],"data_offsets":["0","8"]}}', b"\0" * 8)
    b["shape_overflow_u64"] = one_tensor({"dtype": "I32", "shape": [2, 18446744073709551614], "data_offsets": [0, 16]},
                                         b"\0" * 16)
    b["shape_overflow_i64"] = one_tensor({"dtype": "I32", "shape": [2, 9223372036854775807], "data_offsets": [0, 16]},
                                         b"\0" * 16)
    # numel fits in 64 bits, numel * 32 bits does not; a wrapped product would claim 0 bytes
    b["shape_overflow_bits"] = one_tensor({"dtype": "F32", "shape": [576460752303423488], "data_offsets": [0, 0]}, b"")
    b["shape_overflow_then_zero"] = one_tensor({"dtype": "F32", "shape": [4294967296, 4294967296, 0],
                                                "data_offsets": [0, 0]}, b"")
    b["shape_negative"] = st_bytes('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', b"\0" * 8)
    b["shape_fractional"] = st_bytes('{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}', b"\0" * 8)
    b["shape_exponent"] = st_bytes('{"a":{"dtype":"F32","shape":[2E0],"data_offsets":[0,8]}}', b"\0" * 8)
    b["shape_string_entry"] = one_tensor({"dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]})
    b["shape_not_array"] = one_tensor({"dtype": "F32", "shape": 2, "data_offsets": [0, 8]})
    b["shape_nested_array"] = one_tensor({"dtype": "F32", "shape": [[2]], "data_offsets": [0, 8]})
    b["shape_too_many_dims"] = one_tensor({"dtype": "F32", "shape": [1] * 8 + [2], "data_offsets": [0, 8]})
    b["size_mismatch"] = one_tensor({"dtype": "I32", "shape": [2, 2], "data_offsets": [0, 4]}, b"\0" * 4)
    b["size_mismatch_zero_dim"] = one_tensor({"dtype": "F32", "shape": [2, 0], "data_offsets": [0, 8]})
    b["subbyte_not_whole_bytes"] = one_tensor({"dtype": "F4", "shape": [3], "data_offsets": [0, 1]}, b"\0")
    b["unknown_dtype"] = one_tensor({"dtype": "F33", "shape": [2], "data_offsets": [0, 8]})
    b["dtype_lowercase"] = one_tensor({"dtype": "f32", "shape": [2], "data_offsets": [0, 8]})
    b["dtype_not_string"] = one_tensor({"dtype": 32, "shape": [2], "data_offsets": [0, 8]})
    b["dtype_empty"] = one_tensor({"dtype": "", "shape": [2], "data_offsets": [0, 8]})
    b["missing_dtype"] = one_tensor({"shape": [2], "data_offsets": [0, 8]})
    b["missing_shape"] = one_tensor({"dtype": "F32", "data_offsets": [0, 8]})
    b["missing_data_offsets"] = one_tensor({"dtype": "F32", "shape": [2]})
    b["trailing_bytes"] = VALID + b"\0"
    b["trailing_bytes_polyglot"] = VALID + b"PK\x05\x06" + b"\0" * 18   # a zip end record after the data
    b["missing_2_bytes_at_end"] = VALID[:-2]
    b["no_tensors_with_data"] = st_bytes("{}", b"\0" * 8)
    return b


def f16(x):
    return struct.pack("<e", x)


def bf16(x):
    return struct.pack("<f", x)[2:]   # exact for values with <= 8 significant bits


def good_files():
    g = {}
    # Header not padded (length 7 mod 8, so the F32 data starts at an odd address) and
    # entries listed out of offset order; metadata with non-ASCII text.
    header = ('{"__metadata__":{"format":"pt","note":"caf\\u00e9 \\u2603 \\ud83d\\ude00"},'
              '"b":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]},'
              '"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},'
              '"c":{"dtype":"F16","shape":[1,2],"data_offsets":[16,20]}}')
    while (len(header.encode()) + 8) % 8 != 7:
        header = header[:-1] + " }"
    data = struct.pack("<3f", 1.5, -2.25, 1e-3) + bf16(3.0) + bf16(-0.5) + f16(0.25) + f16(-65504.0)
    g["unaligned"] = st_bytes(header, data)
    g["scalar"] = st_bytes(hdr({"s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}), struct.pack("<f", 3.5))
    g["zero_size"] = st_bytes(hdr({
        "empty_a": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
        "empty_b": {"dtype": "BF16", "shape": [2, 0], "data_offsets": [0, 0]},
        "x": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]},
        "empty_end": {"dtype": "U8", "shape": [0], "data_offsets": [8, 8]},
    }), struct.pack("<q", -7))
    # Every dtype the format names. Usable ones hold values the test converts back.
    tensors, data = {}, b""

    def add(name, dtype, shape, raw):
        nonlocal data
        tensors[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    add("bool", "BOOL", [3], bytes([1, 0, 1]))
    add("u8", "U8", [2], bytes([0, 255]))
    add("i8", "I8", [2], struct.pack("<2b", -128, 127))
    add("i16", "I16", [2], struct.pack("<2h", -2, 300))
    add("u16", "U16", [1], struct.pack("<H", 65535))
    add("f16", "F16", [2], f16(1.0) + f16(-2.0))
    add("bf16", "BF16", [2], bf16(1.0) + bf16(-2.0))
    add("i32", "I32", [2], struct.pack("<2i", -100000, 7))
    add("u32", "U32", [1], struct.pack("<I", 4000000000))
    add("f32", "F32", [2], struct.pack("<2f", 0.5, -8.0))
    add("i64", "I64", [1], struct.pack("<q", -(2 ** 40)))
    add("u64", "U64", [1], struct.pack("<Q", 2 ** 63))
    add("f64", "F64", [1], struct.pack("<d", 0.125))
    add("c64", "C64", [1], struct.pack("<2f", 1.0, 2.0))
    for name in ["F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ"]:
        add(name.lower(), name, [2], bytes([0x3c, 0x40]))
    add("f4", "F4", [2], bytes([0x21]))
    add("f6_e2m3", "F6_E2M3", [4], bytes([1, 2, 3]))
    add("f6_e3m2", "F6_E3M2", [4], bytes([4, 5, 6]))
    g["all_dtypes"] = st_bytes(hdr(tensors), data)
    # JSON whitespace on both ends of the header (the reference accepts it; serde skips it).
    g["whitespace_padded"] = st_bytes("\t\n {" + '"w": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}' + "} \r\n\t ",
                                      bytes([7, 9]))
    # Escaped names, and an unknown field inside an entry (ignored, like the reference).
    g["escaped_names"] = st_bytes('{"caf\\u00e9":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                  '"q\\"uote\\\\":{"dtype":"U8","shape":[1],"data_offsets":[1,2],"extra":[1,{"x":null}]},'
                                  '"\\ud83d\\ude00":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}', bytes([1, 2, 3]))
    g["empty_header_object"] = st_bytes("{}")
    return g


def sharded_files():
    """Two shards: shard 1 holds a and b, shard 2 holds c (index lists them unsorted)."""
    s1 = st_bytes(hdr({"__metadata__": {"format": "pt"},
                       "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                       "b": {"dtype": "F16", "shape": [1], "data_offsets": [8, 10]}}),
                  struct.pack("<2f", 1.0, 2.0) + f16(3.0))
    s2 = st_bytes(hdr({"c": {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]}}), struct.pack("<2i", 4, 5))
    index = {"metadata": {"total_size": 18},
             "weight_map": {"c": "model-00002-of-00002.safetensors",
                            "a": "model-00001-of-00002.safetensors",
                            "b": "model-00001-of-00002.safetensors"}}
    return {"model-00001-of-00002.safetensors": s1, "model-00002-of-00002.safetensors": s2,
            "model.safetensors.index.json": (json.dumps(index, indent=2) + "\n").encode()}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    bad, good = bad_files(), good_files()
    for name, data in sorted(bad.items()):
        write(os.path.join(BAD, name + ".safetensors"), data)
    for name, data in sorted(good.items()):
        write(os.path.join(GOOD, name + ".safetensors"), data)
    for name, data in sorted(sharded_files().items()):
        write(os.path.join(GOOD, "sharded", name), data)
    print(f"wrote {len(bad)} files to testdata/bad, {len(good)} files + sharded/ to testdata/good", file=sys.stderr)


if __name__ == "__main__":
    main()
