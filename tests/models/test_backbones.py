"""Backbones: output sizes, size checks, checkpoint round trips and clear checkpoint errors."""

import pytest
import torch

from glai_ssl.models import CheckpointError, load_backbone, make_backbone, save_backbone


@pytest.mark.parametrize(
    "name,channels,size,dim",
    [
        ("conv4", 1, 28, 64),
        ("conv4", 1, 84, 1600),
        ("conv4-nopool", 1, 28, 576),
        ("conv4-pool2", 1, 28, 3136),
        ("resnet-small", 1, 28, 128),
        ("resnet18-cifar", 3, 32, 512),
    ],
)
def test_feature_dims(name, channels, size, dim):
    backbone = make_backbone(name, channels, size)
    assert backbone.feature_dim == dim
    assert backbone(torch.rand(2, channels, size, size)).shape == (2, dim)


def test_conv4_nopool_is_conv4_without_the_last_pool():
    """Same parameters, so Conv-4 weights load into it; its output is Conv-4's before the last max-pool."""
    torch.manual_seed(0)
    conv4, nopool = make_backbone("conv4"), make_backbone("conv4-nopool")
    nopool.load_state_dict(conv4.state_dict())
    conv4.eval(), nopool.eval()
    x = torch.rand(3, 1, 28, 28)
    pooled = torch.nn.functional.max_pool2d(nopool(x).view(3, 64, 3, 3), 2).flatten(1)
    torch.testing.assert_close(pooled, conv4(x))
    pool2 = make_backbone("conv4-pool2")
    pool2.load_state_dict(conv4.state_dict())  # conv4-pool2: the same weights, pooled after two blocks only
    assert [isinstance(block[-1], torch.nn.MaxPool2d) for block in pool2.encoder] == [
        True,
        True,
        False,
        False,
    ]


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


def test_momentum_encoder_of_a_lightning_checkpoint(tmp_path):
    """``encoder="momentum"`` reads BYOL's / MoCo's target backbone; asking it of a file without one says so."""
    torch.manual_seed(0)
    online, target = make_backbone("conv4").eval(), make_backbone("conv4").eval()
    state = {f"method.backbone.{k}": v for k, v in online.state_dict().items()}
    state |= {f"method.backbone_momentum.{k}": v for k, v in target.state_dict().items()}
    hparams = {"config": {"backbone": "conv4", "in_channels": 1, "image_size": 28, "dataset": "mnist"}}
    torch.save({"state_dict": state, "hyper_parameters": hparams}, tmp_path / "byol.ckpt")
    x = torch.rand(2, 1, 28, 28)
    for encoder, expected in (("online", online), ("momentum", target)):
        loaded, info = load_backbone(tmp_path / "byol.ckpt", encoder)
        torch.testing.assert_close(loaded.eval()(x), expected(x))
        assert info["meta"]["encoder"] == encoder
    state = {k: v for k, v in state.items() if "momentum" not in k}  # a SimCLR run
    torch.save({"state_dict": state, "hyper_parameters": hparams}, tmp_path / "simclr.ckpt")
    with pytest.raises(CheckpointError, match="method.backbone_momentum.*byol, moco"):
        load_backbone(tmp_path / "simclr.ckpt", "momentum")
    path = save_backbone(tmp_path / "b.pt", "conv4", online, in_channels=1, image_size=28)
    with pytest.raises(CheckpointError, match="holds one encoder"):
        load_backbone(path, "momentum")
    with pytest.raises(ValueError, match="unknown encoder 'teacher'"):
        load_backbone(path, "teacher")
