"""Frozen backbones for the benchmark and their cached features.

By default the benchmark trains each backbone once and caches it (``$GLAI_SSL_CACHE/bench/``):

* ``mnist-supervised``: Conv-4 trained with cross-entropy on MNIST (1 epoch), whose features serve the
  Fashion-MNIST settings (a transfer embedding: no Fashion-MNIST label or image is seen);
* ``omniglot-base``: Conv-4 trained with cross-entropy on the 4112 Vinyals train classes (1 epoch), whose
  features serve the Omniglot settings, all scored on Vinyals validation/test classes it never saw.

``--backbone CKPT`` replaces both with a checkpoint of ours (e.g. an SSL recipe's ``backbone.pt``).
Features are cached per (backbone, data) key, so every seed and head reuses them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from glai_ssl.data import LabelledImages, cache_dir, load_dataset
from glai_ssl.eval import extract_features
from glai_ssl.fewshot.pretrain import pretrain_one_epoch
from glai_ssl.models import load_backbone, make_backbone, save_backbone
from glai_ssl.utils.files import atomic_path

DEFAULT_BACKBONES = {
    "mnist-supervised": ("mnist", "train", 1),
    "omniglot-base": ("omniglot", "vinyals-train", 1),
}


#: bumped when the default backbones' training changes, so that old caches are not reused: 2 = trained with
#: contiguous weights (session 18; 1 had them channels-last, whose CPU BatchNorm is less accurate)
BACKBONE_VERSION = 2


def default_backbone(name: str, data_root=None, seed: int = 0, log=print) -> tuple[nn.Module, str]:
    """The cached default backbone ``name`` (trained on first use); returns ``(backbone, cache key)``."""
    dataset, split, epochs = DEFAULT_BACKBONES[name]
    path = cache_dir("bench") / "backbones" / f"{name}-{epochs}ep-seed{seed}-v{BACKBONE_VERSION}.pt"
    if not path.is_file():
        data = load_dataset(dataset, split, data_root=data_root)
        log(
            f"training the default backbone {name} once: Conv-4, cross-entropy on {data.name}, {epochs} epoch(s)"
        )
        torch.manual_seed(seed)
        backbone = make_backbone("conv4", data.channels, data.image_size)
        classifier = nn.Linear(backbone.feature_dim, data.num_classes)
        optimizer = torch.optim.Adam(list(backbone.parameters()) + list(classifier.parameters()), lr=1e-3)
        generator = torch.Generator().manual_seed(seed)
        for epoch in range(epochs):
            pretrain_one_epoch(
                backbone,
                classifier,
                data.images,
                data.labels,
                optimizer,
                batch_size=128,
                generator=generator,
                epoch=epoch,
            )
        save_backbone(
            path,
            "conv4",
            backbone,
            in_channels=data.channels,
            image_size=data.image_size,
            meta={"pretrain": name},
        )
    backbone, _ = load_backbone(path)
    return backbone.eval(), path.stem


def checkpoint_backbone(path: str | os.PathLike) -> tuple[nn.Module, str]:
    """A backbone from one of our checkpoints; its cache key includes the file's content hash."""
    backbone, _ = load_backbone(path)
    digest = hashlib.md5(Path(path).read_bytes()).hexdigest()[:10]
    return backbone.eval(), f"{Path(path).stem}-{digest}"


def cached_features(backbone: nn.Module, key: str, name: str, images: Tensor | LabelledImages) -> Tensor:
    """Features of ``images`` (uint8 LabelledImages, or float ``(N, C, H, W)`` in [0, 1]) under ``backbone``,
    cached as ``bench/features/<key>/<name>.pt``."""
    path = cache_dir("bench") / "features" / key / f"{name}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    x = images.to_float() if isinstance(images, LabelledImages) else images
    features = extract_features(backbone, x, desc=f"features {name}")
    with atomic_path(path) as tmp:
        torch.save(features, tmp)
    return features
