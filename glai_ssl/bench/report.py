"""The benchmark's outputs: JSON (every curve point), a Markdown table and PNG plots.

Everything here renders from the JSON alone, so a report can be redrawn without rerunning:

    python -m glai_ssl.bench.report results/bench
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from matplotlib.figure import Figure  # pyplot-free: no backend is chosen or changed for the caller

from glai_ssl.bench.protocol import summarise_pairs


def _fmt_time(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f}"


def markdown_table(results: dict) -> str:
    """One row per setting: MVAs, times to the MLP's MVA, speedup with its 95% CI, paired test, parameters."""
    lines = [
        "| setting | seeds | MLP MVA | GLAI MVA | GLAI - MLP | T_MLP(MVA) s | T_GLAI(MLP MVA) s | speedup (95% CI) | reached | Wilcoxon p | T_GLAI(own MVA) s | trainable MLP / GLAI | GLAI frozen S | training state MiB MLP / GLAI |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, setting in results["settings"].items():
        s = setting["summary"]
        first = setting["pairs"][0]
        speed = (
            "n/a"
            if not s["reached"]
            else f"{s['speedup_mean']:.2f}x (1 seed)"
            if s["reached"] == 1
            else f"{s['speedup_mean']:.2f}x (+- {s['speedup_ci95']:.2f})"
        )
        p = s["tests"].get("wilcoxon_p")
        lines.append(
            f"| {name} | {s['seeds']} | {100 * s['mlp_mva_mean']:.2f} | {100 * s['glai_mva_mean']:.2f} | "
            f"{100 * s['mva_gap_mean']:+.2f} | {s['mlp_time_to_mva_mean']:.2f} | {_fmt_time(s['glai_time_to_mlp_mva_mean'])} | "
            f"{speed} | {s['reached']}/{s['seeds']} | {'-' if p is None else f'{p:.3f}'} | "
            f"{_fmt_time(s['glai_time_to_own_mva_mean'])} | "
            f"{first['mlp']['parameters']['trainable']:,} / {first['glai']['parameters']['trainable']:,} | "
            f"{first['glai']['parameters']['frozen']:,} | "
            f"{_mib(s['state_bytes_mean']['mlp'])} / {_mib(s['state_bytes_mean']['glai'])} |"
        )
    seeds = max(setting["summary"]["seeds"] for setting in results["settings"].values())
    lines += [
        "",
        "T_MLP(MVA) is the mean over all seeds, T_GLAI(MLP MVA) over the seeds where GLAI reached it (the speedup "
        "is the mean of per-seed ratios). With n pairs the two-sided exact Wilcoxon test cannot go below "
        f"p = 2 / 2^n ({2 / 2**seeds:.4f} for {seeds}).",
    ]
    return "\n".join(lines)


def verdicts(results: dict, target: float = 1.92) -> list[str]:
    """Plain statements of where GLAI meets the target (speedup >= target and MVA >= MLP's) and where not."""
    out = []
    for name, setting in results["settings"].items():
        s = setting["summary"]
        phases = s.get("glai_reached_in_phase", [])
        in_phase1 = sum(phase == 1 for phase in phases)
        phase_note = (
            f" GLAI first reached it in Phase 1 (`S`, before the switch) in {in_phase1} of {s['reached']} seeds;"
            f" its final accuracy is at or above the MLP's MVA in {s['glai_final_at_least_mlp_mva']} of "
            f"{s['seeds']} seeds (final: {', '.join(f'{100 * a:.2f}' for a in s['glai_final_accuracies'])})."
            if in_phase1
            else ""
        )
        if s["reached"] < s["seeds"]:
            gaps = ", ".join(f"{100 * g:+.2f}" for g in s["mva_gaps"])
            out.append(
                f"- {name}: GLAI did not reach the MLP's MVA in {s['seeds'] - s['reached']} of {s['seeds']} seeds (MVA gaps, points: {gaps})."
                + (
                    f" Speedups where reached: {', '.join(f'{x:.2f}x' for x in s['speedups'])}."
                    if s["reached"]
                    else ""
                )
                + phase_note
            )
        elif s["speedup_mean"] >= target and s["glai_mva_at_least_mlp"]:
            out.append(
                f"- {name}: target met as measured: {s['speedup_mean']:.2f}x mean speedup, GLAI's MVA >= the MLP's in every seed."
                + phase_note
            )
        else:
            missing = []
            if s["speedup_mean"] < target:
                missing.append(f"speedup {s['speedup_mean']:.2f}x < {target}x")
            if not s["glai_mva_at_least_mlp"]:
                missing.append(
                    f"GLAI's MVA below the MLP's in some seeds (mean gap {100 * s['mva_gap_mean']:+.2f} points)"
                )
            out.append(f"- {name}: target not met: {'; '.join(missing)}.{phase_note}")
    return out


def plot_curves(results: dict, folder: Path) -> list[Path]:
    """Accuracy against training time for both heads (every seed), per setting; GLAI's freeze marked."""
    paths = []
    for name, setting in results["settings"].items():
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        for pair in setting["pairs"]:
            for kind, colour in (("mlp", "tab:blue"), ("glai", "tab:orange")):
                points = pair[kind]["curve"]["points"]
                ax.plot(
                    [p["seconds"] for p in points],
                    [p["accuracy"] for p in points],
                    color=colour,
                    alpha=0.6,
                    label=kind.upper() if pair is setting["pairs"][0] else None,
                )
                for event in pair[kind]["curve"]["events"]:
                    if "frozen" in event["event"]:
                        ax.axvline(event["seconds"], color=colour, alpha=0.2, linestyle=":")
            ax.axhline(pair["mlp"]["mva"], color="tab:blue", alpha=0.15, linestyle="--")
        ax.set(xlabel="training time (s, evaluation excluded)", ylabel="validation accuracy", title=name)
        ax.legend()
        fig.tight_layout()
        path = folder / f"curves_{name}.png"
        fig.savefig(path, dpi=120)
        paths.append(path)
    return paths


def plot_stability(results: dict, folder: Path) -> Path:
    """GLAI's gate-stability trace (share of probe gates flipped between checks) per setting, first seed."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, setting in results["settings"].items():
        glai = setting["pairs"][0]["glai"].get("glai")
        if glai and glai["trace"]:
            ax.plot(
                [t["step"] for t in glai["trace"]],
                [t["distance"] for t in glai["trace"]],
                marker=".",
                label=name,
            )
    ax.set(
        xlabel="optimizer step",
        ylabel="gates flipped since last check",
        yscale="log",
        title="GLAI gate stability",
    )
    ax.legend()
    fig.tight_layout()
    path = folder / "gate_stability.png"
    fig.savefig(path, dpi=120)
    return path


def write_report(folder: Path, command: str, results: dict | None, heads_table: str | None = None) -> str:
    """Plots and ``bench.md`` in ``folder`` from the results (and the micro-benchmark's table); returns the text."""
    report = [f"# glai-ssl bench ({time.strftime('%Y-%m-%d')})", "", f"Command: `{command}`", ""]
    if heads_table:
        report += ["## Head micro-benchmark", "", heads_table, ""]
    if results and results["settings"]:
        curves = plot_curves(results, folder)
        stability = plot_stability(results, folder)
        report += [
            "## Time to accuracy: GLAI vs MLP",
            "",
            markdown_table(results),
            "",
            *verdicts(results),
            "",
        ]
        report += [f"Plots: {', '.join(p.name for p in curves)}, {stability.name}", ""]
    text = "\n".join(report)
    (folder / "bench.md").write_text(text + "\n")
    return text


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "results/bench")
    if not (folder / "bench.json").is_file():
        raise SystemExit(f"error: no bench.json in {folder}; give the --out folder of a `glai-ssl bench` run")
    data = json.loads((folder / "bench.json").read_text())
    for setting in data["settings"].values():  # summaries afresh: a report of an older run gets every field
        setting["summary"] = summarise_pairs(setting["pairs"])
    print(write_report(folder, data.get("command", "glai-ssl bench"), data))
