#!/usr/bin/env python3
# zoa — reference PyTorch models with timm (ViT) and torchvision (ResNet) state-dict names
# SPDX-License-Identifier: MIT
"""Reference PyTorch definitions of the two model families zoa implements in C++.

Only Debian's python3-torch is required (no timm). The state-dict keys are exactly those of
timm `VisionTransformer` (class token, global_pool='token', no layer-scale, no fc_norm, no pre-norm) and of
torchvision `ResNet` (BasicBlock / Bottleneck v1.5), so files exported from here load into timm/torchvision and
vice versa (the ResNet small-image stem only changes conv1's kernel shape and removes the max-pool, which has no
parameters).

Public API:
    VisionTransformer(img_size, patch_size, in_chans, num_classes, embed_dim, depth, num_heads, mlp_ratio,
                      qkv_bias=True, ln_eps=1e-6)
    ResNet(block="basic"|"bottleneck", layers=[2,2,2,2], widths=[64,128,256,512], in_chans=3, num_classes=1000,
           stem="imagenet"|"small")
    build_model(arch, config) -> nn.Module         arch "vit" / "resnet", config the dict stored in "zoa.config"
    model_config(model) -> dict                     the "zoa.config" dict of a model built here
    zoa_features(model, x) -> dict                  logits, per-layer ZOA features, embedding output (see below)
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------------------------
# ViT (timm names)
# ---------------------------------------------------------------------------------------------------------------


class PatchEmbed(nn.Module):
    """timm PatchEmbed: tokens = Conv2d(k=s=patch)(x).flatten(2).transpose(1, 2), row-major over the patch grid."""

    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        if img_size % patch_size != 0:
            raise ValueError(f"img_size {img_size} is not a multiple of patch_size {patch_size}")
        self.grid = img_size // patch_size
        self.num_patches = self.grid * self.grid
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size, bias=True)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # [B, N, D]


class Attention(nn.Module):
    """timm Attention. qkv(x) -> reshape(B, N, 3, H, D/H) -> permute(2, 0, 3, 1, 4):
    output feature o = s*D + h*(D/H) + d for s in {q, k, v}.
    attn = softmax((q * (D/H)^-0.5) k^T) over keys; out = proj(concat_h(attn v))."""

    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"embed_dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each [B, H, N, hd]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class Mlp(nn.Module):
    """timm Mlp: fc2(GELU_erf(fc1(x)))."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact erf GELU: 0.5 x (1 + erf(x / sqrt 2))
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x = x + attn(norm1(x)); x = x + mlp(norm2(x))."""

    def __init__(self, dim, num_heads, mlp_ratio, qkv_bias, ln_eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=ln_eps)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=ln_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x


class VisionTransformer(nn.Module):
    """timm VisionTransformer subset: class token, learned pos_embed over [cls, patches], pre-norm blocks,
    final LayerNorm `norm`, classifier `head` on the CLS token (global_pool='token'). No dropout."""

    def __init__(self, img_size=28, patch_size=4, in_chans=3, num_classes=10, embed_dim=128, depth=6, num_heads=4,
                 mlp_ratio=2.0, qkv_bias=True, ln_eps=1e-6):
        super().__init__()
        self.config = dict(img_size=img_size, patch_size=patch_size, in_chans=in_chans, num_classes=num_classes,
                           embed_dim=embed_dim, depth=depth, num_heads=num_heads, mlp_ratio=mlp_ratio,
                           qkv_bias=qkv_bias, ln_eps=ln_eps, class_token=True, global_pool="token")
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.patch_embed.num_patches, embed_dim))
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, mlp_ratio, qkv_bias, ln_eps) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=ln_eps)
        self.head = nn.Linear(embed_dim, num_classes)
        self._init_weights()

    def _init_weights(self):
        # timm-like init: trunc_normal(0.02) for pos_embed/Linear, normal(1e-6) for cls_token, zero biases
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.patch_embed.proj.weight
        nn.init.trunc_normal_(w.view(w.shape[0], -1), std=math.sqrt(1.0 / w[0].numel()))
        nn.init.zeros_(self.patch_embed.proj.bias)

    def embed(self, x):
        """timm _pos_embed with class token: cat([cls, patches]) + pos_embed. Returns [B, 1+N, D]."""
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.pos_embed

    def forward(self, x):
        x = self.blocks(self.embed(x))
        return self.head(self.norm(x)[:, 0])


# ---------------------------------------------------------------------------------------------------------------
# ResNet (torchvision names)
# ---------------------------------------------------------------------------------------------------------------


def _conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """torchvision BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + identity), stride on conv1."""

    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = _conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """torchvision Bottleneck (v1.5, stride on the 3x3 conv2), expansion 4, groups 1, base width 64."""

    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = _conv1x1(cin, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision ResNet with configurable stage widths and stem.

    stem "imagenet": conv1 7x7 stride 2 pad 3, bn1, relu, maxpool 3/2/1 (torchvision).
    stem "small":    conv1 3x3 stride 1 pad 1, bn1, relu, no max-pool (for 28x28 / 32x32 inputs).
    Stage s (s = 1..4) has layers[s-1] blocks of width widths[s-1]; stride 2 in the first block of stages 2..4;
    downsample = conv1x1(stride) + BN whenever stride != 1 or the channel count changes. Then global average
    pooling and `fc`. BatchNorm eps 1e-5, momentum 0.1.
    """

    def __init__(self, block="basic", layers=(2, 2, 2, 2), widths=(64, 128, 256, 512), in_chans=3, num_classes=1000,
                 stem="imagenet"):
        super().__init__()
        if block not in ("basic", "bottleneck"):
            raise ValueError(f"block must be 'basic' or 'bottleneck', got {block!r}")
        if stem not in ("imagenet", "small"):
            raise ValueError(f"stem must be 'imagenet' or 'small', got {stem!r}")
        if len(layers) != 4 or len(widths) != 4:
            raise ValueError(f"need 4 stages, got layers={layers} widths={widths}")
        self.config = dict(block=block, layers=list(layers), widths=list(widths), in_chans=in_chans,
                           num_classes=num_classes, stem=stem, bn_eps=1e-5)
        cls = BasicBlock if block == "basic" else Bottleneck
        w0 = widths[0]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_chans, w0, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(in_chans, w0, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(w0)
        self.relu = nn.ReLU(inplace=True)
        cin = w0
        stages = []
        for s, (n, w) in enumerate(zip(layers, widths)):
            stride = 1 if s == 0 else 2
            blocks = []
            for j in range(n):
                st = stride if j == 0 else 1
                down = None
                if st != 1 or cin != w * cls.expansion:
                    down = nn.Sequential(_conv1x1(cin, w * cls.expansion, st), nn.BatchNorm2d(w * cls.expansion))
                blocks.append(cls(cin, w, st, down))
                cin = w * cls.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        # zero-init the last BN of each residual branch (torchvision zero_init_residual=True)
        for m in self.modules():
            if isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)
            elif isinstance(m, Bottleneck):
                nn.init.zeros_(m.bn3.weight)

    def stem(self, x):
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward(self, x):
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------


def build_model(arch, config):
    """Build a model from an architecture name ("vit" / "resnet") and the "zoa.config" dict."""
    if arch == "vit":
        keys = ("img_size", "patch_size", "in_chans", "num_classes", "embed_dim", "depth", "num_heads", "mlp_ratio",
                "qkv_bias", "ln_eps")
        return VisionTransformer(**{k: config[k] for k in keys})
    if arch == "resnet":
        keys = ("block", "layers", "widths", "in_chans", "num_classes", "stem")
        return ResNet(**{k: config[k] for k in keys})
    raise ValueError(f"unknown arch {arch!r} (expected 'vit' or 'resnet')")


def model_config(model):
    """The architecture config dict stored as JSON in the "zoa.config" metadata entry."""
    return dict(model.config)


@torch.no_grad()
def zoa_features(model, x):
    """Forward `x` ([B, C, H, W], already normalized) and collect what ZOA needs, in eval mode as given.

    Returns a dict:
      "logits":    [B, num_classes]
      "features":  list of per-layer features (see docs/algorithm.md §1.7)
         ViT:    for i in 0..depth-1, f_i = blocks[i+1].norm1(x_i[:, 0]) for i < depth-1 and norm(x_i[:, 0]) for
                 the last block, where x_i is the token sequence after block i and [:, 0] is the CLS token
                 -> depth tensors of [B, D]
         ResNet: global-average-pooled outputs of layer1..layer4 -> 4 tensors of [B, C_s]
      "features_concat": the features concatenated along dim 1 ([B, sum of dims])
      "embedding": domain-shift detection input
         ViT:    tokens after the position embedding, without CLS -> [B, N, D]
         ResNet: conv1 output before bn1 -> [B, C0, H0, W0]
    The model's mode is not changed (call model.eval() for running-statistics BatchNorm).
    """
    if isinstance(model, VisionTransformer):
        tokens = model.embed(x)
        embedding = tokens[:, 1:].clone()
        feats = []
        depth = len(model.blocks)
        for i, blk in enumerate(model.blocks):
            tokens = blk(tokens)
            norm = model.blocks[i + 1].norm1 if i + 1 < depth else model.norm
            feats.append(norm(tokens[:, 0]))
        logits = model.head(model.norm(tokens)[:, 0])
    elif isinstance(model, ResNet):
        embedding = model.conv1(x)
        h = model.maxpool(model.relu(model.bn1(embedding)))
        feats = []
        for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
            h = layer(h)
            feats.append(h.mean(dim=(2, 3)))
        logits = model.fc(feats[-1])
    else:
        raise TypeError(f"zoa_features: unsupported model type {type(model).__name__}")
    return {"logits": logits, "features": feats, "features_concat": torch.cat(feats, dim=1), "embedding": embedding}


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def _self_check():
    torch.manual_seed(0)
    for arch, cfg in (("vit", dict(img_size=28, patch_size=4, in_chans=3, num_classes=10, embed_dim=32, depth=3,
                                   num_heads=2, mlp_ratio=2.0, qkv_bias=True, ln_eps=1e-6)),
                      ("resnet", dict(block="basic", layers=[1, 1, 1, 1], widths=[8, 8, 16, 16], in_chans=3,
                                      num_classes=10, stem="small")),
                      ("resnet", dict(block="bottleneck", layers=[1, 2, 1, 1], widths=[4, 8, 8, 8], in_chans=3,
                                      num_classes=10, stem="imagenet"))):
        m = build_model(arch, cfg).eval()
        x = torch.randn(3, 3, 28, 28)
        out = zoa_features(m, x)
        assert torch.allclose(out["logits"], m(x), atol=1e-5), arch
        print(arch, cfg.get("block", ""), "params", count_parameters(m), "keys", len(m.state_dict()),
              [tuple(f.shape) for f in out["features"]], tuple(out["embedding"].shape))


if __name__ == "__main__":
    _self_check()
