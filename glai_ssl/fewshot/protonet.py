"""Prototypical Networks (Snell et al. 2017): class prototypes are mean embeddings of the support samples,
queries are scored by negative squared Euclidean distance to each prototype."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def prototypes(support: Tensor, support_labels: Tensor, way: int) -> Tensor:
    """Mean embedding of each class, ``(way, D)`` (Snell et al. 2017, eq. 1)."""
    sums = support.new_zeros(way, support.shape[1]).index_add_(0, support_labels, support)
    counts = torch.bincount(support_labels, minlength=way).clamp_min(1).to(support.dtype)
    return sums / counts.unsqueeze(1)


def squared_euclidean(x: Tensor, y: Tensor) -> Tensor:
    """``(..., N, M)`` squared distances between the rows of ``x`` ``(..., N, D)`` and ``y`` ``(..., M, D)``."""
    return (x.unsqueeze(-2) - y.unsqueeze(-3)).pow(2).sum(-1)


def prototypical_logits(support: Tensor, support_labels: Tensor, query: Tensor) -> Tensor:
    """``(num_query, way)`` logits: minus the squared distance of each query to each prototype (eq. 2)."""
    way = int(support_labels.max()) + 1
    return -squared_euclidean(query, prototypes(support, support_labels, way))


class ProtoNet(nn.Module):
    """A prototypical network: ``backbone`` then an optional ``head``; their output is the embedding.

    Args:
        backbone: maps inputs to ``(B, D)`` features (Conv-4 in Snell et al.; ``nn.Identity()`` on cached
            features).
        head: maps features to the embedding (an MLP or a GLAI block); ``None``: the features themselves.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head if head is not None else nn.Identity()

    def embed(self, x: Tensor) -> Tensor:
        """``(B, ...)`` inputs to ``(B, E)`` embeddings."""
        return self.head(self.backbone(x).flatten(1))

    def forward(self, support: Tensor, support_labels: Tensor, query: Tensor) -> Tensor:
        """Logits ``(len(query), way)`` of the queries; support labels are ``0 .. way-1``.

        Support and query go through the network as one batch, as in Snell et al.'s code (one BatchNorm batch,
        one forward call of the head per episode).
        """
        embeddings = self.embed(torch.cat([support, query]))
        return prototypical_logits(embeddings[: len(support)], support_labels, embeddings[len(support) :])
