#!/usr/bin/python3
# zoa — generates the image/gzip/IDX test fixtures and their torchvision / PIL / zlib golden values
# SPDX-License-Identifier: MIT
"""Writes (deterministically; rerun by hand, commit the output):

tests/fixtures/images/
    folder/<class>/...        a tiny ImageFolder tree (PNG/BMP, odd names, a sub-directory, a .txt to ignore)
    folder_order.json         torchvision.datasets.ImageFolder's classes and (path, label) order for that tree
    decode/*                  gray/RGB/RGBA/16-bit PNG, BMP, JPEG, broken files; decode.json holds PIL's pixels
    resize_golden.json        torch/torchvision resize, shorter-side sizes, center crops and full preprocessing
tests/fixtures/data/
    *.gz                      gzip members: dynamic, fixed and stored DEFLATE blocks, all header flags, multi-member
    gzip.json                 what each file must decode to
    fashion_mnist_golden.json statistics of Debian's Fashion-MNIST files (only when the package is installed)

Needs Debian's python3-torch, python3-torchvision, python3-pil, python3-numpy. Run: /usr/bin/python3 <this file>
"""
import gzip
import io
import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as TF
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "tests" / "fixtures" / "images"
DATA = ROOT / "tests" / "fixtures" / "data"
FMNIST = Path("/usr/share/datasets/fashion-mnist")


def dump(path, obj, compact=False):
    text = json.dumps(obj, sort_keys=True, separators=(",", ":")) if compact else json.dumps(obj, indent=1, sort_keys=True)
    path.write_text(text + "\n")


def flat(t):
    """HWC float list of a CHW tensor (zoa's image layout)."""
    return [float(v) for v in t.permute(1, 2, 0).reshape(-1).tolist()]


# ---------------------------------------------------------------------------------------------------------------
def gen_folder():
    folder = IMAGES / "folder"
    shutil.rmtree(folder, ignore_errors=True)
    # Class names sort in byte order: "Zebra" < "ant" < "bee". File names test byte order too ("img1.PNG" <
    # "img10.png" < "img2.png") and recursion ("ant/sub/..." after the files of "ant/").
    files = {
        "ant": ["img2.png", "img10.png", "img1.PNG", "sub/deep.png"],
        "bee": ["b.bmp", "a.png"],
        "Zebra": ["only.png"],
    }
    for cls, names in files.items():
        for i, name in enumerate(names):
            p = folder / cls / name
            p.parent.mkdir(parents=True, exist_ok=True)
            # Pixel value encodes (class, file): value = 16 * (class letter code % 16) + i, constant over 3x4 RGB.
            value = 16 * (ord(cls[0]) % 16) + i
            img = Image.new("RGB", (4, 3), (value, 255 - value, 7))
            img.save(p, format="BMP" if name.lower().endswith(".bmp") else "PNG")
    (folder / "ant" / "readme.txt").write_text("not an image\n")
    ds = torchvision.datasets.ImageFolder(str(folder))
    order = [{"path": os.path.relpath(p, folder), "label": lbl,
              "red": int(np.asarray(Image.open(p).convert("RGB"))[0, 0, 0])} for p, lbl in ds.samples]
    dump(IMAGES / "folder_order.json", {"classes": ds.classes, "samples": order})


# ---------------------------------------------------------------------------------------------------------------
def gen_decode():
    d = IMAGES / "decode"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, size=(5, 6, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, size=(4, 3), dtype=np.uint8)
    Image.fromarray(rgb, "RGB").save(d / "rgb.png")
    Image.fromarray(gray, "L").save(d / "gray.png")
    rgba = np.concatenate([rgb, rng.integers(0, 256, size=(5, 6, 1), dtype=np.uint8)], axis=2)
    Image.fromarray(rgba, "RGBA").save(d / "rgba.png")
    Image.fromarray(rgb, "RGB").save(d / "rgb.bmp")
    Image.fromarray(gray, "L").save(d / "gray.bmp")
    g16 = (gray.astype(np.uint16) * 257 + 3).astype(np.uint16)  # high byte = gray
    Image.fromarray(g16, "I;16").save(d / "gray16.png")
    # A smooth 16x16 JPEG (stb_image and libjpeg differ by a few levels at most on smooth content).
    yy, xx = np.mgrid[0:16, 0:16]
    smooth = np.stack([xx * 15, yy * 15, (xx + yy) * 7], axis=2).astype(np.uint8)
    Image.fromarray(smooth, "RGB").save(d / "smooth.jpg", quality=95, subsampling=0)
    Image.fromarray(smooth, "RGB").save(d / "progressive.jpg", quality=90, progressive=True)
    # A JPEG whose first Huffman table declares 320 codes (> 256): stb_image 2.27 would write past its tables.
    jpg = bytearray((d / "smooth.jpg").read_bytes())
    dht = jpg.index(b"\xff\xc4")
    jpg[dht + 5:dht + 21] = bytes([20] * 16)
    (d / "bad_dht.jpg").write_bytes(bytes(jpg))
    png = (d / "rgb.png").read_bytes()
    (d / "truncated.png").write_bytes(png[: len(png) // 2])
    (d / "not_an_image.png").write_bytes(b"this is text, not a PNG\n")
    (d / "empty.png").write_bytes(b"")
    (d / "uppercase.JPG").write_bytes((d / "smooth.jpg").read_bytes())
    expect = {}
    for name in ["rgb.png", "gray.png", "rgba.png", "rgb.bmp", "gray.bmp", "gray16.png", "smooth.jpg",
                 "progressive.jpg"]:
        im = Image.open(d / name)
        if name == "gray16.png":
            arr = (np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8)[:, :, None]
        else:
            arr = np.asarray(im.convert("RGB" if im.mode in ("RGB", "RGBA") else "L"))
            if arr.ndim == 2:
                arr = arr[:, :, None]
        expect[name] = {"height": arr.shape[0], "width": arr.shape[1], "channels": arr.shape[2],
                        "pixels": [int(v) for v in arr.reshape(-1)]}
    # torchvision's rgb_to_grayscale of rgb.png, the luma zoa uses for 3 -> 1 channels.
    t = torch.from_numpy(rgb).permute(2, 0, 1).float()
    expect["rgb.png:gray"] = {"pixels": flat(TF.rgb_to_grayscale(t))}
    dump(d / "decode.json", expect, compact=True)


# ---------------------------------------------------------------------------------------------------------------
def gen_resize():
    rng = np.random.default_rng(2025)
    cases = []

    def add_resize(h, w, c, oh, ow, mode):
        x = torch.from_numpy(rng.integers(0, 256, size=(c, h, w)).astype(np.float32))
        y = TF.resize(x, [oh, ow], interpolation=getattr(TF.InterpolationMode, mode.upper()), antialias=False)
        cases.append({"kind": "resize", "mode": mode, "input": flat(x), "shape": [h, w, c], "out": [oh, ow],
                      "expected": flat(y)})

    for mode in ["nearest", "bilinear", "bicubic"]:
        add_resize(7, 5, 3, 11, 9, mode)   # upscale
        add_resize(7, 5, 3, 3, 4, mode)    # downscale
        add_resize(6, 8, 1, 6, 13, mode)   # one axis only, gray
        add_resize(9, 9, 3, 4, 4, mode)    # > 2x down
    sizes = []
    for (h, w, s) in [(480, 640, 256), (640, 480, 256), (375, 500, 256), (500, 333, 256), (7, 5, 3), (5, 5, 8),
                      (1000, 3, 2), (224, 224, 256)]:
        oh, ow = torchvision.transforms.functional._compute_resized_output_size((h, w), [s])
        sizes.append({"in": [h, w], "size": s, "out": [oh, ow]})
    crops = []
    for (h, w, ch, cw) in [(10, 7, 5, 4), (12, 12, 7, 9), (9, 13, 4, 4), (3, 4, 6, 5), (4, 9, 7, 4), (5, 5, 5, 5)]:
        x = torch.from_numpy(rng.integers(0, 256, size=(3, h, w)).astype(np.float32))
        crops.append({"input": flat(x), "shape": [h, w, 3], "crop": [ch, cw],
                      "expected": flat(TF.center_crop(x, [ch, cw]))})
    pipelines = []
    for (h, w, c, resize, crop, mode, mean, std, channels) in [
        (12, 9, 3, 8, 6, "bicubic", [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 3),
        (10, 15, 3, 7, 7, "bilinear", [0.5], [0.5], 3),
        (11, 8, 1, 6, 5, "bilinear", [0.2], [0.3], 3),   # gray replicated to RGB
        (6, 6, 3, 9, 6, "bicubic", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], 3),  # already 6x6 = crop: no resampling
    ]:
        x = torch.from_numpy(rng.integers(0, 256, size=(c, h, w)).astype(np.float32))
        y = x
        if c == 1 and channels == 3:
            y = y.expand(3, h, w).clone()
        if not (h == crop and w == crop):
            y = TF.resize(y, [resize], interpolation=getattr(TF.InterpolationMode, mode.upper()), antialias=False)
            if mode == "bicubic":
                y = y.clamp(0, 255)
            y = TF.center_crop(y, [crop, crop])
        y = TF.normalize(y / 255.0, mean * (channels if len(mean) == 1 else 1),
                         std * (channels if len(std) == 1 else 1))
        pipelines.append({"input": flat(x), "shape": [h, w, c], "resize": resize, "crop": crop, "mode": mode,
                          "mean": mean, "std": std, "channels": channels,
                          "expected_chw": [float(v) for v in y.reshape(-1).tolist()]})
    dump(IMAGES / "resize_golden.json",
         {"generator": "tools/reference/gen_image_fixtures.py", "torch": torch.__version__,
          "torchvision": torchvision.__version__, "resize": cases, "shorter_side": sizes, "center_crop": crops,
          "preprocess": pipelines}, compact=True)


# ---------------------------------------------------------------------------------------------------------------
def lcg_text(n):
    """Deterministic text (the C++ test regenerates it): x = (1103515245 x + 12345) mod 2^31, word = W[(x >> 16) % 16]."""
    words = ["zoa ", "adapt ", "quantized ", "vision ", "transformer ", "norm ", "layer ", "spsa ",
             "bank ", "domain ", "shift ", "entropy ", "batch ", "stream ", "fashion ", "mnist\n"]
    out, x = [], 12345
    size = 0
    while size < n:
        x = (1103515245 * x + 12345) % (1 << 31)
        w = words[(x >> 16) % 16]
        out.append(w)
        size += len(w)
    return "".join(out)[:n].encode()


def gz(data, level, mtime=0):
    return gzip.compress(data, compresslevel=level, mtime=mtime)


def first_btype(member):
    """BTYPE of the first DEFLATE block of a gzip member without optional header fields."""
    return (member[10] >> 1) & 3


def gen_gzip():
    DATA.mkdir(parents=True, exist_ok=True)
    text = lcg_text(50000)
    files = {}
    dyn = gz(text, 9)
    assert first_btype(dyn) == 2
    files["text_dynamic.gz"] = (dyn, {"lcg_text": len(text)})
    short = b"hello hello hello zoa"
    fixed = gz(short, 9)
    assert first_btype(fixed) == 1
    files["short_fixed.gz"] = (fixed, {"ascii": short.decode()})
    rnd = np.random.default_rng(5).integers(0, 256, size=24000, dtype=np.uint8).tobytes()
    stored = gz(rnd, 0)
    assert first_btype(stored) == 0
    files["random_stored.gz"] = (stored, {"numpy_seed5_bytes": len(rnd), "crc32": zlib.crc32(rnd)})
    # All header flags: FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT, with a correct header CRC-16.
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = comp.compress(short) + comp.flush()
    header = bytes([0x1F, 0x8B, 8, 0x1F]) + struct.pack("<I", 0) + bytes([2, 3])
    header += struct.pack("<H", 5) + b"xtra!" + b"name.txt\0" + b"a comment\0"
    header += struct.pack("<H", zlib.crc32(header) & 0xFFFF)
    flags = header + body + struct.pack("<II", zlib.crc32(short), len(short))
    assert gzip.decompress(flags) == short
    files["all_flags.gz"] = (flags, {"ascii": short.decode()})
    multi = gz(b"first member\n", 6) + gz(b"", 6) + gz(b"second member\n", 1)
    files["multi_member.gz"] = (multi, {"ascii": "first member\nsecond member\n"})
    expect = {}
    for name, (blob, what) in files.items():
        (DATA / name).write_bytes(blob)
        expect[name] = what
    dump(DATA / "gzip.json", expect)


# ---------------------------------------------------------------------------------------------------------------
def gen_fmnist():
    if not (FMNIST / "t10k-images-idx3-ubyte.gz").exists():
        print("Fashion-MNIST not installed; fashion_mnist_golden.json not regenerated")
        return
    out = {}
    for split, prefix in [("test", "t10k"), ("train", "train")]:
        img = np.frombuffer(gzip.open(FMNIST / f"{prefix}-images-idx3-ubyte.gz").read(), dtype=np.uint8, offset=16)
        lbl = np.frombuffer(gzip.open(FMNIST / f"{prefix}-labels-idx1-ubyte.gz").read(), dtype=np.uint8, offset=8)
        img = img.reshape(-1, 28, 28)
        n = img.shape[0]
        out[split] = {
            "count": int(n),
            "first_labels": [int(v) for v in lbl[:20]],
            "last_label": int(lbl[-1]),
            "label_histogram": [int((lbl == c).sum()) for c in range(10)],
            "pixel_sum": {str(i): int(img[i].astype(np.int64).sum()) for i in [0, 1, n // 2, n - 1]},
            "pixels": {f"{i},{y},{x}": int(img[i, y, x]) for (i, y, x) in [(0, 14, 14), (0, 0, 0), (n - 1, 20, 7)]},
            "total_pixel_sum": int(img.astype(np.int64).sum()),
        }
    out["classes"] = torchvision.datasets.FashionMNIST.classes
    dump(DATA / "fashion_mnist_golden.json", out)


if __name__ == "__main__":
    IMAGES.mkdir(parents=True, exist_ok=True)
    gen_folder()
    gen_decode()
    gen_resize()
    gen_gzip()
    gen_fmnist()
    print("fixtures written to", IMAGES, "and", DATA)
