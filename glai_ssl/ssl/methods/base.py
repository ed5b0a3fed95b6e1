"""``SSLMethod``: backbone + projector (+ predictor, + momentum encoder) + loss, with the head a flag.

Every method builds its projector (and predictor) with :func:`glai_ssl.glai.make_head`, so ``head="mlp"``
and ``head="glai"`` give heads of the same dims and the two runs differ in the head only.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from lightly.models.utils import deactivate_requires_grad, update_momentum
from torch import Tensor, nn

from glai_ssl.glai import GLAI, make_head


class SSLMethod(nn.Module, ABC):
    """Base class of the SSL methods.

    Args:
        backbone: maps images to ``(B, feature_dim)`` features.
        feature_dim: the backbone's output size.
        head: ``"mlp"`` (lightly's head) or ``"glai"`` (its GLAI replacement).
        hidden_dim, output_dim: the projector's dims.
        gather_distributed: gather embeddings/statistics across ranks in the loss (lightly's flag).
        glai_options: options for :class:`GLAI` heads (ignored for MLP heads).
    """

    #: the lightly view transform the method expects: "simclr" (symmetric) or "byol" (asymmetric)
    transform = "simclr"
    #: a contrastive loss needs at least two samples per batch
    min_batch_size = 2
    #: whether the method keeps a momentum (EMA) encoder and so takes ``momentum=(start, end)``
    momentum_encoder = False
    #: whether the loss is NT-Xent and so takes ``temperature`` (SimCLR, MoCo)
    has_temperature = False
    #: whether the method has a ``prediction_head`` (BYOL, SimSiam), which may take its own lr
    has_predictor = False

    def __init__(
        self,
        backbone: nn.Module,
        feature_dim: int,
        head: str = "mlp",
        hidden_dim: int = 512,
        output_dim: int = 128,
        gather_distributed: bool = False,
        glai_options: dict | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head_kind = head
        self.glai_options = dict(glai_options or {}) if head == "glai" else {}
        self.gather_distributed = gather_distributed
        self._momentum_pairs: list[tuple[nn.Module, nn.Module]] = []

    def make_head(
        self, input_dim: int, hidden_dim: int, output_dim: int, style: str, **style_kwargs
    ) -> nn.Module:
        """A head of this method's kind (mlp or glai), in the layout of lightly's ``style`` head."""
        return make_head(
            self.head_kind,
            input_dim,
            hidden_dim,
            output_dim,
            style=style,
            style_kwargs=style_kwargs,
            **self.glai_options,
        )

    def momentum_copy(self, module: nn.Module) -> nn.Module:
        """A frozen copy of ``module`` updated as an exponential moving average (BYOL, MoCo)."""
        copy_ = copy.deepcopy(module)
        deactivate_requires_grad(copy_)
        if isinstance(copy_, GLAI):
            copy_.auto_freeze = False  # follows the online head's phase, see sync_momentum_phases
        self._momentum_pairs.append((module, copy_))
        return copy_

    def forward(self, x: Tensor) -> Tensor:
        """Projections ``(B, output_dim)`` of images ``(B, C, H, W)`` (methods with a predictor override it)."""
        return self.projection_head(self.backbone(x).flatten(1))

    def forward_momentum(self, x: Tensor) -> Tensor:
        """The momentum encoder's projections ``(B, output_dim)`` of images ``(B, C, H, W)``, detached (BYOL, MoCo)."""
        if not self.momentum_encoder:
            raise TypeError(f"{type(self).__name__} has no momentum encoder")
        return self.projection_head_momentum(self.backbone_momentum(x).flatten(1)).detach()

    def symmetric_loss(self, views: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """``criterion(projection of views[0], projection of views[1])`` and the backbone features of
        ``views[0]``: the loss of the methods that compare two views' projections directly (SimCLR, Barlow
        Twins, VICReg)."""
        f0, f1 = self.backbone(views[0]).flatten(1), self.backbone(views[1]).flatten(1)
        return self.criterion(self.projection_head(f0), self.projection_head(f1)), f0

    @abstractmethod
    def training_loss(self, views: Sequence[Tensor], step: int, max_steps: int) -> tuple[Tensor, Tensor]:
        """The SSL loss of one batch of views, and the backbone features of the first view (for the online
        linear probe, which trains on them with a stop-gradient)."""

    @torch.no_grad()
    def after_optimizer_step(self, step: int, max_steps: int) -> None:
        """Momentum updates after each optimizer step (no-op for methods without a momentum encoder)."""

    @torch.no_grad()
    def update_momentum(self, momentum: float) -> None:
        """EMA update of each momentum copy: ``target = momentum * target + (1 - momentum) * online``."""
        for online, target in self._momentum_pairs:
            update_momentum(online, target, momentum)

    def online_glai_heads(self) -> dict[str, GLAI]:
        """The trained GLAI heads by name (``projection_head``, ``prediction_head``), momentum copies excluded."""
        targets = {id(target) for _, target in self._momentum_pairs}
        return {
            name: module
            for name, module in self.named_children()
            if isinstance(module, GLAI) and id(module) not in targets
        }

    @torch.no_grad()
    def head_inputs(self, images: Tensor) -> dict[str, Tensor]:
        """What each online GLAI head sees for ``images`` (its probe batch for stability checks)."""
        features = self.backbone(images).flatten(1)
        inputs = {}
        if hasattr(self, "projection_head"):
            inputs["projection_head"] = features
            if hasattr(self, "prediction_head"):
                inputs["prediction_head"] = self.projection_head(features)
        return inputs

    @torch.no_grad()
    def sync_momentum_phases(self) -> None:
        """Once an online GLAI head has switched to its path form, its momentum copy takes the same state,
        so both continue as exponential averages of the same path weights under the same frozen structure."""
        for online, target in self._momentum_pairs:
            for name, module in online.named_modules():
                copy_ = target.get_submodule(name) if name else target
                if isinstance(module, GLAI) and module.phase == 2 and copy_.phase == 1:
                    copy_.load_state_dict(module.state_dict())
