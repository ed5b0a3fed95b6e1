"""BYOL (Grill et al. 2020, arXiv 2006.07733): predict a momentum encoder's projection of the other view."""

from __future__ import annotations

from lightly.loss import NegativeCosineSimilarity
from lightly.utils.scheduler import cosine_schedule

from glai_ssl.ssl.methods.base import SSLMethod


class BYOL(SSLMethod):
    """Backbone + BYOL projector + predictor; momentum encoder with momentum 0.99 -> 1 (cosine)."""

    transform = "byol"
    momentum_encoder = True
    has_predictor = True

    def __init__(
        self,
        backbone,
        feature_dim,
        head="mlp",
        hidden_dim=512,
        output_dim=128,
        momentum=(0.99, 1.0),
        **kwargs,
    ):
        super().__init__(backbone, feature_dim, head, hidden_dim, output_dim, **kwargs)
        self.projection_head = self.make_head(feature_dim, hidden_dim, output_dim, "byol")
        self.prediction_head = self.make_head(output_dim, hidden_dim, output_dim, "byol-predictor")
        self.backbone_momentum = self.momentum_copy(self.backbone)
        self.projection_head_momentum = self.momentum_copy(self.projection_head)
        self.momentum = momentum
        self.criterion = NegativeCosineSimilarity()

    def forward(self, x):
        """Predictions ``(B, output_dim)`` (predictor of projector of features) of images ``(B, C, H, W)``."""
        return self.prediction_head(self.projection_head(self.backbone(x).flatten(1)))

    def training_loss(self, views, step, max_steps):
        """BYOL loss (Grill et al. 2020): each view's prediction against the momentum projection of the other.

        Negative cosine similarity, averaged over the two directions.

        Returns:
            The loss and the backbone features ``(B, feature_dim)`` of ``views[0]``.
        """
        x0, x1 = views[0], views[1]
        f0, f1 = self.backbone(x0).flatten(1), self.backbone(x1).flatten(1)
        p0, p1 = (
            self.prediction_head(self.projection_head(f0)),
            self.prediction_head(self.projection_head(f1)),
        )
        loss = 0.5 * (
            self.criterion(p0, self.forward_momentum(x1)) + self.criterion(p1, self.forward_momentum(x0))
        )
        return loss, f0

    def after_optimizer_step(self, step, max_steps):
        """Momentum update, the momentum cosine-scheduled from ``momentum[0]`` to ``momentum[1]`` over ``max_steps``."""
        self.update_momentum(cosine_schedule(step, max_steps, *self.momentum))
