"""Train vs validation accuracy of MLP and GLAI heads on a fixed-feature bench task: underfit or overfit?

python fit_diagnosis.py SETTING SEEDS ['{"variant": {RunSettings overrides}, ...}']   (SETTING: fixed-fmnist | fixed-omniglot)

Per seed, the MLP and each GLAI variant train as in ``glai-ssl bench --quick``; after every epoch the accuracy on
4000 training inputs is logged beside the validation accuracy. Prints one line per run; writes
``fit_diagnosis_<setting>.json`` to the working directory.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import torch

from glai_ssl.bench.runners import RunSettings, train_head
from glai_ssl.bench.settings import SETTINGS


def main(setting: str, seeds: int, variants: dict[str, dict]) -> dict:
    """Train the MLP and the GLAI ``variants`` per seed; return every run's (train, validation) accuracies."""
    task = SETTINGS[setting](True)
    subset = torch.randperm(len(task.inputs), generator=torch.Generator().manual_seed(0))[:4000]
    train_split = (task.inputs[subset], task.targets[subset])
    log: list[tuple[float, float]] = []
    validate = task.validate

    def validate_and_log(model) -> float:
        accuracy = validate(model)
        log.append((task.accuracy(model, train_split), accuracy))
        return accuracy

    task.validate = validate_and_log
    out: dict = {}
    for seed in range(seeds):
        for name, overrides in [("mlp", None), *variants.items()]:
            log.clear()
            kind = "mlp" if overrides is None else "glai"
            record = train_head(task, kind, seed, replace(RunSettings(), **(overrides or {})))
            best = max(range(len(log)), key=lambda i: log[i][1])
            print(
                f"{setting} seed {seed} {name:12s} MVA {record['mva']:.4f} epoch {best + 1}/{len(log)} "
                f"train@best {log[best][0]:.4f} final train {log[-1][0]:.4f} val {log[-1][1]:.4f} "
                f"t {record['train_seconds']:.1f}",
                flush=True,
            )
            out.setdefault(name, []).append({"log": list(log), "mva": record["mva"]})
    return out


if __name__ == "__main__":
    name = sys.argv[1]
    runs = main(name, int(sys.argv[2]), json.loads(sys.argv[3]) if len(sys.argv) > 3 else {"glai": {}})
    with open(f"fit_diagnosis_{name}.json", "w") as f:
        json.dump(runs, f)
