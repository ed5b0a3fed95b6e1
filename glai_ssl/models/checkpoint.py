"""Backbone checkpoints: one small file format that every part of glai_ssl writes and reads.

A backbone file is a ``torch.save`` of::

    {"format": "glai_ssl.backbone/1", "backbone": "conv4", "in_channels": 1, "image_size": 28,
     "normalize": {"mean": [...], "std": [...]} or None, "state_dict": {...}, "meta": {...}}

A loaded backbone always takes images in [0, 1]: when the file records the normalisation it was trained
with, ``load_backbone`` wraps the network in :class:`Normalized`.

``load_backbone`` also accepts the Lightning checkpoints of the SSL recipes (their hyper-parameters name the
backbone and their state dict holds it under ``backbone.``), so ``glai-ssl probe`` and ``glai-ssl fewshot eval``
take either.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from glai_ssl.models.backbones import BACKBONES, make_backbone
from glai_ssl.utils.files import atomic_path

FORMAT = "glai_ssl.backbone/1"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or not what the caller needs."""


class Normalized(nn.Module):
    """A backbone preceded by per-channel input normalisation, so that it takes images in [0, 1]."""

    def __init__(self, backbone: nn.Module, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.backbone = backbone
        self.feature_dim = backbone.feature_dim
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone features of images ``(B, C, H, W)`` in [0, 1], normalised per channel first."""
        return self.backbone((x - self.mean) / self.std)


def save_backbone(
    path: str | os.PathLike,
    name: str,
    backbone: nn.Module,
    *,
    in_channels: int,
    image_size: int,
    normalize: dict | None = None,
    meta: dict | None = None,
) -> Path:
    """Write ``backbone`` (built by ``make_backbone(name, in_channels, image_size)``) to ``path``.

    ``normalize`` (``{"mean": [...], "std": [...]}``) records the input normalisation it was trained with.
    """
    payload = {
        "format": FORMAT,
        "backbone": name,
        "in_channels": in_channels,
        "image_size": image_size,
        "normalize": normalize,
        "state_dict": {k: v.detach().cpu() for k, v in backbone.state_dict().items()},
        "meta": meta or {},
    }
    return atomic_save(payload, path)


def atomic_save(payload: dict, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file, then rename: a crash never leaves a truncated checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def read_payload(path: str | os.PathLike, action: str = "checkpoint") -> object:
    """``torch.load`` a checkpoint on the CPU, or raise :class:`CheckpointError` saying what is wrong with it.

    ``action`` starts the message (e.g. ``"cannot resume: checkpoint"``).
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(
            f"{action} {path} is a folder; pass a file in it: {path / 'backbone.pt'} (a recipe's backbone) or "
            f"{path / 'checkpoints' / 'last.ckpt'} (its Lightning checkpoint)"
        )
    if not path.is_file():
        raise CheckpointError(f"{action} {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise CheckpointError(
            f"{action} {path} could not be read ({type(error).__name__}: {error}); is it truncated?"
        ) from None


def check_same_config(path: str | os.PathLike, saved: dict, current: dict, keys=None) -> None:
    """Raise :class:`CheckpointError` listing every difference when ``path`` (written under ``saved``) is resumed
    with another ``current`` configuration; compares ``keys`` (default: every key of either dict)."""
    keys = keys if keys is not None else sorted(set(saved) | set(current))
    diffs = [
        f"{key}: checkpoint {saved.get(key)!r}, now {current.get(key)!r}"
        for key in keys
        if saved.get(key) != current.get(key)
    ]
    if diffs:
        raise CheckpointError(
            f"cannot resume from {path}: it was written by another configuration:\n  "
            + "\n  ".join(diffs)
            + "\nPass the same options, or train into a new --out folder."
        )


def _read(path: Path) -> dict:
    payload = read_payload(path)
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"checkpoint {path} holds a {type(payload).__name__}, not a glai_ssl checkpoint"
        )
    return payload


#: which backbone of an SSL recipe's Lightning checkpoint :func:`load_backbone` reads
ENCODERS = ("online", "momentum")


def load_backbone(path: str | os.PathLike, encoder: str = "online") -> tuple[nn.Module, dict]:
    """Load a backbone file or an SSL recipe's Lightning checkpoint; return ``(backbone, info)``.

    The backbone takes images in [0, 1] (see :class:`Normalized`). ``info`` has ``backbone``, ``in_channels``,
    ``image_size``, ``normalize`` and the saved ``meta``. ``encoder="momentum"`` reads the momentum (target)
    encoder of a BYOL or MoCo checkpoint instead of the online one (Grill et al. 2020 evaluate the online one).

    Raises:
        CheckpointError: the file is missing, unreadable, or holds no backbone (or no momentum encoder).
    """
    if encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {encoder!r}; choose one of {', '.join(ENCODERS)}")
    path = Path(path)
    payload = _read(path)
    if encoder == "momentum" and payload.get("format") == FORMAT:
        raise CheckpointError(
            f"{path} is a backbone file, which holds one encoder; the momentum encoder is only in an SSL "
            "recipe's Lightning checkpoint (OUT/checkpoints/last.ckpt of a BYOL or MoCo run)"
        )
    if payload.get("format") == FORMAT:
        info = {k: payload[k] for k in ("backbone", "in_channels", "image_size")}
        info["normalize"] = payload.get("normalize")
        state = payload["state_dict"]
        info["meta"] = payload.get("meta", {})
    elif "state_dict" in payload and "hyper_parameters" in payload:
        hparams = payload["hyper_parameters"]
        hparams = hparams.get("config", hparams)
        if "backbone" not in hparams:
            raise CheckpointError(f"{path} is a Lightning checkpoint without a 'backbone' hyper-parameter")
        info = {
            "backbone": hparams["backbone"],
            "in_channels": hparams.get("in_channels", 1),
            "image_size": hparams.get("image_size", 28),
            "meta": {"lightning": True, "epoch": payload.get("epoch")},
            "normalize": hparams.get("normalize"),
        }
        name = "backbone" if encoder == "online" else "backbone_momentum"
        prefixes = (f"method.{name}.", f"{name}.")  # SSLModule keeps it under method.<name>
        state = {}
        for prefix in prefixes:
            state = {k[len(prefix) :]: v for k, v in payload["state_dict"].items() if k.startswith(prefix)}
            if state:
                break
        if not state:
            hint = " (a method with a momentum encoder: byol, moco)" if encoder == "momentum" else ""
            raise CheckpointError(
                f"{path} has no '{prefixes[0]}*' or '{prefixes[1]}*' weights in its state dict{hint}"
            )
        info["meta"]["dataset"] = hparams.get("dataset")
        info["meta"]["encoder"] = encoder
    else:
        raise CheckpointError(
            f"{path} is not a glai_ssl backbone file (format {payload.get('format')!r}) nor an SSL recipe checkpoint"
        )
    if info["backbone"] not in BACKBONES:
        raise CheckpointError(f"{path} names an unknown backbone {info['backbone']!r}")
    backbone = make_backbone(info["backbone"], info["in_channels"], info["image_size"])
    try:
        backbone.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not fit a {info['backbone']} backbone: {error}") from None
    if info.get("normalize"):
        backbone = Normalized(backbone, info["normalize"]["mean"], info["normalize"]["std"])
    return backbone, info
