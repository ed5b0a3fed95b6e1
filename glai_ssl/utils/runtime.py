"""Conventions every ``glai-ssl`` subcommand follows: ``--device``, ``--seed``, ``--out``, ``--data-root``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glai_ssl.utils.files import atomic_path


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` that keeps a description as written and ends each flag's help with its default, except where
    the default is ``None`` or empty (the help says what unset means), the flag is a switch that is off unless
    given, or the help already names its default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        switch_off = action.nargs == 0 and action.default is False
        empty = action.default in ([], {}, ())
        if action.default is None or switch_off or empty or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value:g}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a number >= 0."""
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value:g}")
    return value


def unit_interval(text: str) -> float:
    """argparse type: a number in [0, 1] (a share or a probability)."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value:g}")
    return value


def check_out_dir(out: str | os.PathLike) -> Path:
    """``out`` as a folder that can be written, or ``SystemExit`` saying why not (before any work is done)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"error: --out {out} is a file; give a folder (it is created if missing)")
    return out


def add_common_args(parser: argparse.ArgumentParser, *, data: bool = True, out: str | None = None) -> None:
    """Add the shared flags to a subcommand's parser."""
    group = parser.add_argument_group("common options")
    group.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where to compute (default: %(default)s)",
    )
    group.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    group.add_argument(
        "--out",
        type=Path,
        default=Path(out) if out else None,
        help="folder for JSON metrics and logs" + ("" if out else " (unset: results are only printed)"),
    )
    if data:
        group.add_argument(
            "--data-root",
            type=Path,
            default=None,
            help="dataset folder, read only; caches go to $GLAI_SSL_CACHE (default: $GLAI_SSL_DATA, else ./data)",
        )
        group.add_argument(
            "--download",
            action="store_true",
            help="download missing datasets through torchvision",
        )


#: the value of ``--refit-ridge off`` (or ``none``): no refit, where a parser's unset refit means a default one
NO_REFIT = "none"
OFF_WORDS = ("off", "none")


def float_or_off(text: str) -> float | str:
    """argparse type: a float, or the string :data:`NO_REFIT` for ``off`` or ``none`` (turn a default off)."""
    if text.strip().lower() in OFF_WORDS:
        return NO_REFIT
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'off', got {text!r}") from None


def add_pruning_args(
    group: argparse._ActionsContainer, prefix: str = "", refit_help: str = "", allow_off: bool = False
) -> None:
    """``--{prefix}prune`` and ``--{prefix}refit-ridge``: how a GLAI head spends its path budget and whether the
    switch refits the kept path features to ``S`` (unset: the block's defaults, or the caller's, described by
    ``refit_help``; ``allow_off``: ``--refit-ridge off`` turns a default refit off)."""
    from glai_ssl.glai import PRUNING

    group.add_argument(
        f"--{prefix}prune",
        default=None,
        choices=tuple(PRUNING),
        help="what the path budget keeps: single paths (the paper) or whole path features",
    )
    group.add_argument(
        f"--{prefix}refit-ridge",
        type=float_or_off if allow_off else float,
        default=None,
        help=f"at the switch, fit the kept path features to S's outputs (ridge, relative; needs --{prefix}prune "
        f"features{refit_help})",
    )


def pruning_error(prune: str | None, refit_ridge: float | None, prefix: str = "") -> str | None:
    """What is wrong with ``--{prefix}refit-ridge`` given ``--{prefix}prune``, or ``None``."""
    if refit_ridge is not None and (prune != "features" or not refit_ridge >= 0):
        return (
            f"--{prefix}refit-ridge {refit_ridge} needs --{prefix}prune features (got {prune}) and a value >= 0: "
            f"the refit solves on the kept path features (--{prefix}refit-ridge off drops a default refit)"
        )
    return None


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available; asking for ``cuda`` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            "error: --device cuda was requested but no CUDA device is available; use --device cpu"
        )
    if name not in ("cpu", "cuda"):
        raise SystemExit(f"error: unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a torch generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value


def write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON (tensors, paths and numpy scalars converted), atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(payload), indent=2) + "\n")
    return Path(path)


def args_dict(args: argparse.Namespace) -> dict:
    """The parsed arguments as a JSON-friendly dict (for the run record)."""
    return {k: _jsonable(v) for k, v in vars(args).items() if k != "func"}


def setup_logging(out: Path | None = None, name: str = "run") -> logging.Logger:
    """Log to stderr and, when ``out`` is given, to ``out/<name>.log``."""
    logger = logging.getLogger("glai_ssl")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(fmt)
    logger.addHandler(stream)
    if out is not None:
        check_out_dir(out).mkdir(parents=True, exist_ok=True)
        file = logging.FileHandler(Path(out) / f"{name}.log")
        file.setFormatter(fmt)
        logger.addHandler(file)
    logger.propagate = False
    return logger
