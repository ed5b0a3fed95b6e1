"""Few-shot episodes: N-way K-shot Q-query tasks from any labelled data (Snell et al. 2017, Sec. 2.2).

An episode is a list of dataset indices, class by class: for each of its N classes, K support indices then Q
query indices. The classes are relabelled ``0 .. N-1`` in the order they appear.

Episode ``i`` is drawn from a generator seeded by ``(seed, i)``, so the same episodes come out in any order,
on one process or split across ranks (rank ``r`` of ``w`` takes the episodes ``i`` with ``i % w == r``).

Two episode sources give :class:`Episode` objects:

* :class:`TensorEpisodes`: an :class:`EpisodeSampler` over the labels of a tensor (images or cached
  embeddings); the sampler draws natively (numpy) or through learn2learn's ``MetaDataset`` and task
  transforms (``backend="learn2learn"``; ``"auto"`` uses learn2learn when it is installed).
* :class:`TasksetEpisodes`: a learn2learn ``TaskDataset``/``Taskset`` you built yourself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Sampler

BACKENDS = ("auto", "native", "learn2learn")


class EpisodeError(ValueError):
    """An episode specification the data cannot satisfy, or an episode source that breaks its contract."""


@dataclass(frozen=True)
class EpisodeSpec:
    """The shape of an episode: ``way`` classes, ``shot`` support and ``query`` query samples per class."""

    way: int
    shot: int
    query: int

    def __post_init__(self) -> None:
        for name in ("way", "shot", "query"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise EpisodeError(f"episode {name} must be a positive integer, got {value!r}")

    @property
    def per_class(self) -> int:
        """Samples drawn from each class: ``shot + query``."""
        return self.shot + self.query

    @property
    def size(self) -> int:
        """Samples in one episode: ``way * (shot + query)``."""
        return self.way * self.per_class

    def __str__(self) -> str:
        return f"{self.way}-way {self.shot}-shot {self.query}-query"

    def split(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        """Cut a class-major batch of ``size`` rows into ``(support, query)``, each class-major."""
        if len(batch) != self.size:
            raise EpisodeError(f"a {self} episode has {self.size} samples, got a batch of {len(batch)}")
        grouped = batch.view(self.way, self.per_class, *batch.shape[1:])
        support = grouped[:, : self.shot].reshape(self.way * self.shot, *batch.shape[1:])
        query = grouped[:, self.shot :].reshape(self.way * self.query, *batch.shape[1:])
        return support, query

    def labels(self, per_class: int, device: torch.device | str | None = None) -> Tensor:
        """``0 .. way-1``, each repeated ``per_class`` times (class-major)."""
        return torch.arange(self.way, device=device).repeat_interleave(per_class)


@dataclass
class Episode:
    """One task: support and query samples with labels in ``0 .. way-1`` (class-major)."""

    index: int
    support: Tensor
    support_labels: Tensor
    query: Tensor
    query_labels: Tensor

    @property
    def way(self) -> int:
        """Number of classes, ``max(support_labels) + 1``."""
        return int(self.support_labels.max()) + 1


class EpisodeSource(Protocol):
    """Anything that gives episode ``i`` of a fixed specification."""

    spec: EpisodeSpec

    def episode(self, index: int) -> Episode:
        """Episode ``index`` of ``spec``."""
        ...


# ---------------------------------------------------------------------------------------------- checks
def class_counts(labels: Tensor | Sequence[int]) -> Tensor:
    """Samples per label, ``(num_labels,)``; labels must be non-negative integers."""
    labels = torch.as_tensor(labels)
    if labels.ndim != 1 or labels.numel() == 0:
        raise EpisodeError(f"labels must be a non-empty 1-D sequence, got shape {tuple(labels.shape)}")
    if labels.is_floating_point() or int(labels.min()) < 0:
        raise EpisodeError("labels must be non-negative integers")
    return torch.bincount(labels.long())


def check_spec(spec: EpisodeSpec, labels: Tensor | Sequence[int], name: str = "the dataset") -> Tensor:
    """Fail early, with the numbers, when ``labels`` cannot give ``spec`` episodes; return the usable classes.

    Raises:
        EpisodeError: fewer than ``way`` classes have ``shot + query`` samples.
    """
    counts = class_counts(labels)
    present = counts > 0
    usable = torch.nonzero(counts >= spec.per_class).flatten()
    if len(usable) >= spec.way:
        return usable
    most = int(counts.max())
    if spec.way > int(present.sum()):
        reason = f"{name} has only {int(present.sum())} classes"
    else:
        reason = f"only {len(usable)} of the {int(present.sum())} classes of {name} have that many"
    raise EpisodeError(
        f"{spec} episodes need {spec.way} classes with at least {spec.per_class} samples each "
        f"({spec.shot} shot + {spec.query} query), but {reason} (the largest class has {most} samples)"
    )


# ---------------------------------------------------------------------------------------------- drawing
def episode_seed(seed: int, index: int) -> tuple[int, int]:
    """The ``(seed, index)`` entropy of episode ``index`` as non-negative 64-bit integers."""
    mask = (1 << 64) - 1
    return (int(seed) & mask, int(index) & mask)


@contextlib.contextmanager
def python_random_seeded(seed: int, index: int) -> Iterator[None]:
    """Seed Python's global ``random`` (which learn2learn's transforms use) by ``(seed, index)``, then
    restore its previous state."""
    state = random.getstate()
    entropy = np.random.SeedSequence(episode_seed(seed, index)).generate_state(2, dtype=np.uint64)
    random.seed(int(entropy[0]) << 64 | int(entropy[1]))
    try:
        yield
    finally:
        random.setstate(state)


def learn2learn_available() -> bool:
    """Whether learn2learn is installed (checked without importing it)."""
    return importlib.util.find_spec("learn2learn") is not None


def import_learn2learn():
    """Import learn2learn (slow: ~5 s), without the gym deprecation notice its import prints."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        import learn2learn
    return learn2learn


class _NativeDraw:
    """Numpy draw: ``way`` usable classes without replacement, then ``shot + query`` samples of each, in a
    uniformly random order (the ``shot + query`` smallest of one uniform key per sample, sorted by key)."""

    def __init__(self, labels: Tensor, usable: Tensor, spec: EpisodeSpec) -> None:
        counts = torch.bincount(labels)
        self.order = torch.argsort(labels, stable=True).numpy()
        self.starts = (torch.cumsum(counts, 0) - counts).numpy()
        self.counts = counts.numpy()
        self.usable = usable.numpy()
        self.spec = spec

    def __call__(self, seed: int, index: int) -> list[int]:
        rng = np.random.default_rng(episode_seed(seed, index))
        classes = rng.choice(self.usable, size=self.spec.way, replace=False)
        counts = self.counts[classes]
        keys = rng.random((self.spec.way, int(counts.max())))
        keys[np.arange(keys.shape[1]) >= counts[:, None]] = 2.0  # past a class's end: never picked
        k = self.spec.per_class
        smallest = np.argpartition(keys, k - 1, axis=1)[:, :k]
        picks = np.take_along_axis(smallest, np.take_along_axis(keys, smallest, 1).argsort(1), 1)
        return self.order[self.starts[classes][:, None] + picks].ravel().tolist()


class _Learn2LearnDraw:
    """learn2learn draw: ``FusedNWaysKShots`` on a ``MetaDataset`` of the usable classes' samples."""

    def __init__(self, labels: Tensor, usable: Tensor, spec: EpisodeSpec) -> None:
        l2l = import_learn2learn()
        keep = torch.isin(labels, usable)
        positions = torch.nonzero(keep).flatten()
        kept_labels = labels[keep]
        # indices_to_labels given up front: MetaDataset then never loads a sample to learn its label
        self.dataset = l2l.data.MetaDataset(
            torch.utils.data.TensorDataset(positions, kept_labels),
            indices_to_labels=dict(enumerate(kept_labels.tolist())),
        )
        # NWays and KShots in one transform: ~3x faster per episode than the two apart
        self.transform = l2l.data.transforms.FusedNWaysKShots(self.dataset, n=spec.way, k=spec.per_class)
        self.positions = positions.tolist()
        self.labels = kept_labels.tolist()
        self.spec = spec

    def __call__(self, seed: int, index: int) -> list[int]:
        with python_random_seeded(seed, index):
            description = self.transform(None)
        groups = group_by_label([self.labels[d.index] for d in description])
        if len(groups) != self.spec.way or any(len(g) != self.spec.per_class for g in groups):
            raise EpisodeError(
                f"learn2learn gave {len(groups)} classes with {sorted({len(g) for g in groups})} samples for "
                f"a {self.spec} episode"
            )
        return [self.positions[description[i].index] for group in groups for i in group]


def group_by_label(labels: Sequence[int]) -> list[list[int]]:
    """Positions grouped by label, groups in order of first appearance."""
    groups: dict[int, list[int]] = {}
    for position, label in enumerate(labels):
        groups.setdefault(int(label), []).append(position)
    return list(groups.values())


def resolve_backend(backend: str) -> str:
    """``auto`` means learn2learn when it is installed, else native."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown episode backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        return "learn2learn" if learn2learn_available() else "native"
    if backend == "learn2learn" and not learn2learn_available():
        raise ValueError("episode backend 'learn2learn' was asked for but learn2learn is not installed")
    return backend


class EpisodeSampler(Sampler[list[int]]):
    """Yields episodes as lists of dataset indices; usable as a DataLoader ``batch_sampler``.

    Args:
        labels: ``(num_samples,)`` integer labels of the dataset.
        spec: N-way K-shot Q-query.
        num_episodes: episodes ``start .. start + num_episodes - 1`` make up one pass.
        seed: episode ``i`` is drawn from a generator seeded by ``(seed, i)``.
        start: index of the first episode (e.g. ``epoch * episodes_per_epoch``).
        rank, world_size: this process yields only the episodes ``i`` with ``i % world_size == rank``.
        backend: ``native`` (numpy), ``learn2learn`` (its MetaDataset and FusedNWaysKShots) or ``auto``.
        name: how error messages name the dataset.

    Raises:
        EpisodeError: the labels cannot give such episodes (the message names the numbers).
    """

    def __init__(
        self,
        labels: Tensor | Sequence[int],
        spec: EpisodeSpec,
        num_episodes: int,
        *,
        seed: int = 0,
        start: int = 0,
        rank: int = 0,
        world_size: int = 1,
        backend: str = "native",
        name: str = "the dataset",
    ) -> None:
        if num_episodes < 0 or start < 0:
            raise EpisodeError(f"num_episodes and start must be >= 0, got {num_episodes} and {start}")
        if not 0 <= rank < world_size:
            raise EpisodeError(f"rank must be in 0 .. world_size - 1, got rank {rank} of {world_size}")
        labels = torch.as_tensor(labels).long()
        usable = check_spec(spec, labels, name)
        self.spec = spec
        self.num_episodes = num_episodes
        self.seed = seed
        self.start = start
        self.rank = rank
        self.world_size = world_size
        self.backend = resolve_backend(backend)
        draw_class = _Learn2LearnDraw if self.backend == "learn2learn" else _NativeDraw
        self._draw: Callable[[int, int], list[int]] = draw_class(labels, usable, spec)

    @property
    def episode_ids(self) -> range:
        """The global indices of the episodes this rank yields."""
        return range(self.start + self.rank, self.start + self.num_episodes, self.world_size)

    def episode(self, index: int) -> list[int]:
        """Dataset indices of episode ``index``: per class, ``shot`` support then ``query`` query indices."""
        return self._draw(self.seed, index)

    def __iter__(self) -> Iterator[list[int]]:
        for index in self.episode_ids:
            yield self.episode(index)

    def __len__(self) -> int:
        return len(self.episode_ids)


# ---------------------------------------------------------------------------------------------- sources
class TensorEpisodes:
    """Episodes gathered from a tensor (images or cached embeddings) by an :class:`EpisodeSampler`.

    Args:
        data: ``(num_samples, ...)``, row ``j`` labelled ``labels[j]`` of the sampler.
        sampler: draws the indices.
        transform: applied to each gathered batch (e.g. uint8 images to float).
    """

    def __init__(
        self, data: Tensor, sampler: EpisodeSampler, transform: Callable[[Tensor], Tensor] | None = None
    ) -> None:
        self.data = data
        self.sampler = sampler
        self.spec = sampler.spec
        self.transform = transform

    def episode(self, index: int) -> Episode:
        """Episode ``index``: the sampler's indices gathered from ``data``, transformed, split class-major.

        Returns:
            An :class:`Episode` with support ``(way * shot, ...)`` and query ``(way * query, ...)`` samples and
            labels ``0 .. way-1`` (on the CPU).
        """
        indices = torch.tensor(self.sampler.episode(index), device=self.data.device)
        batch = self.data.index_select(0, indices)
        if self.transform is not None:
            batch = self.transform(batch)
        support, query = self.spec.split(batch)
        return Episode(
            index, support, self.spec.labels(self.spec.shot), query, self.spec.labels(self.spec.query)
        )


class TasksetEpisodes:
    """Episodes from a learn2learn ``TaskDataset``/``Taskset`` (e.g. ``FusedNWaysKShots(n=N, k=K+Q)``, ``LoadData``,
    ``RemapLabels``), split into support and query: the first ``shot`` samples of each label are the support.

    Task ``i`` is sampled with Python's ``random`` seeded by ``(seed, i)`` (learn2learn draws with it); a taskset
    with a fixed ``num_tasks`` serves task ``i % num_tasks`` and keeps its descriptions, as learn2learn does.

    Raises:
        EpisodeError: when a task does not have ``way`` labels with ``shot + query`` samples each.
    """

    def __init__(self, taskset, spec: EpisodeSpec, seed: int = 0) -> None:
        if not (hasattr(taskset, "sample_task_description") and hasattr(taskset, "get_task")):
            raise TypeError(f"expected a learn2learn TaskDataset/Taskset, got {type(taskset).__name__}")
        self.taskset = taskset
        self.spec = spec
        self.seed = seed

    def _description(self, index: int):
        num_tasks = self.taskset.num_tasks
        if num_tasks == -1:
            with python_random_seeded(self.seed, index):
                return self.taskset.sample_task_description()
        task = index % num_tasks
        if task not in self.taskset.sampled_descriptions:
            with python_random_seeded(self.seed, task):
                self.taskset.sampled_descriptions[task] = self.taskset.sample_task_description()
        return self.taskset.sampled_descriptions[task]

    def episode(self, index: int) -> Episode:
        """Episode ``index`` from the taskset, reordered class by class; the first ``shot`` samples of each are support.

        Classes are labelled ``0 .. way-1`` in the order their labels first appear in the task.

        Raises:
            EpisodeError: the task does not have ``way`` labels with ``shot + query`` samples each.
        """
        data, labels = self.taskset.get_task(self._description(index))[:2]
        labels = torch.as_tensor(labels)
        groups = group_by_label(labels.tolist())
        sizes = sorted({len(g) for g in groups})
        if len(groups) != self.spec.way or sizes != [self.spec.per_class]:
            raise EpisodeError(
                f"a {self.spec} episode needs {self.spec.way} labels with {self.spec.per_class} samples each "
                f"({self.spec.shot} shot + {self.spec.query} query), but the taskset gave {len(groups)} labels "
                f"with {', '.join(map(str, sizes))} samples"
            )
        order = torch.tensor([i for group in groups for i in group])
        support, query = self.spec.split(torch.as_tensor(data)[order])
        return Episode(
            index, support, self.spec.labels(self.spec.shot), query, self.spec.labels(self.spec.query)
        )
