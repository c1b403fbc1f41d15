#!/usr/bin/python3
# zoa — generates PyTorch golden values for the element-wise/reduction kernels (tests/fixtures/elementwise.json)
# SPDX-License-Identifier: MIT
"""Writes tests/fixtures/elementwise.json (deterministic; rerun by hand and commit the output).

For a few small deterministic float32 inputs it records what PyTorch computes for

* F.layer_norm (biased variance, eps inside the sqrt),
* F.batch_norm(training=True) with no running stats (ZOA's ResNet mode), the batch mean and biased variance,
  and F.batch_norm(training=False) with running statistics,
* F.gelu (approximate='none', the exact-erf nn.GELU default; the float64 golden is 0.5·x·erfc(−x/√2), the same
  function without the cancellation of 1 + erf that torch suffers for x ≪ 0 even in float64),
* torch.softmax over the last dim,
* torch.std_mean(dim=0) (unbiased, ZOA's feature statistics), torch.var_mean over dims (0, 1) of x[:, 1:] (ViT
  embedding statistics) and over (0, 2, 3) of NCHW (ResNet conv1 statistics),
* the quantization formulas clamp(torch.round(x / scale) + zp, qmin, qmax) (torch.round = half to even), per
  tensor and per channel, and scale * (q - zp).

Each float output is stored twice: "<name>" is PyTorch evaluated in float64 on the same float32 inputs (the exact
semantics without float32 rounding noise; the C++ test holds zoa to 1e-5 relative against it) and "<name>_f32"
is PyTorch's float32 result (what a PyTorch user sees; the test reports zoa's max abs difference to it).

Needs Debian's python3-torch. Run: /usr/bin/python3 tools/reference/gen_elementwise_fixture.py
"""
import json
import re
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "elementwise.json"


def f32(t):
    """float32 tensor → list of floats printed with 9 significant digits (round-trips float32 exactly)."""
    return [float("%.9g" % v) for v in t.detach().to(torch.float32).reshape(-1).tolist()]


def f64(t):
    return [float(v) for v in t.detach().to(torch.float64).reshape(-1).tolist()]


def both(name, fn, *args, **kwargs):
    """{name: fn in float64, name_f32: fn in float32} for float32 tensor arguments."""
    a64 = [a.double() if isinstance(a, torch.Tensor) else a for a in args]
    return {name: f64(fn(*a64, **kwargs)), name + "_f32": f32(fn(*args, **kwargs))}


def layer_norm_case(g, rows, dim, eps, offset, spread):
    x = (torch.randn(rows, dim, generator=g) * spread + offset).float()
    w = (1.0 + 0.3 * torch.randn(dim, generator=g)).float()
    b = (0.2 * torch.randn(dim, generator=g)).float()
    case = {"rows": rows, "dim": dim, "eps": eps, "x": f32(x), "weight": f32(w), "bias": f32(b)}
    case.update(both("y", lambda x_, w_, b_: F.layer_norm(x_, (dim,), w_, b_, eps), x, w, b))
    return case


def batch_norm_case(g, n, c, h, w, eps):
    x = (torch.randn(n, c, h, w, generator=g) * 1.5 + 0.7).float()
    weight = (1.0 + 0.3 * torch.randn(c, generator=g)).float()
    bias = (0.2 * torch.randn(c, generator=g)).float()
    rm = (0.5 * torch.randn(c, generator=g)).float()
    rv = (0.5 + torch.rand(c, generator=g)).float()
    case = {"n": n, "c": c, "hw": h * w, "eps": eps, "x": f32(x), "weight": f32(weight), "bias": f32(bias),
            "running_mean": f32(rm), "running_var": f32(rv)}
    case.update(both("y_train", lambda x_, w_, b_: F.batch_norm(x_, None, None, w_, b_, training=True, eps=eps),
                     x, weight, bias))
    case.update(both("batch_var", lambda x_: torch.var_mean(x_, dim=(0, 2, 3), unbiased=False)[0], x))
    case.update(both("batch_mean", lambda x_: torch.var_mean(x_, dim=(0, 2, 3), unbiased=False)[1], x))
    case.update(both("y_eval", lambda x_, m_, v_, w_, b_: F.batch_norm(x_, m_, v_, w_, b_, training=False, eps=eps),
                     x, rm, rv, weight, bias))
    return case


def main():
    g = torch.Generator().manual_seed(20250802)
    fx = {"generator": "tools/reference/gen_elementwise_fixture.py", "torch": torch.__version__}

    fx["layer_norm"] = [layer_norm_case(g, 3, 37, 1e-6, 0.5, 2.0),    # timm ViT eps
                        layer_norm_case(g, 2, 64, 1e-5, 50.0, 0.3)]   # |mean| >> std

    fx["batch_norm"] = [batch_norm_case(g, 2, 3, 5, 4, 1e-5), batch_norm_case(g, 3, 2, 3, 3, 1e-3)]

    xg = torch.cat([torch.linspace(-8.0, 8.0, 161), 3.0 * torch.randn(40, generator=g)]).float()
    # torch's GELU evaluates 1 + erf(x/sqrt(2)), which cancels for x << 0 even in float64 (10 % error at x = -8).
    # The float64 golden therefore uses the identical function 0.5*x*erfc(-x/sqrt(2)); where both are
    # well conditioned they must agree.
    exact = lambda t: 0.5 * t * torch.erfc(-t / 2.0 ** 0.5)
    well = xg.double() > -3.0
    assert torch.allclose(exact(xg.double())[well], F.gelu(xg.double())[well], rtol=1e-12, atol=0.0)
    fx["gelu"] = {"x": f32(xg), "y": f64(exact(xg.double())), "y_f32": f32(F.gelu(xg))}

    xs = (3.0 * torch.randn(5, 13, generator=g)).float()
    xs[3] += 100.0                # large logits: only the max subtraction keeps exp finite
    xs[4, 1::3] = -1e30           # masked entries (finite stand-in for -inf: JSON has no infinities)
    fx["softmax"] = {"rows": 5, "cols": 13, "x": f32(xs)}
    fx["softmax"].update(both("y", lambda t: torch.softmax(t, dim=-1), xs))

    xf = (torch.randn(6, 50, generator=g) * torch.linspace(0.1, 5.0, 50) + torch.linspace(-3.0, 3.0, 50)).float()
    fx["feature_std_mean"] = {"batch": 6, "dim": 50, "x": f32(xf)}
    fx["feature_std_mean"].update(both("std", lambda t: torch.std_mean(t, dim=0)[0], xf))
    fx["feature_std_mean"].update(both("mean", lambda t: torch.std_mean(t, dim=0)[1], xf))

    xt = (torch.randn(2, 5, 16, generator=g) * 0.8 + 0.1).float()
    xt[:, 0] = 40.0               # the CLS token, excluded by x[:, 1:]
    fx["token_var_mean"] = {"batch": 2, "tokens": 5, "dim": 16, "skip_tokens": 1, "x": f32(xt)}
    fx["token_var_mean"].update(both("var", lambda t: torch.var_mean(t[:, 1:], dim=(0, 1))[0], xt))
    fx["token_var_mean"].update(both("mean", lambda t: torch.var_mean(t[:, 1:], dim=(0, 1))[1], xt))

    xc = (torch.randn(3, 4, 3, 5, generator=g) * 2.0 - 1.0).float()
    fx["channel_var_mean"] = {"n": 3, "c": 4, "hw": 15, "x": f32(xc)}
    fx["channel_var_mean"].update(both("var", lambda t: torch.var_mean(t, dim=(0, 2, 3))[0], xc))
    fx["channel_var_mean"].update(both("mean", lambda t: torch.var_mean(t, dim=(0, 2, 3))[1], xc))

    # Quantization: exact ties (k + 1/2)·scale with a power-of-two scale, random values, saturation.
    scale, zp, qmin, qmax = 0.0625, 3, -128, 127
    ties = (torch.arange(-140, 140, 7, dtype=torch.float32) + 0.5) * scale
    xq = torch.cat([ties, 12.0 * torch.randn(60, generator=g), torch.tensor([1e6, -1e6, 0.0, -0.0])]).float()
    q = torch.clamp(torch.round(xq / scale) + zp, qmin, qmax)
    fx["quantize_per_tensor"] = {"scale": scale, "zero_point": zp, "qmin": qmin, "qmax": qmax, "x": f32(xq),
                                 "q": [int(v) for v in q.tolist()],
                                 "dequantized": f32(scale * (q - zp))}
    scales = torch.tensor([0.05, 0.125, 0.0173, 1.0], dtype=torch.float32)
    zps = torch.tensor([0, 10, 255, 128])
    xpc = (torch.randn(3, 4, 6, generator=g) * 5.0).float()
    qpc = torch.clamp(torch.round(xpc / scales.view(1, 4, 1)) + zps.view(1, 4, 1), 0, 255)
    fx["quantize_per_channel"] = {"outer": 3, "channels": 4, "inner": 6, "qmin": 0, "qmax": 255,
                                  "scale": f32(scales), "zero_point": zps.tolist(), "x": f32(xpc),
                                  "q": [int(v) for v in qpc.reshape(-1).tolist()],
                                  "dequantized": f32(scales.view(1, 4, 1) * (qpc - zps.view(1, 4, 1)))}

    text = json.dumps(fx, indent=1)
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text)
    OUT.write_text(text + "\n")
    print(f"wrote {OUT} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
