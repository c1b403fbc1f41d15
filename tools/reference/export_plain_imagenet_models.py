#!/usr/bin/python3
# zoa — writes torchvision ResNet-18/-50 and timm-layout ViT-B/16 as *plain* safetensors files, as
# safetensors.torch.save_file(model.state_dict()) exports them: no zoa.* metadata at all (zoa stream/predict then take
# the architecture from --arch or the tensor names and the preprocessing from the family default or the flags).
# SPDX-License-Identifier: MIT
"""Usage: export_plain_imagenet_models.py OUT_DIR [--pretrained] [--models NAME[,NAME...]]

Random weights (seed 0) by default: this machine has no internet and no timm, and time and memory do not depend on
the values. With --pretrained, torchvision's ImageNet ResNet-50 weights are used (they must already be in torch's
cache); for timm's pretrained ViT-B/16 run, on a machine with timm:
    m = timm.create_model("vit_base_patch16_224", pretrained=True); safetensors.torch.save_file(m.state_dict(), P)
Writes OUT_DIR/<name>.safetensors for each of --models (default resnet50,vit_base_patch16_224; also resnet18);
existing files are kept.
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import VisionTransformer  # noqa: E402  (timm's VisionTransformer forward and key names)
from safetensors_io import save_state_dict  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    pretrained = "--pretrained" in sys.argv[2:]
    wanted = ["resnet50", "vit_base_patch16_224"]
    if "--models" in sys.argv[2:-1]:
        wanted = sys.argv[sys.argv.index("--models") + 1].split(",")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    models = {
        "resnet18": lambda: torchvision.models.resnet18(weights="IMAGENET1K_V1" if pretrained else None),
        "resnet50": lambda: torchvision.models.resnet50(weights="IMAGENET1K_V1" if pretrained else None),
        "vit_base_patch16_224": lambda: VisionTransformer(img_size=224, patch_size=16, in_chans=3, num_classes=1000,
                                                          embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0,
                                                          qkv_bias=True, ln_eps=1e-6),
    }
    unknown = [m for m in wanted if m not in models]
    if unknown:
        sys.exit(f"--models: unknown {','.join(unknown)} (expected some of {','.join(models)})")
    for name in wanted:
        build = models[name]
        path = os.path.join(out, name + ".safetensors")
        if os.path.exists(path):
            print(f"{path} exists, kept")
            continue
        model = build().eval()
        save_state_dict(path + ".tmp", model.state_dict(), {"format": "pt"})
        os.replace(path + ".tmp", path)
        print(f"wrote {path} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, no zoa metadata)")


if __name__ == "__main__":
    main()
