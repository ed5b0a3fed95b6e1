"""MNIST and Fashion-MNIST through torchvision's classes, without ever writing into the data root.

torchvision reads (and, when asked, downloads) ``<root>/<Class>/raw/``. We verify the ``.gz`` files of the data
root against torchvision's md5s, decompress them once into the cache, and point torchvision at the cache.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

from torchvision import datasets

from glai_ssl.data.checksums import verify_md5
from glai_ssl.data.errors import DataError, missing_file_error
from glai_ssl.data.images import LabelledImages
from glai_ssl.data.root import cache_dir, resolve_data_root
from glai_ssl.utils.files import atomic_path, move_in, scratch_dir

TORCHVISION_CLASSES: dict[str, type[datasets.MNIST]] = {
    "mnist": datasets.MNIST,
    "fashion-mnist": datasets.FashionMNIST,
}


def _candidates(cls: type[datasets.MNIST], data_root: Path, filename: str) -> list[Path]:
    return [data_root / cls.__name__ / "raw" / filename, data_root / filename]


def _prepare_cache(name: str, data_root: Path, download: bool) -> Path:
    """Verify the data root's archives and decompress them into the cache; return the torchvision root."""
    cls = TORCHVISION_CLASSES[name]
    torchvision_root = cache_dir("torchvision")
    raw = torchvision_root / cls.__name__ / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    fix = f"put the four {cls.__name__} .gz files in <data-root>/{cls.__name__}/raw/ (set --data-root or GLAI_SSL_DATA), or pass --download"
    for filename, md5 in cls.resources:
        target = raw / filename.removesuffix(".gz")
        source = next((p for p in _candidates(cls, data_root, filename) if p.is_file()), None)
        if source is None:
            if target.is_file():
                continue  # decompressed earlier (e.g. downloaded); nothing to verify against
            if download:
                with scratch_dir(raw.parent, "download") as scratch:  # each file appears whole
                    try:
                        cls(str(scratch), train=True, download=True)
                    except Exception as error:
                        raise DataError(
                            f"Downloading {cls.__name__} through torchvision failed: {error}\nFix: {fix}"
                        ) from None
                    for fetched in sorted((scratch / cls.__name__ / "raw").iterdir()):
                        move_in(fetched, raw / fetched.name)
                return torchvision_root
            raise missing_file_error(
                f"{cls.__name__} {filename}", _candidates(cls, data_root, filename), fix, md5
            )
        verify_md5(source, md5, f"replace {source} with an intact copy ({fix})")
        stamp = target.with_suffix(".md5")
        if target.is_file() and stamp.is_file() and stamp.read_text() == md5:
            continue
        with atomic_path(target) as tmp, gzip.open(source, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        with atomic_path(stamp) as tmp:
            tmp.write_text(md5)
    return torchvision_root


def load_mnist(
    name: str = "mnist",
    train: bool = True,
    *,
    data_root: str | os.PathLike | None = None,
    download: bool = False,
) -> LabelledImages:
    """Load MNIST or Fashion-MNIST (``name`` = ``"mnist"`` | ``"fashion-mnist"``) as :class:`LabelledImages`.

    Images are ``(N, 28, 28)`` uint8 (60,000 train / 10,000 test), labels 0..9.
    """
    if name not in TORCHVISION_CLASSES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(TORCHVISION_CLASSES)}")
    root = _prepare_cache(name, resolve_data_root(data_root), download)
    dataset = TORCHVISION_CLASSES[name](str(root), train=train, download=False)
    return LabelledImages(
        dataset.data.contiguous(),
        dataset.targets.long(),
        list(dataset.classes),
        f"{name}/{'train' if train else 'test'}",
    )
