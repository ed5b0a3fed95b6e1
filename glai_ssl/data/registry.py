"""One entry point for every dataset: ``load_dataset(name, split)``, and ``check_datasets`` for the CLI."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from glai_ssl.data.cifar import load_cifar10, load_stl10
from glai_ssl.data.errors import DataError
from glai_ssl.data.images import LabelledImages
from glai_ssl.data.mnist import load_mnist
from glai_ssl.data.omniglot import SPLITS as OMNIGLOT_SPLITS
from glai_ssl.data.omniglot import load_omniglot
from glai_ssl.data.root import resolve_data_root


@dataclass(frozen=True)
class DatasetEntry:
    """How to load a dataset: its splits and a loader ``(split, data_root, download, **options)``."""

    splits: tuple[str, ...]
    loader: Callable[..., LabelledImages]
    description: str


def _mnist_like(name: str) -> Callable[..., LabelledImages]:
    def load(split: str, data_root=None, download=False, **_) -> LabelledImages:
        return load_mnist(name, split == "train", data_root=data_root, download=download)

    return load


def _omniglot(split: str, data_root=None, download=False, **options) -> LabelledImages:
    return load_omniglot(split, data_root=data_root, download=download, **options)


def _cifar10(split: str, data_root=None, download=False, **options) -> LabelledImages:
    return load_cifar10(split == "train", data_root=data_root, download=download, **options)


def _stl10(split: str, data_root=None, download=False, **options) -> LabelledImages:
    return load_stl10(split, data_root=data_root, download=download, **options)


DATASETS: dict[str, DatasetEntry] = {
    "mnist": DatasetEntry(
        ("train", "test"), _mnist_like("mnist"), "MNIST digits, 28x28 grayscale, 10 classes"
    ),
    "fashion-mnist": DatasetEntry(
        ("train", "test"), _mnist_like("fashion-mnist"), "Fashion-MNIST, 28x28 grayscale, 10 classes"
    ),
    "omniglot": DatasetEntry(
        OMNIGLOT_SPLITS,
        _omniglot,
        "Omniglot, 1623 characters x 20 drawers; Vinyals (rotations) and Lake splits",
    ),
    "cifar10": DatasetEntry(("train", "test"), _cifar10, "CIFAR-10, 32x32 colour, 10 classes (not offline)"),
    "stl10": DatasetEntry(("train", "test", "unlabeled"), _stl10, "STL-10, 96x96 colour (not offline)"),
}


def load_dataset(
    name: str, split: str, *, data_root: str | os.PathLike | None = None, download: bool = False, **options
) -> LabelledImages:
    """Load split ``split`` of dataset ``name`` (see :data:`DATASETS`) as :class:`LabelledImages`."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    entry = DATASETS[name]
    if split not in entry.splits:
        raise ValueError(f"unknown split {split!r} of {name}; choose one of {', '.join(entry.splits)}")
    return entry.loader(split, data_root=data_root, download=download, **options)


def check_datasets(data_root: str | os.PathLike | None = None, names: list[str] | None = None) -> list[dict]:
    """Load every split of every dataset that can be found; report counts, or why a dataset is unusable.

    Each record: ``{"dataset", "split", "status": "ok" | "missing" | "corrupt", "images", "classes", "seconds",
    "error"}``. A dataset whose files are absent is ``missing`` (not an error for optional datasets).
    """
    root = resolve_data_root(data_root)
    records = []
    for name in names or list(DATASETS):
        for split in DATASETS[name].splits:
            start = time.perf_counter()
            record = {"dataset": name, "split": split}
            try:
                data = load_dataset(name, split, data_root=root)
                record.update(
                    status="ok", images=len(data), classes=data.num_classes, shape=list(data.images.shape[1:])
                )
            except DataError as error:
                text = str(error)
                record.update(status="missing" if "was not found" in text else "corrupt", error=text)
            record["seconds"] = round(time.perf_counter() - start, 3)
            records.append(record)
            if record["status"] == "missing":
                break  # the other splits of a missing dataset are missing too
    return records
