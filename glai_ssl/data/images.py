"""``LabelledImages``: the in-memory form every loader returns, and a Dataset view of it for transforms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from PIL import Image
from torch.utils.data import Dataset


@dataclass
class LabelledImages:
    """Images as one uint8 tensor with integer labels.

    Attributes:
        images: ``(N, H, W)`` grayscale or ``(N, H, W, C)`` colour, uint8.
        labels: ``(N,)`` int64 in ``0 .. len(classes) - 1``.
        classes: class names, indexed by label.
        name: a short description, e.g. ``"omniglot/vinyals-train"``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    name: str
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8:
            raise TypeError(f"{self.name}: images must be uint8, got {self.images.dtype}")
        if self.images.ndim not in (3, 4):
            raise ValueError(
                f"{self.name}: images must be (N, H, W) or (N, H, W, C), got {tuple(self.images.shape)}"
            )
        if len(self.images) != len(self.labels):
            raise ValueError(f"{self.name}: {len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(classes)``."""
        return len(self.classes)

    @property
    def channels(self) -> int:
        """1 for grayscale ``(N, H, W)`` images, ``C`` for ``(N, H, W, C)``."""
        return 1 if self.images.ndim == 3 else self.images.shape[-1]

    @property
    def image_size(self) -> int:
        """The image height ``H`` (the side of square images)."""
        return int(self.images.shape[1])

    def subset(self, indices: Sequence[int] | torch.Tensor, name: str | None = None) -> LabelledImages:
        """The images at ``indices`` (labels and classes kept as they are)."""
        index = torch.as_tensor(indices, dtype=torch.long)
        return LabelledImages(
            self.images[index], self.labels[index], self.classes, name or self.name, dict(self.info)
        )

    def to_float(self) -> torch.Tensor:
        """``(N, C, H, W)`` float32 in [0, 1]."""
        x = self.images.float().div_(255.0)
        return x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2).contiguous()

    def summary(self) -> dict:
        """``{"name", "images", "classes", "shape"}`` for logs and records (``shape`` without ``N``)."""
        return {
            "name": self.name,
            "images": len(self),
            "classes": self.num_classes,
            "shape": list(self.images.shape[1:]),
        }


class ImageDataset(Dataset):
    """A torch Dataset over :class:`LabelledImages` that hands PIL images to a transform (lightly's expect PIL).

    Args:
        data: the images.
        transform: applied to each PIL image; ``None`` returns a float tensor ``(C, H, W)`` in [0, 1].
    """

    def __init__(self, data: LabelledImages, transform: Callable | None = None) -> None:
        self.data = data
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        array = self.data.images[index]
        label = int(self.data.labels[index])
        if self.transform is None:
            x = array.float().div(255.0)
            return (x.unsqueeze(0) if x.ndim == 2 else x.permute(2, 0, 1)), label
        return self.transform(Image.fromarray(array.numpy())), label
