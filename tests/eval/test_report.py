"""The backbone evaluation the recipes report: L2-normalised features (SimpleShot's L2N) on real Omniglot episodes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from glai_ssl.eval.report import RawPixels, evaluate_backbone


class PooledPixels(nn.Module):
    """7x7 average-pooled pixels (49 features: quick episodes), optionally times a per-image
    factor (a function of the image): a scale that only L2N removes."""

    def __init__(self, scaled: bool) -> None:
        super().__init__()
        self.scaled = scaled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixels = F.avg_pool2d(x, 4).flatten(1)
        return pixels * (1.0 + 50.0 * pixels.mean(1, keepdim=True) ** 2) if self.scaled else pixels


def _five_way_one_shot(backbone: nn.Module, data_root, feature_norm: str) -> float:
    result = evaluate_backbone(
        backbone, "omniglot", data_root=data_root, episodes=200, feature_norm=feature_norm
    )
    assert result["feature_norm"] == feature_norm
    return result["fewshot"]["5-way 1-shot"]["mean"]


def test_l2_normalised_features_ignore_each_image_s_scale(data_root):
    plain_l2 = _five_way_one_shot(PooledPixels(scaled=False), data_root, "l2")
    scaled_l2 = _five_way_one_shot(PooledPixels(scaled=True), data_root, "l2")
    scaled_raw = _five_way_one_shot(PooledPixels(scaled=True), data_root, "none")
    assert scaled_l2 == pytest.approx(plain_l2, abs=1e-6)
    assert scaled_raw != pytest.approx(scaled_l2, abs=1e-3)


def test_unknown_feature_norm_or_probe_fails_before_any_work():
    with pytest.raises(ValueError, match="unknown feature_norm 'l1'; choose one of none, l2"):
        evaluate_backbone(RawPixels(), "omniglot", data_root="/nonexistent", feature_norm="l1")
    with pytest.raises(ValueError, match="unknown probe 'sgd'; choose one of adam, lbfgs"):
        evaluate_backbone(RawPixels(), "fashion-mnist", data_root="/nonexistent", probe="sgd")
    with pytest.raises(ValueError, match="Omniglot is scored by nearest-prototype episodes"):
        evaluate_backbone(RawPixels(), "omniglot", data_root="/nonexistent", probe="lbfgs")
