"""Few-shot model files: a backbone plus an optional embedding head (none | mlp | glai), and how to rebuild it.

A model file is a ``torch.save`` of::

    {"format": "glai_ssl.fewshot/1", "backbone": "conv4", "in_channels": 1, "image_size": 28,
     "backbone_state": {...}, "head": {"kind": "glai", "hidden_dim": 256, "output_dim": 64, "glai": {...}},
     "head_state": {...} | None, "meta": {...}}

:func:`load_model` reads these, the training checkpoints of ``glai-ssl fewshot train`` (their ``model`` entry),
and anything :func:`glai_ssl.models.load_backbone` reads (backbone files, SSL recipes' Lightning checkpoints),
which give a ProtoNet without a head.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from glai_ssl.fewshot.protonet import ProtoNet
from glai_ssl.glai import StabilityConfig, make_head
from glai_ssl.models import CheckpointError, load_backbone, make_backbone
from glai_ssl.models.checkpoint import atomic_save, read_payload

MODEL_FORMAT = "glai_ssl.fewshot/1"
TRAIN_FORMAT = "glai_ssl.fewshot-train/1"
HEAD_KINDS = ("none", "mlp", "glai")


@dataclass
class HeadConfig:
    """The embedding head on top of the backbone.

    Attributes:
        kind: ``none`` (Snell et al.'s ProtoNet), ``mlp`` (Linear-ReLU-Linear) or ``glai`` (its GLAI replacement
            with the same trainable parameter count).
        hidden_dim, output_dim: the head's widths; the output is the embedding used for prototypes.
        glai: options of the GLAI block, JSON-friendly: ``structure_widths``, ``path_ratio``, ``path_scale`` and
            ``stability`` (a dict of :class:`StabilityConfig` fields); missing keys take the library's defaults.
    """

    kind: str = "none"
    hidden_dim: int = 256
    output_dim: int = 64
    glai: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in HEAD_KINDS:
            raise ValueError(f"unknown head {self.kind!r}; choose one of {', '.join(HEAD_KINDS)}")
        if self.glai and self.kind != "glai":
            raise ValueError(f"GLAI options {sorted(self.glai)} were given for a {self.kind!r} head")

    def build(self, input_dim: int) -> nn.Module | None:
        """The head for ``input_dim`` features (``style="plain"``: no BatchNorm), or ``None`` for ``kind="none"``."""
        if self.kind == "none":
            return None
        options = dict(self.glai)
        if "stability" in options:
            options["stability"] = StabilityConfig(**options["stability"])
        return make_head(self.kind, input_dim, self.hidden_dim, self.output_dim, style="plain", **options)


def build_model(backbone: nn.Module, head: HeadConfig) -> ProtoNet:
    """A ProtoNet of ``backbone`` (with a ``feature_dim``) and the head described by ``head``."""
    return ProtoNet(backbone, head.build(backbone.feature_dim))


def model_payload(
    model: ProtoNet,
    *,
    backbone_name: str,
    in_channels: int,
    image_size: int,
    head: HeadConfig,
    meta: dict | None = None,
) -> dict:
    """The content of a model file (also kept inside training checkpoints)."""

    def cpu(module: nn.Module) -> dict:
        return {k: v.detach().cpu() if torch.is_tensor(v) else v for k, v in module.state_dict().items()}

    return {
        "format": MODEL_FORMAT,
        "backbone": backbone_name,
        "in_channels": in_channels,
        "image_size": image_size,
        "backbone_state": cpu(model.backbone),
        "head": asdict(head),
        "head_state": None if head.kind == "none" else cpu(model.head),
        "meta": meta or {},
    }


def save_model(path: str | os.PathLike, model: ProtoNet, **kwargs) -> Path:
    """Write a model file; ``kwargs`` as in :func:`model_payload`."""
    return atomic_save(model_payload(model, **kwargs), path)


def model_from_payload(payload: dict, source: str = "checkpoint") -> tuple[ProtoNet, dict]:
    """Rebuild the ProtoNet of a model payload; return ``(model, info)``."""
    try:
        head = HeadConfig(**payload["head"])
        backbone = make_backbone(payload["backbone"], payload["in_channels"], payload["image_size"])
        backbone.load_state_dict(payload["backbone_state"])
        model = build_model(backbone, head)
        if payload["head_state"] is not None:
            model.head.load_state_dict(payload["head_state"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{source}: cannot rebuild the few-shot model: {error}") from None
    info = {k: payload[k] for k in ("backbone", "in_channels", "image_size", "head", "meta")}
    return model, info


def load_model(path: str | os.PathLike) -> tuple[ProtoNet, dict]:
    """Load a few-shot model file, a training checkpoint, a backbone file or an SSL recipe checkpoint.

    Returns:
        ``(model, info)`` with ``info["backbone"]``, ``in_channels``, ``image_size``, ``head`` (a HeadConfig dict)
        and ``source`` (``"fewshot"``, ``"fewshot-train"`` or ``"backbone"``).

    Raises:
        CheckpointError: the file is missing, unreadable, or holds no usable model.
    """
    path = Path(path)
    payload = read_payload(path)
    fmt = payload.get("format") if isinstance(payload, dict) else None
    if fmt == TRAIN_FORMAT:
        model, info = model_from_payload(payload["model"], str(path))
        return model, {**info, "source": "fewshot-train", "epoch": payload.get("epoch")}
    if fmt == MODEL_FORMAT:
        model, info = model_from_payload(payload, str(path))
        return model, {**info, "source": "fewshot"}
    backbone, info = load_backbone(path)
    return ProtoNet(backbone), {**info, "head": asdict(HeadConfig()), "source": "backbone"}
