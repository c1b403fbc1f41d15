#!/usr/bin/env python3
# zoa — generates the ResNet golden fixtures (tests/fixtures/resnet/): tiny random-weight torchvision-named ResNets
# and PyTorch outputs in eval / batch-statistics BN modes, ZOA features, embedding stats, FOA prompt, adapted BNs,
# activation shift and MQBench-academic W8A8 / W4A4 fake-quant references.
# SPDX-License-Identifier: MIT
#
# Run with Debian's torch:  /usr/bin/python3 tools/reference/gen_resnet_fixture.py
# Full-size check (not committed, ~100 MB):  /usr/bin/python3 tools/reference/gen_resnet_fixture.py --full-size DIR
#   writes DIR/resnet50.safetensors (torchvision names, random weights, BN running statistics accumulated on random
#   images so activations stay well scaled) and DIR/resnet50_golden.safetensors (input [4, 3, 224, 224],
#   eval.{logits,features}, batch.logits, w8a8.logits = MQBench W8A8 fake-quant calibrated on those 4 images, and
#   its quantizer parameters) and DIR/resnet50_w8a8.safetensors (that PyTorch-calibrated model in zoa's format);
#   tests/resnet/test_resnet_full.cpp compares (opt-in, see docs/models_resnet.md).
#
# Per case <name> in CASES two files are written:
#   <name>.safetensors         the model (state dict incl. num_batches_tracked I64 buffers; metadata zoa.arch,
#                              zoa.config), exactly what a user exports from torchvision
#   <name>_golden.safetensors  inputs and expected outputs (names below)
#
# Golden tensors (B images):
#   input                      [B, C, H, W]
#   eval.{logits,features,embed_mean,embed_var}        BN with running statistics
#   batch.{logits,features}                            BN with the batch's statistics (F.batch_norm training=True)
#   adapted.params             flat [w_0, b_0, w_1, b_1, ...] over the adapted BNs (docs/algorithm.md §1.1 rule)
#   adapted.{logits,features}  batch statistics, adapted BNs replaced by adapted.params
#   shift.vector, shift.logits fc(feature_4 + shift), eval mode
#   prompt.weight [3, 3, 7, 7], prompt.{logits,features,embed_mean,embed_var}   FOA-ResNet input prompt
#                              x ← x + conv7x7(x) (pad 3, no bias) before conv1, batch statistics
#   calib.images               [2·B, C, H, W], calibrated as 2 batches of B (EMA-MSE observers see 2 batches)
#   w<b>a<b>.{logits,features} MQBench academic fake-quant forward (eval), b = 8 and 4
#   w<b>a<b>.input_scale / .input_zero_point / .weight_scale_sum   per quantized module (conv/linear) in module
#                              order: its input quantizer's (s, z) and Σ of its per-channel weight scales
#
# The MQBench academic scheme (docs/algorithm.md §4): per-channel asymmetric weights (MSEObserver, 80 candidates),
# per-tensor asymmetric activations (EMAMSEObserver ema 0.9, 95 candidates) on every tensor that feeds a Conv2d or
# Linear — the input, the stem output (max-pool output; the ReLU output for the small stem), each in-block ReLU output,
# each block output that feeds another block, the flattened pooled features — conv1 / fc and their inputs at 8 bits,
# BN not folded. Calibration (MQBench enable_calibration) runs the float model in eval mode with fake-quant off.
import copy
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402
from gen_quant_fixture import final_qparams, mse_search  # noqa: E402
from safetensors_io import save_state_dict, write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fixtures", "resnet")

CASES = {
    "basic": dict(config=dict(block="basic", layers=[2, 2, 2, 1], widths=[4, 8, 8, 16], in_chans=3, num_classes=10,
                              stem="small"), image=12, seed=11),
    "bottleneck": dict(config=dict(block="bottleneck", layers=[2, 2, 1, 1], widths=[4, 4, 8, 8], in_chans=3,
                                   num_classes=7, stem="imagenet"), image=24, seed=12),
}
BATCH = 4


def adapted_bn_names(model):
    """ZOA-ResNet rule: bn1/bn2 of every block except layer1.0 and layer4.* (never stem bn1, bn3, downsample.1)."""
    names = []
    for s, layer in enumerate((model.layer1, model.layer2, model.layer3, model.layer4), start=1):
        if s == 4:
            continue
        for j in range(len(layer)):
            if s == 1 and j == 0:
                continue
            names += [f"layer{s}.{j}.bn1", f"layer{s}.{j}.bn2"]
    return names


def randomize(model, g):
    """Random BN affine and running statistics (torchvision's init would zero the residual branches)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = 1.0 + 0.3 * torch.randn(n, generator=g)
            m.bias.data = 0.2 * torch.randn(n, generator=g)
            m.running_mean.data = 0.3 * torch.randn(n, generator=g)
            m.running_var.data = 0.5 + torch.rand(n, generator=g)
            m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
    model.fc.weight.data = torch.randn(model.fc.weight.shape, generator=g) / math.sqrt(model.fc.in_features)
    model.fc.bias.data = 0.1 * torch.randn(model.fc.bias.shape, generator=g)


def blocks(model):
    for s, layer in enumerate((model.layer1, model.layer2, model.layer3, model.layer4), start=1):
        for j, blk in enumerate(layer):
            yield s, j, f"layer{s}.{j}", blk, j == len(layer) - 1


def forward(model, x, site=None, weight=None, prompt=None):
    """The network as MQBench's academic FX graph computes it. site(name, tensor) is applied to every tensor that
    feeds a conv/linear, named after its first consumer ("conv1", "layer1.0.conv1", "layerL.j.conv2", ...,
    "fc"); weight(name, w) maps a module's weight. Both default to identity (the float model).
    Returns (logits, [4 pooled features], conv1 output before bn1)."""
    site = site or (lambda name, t: t)
    weight = weight or (lambda name, w: w)

    def conv(m, name, h):
        return F.conv2d(h, weight(name, m.weight), m.bias, m.stride, m.padding)

    h = site("conv1", x)
    if prompt is not None:
        h = h + F.conv2d(h, prompt, None, 1, 3)
    emb = conv(model.conv1, "conv1", h)
    h = model.maxpool(F.relu(model.bn1(emb)))
    h = site("layer1.0.conv1", h)
    feats = []
    all_blocks = list(blocks(model))
    for idx, (s, j, name, blk, last_in_stage) in enumerate(all_blocks):
        identity = h
        if blk.downsample is not None:
            identity = blk.downsample[1](conv(blk.downsample[0], name + ".downsample.0", h))
        out = F.relu(blk.bn1(conv(blk.conv1, name + ".conv1", h)))
        out = site(name + ".conv2", out)
        if isinstance(blk, models.Bottleneck):
            out = F.relu(blk.bn2(conv(blk.conv2, name + ".conv2", out)))
            out = site(name + ".conv3", out)
            out = blk.bn3(conv(blk.conv3, name + ".conv3", out))
        else:
            out = blk.bn2(conv(blk.conv2, name + ".conv2", out))
        h = F.relu(out + identity)
        if idx + 1 < len(all_blocks):
            h = site(all_blocks[idx + 1][2] + ".conv1", h)
        if last_in_stage:
            feats.append(h.mean(dim=(2, 3)))
    f = site("fc", torch.flatten(model.avgpool(h), 1))
    feats[-1] = f
    logits = F.linear(f, weight("fc", model.fc.weight), model.fc.bias)
    return logits, feats, emb


def site_of(module):
    """The activation quantizer feeding a module: a downsample conv shares its block's conv1 input."""
    return module.replace("downsample.0", "conv1")


def quant_modules(model):
    """Quantized modules (conv/linear) in module order: (name, module)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]


def calibrate(model, batches, bits):
    """MQBench academic PTQ: weight MSE observers (per channel) and activation EMA-MSE observers (per tensor),
    observed on the float model in eval mode. Returns (act {site: (s, z, bits)}, wq {module: (s, z, bits)})."""
    act_range = {}

    def site_bits(name):
        return 8 if name in ("conv1", "fc") else bits

    def observe(name, t):
        b = site_bits(name)
        mn, mx = mse_search(t, t.min(), t.max(), b, 95, False)
        if name not in act_range:
            act_range[name] = (mn, mx)
        else:
            pm, px = act_range[name]
            act_range[name] = (pm * 0.9 + mn * (1.0 - 0.9), px * 0.9 + mx * (1.0 - 0.9))
        return t

    with torch.no_grad():
        for xb in batches:
            forward(model, xb, site=observe)
    act = {}
    for name, (mn, mx) in act_range.items():
        b = site_bits(name)
        s, z = final_qparams(mn, mx, b, False)
        act[name] = (torch.tensor(s[0]), int(z[0]), b)
    wq = {}
    for name, m in quant_modules(model):
        b = 8 if name in ("conv1", "fc") else bits
        w = m.weight.detach().reshape(m.weight.shape[0], -1)
        mn, mx = mse_search(w, w.min(dim=1).values, w.max(dim=1).values, b, 80, True)
        s, z = final_qparams(mn, mx, b, True)
        wq[name] = (torch.tensor(s), torch.tensor(z, dtype=torch.int32), b)
    return act, wq


def quant_forward(model, x, act, wq):
    def site(name, t):
        s, z, b = act[name]
        return torch.fake_quantize_per_tensor_affine(t, float(s), z, 0, 2 ** b - 1)

    def weight(name, w):
        s, z, b = wq[name]
        return torch.fake_quantize_per_channel_affine(w, s, z, 0, 0, 2 ** b - 1)

    with torch.no_grad():
        return forward(model, x, site=site, weight=weight)


def embed_stats(emb):
    return emb.mean(dim=(0, 2, 3)), emb.var(dim=(0, 2, 3), unbiased=True)


def make_case(name, spec):
    g = torch.Generator().manual_seed(spec["seed"])
    torch.manual_seed(spec["seed"])
    model = models.build_model("resnet", spec["config"])
    randomize(model, g)
    model.eval()
    cfg = models.model_config(model)
    meta = {"zoa.arch": "resnet", "zoa.config": json.dumps(cfg, sort_keys=True)}
    os.makedirs(OUT, exist_ok=True)
    save_state_dict(os.path.join(OUT, name + ".safetensors"), model.state_dict(), meta)

    c, hw = spec["config"]["in_chans"], spec["image"]
    x = torch.randn(BATCH, c, hw, hw, generator=g)
    gold = {"input": x}
    with torch.no_grad():
        logits, feats, emb = forward(model, x)
        ref = model(x)
        assert torch.allclose(ref, logits, atol=1e-5), "hand-written forward differs from the module"
        m, v = embed_stats(emb)
        gold.update({"eval.logits": logits, "eval.features": torch.cat(feats, 1), "eval.embed_mean": m,
                     "eval.embed_var": v})

        bs = copy.deepcopy(model).train()  # F.batch_norm(training=True): the batch's (biased) statistics
        logits, feats, _ = forward(bs, x)
        gold.update({"batch.logits": logits, "batch.features": torch.cat(feats, 1)})

        ad = copy.deepcopy(model).train()
        flat = []
        mods = dict(ad.named_modules())
        for n in adapted_bn_names(ad):
            bn = mods[n]
            bn.weight.data = bn.weight.data + 0.2 * torch.randn(bn.num_features, generator=g)
            bn.bias.data = bn.bias.data + 0.2 * torch.randn(bn.num_features, generator=g)
            flat += [bn.weight.data.clone(), bn.bias.data.clone()]
        logits, feats, _ = forward(ad, x)
        gold.update({"adapted.params": torch.cat(flat), "adapted.logits": logits,
                     "adapted.features": torch.cat(feats, 1)})

        shift = 0.3 * torch.randn(model.fc.in_features, generator=g)
        _, feats, _ = forward(model, x)
        gold.update({"shift.vector": shift, "shift.logits": model.fc(feats[-1] + shift)})

        # kaiming_normal_(fan_out = 3·7·7 = 147, leaky_relu gain sqrt(2/(1+0.01²))), as PromptResNet
        prompt = torch.randn(3, 3, 7, 7, generator=g) * (math.sqrt(2.0 / (1 + 0.01 ** 2)) / math.sqrt(147))
        logits, feats, emb = forward(copy.deepcopy(model).train(), x, prompt=prompt)
        m, v = embed_stats(emb)
        gold.update({"prompt.weight": prompt, "prompt.logits": logits, "prompt.features": torch.cat(feats, 1),
                     "prompt.embed_mean": m, "prompt.embed_var": v})

    calib = torch.randn(2 * BATCH, c, hw, hw, generator=g)
    gold["calib.images"] = calib
    for bits in (8, 4):
        act, wq = calibrate(model, [calib[:BATCH], calib[BATCH:]], bits)
        logits, feats, _ = quant_forward(model, x, act, wq)
        tag = f"w{bits}a{bits}"
        names = [n for n, _ in quant_modules(model)]
        gold[f"{tag}.logits"] = logits
        gold[f"{tag}.features"] = torch.cat(feats, 1)
        gold[f"{tag}.input_scale"] = torch.stack([act[site_of(n)][0] for n in names])
        gold[f"{tag}.input_zero_point"] = torch.tensor([float(act[site_of(n)][1]) for n in names])
        gold[f"{tag}.weight_scale_sum"] = torch.stack([wq[n][0].double().sum().float() for n in names])
        top_fp = gold["eval.logits"].argmax(1)
        agree = (logits.argmax(1) == top_fp).float().mean().item()
        print(f"{name} {tag}: top-1 agreement with fp32 on {BATCH} images = {agree:.2f}, "
              f"max |logit diff| = {(logits - gold['eval.logits']).abs().max().item():.4g}")
    tensors = {k: v.detach().float().contiguous() for k, v in gold.items()}
    write_safetensors(os.path.join(OUT, name + "_golden.safetensors"), tensors,
                      {"zoa.note": "generated by tools/reference/gen_resnet_fixture.py",
                       "adapted_bns": json.dumps(adapted_bn_names(model))})
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in (name + ".safetensors", name + "_golden.safetensors"))
    print(f"{name}: {len(adapted_bn_names(model))} adapted BNs, {total} bytes")


def write_calibrated(model, act, wq, path, cfg, bits):
    """The PyTorch-calibrated model in zoa's calibrated-file format (resnet::save): U8 weight codes
    clamp(round(w·fl(1/s)) + z, 0, 2^b − 1), F32 biases and BatchNorms, and per module
    <m>.{weight,input}_quant.{config,scale,zero_point} (config = [format 1, kind 1 uniform, scheme 1 asymmetric,
    granularity (1 per channel / 0 per tensor), bits, 0, 0])."""
    t = {}
    for name, m in quant_modules(model):
        s, z, b = wq[name]
        w = m.weight.detach().reshape(m.weight.shape[0], -1)
        codes = torch.clamp(torch.round(w * (1.0 / s).reshape(-1, 1)) + z.reshape(-1, 1).float(), 0, 2 ** b - 1)
        t[name + ".weight"] = codes.reshape(m.weight.shape).to(torch.uint8)
        if m.bias is not None:
            t[name + ".bias"] = m.bias.detach()
        t[name + ".weight_quant.config"] = torch.tensor([1.0, 1.0, 1.0, 1.0, float(b), 0.0, 0.0])
        t[name + ".weight_quant.scale"] = s.float()
        t[name + ".weight_quant.zero_point"] = z.float()
        sa, za, ba = act[site_of(name)]
        t[name + ".input_quant.config"] = torch.tensor([1.0, 1.0, 1.0, 0.0, float(ba), 0.0, 0.0])
        t[name + ".input_quant.scale"] = sa.reshape(1).float()
        t[name + ".input_quant.zero_point"] = torch.tensor([float(za)])
    for k, v in model.state_dict().items():
        if ".bn" in k or k.startswith("bn1.") or "downsample.1" in k:
            if not k.endswith("num_batches_tracked"):
                t[k] = v.detach()
    write_safetensors(path, {k: v.contiguous() for k, v in t.items()},
                      {"zoa.arch": "resnet", "zoa.config": json.dumps(cfg, sort_keys=True),
                       "zoa.quant": json.dumps({"activation_bits": bits, "scheme": "mqbench_academic",
                                                "weight_bits": bits}, sort_keys=True)})


def full_size(out_dir):
    g = torch.Generator().manual_seed(50)
    torch.manual_seed(50)
    model = models.build_model("resnet", dict(block="bottleneck", layers=[3, 4, 6, 3], widths=[64, 128, 256, 512],
                                              in_chans=3, num_classes=1000, stem="imagenet"))
    for m in model.modules():  # no zero-init residual branches; cumulative running statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data = 1.0 + 0.2 * torch.randn(m.num_features, generator=g)
            m.bias.data = 0.1 * torch.randn(m.num_features, generator=g)
            m.momentum = None
    model.fc.bias.data = 0.1 * torch.randn(1000, generator=g)
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(8, 3, 224, 224, generator=g))
    model.eval()
    cfg = models.model_config(model)
    os.makedirs(out_dir, exist_ok=True)
    save_state_dict(os.path.join(out_dir, "resnet50.safetensors"), model.state_dict(),
                    {"zoa.arch": "resnet", "zoa.config": json.dumps(cfg, sort_keys=True)})
    x = torch.randn(4, 3, 224, 224, generator=g)
    with torch.no_grad():
        logits, feats, _ = forward(model, x)
        blogits, _, _ = forward(copy.deepcopy(model).train(), x)
    act, wq = calibrate(model, [x], 8)  # MQBench W8A8 on the same 4 images, one observer batch
    qlogits, _, _ = quant_forward(model, x, act, wq)
    write_calibrated(model, act, wq, os.path.join(out_dir, "resnet50_w8a8.safetensors"), cfg, 8)
    names = [n for n, _ in quant_modules(model)]
    write_safetensors(os.path.join(out_dir, "resnet50_golden.safetensors"),
                      {"input": x, "eval.logits": logits.contiguous(), "eval.features": torch.cat(feats, 1),
                       "batch.logits": blogits.contiguous(), "w8a8.logits": qlogits.contiguous(),
                       "w8a8.input_scale": torch.stack([act[site_of(n)][0] for n in names]),
                       "w8a8.input_zero_point": torch.tensor([float(act[site_of(n)][1]) for n in names]),
                       "w8a8.weight_scale_sum": torch.stack([wq[n][0].double().sum().float() for n in names])})
    print(f"{out_dir}: resnet50 written; eval top-1 {logits.argmax(1).tolist()}, max |logit| "
          f"{logits.abs().max().item():.4g}")


def main():
    torch.set_num_threads(1)
    if len(sys.argv) == 3 and sys.argv[1] == "--full-size":
        torch.set_num_threads(2)
        full_size(sys.argv[2])
        return
    for name, spec in CASES.items():
        make_case(name, spec)


if __name__ == "__main__":
    main()
