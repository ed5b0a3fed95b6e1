"""VICReg (Bardes et al. 2022, arXiv 2105.04906): invariance, variance and covariance terms."""

from __future__ import annotations

from lightly.loss import VICRegLoss

from glai_ssl.ssl.methods.base import SSLMethod


class VICReg(SSLMethod):
    """Backbone + VICReg projector (3 layers), VICReg loss (25 / 25 / 1)."""

    def __init__(self, backbone, feature_dim, head="mlp", hidden_dim=512, output_dim=512, **kwargs):
        super().__init__(backbone, feature_dim, head, hidden_dim, output_dim, **kwargs)
        self.projection_head = self.make_head(feature_dim, hidden_dim, output_dim, "vicreg", num_layers=3)
        self.criterion = VICRegLoss(gather_distributed=self.gather_distributed)

    def training_loss(self, views, step, max_steps):
        """VICReg loss (Bardes et al. 2022) of the projections of ``views[0]`` and ``views[1]``.

        Returns:
            The loss and the backbone features ``(B, feature_dim)`` of ``views[0]``.
        """
        return self.symmetric_loss(views)
