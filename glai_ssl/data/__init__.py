"""Datasets: real files through real loaders, read-only data root, caches elsewhere.

* :func:`load_dataset` / :data:`DATASETS`: MNIST, Fashion-MNIST, Omniglot, CIFAR-10, STL-10.
* :class:`LabelledImages`: what every loader returns (uint8 images + labels); :class:`ImageDataset` wraps it
  for transforms.
* :func:`resolve_data_root`: ``--data-root`` > ``$GLAI_SSL_DATA`` > ``./data``; :func:`cache_dir` for caches.
"""

from glai_ssl.data.errors import DataError
from glai_ssl.data.images import ImageDataset, LabelledImages
from glai_ssl.data.mnist import load_mnist
from glai_ssl.data.omniglot import decode_omniglot, load_omniglot
from glai_ssl.data.registry import DATASETS, check_datasets, load_dataset
from glai_ssl.data.root import cache_dir, resolve_data_root

__all__ = [
    "DATASETS",
    "DataError",
    "ImageDataset",
    "LabelledImages",
    "cache_dir",
    "check_datasets",
    "decode_omniglot",
    "load_dataset",
    "load_mnist",
    "load_omniglot",
    "resolve_data_root",
]
