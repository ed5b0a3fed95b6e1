"""Backbones: output sizes, size checks, checkpoint round trips and clear checkpoint errors."""

import pytest
import torch

from glai_ssl.models import CheckpointError, load_backbone, make_backbone, save_backbone


@pytest.mark.parametrize(
    "name,channels,size,dim",
    [("conv4", 1, 28, 64), ("resnet-small", 1, 28, 128), ("resnet18-cifar", 3, 32, 512)],
)
def test_feature_dims(name, channels, size, dim):
    backbone = make_backbone(name, channels, size)
    assert backbone.feature_dim == dim
    assert backbone(torch.rand(2, channels, size, size)).shape == (2, dim)


def test_unknown_backbone():
    with pytest.raises(ValueError, match="unknown backbone 'vgg'"):
        make_backbone("vgg")


def test_checkpoint_round_trip_and_errors(tmp_path):
    backbone = make_backbone("conv4").eval()
    path = save_backbone(
        tmp_path / "b.pt", "conv4", backbone, in_channels=1, image_size=28, meta={"dataset": "mnist"}
    )
    loaded, info = load_backbone(path)
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(loaded.eval()(x), backbone(x))
    assert info["meta"]["dataset"] == "mnist"
    with pytest.raises(CheckpointError, match="does not exist"):
        load_backbone(tmp_path / "missing.pt")
    (tmp_path / "truncated.pt").write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="could not be read"):
        load_backbone(tmp_path / "truncated.pt")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a glai_ssl backbone file"):
        load_backbone(tmp_path / "other.pt")


def test_recorded_normalisation_is_applied_on_load(tmp_path):
    backbone = make_backbone("conv4").eval()
    path = save_backbone(
        tmp_path / "b.pt",
        "conv4",
        backbone,
        in_channels=1,
        image_size=28,
        normalize={"mean": [0.5], "std": [0.25]},
    )
    loaded, info = load_backbone(path)
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(loaded.eval()(x), backbone((x - 0.5) / 0.25))
    assert loaded.feature_dim == 64 and info["normalize"] == {"mean": [0.5], "std": [0.25]}
