"""Heads: lightly's MLP heads and their GLAI drop-ins, and ``make_head``, the one switch between them.

Replace ``SimCLRProjectionHead(512, 2048, 128)`` with ``GLAIProjectionHead(512, 2048, 128)`` (or
``BYOLPredictionHead`` with ``GLAIPredictionHead``) and nothing else in the training loop changes: the block
trains ``S``, freezes it when its gates settle and continues on the path weights by itself.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from lightly.models.modules import heads as lightly_heads
from torch import nn

from glai_ssl.glai.block import GLAI
from glai_ssl.glai.spec import HeadSpec


class GLAIProjectionHead(GLAI):
    """GLAI drop-in for lightly's ``SimCLRProjectionHead`` (and, with ``output_batch_norm=False``, for
    ``BYOLProjectionHead``).

    Args:
        input_dim, hidden_dim, output_dim, num_layers, batch_norm: as in ``SimCLRProjectionHead``
            (``num_layers`` counts Linear layers: 2 means one hidden layer).
        output_batch_norm: BatchNorm on the output; default: ``batch_norm`` (SimCLR). BYOL's projector has none.
        **glai_kwargs: see :class:`GLAI` (structure widths, budget, path scale, stability).
    """

    def __init__(
        self,
        input_dim: int = 2048,
        hidden_dim: int = 2048,
        output_dim: int = 128,
        num_layers: int = 2,
        batch_norm: bool = True,
        output_batch_norm: bool | None = None,
        **glai_kwargs,
    ) -> None:
        if num_layers < 2:
            raise ValueError(f"num_layers must be >= 2 (one hidden layer at least), got {num_layers}")
        super().__init__(
            input_dim,
            [hidden_dim] * (num_layers - 1),
            output_dim,
            batch_norm=batch_norm,
            output_batch_norm=batch_norm if output_batch_norm is None else output_batch_norm,
            **glai_kwargs,
        )


class GLAIPredictionHead(GLAI):
    """GLAI drop-in for lightly's ``BYOLPredictionHead`` (Linear + BatchNorm + ReLU, then a plain Linear)."""

    def __init__(
        self, input_dim: int = 256, hidden_dim: int = 4096, output_dim: int = 256, **glai_kwargs
    ) -> None:
        super().__init__(
            input_dim, hidden_dim, output_dim, batch_norm=True, output_batch_norm=False, **glai_kwargs
        )


def _plain_mlp(input_dim: int, hidden_dim: int, output_dim: int, num_layers: int = 2) -> nn.Module:
    """A plain MLP (Linear + ReLU blocks, no BatchNorm): classifier and embedding heads on frozen features."""
    spec = HeadSpec(input_dim, (hidden_dim,) * (num_layers - 1), output_dim, batch_norm=False)
    return spec.build_mlp()


#: GLAI options measured to keep an end-to-end head level with the MLP (16x wider S, Phase 2 on its path features,
#: refit to S at the switch, Phase-2 steps 0.1x): the defaults of the few-shot CLI and the SimCLR and BYOL recipes.
#: ProtoNet on Omniglot (12 epochs of 20-way episodes), GLAI - MLP in 5-way 1-shot: -0.74 with the library's
#: block, -0.24 with these at path scale 1, -0.09 at 0.3 (5 seeds), -0.01 +- 0.10 at 0.1 (4 seeds;
#: results/protonet/heads/compare.py; seed 0 with contiguous weights: +0.32); Fashion-MNIST probe, SimCLR at
#: temperature 0.2: -0.24 / -0.12 (seeds 0, 1), BYOL at lr 2e-3: -0.23 / -0.65 / -0.09 / +0.43 (seeds 0-3;
#: results/ssl/README.md).
#: Measured with Adam; SGD: path_scale 1.
#: The refit applies with ``prune="features"`` only.
GLAI_HEAD_DEFAULTS = {"path_ratio": 16.0, "prune": "features", "refit_ridge": 1e-2, "path_scale": 0.1}


#: head style -> the lightly MLP it stands for (constructor ``(input_dim, hidden_dim, output_dim, ...)``).
HEAD_STYLES: dict[str, Callable[..., nn.Module]] = {
    "simclr": lightly_heads.SimCLRProjectionHead,
    "byol": lightly_heads.BYOLProjectionHead,
    "byol-predictor": lightly_heads.BYOLPredictionHead,
    "moco": lightly_heads.MoCoProjectionHead,
    "simsiam": lightly_heads.SimSiamProjectionHead,
    "simsiam-predictor": lightly_heads.SimSiamPredictionHead,
    "barlowtwins": lightly_heads.BarlowTwinsProjectionHead,
    "vicreg": lightly_heads.VICRegProjectionHead,
    "plain": _plain_mlp,
}
HEAD_KINDS = ("mlp", "glai")


def head_spec(style: str, input_dim: int, hidden_dim: int, output_dim: int, **style_kwargs) -> HeadSpec:
    """The :class:`HeadSpec` of a head style, read off the lightly head itself (built on the meta device)."""
    if style not in HEAD_STYLES:
        raise ValueError(f"unknown head style {style!r}; choose one of {', '.join(HEAD_STYLES)}")
    with torch.device("meta"):
        return HeadSpec.from_module(HEAD_STYLES[style](input_dim, hidden_dim, output_dim, **style_kwargs))


def make_head(
    kind: str,
    input_dim: int,
    hidden_dim: int,
    output_dim: int,
    style: str = "simclr",
    style_kwargs: dict | None = None,
    **glai_kwargs,
) -> nn.Module:
    """Build a head: ``kind="mlp"`` gives lightly's MLP of that ``style``, ``kind="glai"`` its GLAI replacement.

    Both have the same input, hidden and output dims, so a comparison differs in the head only.

    Args:
        kind: ``"mlp"`` or ``"glai"``.
        input_dim, hidden_dim, output_dim: the head's dims.
        style: which lightly head: one of :data:`HEAD_STYLES`.
        style_kwargs: extra arguments of the lightly head (e.g. ``{"num_layers": 3}``).
        **glai_kwargs: options of :class:`GLAI` (ignored keys are an error for ``kind="mlp"``).
    """
    style_kwargs = style_kwargs or {}
    if kind not in HEAD_KINDS:
        raise ValueError(f"unknown head kind {kind!r}; choose one of {', '.join(HEAD_KINDS)}")
    if kind == "mlp":
        if glai_kwargs:
            raise ValueError(f"GLAI options {sorted(glai_kwargs)} were given for an MLP head")
        if style not in HEAD_STYLES:
            raise ValueError(f"unknown head style {style!r}; choose one of {', '.join(HEAD_STYLES)}")
        return HEAD_STYLES[style](input_dim, hidden_dim, output_dim, **style_kwargs)
    return GLAI.from_spec(head_spec(style, input_dim, hidden_dim, output_dim, **style_kwargs), **glai_kwargs)
