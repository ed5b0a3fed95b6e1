"""Weighted kNN accuracy of frozen features (Wu et al. 2018), through lightly's ``knn_predict``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from lightly.utils.benchmarking import knn_predict
from torch import Tensor


@torch.no_grad()
def knn_accuracy(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    *,
    k: int = 200,
    temperature: float = 0.1,
    batch_size: int = 1024,
) -> float:
    """Top-1 accuracy of a cosine-similarity kNN with exponential weights ``exp(sim / temperature)``.

    Args:
        train_features: ``(N, D)`` bank; train_labels ``(N,)``.
        test_features: ``(M, D)`` queries; test_labels ``(M,)``.
        k: neighbours (200 in lightly's benchmarks); capped at ``N``.
    """
    if len(train_features) != len(train_labels) or len(test_features) != len(test_labels):
        raise ValueError("features and labels must have the same length")
    if k < 1 or not temperature > 0:
        raise ValueError(f"kNN needs k >= 1 and a temperature > 0, got k={k}, temperature={temperature:g}")
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    bank = F.normalize(train_features.float(), dim=1).t().contiguous()
    k = min(k, len(train_features))
    correct = 0
    for start in range(0, len(test_features), batch_size):
        query = F.normalize(test_features[start : start + batch_size].float(), dim=1)
        predicted = knn_predict(query, bank, train_labels, num_classes, knn_k=k, knn_t=temperature)[:, 0]
        correct += (predicted == test_labels[start : start + batch_size]).sum().item()
    return correct / len(test_features)
