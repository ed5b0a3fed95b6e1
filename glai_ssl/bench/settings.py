"""The benchmark's settings: each builds a :class:`HeadTask` on real data with cached features.

``quick=True`` sizes each to about a minute on 2 CPU cores (after the one-time backbone and feature caches).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image

from glai_ssl.bench.features import cached_features, checkpoint_backbone, default_backbone
from glai_ssl.bench.tasks import EpisodicHead, FixedClassification, HeadTask, SSLHead
from glai_ssl.data import LabelledImages, load_dataset
from glai_ssl.fewshot.episodes import EpisodeSpec
from glai_ssl.ssl.transforms import simclr_transform


def _split_per_class(labels: torch.Tensor, fractions: tuple[float, float], seed: int = 0) -> tuple:
    """Indices of a train/val/test split that keeps every class in every part."""
    generator = torch.Generator().manual_seed(seed)
    parts: tuple[list, list, list] = ([], [], [])
    for label in labels.unique():
        index = (labels == label).nonzero().flatten()
        index = index[torch.randperm(len(index), generator=generator)]
        a = round(fractions[0] * len(index))
        b = a + round(fractions[1] * len(index))
        for part, chunk in zip(parts, (index[:a], index[a:b], index[b:])):
            part.append(chunk)
    return tuple(torch.cat(p) for p in parts)


def _backbone(name: str, checkpoint, data_root, log):
    return checkpoint_backbone(checkpoint) if checkpoint else default_backbone(name, data_root, log=log)


def fixed_fmnist(quick: bool, checkpoint=None, data_root=None, log=print) -> HeadTask:
    """Fashion-MNIST classification head on frozen features: 50k train / 10k val / 10k test (quick: 10k / 2k)."""
    backbone, key = _backbone("mnist-supervised", checkpoint, data_root, log)
    train = load_dataset("fashion-mnist", "train", data_root=data_root)
    test = load_dataset("fashion-mnist", "test", data_root=data_root)
    features = cached_features(backbone, key, "fashion-mnist-train", train)
    test_features = cached_features(backbone, key, "fashion-mnist-test", test)
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    n_train, n_val = (10_000, 2_000) if quick else (50_000, 10_000)
    tr, va = order[:n_train], order[n_train : n_train + n_val]
    return FixedClassification(
        (features[tr], train.labels[tr]), (features[va], train.labels[va]), (test_features, test.labels)
    )


def fixed_omniglot(quick: bool, checkpoint=None, data_root=None, log=print) -> HeadTask:
    """Omniglot character classification on frozen features: the 1692 Vinyals test classes (quick: 400), 12 / 4 / 4
    drawings per class for train / val / test; the backbone never saw these classes."""
    backbone, key = _backbone("omniglot-base", checkpoint, data_root, log)
    data = load_dataset("omniglot", "vinyals-test", data_root=data_root)
    features = cached_features(backbone, key, "omniglot-vinyals-test", data)
    labels = data.labels
    if quick:
        keep = labels < 400
        features, labels = features[keep], labels[keep]
    tr, va, te = _split_per_class(labels, (0.6, 0.2))
    return FixedClassification(
        (features[tr], labels[tr]), (features[va], labels[va]), (features[te], labels[te])
    )


def _augmented_views(data: LabelledImages, views: int, seed: int = 0) -> torch.Tensor:
    """``(N * views, 1, H, W)`` float views from lightly's SimCLR transform (Fashion-MNIST settings), unnormalised."""
    transform = simclr_transform("fashion-mnist", normalize=False)
    torch.manual_seed(seed)
    out = []
    for image in data.images:
        pil = Image.fromarray(image.numpy())
        for _ in range(views // 2):
            out.extend(transform(pil))
    return torch.stack(out)


def ssl_head(
    quick: bool, loss: str = "ntxent", predictor: str = "same", checkpoint=None, data_root=None, log=print
) -> HeadTask:
    """Projection head trained with ``loss`` on cached features of 4 augmented views of Fashion-MNIST images
    (20k images; quick: 4k); validation: kNN accuracy of the projections (bank 10k train, 2k test). With BYOL's
    loss, ``predictor`` is ``same`` (of the head's kind) or ``mlp`` (an MLP predictor for both kinds)."""
    backbone, key = _backbone("mnist-supervised", checkpoint, data_root, log)
    train = load_dataset("fashion-mnist", "train", data_root=data_root)
    test = load_dataset("fashion-mnist", "test", data_root=data_root)
    n_images = 4_000 if quick else 20_000
    images = train.subset(torch.arange(n_images))
    views = cached_features(backbone, key, f"fashion-mnist-views-{n_images}x4", _augmented_views(images, 4))
    bank = cached_features(backbone, key, "fashion-mnist-train", train)[:10_000]
    query = cached_features(backbone, key, "fashion-mnist-test", test)[:2_000]
    return SSLHead(
        views.view(n_images, 4, -1),
        (bank, train.labels[:10_000]),
        (query, test.labels[:2_000]),
        loss=loss,
        predictor=predictor,
    )


def fewshot(quick: bool, checkpoint=None, data_root=None, log=print) -> HeadTask:
    """Embedding head trained in 20-way 5-shot 5-query episodes on frozen features of the Vinyals train classes;
    validation: fixed 5-way 1-shot episodes (300 with --quick, else 1000) of the Vinyals validation classes."""
    backbone, key = _backbone("omniglot-base", checkpoint, data_root, log)
    base = load_dataset("omniglot", "vinyals-train", data_root=data_root)
    val = load_dataset("omniglot", "vinyals-val", data_root=data_root)
    base_features = cached_features(backbone, key, "omniglot-vinyals-train", base)
    val_features = cached_features(backbone, key, "omniglot-vinyals-val", val)
    return EpisodicHead(
        (base_features, base.labels),
        (val_features, val.labels),
        train_spec=EpisodeSpec(20, 5, 5),
        episodes_per_epoch=50 if quick else 100,
        val_episodes=300 if quick else 1000,
    )


SETTINGS: dict[str, Callable[..., HeadTask]] = {
    "fixed-fmnist": fixed_fmnist,
    "fixed-omniglot": fixed_omniglot,
    "ssl-head-ntxent": lambda quick, **kw: ssl_head(quick, "ntxent", **kw),
    "ssl-head-byol": lambda quick, **kw: ssl_head(quick, "byol", **kw),
    "fewshot": fewshot,
    # not in the default run: BYOL with an MLP predictor for both kinds, so GLAI and MLP differ in the projector
    "ssl-head-byol-mlp-predictor": lambda quick, **kw: ssl_head(quick, "byol", "mlp", **kw),
}
DEFAULT_SETTINGS = [name for name in SETTINGS if name != "ssl-head-byol-mlp-predictor"]
