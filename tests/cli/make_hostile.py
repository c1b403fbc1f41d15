#!/usr/bin/env python3
# zoa — writes the hostile input files of tests/cli/hostile.cmake into a scratch directory (standard library only)
# usage: make_hostile.py <fixtures dir> <output dir>
import json
import os
import struct
import sys

fixtures, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def image(header, data=b""):
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


one = image({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, struct.pack("<2f", 1.0, 2.0))
write("truncated.safetensors", one[:-4])
write("overlap.safetensors", image({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)))
write("aliased.safetensors", image({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)))
write("huge_header.safetensors", struct.pack("<Q", 1 << 62) + b"{}")
write("wrong_dtype_size.safetensors", image({"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)))

# the tiny ViT fixture with one NaN in blocks.1.attn.qkv.weight (element 7)
with open(os.path.join(fixtures, "models", "vit_tiny_timm.safetensors"), "rb") as f:
    vit = bytearray(f.read())
n = struct.unpack("<Q", vit[:8])[0]
entry = json.loads(vit[8:8 + n])["blocks.1.attn.qkv.weight"]
assert entry["dtype"] == "F32"
pos = 8 + n + entry["data_offsets"][0] + 4 * 7
vit[pos:pos + 4] = struct.pack("<f", float("nan"))
write("vit_nan.safetensors", bytes(vit))

write("empty.png", b"")
write("broken.png", b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
write("text.jpg", b"this is not a JPEG\n")
os.makedirs(os.path.join(out, "empty_dir"), exist_ok=True)
os.makedirs(os.path.join(out, "broken_folder", "cat"), exist_ok=True)
write(os.path.join("broken_folder", "cat", "0.png"), b"\x89PNG\r\n\x1a\nnot really")
