"""Backbones: Conv-4 (Snell et al. 2017) with and without its last max-pool, a small ResNet for 28x28 grayscale,
and CIFAR-style ResNet-18.

Every backbone maps ``(B, C, H, W)`` images to ``(B, feature_dim)`` features and says which image sizes it
takes, so a recipe fails before training when they do not fit.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision
from torch import Tensor, nn


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 conv, BatchNorm, ReLU, 2x2 max-pool: one block of Conv-4."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class Conv4(nn.Module):
    """Conv-4 of Prototypical Networks (Snell et al. 2017): four conv blocks of 64 filters, flattened.

    28x28 inputs give 64 features (1x1 spatial), 84x84 give 1600 (5x5).
    """

    min_size = 16
    #: how many of the four blocks end in a 2x2 max-pool (the first ones): Snell's Conv-4 pools in all four
    pooled_blocks = 4

    def __init__(self, in_channels: int = 1, hidden: int = 64, image_size: int = 28) -> None:
        super().__init__()
        blocks = [conv_block(c, hidden) for c in (in_channels, hidden, hidden, hidden)]
        for index in range(self.pooled_blocks, 4):
            blocks[index] = blocks[index][:-1]
        self.encoder = nn.Sequential(*blocks)
        side = image_size
        for _ in range(self.pooled_blocks):
            side //= 2
        self.feature_dim = hidden * side * side

    def forward(self, x: Tensor) -> Tensor:
        """Flattened features ``(B, feature_dim)`` of images ``(B, C, H, W)``."""
        return self.encoder(x).flatten(1)


class Conv4NoPool(Conv4):
    """Conv-4 without the max-pool of its last block: at 28x28 its 3x3x64 map is flattened to 576 features, as
    Snell et al. flatten the 5x5x64 map of 84x84 inputs.

    Same weights and nearly the same cost as Conv-4 (the last block's conv is unchanged), but a linear probe
    sees nine times more features: on Fashion-MNIST a random-init one probes at 84.2% vs 76.6% for Conv-4's 64
    (``results/ssl/feature_probe.py``). The 28x28 SSL recipes' default until session 23 (now ``conv4-pool2``).
    """

    pooled_blocks = 3


class Conv4Pool2(Conv4):
    """Conv-4 that pools after its first two blocks only: at 28x28 the last two convs run on 7x7 maps and give
    7x7x64 = 3136 features (same weights as Conv-4; about 15% more multiply-adds than ``conv4-nopool``).

    The default backbone of the 28x28 SSL recipes, which a linear probe scores. Much of its gain is feature
    count: random-init it probes at 85.8% on Fashion-MNIST against ``conv4-nopool``'s 84.2%
    (``results/ssl/feature_probe.py``), and BYOL adds 3.1 points here against 3.5 there.
    """

    pooled_blocks = 2


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs with a shortcut)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``: ``(B, C_in, H, W)`` to ``(B, C_out, H', W')``."""
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A CPU-sized ResNet for 28x28 grayscale: 3x3 stem, three stages (32, 64, 128 channels, one block each,
    strides 1, 2, 2), global average pooling: 128 features."""

    min_size = 8

    def __init__(
        self, in_channels: int = 1, widths: tuple[int, ...] = (32, 64, 128), image_size: int = 28
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()
        )
        stages, channels = [], widths[0]
        for index, width in enumerate(widths):
            stages.append(BasicBlock(channels, width, stride=1 if index == 0 else 2))
            channels = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = channels

    def forward(self, x: Tensor) -> Tensor:
        """Pooled features ``(B, feature_dim)`` of images ``(B, C, H, W)``."""
        return self.pool(self.stages(self.stem(x))).flatten(1)


class ResNet18CIFAR(nn.Module):
    """torchvision's ResNet-18 with the CIFAR stem (3x3 conv, stride 1, no max-pool): 512 features.

    Without this stem users of lightly's CIFAR-10 benchmark got 0.765 instead of 0.848 kNN (lightly #1419).
    """

    min_size = 8

    def __init__(self, in_channels: int = 3, image_size: int = 32) -> None:
        super().__init__()
        resnet = torchvision.models.resnet18(num_classes=10)
        resnet.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        resnet.maxpool = nn.Identity()
        resnet.fc = nn.Identity()
        self.net = resnet
        self.feature_dim = 512

    def forward(self, x: Tensor) -> Tensor:
        """Features ``(B, 512)`` of images ``(B, C, H, W)``."""
        return self.net(x)


BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "conv4": Conv4,
    "conv4-nopool": Conv4NoPool,
    "conv4-pool2": Conv4Pool2,
    "resnet-small": SmallResNet,
    "resnet18-cifar": ResNet18CIFAR,
}


def make_backbone(name: str, in_channels: int = 1, image_size: int = 28) -> nn.Module:
    """Build a backbone by name, checking that it can take ``image_size`` x ``image_size`` inputs.

    Raises:
        ValueError: unknown name, or an image size the backbone cannot take.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    cls = BACKBONES[name]
    if image_size < cls.min_size:
        raise ValueError(
            f"backbone {name} needs images of at least {cls.min_size}x{cls.min_size}, got {image_size}x{image_size}"
        )
    return cls(in_channels=in_channels, image_size=image_size)
