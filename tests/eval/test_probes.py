"""kNN and linear probe reach near 100% on a linearly separable fake, and chance on noise."""

import pytest
import torch

from glai_ssl.eval import knn_accuracy, linear_probe


def separable(n=600, d=16, classes=4):
    generator = torch.Generator().manual_seed(0)
    centres = 5 * torch.randn(classes, d, generator=generator)
    labels = torch.arange(2 * n) % classes
    points = centres[labels] + torch.randn(2 * n, d, generator=generator)
    return points[:n], labels[:n], points[n:], labels[n:]


def test_probes_separate_separable_data():
    x, y, xt, yt = separable()
    assert knn_accuracy(x, y, xt, yt, k=20) > 0.98
    assert linear_probe(x, y, xt, yt, epochs=30).test_accuracy > 0.98


def test_probes_are_at_chance_on_noise():
    x, y = torch.randn(800, 16), torch.randint(0, 4, (800,))
    xt, yt = torch.randn(800, 16), torch.randint(0, 4, (800,))
    assert knn_accuracy(x, y, xt, yt, k=20) < 0.35
    assert linear_probe(x, y, xt, yt, epochs=30).test_accuracy < 0.35


def test_probes_refuse_settings_that_give_a_meaningless_accuracy():
    x, y, xt, yt = separable(n=40)
    for options in ({"k": 0}, {"temperature": 0.0}):
        with pytest.raises(ValueError, match="k >= 1 and a temperature > 0"):
            knn_accuracy(x, y, xt, yt, **options)
    with pytest.raises(ValueError, match="epochs >= 1, got 0"):
        linear_probe(x, y, xt, yt, epochs=0)
