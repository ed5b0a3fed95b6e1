"""GLAI - MLP gaps (points of MVA) per variant from ``explore.py``'s JSON files, mean and per seed.

python gaps.py FILE.json [FILE.json ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def gaps(path: Path) -> list[str]:
    """One line per GLAI variant of one explore file: mean gap, gaps per seed, mean run seconds."""
    records = json.loads(path.read_text())
    mlp = records["mlp"]
    lines = [
        f"{path.name}: MLP MVA {100 * sum(r['mva'] for r in mlp) / len(mlp):.2f}, "
        f"{sum(r['train_seconds'] for r in mlp) / len(mlp):.1f} s per run"
    ]
    for name, runs in records.items():
        if name == "mlp":
            continue
        per_seed = [100 * (run["mva"] - base["mva"]) for run, base in zip(runs, mlp)]
        reached = sum(run["time_to_mlp_mva"] is not None for run in runs)
        seconds = sum(run["train_seconds"] for run in runs) / len(runs)
        lines.append(
            f"  {name:14s} {sum(per_seed) / len(per_seed):+.2f} ({', '.join(f'{g:+.2f}' for g in per_seed)}), "
            f"reached {reached}/{len(runs)}, {seconds:.1f} s per run"
        )
    return lines


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print("\n".join(gaps(Path(argument))))
