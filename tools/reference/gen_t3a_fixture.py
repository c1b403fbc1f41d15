#!/usr/bin/env python3
# zoa — golden fixture for zoa::adapt::t3a from a PyTorch port of the reference T3A
# SPDX-License-Identifier: MIT
"""Writes tests/fixtures/t3a_golden.json from a float32 PyTorch port of T3A as in
[ZOA]/[FOA] tta_library/t3a.py (docs/algorithm.md §3):

    warm-up   supports = W (C x d), labels = one_hot(argmax(W W^T + b)), ent = H(softmax(W W^T + b))
    forward   (adapt) append (z, one_hot(argmax p), H(p)); select the filter_K lowest-entropy supports per class
              (per class in class order, torch.sort of the entropies); out = z @ normalize(normalize(S, dim=1)^T Y, dim=0)

The port takes the features z and the logits p separately (p = classifier(z) is computed here), exactly like the
C++ API. Sorting uses stable=True; the generator rejects seeds where two entropies of one class are closer than
MIN_GAP, so the result does not depend on sort stability or on float-vs-double entropies.

Run:  /usr/bin/python3 tools/reference/gen_t3a_fixture.py   (needs Debian python3-torch; deterministic)
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

D, C, BATCH, NBATCH = 8, 4, 10, 6
FILTER_KS = [3, 20]
PREDICT_ONLY_STEP = 2  # this step calls forward(adapt=False): no append
MIN_GAP = 1e-4
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "t3a_golden.json")


def softmax_entropy(x):
    return -(x.softmax(1) * x.log_softmax(1)).sum(1)


class T3ARef:
    """float32 port of the reference T3A on given features/logits."""

    def __init__(self, weight, bias, filter_k):
        warm = F.linear(weight, weight, bias)
        self.warm = (weight.clone(), F.one_hot(warm.argmax(1), num_classes=C).float(), softmax_entropy(warm))
        self.filter_k = filter_k
        self.reset()

    def reset(self):
        self.supports, self.labels, self.ent = (t.clone() for t in self.warm)

    def forward(self, z, p, adapt):
        if adapt:
            self.supports = torch.cat([self.supports, z])
            self.labels = torch.cat([self.labels, F.one_hot(p.argmax(1), num_classes=C).float()])
            self.ent = torch.cat([self.ent, softmax_entropy(p)])
        self.select()
        s = F.normalize(self.supports, dim=1)
        weights = s.T @ self.labels
        return z @ F.normalize(weights, dim=0)

    def select(self):
        yhat = self.labels.argmax(1)
        all_idx = torch.arange(len(self.ent))
        keep = []
        for c in range(C):
            _, order = torch.sort(self.ent[yhat == c], stable=True)
            keep.append(all_idx[yhat == c][order][: self.filter_k])
        keep = torch.cat(keep)
        self.supports, self.labels, self.ent = self.supports[keep], self.labels[keep], self.ent[keep]

    def counts(self):
        yhat = self.labels.argmax(1)
        return [int((yhat == c).sum()) for c in range(C)]


def min_same_class_gap(logit_sets):
    """Smallest |H_i - H_j| among rows with the same argmax over all rows ever appended."""
    p = torch.cat(logit_sets)
    h, y = softmax_entropy(p), p.argmax(1)
    gap = float("inf")
    for c in range(C):
        hc = torch.sort(h[y == c]).values
        if len(hc) > 1:
            gap = min(gap, float((hc[1:] - hc[:-1]).min()))
    return gap


def make(seed):
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(C, D, generator=g) * 0.5
    bias = torch.randn(C, generator=g) * 0.1
    zs = [torch.randn(BATCH, D, generator=g) * (0.5 + 0.25 * t) for t in range(NBATCH)]
    logits = [F.linear(z, weight, bias) for z in zs]
    return weight, bias, zs, logits


def main():
    seed = 0
    while True:
        weight, bias, zs, logits = make(seed)
        gap = min_same_class_gap([F.linear(weight, weight, bias)] + logits)
        if gap >= MIN_GAP:
            break
        seed += 1
    flat = lambda t: [float(v) for v in t.reshape(-1).tolist()]
    doc = {
        "generator": "tools/reference/gen_t3a_fixture.py",
        "torch_version": torch.__version__,
        "seed": seed,
        "min_same_class_entropy_gap": gap,
        "d": D,
        "C": C,
        "batch": BATCH,
        "weight": flat(weight),
        "bias": flat(bias),
        "warm_logits": flat(F.linear(weight, weight, bias)),
        "batches": [{"z": flat(z), "logits": flat(p)} for z, p in zip(zs, logits)],
        "cases": [],
    }
    for k in FILTER_KS:
        ref = T3ARef(weight, bias, k)
        steps = []
        for t in range(NBATCH):
            adapt = t != PREDICT_ONLY_STEP
            out = ref.forward(zs[t], logits[t], adapt)
            steps.append({"batch": t, "adapt": adapt, "out": flat(out)})
        final_counts = ref.counts()
        ref.reset()  # after reset, adapting on batch 0 must reproduce step 0
        out = ref.forward(zs[0], logits[0], True)
        steps.append({"batch": 0, "adapt": True, "after_reset": True, "out": flat(out)})
        doc["cases"].append({"filter_k": k, "steps": steps, "final_support_counts": final_counts})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)} (seed {seed}, min same-class entropy gap {gap:.3g})", file=sys.stderr)


if __name__ == "__main__":
    main()
