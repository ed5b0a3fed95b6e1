"""MoCo v2 (Chen et al. 2020, arXiv 2003.04297): contrast against a queue of momentum-encoded keys."""

from __future__ import annotations

from lightly.loss import NTXentLoss
from lightly.utils.scheduler import cosine_schedule

from glai_ssl.ssl.methods.base import SSLMethod


class MoCo(SSLMethod):
    """Backbone + MoCo v2 projector (no BatchNorm), momentum encoder, NT-Xent (t=0.2) with a memory bank."""

    momentum_encoder = True
    has_temperature = True

    def __init__(
        self,
        backbone,
        feature_dim,
        head="mlp",
        hidden_dim=512,
        output_dim=128,
        temperature=0.2,
        memory_bank_size=4096,
        momentum=(0.99, 1.0),
        **kwargs,
    ):
        super().__init__(backbone, feature_dim, head, hidden_dim, output_dim, **kwargs)
        self.projection_head = self.make_head(feature_dim, hidden_dim, output_dim, "moco")
        self.backbone_momentum = self.momentum_copy(self.backbone)
        self.projection_head_momentum = self.momentum_copy(self.projection_head)
        self.momentum = momentum
        self.criterion = NTXentLoss(
            temperature=temperature,
            memory_bank_size=(memory_bank_size, output_dim),
            gather_distributed=self.gather_distributed,
        )

    def training_loss(self, views, step, max_steps):
        """MoCo v2 loss (Chen et al. 2020): queries from ``views[0]``, momentum keys from ``views[1]``.

        NT-Xent with the memory bank of past keys as extra negatives, in this one direction only.

        Returns:
            The loss and the backbone features ``(B, feature_dim)`` of ``views[0]``.
        """
        f0 = self.backbone(views[0]).flatten(1)
        return self.criterion(self.projection_head(f0), self.forward_momentum(views[1])), f0

    def after_optimizer_step(self, step, max_steps):
        """Momentum update, the momentum cosine-scheduled from ``momentum[0]`` to ``momentum[1]`` over ``max_steps``."""
        self.update_momentum(cosine_schedule(step, max_steps, *self.momentum))
