"""Micro-benchmark: time per training step of a head, GLAI Phase 1, GLAI Phase 2 and the MLP it replaces.

Side by side in one process, interleaved (MLP, Phase 1, Phase 2, MLP, ...), over several seeds, reported as
ratios to the MLP. A step is forward + backward with the gradient reaching the input (as when the backbone
trains jointly); the optimizer step (Adam) is timed separately. Goals (glai_ssl issue 3): Phase 2 <= 1.1x the
MLP's forward+backward time, Phase 1 <= 0.5x.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from glai_ssl.bench.memory import peak_memory_bytes
from glai_ssl.glai import GLAI, make_head
from glai_ssl.utils.progress import progress

#: name -> (lightly style, input, hidden, output): the two heads of the issue
HEAD_CONFIGS = {
    "simclr-512-2048-128": ("simclr", 512, 2048, 128),
    "byol-512-4096-256": ("byol", 512, 4096, 256),
}
VARIANTS = ("mlp", "glai-phase1", "glai-phase2")


@dataclass
class HeadBenchConfig:
    """Settings of the head micro-benchmark.

    Attributes:
        heads: keys of :data:`HEAD_CONFIGS` to time.
        batch_size: rows of the random input batch ``(batch_size, input_dim)``.
        seeds: repetitions with fresh modules and inputs (seeds ``0 .. seeds - 1``).
        rounds: interleaved rounds per seed (each variant once per round).
        steps_per_round: timed steps of one variant per round.
        warmup: untimed steps of each variant before the first round of a seed.
        glai: options of the GLAI variants (``path_ratio``, ``prune``, ...; empty: the block's defaults).
    """

    heads: tuple[str, ...] = tuple(HEAD_CONFIGS)
    batch_size: int = 256
    seeds: int = 3
    rounds: int = 5
    steps_per_round: int = 10
    warmup: int = 5
    glai: dict = field(default_factory=dict)


def build_variant(variant: str, head: str, device: torch.device, glai: dict | None = None) -> nn.Module:
    """A fresh head for one benchmark variant, on ``device``, in training mode.

    Args:
        variant: ``"mlp"`` (lightly's MLP head), ``"glai-phase1"`` (the GLAI block as built) or ``"glai-phase2"``
            (the same block with its structure frozen at once, i.e. in the path form).
        head: a key of :data:`HEAD_CONFIGS` (lightly style and dims).
        device: where to put the module.
        glai: options of the GLAI block (e.g. ``path_ratio``, ``prune``).
    """
    style, d0, hidden, dout = HEAD_CONFIGS[head]
    options = (glai or {}) if variant != "mlp" else {}
    module = make_head("mlp" if variant == "mlp" else "glai", d0, hidden, dout, style=style, **options)
    if variant == "glai-phase2":
        module.freeze_structure()
    return module.to(device).train()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _step(
    module: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, device
) -> tuple[float, float]:
    start = time.perf_counter()
    loss = module(x).square().mean()
    optimizer.zero_grad(set_to_none=True)
    x.grad = None
    loss.backward()
    _sync(device)
    middle = time.perf_counter()
    optimizer.step()
    _sync(device)
    return middle - start, time.perf_counter() - middle


def run_head_benchmark(config: HeadBenchConfig, device: torch.device) -> dict:
    """Time every variant of every head; return per-step medians, ratios to the MLP and peak memory."""
    results: dict = {"config": config.__dict__, "device": str(device), "heads": {}}
    total = len(config.heads) * config.seeds * config.rounds * len(VARIANTS)
    bar = progress(total=total, desc="head micro-benchmark", unit="block")
    for head in config.heads:
        style, d0, hidden, dout = HEAD_CONFIGS[head]
        times = {v: {"forward_backward": [], "optimizer": []} for v in VARIANTS}
        ratios = {v: [] for v in VARIANTS if v != "mlp"}
        for seed in range(config.seeds):
            torch.manual_seed(seed)
            modules = {v: build_variant(v, head, device, config.glai) for v in VARIANTS}
            optimizers = {
                v: torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-3)
                for v, m in modules.items()
            }
            x = torch.randn(config.batch_size, d0, device=device, requires_grad=True)
            for v in VARIANTS:
                for _ in range(config.warmup):
                    _step(modules[v], optimizers[v], x, device)
            seed_fb = {v: [] for v in VARIANTS}
            for _ in range(config.rounds):
                for v in VARIANTS:
                    for _ in range(config.steps_per_round):
                        fb, opt = _step(modules[v], optimizers[v], x, device)
                        seed_fb[v].append(fb)
                        times[v]["forward_backward"].append(fb)
                        times[v]["optimizer"].append(opt)
                    bar.update(1)
            for v in ratios:
                ratios[v].append(statistics.median(seed_fb[v]) / statistics.median(seed_fb["mlp"]))
        counts = {}
        for v in VARIANTS:
            module = build_variant(v, head, torch.device("cpu"), config.glai)
            counts[v] = {
                "trainable": module.num_trainable_parameters()
                if isinstance(module, GLAI)
                else sum(p.numel() for p in module.parameters()),
                "frozen": module.num_structure_parameters() if v == "glai-phase2" else 0,
            }
        memory = {v: _peak_memory(v, head, device, config) for v in VARIANTS}
        results["heads"][head] = {
            "dims": [d0, hidden, dout],
            "style": style,
            "median_ms": {v: 1e3 * statistics.median(t["forward_backward"]) for v, t in times.items()},
            "optimizer_median_ms": {v: 1e3 * statistics.median(t["optimizer"]) for v, t in times.items()},
            "ratio_to_mlp": {v: {"per_seed": r, "mean": statistics.mean(r)} for v, r in ratios.items()},
            "parameters": counts,
            "peak_memory_bytes": memory,
            "glai_structure_widths": list(
                build_variant("glai-phase1", head, torch.device("cpu"), config.glai).structure_widths
            ),
        }
    bar.close()
    return results


def _peak_memory(variant: str, head: str, device: torch.device, config: HeadBenchConfig) -> int:
    """Peak memory of the first training step of a fresh head and Adam (see :mod:`glai_ssl.bench.memory`)."""
    torch.manual_seed(0)
    module = build_variant(variant, head, device, config.glai)
    optimizer = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=1e-3)
    x = torch.randn(config.batch_size, HEAD_CONFIGS[head][1], device=device, requires_grad=True)
    return peak_memory_bytes(module, optimizer, lambda: _step(module, optimizer, x, device), device)


def markdown_table(results: dict) -> str:
    """The micro-benchmark as a Markdown table."""
    lines = [
        f"Device: {results['device']}; batch {results['config']['batch_size']}; {results['config']['seeds']} seeds x "
        f"{results['config']['rounds']} rounds x {results['config']['steps_per_round']} steps, interleaved; "
        f"GLAI options: {results['config'].get('glai') or 'the block defaults'}.",
        "",
        "| head | variant | trainable params | fwd+bwd ms (median) | ratio to MLP (mean over seeds) | Adam step ms | peak training memory MiB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for head, r in results["heads"].items():
        for v in VARIANTS:
            ratio = "1.00" if v == "mlp" else f"{r['ratio_to_mlp'][v]['mean']:.2f}"
            lines.append(
                f"| {head} | {v} | {r['parameters'][v]['trainable']:,} | {r['median_ms'][v]:.2f} | {ratio} | "
                f"{r['optimizer_median_ms'][v]:.2f} | {r['peak_memory_bytes'][v] / 2**20:.1f} |"
            )
    return "\n".join(lines)
