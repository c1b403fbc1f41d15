#!/usr/bin/env python3
# zoa — generates tests/fixtures/models/: a tiny random-weight ViT in timm AND torchvision names, input images, and
# PyTorch fp32 logits / ZOA features / embedding statistics (plain, with FOA prompts, with modified LayerNorm affine
# parameters, with an activation shift) for zoa's golden ViT tests.
# SPDX-License-Identifier: MIT
#
# Run with Debian's torch:  /usr/bin/python3 tools/reference/gen_vit_fixture.py
# Files (all safetensors, written with tools/reference/safetensors_io.py):
#   vit_tiny_timm.safetensors         weights, timm keys, metadata zoa.arch / zoa.config / zoa.preprocess / class names
#   vit_tiny_torchvision.safetensors  the same weights, torchvision VisionTransformer keys, no metadata; checked here
#                                     against torchvision.models.VisionTransformer itself
#   vit_golden.safetensors            inputs and reference outputs (see GOLDEN below)
#   img_0.png, img_1.png              16x16 RGB images; png.logits = model((pixels/255 - mean)/std)
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import VisionTransformer, model_config  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
CFG = dict(img_size=16, patch_size=4, in_chans=3, num_classes=10, embed_dim=32, depth=4, num_heads=2, mlp_ratio=2.0,
           qkv_bias=True, ln_eps=1e-6)
MEAN, STD = [0.5, 0.4, 0.3], [0.25, 0.2, 0.3]


def randomize(model, gen):
    """Random values everywhere (LayerNorm weights around 1, every bias nonzero), so no parameter is trivial."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif name in ("cls_token", "pos_embed"):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)


def timm_to_torchvision(sd):
    """timm state-dict keys -> torchvision VisionTransformer keys (the map zoa's loader implements)."""
    top = {"patch_embed.proj.weight": "conv_proj.weight", "patch_embed.proj.bias": "conv_proj.bias",
           "cls_token": "class_token", "pos_embed": "encoder.pos_embedding", "norm.weight": "encoder.ln.weight",
           "norm.bias": "encoder.ln.bias", "head.weight": "heads.head.weight", "head.bias": "heads.head.bias"}
    blk = {"norm1": "ln_1", "norm2": "ln_2", "attn.qkv.weight": "self_attention.in_proj_weight",
           "attn.qkv.bias": "self_attention.in_proj_bias", "attn.proj": "self_attention.out_proj",
           "mlp.fc1": "mlp.0", "mlp.fc2": "mlp.3"}
    out = {}
    for k, v in sd.items():
        if k in top:
            out[top[k]] = v
            continue
        _, i, rest = k.split(".", 2)
        for a, b in blk.items():
            if rest.startswith(a):
                out[f"encoder.layers.encoder_layer_{i}." + b + rest[len(a):]] = v
                break
        else:
            raise KeyError(k)
    return out


@torch.no_grad()
def reference(model, x, prompt=None, norm_params=None, adapted=(), shift=None):
    """The ViT forward exactly as zoa defines its adaptation outputs (zoa_features in models.py, extended):
    prompts inserted after the class token without position embedding; blocks[i].norm1/norm2 of the `adapted`
    blocks use the affine parameters from the flat `norm_params` ([w, b] of norm1 then norm2 per adapted block);
    features f_i = blocks[i+1].norm1(x_i[:, 0]) (i < depth-1), norm(x_last[:, 0]); embedding stats over the patch
    tokens after the position embedding."""
    d = model.config["embed_dim"]
    tokens = model.embed(x)
    emb = tokens[:, 1:]
    stats = (emb.mean(dim=(0, 1)), emb.var(dim=(0, 1), unbiased=True))
    if prompt is not None:
        p = prompt.reshape(1, -1, d).expand(x.shape[0], -1, -1)
        tokens = torch.cat([tokens[:, :1], p, tokens[:, 1:]], dim=1)
    affine = {}
    if norm_params is not None:
        off = 0
        for i in adapted:
            for which in ("norm1", "norm2"):
                affine[(i, which)] = (norm_params[off:off + d], norm_params[off + d:off + 2 * d])
                off += 2 * d

    def ln(i, which, v):
        mod = getattr(model.blocks[i], which)
        w, b = affine.get((i, which), (mod.weight, mod.bias))
        return F.layer_norm(v, (d,), w, b, mod.eps)

    feats = []
    depth = len(model.blocks)
    for i, blk in enumerate(model.blocks):
        h = ln(i, "norm1", tokens)
        if i > 0:
            feats.append(h[:, 0])
        tokens = tokens + blk.attn(h)
        tokens = tokens + blk.mlp(ln(i, "norm2", tokens))
    last = model.norm(tokens[:, 0])
    feats.append(last)
    out = {"logits": model.head(last), "features": torch.cat(feats, dim=1)}
    if shift is not None:
        out["shifted_logits"] = model.head(last + shift)
    return out, stats


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20250901)
    torch.manual_seed(0)
    model = VisionTransformer(**CFG).eval()
    randomize(model, gen)
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    cfg = model_config(model)
    pre = {"mean": MEAN, "std": STD, "interpolation": "none", "input_size": [3, 16, 16], "pixel_scale": "x/255"}
    meta = {"format": "pt", "zoa.arch": "vit", "zoa.config": json.dumps(cfg, sort_keys=True),
            "zoa.preprocess": json.dumps(pre, sort_keys=True),
            "zoa.class_names": json.dumps([f"class{i}" for i in range(10)])}
    write_safetensors(os.path.join(OUT, "vit_tiny_timm.safetensors"), sd, meta)

    # torchvision names, verified against torchvision's own VisionTransformer
    tv_sd = timm_to_torchvision(sd)
    write_safetensors(os.path.join(OUT, "vit_tiny_torchvision.safetensors"), tv_sd)
    from torchvision.models.vision_transformer import VisionTransformer as TVViT
    tv = TVViT(image_size=16, patch_size=4, num_layers=4, num_heads=2, hidden_dim=32, mlp_dim=64,
               num_classes=10).eval()
    tv.load_state_dict(tv_sd, strict=True)

    d, depth = CFG["embed_dim"], CFG["depth"]
    n = 16
    x = torch.randn(n, 3, 16, 16, generator=gen)
    base, (emean, evar) = reference(model, x)
    assert torch.allclose(base["logits"], model(x), atol=1e-5)
    tv_err = (tv(x) - base["logits"]).abs().max().item()
    assert tv_err < 1e-4, tv_err

    prompt = 0.5 * torch.randn(2, d, generator=gen)
    with_prompt, _ = reference(model, x[:4], prompt=prompt)
    adapted = list(range(1, depth - 1 - (depth + 3) // 4 + 1))  # zoa's default: blocks 1 .. depth-1-ceil(depth/4)
    norm_params = []
    for i in adapted:
        for which in ("norm1", "norm2"):
            mod = getattr(model.blocks[i], which)
            norm_params += [mod.weight + 0.3 * torch.randn(d, generator=gen), mod.bias + 0.3 * torch.randn(d, generator=gen)]
    norm_params = torch.cat(norm_params)
    shift = 0.2 * torch.randn(d, generator=gen)
    with_norms, _ = reference(model, x[:4], norm_params=norm_params, adapted=adapted, shift=shift)

    # two PNG images through the file's preprocessing (already 16x16: no resampling)
    rng = np.random.default_rng(7)
    pix = rng.integers(0, 256, size=(2, 16, 16, 3), dtype=np.uint8)
    for i in range(2):
        Image.fromarray(pix[i], "RGB").save(os.path.join(OUT, f"img_{i}.png"))
    xp = torch.from_numpy(pix.astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    xp = (xp - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    png_logits = model(xp)

    golden = {
        "input": x, "logits": base["logits"], "features": base["features"],
        "embed_mean": emean, "embed_var": evar,
        "prompt": prompt, "prompt.logits": with_prompt["logits"], "prompt.features": with_prompt["features"],
        "norm_params": norm_params, "adapted_blocks": torch.tensor(adapted, dtype=torch.int32),
        "norms.logits": with_norms["logits"], "norms.features": with_norms["features"],
        "shift": shift, "norms.shifted_logits": with_norms["shifted_logits"],
        "png.logits": png_logits,
    }
    write_safetensors(os.path.join(OUT, "vit_golden.safetensors"),
                      {k: v.detach().contiguous() for k, v in golden.items()},
                      {"generator": "tools/reference/gen_vit_fixture.py", "torch": torch.__version__})
    print(f"wrote {OUT}: torchvision max |diff| {tv_err:.3g}, max |logit| {base['logits'].abs().max().item():.3g}")


if __name__ == "__main__":
    main()
