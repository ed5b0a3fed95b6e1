"""``glai-ssl bench``: GLAI vs MLP heads side by side, time-to-accuracy over seeds, with report and plots.

glai-ssl bench --quick                 # every head setting, sized to about a minute each (make demo)
glai-ssl bench fixed-fmnist --seeds 5  # one setting
glai-ssl bench heads                   # micro-benchmark: time per step of Phase 1, Phase 2 and the MLP
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, fields
from pathlib import Path

import torch

from glai_ssl.bench.e2e import run_e2e
from glai_ssl.bench.heads import HeadBenchConfig, run_head_benchmark
from glai_ssl.bench.heads import markdown_table as heads_table
from glai_ssl.bench.protocol import summarise_pairs
from glai_ssl.bench.report import write_report
from glai_ssl.bench.runners import RunSettings, train_head
from glai_ssl.bench.settings import DEFAULT_SETTINGS, SETTINGS
from glai_ssl.glai import PRUNING
from glai_ssl.utils.progress import progress
from glai_ssl.utils.runtime import (
    NO_REFIT,
    HelpFormatter,
    add_common_args,
    args_dict,
    float_or_off,
    positive_int,
    resolve_device,
    setup_logging,
    write_json,
)

CHOICES = [*SETTINGS, "heads", "e2e"]

#: the values a RunSettings field accepts, where they are few
SETTING_CHOICES = {"glai_solver": ("adam", "lbfgs", "ridge"), "glai_prune": tuple(PRUNING)}

#: --help of each RunSettings field
SETTING_HELP = {
    "lr": "Adam learning rate of both heads (and of GLAI's Phase 1)",
    "batch_size": "training batch size of both heads (the fewshot setting trains on 20-way 5-shot episodes instead)",
    "max_epochs": "at most this many epochs per head (also the L-BFGS rounds after Phase 1, and the length of BYOL's target-momentum schedule)",
    "patience": "stop a head after this many epochs without a better validation accuracy (GLAI: counted from its switch to Phase 2)",
    "max_seconds": "stop a head after this much training time",
    "glai_solver": "GLAI Phase 2 solver (lbfgs and ridge on the convex fixed-* settings; the others use adam)",
    "glai_phase2_lr": "Adam learning rate of GLAI's path weights (3e-4 measured best: results/bench_exploration)",
    "glai_phase2_weight_decay": "decoupled (AdamW-style) weight decay of GLAI's path weights in Phase 2",
    "glai_tau": "gate-flip share counted as stable",
    "glai_patience": "stable checks in a row to freeze S",
    "glai_check_every": "optimizer steps between stability checks",
    "glai_max_structure_epochs": "freeze S after this many epochs at the latest",
    "glai_structure_width": "width of S (unset: the smallest width whose paths reach --glai-path-ratio x the MLP's parameters)",
    "glai_path_ratio": "paths of S per MLP parameter (also for the GLAI variants of `bench heads`; sets the width of S when --glai-structure-width is unset; the kept paths stay at the MLP's parameter count)",
    "glai_path_scale": "path weights used as scale * theta",
    "glai_prune": "what the path budget keeps (also in `bench heads`): single paths by path norm (the paper), or whole path features G_u(x) x_i with all their output weights (Phase 2 then costs the MLP's per step at any --glai-path-ratio)",
    "lbfgs_iterations_per_eval": "L-BFGS iterations between validations (--glai-solver lbfgs or ridge)",
    "ridge": "ridge penalty of the closed-form solver (--glai-solver ridge)",
    "glai_refit_ridge": "at GLAI's switch, fit the kept path features to S's own outputs by ridge regression toward the pruned path products, this times the Gram matrix's mean diagonal ('off': no refit; with --glai-prune features only, single paths are never refitted)",
    "glai_refit_samples": "training inputs the switch's refit uses (--glai-refit-ridge)",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench`` subcommand to ``subparsers`` (one flag per :class:`RunSettings` field)."""
    parser = subparsers.add_parser(
        "bench",
        help="GLAI vs MLP heads: time-to-accuracy over seeds, report and plots",
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "settings",
        nargs="*",
        metavar="SETTING",
        help=f"any of {', '.join(CHOICES)} (default: {', '.join(DEFAULT_SETTINGS)})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller data, about a minute per setting on 2 CPU cores"
    )
    parser.add_argument(
        "--seeds", type=positive_int, default=5, help="seed pairs per setting (MLP and GLAI interleaved)"
    )
    parser.add_argument(
        "--backbone",
        type=Path,
        default=None,
        help="frozen backbone checkpoint (default: cached ones, see docs)",
    )
    tuning = parser.add_argument_group(
        "training (both heads) and GLAI options of the cached-feature settings (e2e runs the SSL recipe's own)"
    )
    defaults = RunSettings()
    for field in fields(RunSettings):
        flag = "--" + field.name.replace("_", "-")
        kind = type(getattr(defaults, field.name)) if getattr(defaults, field.name) is not None else float
        if field.name in ("glai_structure_width",):
            kind = int
        if field.name == "glai_refit_ridge":
            kind = _float_or_none
        tuning.add_argument(
            flag,
            type=kind,
            default=getattr(defaults, field.name),
            choices=SETTING_CHOICES.get(field.name),
            help=SETTING_HELP[field.name],
        )
    add_common_args(parser, out="results/bench")
    parser.set_defaults(func=run)


def _float_or_none(text: str) -> float | None:
    """:func:`float_or_off` with off as ``None`` (a :class:`RunSettings` refit ridge of ``None`` is no refit)."""
    value = float_or_off(text)
    return None if value == NO_REFIT else value


def run_settings(args: argparse.Namespace, names: list[str], log) -> dict:
    """Train MLP and GLAI heads in seed pairs on each head setting of ``names`` and summarise them.

    Per seed, the MLP head trains first; the GLAI head then trains on the same task and records when it first
    reached the MLP's maximum validation accuracy (MVA).

    Args:
        args: the parsed ``bench`` flags (the :class:`RunSettings` fields, ``quick``, ``backbone``, ``data_root``,
            ``seed``, ``seeds``).
        names: keys of :data:`SETTINGS` (not ``heads`` or ``e2e``).
        log: the logger to report progress to.

    Returns:
        ``{"args", "run_settings", "settings": {name: {"pairs", "summary", "seconds"}}}``, with ``summary`` from
        :func:`summarise_pairs`.
    """
    run = RunSettings(**{f.name: getattr(args, f.name) for f in fields(RunSettings)})
    results: dict = {"args": args_dict(args), "run_settings": asdict(run), "settings": {}}
    for name in names:
        start = time.perf_counter()
        log.info(f"[{name}] preparing cached inputs")
        task = SETTINGS[name](args.quick, checkpoint=args.backbone, data_root=args.data_root, log=log.info)
        pairs = []
        for seed in progress(range(args.seed, args.seed + args.seeds), desc=name, unit="seed"):
            mlp = train_head(task, "mlp", seed, run)
            glai = train_head(task, "glai", seed, run, target=mlp["mva"])
            pairs.append({"seed": seed, "mlp": mlp, "glai": glai})
            reached = glai["time_to_mlp_mva"]
            log.info(
                f"[{name}] seed {seed}: MLP MVA {100 * mlp['mva']:.2f}% at {mlp['time_to_mva']:.2f} s; GLAI MVA "
                f"{100 * glai['mva']:.2f}%, reached the MLP's MVA "
                + ("never" if reached is None else f"at {reached:.2f} s")
            )
        results["settings"][name] = {
            "pairs": pairs,
            "summary": summarise_pairs(pairs),
            "seconds": time.perf_counter() - start,
        }
    return results


def run(args: argparse.Namespace) -> int:
    """Run ``glai-ssl bench``: the head micro-benchmark, the head settings and/or ``e2e``.

    Writes ``heads.json`` and/or ``bench.json``, the Markdown report ``bench.md`` and plots under ``--out``, and
    prints the report. ``--quick`` with ``e2e`` is an error.

    Returns:
        0.
    """
    try:
        RunSettings(**{f.name: getattr(args, f.name) for f in fields(RunSettings)})
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    out = Path(args.out)
    log = setup_logging(out, "bench")
    device = resolve_device(args.device)
    if device.type != "cpu" and any(n != "heads" for n in args.settings or DEFAULT_SETTINGS):
        log.info("head settings run on the CPU (cached features); --device applies to `bench heads`")
    unknown = [n for n in args.settings if n not in CHOICES]
    if unknown:
        raise SystemExit(f"error: unknown bench setting(s) {unknown}; choose from {', '.join(CHOICES)}")
    torch.manual_seed(args.seed)
    names = args.settings or list(DEFAULT_SETTINGS)
    flags = [*args.settings, "--quick" if args.quick else "", f"--seeds {args.seeds}"]
    command = "glai-ssl bench " + " ".join(a for a in flags if a)
    heads = results = None
    if "heads" in names:
        config = HeadBenchConfig(
            seeds=args.seeds if not args.quick else 2,
            rounds=5 if not args.quick else 3,
            glai={"path_ratio": args.glai_path_ratio, "prune": args.glai_prune},
        )
        heads = run_head_benchmark(config, device)
        write_json(out / "heads.json", {"args": args_dict(args), "command": command, **heads})
    names = [n for n in names if n != "heads"]
    if names:
        if "e2e" in names and args.quick:
            raise SystemExit(
                "error: the e2e setting trains backbones for minutes per run; it is not part of --quick"
            )
        results = run_settings(args, [n for n in names if n != "e2e"], log)
        if "e2e" in names:
            results["settings"]["e2e"] = run_e2e(
                out / "e2e", range(args.seed, args.seed + args.seeds), log=log.info
            )
        results["command"] = command
        write_json(out / "bench.json", results)
    text = write_report(out, command, results, heads_table(heads) if heads else None)
    print(text)
    print(f"\nJSON, Markdown and plots are in {out}/")
    return 0
