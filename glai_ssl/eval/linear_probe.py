"""Linear probe: multinomial logistic regression on frozen, cached features.

lightly's ``LinearClassifier`` runs the backbone every epoch; on cached features the same probe is a convex
problem that takes seconds on a CPU, so we solve it directly (standardised features, Adam with cosine decay
and a little weight decay, full passes over the data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from glai_ssl.utils.progress import progress


@dataclass
class ProbeResult:
    """Accuracy of a linear probe and the classifier it trained (on standardised features)."""

    train_accuracy: float
    test_accuracy: float
    classifier: nn.Linear
    mean: Tensor
    std: Tensor

    def predict(self, features: Tensor) -> Tensor:
        """Predicted classes ``(N,)`` of raw features ``(N, D)``, standardised with the training statistics."""
        return self.classifier((features - self.mean) / self.std).argmax(1)


def linear_probe(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    *,
    epochs: int = 100,
    batch_size: int = 1024,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> ProbeResult:
    """Train a linear classifier on ``train_features`` and report train and test accuracy."""
    if train_features.ndim != 2 or test_features.shape[1:] != train_features.shape[1:]:
        raise ValueError(
            f"features must be (N, D) with the same D, got {tuple(train_features.shape)} and {tuple(test_features.shape)}"
        )
    if epochs < 1:
        raise ValueError(f"the linear probe needs epochs >= 1, got {epochs}")
    generator = torch.Generator().manual_seed(seed)
    x = train_features.float()
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    x = (x - mean) / std
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    classifier = nn.Linear(x.shape[1], num_classes)
    optimizer = torch.optim.AdamW(classifier.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * math.ceil(len(x) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in progress(range(epochs), desc="linear probe", unit="epoch"):
        for index in torch.randperm(len(x), generator=generator).split(batch_size):
            loss = F.cross_entropy(classifier(x[index]), train_labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    result = ProbeResult(0.0, 0.0, classifier, mean, std)
    with torch.no_grad():
        result.train_accuracy = (result.predict(train_features.float()) == train_labels).float().mean().item()
        result.test_accuracy = (result.predict(test_features.float()) == test_labels).float().mean().item()
    return result
