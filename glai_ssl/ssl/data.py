"""Data for SSL pretraining: views that are reproducible per (seed, epoch, index), and a sharding sampler.

Augmentations draw from torch/numpy/python RNGs. Seeding them per sample from ``(seed, epoch, index)`` makes
every view independent of worker count, rank count and interruptions, so a resumed run sees exactly the views
the uninterrupted run would have seen, and a 2-process run sees the same global batches as a 1-process run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from glai_ssl.data import LabelledImages


def _mix(*numbers: int) -> int:
    """A 63-bit seed from a few integers (splitmix-style, stable across processes and Python versions)."""
    value = 0x9E3779B97F4A7C15
    for number in numbers:
        value = (value ^ (number + 0x9E3779B97F4A7C15 + (value << 6) + (value >> 2))) & 0xFFFFFFFFFFFFFFFF
        value = (value * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    return value >> 1


class SeededViews(Dataset):
    """Dataset of ``(views, label)`` whose augmentations are seeded by ``(seed, epoch, index)``.

    Indexed by ``(epoch, index)`` pairs, as produced by :class:`EpochShardSampler`.
    """

    def __init__(self, data: LabelledImages, transform: Callable, seed: int = 0) -> None:
        self.data = data
        self.transform = transform
        self.seed = seed

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: tuple[int, int]):
        epoch, index = key
        seed = _mix(self.seed, epoch, index)
        torch.manual_seed(seed)
        np.random.seed(seed % (2**32))
        random.seed(seed)
        image = Image.fromarray(self.data.images[index].numpy())
        return self.transform(image), int(self.data.labels[index])


class EpochShardSampler(Sampler[tuple[int, int]]):
    """Shuffles with a generator seeded by ``(seed, epoch)`` and gives rank ``r`` the items ``r::world``.

    Lightning calls :meth:`set_epoch` before every epoch. The epoch's permutation is cut to a multiple of
    ``world * batch_size`` so every rank gets the same number of full batches (as ``drop_last`` would).
    """

    def __init__(self, size: int, batch_size: int, seed: int = 0, rank: int = 0, world: int = 1) -> None:
        if size < world * batch_size:
            raise ValueError(
                f"{size} images cannot fill one global batch of {world} x {batch_size}; lower --batch-size"
            )
        self.size, self.batch_size, self.seed, self.rank, self.world = size, batch_size, seed, rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch whose permutation (and whose views) the next pass yields."""
        self.epoch = epoch

    def __len__(self) -> int:
        return (self.size // (self.world * self.batch_size)) * self.batch_size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(_mix(self.seed, self.epoch))
        order = torch.randperm(self.size, generator=generator)
        usable = (self.size // (self.world * self.batch_size)) * self.world * self.batch_size
        for index in order[:usable][self.rank :: self.world].tolist():
            yield self.epoch, index
