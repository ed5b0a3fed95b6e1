"""Table and plot of the SSL recipe runs in ``results/ssl/nopool/`` (MLP vs GLAI projector, Fashion-MNIST).

Reads each run's ``results.json`` (copied as ``<method>_<head>_e<epochs>[_<variant>].json``) and its Lightning CSV log
(``..._metrics.csv``); prints a Markdown table and writes ``runs.png`` (every run's linear probe as a bar, with the
88% target and the raw-pixel probes, the recipe's and the tuned one) and ``pairs.png`` (training loss against step of each MLP/GLAI pair, GLAI's
structure freeze marked). Run from the repository root:

    python results/ssl/summarize.py
"""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

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
    # "-" stays the defaults of sessions 8-22, when most runs were taken: conv4-pool2 (the default since) is named
    if args.get("backbone") not in (None, "conv4-nopool"):
        changes.append(f"backbone {args['backbone']}")
    if args.get("batch_size", 256) != 256:
        changes.append(f"batch {args['batch_size']}")
    if (args.get("hidden_dim"), args.get("output_dim")) not in ((512, 128), (None, None)):
        changes.append(f"heads {args['hidden_dim']}/{args['output_dim']}")
    if args.get("optimizer", "adam") != "adam":
        changes.append(f"optimizer {args['optimizer']}")
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


def _label(r: dict) -> str:
    """``"byol 8 ep glai, lr 0.002, ..."``; "-" as in the table: no change from the first recipe defaults (SimCLR
    temperature 0.5, BYOL lr 1e-3, the GLAI block's own options)."""
    shown = ", ".join(v for v in (r["variant"], r["glai_options"]) if v and v != "-") or "-"
    return f"{r['method']} {r['epochs']} ep {r['head']}, {shown}"


def raw_pixel_baselines() -> dict[str, float]:
    """The raw-pixel probes measured beside the runs (``raw_pixels/``: the recipe's probe; ``probe_lbfgs/``:
    the tuned L-BFGS probe), as ``{label: accuracy %}``."""
    found = {}
    for label, file in (
        ("raw pixels", "raw_pixels/fashion-mnist.json"),
        ("raw pixels, tuned L-BFGS probe", "probe_lbfgs/raw_pixels/probe.json"),
    ):
        path = RUNS.parent / file
        if path.is_file():
            found[label] = 100 * json.loads(path.read_text())["linear_probe_accuracy"]
    return found


def plot_probes(runs: list[dict], path: Path, target: float = 88.0) -> None:
    """Linear-probe accuracy of every run as a bar, MLP and GLAI projectors in two colours, with the issue's
    target and the raw-pixel probes marked: the table at a glance."""
    if not runs:
        return
    baselines = raw_pixel_baselines()
    ordered = sorted(runs, key=lambda r: (r["method"] != "simclr", *_group(r), r["head"] != "mlp"))
    fig, ax = plt.subplots(figsize=(13, 0.27 * len(ordered) + 1.2))
    colors = ["tab:blue" if r["head"] == "mlp" else "tab:orange" for r in ordered]
    bars = ax.barh(range(len(ordered)), [r["probe"] for r in ordered], color=colors)
    ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=2)
    ax.set_yticks(range(len(ordered)), [textwrap.shorten(_label(r), 95) for r in ordered], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(target, color="black", linestyle="--", label=f"target {target:g}%")
    for (label, value), style in zip(baselines.items(), (":", "-.")):
        ax.axvline(value, color="grey", linestyle=style, label=f"{label} {value:.2f}%")
    low = min([*baselines.values(), *(r["probe"] for r in runs)])
    ax.set_xlim(low - 0.5, max(r["probe"] for r in runs) + 0.7)  # bars start there, not at 0
    handles = ax.get_legend_handles_labels()[0] + [
        Patch(color="tab:blue", label="MLP heads"),
        Patch(color="tab:orange", label="GLAI heads (BYOL: projector and predictor)"),
    ]
    ax.set(xlabel="linear probe, Fashion-MNIST test (%)", title="SSL recipe runs (results/ssl/nopool)")
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_pairs(runs: list[dict], path: Path) -> None:
    """Training loss against step for each group that has both an MLP and a GLAI run, overlaid, with GLAI's
    structure freeze marked."""
    heads = {}
    for r in runs:
        heads.setdefault(_group(r), set()).add(r["head"])
    groups = sorted(
        (g for g, h in heads.items() if h == {"mlp", "glai"}), key=lambda g: (g[0] != "simclr", g)
    )
    if not groups:
        return
    columns = min(3, len(groups))
    rows = -(-len(groups) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 3.8 * rows), squeeze=False)
    for ax in axes.flat[len(groups) :]:
        ax.axis("off")
    for ax, group in zip(axes.flat, groups):
        pair = sorted(
            (r for r in runs if _group(r) == group), key=lambda r: (r["head"] != "mlp", r["glai_options"])
        )
        for index, r in enumerate(pair):
            color = ("tab:blue", "tab:orange", "tab:green", "tab:red")[index % 4]
            options = textwrap.shorten(r["glai_options"].replace("GLAI ", ""), 50)
            name = f"{r['head']} ({options})" if options else r["head"]
            ax.plot(*r["loss"], color=color, label=f"{name}: probe {r['probe']:.2f}%", lw=1)
            if r["switch_step"] is not None:
                ax.axvline(r["switch_step"], color=color, linestyle=":", lw=1)
        method, epochs, changes = group
        title = f"{method}, {epochs} epochs" + ("" if changes == "-" else f", {changes}")
        ax.set_title("\n".join(textwrap.wrap(title, 60)), fontsize=9)
        ax.set(xlabel="step (dotted: GLAI structure frozen)", ylabel="training loss")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    runs = load_runs()
    print(markdown_table(runs))
    plot_probes(runs, RUNS.parent / "runs.png")
    plot_pairs(runs, RUNS.parent / "pairs.png")
    print(
        f"\nplots: {RUNS.parent / 'runs.png'} (probe of every run), {RUNS.parent / 'pairs.png'} (loss, MLP vs GLAI)"
    )
