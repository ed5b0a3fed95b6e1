"""kNN and linear probe reach near 100% on a linearly separable fake, and chance on noise."""

import pytest
import torch

from glai_ssl.eval import knn_accuracy, linear_probe, tuned_linear_probe


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
    assert tuned_linear_probe(x, y, xt, yt).test_accuracy > 0.98


def test_the_tuned_probe_keeps_the_penalty_that_scores_best_on_its_held_out_part():
    generator = torch.Generator().manual_seed(1)
    labels = torch.arange(1400) % 2
    signal = (2 * labels - 1).float().unsqueeze(1) + torch.randn(1400, 1, generator=generator)
    features = torch.cat(
        [signal, torch.randn(1400, 300, generator=generator)], 1
    )  # few examples per dimension
    x, y, xt, yt = features[:400], labels[:400], features[400:], labels[400:]
    grid = (0.0, 0.01, 0.3, 1.0)
    alone = {l2: tuned_linear_probe(x, y, xt, yt, l2_grid=(l2,), validation_fraction=0.5) for l2 in grid}
    tuned = tuned_linear_probe(x, y, xt, yt, l2_grid=grid, validation_fraction=0.5)
    assert tuned.l2 == max(grid, key=lambda l2: (alone[l2].validation_accuracy, l2))
    assert tuned.test_accuracy == alone[tuned.l2].test_accuracy  # refitted on all 400 with that penalty
    norms = [alone[l2].classifier.weight.norm().item() for l2 in grid]
    assert norms == sorted(norms, reverse=True) and norms[-1] < 0.5 * norms[0]  # the penalty shrinks
    assert alone[0.0].train_accuracy == 1.0 > alone[1.0].train_accuracy  # 301 dimensions separate 400 points


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
    for options in ({"l2_grid": (-1.0,)}, {"l2_grid": ()}, {"validation_fraction": 1.0}):
        with pytest.raises(ValueError, match="penalties >= 0 and 0 < validation_fraction < 1"):
            tuned_linear_probe(x, y, xt, yt, **options)
    with pytest.raises(ValueError, match=r"features must be \(N, D\) with the same D"):
        tuned_linear_probe(x, y, xt[:, :3], yt)
    with pytest.raises(ValueError, match="5 training examples leave no held-out part or too little to fit"):
        tuned_linear_probe(x[:5], y[:5], xt, yt)
