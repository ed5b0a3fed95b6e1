"""Table and plot of the SSL recipe runs in ``results/ssl/nopool/`` (MLP vs GLAI projector, Fashion-MNIST).

Reads each run's ``results.json`` (copied as ``<method>_<head>_e<epochs>[_<variant>].json``) and its Lightning CSV log
(``..._metrics.csv``); prints a Markdown table and writes ``runs.png`` (training loss against step, one panel
per method and epoch count, with GLAI's structure freeze marked). Run from the repository root:

    python results/ssl/summarize.py
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RUNS = Path(__file__).parent / "nopool"
#: session-16 runs, taken with the method's weights in channels-last layout: PyTorch's CPU BatchNorm is less
#: accurate in that layout (README), so the engine keeps them contiguous and these rows form their own groups
CHANNELS_LAST_RUNS = {
    "simclr_mlp_e8_t02",
    "simclr_mlp_e8_t02_seed1",
    "simclr_glai_e8_t02_pr4",
    "simclr_glai_e8_t02_e2e",
    "byol_mlp_e8_lr2e-3_h2048",
    "byol_glai_e8_lr2e-3_fs",
}


def variant(args: dict) -> str:
    """How a run's flags differ from the recipe defaults that matter here ("-" when they don't)."""
    changes = []
    if args.get("batch_size", 256) != 256:
        changes.append(f"batch {args['batch_size']}")
    if (args.get("hidden_dim"), args.get("output_dim")) not in ((512, 128), (None, None)):
        changes.append(f"heads {args['hidden_dim']}/{args['output_dim']}")
    if args.get("lr", 1e-3) != 1e-3:
        changes.append(f"lr {args['lr']:g}")
    if args.get("predictor_lr_ratio", 1.0) != 1.0:
        changes.append(f"predictor lr x{args['predictor_lr_ratio']:g}")
    if args.get("weight_decay", 1e-6) != 1e-6:
        changes.append(f"weight decay {args['weight_decay']:g}")
    if args.get("momentum"):
        changes.append(f"momentum {args['momentum'][0]:g}->{args['momentum'][1]:g}")
    if args.get("temperature") is not None:
        changes.append(f"temperature {args['temperature']:g}")
    if args.get("warmup_epochs"):
        changes.append(f"warmup {args['warmup_epochs']:g} epoch(s)")
    if args.get("train_size") not in (None, 20000):
        changes.append("all 60k images" if args["train_size"] == 0 else f"{args['train_size']} images")
    if args.get("view"):
        changes.append("views " + ", ".join(args["view"]))
    if args.get("seed", 0) != 0:
        changes.append(f"seed {args['seed']}")
    return ", ".join(changes) or "-"


def glai_options(args: dict) -> str:
    """The GLAI-only flags a run set ("" when none): they change the GLAI row, not which MLP it is compared to."""
    names = {
        "glai_path_scale": "path scale",
        "glai_structure_width": "S width",
        "glai_path_ratio": "path ratio",
        "glai_prune": "prune",
        "glai_refit_ridge": "refit ridge",
    }
    options = [
        f"GLAI {label} {args[key] if isinstance(args[key], str) else format(args[key], 'g')}"
        for key, label in names.items()
        if args.get(key) is not None
    ]
    if args.get("glai_max_structure_epochs") not in (None, 2.0):
        options.append(f"GLAI Phase 1 <= {args['glai_max_structure_epochs']:g} epochs")
    return ", ".join(options)


def load_runs(folder: Path = RUNS) -> list[dict]:
    """One record per run: method, head, epochs, kNN, probe, training seconds, freeze step, loss curve."""
    runs = []
    for path in sorted(folder.glob("*_e*.json")):
        result = json.loads(path.read_text())
        evaluation, args = result["evaluation"], result["args"]
        glai = next(iter(result.get("glai", {}).values()), {})
        with open(path.with_name(path.stem + "_metrics.csv")) as f:
            rows = [r for r in csv.DictReader(f) if r["train_loss"]]
        runs.append(
            {
                "method": result["method"],
                "head": result["head"],
                "epochs": args["epochs"],
                "variant": variant(args)
                + (", channels-last weights" if path.stem in CHANNELS_LAST_RUNS else ""),
                "glai_options": glai_options(args) if result["head"] == "glai" else "",
                "knn": 100 * evaluation["knn_accuracy"],
                "probe": 100 * evaluation["linear_probe_accuracy"],
                "seconds": result["train_seconds"],
                "switch_step": glai.get("switch_step"),
                "loss": ([int(r["step"]) for r in rows], [float(r["train_loss"]) for r in rows]),
            }
        )
    return runs


def _group(run: dict) -> tuple:
    return run["method"], run["epochs"], run["variant"]


def markdown_table(runs: list[dict]) -> str:
    """Rows grouped by method, epochs and variant, MLP first, with GLAI's probe gap to the MLP of the same group."""
    lines = [
        "| method | epochs | variant | projector | kNN (k=200) | linear probe | GLAI - MLP (probe) | pretraining s | GLAI froze at step |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    mlp_probe = {_group(r): r["probe"] for r in runs if r["head"] == "mlp"}
    for r in sorted(
        runs, key=lambda r: (r["method"] != "simclr", *_group(r), r["head"] != "mlp", r["glai_options"])
    ):
        reference = mlp_probe.get(_group(r))
        gap = f"{r['probe'] - reference:+.2f}" if r["head"] == "glai" and reference is not None else "-"
        froze = "-" if r["switch_step"] is None else str(r["switch_step"])
        shown = ", ".join(v for v in (r["variant"], r["glai_options"]) if v and v != "-") or "-"
        lines.append(
            f"| {r['method']} | {r['epochs']} | {shown} | {r['head']} | {r['knn']:.2f} | {r['probe']:.2f} | {gap} "
            f"| {r['seconds']:.0f} | {froze} |"
        )
    return "\n".join(lines)


def plot(runs: list[dict], path: Path) -> None:
    """Training loss against step, one panel per (method, epochs, variant), MLP and GLAI overlaid."""
    groups = sorted({_group(r) for r in runs}, key=lambda g: (g[0] != "simclr", g))
    columns = min(4, len(groups))
    rows = -(-len(groups) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(groups) :]:
        ax.axis("off")
    for ax, (method, epochs, changes) in zip(axes.flat, groups):
        for r in sorted(
            (r for r in runs if _group(r) == (method, epochs, changes)), key=lambda r: r["head"] != "mlp"
        ):
            color = "tab:blue" if r["head"] == "mlp" else "tab:orange"
            if r["glai_options"]:
                color = "tab:green"
            name = ", ".join(v for v in (r["head"], r["glai_options"]) if v)
            ax.plot(*r["loss"], color=color, label=f"{name} (probe {r['probe']:.2f}%)")
            if r["switch_step"] is not None:
                ax.axvline(r["switch_step"], color="grey", linestyle=":", label="GLAI structure frozen")
        title = f"{method}, {epochs} epochs" + ("" if changes == "-" else f", {changes}")
        ax.set(title=title, xlabel="step", ylabel="training loss")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    runs = load_runs()
    print(markdown_table(runs))
    plot(runs, RUNS.parent / "runs.png")
    print(f"\nplot: {RUNS.parent / 'runs.png'}")
