#!/usr/bin/env python3
# zoa — PyTorch side of bench/compare: random-weight ViT-B/16 (timm names) and ResNet-50 (torchvision) exported for
# the C++ driver, and timed in fp32, dynamic int8 (onednn engine) and reference-style fake-quant W8A8
# SPDX-License-Identifier: MIT
"""Usage:
    torch_compare.py export --out-dir DIR
        writes DIR/vit_base_patch16_224.safetensors (timm keys, tools/reference/models.py VisionTransformer = timm's
        forward) and DIR/resnet50.safetensors (torchvision.models.resnet50 keys), random weights (seed 0); existing
        files are kept.
    torch_compare.py time --model vit|resnet --batch B [--threads 2] [--warmup 1] [--reps 3]
        prints `torch model=<m> batch=<b> threads=<t> fp32_ms=<x> int8_ms=<y> fakequant_ms=<z>` (ms per image,
        median of the timed repetitions, inputs N(0, 1)), plus ` static_int8_ms=<s>` for the ResNet.
        --static-only (ResNet): times only the static int8 model (run.sh's extra rounds).

The three PyTorch paths:
    fp32       model.eval() under torch.no_grad() (Debian python3-torch 1.13: OpenBLAS GEMMs, oneDNN convolutions).
    int8       torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8) with
               torch.backends.quantized.engine = "onednn": int8 weights, activations quantized per call (ViT: every
               qkv/proj/fc1/fc2/head; ResNet: only fc, its convolutions stay fp32 because dynamic quantization has
               no convolutions).
    static_int8 (ResNet only) the int8 deployment a ResNet user picks: PyTorch eager-mode static quantization on the
               onednn engine, torchvision.models.quantization.resnet50 (same weights), fuse_model() (conv+bn+relu),
               qconfig get_default_qconfig("onednn") (histogram observer, per-tensor u8 activations, per-channel
               symmetric s8 weights), prepare, 2 calibration batches of 8 N(0, 1) images, convert: every convolution,
               the residual adds and the fc run as oneDNN int8 primitives.
    fakequant  what the ZOA/PTQ4ViT (ViT) and MQBench (ResNet) reference code runs after calibration: float modules
               with quantize-dequantize of the weights (per output channel, recomputed every forward as the
               reference's quant_weight_bias / FakeQuantize do) and of the inputs (per tensor, fixed scale) of every
               Linear/Conv; for the ViT also of both operands of the two attention matmuls (PTQ4ViT's
               MinMaxQuantMatMul). Scales: absmax/(2^7 - 0.5) from one fp32 forward (values do not change the cost).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "reference"))

from models import VisionTransformer, model_config  # noqa: E402
from safetensors_io import save_state_dict  # noqa: E402

VIT_B = dict(img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12, num_heads=12,
             mlp_ratio=4.0, qkv_bias=True, ln_eps=1e-6)


def build(model):
    torch.manual_seed(0)
    if model == "vit":
        return VisionTransformer(**VIT_B).eval()
    import torchvision
    return torchvision.models.resnet50(weights=None).eval()


def export(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, arch in (("vit_base_patch16_224", "vit"), ("resnet50", "resnet")):
        path = os.path.join(out_dir, name + ".safetensors")
        if os.path.exists(path):
            print(f"export: {path} exists, kept", file=sys.stderr)
            continue
        m = build(arch)
        meta = {"format": "pt", "zoa.arch": arch}
        if arch == "vit":
            meta["zoa.config"] = json.dumps(model_config(m), sort_keys=True)
        save_state_dict(path + ".tmp", m.state_dict(), meta)
        os.replace(path + ".tmp", path)
        print(f"export: wrote {path}", file=sys.stderr)


# ---- reference-style fake quantization ------------------------------------------------------------------------

N8 = 2 ** 7  # PTQ4ViT symmetric 8-bit: codes in [-128, 127], interval = absmax / (128 - 0.5)


def fq(x, interval):
    """PTQ4ViT's quantize-dequantize: (x / Δ).round().clamp(-n, n - 1) * Δ."""
    return (x / interval).round_().clamp_(-N8, N8 - 1).mul_(interval)


class FakeQuantLinear(nn.Module):
    def __init__(self, lin, x_interval):
        super().__init__()
        self.weight, self.bias = lin.weight, lin.bias
        self.w_interval = (lin.weight.abs().amax(dim=1, keepdim=True) / (N8 - 0.5)).clamp_min(1e-8)
        self.x_interval = x_interval

    def forward(self, x):
        return F.linear(fq(x, self.x_interval), fq(self.weight, self.w_interval), self.bias)


class FakeQuantConv(nn.Module):
    """MQBench-style: per-channel weight and per-tensor activation fake-quant ops around a float convolution."""

    def __init__(self, conv, x_interval):
        super().__init__()
        self.conv = conv
        w = conv.weight
        self.w_scale = (w.abs().amax(dim=(1, 2, 3)) / (N8 - 0.5)).clamp_min(1e-8).float()
        self.w_zp = torch.zeros(w.shape[0], dtype=torch.int32)
        self.x_scale = float(x_interval)

    def forward(self, x):
        x = torch.fake_quantize_per_tensor_affine(x, self.x_scale, 0, -N8, N8 - 1)
        w = torch.fake_quantize_per_channel_affine(self.conv.weight, self.w_scale, self.w_zp, 0, -N8, N8 - 1)
        return F.conv2d(x, w, self.conv.bias, self.conv.stride, self.conv.padding, self.conv.dilation,
                        self.conv.groups)


def fake_quant_attention(attn, q_iv, k_iv, a_iv, v_iv):
    """Replaces a timm Attention forward with PTQ4ViT's: both operands of q·kᵀ and attn·v quantized."""

    def forward(x):
        b, n, c = x.shape
        qkv = attn.qkv(x).reshape(b, n, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        s = fq(q, q_iv) @ fq(k.transpose(-2, -1), k_iv) * attn.scale
        p = s.softmax(dim=-1)
        o = (fq(p, a_iv) @ fq(v, v_iv)).transpose(1, 2).reshape(b, n, c)
        return attn.proj(o)

    attn.forward = forward


def absmax_inputs(model, x, types):
    """max |input| of every module of the given types over one fp32 forward."""
    seen, hooks = {}, []
    for name, m in model.named_modules():
        if isinstance(m, types):
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out, name=name: seen.__setitem__(name, float(inp[0].abs().max()))))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


def fake_quant_model(arch, x):
    m = build(arch)
    interval = lambda v: max(v, 1e-8) / (N8 - 0.5)  # noqa: E731
    if arch == "vit":
        amax = absmax_inputs(m, x, (nn.Linear,))
        for blk in m.blocks:  # attention operands: generic post-LayerNorm magnitudes (cost does not depend on them)
            fake_quant_attention(blk.attn, 0.05, 0.05, 1.0 / (N8 - 1), 0.05)
        targets = [(n, mod) for n, mod in m.named_modules() if isinstance(mod, nn.Linear)]
        for name, lin in targets:
            parent = m.get_submodule(name.rsplit(".", 1)[0]) if "." in name else m
            setattr(parent, name.rsplit(".", 1)[-1], FakeQuantLinear(lin, interval(amax[name])))
    else:
        amax = absmax_inputs(m, x, (nn.Conv2d, nn.Linear))
        targets = [(n, mod) for n, mod in m.named_modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]
        for name, mod in targets:
            parent = m.get_submodule(name.rsplit(".", 1)[0]) if "." in name else m
            wrapped = (FakeQuantConv(mod, interval(amax[name])) if isinstance(mod, nn.Conv2d)
                       else FakeQuantLinear(mod, interval(amax[name])))
            setattr(parent, name.rsplit(".", 1)[-1], wrapped)
    return m.eval()


# ---- timing --------------------------------------------------------------------------------------------------

def time_ms(model, x, warmup, reps):
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        t = []
        for _ in range(reps):
            t0 = time.perf_counter()
            model(x)
            t.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(t) / x.shape[0]


def static_int8_resnet():
    """torchvision's quantizable ResNet-50 with build("resnet")'s weights, statically quantized for onednn."""
    from torchvision.models import quantization as tq
    m = tq.resnet50(weights=None, quantize=False).eval()
    m.load_state_dict(build("resnet").state_dict())
    m.fuse_model()
    m.qconfig = torch.ao.quantization.get_default_qconfig("onednn")
    torch.ao.quantization.prepare(m, inplace=True)
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for _ in range(2):
            m(torch.randn(8, 3, 224, 224, generator=g))
    return torch.ao.quantization.convert(m, inplace=True)


def run_time(a):
    torch.set_num_threads(a.threads)
    torch.backends.quantized.engine = "onednn"
    x = torch.randn(a.batch, 3, 224, 224, generator=torch.Generator().manual_seed(7))
    if a.static_only:  # one more round of the ResNet's int8 peer alone (run.sh's ROUNDS)
        print(f"torch model={a.model} batch={a.batch} threads={torch.get_num_threads()} "
              f"static_int8_ms={time_ms(static_int8_resnet(), x, a.warmup, a.reps):.2f}", flush=True)
        return
    fp32 = build(a.model)
    fp32_ms = time_ms(fp32, x, a.warmup, a.reps)
    int8 = torch.ao.quantization.quantize_dynamic(build(a.model), {nn.Linear}, dtype=torch.qint8)
    int8_ms = time_ms(int8, x, a.warmup, a.reps)
    del int8
    fq_ms = time_ms(fake_quant_model(a.model, x[:1]), x, a.warmup, a.reps)
    static = ""
    if a.model == "resnet":
        static = f" static_int8_ms={time_ms(static_int8_resnet(), x, a.warmup, a.reps):.2f}"
    print(f"torch model={a.model} batch={a.batch} threads={torch.get_num_threads()} fp32_ms={fp32_ms:.2f} "
          f"int8_ms={int8_ms:.2f} fakequant_ms={fq_ms:.2f}{static}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--out-dir", required=True)
    t = sub.add_parser("time")
    t.add_argument("--model", choices=["vit", "resnet"], required=True)
    t.add_argument("--batch", type=int, required=True)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--warmup", type=int, default=1)
    t.add_argument("--reps", type=int, default=3)
    t.add_argument("--static-only", action="store_true", help="time only the static int8 ResNet")
    a = p.parse_args()
    if a.cmd == "time" and a.static_only and a.model != "resnet":
        p.error("--static-only is for --model resnet")
    if a.cmd == "export":
        export(a.out_dir)
    else:
        run_time(a)


if __name__ == "__main__":
    main()
