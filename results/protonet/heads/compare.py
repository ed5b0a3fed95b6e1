"""MLP head vs GLAI head, end to end with Conv-4, over seeds: test accuracy per task and time to the MLP's best.

Reads the recipe JSON files of this folder (12 epochs of 100 20-way 5-shot episodes, the learning rate halved
after epoch 10; GLAI with path features from a 16x wider S and the switch's refit, at three path scales) and prints
one Markdown table per GLAI setting: per seed, GLAI - MLP in each test task, then the mean over seeds with a
95% t-interval across seeds; and each head's best validation accuracy with the epoch and training seconds it
took, and GLAI's to the MLP's best (validation after every epoch, 1000 5-way 5-shot episodes of the validation classes). Last, seed 0 of both
heads again with contiguous weights (session 18; the runs above had the Conv-4 in channels-last layout).
Every run had 1 thread and another 1-thread job beside it on the 2 cores but for GLAI path scale 0.3 seed 2
(alone: 0.34 s per episode against about 0.5), so compare epochs, and seconds only within a row. Run from the repository root:

    python results/protonet/heads/compare.py
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

HERE = Path(__file__).parent
#: seed -> the MLP run; seeds 0 and 1 rerun with 1 thread like every GLAI run here (session 10's ran on 2
#: threads, which changes a run's floating-point sums: seed 0 gave 96.48 there, 96.35 here in 5-way 1-shot)
MLP = {
    0: "mlp_e12_session13.json",
    1: "mlp_e12_seed1_session15.json",
    2: "mlp_e12_seed2.json",
    3: "mlp_e12_seed3.json",
    4: "mlp_e12_seed4.json",
}
#: GLAI head settings -> file name pattern by seed (all with path ratio 16, prune features, refit ridge 1e-2)
GLAI = {
    "path scale 1": "glai_e12_features16_refit{seed}.json",
    "path scale 0.3": "glai_e12_features16_refit_ps03{seed}.json",
    "path scale 0.1 (the default since session 15)": "glai_e12_features16_refit_ps01{seed}.json",
}
#: session 18: seed 0 of both heads again with contiguous weights (every run above had the Conv-4 in
#: channels-last layout, whose CPU BatchNorm is less accurate: results/ssl/channels_last_check.py)
CONTIGUOUS = {
    "mlp": ("mlp_e12_session13.json", "mlp_e12_contiguous.json"),
    "glai": ("glai_e12_features16_refit_ps01.json", "glai_e12_features16_refit_ps01_contiguous.json"),
}
TASKS = ((5, 1), (5, 5), (20, 1), (20, 5))
#: two-sided 95% Student t quantiles by degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365}


def load(name: str) -> tuple[dict[tuple[int, int], float], dict]:
    """Test accuracies (%) by (way, shot) and the training record of one recipe JSON file."""
    record = json.loads((HERE / name).read_text())
    accuracies = {(row["way"], row["shot"]): 100 * row["mean"] for row in record["table"]}
    return accuracies, record["runs"]["5-shot"]["train"]["select"]


def time_to(train: dict, target: float) -> tuple[int, float] | None:
    """(epochs, training seconds) until validation first reached ``target`` (a share), None if it never did."""
    seconds = 0.0
    for number, epoch in enumerate(train["history"], start=1):
        seconds += epoch["train"]["seconds"]
        if epoch["val"]["mean"] >= target - 1e-12:
            return number, seconds
    return None


def reach(train: dict, target: float) -> str:
    """``"epoch E, S s"`` to ``target``, or how far below it the run's best stayed."""
    reached = time_to(train, target)
    if reached is None:
        return f"not reached ({100 * (train['best_val_accuracy'] - target):+.2f})"
    return f"epoch {reached[0]}, {reached[1]:.0f} s"


def mean_ci(values: list[float]) -> str:
    """``mean +- t * sd / sqrt(n)`` across seeds (the mean alone for one seed)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:+.2f}"
    half = T95[len(values) - 1] * statistics.stdev(values) / math.sqrt(len(values))
    return f"{mean:+.2f} +- {half:.2f}"


def seed_file(pattern: str, seed: int) -> str:
    """The file of ``pattern`` for ``seed`` (seed 0's files carry no seed suffix)."""
    return pattern.format(seed="" if seed == 0 else f"_seed{seed}")


def compare(label: str, pattern: str, mlp_files: dict[int, str] = MLP) -> None:
    """Print the table of one GLAI setting against the MLP, over the seeds that have both files."""
    differences: dict[tuple[int, int], list[float]] = {task: [] for task in TASKS}
    header = " | ".join(f"{w}-way {s}-shot" for w, s in TASKS)
    print(f"\nGLAI, {label}, minus MLP (test accuracy, %):\n")
    print(f"| seed | {header} | MLP best val (at) | GLAI best val (at) | GLAI to MLP's best val |")
    print("|---:|" + "---:|" * (len(TASKS) + 3))
    for seed, mlp_file in mlp_files.items():
        glai_file = seed_file(pattern, seed)
        if not (HERE / mlp_file).is_file() or not (HERE / glai_file).is_file():
            continue
        (mlp, mlp_train), (glai, glai_train) = load(mlp_file), load(glai_file)
        cells = []
        for task in TASKS:
            differences[task].append(glai[task] - mlp[task])
            cells.append(f"{glai[task]:.2f} - {mlp[task]:.2f} = {glai[task] - mlp[task]:+.2f}")
        best = [
            f"{100 * t['best_val_accuracy']:.2f} ({reach(t, t['best_val_accuracy'])})"
            for t in (mlp_train, glai_train)
        ]
        to_mlp = reach(glai_train, mlp_train["best_val_accuracy"])
        print(f"| {seed} | {' | '.join(cells)} | {best[0]} | {best[1]} | {to_mlp} |")
    n = len(differences[TASKS[0]])
    if n:
        summary = " | ".join(mean_ci(differences[task]) for task in TASKS)
        print(f"| mean over {n} seed(s), 95% t-interval | {summary} | | | |")


def layout_effect() -> None:
    """Print how much the weights' layout moved each head's seed-0 run, then GLAI - MLP in the new layout."""
    header = " | ".join(f"{w}-way {s}-shot" for w, s in TASKS)
    print("\nSeed 0, contiguous minus channels-last weights (test accuracy, %):\n")
    print(f"| head | {header} |")
    print("|---|" + "---:|" * len(TASKS))
    for head, (channels_last, contiguous) in CONTIGUOUS.items():
        before, after = load(channels_last)[0], load(contiguous)[0]
        print(
            f"| {head} | "
            + " | ".join(f"{after[t]:.2f} - {before[t]:.2f} = {after[t] - before[t]:+.2f}" for t in TASKS)
            + " |"
        )
    compare(
        "path scale 0.1, contiguous weights",
        CONTIGUOUS["glai"][1].replace(".json", "{seed}.json"),
        {0: CONTIGUOUS["mlp"][1]},
    )


def main() -> None:
    """Print one table per GLAI setting, then the layout check."""
    for label, pattern in GLAI.items():
        compare(label, pattern)
    layout_effect()


if __name__ == "__main__":
    main()
