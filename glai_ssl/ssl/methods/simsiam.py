"""SimSiam (Chen & He 2021, arXiv 2011.10566): predict the stop-gradient projection of the other view."""

from __future__ import annotations

from lightly.loss import NegativeCosineSimilarity

from glai_ssl.ssl.methods.base import SSLMethod


class SimSiam(SSLMethod):
    """Backbone + SimSiam projector (3 layers, output BN without affine) + predictor (bottleneck hidden/4)."""

    has_predictor = True

    def __init__(self, backbone, feature_dim, head="mlp", hidden_dim=512, output_dim=128, **kwargs):
        super().__init__(backbone, feature_dim, head, hidden_dim, output_dim, **kwargs)
        self.projection_head = self.make_head(feature_dim, hidden_dim, output_dim, "simsiam")
        self.prediction_head = self.make_head(
            output_dim, max(hidden_dim // 4, 1), output_dim, "simsiam-predictor"
        )
        self.criterion = NegativeCosineSimilarity()

    def forward(self, x):
        """``(z, p)``: projections and predictions, each ``(B, output_dim)``, of images ``(B, C, H, W)``."""
        z = self.projection_head(self.backbone(x).flatten(1))
        return z, self.prediction_head(z)

    def training_loss(self, views, step, max_steps):
        """SimSiam loss (Chen & He 2021): each view's prediction against the stop-gradient projection of the other.

        Negative cosine similarity, averaged over the two directions.

        Returns:
            The loss and the backbone features ``(B, feature_dim)`` of ``views[0]``.
        """
        f0, f1 = self.backbone(views[0]).flatten(1), self.backbone(views[1]).flatten(1)
        z0, z1 = self.projection_head(f0), self.projection_head(f1)
        p0, p1 = self.prediction_head(z0), self.prediction_head(z1)
        return 0.5 * (self.criterion(p0, z1.detach()) + self.criterion(p1, z0.detach())), f0
