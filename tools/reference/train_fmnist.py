#!/usr/bin/env python3
# zoa — trains the Fashion-MNIST demo ViT / ResNet and exports them as safetensors with zoa metadata
# SPDX-License-Identifier: MIT
"""Train the demo models shipped in examples/assets/ (Debian python3-torch, CPU only).

    nice -n 10 /usr/bin/python3 tools/reference/train_fmnist.py --arch resnet --out examples/assets/fmnist_resnet.safetensors
    nice -n 10 /usr/bin/python3 tools/reference/train_fmnist.py --arch vit    --out examples/assets/fmnist_vit.safetensors
    /usr/bin/python3 tools/reference/train_fmnist.py --verify examples/assets/fmnist_vit.safetensors

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/*-ubyte.gz). Images are 28x28 grayscale,
replicated to 3 channels, scaled to [0, 1] and normalized with mean = std = 0.5 per channel: x' = (x/255 - 0.5)/0.5.
No resize. Training augmentation: random crop 28 from the zero-padded (2 px) image, random horizontal flip.

The exported model is the one after the last epoch (the per-epoch test accuracy is logged for monitoring only and
is not used to select a checkpoint). Every random number comes from --seed.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

# On a shared, oversubscribed machine, spinning OpenMP/OpenBLAS worker threads waste most of the CPU time
# (measured: 5x slower per step under load). Wait passively and keep BLAS single-threaded; torch's intra-op
# OpenMP pool still uses --threads. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import ResNet, VisionTransformer, build_model, count_parameters, model_config  # noqa: E402
from safetensors_io import load_state_dict, save_state_dict  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)


def read_idx(path):
    """Read a gzip-compressed IDX file (magic 0x00000801 labels / 0x00000803 images, big-endian dims)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {int(np.prod(dims))} values for dims {dims}, found {arr.size}")
    return arr.reshape(dims)


def load_split(split, data_dir=DATA_DIR):
    """split 'train' or 't10k' -> (uint8 images [N, 28, 28] tensor, int64 labels [N] tensor)."""
    x = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"))
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def preprocess(images_u8, in_chans=3):
    """uint8 [B, H, W] -> float [B, in_chans, H, W], x' = (x/255 - mean)/std with mean = std = 0.5."""
    x = images_u8.float().div_(255.0).sub_(MEAN[0]).div_(STD[0])
    return x.unsqueeze(1).expand(-1, in_chans, -1, -1).contiguous()


def augment(images_u8, gen, pad=2):
    """Random crop (zero padding `pad`) and random horizontal flip, per sample, on uint8 [B, H, W]."""
    b, h, w = images_u8.shape
    padded = F.pad(images_u8, (pad, pad, pad, pad))
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    flip = torch.rand(b, generator=gen) < 0.5
    rows = (oy[:, None] + torch.arange(h)[None, :])  # [B, H]
    cols = (ox[:, None] + torch.arange(w)[None, :])  # [B, W]
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    idx_b = torch.arange(b)[:, None, None]
    return padded[idx_b, rows[:, :, None], cols[:, None, :]]


@torch.no_grad()
def evaluate(model, images, labels, in_chans=3, batch=500):
    model.eval()
    correct = 0
    for i in range(0, images.shape[0], batch):
        logits = model(preprocess(images[i:i + batch], in_chans))
        correct += (logits.argmax(1) == labels[i:i + batch]).sum().item()
    return 100.0 * correct / images.shape[0]


DEFAULTS = {
    "vit": dict(epochs=20, batch=128, opt="adamw", lr=1e-3, wd=0.05, warmup=1, label_smoothing=0.1, clip=1.0,
                embed_dim=96, depth=6, num_heads=3, mlp_ratio=2.0),
    "resnet": dict(epochs=10, batch=128, opt="sgd", lr=0.1, wd=5e-4, warmup=1, label_smoothing=0.0, clip=0.0,
                   layers=[2, 2, 2, 2], widths=[16, 32, 64, 128]),
}


def make_model(args):
    if args.arch == "vit":
        return VisionTransformer(img_size=28, patch_size=4, in_chans=3, num_classes=10, embed_dim=args.embed_dim,
                                 depth=args.depth, num_heads=args.num_heads, mlp_ratio=args.mlp_ratio,
                                 qkv_bias=True, ln_eps=1e-6)
    return ResNet(block="basic", layers=args.layers, widths=args.widths, in_chans=3, num_classes=10, stem="small")


def param_groups(model, wd):
    """No weight decay on biases, norm parameters, cls_token and pos_embed (1-D or token parameters)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim <= 1 or name in ("cls_token", "pos_embed"):
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def metadata(arch, model, train_info):
    cfg = model_config(model)
    pre = {"mean": list(MEAN), "std": list(STD), "interpolation": "none", "input_size": [3, 28, 28],
           "channels": "gray_to_rgb", "pixel_scale": "x/255", "crop_pct": 1.0}
    return {
        "format": "pt",
        "zoa.arch": arch,
        "zoa.config": json.dumps(cfg, sort_keys=True),
        "zoa.preprocess": json.dumps(pre, sort_keys=True),
        "zoa.class_names": json.dumps(CLASS_NAMES),
        "zoa.train": json.dumps(train_info, sort_keys=True),
    }


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    xtr, ytr = load_split("train")
    xte, yte = load_split("t10k")
    model = make_model(args)
    n_params = count_parameters(model)
    print(f"arch={args.arch} params={n_params} config={json.dumps(model_config(model))}", flush=True)
    print(f"recipe={json.dumps(vars(args))}", flush=True)
    groups = param_groups(model, args.wd)
    if args.opt == "adamw":
        opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.999))
    else:
        opt = torch.optim.SGD(groups, lr=args.lr, momentum=0.9, nesterov=True)
    steps_per_epoch = xtr.shape[0] // args.batch  # drop the last incomplete batch
    total = steps_per_epoch * args.epochs
    warm = steps_per_epoch * args.warmup

    def lr_at(step):
        # linear warmup to lr, then cosine to lr * 0.01: lr_t = lr (0.01 + 0.99 * 0.5 (1 + cos(pi t/T)))
        if step < warm:
            return args.lr * (step + 1) / warm
        t = (step - warm) / max(1, total - warm)
        return args.lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * t)))

    crit = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    t0 = time.time()
    c0 = time.process_time()  # CPU seconds of this process over all threads (load-independent cost measure)
    step = 0
    history = []
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        te = time.time()
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch:(i + 1) * args.batch]
            xb = preprocess(augment(xtr[idx], gen, 2) if args.augment else xtr[idx])
            yb = ytr[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            logits = model(xb)
            loss = crit(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if args.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            step += 1
            loss_sum += loss.item() * yb.shape[0]
            correct += (logits.argmax(1) == yb).sum().item()
            seen += yb.shape[0]
            if args.log_every and (i + 1) % args.log_every == 0:
                print(f"  epoch {epoch + 1} step {i + 1}/{steps_per_epoch} loss {loss_sum / seen:.4f} "
                      f"elapsed {time.time() - t0:.0f}s", flush=True)
        acc = evaluate(model, xte, yte)
        wall = time.time() - t0
        history.append(round(acc, 2))
        print(f"epoch {epoch + 1}/{args.epochs} train_loss {loss_sum / seen:.4f} train_acc {100.0 * correct / seen:.2f} "
              f"test_acc {acc:.2f} epoch_time {time.time() - te:.0f}s wall {wall:.0f}s cpu {time.process_time() - c0:.0f}s "
              f"load1 {os.getloadavg()[0]:.1f} lr {lr_at(step - 1):.2e}",
              flush=True)
    wall = time.time() - t0
    cpu = time.process_time() - c0
    acc = history[-1]
    info = {"epochs": args.epochs, "seed": args.seed, "clean_test_accuracy": acc, "wall_time_s": round(wall, 1),
            "cpu_time_s": round(cpu, 1),
            "threads": args.threads, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "load1_at_end": round(os.getloadavg()[0], 1), "batch": args.batch, "optimizer": args.opt, "lr": args.lr,
            "weight_decay": args.wd, "warmup_epochs": args.warmup, "schedule": "cosine_to_0.01",
            "label_smoothing": args.label_smoothing, "grad_clip": args.clip,
            "augment": "random_crop_pad2+hflip" if args.augment else "none", "test_acc_per_epoch": history,
            "torch": torch.__version__, "dataset": "fashion-mnist (Debian dataset-fashion-mnist), 60000 train",
            "params": n_params}
    model.eval()
    save_state_dict(args.out, model.state_dict(), metadata(args.arch, model, info))
    print(f"saved {args.out} ({os.path.getsize(args.out)} bytes) clean_test_accuracy {acc:.2f} wall {wall:.0f}s",
          flush=True)
    verify(args.out, args.threads)


def verify(path, threads=2):
    """Reload `path` with the stdlib reader into a fresh model and re-evaluate the clean test accuracy."""
    torch.set_num_threads(threads)
    sd, meta = load_state_dict(path)
    arch = meta["zoa.arch"]
    cfg = json.loads(meta["zoa.config"])
    model = build_model(arch, cfg)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(sd))
    unused = sorted(set(sd) - set(expected))
    if missing or unused:
        raise SystemExit(f"{path}: missing keys {missing}, unused keys {unused}")
    for k, v in sd.items():
        if v.dtype != expected[k].dtype or v.shape != expected[k].shape:
            raise SystemExit(f"{path}: key {k}: expected {expected[k].dtype}{list(expected[k].shape)}, "
                             f"got {v.dtype}{list(v.shape)}")
    model.load_state_dict(sd, strict=True)
    xte, yte = load_split("t10k")
    acc = evaluate(model, xte, yte, cfg["in_chans"])
    stored = json.loads(meta["zoa.train"])["clean_test_accuracy"]
    print(f"verify {path}: arch={arch} tensors={len(sd)} params={count_parameters(model)} "
          f"clean_test_accuracy={acc:.2f} (stored {stored:.2f})", flush=True)
    if abs(acc - stored) > 0.011:
        raise SystemExit(f"{path}: reloaded accuracy {acc:.2f} differs from stored {stored:.2f}")
    return acc


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=["vit", "resnet"])
    p.add_argument("--out", help="output .safetensors path")
    p.add_argument("--verify", metavar="FILE", help="only reload FILE and re-evaluate the clean test accuracy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--opt", choices=["adamw", "sgd"])
    p.add_argument("--lr", type=float)
    p.add_argument("--wd", type=float)
    p.add_argument("--warmup", type=int)
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--clip", type=float)
    p.add_argument("--no-augment", dest="augment", action="store_false")
    p.add_argument("--embed-dim", type=int)
    p.add_argument("--depth", type=int)
    p.add_argument("--num-heads", type=int)
    p.add_argument("--mlp-ratio", type=float)
    p.add_argument("--layers", type=lambda s: [int(v) for v in s.split(",")])
    p.add_argument("--widths", type=lambda s: [int(v) for v in s.split(",")])
    p.add_argument("--log-every", type=int, default=0)
    args = p.parse_args()
    if args.verify:
        verify(args.verify, args.threads)
        return
    if not args.arch or not args.out:
        p.error("--arch and --out are required for training")
    for k, v in DEFAULTS[args.arch].items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    train(args)


if __name__ == "__main__":
    main()
