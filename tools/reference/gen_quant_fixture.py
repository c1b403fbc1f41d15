#!/usr/bin/env python3
# zoa — generates tests/fixtures/quant_golden.json: PyTorch fake-quant (PTQ4ViT / MQBench formulas, written here
# with torch ops in the order the reference code applies them) for zoa's golden quantization test.
# SPDX-License-Identifier: MIT
#
# Run with Debian's torch:  /usr/bin/python3 tools/reference/gen_quant_fixture.py
# Sections:
#   symmetric     Q(x;Δ,b) = clamp(round(x/Δ), −2^(b−1), 2^(b−1)−1)·Δ               (PTQ4ViT quant_input/weight)
#   affine        torch.fake_quantize_per_{tensor,channel}_affine                     (MQBench FixedFakeQuantize)
#   post_gelu     clamp(round(x/Δ₊),0,qmax−1)·Δ₊ + clamp(round(x/Δ₋),−qmax,0)·Δ₋      (PostGelu...QuantLinear)
#   post_softmax  round(clamp(x,split,1)·q)/q [0..q] + clamp(round(clamp(x,0,split)/Δ_low),0,q)·Δ_low   (SoS matmul)
#   linear        F.linear(x̂, Ŵ, b), Ŵ with 3 row-block scales, x̂ per-tensor or post-GELU twin
#   matmul        Â @ B̂ per head (uniform A) and with the SoS A
#   mse_observer  MQBench MSEObserver / EMAMSEObserver range search (torch observer qparams + fake_quantize)
#   search        PTQ4ViT batching search: linear (qkv-like, L2), linear (fc2-like post-GELU, hessian),
#                 matmul (attn·v-like SoS split + per-head B, L2)
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "quant_golden.json")
GELU_NEG = 0.16997124254703522
EQ_ALPHA, EQ_BETA, EQ_N, ROUNDS = 0.01, 1.2, 100, 3


def dy(t):
    """Round to a multiple of 2^-10: exact in float32 and short in JSON (keeps the fixture small)."""
    return (t * 1024).round() / 1024


def fl(t):
    return [float(v) for v in t.reshape(-1).tolist()]


# ---- quantizer formulas (reference op order) ---------------------------------------------------------------------
def q_sym(x, delta, bits):
    qmax = 2 ** (bits - 1)
    return (x / delta).round().clamp(-qmax, qmax - 1) * delta


def q_gelu(x, pos, bits):
    qmax = 2 ** (bits - 1)
    neg = GELU_NEG / qmax
    return (x / pos).round().clamp(0, qmax - 1) * pos + (x / neg).round().clamp(-qmax, 0) * neg


def q_sos(x, split, bits):
    q = 2 ** (bits - 1) - 1
    low = split / q
    hi = (x.clamp(split, 1) * q).round().clamp(0, q) / q
    lo = (x.clamp(0, split) / low).round().clamp(0, q) * low
    return hi + lo


def q_rows(w, deltas, bits):  # weight [out, in] with len(deltas) row blocks
    nb = deltas.numel()
    return q_sym(w.view(nb, -1), deltas.view(nb, 1), bits).view_as(w)


def q_heads(x, deltas, bits):  # x [S, H, r, c], one Δ per head
    return q_sym(x, deltas.view(1, -1, 1, 1), bits)


# ---- sections ----------------------------------------------------------------------------------------------------
def section_symmetric(g):
    ties = torch.tensor([0.125, 0.375, 0.625, 0.875, -0.125, -0.375, -0.625, 1.125, 0.0, -0.0, 100.0, -100.0,
                         31.875, -32.125, 31.625, 1.875, 2.125])
    rand = torch.randn(24, generator=g) * 3
    cases = []
    for bits in (8, 6, 4, 2):
        for delta, x in ((0.25, ties), (0.0371, rand), (0.25, rand)):
            d = torch.tensor(delta, dtype=torch.float32)
            cases.append({"bits": bits, "scale": float(d), "x": fl(x), "y": fl(q_sym(x, d, bits))})
    return cases


def section_affine(g):
    cases = []
    x = torch.randn(32, generator=g) * 2 + 0.5
    for bits, scale, zp in ((8, 0.0371, 17), (4, 0.31, 3), (8, 0.25, 128)):
        y = torch.fake_quantize_per_tensor_affine(x, scale, zp, 0, 2 ** bits - 1)
        cases.append({"bits": bits, "scale": [float(torch.tensor(scale))], "zero_point": [zp], "x": fl(x), "y": fl(y)})
    w = dy(torch.randn(4, 16, generator=g))
    sc = torch.tensor([0.011, 0.02, 0.0173, 0.031])
    zp = torch.tensor([128, 120, 131, 127], dtype=torch.int32)
    y = torch.fake_quantize_per_channel_affine(w, sc, zp, 0, 0, 255)
    cases.append({"bits": 8, "scale": fl(sc), "zero_point": zp.tolist(), "x": fl(w), "y": fl(y)})
    return cases


def section_post_gelu(g):
    x = torch.cat([F.gelu(torch.randn(32, generator=g) * 3), torch.tensor([-0.17, -0.16997, 0.0, -1e-4, 1e-4, 50.0])])
    cases = []
    for bits in (8, 6, 4):
        qmax = 2 ** (bits - 1)
        pos = torch.tensor(float(x.max()) / (qmax - 0.5), dtype=torch.float32)
        cases.append({"bits": bits, "pos_scale": float(pos), "x": fl(x), "y": fl(q_gelu(x, pos, bits))})
    return cases


def section_post_softmax(g):
    s = torch.softmax(torch.randn(2, 16, generator=g) * 2.5, dim=-1).reshape(-1)
    cases = []
    for bits in (8, 6, 4):
        for i in (0, 3, 7, 12):
            split = torch.tensor(2.0 ** -i, dtype=torch.float32)
            x = torch.cat([s, torch.tensor([float(split), 0.0, 1.0, float(split) * 0.5])])
            cases.append({"bits": bits, "split": float(split), "x": fl(x), "y": fl(q_sos(x, split, bits))})
    return cases


def section_linear(g):
    x = dy(torch.randn(2, 5, 8, generator=g))
    w = dy(torch.randn(6, 8, generator=g) * 0.5)
    b = dy(torch.randn(6, generator=g) * 0.1)
    xg = F.gelu(x * 2)
    cases = []
    for bits in (8, 6, 4):
        wd = torch.tensor([0.013, 0.021, 0.017]) * (2 ** (8 - bits))
        xd = torch.tensor(0.027 * (2 ** (8 - bits)), dtype=torch.float32)
        y = F.linear(q_sym(x, xd, bits), q_rows(w, wd, bits), b)
        cases.append({"bits": bits, "input": "uniform", "w_scale": fl(wd), "x_scale": float(xd), "y": fl(y)})
        pos = torch.tensor(float(xg.max()) / (2 ** (bits - 1) - 0.5), dtype=torch.float32)
        y = F.linear(q_gelu(xg, pos, bits), q_rows(w, wd, bits), b)
        cases.append({"bits": bits, "input": "post_gelu", "w_scale": fl(wd), "x_scale": float(pos), "y": fl(y)})
    return {"samples": 2, "tokens": 5, "in": 8, "out": 6, "x": fl(x), "x_gelu": fl(xg), "w": fl(w), "b": fl(b),
            "cases": cases}


def section_matmul(g):
    a = dy(torch.randn(2, 2, 4, 5, generator=g))
    bm = dy(torch.randn(2, 2, 5, 3, generator=g))
    att = torch.softmax(torch.randn(2, 2, 4, 5, generator=g) * 2, dim=-1)
    cases = []
    for bits in (8, 6, 4):
        ad = torch.tensor([0.021, 0.018]) * (2 ** (8 - bits))
        bd = torch.tensor([0.024, 0.02]) * (2 ** (8 - bits))
        y = q_heads(a, ad, bits) @ q_heads(bm, bd, bits)
        cases.append({"bits": bits, "a_kind": "uniform", "a_scale": fl(ad), "split": 0.0, "b_scale": fl(bd),
                      "y": fl(y)})
        split = torch.tensor(2.0 ** -3, dtype=torch.float32)
        y = q_sos(att, split, bits) @ q_heads(bm, bd, bits)
        cases.append({"bits": bits, "a_kind": "post_softmax", "a_scale": [], "split": float(split), "b_scale": fl(bd),
                      "y": fl(y)})
    return {"samples": 2, "heads": 2, "m": 4, "k": 5, "n": 3, "a": fl(a), "a_softmax": fl(att), "b": fl(bm),
            "cases": cases}


def mse_search(x, x_min, x_max, bits, iters, per_channel):
    """MQBench MSEObserver.mse / mse_perchannel with PyTorch's own affine qparams."""
    qmax = 2 ** bits - 1
    if per_channel:
        obs = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.quint8, qscheme=torch.per_channel_affine,
                                       quant_min=0, quant_max=qmax)
        best_score = 1e10 * torch.ones_like(x_min)
        best_min, best_max = x_min.clone(), x_max.clone()
        for i in range(iters):
            new_min = x_min * (1.0 - (i * 0.01))
            new_max = x_max * (1.0 - (i * 0.01))
            scale, zp = obs._calculate_qparams(new_min, new_max)
            xq = torch.fake_quantize_per_channel_affine(x, scale, zp.int(), 0, 0, qmax)
            score = (xq - x).abs().pow(2.0).mean(dim=tuple(range(1, x.dim())))
            upd = score < best_score
            best_score[upd] = score[upd]
            best_min[upd] = new_min[upd]
            best_max[upd] = new_max[upd]
        return best_min, best_max
    obs = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine, quant_min=0, quant_max=qmax)
    best_score, best_min, best_max = 1e10, x_min, x_max
    for i in range(iters):
        new_min = x_min * (1.0 - (i * 0.01))
        new_max = x_max * (1.0 - (i * 0.01))
        scale, zp = obs._calculate_qparams(new_min, new_max)
        xq = torch.fake_quantize_per_tensor_affine(x, scale.item(), int(zp.item()), 0, qmax)
        score = (xq - x).abs().pow(2.0).mean()
        if score < best_score:
            best_score, best_min, best_max = score, new_min, new_max
    return best_min, best_max


def final_qparams(mn, mx, bits, per_channel):
    qmax = 2 ** bits - 1
    if per_channel:
        obs = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.quint8, qscheme=torch.per_channel_affine,
                                       quant_min=0, quant_max=qmax)
    else:
        obs = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine, quant_min=0, quant_max=qmax)
    s, z = obs._calculate_qparams(mn, mx)
    return fl(s), [int(v) for v in z.reshape(-1).tolist()]


def section_mse(g):
    cases = []
    act = [dy(F.relu(torch.randn(3, 40, generator=g) * 2) + 0.01 * torch.randn(3, 40, generator=g)) for _ in range(2)]
    for bits in (8, 4):
        mn, mx = torch.aminmax(act[0])
        bmin, bmax = mse_search(act[0], mn, mx, bits, 95, False)
        s, z = final_qparams(bmin, bmax, bits, False)
        cases.append({"kind": "mse_per_tensor", "bits": bits, "batches": [fl(act[0])], "channels": 1,
                      "min": [float(bmin)], "max": [float(bmax)], "scale": s, "zero_point": z})
        # EMAMSEObserver (ema 0.9) over two batches
        ema_min = ema_max = None
        for t in act:
            mn, mx = torch.aminmax(t)
            cmin, cmax = mse_search(t, mn, mx, bits, 95, False)
            if ema_min is None:
                ema_min, ema_max = cmin, cmax
            else:
                ema_min = ema_min * 0.9 + cmin * (1.0 - 0.9)
                ema_max = ema_max * 0.9 + cmax * (1.0 - 0.9)
        s, z = final_qparams(ema_min, ema_max, bits, False)
        cases.append({"kind": "ema_mse_per_tensor", "bits": bits, "batches": [fl(t) for t in act], "channels": 1,
                      "min": [float(ema_min)], "max": [float(ema_max)], "scale": s, "zero_point": z})
        w = dy(torch.randn(4, 3, 3, 3, generator=g) * torch.tensor([0.1, 0.5, 1.0, 2.0]).view(4, 1, 1, 1))
        mn, mx = torch.aminmax(w.reshape(4, -1), dim=1)
        bmin, bmax = mse_search(w, mn, mx, bits, 80, True)
        s, z = final_qparams(bmin, bmax, bits, True)
        cases.append({"kind": "mse_per_channel", "bits": bits, "batches": [fl(w)], "channels": 4,
                      "min": fl(bmin), "max": fl(bmax), "scale": s, "zero_point": z})
    return cases


# ---- PTQ4ViT search (batching calibration_step2 semantics, one batch holding all samples) -------------------------
def ratios():
    return torch.tensor([EQ_ALPHA + i * (EQ_BETA - EQ_ALPHA) / EQ_N for i in range(EQ_N + 1)])


def sim_elem(raw, out, grad, metric):
    d = raw - out
    if metric == "hessian":
        d = grad * d
    return -(d ** 2)


margins = []


def pick(sims):  # sims [eq_n, groups] → first argmax per group; record the relative gap to the runner-up
    best = sims.argmax(dim=0)
    top2 = sims.topk(2, dim=0).values
    margins.append(float(((top2[0] - top2[1]).abs() / top2[0].abs().clamp_min(1e-30)).min()))
    return best


def search_linear(x, w, b, raw, grad, n_v, bits, metric, a_kind):
    qmax = 2 ** (bits - 1)
    w_int = w.view(n_v, -1).abs().amax(dim=1) / (qmax - 0.5)
    a_int = (x.max() if a_kind == "post_gelu" else x.abs().max()) / (qmax - 0.5)
    r = ratios()
    w_cand, a_cand = r.view(-1, 1) * w_int.view(1, -1), r * a_int
    qx = (lambda t, d: q_gelu(t, d, bits)) if a_kind == "post_gelu" else (lambda t, d: q_sym(t, d, bits))
    cur_w, cur_a = w_int.clone(), a_int.clone()
    S, T, O = raw.shape
    for _ in range(ROUNDS):
        sims = []
        for i in range(EQ_N):
            out = F.linear(qx(x, cur_a), q_rows(w, w_cand[i], bits), b)
            s = sim_elem(raw, out, grad, metric).view(S, T, n_v, O // n_v).mean(-1).mean(1).sum(0)
            sims.append(s)
        wi = pick(torch.stack(sims))
        cur_w = w_cand[wi, torch.arange(n_v)]
        sims = []
        for i in range(EQ_N):
            out = F.linear(qx(x, a_cand[i]), q_rows(w, cur_w, bits), b)
            sims.append(sim_elem(raw, out, grad, metric).mean(-1).mean(1).sum(0).view(1))
        ai = pick(torch.stack(sims))
        cur_a = a_cand[ai[0]]
    return cur_w, cur_a, wi, ai


def search_sos(a, bm, raw, grad, bits, metric):
    qmax = 2 ** (bits - 1)
    b_int = bm.abs().amax(dim=(0, 2, 3)) / (qmax - 0.5)  # per head over all samples
    r = ratios()
    b_cand = r.view(-1, 1) * b_int.view(1, -1)
    splits = torch.tensor([2 ** (-i) for i in range(20)])
    cur_b, split = b_int.clone(), None
    for _ in range(ROUNDS):
        sims = []
        for i in range(len(splits)):
            out = q_sos(a, splits[i], bits) @ bm  # B unquantized during the split search
            sims.append(sim_elem(raw, out, grad, metric).mean(-1).mean(dim=(1, 2)).sum(0).view(1))
        si = pick(torch.stack(sims))
        split = splits[si[0]]
        sims = []
        for i in range(EQ_N):
            out = q_sos(a, split, bits) @ q_heads(bm, b_cand[i], bits)
            sims.append(sim_elem(raw, out, grad, metric).mean(-1).mean(2).sum(0))
        bi = pick(torch.stack(sims))
        cur_b = b_cand[bi, torch.arange(b_cand.shape[1])]
    return split, cur_b, si, bi


def section_search(g):
    out = {}
    # qkv-like: 3 row blocks, per-tensor input, L2
    x = dy(torch.randn(4, 6, 12, generator=g))
    w = dy(torch.randn(9, 12, generator=g) * torch.tensor([0.3, 0.3, 0.3, 1.0, 1.0, 1.0, 0.6, 0.6, 0.6]).view(9, 1))
    b = dy(torch.randn(9, generator=g) * 0.1)
    raw = F.linear(x, w, b)
    res = []
    for bits in (8, 4):
        cw, ca, wi, ai = search_linear(x, w, b, raw, None, 3, bits, "L2_norm", "uniform")
        res.append({"bits": bits, "w_scale": fl(cw), "x_scale": float(ca), "w_index": wi.tolist(),
                    "x_index": ai.tolist()})
    out["qkv_l2"] = {"metric": "l2", "blocks": 3, "input": "uniform", "samples": 4, "tokens": 6, "in": 12, "out": 9,
                     "x": fl(x), "w": fl(w), "b": fl(b), "raw": fl(raw), "grad": [], "results": res}
    # fc2-like: post-GELU twin input, hessian metric with cached gradients
    xg = F.gelu(dy(torch.randn(4, 5, 16, generator=g) * 2))
    w2 = dy(torch.randn(6, 16, generator=g) * 0.4)
    b2 = dy(torch.randn(6, generator=g) * 0.1)
    raw2 = F.linear(xg, w2, b2)
    grad2 = dy(torch.randn(4, 5, 6, generator=g)) * 2.0 ** -10
    res = []
    for bits in (6,):
        cw, ca, wi, ai = search_linear(xg, w2, b2, raw2, grad2, 1, bits, "hessian", "post_gelu")
        res.append({"bits": bits, "w_scale": fl(cw), "x_scale": float(ca), "w_index": wi.tolist(),
                    "x_index": ai.tolist()})
    out["fc2_hessian"] = {"metric": "hessian", "blocks": 1, "input": "post_gelu", "samples": 4, "tokens": 5,
                          "in": 16, "out": 6, "x": fl(xg), "w": fl(w2), "b": fl(b2), "raw": fl(raw2),
                          "grad": fl(grad2), "results": res}
    # attn·v-like: SoS split + per-head B, L2
    att = torch.softmax(torch.randn(3, 2, 6, 6, generator=g) * 3, dim=-1)
    v = dy(torch.randn(3, 2, 6, 4, generator=g))
    raw3 = att @ v
    res = []
    for bits in (8, 4):
        split, cb, si, bi = search_sos(att, v, raw3, None, bits, "L2_norm")
        res.append({"bits": bits, "split": float(split), "b_scale": fl(cb), "split_index": si.tolist(),
                    "b_index": bi.tolist()})
    out["sos_l2"] = {"metric": "l2", "samples": 3, "heads": 2, "m": 6, "k": 6, "n": 4, "a": fl(att), "b": fl(v),
                     "raw": fl(raw3), "results": res}
    return out


def main():
    g = torch.Generator().manual_seed(20250802)
    data = {
        "generator": "tools/reference/gen_quant_fixture.py",
        "torch": torch.__version__,
        "symmetric": section_symmetric(g),
        "affine": section_affine(g),
        "post_gelu": section_post_gelu(g),
        "post_softmax": section_post_softmax(g),
        "linear": section_linear(g),
        "matmul": section_matmul(g),
        "mse_observer": section_mse(g),
        "search": section_search(g),
    }
    data["search_min_relative_margin"] = min(margins)
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes); smallest argmax margin {min(margins):.3e}", file=sys.stderr)


if __name__ == "__main__":
    main()
