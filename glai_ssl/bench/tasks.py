"""The benchmark's head-training tasks on cached features: one class per setting, one interface.

A task owns cached inputs ``inputs (N, d)`` and builds its trainable model for a head kind (``mlp`` | ``glai``).
The runner asks it for minibatches and losses; ``outputs_of(indices)`` is the output of the model's first head
on ``inputs[indices]`` (for GLAI in Phase 2 the runner computes it from cached gates), so each task's loss is
written once for both kinds.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from lightly.loss import NegativeCosineSimilarity, NTXentLoss
from lightly.models.utils import deactivate_requires_grad, update_momentum
from torch import Tensor, nn

from glai_ssl.eval.knn import knn_accuracy
from glai_ssl.fewshot.episodes import EpisodeSampler, EpisodeSpec
from glai_ssl.fewshot.train import episode_accuracies
from glai_ssl.glai import GLAI, make_head

OutputsOf = Callable[[Tensor], Tensor]
TRAIN_SPEC, VAL_SPEC = EpisodeSpec(20, 5, 5), EpisodeSpec(5, 1, 15)


@dataclass
class HeadShape:
    """The head both kinds share: lightly ``style`` and dims."""

    style: str
    input_dim: int
    hidden_dim: int
    output_dim: int


class HeadTask(ABC):
    """Base class: a head trained on cached ``inputs``; subclasses define batches, loss and validation."""

    name = "task"
    #: loss is convex in GLAI's path weights given cached gates: full-batch L-BFGS / ridge apply
    convex = False

    def __init__(self, inputs: Tensor, shape: HeadShape, probe_size: int = 512) -> None:
        self.inputs = inputs
        self.shape = shape
        self.probe_size = probe_size

    def build(self, kind: str, glai_options: dict) -> nn.Module:
        """The trainable model; its attribute ``head`` is the head applied to ``inputs``."""
        shape = self.shape
        model = nn.Module()
        model.head = make_head(
            kind, shape.input_dim, shape.hidden_dim, shape.output_dim, style=shape.style, **glai_options
        )
        return model

    def glai_probes(self, model: nn.Module, size: int | None = None) -> dict[str, tuple[GLAI, Tensor]]:
        """Each GLAI module of ``model`` with its inputs: the fixed probe of its stability checks
        (``probe_size`` inputs), or ``size`` inputs (for the switch's refit), spread evenly over ``inputs``."""
        head = model.head
        return {"head": (head, self.probe_inputs(size))} if isinstance(head, GLAI) else {}

    def probe_inputs(self, size: int | None = None) -> Tensor:
        """``size`` (default ``probe_size``) inputs at evenly spaced indices: every class, when the inputs are
        sorted by class (Omniglot characters: the first 512 would cover 43 of 400 classes)."""
        size = self.probe_size if size is None else size
        return self.inputs[torch.linspace(0, len(self.inputs) - 1, min(size, len(self.inputs))).long()]

    @abstractmethod
    def batches(self, generator: torch.Generator, batch_size: int) -> Iterator:
        """One epoch of minibatches (index tensors into ``inputs``, or tuples of them)."""

    @abstractmethod
    def loss(self, model: nn.Module, batch, outputs_of: OutputsOf) -> Tensor:
        """The training loss of one minibatch."""

    def after_step(self, model: nn.Module, progress: float) -> None:  # noqa: B027 (optional hook)
        """Called after each optimizer step (momentum updates); nothing by default."""

    @abstractmethod
    def validate(self, model: nn.Module) -> float:
        """Validation accuracy of ``model`` (higher is better); evaluation time is not training time."""


class FixedClassification(HeadTask):
    """Setting 1: a classifier head on frozen, cached backbone features; validation accuracy."""

    name = "fixed"
    convex = True

    def __init__(
        self,
        train: tuple[Tensor, Tensor],
        val: tuple[Tensor, Tensor],
        test: tuple[Tensor, Tensor],
        hidden_dim: int = 512,
    ) -> None:
        num_classes = int(train[1].max()) + 1
        # features are standardised with the training statistics, for both heads (as a linear probe does)
        mean, std = train[0].mean(0), train[0].std(0).clamp_min(1e-6)
        super().__init__(
            (train[0] - mean) / std, HeadShape("plain", train[0].shape[1], hidden_dim, num_classes)
        )
        self.targets = train[1]
        self.val = ((val[0] - mean) / std, val[1])
        self.test = ((test[0] - mean) / std, test[1])

    def batches(self, generator, batch_size):
        """One epoch of shuffled index minibatches ``(<= batch_size,)`` into ``inputs``."""
        yield from torch.randperm(len(self.inputs), generator=generator).split(batch_size)

    def loss(self, model, batch, outputs_of):
        """Cross-entropy of the head's logits ``(B, num_classes)`` against the batch's labels."""
        return F.cross_entropy(outputs_of(batch), self.targets[batch])

    @torch.no_grad()
    def accuracy(self, model: nn.Module, split: tuple[Tensor, Tensor]) -> float:
        """Top-1 accuracy of ``model.head`` on a split.

        Args:
            model: the model of :meth:`build`; evaluated in eval mode (in chunks of 8192) and left in training mode.
            split: ``(features (N, d), labels (N,))``, features already standardised.
        """
        model.eval()
        correct = sum(
            (model.head(x).argmax(1) == y).sum().item()
            for x, y in zip(split[0].split(8192), split[1].split(8192))
        )
        model.train()
        return correct / len(split[1])

    def validate(self, model):
        """Top-1 accuracy on the validation split."""
        return self.accuracy(model, self.val)


class SSLHead(HeadTask):
    """Setting 2: a projection head on frozen features of augmented views, trained with NT-Xent or BYOL's loss;
    validation is the weighted kNN accuracy (k=200, t=0.1) of the projected embeddings of clean images."""

    name = "ssl-head"

    def __init__(
        self,
        views: Tensor,
        bank: tuple[Tensor, Tensor],
        query: tuple[Tensor, Tensor],
        loss: str = "ntxent",
        hidden_dim: int = 512,
        output_dim: int = 128,
        predictor: str = "same",
    ) -> None:
        if loss not in ("ntxent", "byol"):
            raise ValueError(f"unknown SSL loss {loss!r}; choose ntxent or byol")
        if predictor not in ("same", "mlp"):
            raise ValueError(f"unknown predictor {predictor!r}; choose same (the head's kind) or mlp")
        self.num_images, self.num_views, dim = views.shape
        style = "simclr" if loss == "ntxent" else "byol"
        super().__init__(views.reshape(-1, dim), HeadShape(style, dim, hidden_dim, output_dim))
        self.loss_name = loss
        self.predictor_kind = predictor
        self.name = f"ssl-head-{loss}" + ("-mlp-predictor" if predictor == "mlp" else "")
        self.bank, self.query = bank, query
        self.criterion = NTXentLoss(temperature=0.5) if loss == "ntxent" else NegativeCosineSimilarity()

    def build(self, kind, glai_options):
        """The head; with BYOL's loss also a ``predictor`` and a frozen momentum copy ``target`` of the head.

        The predictor is of the head's kind (BYOL predictor layout), or an MLP for both kinds with
        ``predictor="mlp"`` (then the two runs differ in the projector only, as when a user swaps only the
        projector). A GLAI target does not freeze its structure by itself (``auto_freeze`` off), it takes the
        online head's state once that switches (see :meth:`loss`).
        """
        model = super().build(kind, glai_options)
        if self.loss_name == "byol":
            out, hidden = self.shape.output_dim, self.shape.hidden_dim
            predictor_kind = kind if self.predictor_kind == "same" else "mlp"
            options = glai_options if predictor_kind == "glai" else {}
            model.predictor = make_head(predictor_kind, out, hidden, out, style="byol-predictor", **options)
            model.target = copy.deepcopy(model.head)
            deactivate_requires_grad(model.target)
            if isinstance(model.target, GLAI):
                model.target.auto_freeze = False
        return model

    def glai_probes(self, model, size=None):
        """The head's probe; with BYOL's loss also the predictor's: the head's outputs on the probe inputs."""
        probes = super().glai_probes(model, size)
        if self.loss_name == "byol" and isinstance(model.predictor, GLAI):
            with torch.no_grad():
                model.head.eval()
                probes["predictor"] = (model.predictor, model.head(self.probe_inputs(size)))
                model.head.train()
        return probes

    def batches(self, generator, batch_size):
        """One epoch of view pairs: per minibatch of images, two index tensors ``(B,)`` into ``inputs``.

        Each image gets two different views drawn at random from its ``num_views`` cached ones.
        """
        for images in torch.randperm(self.num_images, generator=generator).split(batch_size):
            first = torch.randint(self.num_views, (len(images),), generator=generator)
            second = (
                first + torch.randint(1, self.num_views, (len(images),), generator=generator)
            ) % self.num_views
            yield images * self.num_views + first, images * self.num_views + second

    def loss(self, model, batch, outputs_of):
        """The SSL loss of a pair of index tensors ``(B,)``, ``(B,)``.

        NT-Xent (SimCLR, Chen et al. 2020; temperature 0.5) between the two views' outputs, or BYOL's symmetrised
        negative cosine similarity (Grill et al. 2020) between each view's prediction and the momentum target's
        output for the other view. With GLAI, a target still in Phase 1 first takes the online head's state once
        that head is in Phase 2.
        """
        a, b = batch
        za, zb = outputs_of(a), outputs_of(b)
        if self.loss_name == "ntxent":
            return self.criterion(za, zb)
        with torch.no_grad():
            if isinstance(model.target, GLAI) and model.head.phase == 2 and model.target.phase == 1:
                model.target.load_state_dict(model.head.state_dict())
                deactivate_requires_grad(model.target)
            ta, tb = model.target(self.inputs[a]), model.target(self.inputs[b])
        return 0.5 * (self.criterion(model.predictor(za), tb) + self.criterion(model.predictor(zb), ta))

    def after_step(self, model, progress):
        """With BYOL's loss, move the target towards the head (momentum ``0.99 + 0.01 * progress``)."""
        if self.loss_name == "byol":
            update_momentum(model.head, model.target, 0.99 + 0.01 * progress)

    @torch.no_grad()
    def validate(self, model):
        """Weighted kNN accuracy (k=200, t=0.1) of the head's outputs for the query images against the bank."""
        model.eval()
        bank = torch.cat([model.head(x) for x in self.bank[0].split(8192)])
        query = torch.cat([model.head(x) for x in self.query[0].split(8192)])
        model.train()
        return knn_accuracy(bank, self.bank[1], query, self.query[1])


class EpisodicHead(HeadTask):
    """Setting 3: an embedding head on frozen Conv-4 features, trained in prototypical episodes on base classes;
    validation is the mean accuracy of fixed N-way 1-shot episodes of held-out classes."""

    name = "fewshot"

    def __init__(
        self,
        base: tuple[Tensor, Tensor],
        val: tuple[Tensor, Tensor],
        train_spec: EpisodeSpec = TRAIN_SPEC,
        val_spec: EpisodeSpec = VAL_SPEC,
        episodes_per_epoch: int = 100,
        val_episodes: int = 500,
        hidden_dim: int = 256,
        output_dim: int = 64,
    ) -> None:
        super().__init__(base[0], HeadShape("plain", base[0].shape[1], hidden_dim, output_dim))
        self.labels = base[1]
        self.train_spec = train_spec
        self.episodes_per_epoch = episodes_per_epoch
        self.val_features = val[0]
        self.val_sampler = EpisodeSampler(
            val[1], val_spec, val_episodes, seed=12345, name="validation classes"
        )
        self.episode_labels = train_spec.labels(train_spec.query)

    def batches(self, generator, batch_size):
        """One epoch of ``episodes_per_epoch`` training episodes, each an index tensor ``(way * (shot + query),)``.

        Indices are class-major (per class, ``shot`` support then ``query`` query samples); the episode seed is drawn
        from ``generator``. ``batch_size`` is unused: an episode's size is fixed by ``train_spec``.
        """
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        sampler = EpisodeSampler(self.labels, self.train_spec, self.episodes_per_epoch, seed=seed)
        for episode in sampler:
            yield torch.tensor(episode)

    def loss(self, model, batch, outputs_of):
        """Prototypical loss of one episode (Snell et al. 2017).

        Cross-entropy of minus the squared Euclidean distances of the query embeddings ``(way * query, E)`` to the
        class means of the support embeddings ``(way, E)``.
        """
        spec = self.train_spec
        embeddings = outputs_of(batch).view(spec.way, spec.per_class, -1)
        centres = embeddings[:, : spec.shot].mean(1)
        queries = embeddings[:, spec.shot :].reshape(spec.way * spec.query, -1)
        logits = -(queries.unsqueeze(1) - centres.unsqueeze(0)).pow(2).sum(-1)
        return F.cross_entropy(logits, self.episode_labels)

    @torch.no_grad()
    def validate(self, model):
        """Mean query accuracy over the fixed validation episodes, on the head's embeddings of the validation features."""
        model.eval()
        embeddings = torch.cat([model.head(x) for x in self.val_features.split(8192)])
        model.train()
        accuracies = episode_accuracies(embeddings, self.val_sampler)
        return sum(accuracies.values()) / len(accuracies)
