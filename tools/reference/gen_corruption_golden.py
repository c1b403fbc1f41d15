#!/usr/bin/python3
# zoa — generates golden values for the corruption tests (tests/corruptions/golden_corruptions.inc)
# SPDX-License-Identifier: MIT
"""Writes tests/corruptions/golden_corruptions.inc (deterministic; rerun by hand and commit the output):

* brightness / contrast / saturate on a 2×2 RGB image for both severity tables, computed with the upstream
  formulas of hendrycks/robustness (make_cifar_c.py, imagenet_c/corruptions.py) and a numpy transcription of
  skimage.color.rgb2hsv / hsv2rgb (same array operations, same override order of the hue cases);
* ImageMagick MotionBlurImage kernels (MagickCore effect.c: GetOptimalKernelWidth1D, GetMotionBlurKernel and the
  offset table) for a few (radius, sigma, angle), and one motion-blurred 4×5 image with edge clamping;
* pixelate (PIL Image.resize with Image.BOX, down then up) computed by the real Pillow on a 28×28 gray ('L') image;
  Pillow rounds each pass to uint8, so the C++ float result must agree within 1.

Needs Debian's python3-numpy and python3-pil. Run: /usr/bin/python3 tools/reference/gen_corruption_golden.py
"""
import math
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "corruptions" / "golden_corruptions.inc"


def rgb2hsv(arr):
    """skimage.color.rgb2hsv for float input in [0, 1] (H×W×3)."""
    out = np.empty_like(arr)
    out_v = arr.max(-1)
    delta = arr.ptp(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out_s = delta / out_v
        out_s[delta == 0.0] = 0.0
        idx = arr[..., 0] == out_v
        out[idx, 0] = (arr[idx, 1] - arr[idx, 2]) / delta[idx]
        idx = arr[..., 1] == out_v
        out[idx, 0] = 2.0 + (arr[idx, 2] - arr[idx, 0]) / delta[idx]
        idx = arr[..., 2] == out_v
        out[idx, 0] = 4.0 + (arr[idx, 0] - arr[idx, 1]) / delta[idx]
        out_h = (out[..., 0] / 6.0) % 1.0
        out_h[delta == 0.0] = 0.0
    out[..., 0] = out_h
    out[..., 1] = out_s
    out[..., 2] = out_v
    out[np.isnan(out)] = 0
    return out


def hsv2rgb(hsv):
    """skimage.color.hsv2rgb."""
    hi = np.floor(hsv[..., 0] * 6)
    f = hsv[..., 0] * 6 - hi
    p = hsv[..., 2] * (1 - hsv[..., 1])
    q = hsv[..., 2] * (1 - f * hsv[..., 1])
    t = hsv[..., 2] * (1 - (1 - f) * hsv[..., 1])
    v = hsv[..., 2]
    hi = np.stack([hi, hi, hi], axis=-1).astype(np.uint8) % 6
    return np.choose(hi, np.stack([np.stack((v, t, p), axis=-1), np.stack((q, v, p), axis=-1),
                                   np.stack((p, v, t), axis=-1), np.stack((p, q, v), axis=-1),
                                   np.stack((t, p, v), axis=-1), np.stack((v, p, q), axis=-1)]))


TABLES = {
    "cifar": {
        "brightness": [.05, .1, .15, .2, .3],
        "contrast": [.75, .5, .4, .3, .15],
        "saturate": [(.3, 0), (.1, 0), (1.5, 0), (2, .1), (2.5, .2)],
        "pixelate": [.95, .9, .85, .75, .65],
    },
    "imagenet": {
        "brightness": [.1, .2, .3, .4, .5],
        "contrast": [.4, .3, .2, .1, .05],
        "saturate": [(.3, 0), (.1, 0), (2, 0), (5, .1), (20, .2)],
    },
}


def brightness(x, c):
    x = rgb2hsv(np.array(x) / 255.)
    x[:, :, 2] = np.clip(x[:, :, 2] + c, 0, 1)
    return np.clip(hsv2rgb(x), 0, 1) * 255


def contrast(x, c):
    x = np.array(x) / 255.
    means = np.mean(x, axis=(0, 1), keepdims=True)
    return np.clip((x - means) * c + means, 0, 1) * 255


def saturate(x, c):
    x = rgb2hsv(np.array(x) / 255.)
    x[:, :, 1] = np.clip(x[:, :, 1] * c[0] + c[1], 0, 1)
    return np.clip(hsv2rgb(x), 0, 1) * 255


def motion_kernel(radius, sigma, angle):
    """MagickCore: width = 2·ceil(radius) + 1; k[i] ∝ exp(−i²/(2σ²)); offsets from point = (w·sin a, w·cos a)."""
    width = int(2.0 * math.ceil(radius) + 1.0)
    k = np.array([math.exp(-(i * i) / (2.0 * sigma * sigma)) / (math.sqrt(2 * math.pi) * sigma) for i in range(width)])
    k /= k.sum()
    px = width * math.sin(math.radians(angle))
    py = width * math.cos(math.radians(angle))
    hyp = math.hypot(px, py)
    dx = [int(math.ceil(i * py / hyp - 0.5)) for i in range(width)]
    dy = [int(math.ceil(i * px / hyp - 0.5)) for i in range(width)]
    return k, dx, dy


def motion_apply(img, k, dx, dy):
    h, w = img.shape[:2]
    out = np.zeros_like(img, dtype=np.float64)
    for r in range(h):
        for c in range(w):
            for i in range(len(k)):
                rr = min(h - 1, max(0, r + dy[i]))
                cc = min(w - 1, max(0, c + dx[i]))
                out[r, c] += k[i] * img[rr, cc]
    return out


def fmt(values):
    """C++ float literals with 9 significant digits (float round-trips exactly)."""
    out = []
    for v in values:
        s = f"{float(v):.9g}"
        out.append(s + ("f" if ("." in s or "e" in s) else ".0f"))
    return ", ".join(out)


def main():
    lines = ["// zoa — golden values for the corruption tests (numpy/Pillow transcriptions of the upstream formulas)",
             "// SPDX-License-Identifier: MIT",
             "// GENERATED by tools/reference/gen_corruption_golden.py — DO NOT EDIT", ""]
    small = np.array([[[10, 200, 30], [250, 250, 250]], [[0, 0, 0], [120, 60, 200]]], dtype=np.uint8)
    lines.append(f"static const float golden_small_image[12] = {{{fmt(small.reshape(-1))}}};")
    for table, entries in TABLES.items():
        for name in ("brightness", "contrast", "saturate"):
            fn = {"brightness": brightness, "contrast": contrast, "saturate": saturate}[name]
            rows = [fmt(fn(small, c).reshape(-1)) for c in entries[name]]
            body = ",\n    ".join("{" + r + "}" for r in rows)
            lines.append(f"static const float golden_{name}_{table}[5][12] = {{\n    {body}}};")

    cases = [(6.0, 2.0, 30.0), (10.0, 3.0, -60.0), (3.0, 1.0, 90.0), (2.5, 1.5, -135.0)]
    lines.append("struct golden_motion_case { double radius, sigma, angle; int width; float weight[41]; "
                 "int dx[41]; int dy[41]; };")
    entries = []
    for radius, sigma, angle in cases:
        k, dx, dy = motion_kernel(radius, sigma, angle)
        entries.append(f"{{{radius}, {sigma}, {angle}, {len(k)}, {{{fmt(k)}}}, {{{', '.join(map(str, dx))}}}, "
                       f"{{{', '.join(map(str, dy))}}}}}")
    lines.append("static const golden_motion_case golden_motion[] = {\n    " + ",\n    ".join(entries) + "};")

    img = np.arange(20, dtype=np.float64).reshape(4, 5) * 10.0
    k, dx, dy = motion_kernel(2.0, 1.0, 45.0)
    blurred = motion_apply(img, k, dx, dy)
    lines.append(f"static const float golden_motion_input[20] = {{{fmt(img.reshape(-1))}}};")
    lines.append(f"static const float golden_motion_output[20] = {{{fmt(blurred.reshape(-1))}}};  "
                 "// radius 2, sigma 1, angle 45")

    rng = np.random.RandomState(7)
    pix = rng.randint(0, 256, size=(28, 28)).astype(np.uint8)
    lines.append(f"static const float golden_pixelate_input[{pix.size}] = {{{fmt(pix.reshape(-1))}}};")
    rows = []
    for c in TABLES["cifar"]["pixelate"]:
        im = Image.fromarray(pix)
        im = im.resize((int(28 * c), int(28 * c)), Image.BOX).resize((28, 28), Image.BOX)
        rows.append("{" + fmt(np.asarray(im).reshape(-1)) + "}")
    lines.append(f"static const float golden_pixelate_cifar[5][{pix.size}] = {{\n    " + ",\n    ".join(rows) + "};")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
