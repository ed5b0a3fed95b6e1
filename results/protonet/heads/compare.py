"""MLP head vs GLAI head, end to end with Conv-4, over seeds: test accuracy per task and time to the MLP's best.

Reads the recipe JSON files of this folder (12 epochs of 100 20-way 5-shot episodes, the learning rate halved
after epoch 10; GLAI with path features from a 16x wider S and the switch's refit) and prints a Markdown table:
per seed, GLAI - MLP in each test task, then the mean over seeds with a 95% t-interval across seeds; and each
head's training seconds to its best validation accuracy and GLAI's seconds to the MLP's best (validation after
every epoch, 1000 5-way 5-shot episodes of the validation classes). Run from the repository root:

    python results/protonet/heads/compare.py
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

HERE = Path(__file__).parent
#: seed -> (MLP file, GLAI file); seed 0's MLP is the same-day rerun beside the GLAI run (session 13)
PAIRS = {
    0: ("mlp_e12_session13.json", "glai_e12_features16_refit.json"),
    1: ("mlp_e12_seed1.json", "glai_e12_features16_refit_seed1.json"),
    2: ("mlp_e12_seed2.json", "glai_e12_features16_refit_seed2.json"),
    3: ("mlp_e12_seed3.json", "glai_e12_features16_refit_seed3.json"),
}
TASKS = ((5, 1), (5, 5), (20, 1), (20, 5))
#: two-sided 95% Student t quantiles by degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365}


def load(name: str) -> tuple[dict[tuple[int, int], float], dict]:
    """Test accuracies (%) by (way, shot) and the training record of one recipe JSON file."""
    record = json.loads((HERE / name).read_text())
    accuracies = {(row["way"], row["shot"]): 100 * row["mean"] for row in record["table"]}
    return accuracies, record["runs"]["5-shot"]["train"]["select"]


def seconds_to(train: dict, target: float) -> float | None:
    """Training seconds until validation first reached ``target`` (a share), None if it never did."""
    seconds = 0.0
    for epoch in train["history"]:
        seconds += epoch["train"]["seconds"]
        if epoch["val"]["mean"] >= target - 1e-12:
            return seconds
    return None


def mean_ci(values: list[float]) -> str:
    """``mean +- t * sd / sqrt(n)`` across seeds (the mean alone for one seed)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:+.2f}"
    half = T95[len(values) - 1] * statistics.stdev(values) / math.sqrt(len(values))
    return f"{mean:+.2f} +- {half:.2f}"


def main() -> None:
    """Print the comparison table for the seeds whose two files exist."""
    rows, differences = [], {task: [] for task in TASKS}
    header = " | ".join(f"{w}-way {s}-shot" for w, s in TASKS)
    print(f"| seed | {header} | MLP best val (s) | GLAI best val (s) | GLAI to MLP's best |")
    print("|---:|" + "---:|" * (len(TASKS) + 3))
    for seed, (mlp_file, glai_file) in PAIRS.items():
        if not (HERE / mlp_file).is_file() or not (HERE / glai_file).is_file():
            continue
        (mlp, mlp_train), (glai, glai_train) = load(mlp_file), load(glai_file)
        cells = []
        for task in TASKS:
            differences[task].append(glai[task] - mlp[task])
            cells.append(f"{glai[task]:.2f} - {mlp[task]:.2f} = {glai[task] - mlp[task]:+.2f}")
        target = mlp_train["best_val_accuracy"]
        reached = seconds_to(glai_train, target)
        best = [
            f"{100 * t['best_val_accuracy']:.2f} ({seconds_to(t, t['best_val_accuracy']):.0f})"
            for t in (mlp_train, glai_train)
        ]
        to_mlp = "not reached" if reached is None else f"{reached:.0f} s"
        rows.append(seed)
        print(f"| {seed} | {' | '.join(cells)} | {best[0]} | {best[1]} | {to_mlp} |")
    summary = " | ".join(mean_ci(differences[task]) for task in TASKS)
    print(f"| mean over {len(rows)} seeds, 95% t-interval | {summary} | | | |")


if __name__ == "__main__":
    main()
