"""Linear probe: multinomial logistic regression on frozen, cached features.

lightly's ``LinearClassifier`` runs the backbone every epoch; on cached features the same probe is a convex
problem that takes seconds on a CPU, so we solve it directly (standardised features, Adam with cosine decay
and a little weight decay, full passes over the data). :func:`tuned_linear_probe` is the slower, tuned
protocol of Kornblith et al. 2019: L-BFGS to convergence, the L2 penalty chosen on a held-out part of the
training set.
"""

from __future__ import annotations

import math
import warnings
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
    l2: float | None = None  #: the penalty :func:`tuned_linear_probe` chose
    validation_accuracy: float | None = None  #: its accuracy on the held-out part with that penalty

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
    _check_features(train_features, test_features)
    if epochs < 1:
        raise ValueError(f"the linear probe needs epochs >= 1, got {epochs}")
    generator = torch.Generator().manual_seed(seed)
    x, mean, std = _standardise(train_features)
    classifier = nn.Linear(x.shape[1], _num_classes(train_labels, test_labels))
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
    return _scored(
        ProbeResult(0.0, 0.0, classifier, mean, std), train_features, train_labels, test_features, test_labels
    )


#: the L2 penalties (on the mean cross-entropy, standardised features) :func:`tuned_linear_probe` chooses from
L2_GRID = (0.0, 1e-5, 1e-4, 1e-3, 1e-2)


def tuned_linear_probe(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    *,
    l2_grid: tuple[float, ...] = L2_GRID,
    validation_fraction: float = 1 / 6,
    max_iter: int = 300,
    seed: int = 0,
) -> ProbeResult:
    """Logistic regression solved by L-BFGS, its L2 penalty chosen on a held-out ``validation_fraction`` of the
    training set, then refitted on all of it (Kornblith et al. 2019, arXiv 1805.08974, sec. 3; SimCLR's
    transfer protocol). The features are standardised with the whole training set's statistics. Fashion-MNIST
    raw pixels: 84.67% where :func:`linear_probe` gives 83.76%."""
    _check_features(train_features, test_features)
    if not l2_grid or min(l2_grid) < 0 or not 0 < validation_fraction < 1:
        raise ValueError(
            f"need penalties >= 0 and 0 < validation_fraction < 1, got {l2_grid}, {validation_fraction}"
        )
    held = int(len(train_features) * validation_fraction)
    if not 1 <= held < len(train_features) - 1:
        raise ValueError(
            f"{len(train_features)} training examples leave no held-out part or too little to fit with "
            f"validation_fraction {validation_fraction:g}; use the Adam probe (linear_probe) on so few"
        )
    x, mean, std = _standardise(train_features)
    num_classes = _num_classes(train_labels, test_labels)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    held_out, fit = order[:held], order[held:]
    x_fit, labels_fit = x[fit], train_labels[fit]
    scores = {}
    for l2 in progress(l2_grid, desc="probe penalties", unit="penalty"):
        classifier = _lbfgs_fit(x_fit, labels_fit, num_classes, l2, max_iter)
        with torch.no_grad():
            scores[l2] = (classifier(x[held_out]).argmax(1) == train_labels[held_out]).float().mean().item()
    best = max(l2_grid, key=lambda l2: (scores[l2], l2))  # ties: the stronger penalty
    classifier = _lbfgs_fit(x, train_labels, num_classes, best, max_iter)
    result = ProbeResult(0.0, 0.0, classifier, mean, std, l2=best, validation_accuracy=scores[best])
    return _scored(result, train_features, train_labels, test_features, test_labels)


def _lbfgs_fit(x: Tensor, labels: Tensor, num_classes: int, l2: float, max_iter: int) -> nn.Linear:
    classifier = nn.Linear(x.shape[1], num_classes)
    nn.init.zeros_(classifier.weight)  # convex: with l2 > 0 any start reaches the same optimum
    nn.init.zeros_(classifier.bias)
    optimizer = torch.optim.LBFGS(
        classifier.parameters(),
        max_iter=max_iter,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-6,
        tolerance_change=1e-10,
    )

    def closure() -> Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(classifier(x), labels) + 0.5 * l2 * classifier.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    if optimizer.state[classifier.weight]["n_iter"] >= max_iter:
        warnings.warn(
            f"the L-BFGS probe (L2 {l2:g}) stopped at max_iter={max_iter} before converging", stacklevel=3
        )
    return classifier


def _check_features(train_features: Tensor, test_features: Tensor) -> None:
    if train_features.ndim != 2 or test_features.shape[1:] != train_features.shape[1:]:
        raise ValueError(
            f"features must be (N, D) with the same D, got {tuple(train_features.shape)} and {tuple(test_features.shape)}"
        )


def _standardise(features: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    x = features.float()
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    return (x - mean) / std, mean, std


def _num_classes(train_labels: Tensor, test_labels: Tensor) -> int:
    return int(max(train_labels.max(), test_labels.max())) + 1


def _scored(result: ProbeResult, train_features, train_labels, test_features, test_labels) -> ProbeResult:
    with torch.no_grad():
        result.train_accuracy = (result.predict(train_features.float()) == train_labels).float().mean().item()
        result.test_accuracy = (result.predict(test_features.float()) == test_labels).float().mean().item()
    return result
