"""Exploration of GLAI Phase-2 options per bench setting: usage in README.md of this folder.

python explore.py quick|full SEEDS SETTING[,SETTING...] '{"variant": {RunSettings overrides}, ...}'

Per setting and seed, the MLP head trains first, then every GLAI variant on the same task with the MLP's
maximum validation accuracy (MVA) as its target; prints one line per run and writes
``explore_<setting>_<time>.json`` (every run's record) to the working directory.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace

from glai_ssl.bench.runners import RunSettings, train_head
from glai_ssl.bench.settings import SETTINGS


def explore(setting: str, quick: bool, seeds: int, variants: dict[str, dict]) -> dict[str, list[dict]]:
    """Train the MLP and each GLAI variant of ``variants`` (name -> RunSettings overrides) over ``seeds``."""
    task = SETTINGS[setting](quick)
    base = RunSettings()
    records: dict[str, list[dict]] = {}
    for seed in range(seeds):
        mlp = train_head(task, "mlp", seed, base)
        print(
            f"[{setting}] seed {seed} MLP: MVA {mlp['mva']:.4f} at {mlp['time_to_mva']:.2f}s "
            f"epochs {mlp['epochs']} total {mlp['train_seconds']:.1f}s",
            flush=True,
        )
        records.setdefault("mlp", []).append(mlp)
        for name, overrides in variants.items():
            glai = train_head(task, "glai", seed, replace(base, **overrides), target=mlp["mva"])
            reach = glai["time_to_mlp_mva"]
            speedup = f"{mlp['time_to_mva'] / reach:.2f}x" if reach else "never"
            print(
                f"[{setting}]   {name:26s} MVA {glai['mva']:.4f} ({100 * (glai['mva'] - mlp['mva']):+.2f}) "
                f"reach {reach and round(reach, 2)} speedup {speedup} epochs {glai['epochs']} "
                f"total {glai['train_seconds']:.1f}s freeze@{glai['glai']['switch_step']} "
                f"{glai['glai']['freeze_reason']} S{glai['glai']['config']['structure_widths']}",
                flush=True,
            )
            records.setdefault(name, []).append(glai)
    return records


if __name__ == "__main__":
    quick, seeds, names, variants = (
        sys.argv[1] == "quick",
        int(sys.argv[2]),
        sys.argv[3].split(","),
        json.loads(sys.argv[4]),
    )
    for setting in names:
        with open(f"explore_{setting}_{int(time.time())}.json", "w") as f:
            json.dump(explore(setting, quick, seeds, variants), f)
