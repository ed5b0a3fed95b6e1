"""Barlow Twins (Zbontar et al. 2021, arXiv 2103.03230): make the views' cross-correlation the identity."""

from __future__ import annotations

from lightly.loss import BarlowTwinsLoss

from glai_ssl.ssl.methods.base import SSLMethod


class BarlowTwins(SSLMethod):
    """Backbone + Barlow Twins projector (3 layers), redundancy-reduction loss (lambda 5e-3)."""

    def __init__(self, backbone, feature_dim, head="mlp", hidden_dim=512, output_dim=512, **kwargs):
        super().__init__(backbone, feature_dim, head, hidden_dim, output_dim, **kwargs)
        self.projection_head = self.make_head(feature_dim, hidden_dim, output_dim, "barlowtwins")
        self.criterion = BarlowTwinsLoss(gather_distributed=self.gather_distributed)

    def training_loss(self, views, step, max_steps):
        """Barlow Twins loss (Zbontar et al. 2021) of the projections of ``views[0]`` and ``views[1]``.

        Returns:
            The loss and the backbone features ``(B, feature_dim)`` of ``views[0]``.
        """
        return self.symmetric_loss(views)
