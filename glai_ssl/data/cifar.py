"""CIFAR-10 and STL-10 through torchvision, for users who have them (they are not in the offline data root).

We look for torchvision's extracted folders (``cifar-10-batches-py``, ``stl10_binary``) under the data root
(read in place, never written) and, failing that, for the ``.tar.gz``, which is extracted into the cache.
``verify=False`` skips the md5 check, for tiny synthetic archives in the same format (our tests use one).
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets

from glai_ssl.data.checksums import verify_md5
from glai_ssl.data.errors import DataError, missing_file_error
from glai_ssl.data.images import LabelledImages
from glai_ssl.data.root import cache_dir, resolve_data_root
from glai_ssl.utils.files import move_in, scratch_dir


def _unchecked(cls: type) -> type:
    """A subclass of a torchvision dataset that trusts its files (we verify them ourselves, or not at all)."""
    attributes = {"_check_integrity": lambda self: True}
    if hasattr(cls, "meta"):  # CIFAR also checks its metadata file's md5 when reading the class names
        attributes["meta"] = {**cls.meta, "md5": None}
    return type(f"Unchecked{cls.__name__}", (cls,), attributes)


def _locate(cls: type, data_root: Path, download: bool, verify: bool) -> Path:
    """Return a torchvision root holding ``cls.base_folder``: the data root itself, or the cache."""
    fix = f"put {cls.base_folder}/ or {cls.filename} in <data-root> (set --data-root or GLAI_SSL_DATA), or pass --download"
    for root in (data_root, data_root / cls.__name__.lower(), cache_dir("torchvision")):
        folder = root / cls.base_folder
        if folder.is_dir():
            if verify:
                meta = [(cls.meta["filename"], cls.meta["md5"])] if hasattr(cls, "meta") else []
                for filename, md5 in cls.train_list + cls.test_list + meta:
                    path = folder / filename
                    if not path.is_file():
                        raise missing_file_error(f"{cls.__name__} {filename}", [path], fix, md5)
                    verify_md5(path, md5, f"replace {path} with an intact copy ({fix})")
            return root
    archives = [data_root / cls.filename, data_root / cls.__name__.lower() / cls.filename]
    archive = next((p for p in archives if p.is_file()), None)
    target = cache_dir("torchvision")
    if archive is not None:
        if verify:
            verify_md5(archive, cls.tgz_md5, f"replace {archive} with an intact copy ({fix})")
        # extract aside, then move the folder in whole: another process never reads a half-extracted batch
        with scratch_dir(target, "extract") as scratch:
            with tarfile.open(archive) as tar:
                tar.extractall(scratch, filter="data")
            move_in(scratch / cls.base_folder, target / cls.base_folder)
        return target
    if download:
        with scratch_dir(target, "download") as scratch:  # as above: the folder appears whole or not at all
            try:
                cls(str(scratch), download=True)
            except Exception as error:
                raise DataError(
                    f"Downloading {cls.__name__} through torchvision failed: {error}\nFix: {fix}"
                ) from None
            move_in(scratch / cls.base_folder, target / cls.base_folder)
        return target
    looked = [r / cls.base_folder for r in (data_root, data_root / cls.__name__.lower())] + archives
    raise missing_file_error(cls.__name__, looked, fix, cls.tgz_md5)


def load_cifar10(
    train: bool = True,
    *,
    data_root: str | os.PathLike | None = None,
    download: bool = False,
    verify: bool = True,
) -> LabelledImages:
    """CIFAR-10 as :class:`LabelledImages`: ``(N, 32, 32, 3)`` uint8, 50,000 train / 10,000 test, 10 classes."""
    root = _locate(datasets.CIFAR10, resolve_data_root(data_root), download, verify)
    dataset = _unchecked(datasets.CIFAR10)(str(root), train=train, download=False)
    return LabelledImages(
        torch.from_numpy(np.ascontiguousarray(dataset.data)),
        torch.tensor(dataset.targets, dtype=torch.long),
        list(dataset.classes),
        f"cifar10/{'train' if train else 'test'}",
    )


def load_stl10(
    split: str = "train",
    *,
    data_root: str | os.PathLike | None = None,
    download: bool = False,
    verify: bool = True,
) -> LabelledImages:
    """STL-10 as :class:`LabelledImages`: ``(N, 96, 96, 3)`` uint8; split ``train``, ``test`` or ``unlabeled``
    (unlabelled images get label 0)."""
    if split not in ("train", "test", "unlabeled"):
        raise ValueError(f"unknown STL-10 split {split!r}; choose train, test or unlabeled")
    root = _locate(datasets.STL10, resolve_data_root(data_root), download, verify)
    dataset = _unchecked(datasets.STL10)(str(root), split=split, download=False)
    labels = np.zeros(len(dataset.data), dtype=np.int64) if dataset.labels is None else dataset.labels
    labels = np.where(labels < 0, 0, labels)
    return LabelledImages(
        torch.from_numpy(np.ascontiguousarray(dataset.data.transpose(0, 2, 3, 1))),
        torch.from_numpy(labels.astype(np.int64)),
        list(dataset.classes),
        f"stl10/{split}",
    )
