#!/usr/bin/env python3
# zoa — end-to-end check of `zoa predict` (ViT) against PyTorch.
# SPDX-License-Identifier: MIT
#
#   check_vit_predict.py --zoa build/bin/zoa --fixture
#       the committed tiny fixture (tests/fixtures/models): `zoa predict` on img_0.png/img_1.png vs the stored PyTorch
#       logits (png.logits), within 1e-4 x max|logit|; W8A8 calibrated with --calib and saved with --save, then
#       reloaded without --calib (identical output); exit status 2 for bad input. Needs numpy only.
#   check_vit_predict.py --zoa build/bin/zoa --fullsize --workdir DIR [--images 4] [--threads 2]
#       OPT-IN (heavy: a 344 MB file, about a minute): writes a random-weight vit_base_patch16_224 in timm names
#       (no zoa metadata, as a timm export) and 224x224 PNG images, runs PyTorch (Debian's python3-torch) and
#       `zoa predict --arch vit_base_patch16_224`; after subtracting each logit's mean over the images, every logit must
#       agree within 1e-3 x max|logit| and the top-1 classes must agree. Exit 77 (CTest: skipped) unless the
#       environment sets ZOA_HEAVY_TESTS=1 and torch is importable.
import argparse
import os
import subprocess
import sys

SKIP = 77
try:
    import numpy as np
except ImportError:  # numpy comes with python3-torch; a bare build machine may lack it
    print("skipped: this python has no numpy")
    sys.exit(SKIP)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from safetensors_io import read_safetensors  # noqa: E402


def run_predict(zoa, args):
    p = subprocess.run([zoa, "predict"] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"zoa predict failed ({p.returncode}): {p.stderr.strip()}")
    rows = []
    for line in p.stdout.strip().split("\n"):
        path, top1, logits = line.split("\t")
        rows.append((path, int(top1), np.array([float(v) for v in logits.split(",")], dtype=np.float64)))
    return rows


def fixture(zoa):
    d = os.path.join(ROOT, "tests", "fixtures", "models")
    golden, _ = read_safetensors(os.path.join(d, "vit_golden.safetensors"))
    want = golden["png.logits"].astype(np.float64)
    imgs = [os.path.join(d, f"img_{i}.png") for i in range(2)]
    rows = run_predict(zoa, ["--weights", os.path.join(d, "vit_tiny_timm.safetensors"), "--threads", "2"] + imgs)
    got = np.stack([r[2] for r in rows])
    err = np.abs(got - want).max() / np.abs(want).max()
    print(f"fixture: max |zoa - torch| / max |logit| = {err:.3g}")
    assert [r[0] for r in rows] == imgs
    assert [r[1] for r in rows] == list(want.argmax(1)), "top-1 differs"
    assert err <= 1e-4, err
    # W8A8 calibrated on the two images, saved, and reloaded without --calib: identical output
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        saved = os.path.join(tmp, "vit_w8a8.safetensors")
        q1 = run_predict(zoa, ["--weights", os.path.join(d, "vit_tiny_timm.safetensors"), "--precision", "w8a8",
                               "--calib", d, "--save", saved] + imgs)
        q2 = run_predict(zoa, ["--weights", saved] + imgs)
        assert [r[2].tolist() for r in q1] == [r[2].tolist() for r in q2], "reloaded W8A8 model differs"
        qerr = np.abs(np.stack([r[2] for r in q1]) - want).max() / np.abs(want).max()
        print(f"fixture: W8A8 (calibrated on 2 images) vs fp32 torch: max |diff| / max |logit| = {qerr:.3g}, "
              f"file {os.path.getsize(saved)} bytes")
    # bad input: one line on stderr, exit 2
    for bad in (["--weights", os.path.join(d, "missing.safetensors"), imgs[0]],
                ["--weights", os.path.join(d, "vit_tiny_timm.safetensors")],
                ["--weights", os.path.join(d, "vit_tiny_timm.safetensors"), "--precision", "w3a3", imgs[0]],
                ["--weights", os.path.join(d, "vit_tiny_timm.safetensors"), os.path.join(d, "vit_golden.safetensors")]):
        p = subprocess.run([zoa, "predict"] + bad, capture_output=True, text=True)
        assert p.returncode == 2 and p.stdout == "" and len(p.stderr.strip().split("\n")) == 1, (bad, p)
    print("fixture: ok")


def fullsize(zoa, workdir, n_images, threads):
    if os.environ.get("ZOA_HEAVY_TESTS") != "1":
        print("skipped: set ZOA_HEAVY_TESTS=1 to run the full-size ViT-B check")
        return SKIP
    try:
        import torch
        from PIL import Image
    except ImportError:
        print("skipped: /usr/bin/python3 has no torch/PIL")
        return SKIP
    from models import VisionTransformer
    from safetensors_io import write_safetensors
    from gen_vit_fixture import randomize

    os.makedirs(workdir, exist_ok=True)
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(224)
    model = VisionTransformer(img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12,
                              num_heads=12, mlp_ratio=4.0).eval()
    randomize(model, gen)
    weights = os.path.join(workdir, "vit_base_patch16_224_random.safetensors")
    write_safetensors(weights, {k: v.contiguous() for k, v in model.state_dict().items()})
    rng = np.random.default_rng(11)
    paths = []
    pix = []
    for i in range(n_images):
        # smooth random images (a blurred noise field), so patches differ but are not white noise
        base = rng.normal(size=(28, 28, 3))
        img = np.kron(base, np.ones((8, 8, 1)))
        img = (255 * (img - img.min()) / (img.max() - img.min())).astype(np.uint8)
        p = os.path.join(workdir, f"img_{i}.png")
        Image.fromarray(img, "RGB").save(p)
        paths.append(p)
        pix.append(img)
    x = torch.from_numpy(np.stack(pix).astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    x = (x - 0.5) / 0.5  # timm vit_base_patch16_224 (augreg): mean = std = 0.5, images already 224 px
    with torch.no_grad():
        want = model(x).double().numpy()
    rows = run_predict(zoa, ["--weights", weights, "--arch", "vit_base_patch16_224", "--threads", str(threads)]
                       + paths)
    got = np.stack([r[2] for r in rows])
    gc, wc = got - got.mean(0, keepdims=True), want - want.mean(0, keepdims=True)
    err = np.abs(gc - wc).max() / np.abs(wc).max()
    raw = np.abs(got - want).max() / np.abs(want).max()
    top_ok = [r[1] for r in rows] == list(want.argmax(1))
    print(f"fullsize vit_base_patch16_224, {n_images} images: centred max |zoa - torch| / max |logit| = {err:.3g} "
          f"(raw {raw:.3g}), top-1 agrees: {top_ok}")
    os.remove(weights)
    assert top_ok, "top-1 differs"
    assert err <= 1e-3, err
    print("fullsize: ok")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoa", required=True)
    ap.add_argument("--fixture", action="store_true")
    ap.add_argument("--fullsize", action="store_true")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build", "vit_fullsize"))
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.fixture:
        fixture(a.zoa)
    if a.fullsize:
        return fullsize(a.zoa, a.workdir, a.images, a.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
