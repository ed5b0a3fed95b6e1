"""Milliseconds per Phase-2 Adam step of a GLAI head on cached gates, by path ratio and pruning, beside the MLP.

python phase2_step_ms.py    (prints one line per output width: the bench's Fashion-MNIST, Omniglot and NT-Xent heads)

Heads 64 -> 512 -> dout with BatchNorm, batch 256, random inputs and class targets, cross-entropy; 20 warm-up steps,
then the mean of 200. A scratch timing for the exploration; `glai-ssl bench heads` is the benchmark.
"""

import time

import torch

from glai_ssl.glai import GLAI

torch.manual_seed(0)


def bench(d0, hidden, dout, ratio, prune, B=256, reps=200):
    """ms per Phase-2 step of a GLAI head with this path ratio and pruning."""
    b = GLAI(d0, hidden, dout, path_ratio=ratio, prune=prune, auto_freeze=False)
    x = torch.randn(B, d0)
    b(x)
    b.freeze_structure()
    b.train()
    g = b.unit_gates(x)
    opt = torch.optim.Adam([b.path_weight, b.path_bias], lr=1e-3)
    t = torch.randint(0, dout, (B,))
    for _ in range(20):
        loss = torch.nn.functional.cross_entropy(b.path_forward(x, g), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    s = time.perf_counter()
    for _ in range(reps):
        loss = torch.nn.functional.cross_entropy(b.path_forward(x, g), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - s) / reps * 1e3


def mlp(d0, hidden, dout, B=256, reps=200):
    """ms per step of the MLP head."""
    m = torch.nn.Sequential(
        torch.nn.Linear(d0, hidden, bias=False),
        torch.nn.BatchNorm1d(hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, dout),
    )
    x = torch.randn(B, d0)
    t = torch.randint(0, dout, (B,))
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    for step in range(20 + reps):
        if step == 20:
            s = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(m(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - s) / reps * 1e3


for name, (d0, h, dout) in {
    "fmnist": (64, 512, 10),
    "omniglot": (64, 512, 400),
    "ntxent": (64, 512, 128),
}.items():
    row = [f"{name}: mlp {mlp(d0, h, dout):.2f} ms"]
    for ratio in (1, 4, 16):
        for prune in ("paths", "features"):
            row.append(f"r{ratio} {prune} {bench(d0, h, dout, ratio, prune):.2f}")
    print(" | ".join(row), flush=True)
