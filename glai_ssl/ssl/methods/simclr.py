"""SimCLR (Chen et al. 2020, arXiv 2002.05709): NT-Xent between the projections of two views."""

from __future__ import annotations

from lightly.loss import NTXentLoss

from glai_ssl.ssl.methods.base import SSLMethod


class SimCLR(SSLMethod):
    """Backbone + SimCLR projection head (Linear-BN-ReLU-Linear-BN), NT-Xent with temperature 0.5."""

    has_temperature = True

    def __init__(
        self, backbone, feature_dim, head="mlp", hidden_dim=512, output_dim=128, temperature=0.5, **kwargs
    ):
        super().__init__(backbone, feature_dim, head, hidden_dim, output_dim, **kwargs)
        self.projection_head = self.make_head(feature_dim, hidden_dim, output_dim, "simclr")
        self.criterion = NTXentLoss(temperature=temperature, gather_distributed=self.gather_distributed)

    def training_loss(self, views, step, max_steps):
        """SimCLR loss (Chen et al. 2020): NT-Xent between the projections of ``views[0]`` and ``views[1]``.

        Returns:
            The loss and the backbone features ``(B, feature_dim)`` of ``views[0]``.
        """
        return self.symmetric_loss(views)
