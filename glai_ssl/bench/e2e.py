"""Setting 4, end to end: an SSL recipe with the backbone trained jointly, MLP vs GLAI projector, linear-probe
accuracy of the backbone against training wall-clock (evaluation time excluded). Not part of ``--quick``.

The recipes' CPU defaults (``CPU_RECIPE_DEFAULTS``: Fashion-MNIST, 20k images, ``conv4-pool2``, 8 epochs, GLAI
structure frozen after 2 epochs at the latest) plus an evaluation after every epoch."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

from glai_ssl.bench.protocol import Curve, summarise_pairs
from glai_ssl.ssl.train import CPU_RECIPE_DEFAULTS, build_parser
from glai_ssl.ssl.train import main as pretrain

E2E_FLAGS = [
    "--hidden-dim", "512", "--output-dim", "64", "--eval-every", "1", "--eval-size", "10000",
    "--eval-probe-epochs", "30", "--no-final-eval", "--log-every", "50",
]  # fmt: skip


def _record(result: dict, target: float | None) -> dict:
    curve = Curve()
    for point in result["eval_history"]:
        curve.add(point["train_seconds"], point["epoch"], point["probe_accuracy"], knn=point["knn_accuracy"])
    heads = result.get("glai", {})
    record = {
        "curve": asdict(curve),
        "mva": curve.max_accuracy,
        "time_to_mva": curve.time_to(curve.max_accuracy),
        "time_to_mlp_mva": curve.time_to(target) if target is not None else None,
        "train_seconds": result["train_seconds"],
        "parameters": {
            "trainable": sum(h["trainable_parameters"] for h in heads.values())
            if heads
            else result.get("head_parameters"),
            "frozen": sum(h["structure_parameters"] for h in heads.values()) if heads else 0,
        },
    }
    if heads:
        head = heads["projection_head"]
        record["glai"] = {
            "switch_step": head["switch_step"],
            "freeze_reason": head["freeze_reason"],
            "trace": head["trace"],
        }
    return record


def run_e2e(
    out: Path, seeds: range, method: str = "simclr", extra: list[str] | None = None, log=print
) -> dict:
    """MLP and GLAI pretraining runs interleaved per seed; returns the setting's pairs and summary."""
    pairs = []
    for seed in seeds:
        records = {}
        for head in ("mlp", "glai"):
            run_dir = out / f"{head}-seed{seed}"
            # the benchmark's own run of an earlier call is measured afresh, as bench.json is rewritten
            if run_dir.exists():
                log(f"[e2e] replacing the earlier run in {run_dir}")
                shutil.rmtree(run_dir)
            flags = [
                *E2E_FLAGS,
                *(extra or []),
                "--head",
                head,
                "--seed",
                str(seed),
                "--out",
                str(run_dir),
            ]
            result = pretrain(build_parser(method, CPU_RECIPE_DEFAULTS).parse_args(flags), method=method)
            records[head] = _record(result, records["mlp"]["mva"] if head == "glai" else None)
            log(
                f"[e2e] seed {seed} {head}: probe MVA {100 * records[head]['mva']:.2f}% in {result['train_seconds']:.0f} s"
            )
        pairs.append({"seed": seed, **records})
    return {"pairs": pairs, "summary": summarise_pairs(pairs)}
